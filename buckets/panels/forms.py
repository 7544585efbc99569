"""Forms of the bucket-settings panels, one per change a panel offers.

Each `clean_<field>` turns text into the value S3 wants, or refuses it with a
field error in words, so bad input never costs a request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from buckets import policy as policies
from buckets.forms import BUCKET_CANNED_ACLS, bucket_name_errors
from console import s3
from objects.forms import canned_acl_choices


class PanelForm(forms.Form):
    """The settings page shows every panel at once: each form's ids carry its
    class's name, so that two panels' fields of the same name (a rule's "prefix",
    say) never share an id and a label always points at its own field."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{type(self).__name__.lower()}_%s")
        super().__init__(*args, **kwargs)


class VersioningForm(PanelForm):
    status = forms.ChoiceField(
        label=gettext_lazy("Versioning"),
        choices=[("Enabled", gettext_lazy("Enabled")), ("Suspended", gettext_lazy("Suspended"))],
    )


class CannedAclForm(PanelForm):
    acl = forms.ChoiceField(
        label=gettext_lazy("Canned ACL"), choices=canned_acl_choices(BUCKET_CANNED_ACLS)
    )


GROUPS = {
    "AllUsers": "http://acs.amazonaws.com/groups/global/AllUsers",
    "AuthenticatedUsers": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    # Access logs are written by this group (the log-delivery-write canned ACL).
    "LogDelivery": "http://acs.amazonaws.com/groups/s3/LogDelivery",
}
PERMISSIONS = ["FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"]


class AclGrantForm(PanelForm):
    """One grant of the bucket's ACL, to add or revoke; cleaned, `grant` is it in S3's shape."""

    grantee_type = forms.ChoiceField(
        label=gettext_lazy("Grantee type"),
        choices=[
            ("CanonicalUser", gettext_lazy("Canonical user ID")),
            ("Group", gettext_lazy("Group")),
            ("AmazonCustomerByEmail", gettext_lazy("E-mail address")),
        ],
    )
    grantee = forms.CharField(
        label=gettext_lazy("Grantee"),
        max_length=256,
        help_text=gettext_lazy("A canonical user ID, AllUsers / AuthenticatedUsers, or an e-mail."),
    )
    permission = forms.ChoiceField(
        label=gettext_lazy("Permission"), choices=[(p, p) for p in PERMISSIONS]
    )

    def clean(self):
        data = super().clean()
        kind, who = data.get("grantee_type"), (data.get("grantee") or "").strip()
        grantee = {"Type": kind}
        if kind == "Group":
            name = who.rsplit("/", 1)[-1]
            if name not in GROUPS:
                self.add_error(
                    "grantee", _("A group is AllUsers, AuthenticatedUsers or LogDelivery.")
                )
            else:
                grantee["URI"] = GROUPS[name]
        elif kind == "AmazonCustomerByEmail":
            try:
                forms.EmailField().clean(who)
            except ValidationError:
                self.add_error("grantee", _("That is not an e-mail address."))
            grantee["EmailAddress"] = who
        else:
            grantee["ID"] = who
        if not self.errors:
            data["grant"] = {"Grantee": grantee, "Permission": data["permission"]}
        return data


class PolicyForm(PanelForm):
    policy = forms.CharField(
        label=gettext_lazy("Policy (JSON)"), widget=forms.Textarea(attrs={"rows": 16}), strip=True
    )

    def clean_policy(self):
        text = self.cleaned_data["policy"]
        policies.parse_policy(text)
        return text


class PolicyTemplateForm(PanelForm):
    template = forms.ChoiceField(
        label=gettext_lazy("Template"),
        choices=[
            ("public-read", gettext_lazy("Public read")),
            ("referer", gettext_lazy("Referer allow-list")),
            ("secure-transport", gettext_lazy("Deny insecure transport")),
        ],
    )
    referers = forms.CharField(
        label=gettext_lazy("Allowed referers"),
        required=False,
        max_length=4000,
        help_text=gettext_lazy("One per line or separated by spaces, e.g. https://example.com/*"),
    )

    def clean_referers(self):
        return self.cleaned_data["referers"].split()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]


CORS_METHODS = ["GET", "PUT", "HEAD", "POST", "DELETE"]
CORS_LIMIT = 64 * 1024  # bytes of XML, per COS's PutBucketCors limit


def check_cors_size(endpoint, rules: list[dict]) -> None:
    """Refuse a CORS document that would grow past the limit (measured, not sent)."""
    size = s3.cors_document_size(endpoint, rules)
    if size > CORS_LIMIT:
        raise ValidationError(
            _("The CORS document would be %(size)d bytes; at most %(limit)d (64 KiB) are allowed.")
            % {"size": size, "limit": CORS_LIMIT}
        )


