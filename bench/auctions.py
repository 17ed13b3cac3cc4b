"""The auctions suite (issue #4): bids per second, and how late 1,000 auctions closing in one minute close.

1. Bids over real HTTP: POST /api/v1/auctions/<id>/bids/ through `uvicorn --workers 2` (the
   server of bench.leads) and through `daphne` (the Procfile's web server, one process; uvicorn
   0.54 adds a ~40 ms floor to every request here, see docs/benchmarks.md), 32 clients with one
   persistent connection each, 50 funded buyers with API keys (round robin); one hot auction, then
   100 auctions (a random one per bid). Every bid states a maximum above every earlier one on its
   auction (a per-auction counter taken when the request is sent, steps of BID_STEP USDC), so a
   bid is refused only when later ones overtook it on the way to the auction's row lock
   (too_low). A 1-client run shows the per-request floor. Then the same bids with `bid_place`
   called directly from 1 and 32 threads of this process, each thread on its own PostgreSQL
   connection (no HTTP, no DRF). ledger_check() after the bids. The SQL of one bid
   (CaptureQueriesContext): bid_place alone, the HTTP view, and one close.
2. Close lateness: BENCH_AUCTIONS_CLOSES open auctions (default 1,000; issue #12 target 6 is
   6,000), each with two bids from funded buyers (a capture and two releases at close), written
   in bulk as auction_open and bid_place write them while their deadline is a day away; then
   their deadlines are moved to spread evenly over one minute starting CLOSE_LEAD_S ahead. Closes
   run as production runs them: each is queued as auction_open queues it on commit
   (auction_services._deadline_set: `auctions.close_auction` with eta=deadline), `celery beat`
   (config.settings CELERY_BEAT_SCHEDULE) sends the 5 s `auctions.close_due` sweep to a clock
   worker, and one worker consumes the auctions group's queues as the Procfile's
   `worker_auctions` (-c 4, prefetch 1). Lateness = closed_at - deadline, where closed_at is
   timezone.now() at the end of auction_close's work; the printout also gives the lateness to
   the close's last log line, just before its COMMIT, which path closed each auction (the
   workers' JSON logs), and the proof that each closed exactly once (close_counts).
   BENCH_AUCTIONS_PARTS=closes skips part 1.

   BENCH_AUCTIONS_CLOSE_MODES (comma-separated, default "both") adds runs with one path off:
   "eta" (no beat: the scheduled closes alone), "sweep" (no scheduled closes: beat's sweep alone).
   BENCH_AUCTIONS_PROFILE=<dir> records a py-spy flame graph (SVG) of the close worker's pool from
   the first deadline to the last (profiling slows the closes: the figures then do not count).

Figures are printed only; nothing here asserts a timing.
"""

import http.client
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bench.common import header, pct, print_table, row, stop_process_group, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
VERTICAL = "solar-residential"

BUYERS = 50
BUYER_FUNDS = Decimal("10000000")
CLIENTS = 32
HTTP_MAX_REQUESTS = 3000
HTTP_MAX_SECONDS = 15.0
SINGLE_CLIENT_REQUESTS = 200
SPREAD_AUCTIONS = 100
BID_STEP = Decimal("10")  # ≥ 2 increments at every level of the ladder (5.00 above 500 USDC)
SERVICE_THREADS = (1, 32)
SERVICE_MAX_BIDS = 2000
SERVICE_MAX_SECONDS = 10.0

PARTS = ("bids", "closes")
CLOSE_AUCTIONS = int(os.environ.get("BENCH_AUCTIONS_CLOSES", "1000"))
CLOSE_BUYERS = int(os.environ.get("BENCH_AUCTIONS_CLOSE_BUYERS", "200"))
CLOSE_LEAD_S = float(
    os.environ.get("BENCH_AUCTIONS_CLOSE_LEAD_S", "45")
)  # the first deadline, after the closes are queued
CLOSE_SPREAD_S = 60.0
CLOSE_WORKER_CONCURRENCY = 4  # Procfile: worker_auctions -c 4
CLOSE_WAIT_AFTER_LAST_S = 420.0
CLOSE_SERIAL = int(os.environ.get("BENCH_AUCTIONS_CLOSE_SERIAL", "300"))  # closes timed one after another in process


