"""The bucket-settings panels (SPEC B4): what each reads, and the changes it offers.

A panel's `read` returns the template context of its current state (raising
S3Error for "not configured" / "not supported" / failures). Each action takes
the POST data, validates it with a form and answers either `Invalid` (the bound
forms, nothing sent) or a `Change` whose `run` does the requests; the view runs
it, audits it and renders the panel again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms as djforms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from buckets import forms
from buckets import policy as policies
from console import s3


@dataclass
class Invalid:
    forms: dict


@dataclass
class Change:
    action: str
    message: str
    run: Callable[[], None]
    detail: str = ""
    # Where a ValidationError raised by `run` (after reading the current state) goes.
    form_name: str = ""
    form: djforms.Form | None = None


@dataclass
class Panel:
    slug: str
    title: str
    read: Callable
    actions: dict = field(default_factory=dict)
    # Fresh forms for the panel, from its state: (panel_ctx, state) -> {name: form}
    forms: Callable = lambda ctx, state: {}

    @property
    def template(self) -> str:
        return f"buckets/panels/{self.slug}.html"

    @property
    def url_name(self) -> str:
        return f"buckets:settings-{self.slug}"


@dataclass
class PanelContext:
    request: object
    endpoint: object
    bucket: str
    # True when the last POST was refused by its form (the editor keeps what was typed).
    invalid: bool = False

    @property
    def data(self):
        return self.request.POST


def _validated(form, name: str):
    """The form when valid, else an Invalid answer carrying it."""
    return form if form.is_valid() else Invalid({name: form})


def _or_empty(read: Callable, *args):
    """A list setting's current value, [] when the provider says it is not configured."""
    try:
        return read(*args)
    except s3.S3Error as err:
        if err.not_configured:
            return []
        raise


def _put_or_delete(ctx, rules: list, put: Callable, delete: Callable) -> None:
    """Write a rule list back; with no rule left, delete the configuration
    (S3 refuses a configuration without rules)."""
    if rules:
        put(ctx.endpoint, ctx.bucket, rules)
    else:
        delete(ctx.endpoint, ctx.bucket)


def _guarded_delete(ctx, read: Callable, delete: Callable, *, quiet: bool = False) -> None:
    """Delete a setting only after reading that it exists.

    A gateway that does not know a subresource (`?tagging`, `?encryption` …)
    answers the GET with an object listing (which parses as empty) and takes
    the DELETE for DeleteBucket. Reading first turns that into "nothing to
    delete" instead of a lost bucket.
    """
    try:
        current = read(ctx.endpoint, ctx.bucket)
    except s3.S3Error as err:
        if not err.not_configured:
            raise
        current = None
    if not current:
        if quiet:
            return
        raise ValidationError(_("This setting is not configured; there is nothing to delete."))
    delete(ctx.endpoint, ctx.bucket)


def _delete_action(action: str, message, read: Callable, delete: Callable) -> Callable:
    """The action that removes a whole setting (guarded: see `_guarded_delete`)."""
    return lambda ctx: Change(action, message, lambda: _guarded_delete(ctx, read, delete))


# Versioning


def _read_versioning(ctx):
    return {"versioning": s3.get_bucket_versioning(ctx.endpoint, ctx.bucket)}


def _save_versioning(ctx):
    form = _validated(forms.VersioningForm(ctx.data), "versioning_form")
    if isinstance(form, Invalid):
        return form
    status = form.cleaned_data["status"]
    return Change(
        "bucket.versioning",
        _("Versioning is now %(status)s.") % {"status": status.lower()},
        lambda: s3.put_bucket_versioning(ctx.endpoint, ctx.bucket, status),
        detail=status,
    )


# ACL: every change rewrites the whole ACL, so it is read-modify-write and the
# owner's FULL_CONTROL is put back whenever it would go missing.


