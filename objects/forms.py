"""Every input of the object pages, validated before any S3 request."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

PAGE_SIZES = (10, 50, 100, 200, 500, 1000)
MAX_KEY_BYTES = 1024
MAX_EXPIRY = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
SORTS = ("name", "-name", "size", "-size", "date", "-date")
# The canned ACLs S3 defines, one list for every form that offers them. The
# bucket-owner-* ones only mean something on an object (see BUCKET_CANNED_ACLS).
CANNED_ACLS = (
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
)
PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP")
# S3 counts the user metadata of an object as the UTF-8 bytes of every name and
# value together; tags by Unicode characters, per key and per value.
METADATA_MAX_BYTES = 2048
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
METADATA_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def canned_acl_choices(acls=CANNED_ACLS, blank=None) -> list[tuple[str, str]]:
    """The choices of a canned-ACL select; `blank` labels the choice that sends none."""
    choices = [(acl, acl) for acl in acls]
    return choices if blank is None else [("", blank)] + choices


def check_key(value: str) -> str:
    if not value:
        raise forms.ValidationError(_("Give a key."))
    if len(value.encode("utf-8")) > MAX_KEY_BYTES:
        raise forms.ValidationError(_("A key is 1024 bytes at most (UTF-8)."))
    return value


class KeyField(forms.CharField):
    """An object key exactly as typed: no stripping, any Unicode."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value:
            check_key(value)


class ListField(forms.Field):
    """Repeated query parameters (`?back=a&back=b`) as a list of strings."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [str(v) for v in (value or [])]


class PrefixField(forms.CharField):
    """A key prefix exactly as typed ("" for the whole bucket), 1 024 bytes at most."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if len(value.encode()) > MAX_KEY_BYTES:
            raise forms.ValidationError(_("A prefix is 1024 bytes at most."))


class BrowseForm(forms.Form):
    prefix = PrefixField(
        label=_("Folder"),
    )
    token = forms.CharField(label=_("Page token"), required=False, strip=False)
    back = ListField(label=_("Earlier pages"), required=False)
    size = forms.TypedChoiceField(
        label=_("Per page"),
        required=False,
        coerce=int,
        choices=[(n, n) for n in PAGE_SIZES],
        empty_value=200,
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=[(s, s) for s in SORTS])
    etag = forms.BooleanField(label=_("Show ETags"), required=False)
    filter = forms.CharField(label=_("Filter"), required=False, strip=False)


class JumpForm(forms.Form):
    to = KeyField(label=_("Jump to key or prefix"))


class KeyForm(forms.Form):
    key = KeyField(
        label=_("Key"),
    )
    version = forms.CharField(label=_("Version"), required=False)


# The tabs of an object's page, in their order; the first is shown by default.
OBJECT_TABS = [
    ("overview", _("Overview")),
    ("metadata", _("Metadata and tags")),
    ("permissions", _("Permissions")),
    ("versions", _("Versions")),
]


class ObjectTabForm(forms.Form):
    tab = forms.ChoiceField(label=_("Tab"), required=False, choices=OBJECT_TABS)


class FolderForm(forms.Form):
    prefix = forms.CharField(label=_("Prefix"), required=False, strip=False)
    name = forms.CharField(label=_("Folder name"), strip=False)

    def clean_name(self):
        name = self.cleaned_data["name"].strip("/")
        if not name:
            raise forms.ValidationError(_("Give the folder a name."))
        return name

    def clean(self):
        data = super().clean()
        if "name" in data:
            data["key"] = check_key(data.get("prefix", "") + data["name"] + "/")
        return data


class CopyForm(forms.Form):
    key = KeyField(widget=forms.HiddenInput)
    target_bucket = forms.CharField(label=_("Target bucket"), max_length=63)
    target_key = KeyField(label=_("Target key"))
    move = forms.BooleanField(label=_("Move (delete the original after copying)"), required=False)


class ExpiryField(forms.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("initial", 3600)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_EXPIRY)
        kwargs.setdefault("label", _("Expires after (seconds, at most 7 days = 604800)"))
        super().__init__(**kwargs)


# Restore tiers in words; the S3 name stays beside them, as the providers' consoles show it.
TIER_NAMES = {"Expedited": _("Expedited"), "Standard": _("Standard"), "Bulk": _("Bulk")}


class ShareForm(forms.Form):
    key = KeyField(widget=forms.HiddenInput)
    method = forms.ChoiceField(
        label=_("Method"),
        choices=[("GET", _("Download (GET)")), ("PUT", _("Upload (PUT)"))],
        initial="GET",
    )
    expires = ExpiryField()


