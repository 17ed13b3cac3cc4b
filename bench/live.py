"""Live updates: WebSocket delivery latency from commit to client, several ASGI server processes,
our channel layer beside channels-redis's RedisPubSubChannelLayer, groups over two Redis servers.

For each layer in LIVE_LAYERS (default `ours,pubsub`: core.live_layer.LiveChannelLayer and
channels_redis.pubsub.RedisPubSubChannelLayer) the bench starts LIVE_SERVERS (default 4) uvicorn
processes, each on its own port to read its CPU and memory (LIVE_SERVERS=1 LIVE_WORKERS=4: one
port and `--workers 4`, as the Procfile's `ws` line), with the layer over two Redis
servers (TEST_REDIS's database 13 and a second redis-server the bench starts and stops). Then, for
each size in LIVE_SIZES (default 10,000 and 50,000; sockets are added to reach the next size),
LIVE_CLIENTS (default 4) client processes hold the sockets round robin over the servers (100
buyers, API-key auth, each socket subscribed to one of 50 verticals):

- events are committed at 10 per second for LIVE_SECONDS (default 20) to a vertical each in
  turn, through the same group_send_on_commit the auction services use; each client notes
  arrival time minus the commit time carried in the event;
- every socket joins one more vertical and LIVE_ALL_EVENTS (default 5) events go to all of them
  at once, 3 s apart; "last" is the time until the last socket had the event (worst event);
- lost = deliveries expected (sockets in the group when the event was sent) minus received;
- server CPU per delivery (from /proc, idle keep-alive work included) in both phases, and memory
  per connection: the servers' RSS growth since start-up divided by the sockets open.

    python -m bench live                                  # the quiet run: both layers, 10k and 50k
    LIVE_LAYERS=ours LIVE_SIZES=1000,5000 python -m bench live
    LIVE_SERVER=daphne python -m bench live               # daphne instead of uvicorn

50,000 sockets need 50,000 file descriptors on each side: spread over 4 servers and 4 clients
that is 12,500 per process; the bench raises its RLIMIT_NOFILE (inherited by the servers and
clients) to what one process needs, the hard limit too where it may (root with CAP_SYS_RESOURCE),
and opens the sockets from 8 loopback source addresses (≈28,000 ephemeral ports each).
"""

import multiprocessing
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis
from channels_redis.pubsub import RedisPubSubChannelLayer
from channels_redis.utils import _consistent_hash

from bench.common import header, pct, print_table, stop_process_group, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
VERTICALS = 50
BUYERS = 100
LAYERS = {
    "ours": "core.live_layer.LiveChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


class PubSubLayerWithSyncSend(RedisPubSubChannelLayer):
    """The bench's publisher for channels-redis's pub/sub layer: what its group_send does, from
    synchronous code without async_to_sync (a new event loop, layer and Redis connection per call
    cost it ~2-20 ms per event here, which is not the layer's fan-out). The servers run the
    layer itself; only this process publishes through this class."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_clients: dict[str, redis.Redis] = {}

    def group_send_sync(self, group: str, message: dict) -> None:
        hosts, prefix = self._kwargs["hosts"], self._kwargs.get("prefix", "asgi")
        channel = f"{prefix}__group__{group}"  # RedisPubSubLoopLayer._get_group_channel_name
        address = hosts[_consistent_hash(channel, len(hosts))]["address"]
        if address not in self._sync_clients:
            self._sync_clients[address] = redis.Redis.from_url(address)
        self._sync_clients[address].publish(channel, self.serialize(message))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile(want: int) -> int:
    """Raise this process's open-file limit to `want` (children inherit it): the soft limit up to
    the hard one, and the hard one too where allowed (root with CAP_SYS_RESOURCE, up to
    fs.nr_open). Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and want > hard:
        try:
            ceiling = int(Path("/proc/sys/fs/nr_open").read_text())
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, ceiling), min(want, ceiling)))
            return min(want, ceiling)
        except (OSError, ValueError):  # not allowed here: stay under the hard limit
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    return max(soft, want)


def _server_command(kind: str, port: int, workers: int = 1) -> list[str]:
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
            *(["--workers", str(workers)] if workers > 1 else []),
        ]
    return [sys.executable, *profile, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]


class Redis:
    """A redis-server of the bench's own (the layer's second host): no persistence."""

    def __init__(self):
        self.port = _free_port()
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--daemonize", "no", "--maxclients", "10000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.process, "redis-server")
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop_process_group(self.process)


def _wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Server:
    def __init__(self, kind: str, database: str, index: int, backend: str, redis_urls: list[str], workers: int = 1):
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": database,
            "DATABASE_POOL": "true",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "CHANNEL_LAYER_BACKEND": backend,
            "CHANNELS_REDIS_URL": ",".join(redis_urls),
        }
        self.log_path = Path(f"/tmp/leadengine-bench-live-{index}.log")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            _server_command(kind, self.port, workers),
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for_port(self.port, self.process, f"server (see {self.log_path})")

    def stop(self) -> None:
        stop_process_group(self.process, self.log)


