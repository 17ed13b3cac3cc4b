"""The lead-ingestion suite: the ingest API over real HTTP, scoring latency, the lead table at 1M rows.

1. POST /api/v1/leads/ through `uvicorn --workers 2` (psycopg pool per worker), 32 clients.
2. POST /api/v1/leads/bulk/ with 500 leads per request, 1 and 4 clients.
3. Ingest → scored: leads submitted one by one, scored by a real Celery worker (concurrency 2).
4. The lead table with 1,000,000 leads of one seller: API first page, a page 500,000 rows deep
   through the API's cursor, the same page with LIMIT/OFFSET, the seller's lead page (when it
   exists); EXPLAIN (ANALYZE, BUFFERS) of those queries.

Every lead sent is valid for its vertical's effective schema and unique (phone and email), so
none is a duplicate; the seller's daily cap is raised with a SellerCap row.
"""

import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from bench.common import header, print_table, row, stop_process_group, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
VERTICAL = "solar-residential"
# (state, ZIP, city): ZIPs that lie in their state (leads.validation checks it).
GEO = [
    ("CA", "94105", "San Francisco"),
    ("NY", "10001", "New York"),
    ("TX", "78701", "Austin"),
    ("FL", "33131", "Miami"),
    ("IL", "60601", "Chicago"),
    ("AZ", "85004", "Phoenix"),
    ("WA", "98101", "Seattle"),
    ("CO", "80202", "Denver"),
]
AREA_CODES = ("415", "212", "512", "305", "312", "602", "206", "303")

SINGLE_CLIENTS = 32
SINGLE_MAX_REQUESTS = 2000
SINGLE_MAX_SECONDS = 20.0
BULK_SIZE = 500
BULK_SEQUENTIAL_REQUESTS = 3
BULK_CONCURRENT_CLIENTS = 4
BULK_CONCURRENT_REQUESTS = 4  # in all, over the 4 clients
SCORED_LEADS = 200
SCORED_PACE_S = 0.05  # one submission every 50 ms (20 leads/s)
TABLE_LEADS = 1_000_000
TABLE_DEPTH = 500_000
READ_REPEATS = 20


# ---------------------------------------------------------------- valid, unique leads


