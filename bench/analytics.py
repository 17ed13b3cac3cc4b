"""The analytics suite (issue #15): dashboards at 1,000,000 leads and 200,000 sales.

- Data: one seller's 1,000,000 leads over 90 days (bench.leads.generate_lead_table), 200,000 of them
  sold through an auction to 20 buyers (auction, first bid, sale), 60,000 purchases with a disposition.
- The rebuild: `analytics.rollups.rollups_rebuild` over all of it (seconds, rows).
- Each dashboard's data, server-side: the selector (`seller_dashboard` 30 and 90 days,
  `buyer_dashboard` of the biggest buyer, `staff_dashboard`), then the whole page through Django's
  test client (template included); p50/p95 over READS calls (target: data ≤ 50 ms p95).
- Over HTTP beside the bare reference app (same run): `GET /api/v1/analytics/seller/` vs the
  reference's first list page (50 rows), both under gunicorn with 2 sync workers, wrk 4 connections.
- The refresh keeping up with 100 leads/s: the current hour already holds 30 minutes' worth of the
  seller's leads (180,000); for KEEPUP_SECONDS a thread inserts 100 leads a second and moves 100
  earlier ones on (received → scored), while the refresh runs every ANALYTICS_REFRESH_SECONDS as
  the beat would. Reports each refresh's time (it keeps up while that stays under the interval)
  and checks the rows against a rebuild.
- The 1,000,000-row CSV export (`/seller/leads/export.csv`) streamed over HTTP from gunicorn:
  the worker's resident memory at 0, 100k, 500k and 1M rows (flat = streaming), and rows/s.
"""

import http.client
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import header, pct, print_table, row

LEADS = int(os.environ.get("BENCH_ANALYTICS_LEADS", "1000000"))
SALES = LEADS // 5
BUYERS = 20
DISPOSITIONS = SALES * 3 // 10
READS = int(os.environ.get("BENCH_ANALYTICS_READS", "40"))
KEEPUP_SECONDS = int(os.environ.get("BENCH_ANALYTICS_KEEPUP_SECONDS", "60"))
HOUR_PREFILL = int(os.environ.get("BENCH_ANALYTICS_HOUR_PREFILL", "180000"))
RATE = 100


def _progress(message: str) -> None:
    print(f"[analytics] {time.strftime('%H:%M:%S')} {message}", flush=True)


def _insert(model, expressions: dict, source_sql: str) -> int:
    """INSERT INTO model's table (every concrete column: `expressions`, else a literal default) SELECT … `source_sql`."""
    from django.db import connection

    from bench.leads import _literal_default

    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    select = ", ".join(expressions.get(f.column) or _literal_default(f) for f in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in columns)}) SELECT {select} {source_sql}"
        )
        return cursor.rowcount


