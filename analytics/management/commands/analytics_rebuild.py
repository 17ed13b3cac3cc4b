"""manage.py analytics_rebuild [--since YYYY-MM-DD]: recompute the rollups from the facts.

Run it after restoring a backup, after changing how a measure is computed, or when a refresh may
have missed a transaction that ran longer than analytics.rollups.REFRESH_OVERLAP. Safe while the
marketplace runs: it waits for a running refresh and the refresh waits for it."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the analytics rollups from the facts (all days, or from --since on)."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First UTC day to rebuild (YYYY-MM-DD); default: every day with facts.")

    def handle(self, *args, since=None, **options):
        first = None
        if since:
            try:
                first = date.fromisoformat(since)
            except ValueError as exc:
                raise CommandError(f"--since: {since!r} is not a date (YYYY-MM-DD).") from exc
        started = time.monotonic()
        result = rollups_rebuild(since=first)
        self.stdout.write(
            f"Rebuilt the rollups of {result['days']} day(s) with leads in {time.monotonic() - started:.1f} s."
        )
