"""The settings that are one value or one document each, replaced as a whole:
location, versioning, tags, logging, website, default encryption, object lock."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from buckets.panels import forms
from buckets.panels.base import Action, Change, Panel, delete_action, guarded_delete
from console import s3


def _read_location(panel):
    return {"location": s3.get_bucket_location(panel.endpoint, panel.bucket)}


LOCATION = Panel("location", gettext_lazy("Location"), _read_location)


def _read_versioning(panel):
    return {"versioning": s3.get_bucket_versioning(panel.endpoint, panel.bucket)}


def _save_versioning(panel, data):
    status = data["status"]
    return Change(
        "bucket.versioning",
        _("Versioning is now %(status)s.") % {"status": status.lower()},
        lambda: s3.put_bucket_versioning(panel.endpoint, panel.bucket, status),
        detail=status,
    )


VERSIONING = Panel(
    "versioning",
    gettext_lazy("Versioning"),
    _read_versioning,
    {"save": Action(_save_versioning, forms.VersioningForm, "versioning_form")},
)


# Tags


def _read_tagging(panel):
    return {"tags": s3.get_bucket_tagging(panel.endpoint, panel.bucket)}


def _tagging_forms(panel, state):
    if panel.typed is not None:
        keys, values = panel.data.getlist("key"), panel.data.getlist("value")
        values += [""] * (len(keys) - len(values))
        rows = [{"Key": k, "Value": v} for k, v in zip(keys, values, strict=False)]
    else:
        rows = list(state.get("tags") or [])
    # A few blank rows to add tags; saving with a key emptied removes that tag.
    return {"tag_rows": rows + [{"Key": "", "Value": ""}] * 3}


def _save_tags(panel, data):
    tags = data["tags"]

    def run():
        # An empty set is no tagging at all; PutBucketTagging refuses an empty TagSet.
        if tags:
            s3.put_bucket_tagging(panel.endpoint, panel.bucket, tags)
        else:
            guarded_delete(panel, s3.get_bucket_tagging, s3.delete_bucket_tagging, quiet=True)

    return Change(
        "bucket.tagging",
        _("%(n)d tags saved.") % {"n": len(tags)},
        run,
        detail=", ".join(t["Key"] for t in tags)[:500],
    )


TAGGING = Panel(
    "tagging",
    gettext_lazy("Tags"),
    _read_tagging,
    {
        "save": Action(
            _save_tags,
            forms.TagsForm,
            "tags_form",
            lambda panel: {"limit": panel.endpoint.preset.bucket_tag_limit},
        ),
        "delete": delete_action(
            "bucket.tagging.delete",
            gettext_lazy("Tags deleted."),
            s3.get_bucket_tagging,
            s3.delete_bucket_tagging,
        ),
    },
    _tagging_forms,
)


# Access logging


def _read_logging(panel):
    return {"logging": s3.get_bucket_logging(panel.endpoint, panel.bucket)}


def _logging_forms(panel, state):
    current = state.get("logging") or {}
    initial = {
        "target_bucket": current.get("TargetBucket", panel.bucket),
        "prefix": current.get("TargetPrefix", "logs/"),
    }
    return {"logging_form": forms.LoggingForm(initial=initial)}


def _save_logging(panel, data):
    target, prefix = data["target_bucket"], data["prefix"]
    return Change(
        "bucket.logging",
        _("Access logging goes to %(target)s.") % {"target": target},
        lambda: s3.put_bucket_logging(panel.endpoint, panel.bucket, target, prefix),
        detail=f"{target}/{prefix}",
    )


def _disable_logging(panel, data):
    return Change(
        "bucket.logging.disable",
        _("Access logging is off."),
        lambda: s3.put_bucket_logging(panel.endpoint, panel.bucket),
    )


LOGGING = Panel(
    "logging",
    gettext_lazy("Access logging"),
    _read_logging,
    {
        "save": Action(_save_logging, forms.LoggingForm, "logging_form"),
        "disable": Action(_disable_logging),
    },
    _logging_forms,
)


# Static website


def _read_website(panel):
    return {"website": s3.get_bucket_website(panel.endpoint, panel.bucket)}


def _website_forms(panel, state):
    site = state.get("website") or {}
    initial = {
        "index": (site.get("IndexDocument") or {}).get("Suffix", "index.html"),
        "error": (site.get("ErrorDocument") or {}).get("Key", ""),
    }
    return {"website_form": forms.WebsiteForm(initial=initial)}


def _save_website(panel, data):
    index, error = data["index"], data["error"]
    return Change(
        "bucket.website",
        _("Static website saved."),
        lambda: s3.put_bucket_website(panel.endpoint, panel.bucket, index, error),
        detail=index,
    )


WEBSITE = Panel(
    "website",
    gettext_lazy("Static website"),
    _read_website,
    {
        "save": Action(_save_website, forms.WebsiteForm, "website_form"),
        "delete": delete_action(
            "bucket.website.delete",
            gettext_lazy("Static website deleted."),
            s3.get_bucket_website,
            s3.delete_bucket_website,
        ),
    },
    _website_forms,
)


# Default encryption


def _read_encryption(panel):
    return {"encryption": s3.get_bucket_encryption(panel.endpoint, panel.bucket)}


def _encryption_forms(panel, state):
    current = state.get("encryption") or {}
    initial = {
        "algorithm": current.get("SSEAlgorithm", "AES256"),
        "kms_key_id": current.get("KMSMasterKeyID", ""),
    }
    return {"encryption_form": forms.EncryptionForm(initial=initial)}


def _save_encryption(panel, data):
    algorithm, key_id = data["algorithm"], data["kms_key_id"]

    def run():
        try:
            s3.put_bucket_encryption(panel.endpoint, panel.bucket, algorithm, key_id)
        except s3.S3Error as err:
            # A plain SSE-S3 rule has nothing that can be wrong; a 400 refusing it
            # (Ceph RGW before Quincy) means the endpoint does not implement it.
            if algorithm == "AES256" and err.status == 400 and err.code != "AccessDenied":
                raise s3.S3Error(
                    "NotImplemented", status=400, request_id=err.request_id, detail=err.code
                ) from err
            raise

    return Change("bucket.encryption", _("Default encryption saved."), run, detail=algorithm)


ENCRYPTION = Panel(
    "encryption",
    gettext_lazy("Default encryption"),
    _read_encryption,
    {
        "save": Action(_save_encryption, forms.EncryptionForm, "encryption_form"),
        # get_bucket_encryption raises "not supported" on a gateway that ignores
        # `?encryption`, so the DELETE is never sent there.
        "delete": delete_action(
            "bucket.encryption.delete",
            gettext_lazy("Default encryption removed."),
            s3.get_bucket_encryption,
            s3.delete_bucket_encryption,
        ),
    },
    _encryption_forms,
)


# Object lock


def _read_object_lock(panel):
    config = s3.get_object_lock(panel.endpoint, panel.bucket)
    if config.get("ObjectLockEnabled") != "Enabled":
        raise s3.S3Error("ObjectLockConfigurationNotFoundError")
    return {"retention": (config.get("Rule") or {}).get("DefaultRetention") or {}}


def _object_lock_forms(panel, state):
    current = state.get("retention") or {}
    # moto answers Years: 0 beside Days; a zero is "not given".
    initial = {k.lower(): v for k, v in current.items() if v}
    return {"lock_form": forms.ObjectLockForm(initial=initial)}


def _save_object_lock(panel, data):
    def run():
        try:
            _read_object_lock(panel)
        except s3.S3Error as err:
            if err.not_configured:
                raise ValidationError(
                    _("This bucket was created without object lock; it has no retention.")
                ) from None
            raise
        s3.put_object_lock_retention(
            panel.endpoint, panel.bucket, data["mode"], data["days"], data["years"]
        )

    return Change(
        "bucket.object_lock",
        _("Default retention saved."),
        run,
        detail=f"{data['mode']} {data['days'] or ''}{data['years'] or ''}",
    )


OBJECT_LOCK = Panel(
    "object-lock",
    gettext_lazy("Object lock default retention"),
    _read_object_lock,
    {"save": Action(_save_object_lock, forms.ObjectLockForm, "lock_form")},
    _object_lock_forms,
)
