"""Services profile: PostgreSQL primary + replica, Redis, channels-redis, Celery workers."""

from config.env import env_secret

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", False)
PROFILE = "services"

# ---------------------------------------------------------------- secrets (required)
# No fallback: a missing one stops the process with ImproperlyConfigured naming it
# (base.SECRET_ENV_VARS; the test profile sets test-only values before importing this module).
SECRET_KEY = env_secret("DJANGO_SECRET_KEY")
PII_KEYS = env_secret("PII_KEYS")
PII_ACTIVE_KEY_ID = env_secret("PII_ACTIVE_KEY_ID")
PII_HASH_KEY = env_secret("PII_HASH_KEY")
CHAIN_WALLET_MASTER_KEY = env_secret("CHAIN_WALLET_MASTER_KEY")


def _postgres(host: str, port: str, name: str) -> dict:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": env.str("DATABASE_USER", "postgres"),
        "PASSWORD": env.str("DATABASE_PASSWORD", ""),
        "HOST": host,
        "PORT": port,
        # A small psycopg pool per process: ASGI servers with persistent connections
        # otherwise exhaust PostgreSQL's max_connections.
        "OPTIONS": {"pool": {"min_size": 1, "max_size": env.int("DATABASE_POOL_SIZE", 8), "timeout": 10}}
        if env.bool("DATABASE_POOL", True)
        else {},
        # ASGI processes: a pool. WSGI workers (config.wsgi) serve one request at a time and keep
        # one connection (DATABASE_POOL=false, DATABASE_CONN_MAX_AGE=600 by default there): no
        # pool checkout per request. Celery workers keep theirs between tasks
        # (base.CELERY_DB_REUSE_MAX, core.pipeline) and check a reused one first; web processes do
        # not (DATABASE_HEALTH_CHECKS): that is a round trip per request, and a connection that
        # broke fails one request and is closed at its end.
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", 0),
        "CONN_HEALTH_CHECKS": env.bool("DATABASE_HEALTH_CHECKS", False),
    }


DATABASE_NAME = env.str("DATABASE_NAME", "leadengine")
DATABASES = {
    "default": _postgres(env.str("DATABASE_HOST", "127.0.0.1"), env.str("DATABASE_PORT", "5432"), DATABASE_NAME),
}
if env.str("DATABASE_REPLICA_PORT", "5433") or env.str("DATABASE_REPLICA_HOST", ""):
    DATABASES["replica"] = _postgres(
        env.str("DATABASE_REPLICA_HOST", "127.0.0.1"), env.str("DATABASE_REPLICA_PORT", "5433"), DATABASE_NAME
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_READ_REPLICAS = [alias for alias in ("replica",) if alias in DATABASES]

# ---------------------------------------------------------------- redis
REDIS_URL = env.str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env.str("CACHE_REDIS_URL", REDIS_URL),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", "le"),
    }
}
CHANNEL_LAYERS = {
    "default": {
        # One pub/sub subscription per server process and group, fanned out locally, groups spread
        # over every host of CHANNELS_REDIS_URL (comma-separated; core/live_layer.py,
        # docs/operations.md "Live updates"). CHANNEL_LAYER_BACKEND is for the live bench, which
        # compares channels_redis.pubsub.RedisPubSubChannelLayer on the same hosts.
        "BACKEND": env.str("CHANNEL_LAYER_BACKEND", "core.live_layer.LiveChannelLayer"),
        "CONFIG": {
            # redis-py 8 caps the asyncio pool at 100 and read-times-out at 5 s: set both
            # explicitly (see TOOLCHAIN.md).
            "hosts": [
                {
                    "address": address,
                    "max_connections": 1000,
                    "socket_timeout": 30,
                    "socket_connect_timeout": 5,
                }
                for address in env.list("CHANNELS_REDIS_URL", default=[REDIS_URL])
            ],
            "prefix": env.str("CHANNELS_PREFIX", "asgi"),
            "capacity": 1000,
            "expiry": 60,
        },
    }
}

# ---------------------------------------------------------------- celery (Redis or RabbitMQ broker)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = False

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
