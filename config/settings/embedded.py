"""Embedded profile: everything in one process, no servers needed (`make run`)."""

from .base import *  # noqa: F401,F403
from .base import BASE_DIR, env_bool, env_str

DEBUG = env_bool("DJANGO_DEBUG", True)
PROFILE = "embedded"

# ---------------------------------------------------------------- database
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("SQLITE_PATH", str(BASE_DIR / ".data" / "leadengine.sqlite3")),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
    }
}

# ---------------------------------------------------------------- cache, channels, tasks
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "leadengine"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"

# ---------------------------------------------------------------- demo
# The demo seller keeps submitting leads (DEMO_LEADS=false stops it): config/asgi.py.
DEMO_LEADS = env_bool("DEMO_LEADS", True)