def _progress(message: str) -> None:
    print(f"[bench auctions {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _others() -> str:
    """What else runs on the machine (called while none of our servers or workers runs): pytest,
    other benchmarks, Celery, uvicorn and daphne processes."""
    mine = {os.getpid(), os.getppid()}  # this process and what started it (timeout, make)
    counts: Counter = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = " ".join(a.decode(errors="replace") for a in args if a)
        for name in ("pytest", "bench", "celery", "uvicorn", "daphne"):
            if name in text and "python" in text:
                counts[name] += 1
                break
    return ", ".join(f"{n} {name} process{'es' if n > 1 else ''}" for name, n in counts.items()) or "nothing else"


# ---------------------------------------------------------------- parties and auctions


def make_parties(n_buyers: int = BUYERS):
    """A seller and `n_buyers` funded buyers with API keys: (seller, [(buyer, secret)])."""
    from accounts.models import User
    from accounts.services import api_key_create
    from ledger.services import ledger_credit_user

    seller = User.objects.create_user(email="bench-auction-seller@gmail.com", password="x" * 20, is_seller=True)
    buyers = []
    for i in range(n_buyers):
        buyer = User.objects.create_user(email=f"bench-buyer-{i}@gmail.com", password="x" * 20, is_buyer=True)
        ledger_credit_user(user=buyer, amount=BUYER_FUNDS, idempotency_key=f"bench-fund-{buyer.pk}")
        buyers.append((buyer, api_key_create(user=buyer, name="bench").secret))
    return seller, buyers


def make_leads(seller, vertical, n: int) -> list[int]:
    """`n` scored leads of `seller` (bulk insert), ready for auction_open."""
    from django.utils import timezone

    from leads.choices import LeadSource, LeadStatus
    from leads.models import Lead

    now = timezone.now()
    leads = [
        Lead(
            vertical=vertical,
            seller=seller,
            source=LeadSource.API,
            state="CA",
            zip="94105",
            city="San Francisco",
            fields={},
            consent_text="I agree.",
            consent_at=now - timedelta(hours=1),
            consent_ip="203.0.113.7",
            status=LeadStatus.SCORED,
            quality_score=70,
            scored_at=now,
        )
        for _ in range(n)
    ]
    return [lead.pk for lead in Lead.objects.bulk_create(leads, batch_size=500)]


def open_long_auctions(seller, vertical, n: int) -> list[int]:
    """`n` auctions open for a day (an Ask with duration 24 h): no deadline during the bid runs."""
    from auctions.models import Ask
    from auctions.services.auctions import ask_create, auction_open

    if not Ask.objects.filter(seller=seller, vertical=vertical, active=True).exists():
        ask_create(seller=seller, vertical=vertical, duration_seconds=24 * 3600)
    return [auction_open(lead_id=lead_id).pk for lead_id in make_leads(seller, vertical, n)]


def bulk_open_auctions(seller, vertical, n: int, deadline: datetime) -> list[int]:
    """`n` open auctions in a few statements: what auction_open writes (the auction with the Ask's
    terms, the lead LISTED, its status change), without its broadcasts and queued close."""
    import secrets

    from django.db import transaction
    from django.utils import timezone

    from auctions.models import Auction
    from auctions.selectors.auctions import ask_terms_for_lead
    from leads.choices import LeadStatus
    from leads.models import Lead, LeadStatusChange

    now = timezone.now()
    lead_ids = make_leads(seller, vertical, n)
    terms = ask_terms_for_lead(lead=Lead.objects.select_related("vertical").get(pk=lead_ids[0]))
    with transaction.atomic():
        auctions = Auction.objects.bulk_create(
            [
                Auction(
                    lead_id=lead_id,
                    vertical=vertical,
                    seller_id=seller.pk,
                    ask=terms.ask,
                    reserve_price=terms.reserve_price,
                    buy_now_price=terms.buy_now_price,
                    duration_seconds=int((deadline - now).total_seconds()),
                    opened_at=now,
                    deadline=deadline,
                    log_salt=secrets.token_hex(16),
                    created_at=now,
                )
                for lead_id in lead_ids
            ],
            batch_size=500,
        )
        Lead.objects.filter(pk__in=lead_ids).update(status=LeadStatus.LISTED, updated_at=now)
        LeadStatusChange.objects.bulk_create(
            [
                LeadStatusChange(
                    lead_id=a.lead_id,
                    from_status=LeadStatus.SCORED,
                    to_status=LeadStatus.LISTED,
                    reason=f"auction {a.pk} opened",
                    at=now,
                )
                for a in auctions
            ],
            batch_size=500,
        )
    return [a.pk for a in auctions]


def make_close_buyers(n: int, tag: str) -> list:
    """`n` buyers (bulk insert, unusable passwords: they never log in) funded with BUYER_FUNDS each
    (one ledger credit per buyer, with its idempotency key)."""
    from accounts.models import User
    from ledger.choices import LedgerAccountKind
    from ledger.services import account_for, ledger_credit_user

    users = []
    for i in range(n):
        user = User(email=f"bench-close-{tag}-{i}@gmail.com", is_buyer=True)
        user.set_unusable_password()
        users.append(user)
    users = User.objects.bulk_create(users, batch_size=500)
    for user in users:
        ledger_credit_user(user=user, amount=BUYER_FUNDS, idempotency_key=f"bench-fund-{user.pk}")
        account_for(user=user, kind=LedgerAccountKind.USER_HELD)
    return users


def bulk_two_bids(auction_ids: list[int], buyers: list, reserve: Decimal) -> None:
    """What bid_place writes for two bids on each auction (the second buyer outbids the first), in
    bulk: the bid log entries (hash-chained), the standing maxima, one ledger hold per bid (key
    `bid:<bid id>`, as bid_place posts it) with the accounts' balances moved by the same sums,
    and the auctions' leader, price, counts and log head."""
    from django.db import transaction
    from django.db.models import Case, DecimalField, F, Value, When
    from django.utils import timezone

    from auctions import bidlog
    from auctions.choices import BidSource
    from auctions.models import Auction, AuctionBidder, Bid
    from auctions.pricing import proxy_price
    from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
    from ledger.choices import LedgerAccountKind, LedgerTransactionKind
    from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction

    now = timezone.now()
    auctions = list(Auction.objects.filter(pk__in=auction_ids).order_by("pk"))
    bids, bidders = [], []
    for i, auction in enumerate(auctions):
        first, second = buyers[i % len(buyers)], buyers[(i + 17) % len(buyers)]
        maxima: list[tuple] = []
        head = auction.log_head
        for sequence, (buyer, extra) in enumerate(((first, 5), (second, 10)), start=1):
            amount = reserve + extra
            ref = bidlog.bidder_pseudonym(salt=auction.log_salt, user_id=buyer.pk)
            maxima.insert(0, (amount, ref, buyer))
            price = proxy_price(reserve=auction.reserve_price, maxima=[m[0] for m in maxima])
            entry = bidlog.make_entry(
                auction_id=auction.pk,
                sequence=sequence,
                bidder=ref,
                max_amount=amount,
                price=price,
                leader=maxima[0][1],
                at=now,
                prev_hash=head,
            )
            head = entry["hash"]
            bids.append(
                Bid(
                    auction=auction,
                    buyer=buyer,
                    source=BidSource.API,
                    sequence=sequence,
                    bidder_ref=ref,
                    max_amount=amount,
                    previous_max=Decimal("0"),
                    price=price,
                    leader_ref=maxima[0][1],
                    created_at=now,
                    prev_hash=entry["prev_hash"],
                    hash=entry["hash"],
                )
            )
            bidders.append(
                AuctionBidder(
                    auction=auction,
                    buyer=buyer,
                    max_amount=amount,
                    held_amount=amount,
                    max_sequence=sequence,
                    bidder_ref=ref,
                    created_at=now,
                    updated_at=now,
                )
            )
        auction.leader_id, auction.price, auction.bid_count, auction.bidder_count = maxima[0][2].pk, price, 2, 2
        auction.log_head = head
    accounts = {
        (a.owner_id, a.kind): a.pk
        for a in LedgerAccount.objects.filter(
            owner_id__in={b.pk for b in buyers},
            kind__in=(LedgerAccountKind.USER_AVAILABLE, LedgerAccountKind.USER_HELD),
            reference="",
        )
    }
    with transaction.atomic():
        bids = Bid.objects.bulk_create(bids, batch_size=1000)
        AuctionBidder.objects.bulk_create(bidders, batch_size=1000)
        Auction.objects.bulk_update(
            auctions, ["leader", "price", "bid_count", "bidder_count", "log_head"], batch_size=1000
        )
        txns = LedgerTransaction.objects.bulk_create(
            [
                LedgerTransaction(
                    kind=LedgerTransactionKind.HOLD,
                    idempotency_key=f"bid:{bid.pk}",
                    memo=f"bid on auction {bid.auction_id}",
                    created_at=now,
                )
                for bid in bids
            ],
            batch_size=1000,
        )
        entries, deltas = [], defaultdict(Decimal)
        for bid, txn in zip(bids, txns, strict=True):
            available = accounts[(bid.buyer_id, LedgerAccountKind.USER_AVAILABLE)]
            held = accounts[(bid.buyer_id, LedgerAccountKind.USER_HELD)]
            entries += [
                LedgerEntry(transaction=txn, account_id=available, amount=-bid.max_amount, created_at=now),
                LedgerEntry(transaction=txn, account_id=held, amount=bid.max_amount, created_at=now),
            ]
            deltas[available] -= bid.max_amount
            deltas[held] += bid.max_amount
        LedgerEntry.objects.bulk_create(entries, batch_size=2000)
        usdc = DecimalField(max_digits=USDC_MAX_DIGITS, decimal_places=USDC_DECIMAL_PLACES)
        LedgerAccount.objects.filter(pk__in=deltas).update(
            balance=F("balance")
            + Case(
                *[When(pk=pk, then=Value(delta, output_field=usdc)) for pk, delta in deltas.items()], output_field=usdc
            )
        )


class Amounts:
    """Per-auction increasing maxima: reserve + BID_STEP × (k + 1) for the auction's k-th bid."""

    def __init__(self, auction_ids: list[int], reserve: Decimal, seed: int = 4):
        self.auction_ids = auction_ids
        self.reserve = reserve
        self.counters = {a: itertools.count() for a in auction_ids}
        self.next_request = itertools.count()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def take(self, n_buyers: int) -> tuple[int, int, Decimal]:
        """(auction id, buyer index, maximum) for the next bid."""
        with self.lock:
            i = next(self.next_request)
            auction_id = self.auction_ids[0] if len(self.auction_ids) == 1 else self.rng.choice(self.auction_ids)
            k = next(self.counters[auction_id])
        return auction_id, i % n_buyers, self.reserve + BID_STEP * (k + 1)


def _classify(status: int, body: bytes) -> str:
    if status == 201:
        return "accepted"
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        code = None
    return f"{status} {code}" if code else f"{status}"


# ---------------------------------------------------------------- 1. bids over HTTP


def _run_http_bids(
    port: int, clients: int, amounts: Amounts, buyers, max_requests: int, max_seconds: float, timeout: float = 60.0
) -> tuple[list[tuple[float, str]], float]:
    """`clients` threads, one persistent connection each; stop after `max_requests` or `max_seconds`.

    Returns ([(latency s, outcome)], wall seconds)."""
    results: list[tuple[float, str]] = []
    lock = threading.Lock()
    issued = itertools.count()
    gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        gate.wait()
        try:
            while time.perf_counter() < deadline[0]:
                with lock:
                    if next(issued) >= max_requests:
                        return
                auction_id, b, amount = amounts.take(len(buyers))
                body = json.dumps({"max_amount": f"{amount:f}"}).encode()
                begin = time.perf_counter()
                try:
                    conn.request(
                        "POST",
                        f"/api/v1/auctions/{auction_id}/bids/",
                        body=body,
                        headers={"Content-Type": "application/json", "Authorization": f"Api-Key {buyers[b][1]}"},
                    )
                    response = conn.getresponse()
                    outcome = _classify(response.status, response.read())
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                    outcome = f"error {type(exc).__name__}"
                elapsed = time.perf_counter() - begin
                with lock:
                    results.append((elapsed, outcome))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    begin = time.perf_counter()
    deadline[0] = begin + max_seconds
    gate.wait()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - begin


def _bid_row(label: str, results: list[tuple[float, str]], wall: float) -> tuple[dict, str]:
    outcomes = Counter(outcome for _, outcome in results)
    accepted = outcomes.pop("accepted", 0)
    result = row(label, len(results), [r[0] for r in results], per_s=accepted / wall if wall else 0.0)
    rejected = ", ".join(f"{n} {code}" for code, n in outcomes.most_common()) or "none"
    note = (
        f"{label}: {len(results)} bids in {wall:.1f} s = {len(results) / wall:.0f} requests/s; "
        f"accepted {accepted} ({accepted / max(1, len(results)):.0%}), refused: {rejected}"
    )
    return result, note


def _server_classes():
    from bench.leads import UvicornServer

    class DaphneServer(UvicornServer):
        """`daphne config.asgi:application` (the Procfile's web process: one process), same env as uvicorn."""

        def start(self) -> "DaphneServer":
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_NAME": self.database_name,
                "RATE_LIMIT_ENABLED": "false",
                "DATABASE_POOL": "true",
                "PYTHONPATH": str(ROOT),
                **self.extra_env,
            }
            self.log_path = self.log_path.with_name("daphne.log")
            self._log = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "config.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._wait_healthy()
            return self

    return (("uvicorn ×2", UvicornServer), ("daphne", DaphneServer))


