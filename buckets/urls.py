from django.urls import path

from buckets import insight_views, views
from buckets.panels import PANELS

app_name = "buckets"
urlpatterns = [
    path("", views.bucket_list, name="list"),
    path("new/", views.bucket_create, name="create"),
    path("b/<str:bucket>/delete/", views.bucket_delete, name="delete"),
    path("b/<str:bucket>/settings/", views.bucket_settings, name="settings"),
    path("b/<str:bucket>/insights/", insight_views.insights_page, name="insights"),
    path("b/<str:bucket>/insights/<int:pk>.csv", insight_views.insights_csv, name="insights_csv"),
    path(
        "b/<str:bucket>/insights/<int:pk>.json",
        insight_views.insights_json,
        name="insights_json",
    ),
] + [
    # One URL per settings panel: GET reads it, POST changes it.
    path(
        f"b/<str:bucket>/settings/{slug}/",
        views.bucket_settings_panel,
        {"slug": slug},
        name=f"settings-{slug}",
    )
    for slug in PANELS
]
