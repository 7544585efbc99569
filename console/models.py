from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from console import crypto
from console.providers import Addressing, Provider, preset_for


def current_language() -> str:
    """The language active where a row is made (the request's, in a view)."""
    return translation.get_language() or settings.LANGUAGE_CODE


class Level(models.IntegerChoices):
    """What a grant allows; a higher level includes everything below it."""

    VIEWER = 10, _("Viewer")
    OPERATOR = 20, _("Operator")
    MANAGER = 30, _("Manager")


class Endpoint(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.OTHER)
    # Empty means the provider's default (AWS).
    endpoint_url = models.CharField(max_length=300, blank=True)
    region = models.CharField(max_length=64, blank=True)
    addressing_style = models.CharField(
        max_length=10, choices=Addressing.choices, default=Addressing.AUTO
    )
    internal = models.BooleanField(
        default=False, help_text=_("Use the provider's internal (VPC) endpoint.")
    )
    verify_tls = models.BooleanField(default=True)
    ca_bundle = models.TextField(blank=True, help_text=_("PEM certificates to trust."))
    # When browsers cannot reach the endpoint, downloads stream through the console.
    browser_reachable = models.BooleanField(default=True)
    # Presigned URLs leave the console and carry the endpoint's session token, if
    # it has one; with this off none is made, and downloads stream through us.
    share_links = models.BooleanField(
        default=True,
        help_text=_(
            "When off, nobody can make share links or upload forms for this endpoint, "
            "and downloads stream through the console."
        ),
    )
    access_key_id = models.CharField(max_length=200)
    # Ciphertext only; see console/crypto.py. Never rendered, logged or audited.
    secret_key_encrypted = models.TextField()
    session_token_encrypted = models.TextField(blank=True)
    session_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by `manage.py setup_demo --in-memory` for the demo S3 server bin/run starts,
    # which loses every bucket and object when it stops: the endpoint's pages say so,
    # since its jobs and audit entries outlive what they did.
    in_memory = models.BooleanField(default=False, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("buckets:list", args=[self.code])

    @property
    def preset(self):
        return preset_for(self.provider)

    # Secrets: write with the setters, read only where a client is built.
    def set_secret_key(self, value: str) -> None:
        self.secret_key_encrypted = crypto.encrypt(value)

    def set_session_token(self, value: str) -> None:
        self.session_token_encrypted = crypto.encrypt(value)

    def secret_key(self) -> str:
        return crypto.decrypt(self.secret_key_encrypted)

    def session_token(self) -> str:
        return crypto.decrypt(self.session_token_encrypted)

    @property
    def has_session_token(self) -> bool:
        return bool(self.session_token_encrypted)

    @property
    def presigned_downloads(self) -> bool:
        """Whether a download may redirect the browser to a presigned URL."""
        return self.browser_reachable and self.share_links

    # Temporary credentials are warned about on every page of the endpoint from a
    # day before they expire, so that someone can fetch new ones in working hours.
    SESSION_WARNING = timedelta(hours=24)

    def session_state(self, now=None) -> str:
        """'', 'valid', 'expiring' (within SESSION_WARNING) or 'expired'."""
        if not self.has_session_token or not self.session_expires_at:
            return ""
        now = now or timezone.now()
        if self.session_expires_at <= now:
            return "expired"
        if self.session_expires_at - now <= self.SESSION_WARNING:
            return "expiring"
        return "valid"


class Grant(models.Model):
    """Access to one endpoint for one user or one group, at a level."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE)
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(group__isnull=True))
                | (Q(user__isnull=True) & Q(group__isnull=False)),
                name="grant_user_xor_group",
            ),
            models.UniqueConstraint(fields=["endpoint", "user"], name="grant_unique_user"),
            models.UniqueConstraint(fields=["endpoint", "group"], name="grant_unique_group"),
        ]

    def __str__(self) -> str:
        who = self.user or self.group
        return f"{who} → {self.endpoint} ({self.get_level_display()})"

    @property
    def grantee(self) -> str:
        if self.user_id:
            return self.user.get_username()
        return _("group %(name)s") % {"name": self.group.name}


class AuditEntry(models.Model):
    class Outcome(models.TextChoices):
        OK = "ok", _("Succeeded")
        FAILED = "failed", _("Failed")
        STARTED = "started", _("Started")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept as text too, so the record survives the user or endpoint being deleted.
    username = models.CharField(max_length=150, blank=True, db_index=True)
    endpoint = models.ForeignKey(
        Endpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint_name = models.CharField(max_length=100, blank=True, db_index=True)
    bucket = models.CharField(max_length=255, blank=True, db_index=True)
    key = models.TextField(blank=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    request_id = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    # What each action is called on the audit page; the code itself stays beside it.
    ACTIONS = {
        "endpoint.create": _("Endpoint added"),
        "endpoint.update": _("Endpoint changed"),
        "endpoint.delete": _("Endpoint deleted"),
        "endpoint.test": _("Connection tested"),
        "grant.set": _("Access granted"),
        "grant.revoke": _("Access revoked"),
        "bucket.create": _("Bucket created"),
        "bucket.delete": _("Bucket deleted"),
        "bucket.empty_and_delete": _("Bucket emptied and deleted"),
        "bucket.insights": _("Insights counted"),
        "bucket.acl": _("Bucket ACL set"),
        "bucket.acl.grant": _("Bucket ACL grant added"),
        "bucket.acl.revoke": _("Bucket ACL grant revoked"),
        "bucket.cors.remove": _("CORS rule removed"),
        "bucket.cors.delete": _("CORS rules deleted"),
        "bucket.encryption.delete": _("Default encryption removed"),
        "bucket.lifecycle.remove": _("Lifecycle rule removed"),
        "bucket.lifecycle.delete": _("Lifecycle rules deleted"),
        "bucket.logging.disable": _("Access logging turned off"),
        "bucket.policy.delete": _("Bucket policy deleted"),
        "bucket.tagging.delete": _("Bucket tags deleted"),
        "bucket.website.delete": _("Static website deleted"),
        "bucket.cors": _("CORS rules set"),
        "bucket.encryption": _("Default encryption set"),
        "bucket.lifecycle": _("Lifecycle rules set"),
        "bucket.logging": _("Access logging set"),
        "bucket.object_lock": _("Object lock retention set"),
        "bucket.policy": _("Bucket policy set"),
        "bucket.tagging": _("Bucket tags set"),
        "bucket.versioning": _("Versioning set"),
        "bucket.website": _("Static website set"),
        "object.upload": _("Upload"),
        "object.delete": _("Object deleted"),
        "object.bulk_delete": _("Bulk delete"),
        "object.count": _("Count (dry run)"),
        "object.copy": _("Copy"),
        "object.move": _("Move"),
        "object.restore": _("Restore"),
        "object.folder_create": _("Folder created"),
        "object.metadata": _("Metadata changed"),
        "object.storage_class": _("Storage class changed"),
        "object.tags": _("Object tags set"),
        "object.acl": _("Object ACL set"),
        "object.share": _("Share link made"),
        "object.share_post": _("Upload form made"),
        "object.version_delete": _("Version deleted"),
        "object.version_restore": _("Version restored"),
        "multipart.abort": _("Multipart upload aborted"),
        "multipart.abort_older": _("Old multipart uploads aborted"),
        "job.pause": _("Job paused"),
        "job.resume": _("Job resumed"),
        "job.cancel": _("Job canceled"),
        "job.retry_failed": _("Failed items retried"),
    }

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.outcome}"

    @property
    def action_label(self) -> str:
        label = self.ACTIONS.get(self.action)
        if label is None and self.action.endswith(".cancel"):
            # A job canceled halfway is recorded under its kind's action.
            started = self.ACTIONS.get(self.action.removesuffix(".cancel"))
            label = _("%(action)s, canceled") % {"action": started} if started else None
        return label or ""


class Job(models.Model):
    """One piece of long work. Its Celery task updates this row; pages poll it."""

    class Kind(models.TextChoices):
        UPLOAD = "upload", _("Upload")
        DELETE = "delete", _("Bulk delete")
        RESTORE = "restore", _("Restore")
        COPY = "copy", _("Copy / move")
        EMPTY_BUCKET = "empty_bucket", _("Empty bucket")
        ABORT_UPLOADS = "abort_uploads", _("Abort incomplete uploads")
        COUNT = "count", _("Count (dry run)")
        INSIGHTS = "insights", _("Insights")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        # Waiting for something outside the console (a browser's next chunk):
        # no worker holds the job; the event queues it again (`waiting_for` says which).
        WAITING = "waiting", _("Waiting")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partially failed")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    FINISHED_STATES = (State.SUCCEEDED, State.PARTIAL, State.FAILED, State.CANCELED)
    # A worker that holds a job writes its heartbeat about once a second, even
    # while it waits; one this late has most likely died (the sweep hands the job
    # to another worker once JOB_STALE_SECONDS have passed).
    HEARTBEAT_LATE_SECONDS = 10

    class Control(models.TextChoices):
        NONE = "", _("None")
        PAUSE = "pause", _("Pause requested")
        CANCEL = "cancel", _("Cancel requested")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    control = models.CharField(max_length=10, choices=Control.choices, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="jobs")
    bucket = models.CharField(max_length=255)
    # What the job acts on, in words for the job list (a key, a prefix, "3 objects").
    target = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    items_total = models.BigIntegerField(null=True, blank=True)
    items_done = models.BigIntegerField(default=0)
    items_failed = models.BigIntegerField(default=0)
    bytes_total = models.BigIntegerField(null=True, blank=True)
    bytes_done = models.BigIntegerField(default=0)
    speed = models.FloatField(default=0, help_text=_("bytes or items per second"))
    error = models.TextField(blank=True)
    # What a waiting job waits for (WAITING_TEXTS); the event that ends the wait
    # queues it again. Empty in every other state.
    waiting_for = models.CharField(max_length=20, blank=True)
    # Run 1, then one more for each retry of the failed items; errors say in
    # which run they happened, so a retry knows exactly which items to redo.
    attempt = models.PositiveIntegerField(default=1)
    task_id = models.CharField(max_length=64, blank=True)
    # The language of the person who started the job: its worker writes the job's
    # sentences (its outcome, each item's error) in that language.
    language = models.CharField(max_length=15, blank=True, default=current_language)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    # What a person may do with the job: the card shows these buttons and the
    # actions refuse what they do not allow.

    @property
    def can_pause(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING, self.State.WAITING) and (
            self.control != self.Control.PAUSE
        )

    @property
    def can_resume(self) -> bool:
        return self.state == self.State.PAUSED or self.control == self.Control.PAUSE

    @property
    def can_cancel(self) -> bool:
        return not self.finished

    @property
    def can_retry(self) -> bool:
        return self.state in (self.State.FAILED, self.State.PARTIAL)

    @property
    def current_errors(self):
        """The errors of the latest run (earlier runs' are kept, for the record)."""
        return self.errors.filter(attempt=self.attempt)

    @property
    def percent(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        if self.bytes_total:
            return min(100, int(self.bytes_done * 100 / self.bytes_total))
        if self.items_total:
            return min(100, int((self.items_done + self.items_failed) * 100 / self.items_total))
        return 0

    @property
    def waiting_since(self):
        """When a job that should be running was last seen in a worker's hands.

        None while a live worker holds it (or it is paused or finished). A queued
        job waits from when it was queued; a running one whose worker stopped
        beating waits from its last heartbeat.
        """
        if self.state == self.State.QUEUED:
            return self.heartbeat_at or self.created_at
        if self.state == self.State.RUNNING:
            last = self.heartbeat_at or self.started_at or self.created_at
            late = timezone.now() - timedelta(seconds=self.HEARTBEAT_LATE_SECONDS)
            if last is None or last < late:
                return last
        return None

    # What a waiting job's card says; "%(at)s" is the next scheduled check (`next_check`).
    WAITING_TEXTS = {
        "browser": _(
            "Waiting for the browser to send more of the file. No worker is held meanwhile; "
            "the next chunk sets the job going again."
        ),
        "restore": _(
            "Waiting for the provider to restore the objects; next check at %(at)s. "
            "No worker is held meanwhile."
        ),
    }

    @property
    def next_check(self):
        """When a schedule queues this waiting job again (`params["next_check"]`), if set."""
        value = (self.params or {}).get("next_check")
        try:
            return parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            return None

    @property
    def waiting_text(self) -> str:
        if self.state != self.State.WAITING:
            return ""
        text = self.WAITING_TEXTS.get(self.waiting_for, _("Waiting."))
        if "%(at)s" in str(text):
            at = self.next_check
            when = "…"
            if at is not None:
                at = timezone.localtime(at)
                same_day = at.date() == timezone.localdate()
                when = date_format(at, "H:i" if same_day else "Y-m-d H:i")
            text = text % {"at": when}
        return text

    @property
    def moving(self) -> bool:
        """A live worker holds the job and it is making progress now."""
        return self.state == self.State.RUNNING and self.speed > 0 and not self.waiting_since

    @property
    def eta_seconds(self) -> int | None:
        """Seconds left at the current speed, when both are known."""
        if not self.moving:
            return None
        if self.bytes_total:
            return int(max(0, self.bytes_total - self.bytes_done) / self.speed)
        return None

    @property
    def eta_text(self) -> str:
        """The time left in words a person reads at a glance (about 5 h 7 min)."""
        seconds = self.eta_seconds
        if seconds is None:
            return ""
        if seconds < 60:
            return _("%(n)d s") % {"n": seconds}
        if seconds < 3600:
            return _("%(n)d min") % {"n": round(seconds / 60)}
        hours, rest = divmod(seconds, 3600)
        return _("%(h)d h %(m)d min") % {"h": hours, "m": rest // 60}


class JobError(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="errors")
    key = models.TextField(blank=True)
    # The version (or upload id) the error is about, when the item is one.
    version_id = models.CharField(max_length=1024, blank=True)
    code = models.CharField(max_length=100, blank=True)
    message = models.TextField()
    request_id = models.CharField(max_length=200, blank=True)
    # The job's run in which the item failed (see Job.attempt).
    attempt = models.PositiveIntegerField(default=1)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.key}: {self.code} {self.message}"


class JobBatch(models.Model):
    """A unit of work a job handed to the endpoint whose answer it has not recorded.

    A kind writes the batch before it sends the request and deletes it, in the
    transaction that counts the answer, after: a task that starts again after its
    worker died sends the batches it finds once more, so nothing sent is lost
    from the counts (a key already deleted counts as deleted).
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="batches")
    items = models.JSONField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"batch {self.pk} of job {self.job_id} ({len(self.items)} items)"
