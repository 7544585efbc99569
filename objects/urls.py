from django.urls import path

from objects import views

app_name = "objects"
urlpatterns = [
    path("b/<str:bucket>/", views.browse, name="browse"),
]

# Uploads (SPEC O6, J2): the upload page and the chunk API the upload module uses.
from objects import uploads  # noqa: E402

urlpatterns += [
    path("b/<str:bucket>/upload/", uploads.upload_page, name="upload"),
    path("b/<str:bucket>/uploads/", uploads.upload_create, name="upload_create"),
    path(
        "b/<str:bucket>/uploads/<uuid:job>/chunks/<int:number>",
        uploads.upload_chunk,
        name="upload_chunk",
    ),
    path(
        "b/<str:bucket>/uploads/<uuid:job>/complete/",
        uploads.upload_complete,
        name="upload_complete",
    ),
]
