from django.urls import path

from objects import views

app_name = "objects"
urlpatterns = [
    path("b/<str:bucket>/", views.browse, name="browse"),
]
