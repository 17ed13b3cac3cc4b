"""The project's URLs plus this app's, until config/urls.py includes them (see the report)."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("api/v1/", include("auctions.api.urls")),
    path("", include("auctions.urls")),
    *project_urlpatterns,
]