class PostPolicyForm(forms.Form):
    key = KeyField(required=False, label=_("Exact key"))
    prefix = forms.CharField(required=False, strip=False, label=_("…or any key under prefix"))
    min_size = forms.IntegerField(required=False, min_value=0, label=_("Smallest size (bytes)"))
    max_size = forms.IntegerField(required=False, min_value=0, label=_("Largest size (bytes)"))
    content_type = forms.CharField(required=False, max_length=255, label=_("Content type"))
    expires = ExpiryField()

    def clean(self):
        data = super().clean()
        if bool(data.get("key")) == bool(data.get("prefix")):
            raise forms.ValidationError(_("Give either an exact key or a key prefix."))
        low, high = data.get("min_size"), data.get("max_size")
        if low is not None and high is None:
            raise forms.ValidationError(_("Give a largest size with the smallest one."))
        if low is not None and high is not None and low > high:
            raise forms.ValidationError(_("The smallest size is larger than the largest."))
        return data


def _lines(text: str):
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield number, line


def printable_ascii(value: str) -> bool:
    """What an HTTP header value may hold: no line break, no control character."""
    return all(32 <= ord(c) <= 126 for c in value)


class HeaderField(forms.CharField):
    """A value sent as an HTTP header (Content-Type, Cache-Control, …).

    A line break in it would end the header and start another: the request then
    fails on the way, or worse, says something the person did not write.
    """

    def clean(self, value):
        value = super().clean(value)
        if not printable_ascii(value):
            raise forms.ValidationError(
                _(
                    "This value is sent as an HTTP header: use printable ASCII only, "
                    "without line breaks or control characters."
                ),
                code="header",
            )
        return value