def bench_http_bids(server, name: str, seller, vertical, buyers) -> tuple[list[dict], list[str]]:
    reserve = vertical.reserve_price
    rows, notes = [], []
    warm = open_long_auctions(seller, vertical, 1)
    _run_http_bids(server.port, CLIENTS, Amounts(warm, reserve), buyers, 96, 30)  # every worker warm

    single = open_long_auctions(seller, vertical, 1)
    results, wall = _run_http_bids(server.port, 1, Amounts(single, reserve), buyers, SINGLE_CLIENT_REQUESTS, 60)
    r, note = _bid_row(f"POST …/bids/ one auction, 1 client ({name})", results, wall)
    rows.append(r)
    notes.append(note)

    for label, ids in (
        ("one hot auction", open_long_auctions(seller, vertical, 1)),
        (f"{SPREAD_AUCTIONS} auctions", open_long_auctions(seller, vertical, SPREAD_AUCTIONS)),
    ):
        _progress(f"HTTP bids ({name}): {label}, {CLIENTS} clients")
        results, wall = _run_http_bids(
            server.port, CLIENTS, Amounts(ids, reserve), buyers, HTTP_MAX_REQUESTS, HTTP_MAX_SECONDS
        )
        r, note = _bid_row(f"POST …/bids/ {label}, {CLIENTS} clients ({name})", results, wall)
        rows.append(r)
        notes.append(note)
    return rows, notes