def generate_sales(seller, buyers: list) -> dict:
    """Auctions, first bids and sales for SALES of the seller's sold leads; the other sold leads
    become unsold (no sale behind them); dispositions on DISPOSITIONS of the purchases."""
    from django.db import connection

    from auctions.models import Auction, AuctionBidder, Disposition, Sale
    from leads.models import Lead
    from ledger.choices import LedgerAccountKind
    from ledger.services import platform_account_for

    escrow = platform_account_for(kind=LedgerAccountKind.ESCROW, reference="bench-analytics")
    buyer_ids = "ARRAY[" + ",".join(str(b.pk) for b in buyers) + "]::bigint[]"
    lead_table = Lead._meta.db_table
    started = time.perf_counter()
    chosen = (
        f"FROM (SELECT id, vertical_id, seller_id, created_at, price, row_number() OVER (ORDER BY id) AS n "
        f"FROM {lead_table} WHERE status = 'sold' ORDER BY id LIMIT {SALES}) AS l"
    )
    _insert(
        Auction,
        {
            "lead_id": "l.id",
            "vertical_id": "l.vertical_id",
            "seller_id": "l.seller_id",
            "status": "'closed'",
            "result": "'sold'",
            "reserve_price": "10",
            "buy_now_price": "12",
            "duration_seconds": "60",
            "opened_at": "l.created_at + interval '2 seconds'",
            "deadline": "l.created_at + interval '62 seconds'",
            "extensions": "0",
            "closed_at": "l.created_at + interval '62 seconds' + make_interval(secs => (l.n % 7) * 0.05)",
            "leader_id": f"({buyer_ids})[1 + (l.n % {len(buyers)})]",
            "price": "l.price",
            "bid_count": "1",
            "bidder_count": "1",
            "log_salt": "md5(l.id::text)",
            "log_head": "md5(l.id::text || 'h')",
            "created_at": "l.created_at + interval '2 seconds'",
        },
        chosen,
    )
    auctions = f"FROM {Auction._meta.db_table} AS a"
    _insert(
        AuctionBidder,
        {
            "auction_id": "a.id",
            "buyer_id": "a.leader_id",
            "max_amount": "a.price",
            "held_amount": "0",
            "max_sequence": "1",
            "bidder_ref": "md5(a.id::text || 'b')",
            "released_at": "a.closed_at",
            "created_at": "a.opened_at + interval '5 seconds'",
            "updated_at": "a.closed_at",
        },
        auctions,
    )
    _insert(
        Sale,
        {
            "auction_id": "a.id",
            "lead_id": "a.lead_id",
            "buyer_id": "a.leader_id",
            "seller_id": "a.seller_id",
            "price": "a.price",
            "escrow_account_id": str(escrow.pk),
            "bid_log_digest": "a.log_head",
            "bid_log_length": "1",
            "created_at": "a.closed_at",
        },
        auctions,
    )
    statuses = "(ARRAY['contacted','no_answer','appointment','quoted','sold','bad'])[1 + (s.id % 6)]"
    _insert(
        Disposition,
        {
            "sale_id": "s.id",
            "status": statuses,
            "revenue": f"CASE WHEN {statuses} = 'sold' THEN s.price * 4 END",
            "reason": f"CASE WHEN {statuses} = 'bad' THEN 'Wrong number' ELSE '' END",
            "channel": "'api'",
            "set_by_id": "s.buyer_id",
            "version": "1",
            "created_at": "s.created_at + interval '1 day'",
            "updated_at": "s.created_at + interval '1 day'",
        },
        f"FROM {Sale._meta.db_table} AS s ORDER BY s.id LIMIT {DISPOSITIONS}",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {lead_table} AS l SET status = 'unsold', price = NULL WHERE status = 'sold' "
            f"AND NOT EXISTS (SELECT 1 FROM {Sale._meta.db_table} s WHERE s.lead_id = l.id)"
        )
        for model in (Lead, Auction, AuctionBidder, Sale, Disposition):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return {"seconds": time.perf_counter() - started, "sales": Sale.objects.count()}


def _time(fn, n: int = READS) -> list[float]:
    fn()  # warm
    samples = []
    for _ in range(n):
        begin = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - begin)
    return samples


def bench_reads(seller, buyer, staff) -> list[dict]:
    from django.test import Client

    from analytics.periods import period_parse, zone_of
    from analytics.selectors import buyer_dashboard, seller_dashboard, staff_dashboard

    def period(preset, user=None):
        return period_parse({"range": preset}, zone=zone_of(user))

    rows = [
        row(
            "seller dashboard data, 30 days (selector)",
            READS,
            _time(lambda: seller_dashboard(seller=seller, period=period("30d", seller))),
        ),
        row(
            "seller dashboard data, 90 days (selector)",
            READS,
            _time(lambda: seller_dashboard(seller=seller, period=period("90d", seller))),
        ),
        row(
            "buyer dashboard data, 30 days (selector)",
            READS,
            _time(lambda: buyer_dashboard(buyer=buyer, period=period("30d", buyer))),
        ),
        row(
            "buyer dashboard data, 90 days (selector)",
            READS,
            _time(lambda: buyer_dashboard(buyer=buyer, period=period("90d", buyer))),
        ),
        row(
            "staff dashboard data, 30 days (selector, live panel incl.)",
            READS,
            _time(lambda: staff_dashboard(period=period("30d"))),
        ),
    ]
    for user, role in ((seller, "seller"), (buyer, "buyer"), (staff, "staff")):
        client = Client()
        client.force_login(user)

        def page(client=client, role=role):
            response = client.get(f"/dashboard/{role}/")
            assert response.status_code == 200, response.status_code

        rows.append(row(f"{role} dashboard page, 30 days (whole response, test client)", READS, _time(page)))
    return rows


