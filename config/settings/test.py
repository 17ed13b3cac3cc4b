"""Test profile: the services profile, isolated from development data.

Redis databases 10–14 of TEST_REDIS (default 127.0.0.1:6379) belong to the test suite; the
suite flushes them at start and the cache between tests. Two suites on one machine need two
Redis servers (TEST_REDIS) and two database names (TEST_DATABASE_NAME).
"""

import os
import tempfile

_redis = os.environ.get("TEST_REDIS", "127.0.0.1:6379")
os.environ.setdefault("REDIS_URL", f"redis://{_redis}/10")
os.environ.setdefault("CELERY_BROKER_URL", f"redis://{_redis}/11")
os.environ.setdefault("CELERY_RESULT_BACKEND", f"redis://{_redis}/12")
os.environ.setdefault("CHANNELS_REDIS_URL", f"redis://{_redis}/13")
TEST_SPARE_REDIS_URL = f"redis://{_redis}/14"  # for tests that need a broker no worker reads
os.environ.setdefault("CELERY_VISIBILITY_TIMEOUT", "20")
os.environ.setdefault("PIPELINE_RETRY_BACKOFF", "1")
# Several processes (the test runner, Celery workers, the live server) share the test
# database; a pool per process would hold idle connections for nothing.
os.environ.setdefault("DATABASE_POOL", "false")
# The chain tests talk to anvil directly (scripts/services.sh starts it); /healthz keeps the
# checks its own tests pin.
os.environ.setdefault("CHAIN_HEALTHCHECK", "false")
# Sales are settled on chain only in the settlement tests (they switch it on).
os.environ.setdefault("CHAIN_SETTLEMENT", "false")
# Vaults the tests deploy let an announced exit be taken after 2 s of chain time: the exit tests
# move anvil's clock on by that much (evm_increaseTime), so the shared node drifts only seconds.
os.environ.setdefault("CHAIN_VAULT_EXIT_DELAY_SECONDS", "2")
# The suite's webhook receiver listens on 127.0.0.1; the SSRF tests switch this off.
os.environ.setdefault("INTEGRATIONS_ALLOW_PRIVATE_URLS", "true")
# Deliveries in the worker tests: short timeouts and lease, retries a fraction of a second apart.
os.environ.setdefault("INTEGRATIONS_CONNECT_TIMEOUT", "2")
os.environ.setdefault("INTEGRATIONS_READ_TIMEOUT", "3")
os.environ.setdefault("INTEGRATIONS_LEASE_MARGIN", "1")
os.environ.setdefault("INTEGRATIONS_RETRY_SCHEDULE", "0.3,0.3,0.3,0.3,0.3,0.3,0.3")
# Test-only secrets (the services profile requires them; `make test` runs with none set). Not the
# embedded profile's development values: nothing sealed under one opens under the other.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-never-use-outside-the-test-suite-5b1e")
os.environ.setdefault("PII_KEYS", "test1:dGVzdC1vbmx5LXBpaS1rZXktbm90LWZvci1yZWFsLSE=")
os.environ.setdefault("PII_ACTIVE_KEY_ID", "test1")
os.environ.setdefault("PII_HASH_KEY", "test-only-pii-hash-key-never-use-outside-the-test-suite")
os.environ.setdefault("CHAIN_WALLET_MASTER_KEY", "dGVzdC1vbmx5LXdhbGxldC1rZXktbm90LXJlYWwtISE=")

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
# Dispute evidence files of the suite go to a directory of their own, not the checkout's media/.
MEDIA_ROOT = os.environ.get("TEST_MEDIA_ROOT") or tempfile.mkdtemp(prefix="leadengine-test-media-")
ALLOWED_HOSTS = ["*"]
