from django.urls import path

from buckets import views

app_name = "buckets"
urlpatterns = [
    path("", views.bucket_list, name="list"),
]
