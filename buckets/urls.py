from django.urls import path

from buckets import views
from buckets.panels import PANELS

app_name = "buckets"
urlpatterns = [
    path("", views.bucket_list, name="list"),
    path("new/", views.bucket_create, name="create"),
    path("b/<str:bucket>/delete/", views.bucket_delete, name="delete"),
    path("b/<str:bucket>/settings/", views.bucket_settings, name="settings"),
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
