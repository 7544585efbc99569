from __future__ import annotations

from celery import shared_task

from console import jobs


@shared_task(name="console.sweep_jobs", ignore_result=True)
def sweep_jobs() -> int:
    """Beat runs this every JOB_SWEEP_SECONDS: jobs of lost workers are queued again."""
    return jobs.sweep()
