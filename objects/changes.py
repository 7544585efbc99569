"""Changing one object: folder, delete, copy/move/rename,
metadata, storage class, tags, ACL. Operators only; every outcome is audited."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from console import audit, s3
from console.access import get_endpoint_for_user
from console.models import Level
from console.s3 import S3Error
from objects import common
from objects.forms import (
    AclForm,
    CopyForm,
    FolderForm,
    MetadataForm,
    StorageClassForm,
    TagsForm,
)


def _detail(endpoint, bucket, key, tab=""):
    """The object's page, on the tab that holds the form that was sent."""
    return common.url("detail", endpoint, bucket, key=key, tab=tab)


def _invalid(request, endpoint, bucket, form, tab=""):
    """A form's errors, back on the object's page: the key is read as posted
    (the form is not valid), and a POST without one is a 404."""
    key = request.POST.get("key", "")
    if not key:
        raise Http404("No key")
    return common.refused(request, common.form_errors(form), _detail(endpoint, bucket, key, tab))


@require_POST
def folder_create(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = FolderForm(request.POST)
    back = common.url("browse", endpoint, bucket, prefix=request.POST.get("prefix", ""))
    if not form.is_valid():
        return common.refused(request, common.form_errors(form), back)
    key = form.cleaned_data["key"]
    try:
        with audit.audited(
            request, "object.folder_create", endpoint=endpoint, bucket=bucket, key=key
        ) as note:
            note.answer = s3.put_empty(endpoint, bucket, key)
    except S3Error as err:
        return common.refused(request, str(err), back)
    return common.done(request, _("Folder %(key)s created.") % {"key": key}, back)


@require_POST
def delete(request, code, bucket):
    """Delete the current object (a delete marker on a versioned bucket) or,
    with a version id, that version for good."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    key, version = common.key_and_version(request.POST)
    back = common.url("browse", endpoint, bucket, prefix=common.parent_prefix(key))
    action = "object.version_delete" if version else "object.delete"
    try:
        with audit.audited(
            request, action, endpoint=endpoint, bucket=bucket, key=key, detail=version
        ) as note:
            note.answer = answer = s3.delete_object(endpoint, bucket, key, version)
    except S3Error as err:
        return common.refused(request, str(err), _detail(endpoint, bucket, key))
    if version:
        text = _("Version %(version)s of %(key)s was deleted permanently.") % {
            "version": version,
            "key": key,
        }
        back = common.url("versions", endpoint, bucket, key=key)
    elif answer.get("DeleteMarker"):
        text = _(
            "The bucket is versioned: a delete marker was created for %(key)s and its earlier "
            "versions remain. Delete a version permanently from the versions page."
        ) % {"key": key}
    else:
        text = _("%(key)s was deleted.") % {"key": key}
    return common.done(request, text, back)


@require_POST
def copy(request, code, bucket):
    """Copy, move or rename within the endpoint by CopyObject (up to 5 GiB)."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = CopyForm(request.POST)
    if not form.is_valid():
        return _invalid(request, endpoint, bucket, form)
    key = form.cleaned_data["key"]
    target_bucket = form.cleaned_data["target_bucket"]
    target_key = form.cleaned_data["target_key"]
    move = form.cleaned_data["move"]
    here = _detail(endpoint, bucket, key)
    if (target_bucket, target_key) == (bucket, key):
        return common.refused(request, _("The target is the object itself."), here)
    action = "object.move" if move else "object.copy"
    detail = f"{bucket}/{key} -> {target_bucket}/{target_key}"
    try:
        if s3.head_object(endpoint, bucket, key).get("ContentLength", 0) > s3.COPY_LIMIT:
            return _copy_as_job(request, endpoint, bucket, key, target_bucket, target_key, move)
        with audit.audited(
            request, action, endpoint=endpoint, bucket=bucket, key=key, detail=detail
        ) as note:
            note.answer = s3.copy_object(endpoint, bucket, key, target_bucket, target_key)
            if move:
                s3.delete_object(endpoint, bucket, key)
    except (S3Error, common.Refused) as err:
        return common.refused(request, str(err), here)
    text = (_("Moved to %(target)s.") if move else _("Copied to %(target)s.")) % {
        "target": f"{target_bucket}/{target_key}"
    }
    return common.done(request, text, _detail(endpoint, target_bucket, target_key))


def _copy_as_job(request, endpoint, bucket, key, target_bucket, target_key, move):
    """Above 5 GiB CopyObject cannot copy: the object goes by a copy job, in parts."""
    from console import jobs
    from console.models import Job
    from objects.copy import CopyPlan

    plan = CopyPlan(
        keys=[key],
        base=key,  # the whole key is replaced by the target key
        dest_endpoint=endpoint.pk,
        dest_bucket=target_bucket,
        dest_prefix=target_key,
        move=move,
    )
    job = jobs.start(request, Job.Kind.COPY, endpoint, bucket, key, params=plan.params())
    text = _("The object is larger than 5 GiB: it is being copied in parts, as a job.")
    return common.done(request, text, reverse("job_detail", args=[job.code]))


def _keep_encryption(head: dict) -> dict:
    """Server-side encryption settings a copy onto itself must repeat."""
    extra = {}
    if head.get("ServerSideEncryption"):
        extra["ServerSideEncryption"] = head["ServerSideEncryption"]
    if head.get("SSEKMSKeyId"):
        extra["SSEKMSKeyId"] = head["SSEKMSKeyId"]
    return extra


@require_POST
def metadata(request, code, bucket):
    """Copy the object onto itself with REPLACE: the form carries every current
    header, so what the user did not touch is written back unchanged."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = MetadataForm(request.POST)
    if not form.is_valid():
        return _invalid(request, endpoint, bucket, form, "metadata")
    data = form.cleaned_data
    key = data["key"]
    here = _detail(endpoint, bucket, key, "metadata")
    try:
        with audit.audited(
            request, "object.metadata", endpoint=endpoint, bucket=bucket, key=key
        ) as note:
            head = s3.head_object(endpoint, bucket, key)
            common.refuse_large_copy(
                head,
                _(
                    "This object is larger than 5 GiB: changing its metadata needs a multipart "
                    "copy job, which is coming in a later version."
                ),
            )
            note.answer = _replace_metadata(endpoint, bucket, key, head, data)
    except (S3Error, common.Refused) as err:
        return common.refused(request, str(err), here)
    return common.done(request, _("Metadata and headers saved."), here)


def _replace_metadata(endpoint, bucket: str, key: str, head: dict, data: dict) -> dict:
    replace = {
        "ContentType": data["content_type"],
        "CacheControl": data["cache_control"],
        "ContentDisposition": data["content_disposition"],
        "ContentEncoding": data["content_encoding"],
        "ContentLanguage": data["content_language"],
        "Expires": data["expires"],
        "Metadata": data["metadata"],
        **_keep_encryption(head),
    }
    # The storage class is kept: without it a copy would fall back to STANDARD.
    return s3.copy_object(
        endpoint,
        bucket,
        key,
        bucket,
        key,
        replace=replace,
        storage_class=head.get("StorageClass", ""),
    )


@require_POST
def storage_class(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = StorageClassForm(request.POST, classes=endpoint.preset.storage_classes)
    if not form.is_valid():
        return _invalid(request, endpoint, bucket, form, "metadata")
    key, new_class = form.cleaned_data["key"], form.cleaned_data["storage_class"]
    here = _detail(endpoint, bucket, key, "metadata")
    try:
        with audit.audited(
            request,
            "object.storage_class",
            endpoint=endpoint,
            bucket=bucket,
            key=key,
            detail=new_class,
        ) as note:
            head = s3.head_object(endpoint, bucket, key)
            if head.get("StorageClass", "STANDARD") == new_class:
                raise common.Refused(_("The object is already in %(c)s.") % {"c": new_class})
            common.refuse_large_copy(
                head,
                _(
                    "This object is larger than 5 GiB: changing its storage class needs a "
                    "multipart copy job, which is coming in a later version."
                ),
            )
            note.answer = s3.copy_object(
                endpoint, bucket, key, bucket, key, storage_class=new_class
            )
    except (S3Error, common.Refused) as err:
        return common.refused(request, str(err), here)
    return common.done(request, _("Storage class changed to %(c)s.") % {"c": new_class}, here)


@require_POST
def tags(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = TagsForm(request.POST, limit=endpoint.preset.object_tag_limit)
    if not form.is_valid():
        return _invalid(request, endpoint, bucket, form, "metadata")
    key, tag_list = form.cleaned_data["key"], form.cleaned_data["tags"]
    here = _detail(endpoint, bucket, key, "metadata")
    try:
        with audit.audited(
            request, "object.tags", endpoint=endpoint, bucket=bucket, key=key
        ) as note:
            note.answer = s3.put_object_tags(endpoint, bucket, key, tag_list)
            note.detail = f"{len(tag_list)} tags"
    except S3Error as err:
        return common.refused(request, common.not_supported_text(err), here)
    return common.done(request, _("Tags saved."), here)


@require_POST
def acl(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = AclForm(request.POST)
    if not form.is_valid():
        return _invalid(request, endpoint, bucket, form, "permissions")
    data = form.cleaned_data
    key = data["key"]
    here = _detail(endpoint, bucket, key, "permissions")
    try:
        with audit.audited(
            request, "object.acl", endpoint=endpoint, bucket=bucket, key=key
        ) as note:
            note.answer = s3.put_object_acl(
                endpoint, bucket, key, canned=data["canned"], grants=data["grants"]
            )
            note.detail = data["canned"] or f"{len(data['grants'])} grants"
    except S3Error as err:
        return common.refused(request, common.not_supported_text(err), here)
    return common.done(request, _("Access control list saved."), here)
