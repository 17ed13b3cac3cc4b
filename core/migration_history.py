"""Moving a model between apps, kept honest for databases that already exist.

A model that moves keeps its table: the new app's first migration only changes Django's state
(`SeparateDatabaseAndState`) and says so with `state_only = True`. A database migrated before the
move already holds everything such a migration describes; but migrations applied back then can now
depend on it (every swappable dependency on the user model points at the app the user model lives
in today, django.contrib.admin's included), and Django refuses to migrate a history where an
applied migration's parent is not applied. `state_only_migrations_adopt` records those parents as
applied — there is nothing to run — before `manage.py migrate` (core/management/commands/migrate.py)
checks the history.
"""

import logging

from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

logger = logging.getLogger(__name__)


def state_only_migrations_adopt(*, connection) -> list[tuple[str, str]]:
    """Record as applied each unapplied `state_only` migration that an applied one depends on and
    whose own dependencies are applied. Returns the migrations it recorded."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    applied = set(loader.applied_migrations)
    adopted: list[tuple[str, str]] = []
    found = True
    while found:
        found = False
        for key in sorted(applied):
            if key not in loader.graph.node_map:
                continue
            for parent in loader.graph.node_map[key].parents:
                migration = loader.graph.nodes.get(parent.key)
                if parent.key in applied or not getattr(migration, "state_only", False):
                    continue
                if any(grand.key not in applied for grand in parent.parents):
                    continue
                recorder.record_applied(*parent.key)
                applied.add(parent.key)
                adopted.append(parent.key)
                found = True
                logger.info("state-only migration recorded as applied", extra={"migration": ".".join(parent.key)})
    return adopted
