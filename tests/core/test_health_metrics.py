import uuid

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
    assert body["checks"]["channel_layer"]["backend"] == "LiveChannelLayer"


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_worker_task_timings_reach_metrics_in_multiprocess_mode(tmp_path, django_db_setup):
    from django.db import connection

    from core.metrics import exposition
    from tests import pipeline_tasks
    from tests.workers import WorkerProcess

    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    # Its own queue: the session's worker cannot take the task instead.
    worker = WorkerProcess(
        connection.settings_dict["NAME"],
        tmp_path,
        concurrency=1,
        queues=["metrics-probe"],
        extra_env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
    )
    worker.start()
    try:
        result = pipeline_tasks.flaky.apply_async(
            kwargs={"key": f"m-{uuid.uuid4().hex}", "failures": 0}, queue="metrics-probe"
        )
        assert result.get(timeout=60) == 1
        from tests.conftest import wait_for

        # The timing is recorded in task_postrun, just after the result is stored.
        line = 'leadengine_task_duration_seconds_count{outcome="success",task="tests.flaky"} 1.0'
        wait_for(lambda: line in exposition(str(metrics_dir)).decode(), timeout=30, message="the worker's timing")
    finally:
        worker.stop()


def test_a_process_file_caught_before_it_is_sized_does_not_break_the_scrape(tmp_path):
    """A process creates its metrics file, then sizes it: a scrape in between found a 0-byte file
    and failed whole (prometheus/client_python#1199). It is skipped; the others are merged."""
    import os
    import subprocess
    import sys

    from core.metrics import exposition

    write = (
        "from prometheus_client import CollectorRegistry, Counter; "
        "Counter('probe_total', 'probe', registry=CollectorRegistry()).inc(3)"
    )
    subprocess.run(
        [sys.executable, "-c", write], env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}, check=True
    )
    (tmp_path / "gauge_livesum_999999.db").write_bytes(b"")  # a process caught before sizing its file
    assert "probe_total 3.0" in exposition(str(tmp_path)).decode()


def test_api_key_authentications_are_counted(api_client, client):
    api_client.get("/api/v1/me/")
    body = client.get("/metrics").content.decode()
    assert 'leadengine_api_key_auth_total{outcome="ok"}' in body


def test_healthz_is_rate_limited_per_ip(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "healthz": "2/60s"}
    for _ in range(2):
        assert client.get("/healthz").status_code in (200, 503)
    response = client.get("/healthz")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