# ---------------------------------------------------------------- 1b. bid_place in process


def _run_service_bids(
    threads: int, amounts: Amounts, buyers, max_bids: int, max_seconds: float
) -> tuple[list[tuple[float, str]], float]:
    from django.db import connection

    from auctions.choices import BidSource
    from auctions.services.auctions import BidRejected, bid_place

    results: list[tuple[float, str]] = []
    lock = threading.Lock()
    issued = itertools.count()
    gate = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker():
        try:
            connection.ensure_connection()  # each thread its own connection, opened before the clock
            gate.wait()
            while time.perf_counter() < deadline[0]:
                with lock:
                    if next(issued) >= max_bids:
                        return
                auction_id, b, amount = amounts.take(len(buyers))
                begin = time.perf_counter()
                try:
                    bid_place(auction_id=auction_id, buyer=buyers[b][0], max_amount=amount, source=BidSource.API)
                    outcome = "accepted"
                except BidRejected as exc:
                    outcome = f"refused {exc.code}"
                except Exception as exc:  # noqa: BLE001 (counted and shown, not hidden)
                    outcome = f"error {type(exc).__name__}: {str(exc)[:80]}"
                elapsed = time.perf_counter() - begin
                with lock:
                    results.append((elapsed, outcome))
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    begin = time.perf_counter()
    deadline[0] = begin + max_seconds
    gate.wait()
    for thread in pool:
        thread.join()
    return results, time.perf_counter() - begin


def bench_service_bids(seller, vertical, buyers) -> tuple[list[dict], list[str]]:
    reserve = vertical.reserve_price
    rows, notes = [], []
    for threads in SERVICE_THREADS:
        cases = [("one hot auction", 1)] + ([(f"{SPREAD_AUCTIONS} auctions", SPREAD_AUCTIONS)] if threads > 1 else [])
        for label, n in cases:
            _progress(f"bid_place: {label}, {threads} thread(s)")
            ids = open_long_auctions(seller, vertical, n)
            results, wall = _run_service_bids(
                threads, Amounts(ids, reserve), buyers, SERVICE_MAX_BIDS, SERVICE_MAX_SECONDS
            )
            r, note = _bid_row(
                f"bid_place() {label}, {threads} thread{'s' if threads > 1 else ''} (in process)", results, wall
            )
            rows.append(r)
            notes.append(note)
    return rows, notes


# ---------------------------------------------------------------- 1c. what one bid costs in SQL


def _summarize(captured: list[dict]) -> list[str]:
    out = []
    for q in captured:
        sql = " ".join(q["sql"].split())
        out.append(f"{float(q['time']) * 1000:6.2f} ms  {sql[:150]}")
    return out


