from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.models import AuditEntry, Endpoint, Level
from console.providers import Provider, network_endpoint_url, preset_for


class ExpiryField(forms.DateTimeField):
    """A local date and time, or Unix seconds (COS's getSTS hands out ExpiredTime so).

    Both are bounded to 2000–2100: anything outside is a typing slip (or
    milliseconds), and a date near year 9999 would overflow on its way to UTC.
    """

    default_error_messages = {
        "invalid": _("Enter a date and time (2030-01-31 18:00) or Unix seconds (1896112800)."),
    }
    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    LATEST = datetime(2100, 1, 1, tzinfo=UTC)

    def to_python(self, value):
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and re.fullmatch(r"[0-9]+", text):
            # Length first: int() of thousands of digits is refused by Python itself.
            seconds = int(text) if len(text) <= 12 else None
            low, high = int(self.EARLIEST.timestamp()), int(self.LATEST.timestamp())
            if seconds is None or not low <= seconds <= high:
                raise forms.ValidationError(
                    _(
                        "As Unix seconds, the expiry is a number from %(low)d (year 2000) "
                        "to %(high)d (year 2100); milliseconds have three digits more."
                    )
                    % {"low": low, "high": high},
                    code="out_of_range",
                )
            return datetime.fromtimestamp(seconds, tz=UTC)
        moment = super().to_python(value)
        if moment is not None and not self.EARLIEST <= moment <= self.LATEST:
            raise forms.ValidationError(
                _("The expiry must fall between the years 2000 and 2100."), code="out_of_range"
            )
        return moment


