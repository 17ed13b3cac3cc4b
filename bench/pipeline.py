"""The pipeline end to end (issue #12, target 3): POST → scored → auction open under the Procfile.

`python -m bench pipeline` starts the Procfile's processes as the Procfile runs them — each line
read from the Procfile and run by the shell with its own arguments (web: gunicorn config.wsgi, 2
sync workers; worker_intake, worker_auctions, worker_settlement, worker_clock, worker_background;
beat) — on the test profile against the throwaway bench database and the test Redis (TEST_REDIS),
rate limits off, the production visibility timeout and retry backoff. Only `ws` is left out (no
socket is open; the broadcasts still go to the channel layer), and beat's schedule file is moved
into the run's log directory (the Procfile's /tmp path is shared by every checkout on a machine).

Setup: SELLERS sellers (daily caps raised by a SellerCap row, each with an API key), HISTORY leads
of history per seller (bench.leads.generate_lead_table), ANALYZE; leads for VERTICALS leaf
verticals, each valid for its vertical's schema and unique (phone, email, external id), so that no
lead is refused as a duplicate or capped.

Load: BENCH_PIPELINE_RATE leads/s (default 100) for BENCH_PIPELINE_SECONDS (default 300),
open loop: request i is due at t0 + i / rate whatever the answers before it; CLIENTS threads take
the next due request (a new connection each: gunicorn's sync workers close it after each answer),
so a slow answer does not lower the rate unless every client is waiting. Each 10 s: the length of
every Celery queue (Redis LLEN), the broker's reserved-but-unacknowledged messages (eta closes sit
there), and the leads created / scored / listed so far (database counts). After the last request
the pipeline gets up to DRAIN_S seconds to finish. Then, from the database: the achieved rate,
HTTP p50/p95, created_at → scored_at and created_at → the auction's opened_at p50/p95/p99, the
leads not listed (by status), and whether the queues grew (least-squares slope of the stage
queues' total over the run, and its last value).

BENCH_PIPELINE_PROFILE=<dir> records py-spy flame graphs (SVG) of web, worker_intake and
worker_auctions for the run (profiling slows them: figures then do not count).
Figures are printed only; nothing here asserts a timing.
"""

import http.client
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from bench.common import header, pct, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
RATE = float(os.environ.get("BENCH_PIPELINE_RATE", "100"))
SECONDS = float(os.environ.get("BENCH_PIPELINE_SECONDS", "300"))
CLIENTS = int(os.environ.get("BENCH_PIPELINE_CLIENTS", "32"))
SELLERS = 8
HISTORY = int(os.environ.get("BENCH_PIPELINE_HISTORY", "5000"))  # leads of history per seller
VERTICALS = ("solar-residential", "roofing-repair", "hvac-repair", "home-improvement-windows")
SAMPLE_S = 10.0
DRAIN_S = 60.0
PROCESSES = (
    "web",
    "worker_intake",
    "worker_auctions",
    "worker_settlement",
    "worker_clock",
    "worker_background",
    "beat",
)
PROFILED = ("web", "worker_intake", "worker_auctions")


