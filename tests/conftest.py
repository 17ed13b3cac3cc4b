"""Suite-wide fixtures. The suite runs on the services profile against real PostgreSQL,
Redis, Celery workers and Chromium; `make test` starts what is missing."""

import time

import pytest
import redis as redis_lib
from django.conf import settings

from tests.factories import UserFactory
from tests.mail import smtp_inbox  # noqa: F401 - the fixture, for every test that sends email


def _require_services():
    """Fail loudly (never skip) when a service the suite needs is down."""
    try:
        redis_lib.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis_lib.RedisError as exc:
        pytest.exit(f"Redis is not reachable at {settings.REDIS_URL}: {exc}. Run `make test`.", returncode=3)


def pytest_sessionstart(session):
    _require_services()
    # A clean slate in the suite's own Redis databases (cache, broker, results, channels).
    for url in (
        settings.REDIS_URL,
        settings.CELERY_BROKER_URL,
        settings.CELERY_RESULT_BACKEND,
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"],
        settings.TEST_SPARE_REDIS_URL,
    ):
        redis_lib.Redis.from_url(url).flushdb()


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit windows and pins live in Redis and would leak between tests."""
    from django.core.cache import cache

    from core import ratelimit
    from core.localcache import clear_all_local
    from core.middleware import pins_forget
    from verticals import selectors as vertical_selectors

    cache.clear()
    clear_all_local()
    pins_forget()
    ratelimit._local.clear()
    vertical_selectors._PUBLIC_SLUGS = (float("-inf"), frozenset())  # each test builds its own verticals
    yield


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def buyer(db):
    return UserFactory(is_buyer=True)


@pytest.fixture
def seller(db):
    return UserFactory(is_seller=True)


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def api_key(user):
    from accounts.services import api_key_create

    return api_key_create(user=user, name="tests")


@pytest.fixture
def api_client(api_key):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key.secret}")
    return client


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = "condition"):
    """Poll until predicate() is truthy (bounded; for other processes, not for the clock)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real worker process for the session, consuming every pipeline queue.

    Tests that use it must be `django_db(transaction=True)`: the worker only sees committed rows.
    """
    from django.db import connection

    from tests.workers import WorkerProcess

    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
    worker = WorkerProcess(name, tmp_path_factory.mktemp("workers")).start()
    yield worker
    worker.stop()


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API leaves an event loop on the main thread,
    which would break later tests that call asyncio.run()."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture
def eager_tasks():
    """Run tasks in process (as the embedded profile does) for tests that do not need a worker."""
    from celery._state import _set_task_join_will_block

    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
    # Eager tasks in several threads at once (the race tests) can leave Celery's process-wide
    # "inside a task" flag set (its save/restore is not thread-safe); later result.get() would
    # then refuse to block.
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _tasks_in_process_unless_worker_test(request):
    """Only `worker`-marked tests publish to the broker. Elsewhere a task queued on commit runs
    in process, so no stale message can reach the session's worker and act on a later test's rows."""
    if request.node.get_closest_marker("worker") is not None:
        yield
        return
    from celery._state import _set_task_join_will_block

    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
    _set_task_join_will_block(False)  # see eager_tasks


@pytest.fixture(autouse=True)
def _worker_idle_before_flush(request, _django_db_helper):  # after the db helper: torn down before the flush
    """A worker test's tasks can chain (score → open the auction …): let the worker finish what
    it is running before the database is flushed, or TRUNCATE and the task deadlock and the
    next test starts on a dirty database. Tasks scheduled for later (ETA) are left alone: they
    find no row by then, since ids are never reused."""
    yield
    if "celery_worker" not in request.fixturenames:
        return
    from config.celery import app

    worker = request.getfixturevalue("celery_worker")

    def idle():
        inspect = app.control.inspect(destination=[worker.name], timeout=1)
        active, reserved = inspect.active() or {}, inspect.reserved() or {}
        return not active.get(worker.name) and not reserved.get(worker.name)

    wait_for(idle, timeout=60, interval=0.2, message="the worker to finish its tasks")