class LeadFactory:
    """Builds leads valid for a vertical's effective schema, each with its own phone and email."""

    def __init__(self, vertical_slug: str):
        from verticals.models import Vertical
        from verticals.selectors import vertical_fields_effective

        self.slug = vertical_slug
        self.schema = [ef.field for ef in vertical_fields_effective(vertical=Vertical.objects.get(slug=vertical_slug))]
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self.run_tag = os.urandom(3).hex()

    @staticmethod
    def _field_value(spec, i: int):
        kind, choices = spec.type, list(spec.choices or [])
        if kind == "boolean":
            return True
        if kind == "choice":
            return choices[i % len(choices)]
        if kind == "multi_choice":
            return [choices[i % len(choices)]]
        if kind in ("integer", "decimal"):
            low = float(spec.min_value) if spec.min_value is not None else 0.0
            high = float(spec.max_value) if spec.max_value is not None else low + 1000
            value = low + (i % 97) / 97 * min(high - low, 500)
            return int(value) if kind == "integer" else round(value, 2)
        if kind == "date":
            return f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}"
        if kind == "us_zip":
            return GEO[i % len(GEO)][1]
        return f"bench value {i % 10}"  # text

    def make(self) -> dict:
        from django.utils import timezone

        with self._lock:
            i = next(self._counter)
        area, rest = AREA_CODES[i % len(AREA_CODES)], i // len(AREA_CODES)
        exchange = 201 + (rest // 10000) % 700
        if exchange % 100 == 11 or exchange == 555:  # N11 and 555 exchanges are not subscriber numbers
            exchange += 1
        state, zip5, city = GEO[i % len(GEO)]
        return {
            "vertical": self.slug,
            "external_id": f"bench-{self.run_tag}-{i}",
            "first_name": "Bench",
            "last_name": f"Lead{i}",
            "email": f"bench.{self.run_tag}.{i}@gmail.com",
            "phone": f"+1{area}{exchange:03d}{rest % 10000:04d}",
            "street_address": f"{1 + i % 900} Market St",
            "city": city,
            "state": state,
            "zip": zip5,
            "campaign": f"campaign-{i % 5}",
            "fields": {spec.key: self._field_value(spec, i) for spec in self.schema},
            "consent": {
                "text": "I agree to be contacted about solar quotes.",
                "timestamp": (timezone.now() - timedelta(hours=1)).isoformat(),
                "ip": "203.0.113.7",
                "user_agent": "Mozilla/5.0 (bench)",
                "page_url": "https://sunnyleads.example.org/quote",
            },
        }

    def check(self) -> None:
        """Fail early, in process, when the generated lead does not pass the shared validation."""
        from leads.validation import LeadInvalid, check_lead_input

        try:
            check_lead_input(self.make(), schema=self.schema, allow_keys={"vertical"})
        except LeadInvalid as exc:
            raise SystemExit(f"bench lead for {self.slug} is invalid: {exc.errors}") from None


def make_seller(email: str):
    from accounts.models import User
    from accounts.services import api_key_create
    from leads.models import SellerCap

    user = User.objects.create_user(email=email, password="x" * 20, is_seller=True)
    SellerCap.objects.create(seller=user, vertical=None, daily_cap=10**9, note="bench")
    return user, api_key_create(user=user, name="bench").secret


# ---------------------------------------------------------------- the servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UvicornServer:
    """`uvicorn config.asgi:application --workers 2` in its own process group."""

    def __init__(self, database_name: str, log_dir: Path, workers: int = 2, extra_env: dict | None = None):
        self.port = _free_port()
        self.extra_env = extra_env or {}
        self.database_name = database_name
        self.workers = workers
        self.log_path = log_dir / "uvicorn.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "UvicornServer":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": self.database_name,
            "RATE_LIMIT_ENABLED": "false",
            "DATABASE_POOL": "true",
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
        }
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "uvicorn"),
                "config.asgi:application",
                "--workers",
                str(self.workers),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_healthy()
        return self

    def _wait_healthy(self, timeout: float = 60.0) -> None:
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                last = (response.status, response.read()[:2000])
                conn.close()
                if response.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"uvicorn did not answer /healthz with 200 within {timeout:.0f} s (last: {last}):\n{self.log_tail()}"
        )

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process_group(self.process, getattr(self, "_log", None))


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, api_key: str) -> tuple[int, bytes]:
    conn.request(
        "POST", path, body=body, headers={"Content-Type": "application/json", "Authorization": f"Api-Key {api_key}"}
    )
    response = conn.getresponse()
    return response.status, response.read()


def _run_clients(
    port: int, clients: int, bodies: list[bytes], path: str, api_key: str, max_seconds: float, timeout: float = 60.0
) -> tuple[list[tuple[float, int, bytes]], float]:
    """`clients` threads, one persistent connection each, share `bodies`; stop when done or at `max_seconds`.

    Returns ([(latency s, status, body)], wall seconds).
    """
    results: list[tuple[float, int, bytes]] = []
    lock = threading.Lock()
    next_index = itertools.count()
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        start_gate.wait()
        try:
            while time.perf_counter() < deadline[0]:
                with lock:
                    index = next(next_index)
                if index >= len(bodies):
                    return
                begin = time.perf_counter()
                try:
                    status, body = _post(conn, path, bodies[index], api_key)
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                    status, body = -1, repr(exc).encode()
                elapsed = time.perf_counter() - begin
                with lock:
                    results.append((elapsed, status, body))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    begin = time.perf_counter()
    deadline[0] = begin + max_seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - begin


def _report_failures(label: str, failures: list[tuple[int, bytes]]) -> None:
    if not failures:
        return
    print(f"!! {label}: {len(failures)} unexpected answers; the first ones:")
    for status, body in failures[:5]:
        print(f"   {status}: {' '.join(body.decode(errors='replace').split())[:300]}")


