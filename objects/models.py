"""What upload and restore jobs record beyond their Job row.

An `Upload` holds the object's key, size, chunk size, options and the multipart
upload id; one `UploadChunk` row per chunk the browser has delivered holds its
size and digest, and the ETag once the worker has stored it as a part. Together
they are everything a restarted worker needs to carry on.

A restore job keeps one `RestoreItem` per object it found: what became of its
RestoreObject request, and what the object's Restore header said at the last check.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from console.models import Job


class Upload(models.Model):
    job = models.OneToOneField(Job, on_delete=models.CASCADE, related_name="upload")
    key = models.TextField()
    size = models.BigIntegerField()
    chunk_size = models.BigIntegerField()
    # Content type, storage class, ACL, headers, metadata and tags, as chosen.
    options = models.JSONField(default=dict, blank=True)
    upload_id = models.TextField(blank=True)
    # What the browser knows of the file besides its name and size (its
    # modification time): choosing the same file again resumes this upload.
    fingerprint = models.CharField(max_length=100, blank=True)
    # Set when the browser says it has sent its last chunk.
    sealed = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.key

    @property
    def chunk_count(self) -> int:
        return max(1, -(-self.size // self.chunk_size))

    @property
    def single_request(self) -> bool:
        return self.size <= settings.UPLOAD_SINGLE_REQUEST_MAX

    @property
    def staging_dir(self) -> Path:
        """Where the browser's chunks wait for the worker (shared by web and workers)."""
        return Path(settings.STAGING_DIR) / str(self.job.code)

    def chunk_path(self, number: int) -> Path:
        return self.staging_dir / str(number)

    def chunk_length(self, number: int) -> int:
        """The exact byte count chunk `number` (1-based) must have."""
        if number < self.chunk_count:
            return self.chunk_size
        return self.size - (self.chunk_count - 1) * self.chunk_size


class UploadChunk(models.Model):
    upload = models.ForeignKey(Upload, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    size = models.BigIntegerField()
    md5 = models.CharField(max_length=32)
    # Empty until the part is stored in the bucket.
    etag = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "number"], name="upload_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"{self.upload_id}#{self.number}"


class RestoreItem(models.Model):
    """One object of a restore job and where its restore stands."""

    class State(models.TextChoices):
        # RestoreObject was accepted; no check has seen the restore under way yet.
        REQUESTED = "requested", _("requested")
        IN_PROGRESS = "in_progress", _("restore in progress")
        RESTORED = "restored", _("restored")
        # Not in an archive storage class: readable as it is, nothing to restore.
        SKIPPED = "skipped", _("skipped (not archived)")
        FAILED = "failed", _("failed")

    # The states the job's checks still ask about.
    PENDING = (State.REQUESTED, State.IN_PROGRESS)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="restore_items")
    key = models.TextField()
    version_id = models.CharField(max_length=1024, blank=True)
    state = models.CharField(max_length=12, choices=State.choices)
    # Until when the restored copy stays readable (the Restore header's expiry-date).
    expires_at = models.DateTimeField(null=True, blank=True)
    # Why an item failed or was skipped: the S3 error code and the message in words.
    code = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "key", "version_id"], name="restore_item_unique")
        ]
        indexes = [models.Index(fields=["job", "state"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
