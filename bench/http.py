"""The HTTP suite (issue #12): the project's hot HTTP paths beside the bare reference app, same run.

wrk (Debian's package; `make bench` installs it) with 1 thread against two servers started here,
each under the reference's best configuration on this machine — gunicorn, 2 sync workers, one per
core — and each on its own PostgreSQL database:

- the bare reference app (../shared/reference, or REFERENCE_APP): a DRF CreateAPIView doing one
  INSERT, and a DRF cursor list of 50 rows;
- the project (config.wsgi, the test profile on the throwaway bench database, rate limits off).

Pairs, measured back to back (reference first), each after a 3 s warm-up:
- POST one lead: reference `POST /api/leads/` vs `POST /api/v1/leads/` (every lead valid and
  unique: its own phone, email and external id), 32 connections for req/s and 4 for p95;
- GET the first page of a list: reference `GET /api/leads/list/` vs `GET /api/v1/leads/?page_size=50`
  for a seller with LIST_ROWS leads (both tables hold LIST_ROWS rows, ANALYZEd);
- the same seller's lead page, `GET /seller/leads/` (HTML, signed in), beside the reference list;
- bulk: POST /api/v1/leads/bulk/ with 500 valid leads per request, 8 requests from 1 client and
  8 from 4 clients (after a warm-up), leads accepted per second (no reference: the target is absolute);
- bids: reference `POST /api/leads/` vs `POST /api/v1/auctions/<id>/bids/` over 100 auctions open
  for a day and over one hot auction, 32 connections, 50 funded buyers in turn; every bid's
  maximum is above the auction's earlier ones (a counter per auction), so only bids overtaken on
  the way to the auction's row lock are refused (`too_low`); any other refusal is counted and
  printed; ledger_check() after the bids.
BENCH_HTTP_PROFILE=<dir> also records a py-spy flame graph (SVG) of the project's workers during
each measured project run (profiling slows the run: its figures do not count then).
BENCH_HTTP_ONLY=<substring> measures only the pairs whose label contains it.
Prints req/s, p50/p95/p99 and the ratio project / reference, with the 1-minute load average
before each measurement (it rises with the suite's own load: the quiet check is the suite's start,
python -m bench refuses a run that began above 1.0; other heavy processes are named when seen).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.common import header, stop_process_group
from bench.leads import VERTICAL, LeadFactory, _free_port, generate_lead_table, make_seller

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("REFERENCE_APP", ROOT.parent / "shared" / "reference"))
REFERENCE_DB = "ref_bench"
DURATION = int(os.environ.get("BENCH_HTTP_SECONDS", "20"))
WARMUP = 3
LIST_ROWS = 5_000
WORKERS = 2

# Per request: a unique lead from a template (the LeadFactory's phone scheme: valid US numbers).
POST_LUA = r"""
local counter = 0
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local template = os.getenv("BENCH_TEMPLATE")
local areas = {"415", "212", "512", "305", "312", "602", "206", "303"}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_API_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Api-Key " .. key end
request = function()
  counter = counter + 1
  local i = offset + counter
  local area = areas[(i % 8) + 1]
  local rest = math.floor(i / 8)
  local exchange = 201 + math.floor(rest / 10000) % 700
  if exchange % 100 == 11 or exchange == 555 then exchange = exchange + 1 end
  local phone = string.format("+1%s%03d%04d", area, exchange, rest % 10000)
  local body = template:gsub("__PHONE__", phone):gsub("__I__", tostring(i))
  return wrk.format(nil, nil, nil, body)
