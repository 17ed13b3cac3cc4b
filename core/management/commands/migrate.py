"""Django's `migrate`, first recording the state-only migrations of models that moved between apps
where the database already has them (core/migration_history.py)."""

from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import connections

from core.migration_history import state_only_migrations_adopt


class Command(DjangoMigrateCommand):
    def handle(self, *args, **options):
        for app_label, name in state_only_migrations_adopt(connection=connections[options["database"]]):
            if options["verbosity"] >= 1:
                self.stdout.write(f"  Recorded {app_label}.{name} as applied: its tables already exist.")
        return super().handle(*args, **options)