def bench_query_counts(seller, vertical, buyers) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from auctions.choices import BidSource
    from auctions.models import Auction
    from auctions.services.auctions import auction_close, bid_place

    reserve = vertical.reserve_price
    lines = []
    auction_id = open_long_auctions(seller, vertical, 1)[0]
    (b1, _), (b2, key2), (b3, _) = buyers[0], buyers[1], buyers[2]
    bid_place(auction_id=auction_id, buyer=b1, max_amount=reserve + 50, source=BidSource.API)
    with CaptureQueriesContext(connection) as first_bid:
        bid_place(auction_id=auction_id, buyer=b2, max_amount=reserve + 20, source=BidSource.API)
    with CaptureQueriesContext(connection) as raise_bid:
        bid_place(auction_id=auction_id, buyer=b2, max_amount=reserve + 60, source=BidSource.API)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key2}")
    with CaptureQueriesContext(connection) as http_bid:
        response = api.post(f"/api/v1/auctions/{auction_id}/bids/", {"max_amount": f"{reserve + 80:f}"}, format="json")
    assert response.status_code == 201, (response.status_code, response.content[:300])
    bid_place(auction_id=auction_id, buyer=b3, max_amount=reserve + 90, source=BidSource.API)
    Auction.objects.filter(pk=auction_id).update(deadline=Auction.objects.get(pk=auction_id).opened_at)
    with CaptureQueriesContext(connection) as close:
        auction_close(auction_id=auction_id)
    lines.append(
        f"SQL statements: bid_place, a new bidder's maximum: {len(first_bid)}; a raise by a bidder: "
        f"{len(raise_bid)}; POST /api/v1/auctions/<id>/bids/ (API key, DRF view, response body): "
        f"{len(http_bid)}; auction_close with 3 bidders (1 capture, 3 releases): {len(close)}"
    )
    lines.append("-- bid_place, a new bidder (CaptureQueriesContext; savepoints included):")
    lines += [f"   {line}" for line in _summarize(first_bid.captured_queries)]
    lines.append("-- POST …/bids/ (in-process APIClient, a raise), every statement:")
    lines += [f"   {line}" for line in _summarize(http_bid.captured_queries)]
    lines.append("-- auction_close, 3 bidders:")
    lines += [f"   {line}" for line in _summarize(close.captured_queries)]
    return lines


def ledger_lines() -> tuple[bool, list[str]]:
    from ledger.selectors import ledger_check

    report = ledger_check()
    return report.ok, [f"ledger_check: {'ok' if report.ok else 'FAILED'}", *[f"   {line}" for line in report.lines()]]


# ---------------------------------------------------------------- 2. close lateness


class BeatProcess:
    """`celery -A config beat` (the Procfile's beat) in its own process group."""

    def __init__(self, database_name: str, log_dir: Path, extra_env: dict | None = None):
        self.database_name = database_name
        self.log_path = log_dir / "beat.log"
        self.schedule = log_dir / "celerybeat-schedule"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    def start(self) -> "BeatProcess":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": self.database_name,
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--schedule",
                str(self.schedule),
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(2.0)
        if self.process.poll() is not None:
            raise RuntimeError(
                f"celery beat exited with {self.process.returncode}:\n"
                f"{self.log_path.read_text(errors='replace')[-3000:]}"
            )
        return self

    def stop(self) -> None:
        stop_process_group(self.process, getattr(self, "_log", None))


def _threaded(items: list, threads: int, fn) -> list:
    """fn(item) for every item from `threads` threads (own connections); results in item order."""
    from django.db import connection

    out: list = [None] * len(items)
    errors: list[BaseException] = []
    chunks = [list(range(i, len(items), threads)) for i in range(threads)]

    def run(indexes):
        try:
            for i in indexes:
                out[i] = fn(items[i])
        except BaseException as exc:  # noqa: BLE001 (re-raised below)
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(chunk,), daemon=True) for chunk in chunks]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    return out


def _close_paths(log_lines: list[dict]) -> tuple[dict[int, str], Counter, dict[int, datetime]]:
    """From the worker's JSON log: auction id -> task that closed it; how many of each task ran
    (and how many closed nothing); auction id -> the log line's timestamp.

    A pool process runs one task at a time and logs each close ("auction closed") before its
    task's "Task <name>[…] succeeded" line, so each close belongs to the next task line of its
    process."""
    pending: dict[int, list[int]] = defaultdict(list)
    closed_by: dict[int, str] = {}
    logged_at: dict[int, datetime] = {}
    tasks: Counter = Counter()
    for line in log_lines:
        message, process = line.get("message", ""), line.get("process")
        if message == "auction closed" and "auction_id" in line:
            pending[process].append(int(line["auction_id"]))
            logged_at[int(line["auction_id"])] = datetime.fromisoformat(line["ts"])
        elif message.startswith("Task auctions.") and (
            "succeeded" in message or "raised" in message or "retry" in message.lower()
        ):
            name = message.split("[", 1)[0].removeprefix("Task ")
            closes = pending.pop(process, [])
            tasks[name] += 1
            if not closes and name == "auctions.close_auction":
                tasks["auctions.close_auction (closed nothing)"] += 1
            if not closes and name == "auctions.close_due":
                tasks["auctions.close_due (closed nothing)"] += 1
            for auction_id in closes:
                closed_by[auction_id] = name
    return closed_by, tasks, logged_at