def bench_http(database_name: str, seller_secret: str) -> tuple[dict | None, dict]:
    from bench.http import GET_LUA, ROOT, Gunicorn, _reference_setup, wrk

    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-analytics-{os.getpid()}"
    log_dir.mkdir(exist_ok=True)
    servers = []
    try:
        reference = _reference_setup(log_dir)
        if reference is not None:
            servers.append(reference.start())
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": database_name,
            "RATE_LIMIT_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
        }
        project = Gunicorn("project", "config.wsgi:application", ROOT, env, "/healthz", log_dir)
        servers.append(project.start())
        ref = None
        if reference is not None:
            wrk(reference.url + "/api/leads/list/", lua=GET_LUA, env={}, connections=4, seconds=3)
            ref = wrk(reference.url + "/api/leads/list/", lua=GET_LUA, env={}, connections=4, seconds=15)
        key = {"BENCH_API_KEY": seller_secret}
        url = project.url + "/api/v1/analytics/seller/?range=30d"
        wrk(url, lua=GET_LUA, env=key, connections=4, seconds=3)
        mine = wrk(url, lua=GET_LUA, env=key, connections=4, seconds=15)
        return ref, mine
    finally:
        for server in servers:
            server.stop()
        from bench.http import REFERENCE, REFERENCE_DB, _psql

        if (REFERENCE / "refapp").is_dir():
            _psql(f"DROP DATABASE IF EXISTS {REFERENCE_DB} WITH (FORCE)")


def _rss_kb(pids: list[int]) -> int:
    worst = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    worst = max(worst, int(line.split()[1]))
        except OSError:
            continue
    return worst


def bench_export(database_name: str, seller) -> dict:
    """Stream the seller's whole lead export from the ASGI server (one uvicorn process, as the
    Procfile's web process; the view streams keyset batches there); its RSS at checkpoints."""
    from django.conf import settings
    from django.test import Client

    from bench.leads import UvicornServer

    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-analytics-{os.getpid()}"
    log_dir.mkdir(exist_ok=True)
    server = UvicornServer(database_name, log_dir, workers=1).start()
    try:
        children = [server.process.pid]
        browser = Client()
        browser.force_login(seller)
        cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        conn.request("GET", "/seller/leads/export.csv", headers={"Cookie": cookie})
        response = conn.getresponse()
        assert response.status == 200, response.status
        checkpoints = {0: _rss_kb(children)}
        marks = [100_000, 500_000, 1_000_000]
        lines, pending, started = 0, b"", time.perf_counter()
        while True:
            chunk = response.read(65536)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            lines += len(complete)
            while marks and lines - 1 >= marks[0]:
                checkpoints[marks.pop(0)] = _rss_kb(children)
        seconds = time.perf_counter() - started
        conn.close()
        return {"rows": lines - 1, "seconds": seconds, "rss_kb": checkpoints}
    finally:
        server.stop()


