"""Embedded profile: everything in one process, no servers needed (`make run`)."""

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, env

DEBUG = env.bool("DJANGO_DEBUG", True)
PROFILE = "embedded"

# ---------------------------------------------------------------- secrets (development values)
# Committed, clearly fake values so `make run` needs no setup; only this profile uses them (the
# services and production profiles refuse to start without real ones: base.SECRET_ENV_VARS).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", "dev-insecure-secret-key-change-me-in-production-0123456789")
PII_KEYS = env.str("PII_KEYS", "dev1:ZGV2LW9ubHktcGlpLWtleS0tLWRvLW5vdC11c2UtISE=")
PII_ACTIVE_KEY_ID = env.str("PII_ACTIVE_KEY_ID", "dev1")
PII_HASH_KEY = env.str("PII_HASH_KEY", "dev-only-pii-hash-key-do-not-use-in-production")
CHAIN_WALLET_MASTER_KEY = env.str("CHAIN_WALLET_MASTER_KEY", "ZGV2LW9ubHktd2FsbGV0LWtleS1kby1ub3QtdXNlLSE=")

# ---------------------------------------------------------------- database
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env.str("SQLITE_PATH", str(BASE_DIR / ".data" / "leadengine.sqlite3")),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
    }
}

# ---------------------------------------------------------------- cache, channels, tasks
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "leadengine"}}
# django-ratelimit wants a cache shared between processes; the embedded profile is one process.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"

# ---------------------------------------------------------------- lead delivery
# Development: webhooks to a receiver on this machine (localhost, a LAN address) are allowed.
INTEGRATIONS_ALLOW_PRIVATE_URLS = env.bool("INTEGRATIONS_ALLOW_PRIVATE_URLS", True)

# ---------------------------------------------------------------- demo
# The demo seller keeps submitting leads (DEMO_LEADS=false stops it): config/asgi.py.
DEMO_LEADS = env.bool("DEMO_LEADS", True)
