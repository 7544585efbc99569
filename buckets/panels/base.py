"""What every settings panel is made of, and the helpers several panels share.

A panel's `read` returns the template context of its current state (raising
S3Error for "not configured" / "not supported" / failures). Each of its actions
declares the form its POST fills; the view validates that form before any
request and gives the action the cleaned data. The action answers a `Change`
whose `run` does the requests; the view runs it, audits it and renders the
panel again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from console import s3


@dataclass
class PanelContext:
    """The request a panel answers: who asks, about which bucket of which endpoint."""

    request: object
    endpoint: object
    bucket: str
    # The bound form of a POST that was refused or whose change failed: the
    # panel shows it instead of a fresh one, so what was typed stays.
    typed: forms.Form | None = None

    @property
    def data(self):
        return self.request.POST


@dataclass
class Change:
    action: str
    message: str
    run: Callable[[], None]
    detail: str = ""


@dataclass
class Action:
    """One change a panel offers.

    `form` is the form its POST fills (None when it takes no input), built with
    the keyword arguments `form_kwargs(panel)` gives, and shown in the template
    as `form_name`. `change(panel, cleaned_data)` answers the Change to run.
    """

    change: Callable[[PanelContext, dict], Change]
    form: type[forms.Form] | None = None
    form_name: str = ""
    form_kwargs: Callable[[PanelContext], dict] = lambda panel: {}

    def bind(self, panel: PanelContext) -> forms.Form | None:
        if self.form is None:
            return None
        return self.form(panel.data, **self.form_kwargs(panel))


@dataclass
class Panel:
    slug: str
    title: str
    read: Callable
    actions: dict[str, Action] = field(default_factory=dict)
    # Fresh forms for the panel, from its state: (panel, state) -> {name: form}
    forms: Callable = lambda panel, state: {}

    @property
    def template(self) -> str:
        return f"buckets/panels/{self.slug}.html"

    @property
    def url_name(self) -> str:
        return f"buckets:settings-{self.slug}"


def or_empty(read: Callable, *args):
    """A list setting's current value, [] when the provider says it is not configured."""
    try:
        return read(*args)
    except s3.S3Error as err:
        if err.not_configured:
            return []
        raise


def put_or_delete(panel, rules: list, put: Callable, delete: Callable) -> None:
    """Write a rule list back; with no rule left, delete the configuration
    (S3 refuses a configuration without rules)."""
    if rules:
        put(panel.endpoint, panel.bucket, rules)
    else:
        delete(panel.endpoint, panel.bucket)


def guarded_delete(panel, read: Callable, delete: Callable, *, quiet: bool = False) -> None:
    """Delete a setting only after reading that it exists.

    A gateway that does not know a subresource (`?tagging`, `?encryption` …)
    answers the GET with an object listing (which parses as empty) and takes
    the DELETE for DeleteBucket. Reading first turns that into "nothing to
    delete" instead of a lost bucket.
    """
    try:
        current = read(panel.endpoint, panel.bucket)
    except s3.S3Error as err:
        if not err.not_configured:
            raise
        current = None
    if not current:
        if quiet:
            return
        raise ValidationError(_("This setting is not configured; there is nothing to delete."))
    delete(panel.endpoint, panel.bucket)


def delete_action(action: str, message, read: Callable, delete: Callable) -> Action:
    """The action that removes a whole setting (guarded: see `guarded_delete`)."""
    return Action(
        lambda panel, data: Change(action, message, lambda: guarded_delete(panel, read, delete))
    )
