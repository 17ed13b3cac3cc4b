"""WSGI entry point: plain HTTP (pages, the API, admin) for a pre-forking WSGI server, one process
per core; WebSockets stay on config.asgi. Use it with the services profile, where Celery beat
closes auctions on time (the embedded profile's in-process sweeper starts only in config.asgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.services")
# A sync worker serves one request at a time: one persistent connection, no pool checkout per request.
os.environ.setdefault("DATABASE_POOL", "false")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")
application = get_wsgi_application()