class MetadataField(forms.CharField):
    """User metadata, one `name: value` a line, as the dict S3 sends as x-amz-meta-* headers.

    The rules are S3's own, checked here so that a refusal costs no request and
    an upload and an edit accept the same text: names of a-z 0-9 - _ . (typed in
    any case, with or without the x-amz-meta- prefix), each once; printable ASCII
    values, since they travel as HTTP headers; 2 KiB for all of it together.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        kwargs.setdefault(
            "help_text",
            _("One per line: name: value (x-amz-meta- is added; names are lowercased)."),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        metadata = {}
        for number, line in _lines(text):
            name, sep, rest = line.partition(":")
            name = name.strip().lower().removeprefix("x-amz-meta-")
            if not sep or not name:
                raise forms.ValidationError(_("Line %(n)d is not name: value.") % {"n": number})
            if not all(c in METADATA_NAME_CHARS for c in name):
                raise forms.ValidationError(
                    _("Line %(n)d: write name: value, with a name of a-z, 0-9, “-”, “_” and “.”.")
                    % {"n": number}
                )
            if name in metadata:
                raise forms.ValidationError(
                    _("Line %(n)d: the name %(name)s appears twice.") % {"n": number, "name": name}
                )
            if not printable_ascii(rest.strip()):
                raise forms.ValidationError(
                    _(
                        "Line %(n)d: metadata values travel in HTTP headers and must be "
                        "printable ASCII."
                    )
                    % {"n": number}
                )
            metadata[name] = rest.strip()
        size = sum(len(name.encode()) + len(value.encode()) for name, value in metadata.items())
        if size > METADATA_MAX_BYTES:
            raise forms.ValidationError(
                _("Metadata is 2 KiB at most, names and values together; this is %(size)d bytes.")
                % {"size": size}
            )
        return metadata


class TagsField(forms.CharField):
    """Tags, one `key=value` a line, as (key, value) pairs in the order given.

    As S3 counts them: a key of at most 128 characters, a value of at most 256,
    each key once, and no more tags than the provider allows (`limit`, which
    the form sets from its endpoint's preset).
    """

    def __init__(self, *, limit=10, **kwargs):
        kwargs.setdefault("strip", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(**kwargs)
        self.limit = limit

    def clean(self, value):
        text = super().clean(value)
        tags = {}
        for number, line in _lines(text):
            key, sep, rest = line.partition("=")
            key, tag_value = key.strip(), rest.strip()
            if not sep or not key:
                raise forms.ValidationError(_("Line %(n)d is not key=value.") % {"n": number})
            if len(key) > TAG_KEY_MAX:
                raise forms.ValidationError(
                    _("Line %(n)d: a tag key is 128 characters at most.") % {"n": number}
                )
            if len(tag_value) > TAG_VALUE_MAX:
                raise forms.ValidationError(
                    _("Line %(n)d: a tag value is 256 characters at most.") % {"n": number}
                )
            if key in tags:
                raise forms.ValidationError(
                    _("Line %(n)d: the tag %(k)s appears twice.") % {"n": number, "k": key}
                )
            tags[key] = tag_value
        if len(tags) > self.limit:
            raise forms.ValidationError(
                _("At most %(limit)d tags per object.") % {"limit": self.limit}
            )
        return list(tags.items())


class MetadataForm(forms.Form):
    key = KeyField(widget=forms.HiddenInput)
    content_type = HeaderField(label=_("Content type"), required=False, max_length=255)
    cache_control = HeaderField(label=_("Cache control"), required=False, max_length=1024)
    content_disposition = HeaderField(
        label=_("Content disposition"), required=False, max_length=1024
    )
    content_encoding = HeaderField(label=_("Content encoding"), required=False, max_length=255)
    content_language = HeaderField(label=_("Content language"), required=False, max_length=255)
    expires = forms.DateTimeField(
        label=_("Expires"), required=False, help_text=_("e.g. 2030-01-31 12:00")
    )
    metadata = MetadataField(label=_("User metadata"), required=False)


class StorageClassForm(forms.Form):
    key = KeyField(widget=forms.HiddenInput)
    storage_class = forms.ChoiceField(label=_("Storage class"), choices=())

    def __init__(self, *args, classes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["storage_class"].choices = [(c, c) for c in classes]


class TagsForm(forms.Form):
    key = KeyField(widget=forms.HiddenInput)
    tags = TagsField(
        label=_("Tags"),
        required=False,
        help_text=_("One per line: key=value. Empty removes every tag."),
    )

    def __init__(self, *args, limit=10, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].limit = limit


class AclForm(forms.Form):
    key = KeyField(widget=forms.HiddenInput)
    canned = forms.ChoiceField(
        required=False,
        choices=canned_acl_choices(blank=_("Keep the grants below")),
        label=_("Canned ACL"),
    )
    grants = forms.CharField(
        label=_("Grants"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One grant per line: PERMISSION id|uri|email VALUE, "
            "e.g. READ uri http://acs.amazonaws.com/groups/global/AllUsers"
        ),
    )

    def clean_grants(self):
        grants = []
        kinds = {"id": "CanonicalUser", "uri": "Group", "email": "AmazonCustomerByEmail"}
        fields = {"id": "ID", "uri": "URI", "email": "EmailAddress"}
        for number, line in _lines(self.cleaned_data["grants"]):
            parts = line.split(None, 2)
            if len(parts) != 3 or parts[0].upper() not in PERMISSIONS or parts[1] not in kinds:
                raise forms.ValidationError(
                    _("Line %(n)d is not PERMISSION id|uri|email VALUE.") % {"n": number}
                )
            permission, kind, value = parts[0].upper(), parts[1], parts[2].strip()
            grantee = {"Type": kinds[kind], fields[kind]: value}
            grants.append({"Grantee": grantee, "Permission": permission})
        return grants


def grants_as_text(grants: list[dict]) -> str:
    lines = []
    for grant in grants:
        grantee = grant.get("Grantee", {})
        for kind, field in (("id", "ID"), ("uri", "URI"), ("email", "EmailAddress")):
            if grantee.get(field):
                lines.append(f"{grant.get('Permission')} {kind} {grantee[field]}")
                break
    return "\n".join(lines)


class VersionsForm(forms.Form):
    key = KeyField(label=_("Key"), required=False)
    prefix = forms.CharField(label=_("Prefix"), required=False, strip=False)
    key_marker = forms.CharField(label=_("Key marker"), required=False, strip=False)
    version_marker = forms.CharField(label=_("Version marker"), required=False)


class MultipartListForm(forms.Form):
    key_marker = forms.CharField(label=_("Key marker"), required=False, strip=False)
    upload_marker = forms.CharField(label=_("Upload marker"), required=False)


class PartsForm(forms.Form):
    key = KeyField(
        label=_("Key"),
    )
    upload_id = forms.CharField(
        label=_("Upload ID"),
    )
    part_marker = forms.IntegerField(label=_("Part marker"), required=False, min_value=0)


class AbortForm(forms.Form):
    """`item` holds one JSON pair [key, upload id] per selected upload."""

    item = ListField(
        label=_("Item"),
    )

    def clean_item(self):
        import json

        pairs = []
        for raw in self.cleaned_data["item"]:
            try:
                key, upload_id = json.loads(raw)
            except (ValueError, TypeError):
                raise forms.ValidationError(_("An upload in the selection is malformed.")) from None
            if not isinstance(key, str) or not isinstance(upload_id, str) or not upload_id:
                raise forms.ValidationError(_("An upload in the selection is malformed."))
            pairs.append((key, upload_id))
        if not pairs:
            raise forms.ValidationError(_("Select at least one upload."))
        return pairs


class KeyListField(ListField):
    """Repeated keys (a selection), each checked as a key; at most `limit` of them."""

    def __init__(self, *, limit=1000, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if len(value) > self.limit:
            raise forms.ValidationError(
                _("Select at most %(n)d items at once.") % {"n": self.limit}
            )
        for key in value:
            check_key(key)


class PrefixListField(ListField):
    def validate(self, value):
        super().validate(value)
        if len(value) > 1000:
            raise forms.ValidationError(_("Select at most %(n)d items at once.") % {"n": 1000})
        for prefix in value:
            if not prefix.endswith("/") or len(prefix.encode("utf-8")) > MAX_KEY_BYTES:
                raise forms.ValidationError(_("A folder ends in “/” and is 1024 bytes at most."))


class BulkDeleteForm(forms.Form):
    """What to delete (selected keys, folders, or the whole bucket) and how."""

    VERSION_CHOICES = [
        ("current", _("Current versions only")),
        ("all", _("Every version and delete marker")),
    ]
    key = KeyListField(label=_("Keys"), required=False)
    prefix = PrefixListField(label=_("Folders"), required=False)
    everything = forms.BooleanField(label=_("The whole bucket"), required=False)
    delete_bucket = forms.BooleanField(label=_("Delete the bucket too"), required=False)
    versions = forms.ChoiceField(
        choices=VERSION_CHOICES, required=False, label=_("What goes"), widget=forms.RadioSelect
    )
    uploads = forms.BooleanField(
        required=False, label=_("Also abort incomplete multipart uploads under the folders")
    )
    confirm_name = forms.CharField(required=False, strip=False, label=_("Type the bucket name"))
    # The dry run's figures, signed by the server (see bulk_views.review).
    counted = forms.CharField(required=False, widget=forms.HiddenInput)
    start = forms.BooleanField(label=_("Start"), required=False)

    def clean(self):
        data = super().clean()
        if not data.get("versions"):
            data["versions"] = "current"
        if data.get("delete_bucket"):
            data["everything"] = True
        if data.get("everything"):
            data["key"], data["prefix"] = [], [""]
            data["uploads"] = data["uploads"] or data.get("delete_bucket", False)
            if data.get("delete_bucket"):
                data["versions"], data["uploads"] = "all", True
        elif not data.get("key") and not data.get("prefix"):
            raise forms.ValidationError(_("Select at least one object or folder."))
        return data


class AbortOlderForm(forms.Form):
    days = forms.IntegerField(
        min_value=0, max_value=36500, initial=7, label=_("Started more than this many days ago")
    )


class CopyJobForm(forms.Form):
    """Copy or move a selection or folders to a prefix of a bucket the user may write to."""

    ON_EXISTS = [
        ("overwrite", _("Overwrite it")),
        ("skip", _("Skip the object")),
        ("different", _("Overwrite only when different (size and ETag)")),
    ]
    key = KeyListField(label=_("Keys"), required=False)
    prefix = PrefixListField(label=_("Folders"), required=False)
    base = forms.CharField(label=_("Base folder"), required=False, strip=False, max_length=1024)
    dest_endpoint = forms.ChoiceField(label=_("Endpoint"), choices=())
    dest_bucket = forms.CharField(label=_("Bucket"), max_length=255)
    dest_prefix = forms.CharField(
        label=_("Folder"),
        required=False,
        strip=False,
        max_length=1024,
        help_text=_("Empty for the top of the bucket; ends in “/”."),
    )
    move = forms.BooleanField(
        required=False, label=_("Move (delete each source once its copy is verified)")
    )
    on_exists = forms.ChoiceField(
        choices=ON_EXISTS, initial="overwrite", label=_("When the destination exists")
    )
    storage_class = forms.CharField(required=False, max_length=64, label=_("Storage class"))
    start = forms.BooleanField(label=_("Start"), required=False)

    def __init__(self, *args, endpoints=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoints = {str(e.code): e for e in endpoints}
        self.fields["dest_endpoint"].choices = [(str(e.code), e.name) for e in endpoints]

    def clean_dest_prefix(self):
        prefix = self.cleaned_data["dest_prefix"]
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if prefix:
            check_key(prefix)
        return prefix

    def clean_storage_class(self):
        value = self.cleaned_data["storage_class"]
        if value and not value.replace("_", "").isalnum():
            raise forms.ValidationError(_("A storage class is letters, digits and “_”."))
        return value

    def clean(self):
        data = super().clean()
        if not data.get("key") and not data.get("prefix"):
            raise forms.ValidationError(_("Select at least one object or folder."))
        data["endpoint"] = self.endpoints.get(data.get("dest_endpoint", ""))
        return data


class RestoreForm(forms.Form):
    """What to restore (selected objects, folders), for how long and how fast.

    The range of days and the tiers are the provider's (console/providers.py),
    checked here so that a refusal costs no request. A provider that documents
    no tiers gets none: the request then leaves the tier to the provider.
    """

    key = KeyListField(label=_("Keys"), required=False)
    prefix = PrefixListField(label=_("Folders"), required=False)
    days = forms.IntegerField(required=False, label=_("Keep the restored copy for (days)"))
    # A CharField with the tiers as its widget's choices: clean_tier refuses
    # anything else in words that name the provider's tiers.
    tier = forms.CharField(required=False, label=_("Tier"), widget=forms.RadioSelect)
    start = forms.BooleanField(label=_("Start"), required=False)

    def __init__(self, *args, preset, **kwargs):
        super().__init__(*args, **kwargs)
        self.preset = preset
        low, high = preset.restore_days
        self.fields["days"].widget.attrs.update(min=low, max=high)
        self.fields["days"].help_text = _(
            "Between %(low)d and %(high)d days for this provider."
        ) % {"low": low, "high": high}
        self.fields["tier"].widget.choices = self.tier_choices

    @property
    def tier_choices(self) -> list[tuple[str, str]]:
        """(tier, "Tier (expected duration)") for each tier the provider offers."""
        return [
            (
                name,
                _("%(tier)s (%(duration)s)") % {"tier": TIER_NAMES.get(name, name), "duration": d},
            )
            for name, d in self.preset.restore_tiers
        ]

    @property
    def tier_names(self) -> list[str]:
        return [name for name, _duration in self.preset.restore_tiers]

    @classmethod
    def defaults(cls, preset) -> dict[str, str]:
        """What the form proposes: a week (or the provider's longest, if shorter), Standard."""
        low, high = preset.restore_days
        names = [name for name, _duration in preset.restore_tiers]
        tier = "Standard" if "Standard" in names else (names[0] if names else "")
        return {"days": str(max(low, min(7, high))), "tier": tier}

    def clean_days(self):
        days = self.cleaned_data["days"]
        low, high = self.preset.restore_days
        if days is not None and not low <= days <= high:
            raise forms.ValidationError(
                _(
                    "Give between %(low)d and %(high)d days: this provider keeps a restored "
                    "copy for no less and no more."
                )
                % {"low": low, "high": high}
            )
        return days

    def clean_tier(self):
        tier = self.cleaned_data["tier"]
        if tier and tier not in self.tier_names:
            if not self.tier_names:
                raise forms.ValidationError(_("This provider documents no restore tiers."))
            raise forms.ValidationError(
                _("Choose one of this provider's restore tiers: %(tiers)s.")
                % {"tiers": ", ".join(self.tier_names)}
            )
        return tier

    def clean(self):
        data = super().clean()
        if not data.get("key") and not data.get("prefix") and "key" not in self.errors:
            raise forms.ValidationError(_("Select at least one object or folder."))
        if data.get("start"):
            if data.get("days") is None and "days" not in self.errors:
                self.add_error("days", _("Give the number of days to keep the restored copy."))
            if self.tier_names and not data.get("tier") and "tier" not in self.errors:
                self.add_error("tier", _("Choose a tier."))
        return data


class RestoreItemsForm(forms.Form):
    """Which of a restore job's objects its page lists: a state, a page."""

    state = forms.ChoiceField(label=_("State"), required=False, choices=())
    page = forms.IntegerField(label=_("Page"), required=False, min_value=1, max_value=10**9)

    def __init__(self, *args, **kwargs):
        from objects.models import RestoreItem

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", "")] + RestoreItem.State.choices