def _grantee_label(grantee: dict) -> str:
    if grantee.get("URI"):
        return grantee["URI"].rsplit("/", 1)[-1]
    return grantee.get("EmailAddress") or grantee.get("DisplayName") or grantee.get("ID", "")


def _grantee_value(grantee: dict) -> str:
    if grantee.get("URI"):
        return grantee["URI"].rsplit("/", 1)[-1]
    return grantee.get("EmailAddress") or grantee.get("ID", "")


def _same_grant(a: dict, b: dict) -> bool:
    ga, gb = a["Grantee"], b["Grantee"]
    keys = ("Type", "ID", "URI", "EmailAddress")
    return a["Permission"] == b["Permission"] and all(ga.get(k) == gb.get(k) for k in keys)


def _owner_grant(owner: dict) -> dict:
    return {
        "Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]},
        "Permission": "FULL_CONTROL",
    }


def _is_owner_full_control(grant: dict, owner: dict) -> bool:
    return grant["Permission"] == "FULL_CONTROL" and grant["Grantee"].get("ID") == owner.get("ID")


def _read_acl(ctx):
    acl = s3.get_bucket_acl(ctx.endpoint, ctx.bucket)
    owner = acl.get("Owner") or {}
    rows = [
        {
            "type": g["Grantee"].get("Type", ""),
            "label": _grantee_label(g["Grantee"]),
            "value": _grantee_value(g["Grantee"]),
            "permission": g["Permission"],
            "is_owner": _is_owner_full_control(g, owner),
        }
        for g in acl.get("Grants", [])
    ]
    return {"owner": owner, "grants": rows}


def _rewrite_acl(ctx, change: Callable[[dict, list], list]) -> None:
    acl = s3.get_bucket_acl(ctx.endpoint, ctx.bucket)
    owner = acl.get("Owner") or {}
    grants = change(owner, list(acl.get("Grants", [])))
    if owner.get("ID") and not any(_is_owner_full_control(g, owner) for g in grants):
        grants.insert(0, _owner_grant(owner))
    s3.put_bucket_acl_policy(ctx.endpoint, ctx.bucket, owner, grants)


def _canned_acl(ctx):
    form = _validated(forms.CannedAclForm(ctx.data), "canned_form")
    if isinstance(form, Invalid):
        return form
    acl = form.cleaned_data["acl"]
    return Change(
        "bucket.acl",
        _("The bucket's ACL is now %(acl)s.") % {"acl": acl},
        lambda: s3.put_bucket_canned_acl(ctx.endpoint, ctx.bucket, acl),
        detail=acl,
    )


def _add_grant(ctx):
    form = _validated(forms.GrantForm(ctx.data), "grant_form")
    if isinstance(form, Invalid):
        return form
    new = form.grant()

    def add(owner, grants):
        return grants if any(_same_grant(g, new) for g in grants) else grants + [new]

    return Change(
        "bucket.acl.grant",
        _("Grant added."),
        lambda: _rewrite_acl(ctx, add),
        detail=f"{_grantee_label(new['Grantee'])} {new['Permission']}",
    )


def _revoke_grant(ctx):
    form = _validated(forms.GrantForm(ctx.data), "revoke_form")
    if isinstance(form, Invalid):
        return form
    old = form.grant()

    def revoke(owner, grants):
        if _is_owner_full_control(old, owner):
            raise ValidationError(_("The owner's FULL_CONTROL stays; it cannot be revoked here."))
        return [g for g in grants if not _same_grant(g, old)]

    return Change(
        "bucket.acl.revoke",
        _("Grant revoked."),
        lambda: _rewrite_acl(ctx, revoke),
        detail=f"{_grantee_label(old['Grantee'])} {old['Permission']}",
        form_name="grant_form",
        form=forms.GrantForm(),
    )


# Policy


def _read_policy(ctx):
    text = s3.get_bucket_policy(ctx.endpoint, ctx.bucket)
    try:
        text = json.dumps(json.loads(text), indent=2)
    except ValueError:
        pass
    return {"policy": text}


