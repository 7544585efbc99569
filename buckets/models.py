from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from console.models import Endpoint, Job


class Insight(models.Model):
    """The result of a finished insights run over a bucket, or a prefix of it
    ("" for the whole bucket); the last few per bucket and prefix are kept."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="insights")
    bucket = models.CharField(max_length=255)
    prefix = models.CharField(max_length=1024, blank=True)
    job = models.OneToOneField(Job, on_delete=models.SET_NULL, null=True, related_name="insight")
    finished_at = models.DateTimeField()
    # Current objects, and the bytes of every stored version.
    object_count = models.BigIntegerField(_("objects"))
    bytes = models.BigIntegerField(_("bytes"))
    result = models.JSONField()

    class Meta:
        ordering = ["-finished_at"]
        indexes = [models.Index(fields=["endpoint", "bucket", "prefix", "-finished_at"])]

    def __str__(self) -> str:
        return f"{self.bucket}/{self.prefix} at {self.finished_at:%Y-%m-%d %H:%M}"
