"""A database of its own for migration tests: created empty, migrated to whatever point a test
names, dropped afterwards. The primary/replica router only migrates the primary, so it is set
aside while the test migrates this one."""

import contextlib
import copy
import uuid

from django.db import connections, router
from django.db.migrations.executor import MigrationExecutor


@contextlib.contextmanager
def scratch_database(django_db_blocker, monkeypatch):
    alias = f"scratch_{uuid.uuid4().hex[:8]}"
    settings = copy.deepcopy(connections.settings["default"])
    settings.pop("TEST", None)
    base_name = connections["default"].settings_dict["NAME"]
    settings["NAME"] = f"{base_name}_{alias}"[:63]
    with django_db_blocker.unblock():
        with connections["default"].cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{settings["NAME"]}"')
        connections.settings[alias] = settings
        monkeypatch.setattr(router, "routers", [])
        try:
            yield alias
        finally:
            connections[alias].close()
            del connections[alias]
            del connections.settings[alias]
            with connections["default"].cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{settings["NAME"]}" WITH (FORCE)')


def migrate(alias, targets):
    """Migrate the scratch database to `targets`; returns the historical apps at that point."""
    executor = MigrationExecutor(connections[alias])
    executor.migrate(targets)
    # The state rendered afresh for exactly these targets: the executor's own state may hold
    # classes re-rendered mid-plan (a relation pointing at an older copy of a model).
    return executor.loader.project_state(targets).apps


def leaf_nodes(alias):
    return MigrationExecutor(connections[alias]).loader.graph.leaf_nodes()
