"""Uploads from the browser: what an upload may be.

The forms an upload and each of its chunks are checked with, and the size rules:
the part limits of S3 and the chunk size a file of a given size is cut into. The
views that take the upload in, chunk by chunk, live in objects/upload_views.py.
"""

from __future__ import annotations

import math
import mimetypes

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from objects.forms import HeaderField, MetadataField, TagsField, canned_acl_choices
from objects.models import Upload

MiB = 1024 * 1024
MIN_PART = 5 * MiB
MAX_PART = 5 * 1024 * MiB
MAX_PARTS = 10_000
MAX_OBJECT = 5 * 1024 * 1024 * MiB


def chunk_size_for(size: int) -> int:
    """The chunk (= part) size: the setting, at least 5 MiB, doubled until the file
    needs at most 10 000 parts."""
    if size <= settings.UPLOAD_SINGLE_REQUEST_MAX:
        return max(size, 1)
    chunk = max(settings.UPLOAD_CHUNK_SIZE, MIN_PART)
    while math.ceil(size / chunk) > MAX_PARTS:
        chunk *= 2
    return min(chunk, MAX_PART)


class PrefixForm(forms.Form):
    prefix = forms.CharField(
        label=gettext_lazy("Folder"), required=False, max_length=1024, strip=False
    )


class UploadForm(forms.Form):
    """One file of an upload: where it goes and how it is stored."""

    prefix = forms.CharField(
        label=gettext_lazy("Folder"), required=False, max_length=1024, strip=False
    )
    path = forms.CharField(
        label=gettext_lazy("Path"),
        max_length=1024,
        strip=False,
        help_text=gettext_lazy("File name or folder path"),
    )
    size = forms.IntegerField(label=gettext_lazy("Size"), min_value=0, max_value=MAX_OBJECT)
    content_type = HeaderField(label=gettext_lazy("Content type"), required=False, max_length=255)
    storage_class = forms.ChoiceField(label=gettext_lazy("Storage class"), required=False)
    acl = forms.ChoiceField(
        required=False,
        choices=canned_acl_choices(blank=gettext_lazy("Bucket default")),
        label=gettext_lazy("Canned ACL"),
    )
    cache_control = HeaderField(label=gettext_lazy("Cache-Control"), required=False, max_length=255)
    content_disposition = HeaderField(
        label=gettext_lazy("Content-Disposition"), required=False, max_length=255
    )
    metadata = MetadataField(
        label=gettext_lazy("User metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One per line: name: value (sent as x-amz-meta-name)"),
    )
    tags = TagsField(
        label=gettext_lazy("Tags"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One per line: key=value"),
    )
    # Sent by the upload module, not shown: the file's modification time.
    fingerprint = forms.CharField(label=gettext_lazy("Fingerprint"), required=False, max_length=100)

    def __init__(self, *args, endpoint, **kwargs):
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        self.fields["tags"].limit = endpoint.preset.object_tag_limit
        classes = endpoint.preset.storage_classes
        self.fields["storage_class"].choices = [("", _("Bucket default"))] + [
            (c, c) for c in classes
        ]

    def clean_path(self):
        path = self.cleaned_data["path"].replace("\\", "/").lstrip("/")
        if not path or path.endswith("/"):
            raise forms.ValidationError(_("A file name may not be empty or end with “/”."))
        if any(part in ("", ".", "..") for part in path.split("/")):
            raise forms.ValidationError(_("A file path may not contain empty, “.” or “..” parts."))
        return path

    def clean(self):
        data = super().clean()
        if "path" in data:
            key = data.get("prefix", "") + data["path"]
            if len(key.encode()) > 1024:
                self.add_error("path", _("The object key would be longer than 1024 bytes."))
            data["key"] = key
            if not data.get("content_type"):
                guessed, _encoding = mimetypes.guess_type(data["path"])
                data["content_type"] = guessed or "application/octet-stream"
        return data

    def options(self) -> dict:
        names = ["content_type", "storage_class", "acl", "cache_control", "content_disposition"]
        options = {n: self.cleaned_data[n] for n in names if self.cleaned_data.get(n)}
        if self.cleaned_data.get("metadata"):
            options["metadata"] = self.cleaned_data["metadata"]
        if self.cleaned_data.get("tags"):
            # Kept as a mapping: the options are stored as JSON and sent url-encoded.
            options["tags"] = dict(self.cleaned_data["tags"])
        return options


class ChunkForm(forms.Form):
    """What the chunk request says about itself, checked before a byte is read."""

    number = forms.IntegerField(label=gettext_lazy("Part number"), min_value=1, max_value=MAX_PARTS)
    length = forms.IntegerField(label=gettext_lazy("Length"), min_value=0)
    sha256 = forms.RegexField(
        label=gettext_lazy("SHA-256"), regex=r"^[0-9a-fA-F]{64}$", required=False
    )

    def __init__(self, *args, upload: Upload, **kwargs):
        super().__init__(*args, **kwargs)
        self.upload = upload

    def clean(self):
        data = super().clean()
        number, length = data.get("number"), data.get("length")
        if number is None or length is None:
            return data
        if number > self.upload.chunk_count:
            raise forms.ValidationError(
                _("This upload has %(n)d chunks.") % {"n": self.upload.chunk_count}
            )
        expected = self.upload.chunk_length(number)
        if length != expected:
            raise forms.ValidationError(
                _("Chunk %(number)d must be %(expected)d bytes, not %(length)d.")
                % {"number": number, "expected": expected, "length": length}
            )
        return data
