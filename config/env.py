"""The environment, read with django-environ (`env.str`, `env.int`, `env.bool`, `env.list`, each
with the value a profile falls back to), and `env_secret` for what a server profile cannot run
without."""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def env_secret(name: str) -> str:
    """A secret the profile cannot run without: ImproperlyConfigured naming it when it is unset or
    empty (the services and production profiles never fall back to committed values)."""
    value = env.str(name, default="")
    if not value.strip():
        raise ImproperlyConfigured(
            f"Environment variable {name} is required: this profile has no default for secrets "
            f"(only the embedded profile of `make run` falls back to development values)."
        )
    return value
