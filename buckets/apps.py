from django.apps import AppConfig


class BucketsConfig(AppConfig):
    name = "buckets"

    def ready(self) -> None:
        from buckets import insights

        insights.register()