# ---------------------------------------------------------------- 1. single-lead API


def bench_single_api(server: UvicornServer, factory: LeadFactory, api_key: str) -> tuple[dict, int]:
    # Warm up: each worker opens its pool and imports its views.
    _run_clients(
        server.port,
        SINGLE_CLIENTS,
        [json.dumps(factory.make()).encode() for _ in range(64)],
        "/api/v1/leads/",
        api_key,
        30,
    )
    bodies = [json.dumps(factory.make()).encode() for _ in range(SINGLE_MAX_REQUESTS)]
    results, wall = _run_clients(server.port, SINGLE_CLIENTS, bodies, "/api/v1/leads/", api_key, SINGLE_MAX_SECONDS)
    created = [r for r in results if r[1] == 201]
    failures = [(status, body) for _, status, body in results if status != 201]
    _report_failures("POST /api/v1/leads/", failures)
    result = row(
        f"POST /api/v1/leads/ (uvicorn ×2, {SINGLE_CLIENTS} clients, HTTP)",
        len(results),
        [r[0] for r in results],
        per_s=len(created) / wall,
    )
    result["non_201"] = len(failures)
    return result, len(failures)


# ---------------------------------------------------------------- 2. bulk API


def bench_bulk_api(server: UvicornServer, factory: LeadFactory, api_key: str) -> list[dict]:
    rows = []
    for clients, requests in ((1, BULK_SEQUENTIAL_REQUESTS), (BULK_CONCURRENT_CLIENTS, BULK_CONCURRENT_REQUESTS)):
        bodies = [json.dumps({"leads": [factory.make() for _ in range(BULK_SIZE)]}).encode() for _ in range(requests)]
        results, wall = _run_clients(server.port, clients, bodies, "/api/v1/leads/bulk/", api_key, 300, timeout=300)
        accepted, failures = 0, []
        for _, status, body in results:
            if status != 200:
                failures.append((status, body))
                continue
            answer = json.loads(body)
            accepted += answer["accepted"]
            failures += [(r.get("status"), json.dumps(r).encode()) for r in answer["results"] if not r["accepted"]]
        _report_failures(f"POST /api/v1/leads/bulk/ ({clients} clients)", failures)
        label = f"POST /api/v1/leads/bulk/ ×{BULK_SIZE} ({clients} client{'s' if clients > 1 else ''}, HTTP)"
        result = row(label, accepted, [r[0] for r in results], per_s=accepted / wall)
        result["requests"] = len(results)
        rows.append(result)
    return rows


# ---------------------------------------------------------------- 3. ingest → scored


def bench_ingest_to_scored(
    server: UvicornServer, factory: LeadFactory, api_key: str, database_name: str, log_dir: Path
) -> list[dict]:
    import redis
    from django.conf import settings
    from django.db import connection

    from leads.models import Lead
    from tests.workers import WorkerProcess

    # The leads of the suites before left their scoring tasks queued (no worker ran): drop them,
    # so this measures a worker that keeps up, not one draining a backlog.
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    worker = WorkerProcess(database_name, log_dir, concurrency=2).start()
    try:
        submitted: dict[int, float] = {}  # lead id -> perf_counter at the API response
        seen: dict[int, float] = {}  # lead id -> perf_counter when the poll saw scored_at
        done = threading.Event()

        def poll():
            try:
                while not done.is_set() or len(seen) < len(submitted):
                    pending = [pk for pk in list(submitted) if pk not in seen]
                    if pending:
                        now = time.perf_counter()
                        for pk in Lead.objects.filter(pk__in=pending, scored_at__isnull=False).values_list(
                            "pk", flat=True
                        ):
                            seen[pk] = now
                    if done.is_set() and time.perf_counter() > done_at[0] + 60:
                        return
                    time.sleep(0.005)
            finally:
                connection.close()

        done_at = [0.0]
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        failures = []
        try:
            next_at = time.perf_counter()
            for _ in range(SCORED_LEADS):
                body = json.dumps(factory.make()).encode()
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += SCORED_PACE_S
                status, answer = _post(conn, "/api/v1/leads/", body, api_key)
                if status != 201:
                    failures.append((status, answer))
                    continue
                submitted[json.loads(answer)["id"]] = time.perf_counter()
        finally:
            conn.close()
            done_at[0] = time.perf_counter()
            done.set()
            poller.join(timeout=90)
        _report_failures("POST /api/v1/leads/ (paced)", failures)
        unscored = [pk for pk in submitted if pk not in seen]
        if unscored:
            print(f"!! ingest → scored: {len(unscored)} of {len(submitted)} leads were not scored within 60 s")
        server_side = [
            (scored - created).total_seconds()
            for created, scored in Lead.objects.filter(pk__in=list(seen)).values_list("created_at", "scored_at")
        ]
        observed = [seen[pk] - submitted[pk] for pk in seen]
    finally:
        worker.stop()
    return [
        latency_row(f"lead created_at → scored_at (worker -c 2, {1 / SCORED_PACE_S:.0f} leads/s)", server_side),
        latency_row("API response → scored_at seen by a 5 ms DB poll", observed),
    ]


