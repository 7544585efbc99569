from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from console import views

# An outage of the database or Redis is a 503 in words (console.outage).
handler500 = "console.outage.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", views.login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
    # The words of the upload module, in the page's language.
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["console"]), name="javascript_catalog"),
    path("endpoints/add/", views.endpoint_add, name="endpoint_add"),
    path("endpoints/<uuid:code>/", views.endpoint_detail, name="endpoint_detail"),
    path("endpoints/<uuid:code>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<uuid:code>/test/", views.endpoint_test, name="endpoint_test"),
    path("endpoints/<uuid:code>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("endpoints/<uuid:code>/grants/", views.grant_add, name="grant_add"),
    path(
        "endpoints/<uuid:code>/grants/<int:grant_id>/delete/",
        views.grant_delete,
        name="grant_delete",
    ),
    path("audit/", views.audit_log, name="audit"),
    path("audit.csv", views.audit_csv, name="audit_csv"),
    path("admin/", admin.site.urls),
    path("e/<uuid:code>/", include("buckets.urls")),
    path("e/<uuid:code>/", include("objects.urls")),
]

# Jobs.
from console import job_views  # noqa: E402

urlpatterns += [
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/notice/", job_views.job_notice, name="job_notice"),
    path("jobs/<uuid:code>/", job_views.job_detail, name="job_detail"),
    path("jobs/<uuid:code>/pause/", job_views.job_pause, name="job_pause"),
    path("jobs/<uuid:code>/resume/", job_views.job_resume, name="job_resume"),
    path("jobs/<uuid:code>/cancel/", job_views.job_cancel, name="job_cancel"),
    path("jobs/<uuid:code>/retry/", job_views.job_retry, name="job_retry"),
    path("jobs/<uuid:code>/errors.csv", job_views.job_errors_csv, name="job_errors_csv"),
]