class CorsRuleForm(PanelForm):
    """One CORS rule; cleaned, `rule` is it in S3's shape."""

    rule_id = forms.CharField(label=gettext_lazy("ID"), required=False, max_length=255)
    origins = forms.CharField(
        label=gettext_lazy("Allowed origins"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line, e.g. https://app.example.com or *"),
    )
    methods = forms.MultipleChoiceField(
        label=gettext_lazy("Allowed methods"),
        choices=[(m, m) for m in CORS_METHODS],
        widget=forms.CheckboxSelectMultiple,
    )
    allowed_headers = forms.CharField(
        label=gettext_lazy("Allowed headers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    expose_headers = forms.CharField(
        label=gettext_lazy("Expose headers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    max_age = forms.IntegerField(
        label=gettext_lazy("Max age (seconds)"), required=False, min_value=0
    )

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint

    def clean_origins(self):
        origins = _lines(self.cleaned_data["origins"])
        for origin in origins:
            if origin != "*" and not re.match(r"^https?://[^\s/]+$", origin.replace("*", "x")):
                raise ValidationError(
                    _("“%(origin)s” is not an origin (scheme://host[:port], or *).")
                    % {"origin": origin[:100]}
                )
        if not origins:
            raise ValidationError(_("Give at least one origin."))
        return origins

    def clean_allowed_headers(self):
        return _lines(self.cleaned_data["allowed_headers"])

    def clean_expose_headers(self):
        return _lines(self.cleaned_data["expose_headers"])

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["rule"] = self._rule(data)
            # The new rule alone may already be too big: refuse it without a request.
            try:
                check_cors_size(self.endpoint, [data["rule"]])
            except ValidationError as exc:
                self.add_error("origins", exc)
        return data

    @staticmethod
    def _rule(data) -> dict:
        rule = {"AllowedOrigins": data["origins"], "AllowedMethods": data["methods"]}
        if data["rule_id"]:
            rule["ID"] = data["rule_id"]
        if data["allowed_headers"]:
            rule["AllowedHeaders"] = data["allowed_headers"]
        if data["expose_headers"]:
            rule["ExposeHeaders"] = data["expose_headers"]
        if data["max_age"] is not None:
            rule["MaxAgeSeconds"] = data["max_age"]
        return rule


class IndexForm(PanelForm):
    """Points at one rule of a list (CORS rules), to remove it."""

    index = forms.IntegerField(label=gettext_lazy("Rule"), min_value=0)


class LifecycleRuleForm(PanelForm):
    """One lifecycle rule; cleaned, `rule` is it in S3's shape."""

    rule_id = forms.CharField(label=gettext_lazy("ID"), max_length=255)
    prefix = forms.CharField(
        label=gettext_lazy("Prefix"), required=False, max_length=1024, strip=False
    )
    tag_key = forms.CharField(label=gettext_lazy("Tag key"), required=False, max_length=128)
    tag_value = forms.CharField(label=gettext_lazy("Tag value"), required=False, max_length=256)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("Enabled", gettext_lazy("Enabled")), ("Disabled", gettext_lazy("Disabled"))],
    )
    expiration_days = forms.IntegerField(
        label=gettext_lazy("Expire after days"), required=False, min_value=1
    )
    expiration_date = forms.DateField(
        label=gettext_lazy("Expire on date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    transition_days = forms.IntegerField(
        label=gettext_lazy("Transition after days"), required=False, min_value=0
    )
    transition_class = forms.ChoiceField(label=gettext_lazy("to storage class"), required=False)
    noncurrent_days = forms.IntegerField(
        label=gettext_lazy("Expire noncurrent versions after days"), required=False, min_value=1
    )
    abort_days = forms.IntegerField(
        label=gettext_lazy("Abort incomplete multipart uploads after days"),
        required=False,
        min_value=1,
    )

    def __init__(self, *args, storage_classes=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The provider table says which classes exist; STANDARD is not a target.
        choices = [(c, c) for c in storage_classes if c != "STANDARD"]
        self.fields["transition_class"].choices = [("", "—")] + choices

    def clean(self):
        data = super().clean()
        if data.get("expiration_days") and data.get("expiration_date"):
            self.add_error(
                "expiration_date",
                _("Expire after a number of days or on a date, not both."),
            )
        has_days = data.get("transition_days") is not None
        if has_days != bool(data.get("transition_class")):
            self.add_error(
                "transition_class", _("A transition needs both a number of days and a class.")
            )
        if data.get("tag_value") and not data.get("tag_key"):
            self.add_error("tag_key", _("A tag filter needs a key."))
        actions = ("expiration_days", "expiration_date", "transition_days", "noncurrent_days")
        if not any(data.get(name) not in (None, "") for name in actions + ("abort_days",)):
            raise ValidationError(_("A rule needs at least one action (expire, transition, …)."))
        if not self.errors:
            data["rule"] = self._rule(data)
        return data

    @staticmethod
    def _rule(data) -> dict:
        tag = {"Key": data["tag_key"], "Value": data["tag_value"]} if data["tag_key"] else None
        if tag and data["prefix"]:
            rule_filter = {"And": {"Prefix": data["prefix"], "Tags": [tag]}}
        elif tag:
            rule_filter = {"Tag": tag}
        else:
            rule_filter = {"Prefix": data["prefix"]}
        rule = {"ID": data["rule_id"], "Filter": rule_filter, "Status": data["status"]}
        if data["expiration_days"]:
            rule["Expiration"] = {"Days": data["expiration_days"]}
        elif data["expiration_date"]:
            # S3 wants midnight UTC.
            rule["Expiration"] = {"Date": datetime.combine(data["expiration_date"], time(), UTC)}
        if data["transition_class"]:
            rule["Transitions"] = [
                {"Days": data["transition_days"], "StorageClass": data["transition_class"]}
            ]
        if data["noncurrent_days"]:
            rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": data["noncurrent_days"]}
        if data["abort_days"]:
            rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": data["abort_days"]}
        return rule


class RuleIdForm(PanelForm):
    rule_id = forms.CharField(label=gettext_lazy("Rule ID"), max_length=255)


class ListWidget(forms.Widget):
    """Reads every value of a repeated field (key=a&key=b)."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])


class ListField(forms.Field):
    widget = ListWidget

    def to_python(self, value):
        return [str(v) for v in (value or [])]


class TagsForm(PanelForm):
    """The whole tag set: saving replaces every tag the bucket had."""

    key = ListField(label=gettext_lazy("Key"), required=False)
    value = ListField(label=gettext_lazy("Value"), required=False)

    def __init__(self, *args, limit: int = 50, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def clean(self):
        data = super().clean()
        keys, values = data.get("key", []), data.get("value", [])
        values += [""] * (len(keys) - len(values))
        tags, errors, seen = [], [], set()
        for key, value in zip(keys, values, strict=False):
            key = key.strip()
            if not key and not value:
                continue  # a blank row of the editor
            if not key:
                errors.append(_("A tag with value “%(v)s” has no key.") % {"v": value[:50]})
                continue
            if len(key.encode()) > 128:
                errors.append(
                    _("Tag key “%(k)s…” is %(n)d bytes long; at most 128 bytes are allowed.")
                    % {"k": key[:30], "n": len(key.encode())}
                )
            if len(value.encode()) > 256:
                errors.append(
                    _("The value of tag “%(k)s” is %(n)d bytes long; at most 256 are allowed.")
                    % {"k": key[:30], "n": len(value.encode())}
                )
            if key in seen:
                errors.append(_("Tag key “%(k)s” appears twice.") % {"k": key[:30]})
            seen.add(key)
            tags.append({"Key": key, "Value": value})
        if len(tags) > self.limit:
            errors.append(
                _("%(n)d tags given; a bucket can have at most %(limit)d.")
                % {"n": len(tags), "limit": self.limit}
            )
        if errors:
            self.add_error("key", errors)
        data["tags"] = tags
        return data


class LoggingForm(PanelForm):
    target_bucket = forms.CharField(label=gettext_lazy("Target bucket"), max_length=63)
    prefix = forms.CharField(label=gettext_lazy("Target prefix"), required=False, max_length=900)

    def clean_target_bucket(self):
        name = self.cleaned_data["target_bucket"].strip()
        errors = bucket_name_errors(name)
        if errors:
            raise ValidationError(errors)
        return name


class WebsiteForm(PanelForm):
    index = forms.CharField(
        label=gettext_lazy("Index document"), max_length=1024, initial="index.html"
    )
    error = forms.CharField(label=gettext_lazy("Error document"), required=False, max_length=1024)

    def clean_index(self):
        index = self.cleaned_data["index"].strip()
        if "/" in index:
            raise ValidationError(_("The index document is a name like index.html, without /."))
        return index


class EncryptionForm(PanelForm):
    algorithm = forms.ChoiceField(
        label=gettext_lazy("Default encryption"),
        choices=[("AES256", gettext_lazy("SSE-S3 (AES256)")), ("aws:kms", gettext_lazy("SSE-KMS"))],
    )
    kms_key_id = forms.CharField(
        label=gettext_lazy("KMS key id"),
        required=False,
        max_length=2048,
        help_text=gettext_lazy("Only for SSE-KMS; empty for the provider's default key."),
    )

    def clean(self):
        data = super().clean()
        if data.get("algorithm") == "AES256" and data.get("kms_key_id"):
            self.add_error("kms_key_id", _("A KMS key id only goes with SSE-KMS."))
        return data


class ObjectLockForm(PanelForm):
    mode = forms.ChoiceField(
        label=gettext_lazy("Default retention mode"),
        required=False,
        choices=[
            ("", gettext_lazy("none")),
            ("GOVERNANCE", gettext_lazy("GOVERNANCE")),
            ("COMPLIANCE", gettext_lazy("COMPLIANCE")),
        ],
    )
    days = forms.IntegerField(
        label=gettext_lazy("Days"), required=False, min_value=1, max_value=36500
    )
    years = forms.IntegerField(
        label=gettext_lazy("Years"), required=False, min_value=1, max_value=100
    )

    def clean(self):
        data = super().clean()
        days, years = data.get("days"), data.get("years")
        if days and years:
            self.add_error("years", _("Give days or years, not both."))
        elif data.get("mode") and not (days or years):
            self.add_error("days", _("A retention mode needs a number of days or years."))
        elif not data.get("mode") and (days or years):
            self.add_error("mode", _("Choose a mode for this retention period."))
        return data
