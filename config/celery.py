"""The one Celery app. Settings come from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.embedded")

app = Celery("leadengine")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _configure_routes() -> None:
    from config.queues import CELERY_TASK_QUEUES, CELERY_TASK_ROUTES

    app.conf.task_queues = CELERY_TASK_QUEUES
    app.conf.task_routes = CELERY_TASK_ROUTES


_configure_routes()
# Each app's tasks.py; the pipeline's signal handlers connect in MarketplaceConfig.ready().
app.autodiscover_tasks()
