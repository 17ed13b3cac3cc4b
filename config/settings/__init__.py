"""Settings package.

Profiles (pick one with DJANGO_SETTINGS_MODULE):
- ``config.settings.embedded``  — default; SQLite, in-memory layers, tasks in process;
- ``config.settings.services``  — PostgreSQL primary + replica, Redis, Celery workers;
- ``config.settings.production`` — services with production security (check --deploy clean);
- ``config.settings.test``      — services, tuned for the test suite.
"""