def _policy_forms(ctx, state):
    initial = state.get("policy", "")
    chosen = forms.PolicyTemplateForm(ctx.request.GET or None)
    if ctx.request.method == "GET" and chosen.is_bound and chosen.is_valid():
        data = chosen.cleaned_data
        initial = policies.template(data["template"], ctx.bucket, data["referers"])
    return {
        "policy_form": forms.PolicyForm(initial={"policy": initial}),
        "template_form": forms.PolicyTemplateForm(),
    }


def _save_policy(ctx):
    form = _validated(forms.PolicyForm(ctx.data), "policy_form")
    if isinstance(form, Invalid):
        return form
    text = form.cleaned_data["policy"]
    return Change(
        "bucket.policy",
        _("Policy saved."),
        lambda: s3.put_bucket_policy(ctx.endpoint, ctx.bucket, text),
        # A policy the provider refuses stays in the editor to be fixed.
        form_name="policy_form",
        form=forms.PolicyForm(ctx.data),
    )


_delete_policy = _delete_action(
    "bucket.policy.delete", _l("Policy deleted."), s3.get_bucket_policy, s3.delete_bucket_policy
)


# CORS


def _read_cors(ctx):
    return {"rules": s3.get_bucket_cors(ctx.endpoint, ctx.bucket)}


def _check_cors_size(ctx, rules) -> None:
    size = s3.cors_document_size(ctx.endpoint, rules)
    if size > forms.CORS_LIMIT:
        raise ValidationError(
            _("The CORS document would be %(size)d bytes; at most %(limit)d (64 KB) are allowed.")
            % {"size": size, "limit": forms.CORS_LIMIT}
        )


def _put_cors_rule(ctx, rule, form):
    def run():
        rules = _or_empty(s3.get_bucket_cors, ctx.endpoint, ctx.bucket)
        rules = [r for r in rules if not rule.get("ID") or r.get("ID") != rule["ID"]] + [rule]
        _check_cors_size(ctx, rules)
        s3.put_bucket_cors(ctx.endpoint, ctx.bucket, rules)

    return Change(
        "bucket.cors",
        _("CORS rule saved."),
        run,
        detail=", ".join(rule["AllowedOrigins"])[:500],
        form_name="cors_form",
        form=form,
    )


def _add_cors_rule(ctx):
    form = forms.CorsRuleForm(ctx.data)
    if form.is_valid():
        # The new rule alone may already be too big: refuse it without a request.
        try:
            _check_cors_size(ctx, [form.rule()])
        except ValidationError as exc:
            form.add_error("origins", exc)
    if not form.is_valid():
        return Invalid({"cors_form": form})
    return _put_cors_rule(ctx, form.rule(), forms.CorsRuleForm(ctx.data))