# ---------------------------------------------------------------- 4. the lead table at 1M rows


def _literal_default(field):
    from django.db import models

    if field.null:
        return "NULL"
    if isinstance(field, models.JSONField):
        return "'{}'::jsonb"
    if isinstance(field, models.BooleanField):
        return "false"
    if isinstance(field, (models.CharField, models.TextField)):
        return "''"
    raise RuntimeError(f"bench: no generated value for the new NOT NULL column leads_lead.{field.column}")


def generate_lead_table(seller, n: int = TABLE_LEADS) -> float:
    """One INSERT … SELECT … FROM generate_series for `n` leads of `seller`, then ANALYZE. Returns seconds."""
    from django.db import connection

    from leads.models import Lead
    from verticals.models import Vertical

    vertical_ids = list(Vertical.objects.filter(parent__isnull=False).order_by("pk").values_list("pk", flat=True)[:8])
    # created_at: in arrival order over the last 90 days, ~7.8 s apart with jitter (no ties).
    step = 90 * 86400 / n
    expressions = {
        "vertical_id": f"(ARRAY{vertical_ids}::bigint[])[1 + (g % {len(vertical_ids)})]",
        "seller_id": str(int(seller.pk)),
        "source": "(ARRAY['api','api','form','csv','webhook'])[1 + (g % 5)]",
        "campaign": "'campaign-' || (g % 12)",
        "sub_id": "CASE WHEN g % 3 = 0 THEN 'sub-' || (g % 40) ELSE '' END",
        "external_id": "''",
        "country": "'US'",
        "state": "(ARRAY['CA','NY','TX','FL','IL','AZ','WA','CO'])[1 + (g % 8)]",
        "zip": "(ARRAY['94105','10001','78701','33131','60601','85004','98101','80202'])[1 + (g % 8)]",
        "city": "(ARRAY['San Francisco','New York','Austin','Miami','Chicago','Phoenix','Seattle','Denver'])[1 + (g % 8)]",
        "fields": "jsonb_build_object('homeowner', true, 'monthly_electric_bill', 50 + (g % 400), "
        "'roof_type', (ARRAY['metal','asphalt shingle','slate'])[1 + (g % 3)])",
        "consent_text": "'I agree to be contacted about quotes.'",
        "consent_at": "t.created_at - interval '1 hour'",
        "consent_ip": "'203.0.113.7'::inet",
        "consent_user_agent": "'Mozilla/5.0'",
        "consent_page_url": "'https://sunnyleads.example.org/quote'",
        "consent_certificate_url": "''",
        "status": "t.status",
        "rejection_reason": "CASE WHEN t.status = 'rejected' THEN (CASE WHEN t.r < 0.07 THEN 'duplicate' "
        "ELSE 'low_quality' END) ELSE '' END",
        "rejection_detail": "'{}'::jsonb",
        "duplicate_of_id": "NULL",
        "quality_score": "CASE WHEN t.status = 'received' OR (t.status = 'rejected' AND t.r < 0.07) THEN NULL "
        "WHEN t.status = 'rejected' THEN (t.r2 * 40)::int ELSE 40 + (t.r2 * 60)::int END",
        "score_breakdown": "'{}'::jsonb",
        "price": "CASE WHEN t.status = 'sold' THEN round((20 + t.r2 * 100)::numeric, 2) END",
        "has_phone": "(g % 13) <> 0",
        "phone_type": "CASE WHEN (g % 13) = 0 THEN '' ELSE (ARRAY['mobile','fixed_line_or_mobile','fixed_line'])[1 + (g % 3)] END",
        "has_email": "(g % 5) <> 0",
        "phone_hash": "''",
        "email_hash": "''",
        "correlation_id": "''",
        "created_at": "t.created_at",
        "updated_at": "t.created_at",
        "scored_at": "CASE WHEN t.status = 'received' OR (t.status = 'rejected' AND t.r < 0.07) THEN NULL "
        "ELSE t.created_at + interval '2 seconds' END",
    }
    columns = [f for f in Lead._meta.concrete_fields if not f.primary_key]
    select = ", ".join(expressions.get(f.column) or _literal_default(f) for f in columns)
    sql = f"""
        INSERT INTO {Lead._meta.db_table} ({", ".join(f.column for f in columns)})
        SELECT {select}
        FROM (
            SELECT g, r, random() AS r2,
                   now() - interval '90 days' + make_interval(secs => (g - 1) * {step} + random() * {step * 0.9})
                       AS created_at,
                   CASE WHEN r < 0.03 THEN 'received' WHEN r < 0.18 THEN 'rejected' WHEN r < 0.38 THEN 'scored'
                        WHEN r < 0.48 THEN 'listed' WHEN r < 0.88 THEN 'sold' WHEN r < 0.95 THEN 'unsold'
                        ELSE 'expired' END AS status
            FROM (SELECT g, random() AS r FROM generate_series(1, {int(n)}) AS g) AS s
        ) AS t
    """
    begin = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.execute(f"ANALYZE {Lead._meta.db_table}")
    return time.perf_counter() - begin


