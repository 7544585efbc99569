"""The settings that are lists of rules: CORS and lifecycle.

Each change reads the current list, changes one rule and writes the list back.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from buckets.panels import forms
from buckets.panels.base import Action, Change, Panel, delete_action, or_empty, put_or_delete
from console import s3

# CORS


def _read_cors(panel):
    return {"rules": s3.get_bucket_cors(panel.endpoint, panel.bucket)}


def _cors_form_kwargs(panel) -> dict:
    return {"endpoint": panel.endpoint}


def _put_cors_rule(panel, rule):
    def run():
        rules = or_empty(s3.get_bucket_cors, panel.endpoint, panel.bucket)
        rules = [r for r in rules if not rule.get("ID") or r.get("ID") != rule["ID"]] + [rule]
        forms.check_cors_size(panel.endpoint, rules)
        s3.put_bucket_cors(panel.endpoint, panel.bucket, rules)

    return Change(
        "bucket.cors",
        _("CORS rule saved."),
        run,
        detail=", ".join(rule["AllowedOrigins"])[:500],
    )


def _add_cors_rule(panel, data):
    return _put_cors_rule(panel, data["rule"])


def _console_cors_rule(panel, data):
    """Let this console's pages upload straight to the bucket and read the ETag."""
    origin = f"{panel.request.scheme}://{panel.request.get_host()}"
    rule = {
        "ID": "console-browser-uploads",
        "AllowedOrigins": [origin],
        "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }
    return _put_cors_rule(panel, rule)


def _remove_cors_rule(panel, data):
    index = data["index"]

    def run():
        rules = or_empty(s3.get_bucket_cors, panel.endpoint, panel.bucket)
        if index >= len(rules):
            raise ValidationError(_("That rule no longer exists; the list was reloaded."))
        del rules[index]
        put_or_delete(panel, rules, s3.put_bucket_cors, s3.delete_bucket_cors)

    return Change("bucket.cors.remove", _("CORS rule removed."), run)


CORS = Panel(
    "cors",
    gettext_lazy("CORS"),
    _read_cors,
    {
        "save": Action(_add_cors_rule, forms.CorsRuleForm, "cors_form", _cors_form_kwargs),
        "console": Action(_console_cors_rule),
        "remove": Action(_remove_cors_rule, forms.IndexForm, "index_form"),
        "delete": delete_action(
            "bucket.cors.delete",
            gettext_lazy("CORS configuration deleted."),
            s3.get_bucket_cors,
            s3.delete_bucket_cors,
        ),
    },
    lambda panel, state: {"cors_form": forms.CorsRuleForm(**_cors_form_kwargs(panel))},
)


# Lifecycle


def _lifecycle_form_kwargs(panel) -> dict:
    return {"storage_classes": panel.endpoint.preset.storage_classes}


def _read_lifecycle(panel):
    return {"rules": s3.get_bucket_lifecycle(panel.endpoint, panel.bucket)}


def _add_lifecycle_rule(panel, data):
    rule = data["rule"]

    def run():
        rules = or_empty(s3.get_bucket_lifecycle, panel.endpoint, panel.bucket)
        rules = [r for r in rules if r.get("ID") != rule["ID"]] + [rule]
        s3.put_bucket_lifecycle(panel.endpoint, panel.bucket, rules)

    return Change(
        "bucket.lifecycle",
        _("Lifecycle rule %(id)s saved.") % {"id": rule["ID"]},
        run,
        detail=rule["ID"],
    )


def _remove_lifecycle_rule(panel, data):
    rule_id = data["rule_id"]

    def run():
        rules = or_empty(s3.get_bucket_lifecycle, panel.endpoint, panel.bucket)
        rules = [r for r in rules if r.get("ID") != rule_id]
        put_or_delete(panel, rules, s3.put_bucket_lifecycle, s3.delete_bucket_lifecycle)

    return Change(
        "bucket.lifecycle.remove",
        _("Lifecycle rule %(id)s removed.") % {"id": rule_id},
        run,
        detail=rule_id,
    )


LIFECYCLE = Panel(
    "lifecycle",
    gettext_lazy("Lifecycle"),
    _read_lifecycle,
    {
        "save": Action(
            _add_lifecycle_rule,
            forms.LifecycleRuleForm,
            "lifecycle_form",
            _lifecycle_form_kwargs,
        ),
        "remove": Action(_remove_lifecycle_rule, forms.RuleIdForm, "rule_id_form"),
        "delete": delete_action(
            "bucket.lifecycle.delete",
            gettext_lazy("Lifecycle configuration deleted."),
            s3.get_bucket_lifecycle,
            s3.delete_bucket_lifecycle,
        ),
    },
    lambda panel, state: {
        "lifecycle_form": forms.LifecycleRuleForm(
            initial={"status": "Enabled"}, **_lifecycle_form_kwargs(panel)
        )
    },
)
