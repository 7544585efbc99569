"""Register the local demo S3 endpoint as "Local demo" and give it a sample bucket."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from console import s3
from console.models import Endpoint


class Command(BaseCommand):
    help = "Register a local S3-compatible endpoint as 'Local demo' with a sample bucket."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:9000")
        parser.add_argument("--access-key", default="demo")
        parser.add_argument("--secret-key", default="demo-secret-key")
        parser.add_argument("--bucket", default="sample-bucket")
        parser.add_argument(
            "--in-memory",
            action="store_true",
            help="The server keeps its data in memory only (the console's pages then say so).",
        )

    def handle(self, *args, url, access_key, secret_key, bucket, in_memory, **options):
        endpoint, created = Endpoint.objects.get_or_create(
            name="Local demo",
            defaults={
                "provider": "other",
                "endpoint_url": url,
                "region": "us-east-1",
                "addressing_style": "path",
                "access_key_id": access_key,
            },
        )
        endpoint.endpoint_url = url
        endpoint.in_memory = in_memory
        endpoint.set_secret_key(secret_key)
        endpoint.save()
        s3.forget(endpoint)
        client = s3.client_for(endpoint)
        with s3.s3_errors():
            names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if bucket not in names:
                client.create_bucket(Bucket=bucket)
                client.put_object(
                    Bucket=bucket,
                    Key="README.txt",
                    Body=b"Welcome to the bucket console demo endpoint.\n",
                    ContentType="text/plain",
                )
                client.put_object(Bucket=bucket, Key="photos/", Body=b"")
        verb = "Registered" if created else "Updated"
        self.stdout.write(f"{verb} endpoint 'Local demo' at {url} with bucket {bucket!r}.")
