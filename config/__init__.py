# Import the Celery app so that `.delay()` always targets the configured broker.
from .celery import app as celery_app

__all__ = ("celery_app",)