def bench_keepup(seller, vertical_ids: list[int]) -> dict:
    """100 leads/s inserted and 100/s moved on for KEEPUP_SECONDS, the refresh every interval."""
    from django.conf import settings
    from django.db import close_old_connections, connection

    from analytics.models import SellerHour
    from analytics.rollups import _seller_rows, hour_of, rollups_refresh
    from leads.models import Lead

    now = datetime.now(UTC)
    hour = hour_of(now)
    # The current hour already holds half an hour at 100 leads/s.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Lead._meta.db_table} ({', '.join(_lead_columns())}) "
            f"SELECT {_lead_values()} FROM generate_series(1, {HOUR_PREFILL}) AS g",
            {"seller": seller.pk, "vertical": vertical_ids[0], "start": hour, "end": now},
        )
        cursor.execute(f"ANALYZE {Lead._meta.db_table}")
    rollups_refresh()
    interval = float(settings.ANALYTICS_REFRESH_SECONDS)
    stop = threading.Event()
    produced = {"inserted": 0, "moved": 0, "late": 0}

    def producer():
        try:
            tick = time.monotonic()
            while not stop.is_set():
                moment = datetime.now(UTC)
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"INSERT INTO {Lead._meta.db_table} ({', '.join(_lead_columns())}) "
                        f"SELECT {_lead_values()} FROM generate_series(1, {RATE}) AS g",
                        {
                            "seller": seller.pk,
                            "vertical": vertical_ids[produced["inserted"] // RATE % len(vertical_ids)],
                            "start": moment,
                            "end": moment,
                        },
                    )
                    cursor.execute(
                        f"UPDATE {Lead._meta.db_table} SET status = 'scored', quality_score = 70, scored_at = %(now)s, "
                        f"updated_at = %(now)s WHERE id IN (SELECT id FROM {Lead._meta.db_table} "
                        f"WHERE seller_id = %(seller)s AND status = 'received' AND created_at >= %(hour)s "
                        f"ORDER BY id LIMIT {RATE})",
                        {"now": moment, "seller": seller.pk, "hour": hour},
                    )
                    produced["moved"] += cursor.rowcount
                produced["inserted"] += RATE
                tick += 1.0
                delay = tick - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                else:
                    produced["late"] += 1
        finally:
            connection.close()

    thread = threading.Thread(target=producer)
    durations, keys = [], []
    begin = time.monotonic()
    thread.start()
    try:
        next_run = begin + interval
        while time.monotonic() - begin < KEEPUP_SECONDS:
            time.sleep(max(0.0, next_run - time.monotonic()))
            next_run += interval
            close_old_connections()
            started = time.perf_counter()
            result = rollups_refresh()
            durations.append(time.perf_counter() - started)
            keys.append(result["seller_keys"] if result else 0)
    finally:
        stop.set()
        thread.join()
    started = time.perf_counter()
    rollups_refresh()
    durations.append(time.perf_counter() - started)
    # The rows equal a recomputation of the hours touched.
    from django.db.models import Q

    recent = Q(seller_id=seller.pk, created_at__gte=hour)
    expected = {k: v["received"] for k, v in _seller_rows(recent).items()}
    actual = {
        (r.bucket, r.seller_id, r.vertical_id, r.source, r.campaign): r.received
        for r in SellerHour.objects.filter(seller=seller, bucket__gte=hour)
    }
    return {
        "interval": interval,
        "durations": durations,
        "keys": keys,
        "produced": produced,
        "equal": expected == actual,
        "hour_rows": Lead.objects.filter(seller=seller, created_at__gte=hour).count(),
    }


def _lead_columns() -> list[str]:
    from leads.models import Lead

    return [f.column for f in Lead._meta.concrete_fields if not f.primary_key]


def _lead_values() -> str:
    from bench.leads import _literal_default
    from leads.models import Lead

    expressions = {
        "vertical_id": "%(vertical)s",
        "seller_id": "%(seller)s",
        "source": "(ARRAY['api','form','csv'])[1 + mod(g, 3)]",
        "campaign": "'live-' || mod(g, 4)",
        "country": "'US'",
        "state": "'CA'",
        "zip": "'94105'",
        "city": "'San Francisco'",
        "fields": "'{}'::jsonb",
        "consent_text": "'I agree.'",
        "consent_at": "%(end)s::timestamptz - interval '1 minute'",
        "consent_ip": "'203.0.113.7'::inet",
        "status": "'received'",
        "rejection_detail": "'{}'::jsonb",
        "score_breakdown": "'{}'::jsonb",
        "has_phone": "true",
        "has_email": "true",
        "created_at": "%(start)s::timestamptz + (%(end)s::timestamptz - %(start)s::timestamptz) * random()",
        "updated_at": "%(end)s::timestamptz",
    }
    columns = [f for f in Lead._meta.concrete_fields if not f.primary_key]
    return ", ".join(expressions.get(f.column) or _literal_default(f) for f in columns)


