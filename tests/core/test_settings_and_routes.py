"""Profiles, the production check, the routing table and the AMQP broker."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from config.celery import app
from config.queues import STAGE_QUEUES, TASK_ROUTES

ROOT = Path(__file__).resolve().parents[2]


SECRET_ENV_VARS = ("DJANGO_SECRET_KEY", "PII_KEYS", "PII_ACTIVE_KEY_ID", "PII_HASH_KEY", "CHAIN_WALLET_MASTER_KEY")
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a" * 20 + "-production-secret-with-enough-entropy-9f8e7d6c5b4a",
    "DJANGO_ALLOWED_HOSTS": "leads.example.com",
    "METRICS_TOKEN": "token",
    "PII_KEYS": "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "PII_ACTIVE_KEY_ID": "k1",
    "PII_HASH_KEY": "production-hash-key",
    "CHAIN_WALLET_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}


def _clean_env() -> dict:
    """This process's environment without any setting a profile reads (the test profile put its
    test-only secrets into os.environ: a child must not inherit them)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_", "REDIS_", "PII_", "CHAIN_", "LEDGER_"))
        and k not in SECRET_ENV_VARS
    }


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**_clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**_clean_env(), **env}, capture_output=True, text=True, timeout=60
    )


def test_the_secret_list_matches_the_settings():
    from django.conf import settings

    assert tuple(settings.SECRET_ENV_VARS) == SECRET_ENV_VARS


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize("profile", ["services", "production"])
@pytest.mark.parametrize("name", SECRET_ENV_VARS)
def test_a_server_profile_refuses_to_start_without_each_secret_and_names_it(profile, name):
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": f"config.settings.{profile}"}
    for value in (None, ""):  # unset, or set but empty
        if value is None:
            env.pop(name)
        else:
            env[name] = value
        result = _python("from django.conf import settings; settings.SECRET_KEY", env)
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr and f"Environment variable {name} is required" in result.stderr


def test_the_services_profile_starts_with_every_secret_given():
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings.services"}
    result = _python("from django.conf import settings; print(settings.PII_ACTIVE_KEY_ID)", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "k1"


def test_production_pins_the_faucet_and_debug_off_whatever_the_environment_says():
    env = {**PRODUCTION_ENV, "LEDGER_FAUCET_ENABLED": "true", "DJANGO_DEBUG": "true"}
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from escrow.views.wallet import faucet_enabled; "
        "print(s.LEDGER_FAUCET_ENABLED, s.DEBUG, faucet_enabled())"
    )
    result = _python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False"]


def test_the_embedded_profile_falls_back_to_development_secrets(tmp_path):
    code = "from django.conf import settings as s; print(s.PII_ACTIVE_KEY_ID, bool(s.SECRET_KEY))"
    result = _python(
        code, {"DJANGO_SETTINGS_MODULE": "config.settings.embedded", "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dev1", "True"]


def test_the_test_profile_uses_its_own_test_only_secrets(settings):
    assert settings.PII_ACTIVE_KEY_ID == "test1" and settings.SECRET_KEY.startswith("test-only-")
    assert "dev1:" not in settings.PII_KEYS


def test_embedded_profile_needs_no_servers(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings.embedded",
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
    ]


def test_every_stage_has_a_queue_and_every_task_a_route():
    queues = {q.name for q in app.conf.task_queues}
    assert set(STAGE_QUEUES) <= queues
    assert {
        "leads.ingest",
        "leads.score",
        "auctions.open",
        "auctions.close",
        "escrow.settle",
        "chain.mint",
        "chain.tx",
        "bounties.match",
        "notify",
        "analytics",
        "integrations.deliver",
    } == set(STAGE_QUEUES)
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith(("celery.", "tests."))]
    assert ours, "no project tasks registered"
    missing = [name for name in ours if name not in TASK_ROUTES]
    assert not missing, f"tasks without a route in config/queues.py: {missing}"
    for name in ours:
        task = app.tasks[name]
        assert task.acks_late and task.reject_on_worker_lost and task.max_retries == 3, name


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_rabbitmq_broker_url_works_too(django_db_setup, tmp_path, monkeypatch):
    """The services profile also runs on RabbitMQ: a real worker round trip over AMQP."""
    from celery import Celery
    from django.conf import settings
    from django.db import connection

    from config.queues import CELERY_TASK_QUEUES
    from tests.workers import WorkerProcess

    amqp = "amqp://guest:guest@127.0.0.1:5672//"
    monkeypatch.setenv("CELERY_BROKER_URL", amqp)  # Celery lets this variable win over any config
    client = Celery("amqp-client", broker=amqp, backend=settings.CELERY_RESULT_BACKEND)
    worker = WorkerProcess(
        connection.settings_dict["NAME"],
        tmp_path,
        concurrency=1,
        extra_env={"CELERY_BROKER_URL": amqp},
        control_app=client,
    )
    try:
        # A message a previous run's worker held when it stopped would otherwise come back now.
        with client.connection_for_write() as conn:
            for queue in CELERY_TASK_QUEUES:
                queue(conn.default_channel).declare()
                queue(conn.default_channel).purge()
        worker.start()
        key = f"amqp-{uuid.uuid4().hex}"
        result = client.send_task("tests.flaky", kwargs={"key": key, "failures": 1}, queue="default")
        assert result.get(timeout=60) == 2  # retried once over AMQP, then succeeded
    finally:
        worker.stop()
        client.close()


def test_a_task_lands_in_its_own_stage_queue_only(monkeypatch, settings):
    import redis
    from celery import Celery

    from config.queues import CELERY_TASK_QUEUES, CELERY_TASK_ROUTES

    url = settings.TEST_SPARE_REDIS_URL  # a broker no worker listens to
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    r = redis.Redis.from_url(url)
    r.flushdb()
    probe = Celery("route-probe", broker=url)
    probe.conf.task_queues, probe.conf.task_routes = CELERY_TASK_QUEUES, CELERY_TASK_ROUTES
    try:
        probe.send_task("notify.send_welcome_email", kwargs={"user_id": 0})
        lengths = {q.name: r.llen(q.name) for q in CELERY_TASK_QUEUES}
    finally:
        probe.close()
        r.flushdb()
    assert lengths == {name: int(name == "notify") for name in lengths}


def test_procfile_worker_groups_consume_every_queue():
    from config.queues import WORKER_GROUPS

    lines = (ROOT / "Procfile").read_text().splitlines()
    consumed = set()
    for line in lines:
        if " worker " in line:
            consumed |= set(line.split(" -Q ", 1)[1].split()[0].split(","))
    assert consumed == {q.name for q in app.conf.task_queues}
    assert consumed == {q for group in WORKER_GROUPS.values() for q in group}
    assert any(line.startswith("beat:") for line in lines)
    assert any(line.startswith("web: gunicorn config.wsgi:application") for line in lines)
    assert any(line.startswith("ws: uvicorn config.asgi:application") for line in lines)