def _analyze() -> None:
    """This machine's PostgreSQL runs with autovacuum off: fresh statistics before measuring."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def close_counts(auction_ids: list[int], buyers: list, log_lines: list[dict]) -> tuple[bool, list[str]]:
    """Closed exactly once, from the database and the workers' logs: one Sale and one capture
    (`sale:<id>`) per sold auction, releases keyed `release:<id>:<buyer>` at most once per
    bidder, every AuctionBidder released with nothing held, the buyers' held accounts at zero,
    one "auction closed" log line per auction."""
    from django.db.models import Count, Sum

    from auctions.models import AuctionBidder, Sale
    from ledger.choices import LedgerAccountKind
    from ledger.models import LedgerAccount, LedgerTransaction

    ids = set(auction_ids)
    sales = Counter(Sale.objects.filter(auction_id__in=ids).values_list("auction_id", flat=True))
    keys = LedgerTransaction.objects.filter(idempotency_key__regex=r"^(sale|release):").values_list(
        "idempotency_key", flat=True
    )
    captures, releases = Counter(), Counter()
    for key in keys:
        parts = key.split(":")
        if int(parts[1]) in ids:
            (captures if parts[0] == "sale" else releases)[int(parts[1])] += 1
    unreleased = AuctionBidder.objects.filter(auction_id__in=ids).exclude(released_at__isnull=False, held_amount=0)
    held = LedgerAccount.objects.filter(owner__in=buyers, kind=LedgerAccountKind.USER_HELD).aggregate(
        total=Sum("balance"), n=Count("pk")
    )
    logged = Counter(int(line["auction_id"]) for line in log_lines if line.get("message") == "auction closed")
    twice = sorted(pk for pk in ids if logged[pk] > 1 or sales[pk] > 1 or captures[pk] > 1 or releases[pk] > 2)
    ok = not twice and not unreleased.exists() and held["total"] == 0
    return ok, [
        f"closed once: {len(ids)} auctions; {sum(sales.values())} sales, {sum(captures.values())} captures, "
        f"{sum(releases.values())} releases; 'auction closed' logged {sum(logged.values())} times "
        f"({sum(1 for pk in ids if logged[pk] == 1)} auctions once, {len(twice)} more than once"
        f"{': ' + ', '.join(map(str, twice[:10])) if twice else ''}); {unreleased.count()} bidders still held; "
        f"the {held['n']} buyers' held accounts sum to {held['total']:f} USDC — {'ok' if ok else 'FAILED'}"
    ]


def bench_close_lateness(database_name: str, log_dir: Path, vertical, mode: str) -> tuple[dict, list[str]]:
    import redis
    from django.conf import settings
    from django.utils import timezone

    from accounts.models import User
    from auctions.choices import AuctionStatus
    from auctions.models import Auction
    from auctions.services import auctions as auction_services
    from config.queues import WORKER_GROUPS
    from tests.workers import WorkerProcess

    notes: list[str] = []
    run_dir = log_dir / f"close-{mode}"
    run_dir.mkdir(parents=True, exist_ok=True)
    # Nothing queued by the bid runs (their 24 h closes) reaches this worker.
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    # The test profile's 20 s visibility timeout would redeliver every eta close held longer than
    # 20 s (all of them); production keeps the default 3600 s (config/settings/base.py).
    celery_env = {"CELERY_VISIBILITY_TIMEOUT": "3600"}
    load_before, others = _load(), _others()
    worker = WorkerProcess(
        database_name,
        run_dir,
        concurrency=CLOSE_WORKER_CONCURRENCY,
        extra_env=celery_env,
        queues=list(WORKER_GROUPS["auctions"]),
    )
    beat = BeatProcess(database_name, run_dir, extra_env=celery_env) if mode in ("both", "sweep") else None
    # The sweep runs in a process of its own (Procfile worker_clock), not behind the closes.
    clock = (
        WorkerProcess(database_name, run_dir, concurrency=1, extra_env=celery_env, queues=list(WORKER_GROUPS["clock"]))
        if beat
        else None
    )
    seller = User.objects.create_user(email=f"bench-close-{mode}@gmail.com", password="x" * 20, is_seller=True)
    buyers = make_close_buyers(CLOSE_BUYERS, mode)
    try:
        _progress(f"close lateness ({mode}): starting the worker{' and beat' if beat else ''}")
        worker.start()
        if beat:
            clock.start()
            beat.start()
        # Open (in bulk) and bid (bid_place) with a 24 h deadline and no close queued; then move the
        # deadlines into one minute CLOSE_LEAD_S ahead and queue each close the way auction_open
        # does (auction_services._schedule_close: auctions.close_auction, eta=deadline). Creation speed
        # (it varies with the machine's load) then cannot eat into the lead time.
        _progress(f"close lateness ({mode}): opening {CLOSE_AUCTIONS} auctions, two bids each (bulk)")
        begin = time.perf_counter()
        auction_ids = bulk_open_auctions(seller, vertical, CLOSE_AUCTIONS, timezone.now() + timedelta(days=1))
        opened_s = time.perf_counter() - begin
        begin = time.perf_counter()
        bulk_two_bids(auction_ids, buyers, vertical.reserve_price)
        bids_s = time.perf_counter() - begin
        _analyze()
        t0 = timezone.now()
        deadlines = [
            t0 + timedelta(seconds=CLOSE_LEAD_S + CLOSE_SPREAD_S * i / CLOSE_AUCTIONS) for i in range(CLOSE_AUCTIONS)
        ]
        auctions = list(Auction.objects.filter(pk__in=auction_ids).only("pk", "opened_at").order_by("pk"))
        by_pk = dict(zip(auction_ids, deadlines))
        for auction in auctions:
            auction.deadline = by_pk[auction.pk]
            auction.duration_seconds = int((auction.deadline - auction.opened_at).total_seconds())
        Auction.objects.bulk_update(auctions, ["deadline", "duration_seconds"], batch_size=1000)
        begin = time.perf_counter()
        if mode != "sweep":
            for auction_id, deadline in zip(auction_ids, deadlines):
                auction_services._deadline_set(auction_id, deadline)
        scheduled_s = time.perf_counter() - begin
        lead_left = (deadlines[0] - timezone.now()).total_seconds()
        notes.append(
            f"{mode}: opened in {opened_s:.1f} s + {2 * CLOSE_AUCTIONS} bids in {bids_s:.1f} s (bulk, what bid_place "
            f"writes) from {len(buyers)} funded buyers; deadlines {deadlines[0]:%H:%M:%S}–{deadlines[-1]:%H:%M:%S}; "
            + (
                f"{CLOSE_AUCTIONS} closes queued with eta=deadline in {scheduled_s:.1f} s "
                f"({lead_left:.0f} s before the first deadline)"
                if mode != "sweep"
                else "no scheduled closes (sweep only)"
            )
        )

        _progress(f"close lateness ({mode}): waiting for the closes (last deadline {deadlines[-1]:%H:%M:%S})")
        if os.environ.get("BENCH_AUCTIONS_PROFILE"):
            # py-spy over the close worker's pool from the first deadline to the last (+10 s).
            time.sleep(max(0.0, (deadlines[0] - timezone.now()).total_seconds()))
            out = Path(os.environ["BENCH_AUCTIONS_PROFILE"])
            out.mkdir(parents=True, exist_ok=True)
            spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(worker.process.pid)]
            spy += ["--subprocesses", "--rate", "100", "--nonblocking", "--duration", str(int(CLOSE_SPREAD_S + 10))]
            subprocess.Popen(
                [*spy, "--output", str(out / f"closes-{mode}.svg")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        give_up = deadlines[-1] + timedelta(seconds=CLOSE_WAIT_AFTER_LAST_S)
        open_left = CLOSE_AUCTIONS
        while timezone.now() < give_up:
            open_left = Auction.objects.filter(pk__in=auction_ids, status=AuctionStatus.OPEN).count()
            if not open_left:
                break
            time.sleep(1.0)
        time.sleep(3.0)  # let the last task lines reach the log
        load_after = _load()
    finally:
        if beat:
            beat.stop()
            clock.stop()
        worker.stop()

    rows = list(
        Auction.objects.filter(pk__in=auction_ids).values_list("pk", "deadline", "closed_at", "extensions", "result")
    )
    closed = [(pk, deadline, closed_at) for pk, deadline, closed_at, _, _ in rows if closed_at is not None]
    lateness = {pk: (closed_at - deadline).total_seconds() for pk, deadline, closed_at in closed}
    extended = sum(1 for _, _, _, ext, _ in rows if ext)
    results = Counter(result for *_, result in rows)
    log_lines = worker.json_lines() + (clock.json_lines() if clock else [])
    closed_by, tasks, logged_at = _close_paths(log_lines)
    once_ok, once_lines = close_counts(auction_ids, buyers, log_lines)
    label = {
        "both": "eta close + 5 s sweep (production)",
        "eta": "eta close only (no beat)",
        "sweep": "5 s sweep only (no eta close)",
    }[mode]
    samples = list(lateness.values())
    r = row(f"close lateness, {CLOSE_AUCTIONS:,} auctions in 60 s: {label}", len(samples), samples)
    r["once_ok"] = once_ok
    r["per_s"] = None
    r["max"] = max(samples) * 1000 if samples else float("nan")
    via = Counter(closed_by.get(pk, "not in the log") for pk in lateness)
    by_path = []
    for path, n in via.most_common():
        path_samples = [lateness[pk] for pk in lateness if closed_by.get(pk, "not in the log") == path]
        by_path.append(
            f"{n} by {path} (p50 {pct(path_samples, 0.5) * 1000:.0f} ms, "
            f"p95 {pct(path_samples, 0.95) * 1000:.0f} ms, max {max(path_samples) * 1000:.0f} ms)"
        )
    drift = [(logged_at[pk] - closed_at).total_seconds() for pk, _, closed_at in closed if pk in logged_at]
    done = [(logged_at[pk] - deadline).total_seconds() for pk, deadline, _ in closed if pk in logged_at]
    notes.append(
        f"{mode}: {len(closed)}/{CLOSE_AUCTIONS} closed ({dict(results)}), {open_left} still open at the "
        f"end; max lateness {r['max']:.0f} ms; {extended} auctions extended by soft close"
    )
    notes.append(f"{mode}: closed via: {'; '.join(by_path) or '—'}")
    notes += [f"{mode}: {line}" for line in once_lines]
    notes.append(f"{mode}: tasks run: {dict(tasks)}")
    if drift:
        notes.append(
            f"{mode}: closed_at is timezone.now() at the end of auction_close's work; "
            f'its "auction closed" log line (just before COMMIT) comes '
            f"{pct(drift, 0.5) * 1000:.0f} ms later at p50, {pct(drift, 0.95) * 1000:.0f} ms at p95, "
            f"{max(drift) * 1000:.0f} ms at most; lateness to "
            f"that line: p50 {pct(done, 0.5) * 1000:.0f} ms, p95 {pct(done, 0.95) * 1000:.0f} ms, "
            f"p99 {pct(done, 0.99) * 1000:.0f} ms, max {max(done) * 1000:.0f} ms"
        )
    notes.append(
        f"{mode}: {load_before} before, {load_after} after; also running when it started: {others}; logs: {run_dir}"
    )
    return r, notes


# ---------------------------------------------------------------- the suite


def print_lateness(rows: list[dict]) -> None:
    width = 72
    print(f"{'benchmark':<{width}} {'n':>6} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9}")
    for r in rows:
        print(
            f"{r['benchmark']:<{width}} {r['n']:>6} {r['p50']:>7.0f}ms {r['p95']:>7.0f}ms {r['p99']:>7.0f}ms "
            f"{r['max']:>7.0f}ms"
        )


def _log_to_file(path: Path) -> None:
    """This process's log lines (two per bid) go to a file, as the server's and workers' do, not the console."""
    import logging

    stream = open(path, "a")  # noqa: SIM115 (open for the life of the process)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(stream)


