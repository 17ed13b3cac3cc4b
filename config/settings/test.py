"""Test profile: the services profile, isolated from development data.

Redis databases 10–13 belong to the test suite; fixtures flush the cache between tests.
"""

import os

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/10")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/12")
os.environ.setdefault("CHANNELS_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("CELERY_VISIBILITY_TIMEOUT", "20")
os.environ.setdefault("PIPELINE_RETRY_BACKOFF", "1")
# Several processes (the test runner, Celery workers, the live server) share the test
# database; a pool per process would hold idle connections for nothing.
os.environ.setdefault("DATABASE_POOL", "false")

from .services import *  # noqa: E402,F401,F403
from .services import DATABASES  # noqa: E402

PROFILE = "test"
# Two suites on one machine (two checkouts, a helper) must not share a test database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_leadengine")}
DEBUG = False
# Tests mirror the replica to the primary; the router tests switch replicas on explicitly.
DATABASE_READ_REPLICAS: list[str] = []
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