def _progress(message: str) -> None:
    print(f"[bench pipeline {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def procfile() -> dict[str, str]:
    lines = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            lines[name.strip()] = command.strip()
    return lines


class ProcfileProcess:
    """One Procfile line, run by the shell (its ${VAR:-default} expansions) in its own process group."""

    def __init__(self, name: str, command: str, env: dict, log_dir: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ProcfileProcess":
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            ["bash", "-c", f"exec {self.command}"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        stop_process_group(self.process, getattr(self, "_log", None))


def _wait_web(web: ProcfileProcess, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        web.check()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status < 300:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"web did not answer /healthz:\n{web.log_path.read_text(errors='replace')[-3000:]}")


def _wait_workers(names: list[str], timeout: float = 90.0) -> None:
    from config.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = {name.split("@")[0] for reply in app.control.ping(timeout=1.0) or [] for name in reply}
        if all(n in answered for n in names):
            return
        time.sleep(0.5)
    raise RuntimeError(f"workers {names} did not all answer ping")


def _py_spy(process: ProcfileProcess, directory: str, seconds: float) -> subprocess.Popen:
    Path(directory).mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(process.process.pid), "--subprocesses"]
        + ["--duration", str(int(seconds)), "--rate", "100", "--nonblocking"]
        + ["--output", str(Path(directory) / f"pipeline-{process.name}.svg")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _setup() -> tuple[list[tuple[str, str]], dict]:
    """Sellers with API keys, their history, ANALYZE; a factory per vertical (checked)."""
    from django.db import connection

    from bench.leads import LeadFactory, generate_lead_table, make_seller

    factories = {}
    for slug in VERTICALS:
        factory = LeadFactory(slug)
        factory.check()
        factories[slug] = factory
    sellers = []
    for i in range(SELLERS):
        seller, secret = make_seller(f"bench-pipeline-seller-{i}@gmail.com")
        if HISTORY:
            generate_lead_table(seller, HISTORY)
        sellers.append((seller.email, secret))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return sellers, factories


def _bodies(sellers, factories, n: int) -> list[tuple[bytes, str]]:
    """n requests (body, API key): sellers and verticals in turn, every lead its own."""
    slugs = list(factories)
    out = []
    for i in range(n):
        out.append(
            (json.dumps(factories[slugs[i % len(slugs)]].make()).encode(), sellers[(i // len(slugs)) % len(sellers)][1])
        )
    return out


def _send(port: int, requests: list[tuple[bytes, str]], rate: float) -> tuple[list, float, float]:
    """Open loop: request i goes at t0 + i / rate. Returns ([(due, sent, answered, status, body)], t0, t_end)."""
    results: list = [None] * len(requests)
    counter = iter(range(len(requests)))
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.5

    def client():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            due = t0 + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body, key = requests[i]
            sent = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request(
                    "POST",
                    "/api/v1/leads/",
                    body=body,
                    headers={"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
                )
                response = conn.getresponse()
                status, answer = response.status, response.read()
            except OSError as exc:
                status, answer = 0, str(exc).encode()
            finally:
                conn.close()
            results[i] = (due, sent, time.perf_counter(), status, answer)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, t0, time.perf_counter()


class Monitor:
    """Each SAMPLE_S: LLEN of every Celery queue, the broker's unacked count, lead counts."""

    def __init__(self, since):
        import redis
        from django.conf import settings

        from config.queues import CELERY_TASK_QUEUES

        self.broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        self.queues = [q.name for q in CELERY_TASK_QUEUES]
        self.since = since
        self.samples: list[tuple[float, dict, int]] = []  # (t, {queue: length}, unacked)
        self.stop = threading.Event()
        self.began = time.perf_counter()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def counts(self) -> tuple[int, int, int]:
        from auctions.models import Auction
        from leads.models import Lead

        leads = Lead.objects.filter(created_at__gte=self.since)
        return (
            leads.count(),
            leads.filter(scored_at__isnull=False).count(),
            Auction.objects.filter(opened_at__gte=self.since).count(),
        )

    def sample(self) -> None:
        from django.db import connection

        lengths = {q: self.broker.llen(q) for q in self.queues}
        unacked = self.broker.hlen("unacked")
        t = time.perf_counter() - self.began
        self.samples.append((t, lengths, unacked))
        created, scored, listed = self.counts()
        connection.close()
        busy = ", ".join(f"{q} {n}" for q, n in lengths.items() if n) or "all empty"
        print(
            f"  t={t:5.0f} s  queues: {busy}; unacked {unacked}  |  leads created {created}, scored {scored}, "
            f"listed {listed}  load {os.getloadavg()[0]:.2f}",
            flush=True,
        )

    def _run(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            try:
                self.sample()
            except Exception as exc:  # noqa: BLE001 - a monitor must not end the run
                print(f"  monitor: {exc!r}", flush=True)

    def start(self) -> "Monitor":
        self.thread.start()
        return self

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _backend_pids(database_name: str) -> list[int]:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        return [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database_name])]


def cpu_snapshot(processes, database_name: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of every process of each Procfile entry, and of the PostgreSQL backends
    serving the bench database (by pid: a process that ends between two snapshots is left out)."""
    snapshot = {p.name: {pid: _cpu_seconds(pid) for pid in _group_pids(p.process.pid)} for p in processes}
    snapshot["postgres (bench database)"] = {pid: _cpu_seconds(pid) for pid in _backend_pids(database_name)}
    snapshot["redis-server"] = {pid: _cpu_seconds(pid) for pid in _redis_pids()}
    return snapshot


def _redis_pids() -> list[int]:
    """The test Redis server (TEST_REDIS's port), when it runs on this machine."""
    port = os.environ.get("TEST_REDIS", "127.0.0.1:6379").rsplit(":", 1)[-1]
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith("redis-server") and f":{port}" in cmdline:
                pids.append(int(entry.name))
    return pids


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    return {
        name: sum(seconds - before.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items())
        for name, pids in after.items()
    }


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


STAGE_QUEUES_OF_LEADS = ("leads.score", "auctions.open")


def run() -> None:
    from django.utils import timezone

    from auctions.models import Auction
    from bench.common import throwaway_database
    from bench.leads import _free_port
    from leads.models import Lead

    log_dir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    n = int(RATE * SECONDS)
    lines = procfile()
    with throwaway_database() as database_name:
        _progress(f"setup: {SELLERS} sellers with {HISTORY} leads of history each, ANALYZE")
        sellers, factories = _setup()
        requests = _bodies(sellers, factories, n + 200)
        warmup, requests = requests[:200], requests[200:]
        port = _free_port()
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": database_name,
            "RATE_LIMIT_ENABLED": "false",
            "PYTHONPATH": str(ROOT),
            "PORT": str(port),
            # Production's values (config/settings/base.py), not the test profile's short ones:
            # a 20 s visibility timeout would redeliver every auction close held for its deadline.
            "CELERY_VISIBILITY_TIMEOUT": "3600",
            "PIPELINE_RETRY_BACKOFF": "2",
        }
        processes = []
        for name in PROCESSES:
            command = lines[name]
            if name == "beat":
                command = re.sub(r"--schedule \S+", f"--schedule {shlex.quote(str(log_dir / 'celerybeat'))}", command)
            processes.append(ProcfileProcess(name, command, env, log_dir))
        by_name = {p.name: p for p in processes}
        try:
            _progress("starting " + ", ".join(PROCESSES) + f" (logs: {log_dir})")
            for process in processes:
                process.start()
            _wait_web(by_name["web"], port)
            _wait_workers(
                [
                    m.group(1)
                    for p in processes
                    if (m := re.search(r"-n (\w+)@", p.command)) is not None and p.name.startswith("worker")
                ]
            )
            _progress("warm-up: 200 leads at 20/s")
            _send(port, warmup, 20.0)
            time.sleep(5)
            for process in processes:
                process.check()
            since = timezone.now()
            load_before = os.getloadavg()[0]
            cpu_before = cpu_snapshot(processes, database_name)
            monitor = Monitor(since).start()
            counts_before = monitor.counts()
            spies = []
            if os.environ.get("BENCH_PIPELINE_PROFILE"):
                spies = [_py_spy(by_name[p], os.environ["BENCH_PIPELINE_PROFILE"], SECONDS) for p in PROFILED]
            _progress(f"sending {n} leads at {RATE:.0f}/s for {SECONDS:.0f} s ({CLIENTS} clients)")
            results, t0, t_end = _send(port, requests[:n], RATE)
            sent_s = t_end - t0
            cpu = cpu_used(cpu_before, cpu_snapshot(processes, database_name))
            monitor_counts = monitor.counts()
            created_ids = [json.loads(r[4])["id"] for r in results if r[3] == 201]
            _progress(f"sent in {sent_s:.1f} s; waiting up to {DRAIN_S:.0f} s for the pipeline to finish")
            queues_at_end = monitor.samples[-1] if monitor.samples else None
            drain_began = time.perf_counter()
            while time.perf_counter() - drain_began < DRAIN_S:
                waiting = Lead.objects.filter(pk__in=created_ids, status__in=("received", "scored")).count()
                if not waiting:
                    break
                time.sleep(1.0)
            drained_s = time.perf_counter() - drain_began
            monitor.sample()
            monitor.halt()
            for spy in spies:
                spy.kill()
            load_after = os.getloadavg()[0]
            for process in processes:
                process.check()
        finally:
            for process in reversed(processes):
                process.stop()

        # ---------------------------------------------------------------- figures from the database
        leads = {
            pk: (created, scored, status)
            for pk, created, scored, status in Lead.objects.filter(pk__in=created_ids).values_list(
                "pk", "created_at", "scored_at", "status"
            )
        }
        opened = dict(Auction.objects.filter(lead_id__in=created_ids).values_list("lead_id", "opened_at"))
        to_scored = [(s - c).total_seconds() for c, s, _ in leads.values() if s is not None]
        to_listed = [(opened[pk] - c).total_seconds() for pk, (c, _, _) in leads.items() if pk in opened]
        not_listed = Counter(status for pk, (_, _, status) in leads.items() if pk not in opened)
        statuses = Counter(r[3] for r in results)
        http_s = [r[2] - r[1] for r in results if r[3] == 201]
        lateness = [r[1] - r[0] for r in results]
        errors = [r for r in results if r[3] != 201]
        dead_letters = _dead_letters()

    stage_total = [(t, sum(q[name] for name in STAGE_QUEUES_OF_LEADS)) for t, q, _ in monitor.samples]
    sending = [(t, y) for t, y in stage_total if t <= sent_s + 1]
    slope = _slope(sending)
    all_total = [(t, sum(q.values())) for t, q, _ in monitor.samples]
    others = {k: v for k, v in statuses.items() if k != 201}
    print(header("the pipeline end to end under the Procfile"))
    print(
        f"{RATE:.0f} leads/s asked for {SECONDS:.0f} s, open loop, {CLIENTS} clients; Procfile: "
        + ", ".join(PROCESSES)
        + f"; {SELLERS} sellers × {len(VERTICALS)} verticals, {HISTORY} leads of history per seller (logs: {log_dir})"
    )
    print(f"load average (1 min) at the start of sending {load_before:.2f}, at the end {load_after:.2f}")
    print(
        f"sent {len(results)} in {sent_s:.1f} s: achieved {len(results) / sent_s:.1f} leads/s; "
        f"{statuses.get(201, 0)} created (201), others: {others or 'none'}; "
        f"sending behind schedule p95 {pct(lateness, 0.95) * 1000:.0f} ms, max {max(lateness) * 1000:.0f} ms"
    )
    for status, _answer in Counter((r[3], r[4][:200]) for r in errors).most_common(3):
        print(f"   {status}: {_answer.decode(errors='replace')}")
    print(f"{'':<36} {'n':>7} {'p50':>9} {'p95':>9} {'p99':>9}")
    for label, samples, scale, unit in (
        ("HTTP POST /api/v1/leads/ (201)", http_s, 1000, "ms"),
        ("created → scored", to_scored, 1, "s"),
        ("created → listed (auction open)", to_listed, 1, "s"),
    ):
        print(
            f"{label:<36} {len(samples):>7} "
            + " ".join(f"{pct(samples, q) * scale:>7.{0 if unit == 'ms' else 2}f}{unit:>2}" for q in (0.5, 0.95, 0.99))
        )
    print(
        f"not listed within {DRAIN_S:.0f} s after the last request: {sum(not_listed.values())}"
        + (f" ({dict(not_listed)})" if not_listed else "")
        + f"; the pipeline finished {drained_s:.0f} s after the last request; dead letters: {dead_letters}"
    )
    created_n, scored_n, listed_n = (
        after - before for after, before in zip(monitor_counts, counts_before, strict=True)
    )
    print(
        f"CPU while sending ({sent_s:.0f} s; in that window {created_n} leads created, {scored_n} scored, "
        f"{listed_n} listed): CPU s, cores busy, ms per lead created / scored"
    )
    for name, seconds in cpu.items():
        print(
            f"   {name:<28} {seconds:>7.1f} s  {seconds / sent_s:>5.2f} cores  "
            f"{seconds * 1000 / max(created_n, 1):>6.1f} / {seconds * 1000 / max(scored_n, 1):>6.1f} ms"
        )
    print(
        f"stage queues (leads.score + auctions.open) while sending: slope {slope:+.2f} messages/s, "
        f"last sample {sending[-1][1] if sending else 'n/a'}, max {max((y for _, y in sending), default=0)}; "
        f"all queues at the end of sending: {sum(queues_at_end[1].values()) if queues_at_end else 'n/a'}, "
        f"max over the run {max((y for _, y in all_total), default=0)} → "
        + (
            "GREW"
            if slope * sent_s > RATE or (sending and sending[-1][1] > 2 * RATE)
            else "not growing (more than 2 s of leads waiting at the end of sending counts as growing)"
        )
    )


def _dead_letters() -> int:
    from core.models import DeadLetter

    return DeadLetter.objects.count()
