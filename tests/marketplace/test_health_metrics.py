import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(databases=["default", "replica"])
def test_healthz_checks_every_service(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database:default", "database:replica", "cache", "broker", "channel_layer"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["channel_layer"]["backend"] == "RedisChannelLayer"


@pytest.mark.django_db(databases=["default", "replica"])
def test_healthz_reports_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_metrics_expose_django_and_leadengine_registries(client):
    client.get("/healthz")
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_total_by_method_total" in body
    assert "leadengine_task_duration_seconds" in body


@override_settings(METRICS_PUBLIC=False, METRICS_TOKEN="s3cret-token")
def test_metrics_are_private_in_production_mode(client, staff):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    client.force_login(staff)
    assert client.get("/metrics").status_code == 200


def test_openapi_schema_and_docs_are_served(client, user):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "/api/v1/verticals/{slug}/" in text and "ApiKeyAuth" in text
    assert client.get("/api/docs/").status_code == 200