class EndpointForm(forms.ModelForm):
    # Secrets are write-only: never rendered back, blank on edit keeps the stored one.
    secret_key = forms.CharField(
        label=_("Secret key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    session_token = forms.CharField(
        label=_("Session token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Only for temporary (STS) credentials."),
    )
    clear_session_token = forms.BooleanField(
        label=_("Remove the stored session token"), required=False
    )
    # A text input, not datetime-local: a browser's date picker takes no Unix seconds.
    session_expires_at = ExpiryField(
        label=_("Session token expires at"),
        required=False,
        widget=forms.DateTimeInput(
            format="%Y-%m-%d %H:%M", attrs={"placeholder": _("2030-01-31 18:00 or 1896112800")}
        ),
    )

    class Meta:
        model = Endpoint
        fields = [
            "name",
            "provider",
            "endpoint_url",
            "region",
            "internal",
            "addressing_style",
            "verify_tls",
            "ca_bundle",
            "browser_reachable",
            "share_links",
            "access_key_id",
            "session_expires_at",
        ]
        labels = {
            "name": _("Name"),
            "provider": _("Provider"),
            "region": _("Region"),
            "addressing_style": _("Addressing style"),
            "session_expires_at": _("Session expires at"),
            "endpoint_url": _("Endpoint URL"),
            "access_key_id": _("Access key ID"),
            "verify_tls": _("Verify TLS certificates"),
            "ca_bundle": _("CA bundle (PEM)"),
            "browser_reachable": _("Browsers can reach this endpoint directly"),
            "share_links": _("Share links allowed"),
            "internal": _("Internal endpoint (Aliyun OSS, from inside the VPC)"),
        }
        help_texts = {
            "endpoint_url": _(
                "Leave blank for AWS S3, or for COS and OSS to derive it from the region."
            ),
            "browser_reachable": _("When off, downloads are streamed through the console."),
        }
        widgets = {"ca_bundle": forms.Textarea(attrs={"rows": 3})}

    # How the form is laid out: what and where, the keys, then how to connect.
    GROUPS = (
        (
            _("Endpoint"),
            ("name", "provider", "endpoint_url", "region", "internal", "addressing_style"),
        ),
        (
            _("Credentials"),
            (
                "access_key_id",
                "secret_key",
                "session_token",
                "session_expires_at",
                "clear_session_token",
            ),
        ),
        (_("Connection"), ("verify_tls", "ca_bundle", "browser_reachable", "share_links")),
    )

    def groups(self):
        for legend, names in self.GROUPS:
            yield legend, [self[name] for name in names if name in self.fields]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        self.fields["provider"].widget.attrs["data-preset-switch"] = "1"
        # A date and time typed in carries no zone: say which one it is read in.
        self.fields["session_expires_at"].help_text = _(
            "Required with a session token: a date and time, read in %(zone)s, or Unix "
            "seconds (COS's ExpiredTime). Every page of the endpoint warns a day before it "
            "passes."
        ) % {"zone": timezone.get_current_timezone_name()}
        if editing:
            self.fields["secret_key"].help_text = _("Leave blank to keep the stored secret.")
            self.fields["session_token"].help_text = _("Leave blank to keep the stored token.")
        else:
            del self.fields["clear_session_token"]
        provider = self.data.get("provider") or self.initial.get("provider")
        provider = provider or self.instance.provider
        preset = preset_for(provider)
        self.preset = preset
        if preset.endpoint_example:
            self.fields["endpoint_url"].widget.attrs["placeholder"] = preset.endpoint_example
        if preset.region_example:
            self.fields["region"].widget.attrs["placeholder"] = preset.region_example
        if preset.region_fixed:
            self.fields["region"].disabled = True
            self.fields["region"].help_text = _("Fixed by the provider.")
            self.initial["region"] = preset.fixed_region
        choices = [c for c in self.fields["addressing_style"].choices if c[0] in preset.addressing]
        self.fields["addressing_style"].choices = choices
        if provider != Provider.OSS:
            self.fields["internal"].widget = forms.HiddenInput()

    @classmethod
    def initial_for(cls, provider: str) -> dict:
        preset = preset_for(provider)
        return {
            "provider": provider,
            "region": preset.fixed_region or preset.default_region,
            "addressing_style": preset.default_addressing,
            # Blank for COS and OSS: the URL is derived from the region on save.
            "endpoint_url": "",
        }

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_endpoint_url(self):
        url = self.cleaned_data["endpoint_url"].strip()
        if not url:
            return ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise forms.ValidationError(_("Enter an http:// or https:// URL."))
        try:
            port = parts.port
        except ValueError:  # not a number, or above 65535
            port = -1
        if port is not None and not 1 <= port <= 65535:
            raise forms.ValidationError(_("The port must be a number from 1 to 65535."))
        if parts.query or parts.fragment or parts.username or parts.password:
            raise forms.ValidationError(
                _("The endpoint URL takes no credentials, query or fragment.")
            )
        return url.rstrip("/")

    def clean_secret_key(self):
        value = self.cleaned_data["secret_key"]
        if not value and self.instance.pk is None:
            raise forms.ValidationError(_("A secret key is required."))
        return value

    def clean_ca_bundle(self):
        pem = self.cleaned_data["ca_bundle"].strip()
        if not pem:
            return ""
        try:
            x509.load_pem_x509_certificates(pem.encode())
        except ValueError:
            raise forms.ValidationError(
                _("This is not a PEM certificate (it starts with -----BEGIN CERTIFICATE-----).")
            ) from None
        return pem + "\n"

    def clean(self):
        data = super().clean()
        preset = preset_for(data.get("provider", Provider.OTHER))
        provider = data.get("provider")
        url = data.get("endpoint_url", "")
        match = re.match(preset.endpoint_pattern, url) if url and preset.endpoint_pattern else None
        if url and preset.endpoint_pattern and not match:
            self.add_error(
                "endpoint_url",
                _("This does not look like a %(provider)s endpoint; expected e.g. %(example)s.")
                % {"provider": Provider(provider).label, "example": preset.endpoint_example},
            )
        url_region = (match.groupdict().get("region") or "") if match else ""
        region = (data.get("region") or "").strip()
        if preset.region_fixed:
            region = preset.fixed_region
        # A COS or OSS URL names its region: a blank region is taken from it.
        region = region or url_region or preset.default_region
        if region and not re.fullmatch(r"[a-z0-9-]{2,40}", region):
            self.add_error("region", _("A region is lowercase letters, digits and hyphens."))
        elif url_region and url_region != region:
            self.add_error(
                "endpoint_url",
                _(
                    "This URL serves region %(url_region)s but the region is %(region)s; "
                    "change one of them, or leave the URL blank to derive it."
                )
                % {"url_region": url_region, "region": region},
            )
        data["region"] = region
        if not url and preset.endpoint_template:
            url = preset.endpoint_for(region, internal=bool(data.get("internal")))
            data["endpoint_url"] = url
        if not url and provider != Provider.AWS and "endpoint_url" not in self.errors:
            self.add_error("endpoint_url", _("This provider needs an endpoint URL."))
        if url:
            internal = bool(data.get("internal"))
            data["endpoint_url"] = network_endpoint_url(provider, url, internal=internal)
        if provider != Provider.OSS:
            data["internal"] = False
        if data.get("addressing_style") not in preset.addressing:
            data["addressing_style"] = preset.default_addressing
        token = data.get("session_token")
        if token and not data.get("session_expires_at"):
            self.add_error("session_expires_at", _("Temporary credentials need their expiry time."))
        if not token and not data.get("clear_session_token") and self.instance.pk is None:
            data["session_expires_at"] = None
        return data

    def save(self, commit=True):
        endpoint = super().save(commit=False)
        endpoint.region = self.cleaned_data["region"]
        endpoint.endpoint_url = self.cleaned_data.get("endpoint_url", "")
        endpoint.internal = self.cleaned_data.get("internal", False)
        endpoint.addressing_style = self.cleaned_data["addressing_style"]
        if self.cleaned_data.get("secret_key"):
            endpoint.set_secret_key(self.cleaned_data["secret_key"])
        if self.cleaned_data.get("clear_session_token"):
            endpoint.set_session_token("")
            endpoint.session_expires_at = None
        elif self.cleaned_data.get("session_token"):
            endpoint.set_session_token(self.cleaned_data["session_token"])
        if commit:
            endpoint.save()
        return endpoint


class ConnectionTestForm(forms.Form):
    bucket = forms.CharField(label=_("Bucket (optional)"), required=False, max_length=63)


class GrantForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        label=_("User"),
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), required=False, label=_("Group")
    )
    level = forms.TypedChoiceField(
        choices=Level.choices, coerce=int, initial=Level.VIEWER, label=_("Level")
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("group")):
            raise forms.ValidationError(_("Choose either a user or a group."))
        return data


class DeleteEndpointForm(forms.Form):
    confirm_name = forms.CharField(label=_("Type the endpoint's name to confirm"))

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.endpoint.name:
            raise forms.ValidationError(_("The name does not match."))
        return value


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, label=_("User"))
    endpoint = forms.CharField(required=False, label=_("Endpoint"))
    bucket = forms.CharField(required=False, label=_("Bucket"))
    action = forms.CharField(required=False, label=_("Action"))
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("Any"))] + list(AuditEntry.Outcome.choices),
    )
    since = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def filter(self, queryset):
        data = self.cleaned_data
        if data.get("user"):
            queryset = queryset.filter(username__icontains=data["user"])
        if data.get("endpoint"):
            queryset = queryset.filter(endpoint_name__icontains=data["endpoint"])
        if data.get("bucket"):
            queryset = queryset.filter(bucket__icontains=data["bucket"])
        if data.get("action"):
            queryset = queryset.filter(action__icontains=data["action"])
        if data.get("outcome"):
            queryset = queryset.filter(outcome=data["outcome"])
        if data.get("since"):
            queryset = queryset.filter(at__date__gte=data["since"])
        if data.get("until"):
            queryset = queryset.filter(at__date__lte=data["until"])
        return queryset
