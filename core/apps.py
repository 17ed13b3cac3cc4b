from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Platform infrastructure: the task pipeline's dead letters and idempotency keys (models),
    and the building blocks every app uses. Imports no business app."""

    name = "core"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Celery signal handlers: correlation ids, primary pinning, dead letters.
        from core import pipeline  # noqa: F401
