"""Live updates: WebSocket delivery latency from commit to client, two ASGI server processes.

For 1,000, 5,000 and 10,000 sockets spread over 50 verticals (100 buyers, API-key auth, each
socket subscribed to one vertical), events are committed at 10 per second for LIVE_SECONDS
(default 20) to a vertical each in turn, through the same group_send_on_commit the auction
services use; each client notes arrival time minus the commit time carried in the event. Then
every socket joins one more vertical and LIVE_ALL_EVENTS (default 5) events go to all of them at
once, 3 s apart. Lost = deliveries expected (sockets in the group when the event was sent)
minus received.

    python -m bench live                     # daphne, as in the Procfile
    LIVE_SERVER=uvicorn python -m bench live
    LIVE_SIZES=1000,5000 python -m bench live
"""

import multiprocessing
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.common import header, pct, print_table, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
VERTICALS = 50
BUYERS = 100
CLIENT_PROCESSES = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(kind: str, port: int) -> list[str]:
    profile = ["-m", "cProfile", "-o", f"/tmp/leadengine-live-{port}.prof"] if os.environ.get("LIVE_PROFILE") else []
    if kind == "uvicorn":
        return [
            sys.executable,
            *profile,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--lifespan",
            "off",
            "--ws",
            os.environ.get("LIVE_UVICORN_WS", "websockets"),
        ]
    return [sys.executable, *profile, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]


class Server:
    def __init__(self, kind: str, database: str, index: int):
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": database,
            "DATABASE_POOL": "true",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
        }
        self.log_path = Path(f"/tmp/leadengine-bench-live-{index}.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            _server_command(kind, self.port),
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited, see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the server may fork), from /proc."""
    total = 0.0
    for p in [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _setup() -> tuple[list[str], list[str]]:
    """100 buyers with API keys, and 51 subscribable vertical slugs (50 + one every socket joins)."""
    from accounts.services import api_key_create
    from tests.factories import UserFactory
    from verticals.choices import VerticalStatus
    from verticals.models import Vertical

    keys = [api_key_create(user=UserFactory(is_buyer=True), name="live bench").secret for _ in range(BUYERS)]
    slugs = list(
        Vertical.objects.filter(status=VerticalStatus.ACTIVE, exclusive_buyers__isnull=True)
        .order_by("slug")
        .values_list("slug", flat=True)[: VERTICALS + 1]
    )
    assert len(slugs) == VERTICALS + 1, f"need {VERTICALS + 1} active verticals, have {len(slugs)}"
    return keys, slugs


def _publish(slug: str, event_id: int) -> None:
    """Commit a transaction that broadcasts one event on commit; the event carries the commit time."""
    from django.db import connection, transaction

    from core.broadcast import group_send_on_commit
    from core.groups import vertical_group

    payload = {"type": "bench.event", "id": event_id}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        transaction.on_commit(lambda: payload.__setitem__("t", time.time()))
        group_send_on_commit(group=vertical_group(slug), payload=payload)


def _start_clients(n: int, servers: list[Server], keys: list[str], slugs: list[str]):
    from bench.live_client import client_main

    context = multiprocessing.get_context("spawn")
    sockets = [
        {
            "host": "127.0.0.1",
            "port": servers[i % len(servers)].port,
            "key": keys[i % len(keys)],
            "verticals": [slugs[i % VERTICALS]],
        }
        for i in range(n)
    ]
    clients = []
    for c in range(CLIENT_PROCESSES):
        parent, child = context.Pipe()
        process = context.Process(target=client_main, args=({"sockets": sockets[c::CLIENT_PROCESSES]}, child))
        process.start()
        clients.append((process, parent))
    ready = [conn.recv() for _, conn in clients]
    members = {slug: sum(1 for s in sockets if slug in s["verticals"]) for slug in slugs}
    return clients, ready, members


def _measure(n: int, servers, keys, slugs, seconds: float, all_events: int) -> list[dict]:
    started = time.monotonic()
    clients, ready, members = _start_clients(n, servers, keys, slugs)
    connected = sum(r["ready"] for r in ready)
    errors = [e for r in ready for e in r["errors"]]
    print(
        f"  {n} sockets: {connected} connected in {time.monotonic() - started:.1f} s"
        + (f"; errors: {errors[:3]}" if errors else ""),
        flush=True,
    )
    expected: dict[int, int] = {}
    t0, count = time.monotonic(), int(seconds * 10)
    for k in range(count):
        delay = t0 + k / 10 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        slug = slugs[k % VERTICALS]
        expected[k] = members[slug]
        _publish(slug, k)
    time.sleep(2)

    common = slugs[VERTICALS]
    for _, conn in clients:
        conn.send({"subscribe": common})
    joined = sum(conn.recv()["subscribed"] for _, conn in clients)
    time.sleep(1)
    cpu_before = sum(_cpu_seconds(s.process.pid) for s in servers)
    for j in range(all_events):
        time.sleep(3 if j else 0)
        expected[100_000 + j] = joined
        _publish(common, 100_000 + j)
    time.sleep(3)
    cpu = sum(_cpu_seconds(s.process.pid) for s in servers) - cpu_before
    print(
        f"  one event to all: the servers used {cpu * 1000:.0f} ms of CPU for {all_events} x {joined} deliveries "
        f"({cpu * 1e6 / max(1, all_events * joined):.0f} µs per delivery, idle time included)",
        flush=True,
    )

    samples: dict[int, list[float]] = {}
    for process, conn in clients:
        conn.send("stop")
        result = conn.recv()
        for event_id, values in result["samples"].items():
            samples.setdefault(int(event_id), []).extend(values)
        process.join(timeout=30)

    def figures(name: str, ids: list[int]) -> dict:
        values = [v for i in ids for v in samples.get(i, [])]
        lost = sum(expected[i] for i in ids) - len(values)
        r = {
            "benchmark": name,
            "n": len(values),
            "per_s": None,
            "unit": "ms",
            "p50": pct(values, 0.50) * 1000,
            "p95": pct(values, 0.95) * 1000,
            "p99": pct(values, 0.99) * 1000,
            "lost": lost,
        }
        return r

    per_vertical = [i for i in expected if i < 100_000]
    to_all = [i for i in expected if i >= 100_000]
    return [
        figures(f"{connected} sockets, 10 events/s over {VERTICALS} verticals", per_vertical),
        figures(f"{joined} sockets, one event to all (x{len(to_all)})", to_all),
    ]


def run() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    kind = os.environ.get("LIVE_SERVER", "daphne")
    sizes = [int(s) for s in os.environ.get("LIVE_SIZES", "1000,5000,10000").split(",")]
    seconds = float(os.environ.get("LIVE_SECONDS", "20"))
    all_events = int(os.environ.get("LIVE_ALL_EVENTS", "5"))
    print(header(f"live updates, {kind} x2, {CLIENT_PROCESSES} client processes"))
    with throwaway_database() as database:
        keys, slugs = _setup()
        servers = [Server(kind, database, i) for i in range(2)]
        try:
            rows = []
            for n in sizes:
                rows.extend(_measure(n, servers, keys, slugs, seconds, all_events))
        finally:
            for server in servers:
                server.stop()
    print_table(rows)
    for r in rows:
        print(f"  {r['benchmark']}: lost {r['lost']}")
