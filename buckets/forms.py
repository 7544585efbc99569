"""Forms for bucket create and delete, and the rules of a bucket name.

Each `clean_<field>` turns text into the value S3 wants, or refuses it with a
field error in words, so bad input never costs a request. The forms
of the settings panels are in buckets/panels/forms.py.
"""

from __future__ import annotations

import ipaddress
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.providers import Provider
from objects.forms import CANNED_ACLS, PrefixField, canned_acl_choices

# The bucket-owner-* canned ACLs give the bucket owner rights on an object;
# on a bucket they mean nothing.
BUCKET_CANNED_ACLS = [acl for acl in CANNED_ACLS if not acl.startswith("bucket-owner-")]
COS_NAME = re.compile(r"^(?P<stem>.+)-(?P<appid>[0-9]{5,})$")
NAME_CHARS = re.compile(r"^[a-z0-9-]+$")


def bucket_name_errors(name: str, provider: str = "") -> list[str]:
    """Every reason `name` cannot be a bucket name, in words ([] when it can)."""
    errors = []
    if not 3 <= len(name) <= 63:
        errors.append(
            _("A bucket name has 3 to 63 characters (this one has %(n)d).") % {"n": len(name)}
        )
    try:
        ipaddress.ip_address(name)
        errors.append(_("A bucket name must not look like an IP address."))
    except ValueError:
        pass
    if ".." in name:
        errors.append(_("A bucket name must not contain two dots in a row."))
    if not NAME_CHARS.match(name or "-"):
        bad = sorted({c for c in name if not re.match(r"[a-z0-9-]", c)})
        errors.append(
            _("Only lowercase letters, digits and hyphens are allowed (not: %(chars)s).")
            % {"chars": " ".join(bad) or _("nothing given")}
        )
    if name.startswith("-") or name.endswith("-"):
        errors.append(_("A bucket name must not start or end with a hyphen."))
    if name.startswith(("xn--", "sthree-")):
        errors.append(_("A bucket name must not start with “xn--” or “sthree-”."))
    if name.endswith(("-s3alias", "--ol-s3", "--x-s3")):
        errors.append(_("A bucket name must not end with “-s3alias”, “--ol-s3” or “--x-s3”."))
    if provider == Provider.COS and not COS_NAME.match(name):
        errors.append(_("Tencent COS bucket names end with your APPID, like “photos-1250000000”."))
    return errors


class CreateBucketForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, strip=True)
    acl = forms.ChoiceField(
        label=gettext_lazy("Access (canned ACL)"),
        choices=canned_acl_choices(
            BUCKET_CANNED_ACLS, blank=gettext_lazy("provider default (private)")
        ),
        required=False,
    )
    region = forms.CharField(
        label=gettext_lazy("Region (location constraint)"),
        required=False,
        max_length=64,
        help_text=gettext_lazy("Leave empty for the endpoint's own region."),
    )
    object_lock = forms.BooleanField(
        label=gettext_lazy("Enable object lock (needs versioning; cannot be turned off)"),
        required=False,
    )
    versioning = forms.BooleanField(label=gettext_lazy("Enable versioning"), required=False)

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        preset = endpoint.preset
        if preset.bucket_suffix_hint:
            self.fields["name"].help_text = _("Ends with your APPID, e.g. photos%(suffix)s.") % {
                "suffix": preset.bucket_suffix_hint
            }
        if preset.fixed_region:
            # ZOS signs everything as us-east-1; a region choice would only confuse.
            del self.fields["region"]
        elif endpoint.region:
            self.fields["region"].help_text = _(
                "Leave empty for the endpoint's own region (%(region)s)."
            ) % {"region": endpoint.region}

    def clean_name(self):
        name = self.cleaned_data["name"]
        errors = bucket_name_errors(name, self.endpoint.provider)
        if errors:
            raise ValidationError(errors)
        return name

    def clean_region(self):
        region = self.cleaned_data["region"].strip()
        if region and not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", region):
            raise ValidationError(_("A region looks like “eu-west-1” or “ap-guangzhou”."))
        return region


class DeleteBucketForm(forms.Form):
    confirm_name = forms.CharField(
        label=gettext_lazy("Type the bucket name to confirm"), max_length=255
    )

    def __init__(self, *args, bucket, **kwargs):
        super().__init__(*args, **kwargs)
        self.bucket = bucket

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.bucket:
            raise ValidationError(_("That is not the bucket's name; nothing was deleted."))
        return value


class InsightsForm(forms.Form):
    """Which part of a bucket an insights page shows or a run counts."""

    prefix = PrefixField(label=gettext_lazy("Prefix (empty for the whole bucket)"))