def _pids(pid: int) -> list[int]:
    return [pid, *(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the server may fork), from /proc."""
    total = 0.0
    for p in _pids(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _rss_bytes(pid: int) -> int:
    total = 0
    for p in _pids(pid):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
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


def _publish(slug: str, event_id: int) -> float:
    """Commit a transaction that broadcasts one event on commit; the event carries the commit time.
    Returns how long the publishing took after the commit (the sender's share of the latency)."""
    from django.db import connection, transaction

    from core.broadcast import group_send_on_commit
    from core.groups import vertical_group

    payload = {"type": "bench.event", "id": event_id}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        transaction.on_commit(lambda: payload.__setitem__("t", time.time()))
        group_send_on_commit(group=vertical_group(slug), payload=payload)
    return time.time() - payload["t"]


class Clients:
    """LIVE_CLIENTS child processes holding the sockets; sockets are only ever added."""

    def __init__(self, count: int, servers: list[Server], keys: list[str], slugs: list[str]):
        from bench.live_client import client_main

        context = multiprocessing.get_context("spawn")
        self.servers, self.keys, self.slugs = servers, keys, slugs
        self.opened = 0  # sockets asked for so far (index of the next one)
        self.connected = 0
        self.members = dict.fromkeys(slugs, 0)  # connected sockets per vertical (the common one aside)
        self.children = []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=client_main, args=(child,))
            process.start()
            self.children.append((process, parent))

    def grow_to(self, n: int) -> tuple[int, list[str]]:
        sockets = [
            {
                "host": "127.0.0.1",
                "port": self.servers[i % len(self.servers)].port,
                # 127.0.0.0/8 is all loopback: several source addresses, ≈28,000 ports each
                "source": f"127.0.0.{2 + (i // len(self.servers)) % 8}",
                "key": self.keys[i % len(self.keys)],
                "verticals": [self.slugs[i % VERTICALS]],
            }
            for i in range(self.opened, n)
        ]
        self.opened = n
        count = len(self.children)
        for c, (_, conn) in enumerate(self.children):
            conn.send({"open": sockets[c::count]})
        replies = [conn.recv() for _, conn in self.children]
        for reply in replies:
            for slug, k in reply["verticals"].items():
                self.members[slug] += k
        self.connected += sum(r["ready"] for r in replies)
        return self.connected, [e for r in replies for e in r["errors"]]

    def ask(self, command: dict) -> list[dict]:
        for _, conn in self.children:
            conn.send(command)
        return [conn.recv() for _, conn in self.children]

    def stop(self) -> None:
        for _, conn in self.children:
            try:
                conn.send({"stop": True})
            except OSError:
                pass
        for process, _ in self.children:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()


def _measure(label: str, n: int, clients: Clients, servers: list[Server], rss_base: int, seconds, all_events):
    started = time.monotonic()
    before = clients.connected
    connected, errors = clients.grow_to(n)
    took = time.monotonic() - started
    rss = sum(_rss_bytes(s.process.pid) for s in servers) - rss_base
    print(
        f"  [{label}] {connected} sockets open ({connected - before} opened in {took:.1f} s, "
        f"{(connected - before) / max(took, 1e-9):.0f}/s); server RSS +{rss / 2**20:.0f} MiB since start-up, "
        f"{rss / max(connected, 1) / 1024:.1f} KiB per connection" + (f"; errors: {errors[:3]}" if errors else ""),
        flush=True,
    )
    slugs = clients.slugs
    expected: dict[int, int] = {}
    publish: list[float] = []
    clients.ask({"collect": True})  # start from nothing
    cpu_before = sum(_cpu_seconds(s.process.pid) for s in servers)
    t0, count = time.monotonic(), int(seconds * 10)
    for k in range(count):
        delay = t0 + k / 10 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        slug = slugs[k % VERTICALS]
        expected[k] = clients.members[slug]
        publish.append(_publish(slug, k))
    time.sleep(2)
    cpu_vertical = sum(_cpu_seconds(s.process.pid) for s in servers) - cpu_before
    deliveries = sum(expected.values())

    common = slugs[VERTICALS]
    joined = sum(r["subscribed"] for r in clients.ask({"subscribe": common}))
    time.sleep(1)
    cpu_before = sum(_cpu_seconds(s.process.pid) for s in servers)
    for j in range(all_events):
        time.sleep(3 if j else 0)
        expected[100_000 + j] = joined
        publish.append(_publish(common, 100_000 + j))
    time.sleep(3 + n / 10_000)
    cpu_all = sum(_cpu_seconds(s.process.pid) for s in servers) - cpu_before
    print(
        f"  [{label}] server CPU per delivery: {cpu_vertical * 1e6 / max(1, deliveries):.0f} µs over verticals, "
        f"{cpu_all * 1e6 / max(1, all_events * joined):.0f} µs one-to-all (idle work included); "
        f"publishing after commit p50 {pct(publish, 0.5) * 1000:.2f} ms",
        flush=True,
    )

    samples: dict[int, list[float]] = {}
    for reply in clients.ask({"collect": True}):
        for event_id, values in reply["samples"].items():
            samples.setdefault(int(event_id), []).extend(values)

    def figures(name: str, ids: list[int]) -> dict:
        values = [v for i in ids for v in samples.get(i, [])]
        return {
            "benchmark": f"{label}: {name}",
            "n": len(values),
            "per_s": None,
            "unit": "ms",
            "p50": pct(values, 0.50) * 1000,
            "p95": pct(values, 0.95) * 1000,
            "p99": pct(values, 0.99) * 1000,
            "lost": sum(expected[i] for i in ids) - len(values),
            "last": max((max(samples[i]) for i in ids if samples.get(i)), default=float("nan")) * 1000,
        }

    to_all = [i for i in expected if i >= 100_000]
    lasts = [max(samples[i]) * 1000 for i in to_all if samples.get(i)]
    print(f"  [{label}] one event to all {joined}: last socket after " + ", ".join(f"{v:.0f}" for v in lasts) + " ms")
    return [
        figures(f"{connected} sockets, 10/s over {VERTICALS} verticals", [i for i in expected if i < 100_000]),
        figures(f"{joined} sockets, one event to all (x{len(to_all)})", to_all),
    ]


def _run_layer(label, backend, database, kind, redis_urls, keys, slugs, sizes, seconds, all_events) -> list[dict]:
    from django.conf import settings
    from django.test import override_settings

    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    publisher = "bench.live.PubSubLayerWithSyncSend" if backend == LAYERS["pubsub"] else backend
    layers = {
        "default": {
            "BACKEND": publisher,
            "CONFIG": {**config, "hosts": [{**config["hosts"][0], "address": url} for url in redis_urls]},
        }
    }
    count, workers = int(os.environ.get("LIVE_SERVERS", "4")), int(os.environ.get("LIVE_WORKERS", "1"))
    servers = [Server(kind, database, i, backend, redis_urls, workers) for i in range(count)]
    clients = None
    try:
        time.sleep(2)
        rss_base = sum(_rss_bytes(s.process.pid) for s in servers)
        clients = Clients(int(os.environ.get("LIVE_CLIENTS", "4")), servers, keys, slugs)
        with override_settings(CHANNEL_LAYERS=layers):  # the publisher (this process) uses the layer too
            rows = []
            for n in sizes:
                rows.extend(_measure(label, n, clients, servers, rss_base, seconds, all_events))
            return rows
    finally:
        if clients is not None:
            clients.stop()
        for server in servers:
            server.stop()


def run() -> None:
    from django.conf import settings

    kind = os.environ.get("LIVE_SERVER", "uvicorn")
    sizes = [int(s) for s in os.environ.get("LIVE_SIZES", "10000,50000").split(",")]
    layers = [name.strip() for name in os.environ.get("LIVE_LAYERS", "ours,pubsub").split(",")]
    seconds = float(os.environ.get("LIVE_SECONDS", "20"))
    all_events = int(os.environ.get("LIVE_ALL_EVENTS", "5"))
    hosts = int(os.environ.get("LIVE_REDIS_HOSTS", "2"))
    servers, clients = int(os.environ.get("LIVE_SERVERS", "4")), int(os.environ.get("LIVE_CLIENTS", "4"))
    per_process = max(sizes) // min(servers, clients) + 1_000
    limit = raise_nofile(per_process)  # the servers and clients inherit it
    if limit < per_process:
        print(
            f"WARNING: {per_process} open files needed per process, the limit is {limit}: add LIVE_SERVERS/LIVE_CLIENTS"
        )
    print(
        header(
            f"live updates, {kind} x{os.environ.get('LIVE_SERVERS', '4')} (workers {os.environ.get('LIVE_WORKERS', '1')}), {os.environ.get('LIVE_CLIENTS', '4')} "
            f"client processes, {hosts} Redis host(s), layers {', '.join(layers)}, open files {limit}"
        )
    )
    extra = [Redis() for _ in range(hosts - 1)]
    redis_urls = [settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"], *(r.url for r in extra)]
    rows = []
    try:
        with throwaway_database() as database:
            keys, slugs = _setup()
            for label in layers:
                rows.extend(
                    _run_layer(
                        label,
                        LAYERS.get(label, label),
                        database,
                        kind,
                        redis_urls,
                        keys,
                        slugs,
                        sizes,
                        seconds,
                        all_events,
                    )
                )
    finally:
        for r in extra:
            r.stop()
    print_table(rows, width=70)
    for r in rows:
        print(f"  {r['benchmark']}: lost {r['lost']}, last {r['last']:.0f} ms")
