"""Writable vertical-by-slug fields refuse impossible slugs with a field error, never a 500."""

import pytest
from rest_framework.test import APIClient

from tests.api_errors import error_fields
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/bounties/", "/api/v1/autobid-rules/", "/api/v1/asks/"])
@pytest.mark.parametrize("slug", ["\x00", "solar\x00", "a" * 500, "../solar", "sol ar"])
def test_an_impossible_vertical_slug_is_a_field_error(path, slug):
    client = APIClient()
    client.force_authenticate(UserFactory(is_buyer=True, is_seller=True))
    response = client.post(path, {"vertical": slug, "name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 400, response.content[:300]
    assert "vertical" in error_fields(response)
