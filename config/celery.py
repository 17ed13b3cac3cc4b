"""The one Celery app. Settings come from Django settings (CELERY_* names)."""

import os

from celery import Celery

from config.queues import CELERY_TASK_QUEUES, CELERY_TASK_ROUTES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.embedded")

app = Celery("leadengine")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = CELERY_TASK_QUEUES
app.conf.task_routes = CELERY_TASK_ROUTES
# Each app's tasks module; the pipeline's signal handlers connect in CoreConfig.ready().
app.autodiscover_tasks()