def latency_row(name: str, samples: list[float]) -> dict:
    """A row of latencies only (no throughput column)."""
    return row(name, len(samples), samples) | {"per_s": None}


def _time(fn, repeats: int = READ_REPEATS) -> list[float]:
    fn()  # warm up (and set hint bits on first read)
    samples = []
    for _ in range(repeats):
        begin = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - begin)
    return samples


def deep_cursor_url(seller, depth: int) -> tuple[str, str]:
    """The `next` link the API hands out on the page that ends just before row `depth` (default sort).

    Built the way the API builds it, from the row at `depth - 1` (one OFFSET query, outside the
    timings). Returns (url, description of the cursor kind).
    """
    from leads import selectors
    from leads.api.views import LeadListCreateApi

    if hasattr(selectors, "lead_table_page") and LeadListCreateApi.pagination_class is None:
        # Keyset ("seek") cursor of leads.selectors: a signed (sort, segment, key, direction).
        spec = selectors.lead_table_spec_parse({})
        segment = selectors._segments(spec.sort)[0]
        ordering = [f"-{c}" if spec.descending else c for c in segment.columns]
        last = selectors.lead_table_queryset(seller=seller, spec=spec).order_by(*ordering)[depth - 1]
        token = selectors._cursor_dumps(spec=spec, segment=0, key=selectors._row_key(last, segment), direction="n")
        return (
            f"/api/v1/leads/?cursor={token}",
            f"keyset cursor of leads.selectors on {tuple(ordering)} (row-value comparison, no OFFSET)",
        )
    return _drf_cursor_url(seller, depth, LeadListCreateApi.pagination_class())