def close_query_lines(vertical) -> list[str]:
    """Every SQL statement of one close (two bidders: a capture and two releases), as the close
    run's auctions are set up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.models import User
    from auctions.models import Auction
    from auctions.services.auctions import auction_close

    seller = User.objects.create_user(email="bench-close-sql@gmail.com", password="x" * 20, is_seller=True)
    buyers = make_close_buyers(20, "sql")
    auction_ids = bulk_open_auctions(seller, vertical, 1, timezone.now() + timedelta(days=1))
    bulk_two_bids(auction_ids, buyers, vertical.reserve_price)
    Auction.objects.filter(pk__in=auction_ids).update(deadline=timezone.now())
    with CaptureQueriesContext(connection) as close:
        auction_close(auction_id=auction_ids[0])
    # The same close, one after another in this process: what one close costs on its own.
    auction_ids = bulk_open_auctions(seller, vertical, CLOSE_SERIAL, timezone.now() + timedelta(days=1))
    bulk_two_bids(auction_ids, buyers, vertical.reserve_price)
    Auction.objects.filter(pk__in=auction_ids).update(deadline=timezone.now())
    _analyze()
    wall, cpu = time.perf_counter(), time.process_time()
    for auction_id in auction_ids:
        auction_close(auction_id=auction_id)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return [
        f"auction_close one after another in one process: {CLOSE_SERIAL} closes in {wall:.2f} s = "
        f"{wall / CLOSE_SERIAL * 1000:.1f} ms each ({cpu / CLOSE_SERIAL * 1000:.1f} ms of this process's CPU), "
        f"{CLOSE_SERIAL / wall:.0f} closes/s",
        f"-- auction_close, 2 bidders (1 capture, 2 releases): {len(close)} statements (CaptureQueriesContext):",
        *[f"   {line}" for line in _summarize(close.captured_queries)],
    ]


def run() -> None:
    from verticals.models import Vertical

    log_dir = Path(tempfile.mkdtemp(prefix="bench-auctions-"))
    _log_to_file(log_dir / "bench-process.log")
    parts = [m.strip() for m in os.environ.get("BENCH_AUCTIONS_PARTS", ",".join(PARTS)).split(",") if m.strip()]
    if set(parts) - set(PARTS):
        raise SystemExit(
            f"BENCH_AUCTIONS_PARTS: unknown part(s) {', '.join(sorted(set(parts) - set(PARTS)))} (bids, closes)"
        )
    modes = [m.strip() for m in os.environ.get("BENCH_AUCTIONS_CLOSE_MODES", "both").split(",") if m.strip()]
    unknown = set(modes) - {"both", "eta", "sweep"}
    if unknown:
        raise SystemExit(f"BENCH_AUCTIONS_CLOSE_MODES: unknown mode(s) {', '.join(sorted(unknown))} (both, eta, sweep)")
    load_before, others = _load(), _others()
    with throwaway_database() as database_name:
        vertical = Vertical.objects.get(slug=VERTICAL)
        if "bids" in parts:
            run_bids(database_name, log_dir, vertical, load_before, others)
        if "closes" in parts:
            run_closes(database_name, log_dir, vertical, modes)
        print(f"(server and worker logs: {log_dir})")


def run_bids(database_name: str, log_dir: Path, vertical, load_before: str, others: str) -> None:
    _progress(f"{BUYERS} funded buyers with API keys")
    seller, buyers = make_parties()
    http_rows, http_notes = [], []
    for name, server_class in _server_classes():
        server = server_class(database_name, log_dir)
        try:
            _progress(f"starting {name}")
            server.start()
            more_rows, more_notes = bench_http_bids(server, name, seller, vertical, buyers)
            http_rows += more_rows
            http_notes += more_notes
        finally:
            server.stop()
    service_rows, service_notes = bench_service_bids(seller, vertical, buyers)
    ok, ledger = ledger_lines()
    query_lines = bench_query_counts(seller, vertical, buyers)
    print(header("auctions"))
    print(
        f"Bids: {BUYERS} buyers funded with {BUYER_FUNDS:,} USDC each, vertical {VERTICAL} (reserve "
        f"{vertical.reserve_price:f}); HTTP through `uvicorn --workers 2` and through `daphne` (the Procfile's "
        f"server, one process), DATABASE_POOL=true, rate limits off; "
        f"'per s' = accepted bids per second. {load_before} before ({others}), {_load()} after."
    )
    print_table(http_rows + service_rows, width=72)
    for note in http_notes + service_notes + ledger + query_lines:
        print(note)
    sys.stdout.flush()
    if not ok:
        raise SystemExit("the books do not balance after the bid runs")


def run_closes(database_name: str, log_dir: Path, vertical, modes: list[str]) -> None:
    from config.queues import WORKER_GROUPS

    query_lines = close_query_lines(vertical)
    lateness_rows, lateness_notes = [], []
    for mode in modes:
        r, notes = bench_close_lateness(database_name, log_dir, vertical, mode)
        lateness_rows.append(r)
        lateness_notes += notes
    ok, ledger = ledger_lines()
    print()
    print(
        f"Close lateness (closed_at - deadline): {CLOSE_AUCTIONS:,} auctions, deadlines spread evenly over "
        f"{CLOSE_SPREAD_S:.0f} s starting {CLOSE_LEAD_S:.0f} s after their closes are queued, 2 bids each from "
        f"{CLOSE_BUYERS} funded buyers; one worker -Q {','.join(WORKER_GROUPS['auctions'])} "
        f"-c {CLOSE_WORKER_CONCURRENCY} (prefork, prefetch 1) as the Procfile's worker_auctions; celery beat and "
        f"a -Q {','.join(WORKER_GROUPS['clock'])} -c 1 worker for the 5 s sweep."
    )
    print_lateness(lateness_rows)
    for note in lateness_notes + query_lines + ledger:
        print(note)
    if not ok or not all(r["once_ok"] for r in lateness_rows):
        raise SystemExit("the books do not balance, or an auction was not closed exactly once")
