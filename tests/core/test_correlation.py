"""A request's correlation id reaches its response, its log lines and its tasks' log lines."""

import json
import logging

import pytest
from django.urls import reverse

from accounts.models import User
from core.logging import JsonFormatter
from tests import pipeline_tasks
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db


def test_request_id_is_echoed_or_made():
    from django.test import Client

    client = Client()
    given = client.get("/healthz", HTTP_X_REQUEST_ID="req-abc.123")
    assert given["X-Request-ID"] == "req-abc.123"
    made = client.get("/healthz")
    assert len(made["X-Request-ID"]) == 32


def test_unsafe_request_id_is_replaced_not_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="evil\nInjected: yes")
    assert "\n" not in response["X-Request-ID"] and response["X-Request-ID"] != "evil"


def test_log_records_are_json_with_the_correlation_id(client, caplog):
    caplog.set_level(logging.INFO)
    client.post(
        reverse("signup"),
        {
            "email": "json@example.com",
            "password": "a-long-enough-passphrase",
            "time_zone": "UTC",
            "is_buyer": "on",
        },
        HTTP_X_REQUEST_ID="cid-signup-1",
    )
    records = [r for r in caplog.records if r.getMessage() == "user signed up"]
    assert records and records[0].correlation_id == "cid-signup-1"
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["correlation_id"] == "cid-signup-1" and line["level"] == "INFO" and "user_id" in line


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_correlation_id_follows_the_request_into_its_task_log_lines(client, celery_worker):
    response = client.post(
        reverse("signup"),
        {
            "email": "carried@example.com",
            "password": "a-long-enough-passphrase",
            "time_zone": "UTC",
            "is_seller": "on",
        },
        HTTP_X_REQUEST_ID="cid-carried-42",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "cid-carried-42"
    user = User.objects.get(email="carried@example.com")

    def task_lines():
        return [
            line
            for line in celery_worker.json_lines()
            if line.get("message") == "welcome email sent" and line.get("user_id") == user.pk
        ]

    lines = wait_for(task_lines, timeout=30, message="the welcome-email task's log line")
    assert lines[0]["correlation_id"] == "cid-carried-42"
    user.refresh_from_db()
    assert user.welcome_email_sent_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_task_sent_outside_a_request_gets_its_own_id(celery_worker):
    from core.redis import get_redis

    result = pipeline_tasks.log_correlation.apply_async(kwargs={"key": "standalone"})
    cid = result.get(timeout=30)
    assert cid and get_redis().get("cid:standalone").decode() == cid