def _console_cors_rule(ctx):
    """Let this console's pages upload straight to the bucket and read the ETag."""
    origin = f"{ctx.request.scheme}://{ctx.request.get_host()}"
    rule = {
        "ID": "console-browser-uploads",
        "AllowedOrigins": [origin],
        "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }
    return _put_cors_rule(ctx, rule, forms.CorsRuleForm())


def _remove_cors_rule(ctx):
    form = _validated(forms.IndexForm(ctx.data), "index_form")
    if isinstance(form, Invalid):
        return form
    index = form.cleaned_data["index"]

    def run():
        rules = _or_empty(s3.get_bucket_cors, ctx.endpoint, ctx.bucket)
        if index >= len(rules):
            raise ValidationError(_("That rule no longer exists; the list was reloaded."))
        del rules[index]
        _put_or_delete(ctx, rules, s3.put_bucket_cors, s3.delete_bucket_cors)

    return Change(
        "bucket.cors.remove",
        _("CORS rule removed."),
        run,
        form_name="cors_form",
        form=forms.CorsRuleForm(),
    )


_delete_cors = _delete_action(
    "bucket.cors.delete",
    _l("CORS configuration deleted."),
    s3.get_bucket_cors,
    s3.delete_bucket_cors,
)


# Lifecycle


def _lifecycle_form(ctx, data=None):
    return forms.LifecycleRuleForm(
        data, storage_classes=ctx.endpoint.preset.storage_classes, initial={"status": "Enabled"}
    )


def _read_lifecycle(ctx):
    return {"rules": s3.get_bucket_lifecycle(ctx.endpoint, ctx.bucket)}


def _add_lifecycle_rule(ctx):
    form = _validated(_lifecycle_form(ctx, ctx.data), "lifecycle_form")
    if isinstance(form, Invalid):
        return form
    rule = form.rule()

    def run():
        rules = _or_empty(s3.get_bucket_lifecycle, ctx.endpoint, ctx.bucket)
        rules = [r for r in rules if r.get("ID") != rule["ID"]] + [rule]
        s3.put_bucket_lifecycle(ctx.endpoint, ctx.bucket, rules)

    return Change(
        "bucket.lifecycle",
        _("Lifecycle rule %(id)s saved.") % {"id": rule["ID"]},
        run,
        detail=rule["ID"],
        form_name="lifecycle_form",
        form=_lifecycle_form(ctx, ctx.data),
    )


def _remove_lifecycle_rule(ctx):
    form = _validated(forms.RuleIdForm(ctx.data), "rule_id_form")
    if isinstance(form, Invalid):
        return form
    rule_id = form.cleaned_data["rule_id"]

    def run():
        rules = _or_empty(s3.get_bucket_lifecycle, ctx.endpoint, ctx.bucket)
        rules = [r for r in rules if r.get("ID") != rule_id]
        _put_or_delete(ctx, rules, s3.put_bucket_lifecycle, s3.delete_bucket_lifecycle)

    return Change(
        "bucket.lifecycle.remove",
        _("Lifecycle rule %(id)s removed.") % {"id": rule_id},
        run,
        detail=rule_id,
    )


_delete_lifecycle = _delete_action(
    "bucket.lifecycle.delete",
    _l("Lifecycle configuration deleted."),
    s3.get_bucket_lifecycle,
    s3.delete_bucket_lifecycle,
)


# Tagging


def _read_tagging(ctx):
    return {"tags": s3.get_bucket_tagging(ctx.endpoint, ctx.bucket)}


def _tagging_forms(ctx, state):
    if ctx.invalid:
        keys, values = ctx.data.getlist("key"), ctx.data.getlist("value")
        values += [""] * (len(keys) - len(values))
        rows = [{"Key": k, "Value": v} for k, v in zip(keys, values, strict=False)]
    else:
        rows = list(state.get("tags") or [])
    # A few blank rows to add tags; saving with a key emptied removes that tag.
    return {"tag_rows": rows + [{"Key": "", "Value": ""}] * 3}


def _save_tags(ctx):
    limit = ctx.endpoint.preset.bucket_tag_limit
    form = _validated(forms.TagsForm(ctx.data, limit=limit), "tags_form")
    if isinstance(form, Invalid):
        return form
    tags = form.cleaned_data["tags"]

    def run():
        # An empty set is no tagging at all; PutBucketTagging refuses an empty TagSet.
        if tags:
            s3.put_bucket_tagging(ctx.endpoint, ctx.bucket, tags)
        else:
            _guarded_delete(ctx, s3.get_bucket_tagging, s3.delete_bucket_tagging, quiet=True)

    return Change(
        "bucket.tagging",
        _("%(n)d tags saved.") % {"n": len(tags)},
        run,
        detail=", ".join(t["Key"] for t in tags)[:500],
    )


_delete_tags = _delete_action(
    "bucket.tagging.delete", _l("Tags deleted."), s3.get_bucket_tagging, s3.delete_bucket_tagging
)


# Logging


def _read_logging(ctx):
    return {"logging": s3.get_bucket_logging(ctx.endpoint, ctx.bucket)}


def _logging_forms(ctx, state):
    current = state.get("logging") or {}
    initial = {
        "target_bucket": current.get("TargetBucket", ctx.bucket),
        "prefix": current.get("TargetPrefix", "logs/"),
    }
    return {"logging_form": forms.LoggingForm(initial=initial)}


def _save_logging(ctx):
    form = _validated(forms.LoggingForm(ctx.data), "logging_form")
    if isinstance(form, Invalid):
        return form
    target, prefix = form.cleaned_data["target_bucket"], form.cleaned_data["prefix"]
    return Change(
        "bucket.logging",
        _("Access logging goes to %(target)s.") % {"target": target},
        lambda: s3.put_bucket_logging(ctx.endpoint, ctx.bucket, target, prefix),
        detail=f"{target}/{prefix}",
    )


def _disable_logging(ctx):
    return Change(
        "bucket.logging.disable",
        _("Access logging is off."),
        lambda: s3.put_bucket_logging(ctx.endpoint, ctx.bucket),
    )


# Static website


def _read_website(ctx):
    return {"website": s3.get_bucket_website(ctx.endpoint, ctx.bucket)}


def _website_forms(ctx, state):
    site = state.get("website") or {}
    initial = {
        "index": (site.get("IndexDocument") or {}).get("Suffix", "index.html"),
        "error": (site.get("ErrorDocument") or {}).get("Key", ""),
    }
    return {"website_form": forms.WebsiteForm(initial=initial)}


def _save_website(ctx):
    form = _validated(forms.WebsiteForm(ctx.data), "website_form")
    if isinstance(form, Invalid):
        return form
    index, error = form.cleaned_data["index"], form.cleaned_data["error"]
    return Change(
        "bucket.website",
        _("Static website saved."),
        lambda: s3.put_bucket_website(ctx.endpoint, ctx.bucket, index, error),
        detail=index,
    )


_delete_website = _delete_action(
    "bucket.website.delete",
    _l("Static website deleted."),
    s3.get_bucket_website,
    s3.delete_bucket_website,
)


# Default encryption


def _read_encryption(ctx):
    return {"encryption": s3.get_bucket_encryption(ctx.endpoint, ctx.bucket)}


def _encryption_forms(ctx, state):
    current = state.get("encryption") or {}
    initial = {
        "algorithm": current.get("SSEAlgorithm", "AES256"),
        "kms_key_id": current.get("KMSMasterKeyID", ""),
    }
    return {"encryption_form": forms.EncryptionForm(initial=initial)}


def _save_encryption(ctx):
    form = _validated(forms.EncryptionForm(ctx.data), "encryption_form")
    if isinstance(form, Invalid):
        return form
    algorithm, key_id = form.cleaned_data["algorithm"], form.cleaned_data["kms_key_id"]

    def run():
        try:
            s3.put_bucket_encryption(ctx.endpoint, ctx.bucket, algorithm, key_id)
        except s3.S3Error as err:
            # A plain SSE-S3 rule has nothing that can be wrong; a 400 refusing it
            # (Ceph RGW before Quincy) means the endpoint does not implement it.
            if algorithm == "AES256" and err.status == 400 and err.code != "AccessDenied":
                raise s3.S3Error(
                    "NotImplemented", status=400, request_id=err.request_id, detail=err.code
                ) from err
            raise

    return Change(
        "bucket.encryption",
        _("Default encryption saved."),
        run,
        detail=algorithm,
    )


# get_bucket_encryption raises "not supported" on a gateway that ignores
# `?encryption`, so the DELETE is never sent there.
_delete_encryption = _delete_action(
    "bucket.encryption.delete",
    _l("Default encryption removed."),
    s3.get_bucket_encryption,
    s3.delete_bucket_encryption,
)


# Object lock


def _read_object_lock(ctx):
    config = s3.get_object_lock(ctx.endpoint, ctx.bucket)
    if config.get("ObjectLockEnabled") != "Enabled":
        raise s3.S3Error("ObjectLockConfigurationNotFoundError")
    return {"retention": (config.get("Rule") or {}).get("DefaultRetention") or {}}


def _object_lock_forms(ctx, state):
    current = state.get("retention") or {}
    # moto answers Years: 0 beside Days; a zero is "not given".
    initial = {k.lower(): v for k, v in current.items() if v}
    return {"lock_form": forms.ObjectLockForm(initial=initial)}


def _save_object_lock(ctx):
    form = _validated(forms.ObjectLockForm(ctx.data), "lock_form")
    if isinstance(form, Invalid):
        return form
    data = form.cleaned_data

    def run():
        try:
            _read_object_lock(ctx)
        except s3.S3Error as err:
            if err.not_configured:
                raise ValidationError(
                    _("This bucket was created without object lock; it has no retention.")
                ) from None
            raise
        s3.put_object_lock_retention(
            ctx.endpoint, ctx.bucket, data["mode"], data["days"], data["years"]
        )

    return Change(
        "bucket.object_lock",
        _("Default retention saved."),
        run,
        detail=f"{data['mode']} {data['days'] or ''}{data['years'] or ''}",
        form_name="lock_form",
        form=forms.ObjectLockForm(ctx.data),
    )


# Location


def _read_location(ctx):
    return {"location": s3.get_bucket_location(ctx.endpoint, ctx.bucket)}


PANELS = {
    panel.slug: panel
    for panel in [
        Panel("location", _l("Location"), _read_location),
        Panel("versioning", _l("Versioning"), _read_versioning, {"save": _save_versioning}),
        Panel(
            "acl",
            _l("Access control list"),
            _read_acl,
            {"canned": _canned_acl, "grant": _add_grant, "revoke": _revoke_grant},
            lambda ctx, state: {
                "canned_form": forms.CannedAclForm(),
                "grant_form": forms.GrantForm(),
            },
        ),
        Panel(
            "policy",
            _l("Bucket policy"),
            _read_policy,
            {"save": _save_policy, "delete": _delete_policy},
            _policy_forms,
        ),
        Panel(
            "cors",
            _l("CORS"),
            _read_cors,
            {
                "save": _add_cors_rule,
                "console": _console_cors_rule,
                "remove": _remove_cors_rule,
                "delete": _delete_cors,
            },
            lambda ctx, state: {"cors_form": forms.CorsRuleForm()},
        ),
        Panel(
            "lifecycle",
            _l("Lifecycle"),
            _read_lifecycle,
            {
                "save": _add_lifecycle_rule,
                "remove": _remove_lifecycle_rule,
                "delete": _delete_lifecycle,
            },
            lambda ctx, state: {"lifecycle_form": _lifecycle_form(ctx)},
        ),
        Panel(
            "tagging",
            _l("Tags"),
            _read_tagging,
            {"save": _save_tags, "delete": _delete_tags},
            _tagging_forms,
        ),
        Panel(
            "logging",
            _l("Access logging"),
            _read_logging,
            {"save": _save_logging, "disable": _disable_logging},
            _logging_forms,
        ),
        Panel(
            "website",
            _l("Static website"),
            _read_website,
            {"save": _save_website, "delete": _delete_website},
            _website_forms,
        ),
        Panel(
            "encryption",
            _l("Default encryption"),
            _read_encryption,
            {"save": _save_encryption, "delete": _delete_encryption},
            _encryption_forms,
        ),
        Panel(
            "object-lock",
            _l("Object lock default retention"),
            _read_object_lock,
            {"save": _save_object_lock},
            _object_lock_forms,
        ),
    ]
}
