"""The site's URLs plus two views that fail unexpectedly: one under /api/, one a page."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from config.urls import urlpatterns as site_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def api_boom(request):
    raise RuntimeError("an unexpected failure in an API view")


def page_boom(request):
    raise RuntimeError("an unexpected failure in a page")


urlpatterns = [
    path("api/v1/boom/", api_boom),
    path("boom/", page_boom),
    *site_urlpatterns,
]
