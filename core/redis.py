"""Access to the shared Redis connection, when the profile has one."""

from django.core.cache import cache


def get_redis():
    """The raw redis-py client behind the django-redis cache, or None (embedded profile)."""
    client = getattr(cache, "client", None)
    if client is None or not hasattr(client, "get_client"):
        return None
    return client.get_client(write=True)