end
"""
GET_LUA = r"""
local key = os.getenv("BENCH_API_KEY")
if key and key ~= "" then wrk.headers["Authorization"] = "Api-Key " .. key end
"""
PAGE_LUA = r"""
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
"""
BID_LUA = r"""
local counter = 0
accepted, too_low, other = 0, 0, 0 -- globals: done() reads them with thread:get
local keys, auctions, k = {}, {}, {}
for key in string.gmatch(os.getenv("BENCH_KEYS"), "[^,]+") do table.insert(keys, key) end
local start = tonumber(os.getenv("BENCH_OFFSET") or "0")
for id in string.gmatch(os.getenv("BENCH_AUCTIONS"), "[^,]+") do table.insert(auctions, id); k[id] = start end
local reserve, step = tonumber(os.getenv("BENCH_RESERVE")), tonumber(os.getenv("BENCH_STEP"))
request = function()
  counter = counter + 1
  local id = auctions[(counter % #auctions) + 1]
  k[id] = k[id] + 1
  local headers = {["Content-Type"] = "application/json",
                   ["Authorization"] = "Api-Key " .. keys[(counter % #keys) + 1]}
  local body = string.format('{"max_amount": "%.2f"}', reserve + step * k[id])
  return wrk.format("POST", "/api/v1/auctions/" .. id .. "/bids/", headers, body)
end
response = function(status, headers, body)
  if status == 201 then accepted = accepted + 1
  elseif body:find('"too_low"', 1, true) then too_low = too_low + 1
  else other = other + 1 end
end
"""
OUTCOMES_LUA = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
local function outcomes()
  local a, t, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a, t, o = a + thread:get("accepted"), t + thread:get("too_low"), o + thread:get("other")
  end
  io.write(string.format("OUTCOMES %d %d %d\n", a, t, o))
end
"""
DONE_LUA = r"""
done = function(summary, latency, requests)
  if outcomes then outcomes() end
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


def _others() -> str:
    """Other heavy processes right now (a test suite, a helper's work): what makes a figure not count."""
    from bench.auctions import _others as others

    seen = others()
    return "" if seen == "nothing else" else seen


def _progress(message: str) -> None:
    print(f"[bench http {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


class Gunicorn:
    """`gunicorn <app> -w 2` (sync workers) in its own process group, answering `probe` with 2xx."""

    def __init__(self, name: str, app: str, cwd: Path, env: dict, probe: str, log_dir: Path):
        self.name, self.app, self.cwd, self.probe = name, app, cwd, probe
        self.env = {**os.environ, **env}
        self.port = _free_port()
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Gunicorn":
        self._log = open(self.log_path, "ab")
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.process = subprocess.Popen(
            [
                gunicorn,
                self.app,
                "-w",
                str(WORKERS),
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "5",
                "--no-control-socket",
            ],
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + self.probe, timeout=5) as response:
                    if response.status < 300:
                        return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer {self.probe}:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        stop_process_group(self.process, getattr(self, "_log", None))


def wrk(url: str, *, lua: str, env: dict, connections: int, seconds: int) -> dict:
    """One wrk run (1 thread): req/s, latency percentiles (ms), non-2xx/3xx answers and socket errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write((OUTCOMES_LUA if "response = function" in lua else "") + lua + DONE_LUA)
    load = os.getloadavg()[0]
    others = _others()
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, url],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        if out.returncode:
            raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        out = out.stdout
    finally:
        os.unlink(script.name)
    match = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    requests, duration_us, p50, p95, p99, bad_status, socket_errors = map(int, match.groups())
    counted = re.search(r"^OUTCOMES (\d+) (\d+) (\d+)$", out, re.M)
    return {
        "outcomes": dict(zip(("accepted", "too_low", "other"), map(int, counted.groups()), strict=True))
        if counted
        else None,
        "per_s": requests / (duration_us / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "bad_status": bad_status,
        "socket_errors": socket_errors,
        "requests": requests,
        "load": load,
        "others": others,
    }


def _py_spy(server: Gunicorn, label: str, directory: str) -> subprocess.Popen:
    """py-spy recording the server's workers for the next DURATION seconds, as an SVG flame graph."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    py_spy = str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(server.process.pid), "--subprocesses", "--duration", str(DURATION)]
        + ["--rate", "200", "--nonblocking", "--output", str(Path(directory) / f"{name}.svg")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _reference_setup(log_dir: Path) -> Gunicorn | None:
    if not (REFERENCE / "refapp").is_dir():
        print(f"NO REFERENCE: {REFERENCE} is missing (set REFERENCE_APP): project figures only")
        return None
    env = {"DJANGO_SETTINGS_MODULE": "refapp.settings", "REF_DB": REFERENCE_DB, "PYTHONPATH": str(REFERENCE)}
    _psql(f"DROP DATABASE IF EXISTS {REFERENCE_DB} WITH (FORCE)")
    _psql(f"CREATE DATABASE {REFERENCE_DB}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=REFERENCE, env={**os.environ, **env}, check=True
    )
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={REFERENCE_DB}", autocommit=True) as conn:
        conn.execute(
            "INSERT INTO lead (created_at, vertical_id, source, first_name, last_name, email, phone, zip, state, ip,"
            " user_agent, price, status, score, payload) SELECT now() - make_interval(secs => g * 60), 1 + g % 8,"
            " 'api', 'Bench', 'Lead' || g, 'bench' || g || '@gmail.com', '+14155550' || (100 + g % 900), '94105',"
            " 'CA', '203.0.113.7', 'Mozilla/5.0', 42.50, 'new', 70, '{\"homeowner\": true}'::jsonb"
            f" FROM generate_series(1, {LIST_ROWS}) AS g"
        )
        conn.execute("ANALYZE lead")
    return Gunicorn("reference", "refapp.wsgi:application", REFERENCE, env, "/api/leads/list/", log_dir)


REFERENCE_LEAD = {
    "vertical_id": 2,
    "source": "api",
    "first_name": "Bench",
    "last_name": "Lead",
    "email": "bench.lead@gmail.com",
    "phone": "+14155550123",
    "zip": "94105",
    "state": "CA",
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (bench)",
    "price": "42.50",
    "payload": {"homeowner": True, "monthly_electric_bill": 180},
}


def _project_template(factory: LeadFactory, tag: str) -> str:
    lead = factory.make()
    lead["phone"] = "__PHONE__"
    lead["email"] = f"bench.{tag}.__I__@gmail.com"
    lead["external_id"] = f"bench-{tag}-__I__"
    lead["last_name"] = "Lead__I__"
    return json.dumps(lead)


def _line(label: str, figures: dict) -> str:
    flags = []
    if figures["bad_status"] or figures["socket_errors"]:
        flags.append(f"{figures['bad_status']} non-2xx, {figures['socket_errors']} socket errors")
    if figures.get("others"):
        flags.append(f"NOT QUIET: {figures['others']}")
    return (
        f"{label:<58} {figures['per_s']:>8.0f} {figures['p50']:>8.1f} {figures['p95']:>8.1f} {figures['p99']:>8.1f}"
        f"  load {figures['load']:.2f}" + (f"  [{'; '.join(flags)}]" if flags else "")
    )


def run() -> None:
    from bench.common import throwaway_database

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    servers: list[Gunicorn] = []
    with throwaway_database() as database_name:
        factory = LeadFactory(VERTICAL)
        factory.check()
        seller, secret = make_seller("bench-http-seller@gmail.com")
        generate_lead_table(seller, LIST_ROWS)
        try:
            _progress("reference app: database and server")
            reference = _reference_setup(log_dir)
            if reference is not None:
                servers.append(reference.start())
            project_env = {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_NAME": database_name,
                "RATE_LIMIT_ENABLED": "false",
                "PYTHONPATH": str(ROOT),
            }
            project = Gunicorn("project", "config.wsgi:application", ROOT, project_env, "/healthz", log_dir)
            servers.append(project.start())
            key_env = {"BENCH_API_KEY": secret}
            offsets = iter(range(1_000_000, 100_000_000, 1_000_000))
            tag = os.urandom(3).hex()

            def project_post(connections: int, seconds: int) -> dict:
                env = {**key_env, "BENCH_TEMPLATE": _project_template(factory, tag), "BENCH_OFFSET": str(next(offsets))}
                return wrk(
                    project.url + "/api/v1/leads/", lua=POST_LUA, env=env, connections=connections, seconds=seconds
                )

            def reference_post(connections: int, seconds: int) -> dict:
                env = {"BENCH_TEMPLATE": json.dumps(REFERENCE_LEAD), "BENCH_OFFSET": "0"}
                return wrk(
                    reference.url + "/api/leads/", lua=POST_LUA, env=env, connections=connections, seconds=seconds
                )

            def project_list(connections: int, seconds: int) -> dict:
                return wrk(
                    project.url + "/api/v1/leads/?page_size=50",
                    lua=GET_LUA,
                    env=key_env,
                    connections=connections,
                    seconds=seconds,
                )

            _progress("bids: 50 funded buyers, 101 auctions open for a day")
            from auctions.models import Auction
            from bench.auctions import BID_STEP, make_parties, open_long_auctions
            from verticals.models import Vertical

            vertical = Vertical.objects.get(slug=VERTICAL)
            auction_seller, buyers = make_parties(50)
            spread = open_long_auctions(auction_seller, vertical, 100)
            hot = open_long_auctions(auction_seller, vertical, 1)
            reserve = max(Auction.objects.filter(pk__in=spread + hot).values_list("reserve_price", flat=True))
            bid_env = {
                "BENCH_KEYS": ",".join(secret for _, secret in buyers),
                "BENCH_RESERVE": str(reserve),
                "BENCH_STEP": str(BID_STEP),
            }

            bid_runs = iter(range(0, 10**6, 20_000))  # each run's maxima start above the last run's

            def project_bids(auction_ids):
                def measure(connections: int, seconds: int) -> dict:
                    env = {
                        **bid_env,
                        "BENCH_AUCTIONS": ",".join(map(str, auction_ids)),
                        "BENCH_OFFSET": str(next(bid_runs)),
                    }
                    return wrk(project.url, lua=BID_LUA, env=env, connections=connections, seconds=seconds)

                return measure

            from django.test import Client

            browser = Client()
            browser.force_login(seller)
            page_env = {"BENCH_COOKIE": f"sessionid={browser.cookies['sessionid'].value}"}

            def project_page(connections: int, seconds: int) -> dict:
                return wrk(
                    project.url + "/seller/leads/", lua=PAGE_LUA, env=page_env, connections=connections, seconds=seconds
                )

            def reference_list(connections: int, seconds: int) -> dict:
                return wrk(
                    reference.url + "/api/leads/list/", lua=GET_LUA, env={}, connections=connections, seconds=seconds
                )

            pairs = [
                ("POST one lead, 32 connections", reference_post, project_post, 32),
                ("POST one lead, 4 connections", reference_post, project_post, 4),
                ("GET first page of a list (50 rows), 32 connections", reference_list, project_list, 32),
                (
                    "GET the seller's lead page (HTML, 50 rows), 32 connections (reference: list)",
                    reference_list,
                    project_page,
                    32,
                ),
                (
                    "POST a bid, 100 auctions, 32 connections (reference: POST)",
                    reference_post,
                    project_bids(spread),
                    32,
                ),
                (
                    "POST a bid, one hot auction, 32 connections (reference: POST)",
                    reference_post,
                    project_bids(hot),
                    32,
                ),
            ]
            results = []
            profile_dir = os.environ.get("BENCH_HTTP_PROFILE")
            only = os.environ.get("BENCH_HTTP_ONLY")
            for label, ref_fn, project_fn, connections in pairs:
                if only and only not in label:
                    continue
                _progress(label)
                ref = None
                if reference is not None:
                    ref_fn(connections, WARMUP)
                    ref = ref_fn(connections, DURATION)
                project_fn(connections, WARMUP)
                spy = _py_spy(project, label, profile_dir) if profile_dir else None
                mine = project_fn(connections, DURATION)
                if spy is not None:
                    spy.wait(timeout=120)
                results.append((label, ref, mine))
            bulk_rows = []
            if not only or "bulk" in only:
                from bench import leads as bench_leads

                _progress(f"bulk: {bench_leads.BULK_SIZE} leads per request, 1 and 4 clients")
                bench_leads.BULK_SEQUENTIAL_REQUESTS, bench_leads.BULK_CONCURRENT_REQUESTS = 8, 8
                bench_leads.bench_bulk_api(project, factory, secret)  # warm-up
                bulk_load, bulk_others = os.getloadavg()[0], _others()
                spy = _py_spy(project, "bulk 500 leads", profile_dir) if profile_dir else None
                bulk_rows = bench_leads.bench_bulk_api(project, factory, secret)
                if spy is not None:
                    spy.wait(timeout=120)

            from ledger.selectors import ledger_check

            books = ledger_check()
        finally:
            for server in servers:
                server.stop()
            if (REFERENCE / "refapp").is_dir():
                _psql(f"DROP DATABASE IF EXISTS {REFERENCE_DB} WITH (FORCE)")
    print(header("HTTP beside the reference app"))
    print(
        f"wrk 1 thread, {DURATION} s after a {WARMUP} s warm-up; both apps under gunicorn, {WORKERS} sync workers, "
        f"same PostgreSQL; {LIST_ROWS:,} rows in each list; times in ms (server logs: {log_dir})"
    )
    print(f"{'':<58} {'req/s':>8} {'p50':>8} {'p95':>8} {'p99':>8}")
    for label, ref, mine in results:
        if ref is not None:
            print(_line(f"{label}: reference", ref))
        print(_line(f"{label}: project", mine))
        if mine["outcomes"]:
            o = mine["outcomes"]
            print(f"{'':<4}bids: {o['accepted']} accepted, {o['too_low']} too_low, {o['other']} other refusals")
        if ref is not None:
            print(f"{'':<4}ratio project / reference: {mine['per_s'] / ref['per_s']:.2f} (req/s)")
    for r in bulk_rows:
        quiet = f"  [NOT QUIET: {bulk_others}]" if bulk_others else ""
        print(
            f"{r['benchmark']:<58} {r['per_s']:>8.0f} leads/s accepted ({r['requests']} requests, "
            f"p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms per request)  load {bulk_load:.2f}{quiet}"
        )
    print(f"ledger_check after the bids: {'ok' if books.ok else 'FAILED'}")
    for line in books.lines():
        print(f"   {line}")
