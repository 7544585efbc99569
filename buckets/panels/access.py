"""Who may do what with the bucket: its ACL and its policy."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from buckets import policy as policies
from buckets.panels import forms
from buckets.panels.base import Action, Change, Panel, delete_action
from console import s3

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


def _read_acl(panel):
    acl = s3.get_bucket_acl(panel.endpoint, panel.bucket)
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


def _rewrite_acl(panel, change: Callable[[dict, list], list]) -> None:
    acl = s3.get_bucket_acl(panel.endpoint, panel.bucket)
    owner = acl.get("Owner") or {}
    grants = change(owner, list(acl.get("Grants", [])))
    if owner.get("ID") and not any(_is_owner_full_control(g, owner) for g in grants):
        grants.insert(0, _owner_grant(owner))
    s3.put_bucket_acl_policy(panel.endpoint, panel.bucket, owner, grants)


def _canned_acl(panel, data):
    acl = data["acl"]
    return Change(
        "bucket.acl",
        _("The bucket's ACL is now %(acl)s.") % {"acl": acl},
        lambda: s3.put_bucket_canned_acl(panel.endpoint, panel.bucket, acl),
        detail=acl,
    )


def _add_grant(panel, data):
    new = data["grant"]

    def add(owner, grants):
        return grants if any(_same_grant(g, new) for g in grants) else grants + [new]

    return Change(
        "bucket.acl.grant",
        _("Grant added."),
        lambda: _rewrite_acl(panel, add),
        detail=f"{_grantee_label(new['Grantee'])} {new['Permission']}",
    )


def _revoke_grant(panel, data):
    old = data["grant"]

    def revoke(owner, grants):
        if _is_owner_full_control(old, owner):
            raise ValidationError(_("The owner's FULL_CONTROL stays; it cannot be revoked here."))
        return [g for g in grants if not _same_grant(g, old)]

    return Change(
        "bucket.acl.revoke",
        _("Grant revoked."),
        lambda: _rewrite_acl(panel, revoke),
        detail=f"{_grantee_label(old['Grantee'])} {old['Permission']}",
    )


ACL = Panel(
    "acl",
    gettext_lazy("Access control list"),
    _read_acl,
    {
        "canned": Action(_canned_acl, forms.CannedAclForm, "canned_form"),
        "grant": Action(_add_grant, forms.AclGrantForm, "grant_form"),
        "revoke": Action(_revoke_grant, forms.AclGrantForm, "revoke_form"),
    },
    lambda panel, state: {
        "canned_form": forms.CannedAclForm(),
        "grant_form": forms.AclGrantForm(),
    },
)


# Policy


def _read_policy(panel):
    text = s3.get_bucket_policy(panel.endpoint, panel.bucket)
    try:
        text = json.dumps(json.loads(text), indent=2)
    except ValueError:
        pass
    return {"policy": text}


def _policy_forms(panel, state):
    initial = state.get("policy", "")
    chosen = forms.PolicyTemplateForm(panel.request.GET or None)
    if panel.request.method == "GET" and chosen.is_bound and chosen.is_valid():
        data = chosen.cleaned_data
        initial = policies.template(data["template"], panel.bucket, data["referers"])
    return {
        "policy_form": forms.PolicyForm(initial={"policy": initial}),
        "template_form": forms.PolicyTemplateForm(),
    }


def _save_policy(panel, data):
    text = data["policy"]
    return Change(
        "bucket.policy",
        _("Policy saved."),
        lambda: s3.put_bucket_policy(panel.endpoint, panel.bucket, text),
    )


POLICY = Panel(
    "policy",
    gettext_lazy("Bucket policy"),
    _read_policy,
    {
        "save": Action(_save_policy, forms.PolicyForm, "policy_form"),
        "delete": delete_action(
            "bucket.policy.delete",
            gettext_lazy("Policy deleted."),
            s3.get_bucket_policy,
            s3.delete_bucket_policy,
        ),
    },
    _policy_forms,
)