def _drf_cursor_url(seller, depth: int, paginator) -> tuple[str, str]:
    """DRF CursorPagination's `next` link (position of the first ordering field + offset)."""
    from rest_framework.pagination import Cursor

    from leads import selectors

    page_size = paginator.page_size
    ordering = paginator.ordering if isinstance(paginator.ordering, (list, tuple)) else (paginator.ordering,)
    rows = list(selectors.lead_list_for_seller(seller=seller).order_by(*ordering)[depth - page_size : depth + 1])
    paginator.base_url = "http://testserver/api/v1/leads/"
    paginator.ordering = ordering
    paginator.page = rows[:page_size]
    paginator.has_next = paginator.has_previous = True
    paginator.next_position = paginator._get_position_from_instance(rows[page_size], ordering)
    paginator.previous_position = paginator._get_position_from_instance(rows[0], ordering)
    paginator.cursor = Cursor(offset=0, reverse=False, position=paginator.previous_position)
    return paginator.get_next_link(), f"DRF CursorPagination on {ordering} (position + offset)"


def _explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = [line for (line,) in cursor.fetchall()]
    keep = [plan[0]]
    for line in plan[1:]:
        text = line.strip()
        if text.startswith(("->", "Index Cond:", "Execution Time")) or (text.startswith("Buffers:") and len(keep) == 1):
            keep.append(line)
    return keep


def _lead_query(capture) -> str:
    from leads.models import Lead

    table = f'FROM "{Lead._meta.db_table}"'
    candidates = [q["sql"] for q in capture.captured_queries if table in q["sql"] and "LIMIT" in q["sql"]]
    return candidates[-1]


def _list_queryset(seller):
    """What the API's list reads, in its default order (-created_at, -id)."""
    from leads import selectors

    if hasattr(selectors, "lead_table_queryset"):
        spec = selectors.lead_table_spec_parse({})
        return (
            selectors.lead_table_queryset(seller=seller, spec=spec)
            .select_related("vertical")
            .defer(*getattr(selectors, "_LIST_DEFERRED", ()))
            .order_by("-created_at", "-id")
        )
    return selectors.lead_list_for_seller(seller=seller).order_by("-created_at", "-id")