def run() -> None:
    from accounts.models import User
    from analytics.models import BuyerHour, SellerHour, VerticalDay
    from analytics.rollups import rollups_rebuild
    from bench.common import throwaway_database
    from bench.leads import generate_lead_table, make_seller
    from verticals.models import Vertical

    with throwaway_database() as database_name:
        seller, secret = make_seller("bench-analytics-seller@gmail.com")
        buyers = [
            User.objects.create_user(email=f"bench-buyer-{i}@gmail.com", password="x" * 20, is_buyer=True)
            for i in range(BUYERS)
        ]
        staff = User.objects.create_user(email="bench-staff@gmail.com", password="x" * 20, is_staff=True)
        _progress("1,000,000 leads")
        lead_seconds = generate_lead_table(seller, LEADS)
        _progress(f"{SALES:,} auctions, bids and sales; {DISPOSITIONS:,} dispositions")
        sales = generate_sales(seller, buyers)
        _progress("rebuild the rollups")
        started = time.perf_counter()
        rebuilt = rollups_rebuild()
        rebuild_seconds = time.perf_counter() - started
        counts = (SellerHour.objects.count(), BuyerHour.objects.count(), VerticalDay.objects.count())
        _progress("dashboard reads")
        reads = bench_reads(seller, buyers[0], staff)
        only_reads = os.environ.get("BENCH_ANALYTICS_ONLY") == "reads"
        if not only_reads:
            _progress("HTTP beside the reference app")
            ref, mine = bench_http(database_name, secret)
            _progress("1,000,000-row CSV export")
            export = bench_export(database_name, seller)
            _progress(f"refresh at {RATE} leads/s for {KEEPUP_SECONDS} s")
            vertical_ids = list(
                Vertical.objects.filter(parent__isnull=False).order_by("pk").values_list("pk", flat=True)[:4]
            )
            keepup = bench_keepup(seller, vertical_ids)

    print(header("analytics at 1,000,000 leads and 200,000 sales"))
    print(
        f"data: 1,000,000 leads in {lead_seconds:.0f} s; {sales['sales']:,} sales, bids, auctions and dispositions in {sales['seconds']:.0f} s"
    )
    print(
        f"rebuild: {rebuilt['days']} days in {rebuild_seconds:.1f} s -> {counts[0]:,} seller-hour, "
        f"{counts[1]:,} buyer-hour, {counts[2]:,} vertical-day rows"
    )
    print_table(reads)
    if only_reads:
        return
    if ref is not None:
        print(
            f"HTTP, wrk 4 connections 15 s, gunicorn 2 sync workers: reference list page {ref['per_s']:.0f} req/s "
            f"(p95 {ref['p95']:.1f} ms); GET /api/v1/analytics/seller/?range=30d {mine['per_s']:.0f} req/s "
            f"(p95 {mine['p95']:.1f} ms); ratio {mine['per_s'] / ref['per_s']:.2f}; non-2xx {mine['bad_status']}"
        )
    else:
        print(
            f"HTTP: GET /api/v1/analytics/seller/ {mine['per_s']:.0f} req/s (p95 {mine['p95']:.1f} ms); no reference app"
        )
    rss = export["rss_kb"]
    print(
        f"CSV export: {export['rows']:,} rows in {export['seconds']:.1f} s ({export['rows'] / export['seconds']:,.0f} rows/s); "
        "worker RSS " + ", ".join(f"{k:,} rows {v / 1024:.0f} MB" for k, v in rss.items())
    )
    d = keepup["durations"]
    print(
        f"refresh at {RATE} leads/s inserted + {RATE}/s moved on, {KEEPUP_SECONDS} s, beat every {keepup['interval']:.0f} s, "
        f"the current hour holding {keepup['hour_rows']:,} of the seller's leads at the end: {len(d)} refreshes, "
        f"p50 {pct(d, 0.5) * 1000:.0f} ms, max {max(d) * 1000:.0f} ms "
        f"({max(d) / keepup['interval'] * 100:.0f} % of the interval); inserted {keepup['produced']['inserted']:,}, "
        f"moved {keepup['produced']['moved']:,}, producer late {keepup['produced']['late']} s; "
        f"rows equal a recomputation: {keepup['equal']}"
    )
