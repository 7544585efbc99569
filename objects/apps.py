from django.apps import AppConfig


class ObjectsConfig(AppConfig):
    name = "objects"

    def ready(self) -> None:
        from console import jobs
        from console.models import Job
        from objects import bulk, copy, restore
        from objects.tasks import UploadRunner, discard_job, run_upload

        jobs.register(Job.Kind.UPLOAD, UploadRunner, task=run_upload.name, cancel=discard_job)
        bulk.register()
        copy.register()
        restore.register()