def bench_lead_table(seller, secret: str) -> tuple[list[dict], list[str]]:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import Resolver404, resolve
    from rest_framework.test import APIClient

    notes: list[str] = []
    seconds = generate_lead_table(seller)
    notes.append(
        f"generated {TABLE_LEADS:,} leads of one seller (one INSERT … SELECT generate_series, then "
        f"ANALYZE) in {seconds:.1f} s"
    )

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    deep_url, kind = deep_cursor_url(seller, TABLE_DEPTH)
    notes.append(f"deep page cursor: {kind}")
    queryset = _list_queryset(seller)
    offset_page = queryset[TABLE_DEPTH : TABLE_DEPTH + 50]

    def get(client, url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:500])
        return response

    first = get(api, "/api/v1/leads/").json()
    deep = get(api, deep_url).json()
    assert first["next"], "the first page has no next link"
    offset_ids = [lead.pk for lead in offset_page]
    deep_ids = [item["id"] for item in deep["results"]]
    same = deep_ids == offset_ids
    notes.append(
        f"deep page via the API cursor == rows {TABLE_DEPTH:,}…{TABLE_DEPTH + 49:,} via OFFSET: "
        f"{'yes' if same else f'NO ({deep_ids[:3]}… vs {offset_ids[:3]}…)'}"
    )

    rows = [
        latency_row("GET /api/v1/leads/ first page (50 rows)", _time(lambda: get(api, "/api/v1/leads/"))),
        latency_row(f"GET /api/v1/leads/?cursor= {TABLE_DEPTH:,} rows deep", _time(lambda: get(api, deep_url))),
        latency_row(
            f"ORM queryset[{TABLE_DEPTH}:{TABLE_DEPTH + 50}] (LIMIT/OFFSET, same order)",
            _time(lambda: list(queryset[TABLE_DEPTH : TABLE_DEPTH + 50])),
        ),
    ]
    try:
        resolve("/seller/leads/")
        page_exists = True
    except Resolver404:
        page_exists = False
    if page_exists:
        browser = Client()
        browser.force_login(seller)
        cursor = deep_url.split("cursor=", 1)[1]
        rows.append(
            latency_row("GET /seller/leads/ first page (stats cached)", _time(lambda: get(browser, "/seller/leads/")))
        )
        rows.append(
            latency_row(
                f"GET /seller/leads/?cursor= {TABLE_DEPTH:,} rows deep (stats cached)",
                _time(lambda: get(browser, f"/seller/leads/?cursor={cursor}")),
            )
        )

        def cold_page():
            if hasattr(cache, "delete_pattern"):
                cache.delete_pattern("leads:table-stats:*")
            get(browser, "/seller/leads/")

        rows.append(latency_row("GET /seller/leads/ first page (stats recomputed)", _time(cold_page, repeats=5)))
    else:
        notes.append("/seller/leads/ does not exist yet: skipped")
    plans = []
    for label, url in (
        ("API first page", "/api/v1/leads/"),
        (f"API page {TABLE_DEPTH:,} rows deep (cursor)", deep_url),
    ):
        with CaptureQueriesContext(connection) as capture:
            get(api, url)
        plans.append((label, _lead_query(capture)))
    with CaptureQueriesContext(connection) as capture:
        list(queryset[TABLE_DEPTH : TABLE_DEPTH + 50])
    plans.append((f"LIMIT 50 OFFSET {TABLE_DEPTH:,}", _lead_query(capture)))
    if page_exists:
        from leads.models import Lead

        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("leads:table-stats:*")
        with CaptureQueriesContext(connection) as capture:
            get(browser, "/seller/leads/")
        table = f'FROM "{Lead._meta.db_table}"'
        stats = [q["sql"] for q in capture.captured_queries if table in q["sql"] and "COUNT(" in q["sql"]]
        if stats:
            plans.append(("seller page stats (aggregate over the seller's leads)", stats[0]))
    explain_lines = ["EXPLAIN (ANALYZE, BUFFERS), summarized:"]
    for label, sql in plans:
        explain_lines.append(f"-- {label}")
        explain_lines += [f"   {line}" for line in _explain(sql)]
    return rows, notes + explain_lines


# ---------------------------------------------------------------- the suite


def _progress(message: str) -> None:
    print(f"[bench leads {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def run() -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-leads-"))
    load_before = _load()
    with throwaway_database() as database_name:
        factory = LeadFactory(VERTICAL)
        factory.check()
        seller, secret = make_seller("bench-seller@gmail.com")
        rows, notes = [], []
        server = UvicornServer(database_name, log_dir)
        try:
            _progress("starting uvicorn")
            server.start()
            _progress("single-lead API")
            single, non_201 = bench_single_api(server, factory, secret)
            rows.append(single)
            notes.append(f"single-lead API: {non_201} non-201 answers")
            _progress("bulk API")
            rows += bench_bulk_api(server, factory, secret)
            _progress("ingest → scored (Celery worker)")
            rows += bench_ingest_to_scored(server, factory, secret, database_name, log_dir)
        finally:
            server.stop()
        print(header("lead ingestion"))
        print(
            f"Ingestion over HTTP: uvicorn --workers 2, psycopg pool per worker, rate limits off "
            f"({load_before} before, {_load()} after)."
        )
        print_table(rows, width=72)
        for note in notes:
            print(note)
        sys.stdout.flush()

        _progress(f"lead table: generating {TABLE_LEADS:,} leads, then reads")
        table_seller, table_secret = make_seller("bench-table-seller@gmail.com")
        table_rows, table_notes = bench_lead_table(table_seller, table_secret)
        print()
        print(
            f"The lead table at {TABLE_LEADS:,} leads of one seller: in-process Django test client "
            f"(APIClient + API key; Client + force_login), {READ_REPEATS} repeats after one warm-up."
        )
        print_table(table_rows, width=72)
        for note in table_notes:
            print(note)
        print(f"({_load()}; server and worker logs: {log_dir})")
