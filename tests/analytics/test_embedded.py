"""`make run`'s profile (SQLite, tasks in process): the rollups refresh and rebuild, and the
dashboards read them, without PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import django; django.setup()
from datetime import timedelta
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", verbosity=0)
from accounts.models import User
from analytics.clock import analytics_tick
from analytics.models import SellerDay, SellerHour
from analytics.periods import period_parse, zone_of
from analytics.rollups import rollups_rebuild
from analytics.selectors import seller_dashboard, staff_dashboard
from leads.models import Lead
from verticals.models import Vertical
seller = User.objects.create_user(email="s@example.com", password="x" * 20, is_seller=True, time_zone="Europe/Berlin")
vertical = Vertical.objects.create(slug="solar", name="Solar")
now = timezone.now()
for i in range(5):
    Lead.objects.create(vertical=vertical, seller=seller, source="api", consent_text="ok", consent_at=now,
                        consent_ip="203.0.113.7", status="rejected", rejection_reason="invalid",
                        created_at=now - timedelta(days=i))
analytics_tick()
period = period_parse({"range": "7d"}, zone=zone_of(seller))
board = seller_dashboard(seller=seller, period=period)
first = [k["value"] for k in board.kpis if k["measure"].key == "received"][0]
rollups_rebuild()
board = seller_dashboard(seller=seller, period=period)
again = [k["value"] for k in board.kpis if k["measure"].key == "received"][0]
staff = staff_dashboard(period=period_parse({"range": "7d"}, zone=zone_of(None)))
print(first, again, SellerHour.objects.count() > 0, SellerDay.objects.count() > 0, staff.live["queues"])
"""


def test_rollups_and_dashboards_on_sqlite(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings.embedded",
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
            "DEMO_LEADS": "false",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-5:] == ["5", "5", "True", "True", "None"]
