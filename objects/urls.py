from django.urls import path

from objects import (
    browse,
    bulk_views,
    changes,
    copy_views,
    detail,
    download,
    restore_views,
    share,
    upload_views,
    versions,
)

app_name = "objects"
urlpatterns = [
    path("b/<str:bucket>/", browse.browse, name="browse"),
    path("b/<str:bucket>/jump/", browse.jump, name="jump"),
    path("b/<str:bucket>/object/", detail.detail, name="detail"),
    path("b/<str:bucket>/download/", download.download, name="download"),
    path("b/<str:bucket>/preview/", download.preview, name="preview"),
    path("b/<str:bucket>/share/", share.share, name="share"),
    path("b/<str:bucket>/share/post/", share.share_post, name="share_post"),
    path("b/<str:bucket>/folder/", changes.folder_create, name="folder_create"),
    path("b/<str:bucket>/object/delete/", changes.delete, name="delete"),
    path("b/<str:bucket>/copy/", changes.copy, name="copy"),
    path("b/<str:bucket>/metadata/", changes.metadata, name="metadata"),
    path("b/<str:bucket>/storage-class/", changes.storage_class, name="storage_class"),
    path("b/<str:bucket>/tags/", changes.tags, name="tags"),
    path("b/<str:bucket>/acl/", changes.acl, name="acl"),
    path("b/<str:bucket>/bulk-delete/", bulk_views.bulk_delete, name="bulk_delete"),
    path("b/<str:bucket>/copy-job/", copy_views.copy_job, name="copy_job"),
    path("b/<str:bucket>/copy-job/buckets/", copy_views.dest_buckets, name="dest_buckets"),
    path("b/<str:bucket>/restore/", restore_views.restore, name="restore"),
    path("b/<str:bucket>/versions/", versions.versions, name="versions"),
    path("b/<str:bucket>/versions/restore/", versions.version_restore, name="version_restore"),
    path("b/<str:bucket>/multipart/", versions.multipart, name="multipart"),
    path("b/<str:bucket>/multipart/parts/", versions.multipart_parts, name="multipart_parts"),
    path("b/<str:bucket>/multipart/abort/", versions.multipart_abort, name="multipart_abort"),
    path("b/<str:bucket>/multipart/abort-older/", bulk_views.abort_older, name="abort_older"),
    # Uploads: the upload page and the chunk API the upload module uses.
    path("b/<str:bucket>/upload/", upload_views.upload_page, name="upload"),
    path("b/<str:bucket>/uploads/", upload_views.upload_create, name="upload_create"),
    path(
        "b/<str:bucket>/uploads/<uuid:job>/chunks/<int:number>",
        upload_views.upload_chunk,
        name="upload_chunk",
    ),
    path(
        "b/<str:bucket>/uploads/<uuid:job>/complete/",
        upload_views.upload_complete,
        name="upload_complete",
    ),
]
