"""The settlement suite (issue #5): sales settled per second end to end on anvil —
auction closed → escrow funded on chain → LeadNFT minted to the buyer's address.

SALES open auctions (one bid each, from BUYERS buyers whose USDC is in the vault) are prepared
first. Then, timed: CLOSE_THREADS threads close them (auction_close, as the close worker does) and
each closing thread runs the sale's escrow.settle step right after (settlement_fund: the
ChainTransaction with its nonce, broadcast on commit), while one more thread plays the beat at full
speed (chain.poll_txs then escrow.advance: confirmations, mint batches of CHAIN_MINT_BATCH flushed
when full or after CHAIN_MINT_FLUSH_SECONDS, minted). Settled = the sale's settlement is `minted`.
Prints the rate over the whole run and per-sale latency (sale closed → escrow funded → minted).
Needs anvil on CHAIN_RPC_URL (`make bench` starts it); the contracts are deployed afresh into the
throwaway database's records. Figures are printed only.
"""

import os
import sys
import threading
import time
from decimal import Decimal

from bench.common import header, print_table, row, throwaway_database

SALES = int(os.environ.get("BENCH_SETTLEMENT_SALES", "200"))
BUYERS = 10
PRICE = Decimal("25")
CLOSE_THREADS = 4
TIMEOUT_S = 600.0


def _progress(message: str) -> None:
    print(f"[bench settlement {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _prepare(sales: int) -> list[int]:
    from django.utils import timezone

    from auctions.services.auctions import bid_place
    from tests.auctions.factories import funded_buyer, make_auction, make_vertical
    from tests.escrow.settlement_helpers import deploy, vault_deposit

    deploy()
    buyers = []
    per_buyer = PRICE * (sales // BUYERS + 1)
    for _ in range(BUYERS):
        buyer = funded_buyer(per_buyer)
        vault_deposit(buyer, per_buyer)
        buyers.append(buyer)
    vertical = make_vertical(reserve_price=PRICE)
    ids = []
    for i in range(sales):
        auction = make_auction(vertical=vertical, now=timezone.now())
        bid_place(auction_id=auction.pk, buyer=buyers[i % BUYERS], max_amount=PRICE)
        ids.append(auction.pk)
    return ids


def _measure(auction_ids: list[int]) -> dict:
    from django.db import connection
    from django.utils import timezone

    from auctions.models import Auction
    from auctions.services.auctions import auction_close
    from chain.transactions import chain_tx_poll_pending
    from escrow.models import MintBatch, Settlement
    from escrow.services.settlement import settlement_advance, settlement_fund

    deadline = max(Auction.objects.values_list("deadline", flat=True))
    queue = list(auction_ids)
    lock = threading.Lock()
    closed_at: dict[int, float] = {}
    stop = threading.Event()

    def closer():
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    auction_id = queue.pop()
                auction = auction_close(auction_id=auction_id, now=max(deadline, timezone.now()))
                sale_id = auction.sale.pk
                closed_at[sale_id] = time.time()
                settlement_fund(sale_id=sale_id)
        finally:
            connection.close()

    def beat():
        try:
            while not stop.is_set():
                chain_tx_poll_pending()
                settlement_advance()
        finally:
            connection.close()

    start = time.time()
    threads = [threading.Thread(target=closer) for _ in range(CLOSE_THREADS)]
    beater = threading.Thread(target=beat)
    for t in (*threads, beater):
        t.start()
    for t in threads:
        t.join()
    closed = time.time()
    _progress(f"{len(closed_at)} auctions closed and funding sent in {closed - start:.1f} s")
    while time.time() - start < TIMEOUT_S:
        if Settlement.objects.filter(state=Settlement.State.MINTED).count() == len(auction_ids):
            break
        time.sleep(0.2)
    end = time.time()
    stop.set()
    beater.join()
    rows = list(Settlement.objects.values_list("sale_id", "state", "funded_at", "minted_at"))
    minted = [r for r in rows if r[1] == Settlement.State.MINTED]
    funding = [r[2].timestamp() - closed_at[r[0]] for r in minted]
    to_mint = [r[3].timestamp() - closed_at[r[0]] for r in minted]
    batches = list(MintBatch.objects.filter(status=MintBatch.Status.CONFIRMED).values_list("size", "gas_used"))
    return {
        "start": start,
        "end": end,
        "closed": closed,
        "minted": len(minted),
        "funding": funding,
        "to_mint": to_mint,
        "batches": batches,
    }


def run() -> None:
    from django.conf import settings

    from chain.client import ChainUnavailable, chain_status

    print(header("settlement"))
    try:
        chain_status()
    except ChainUnavailable as exc:
        print(f"skipped: {exc}")
        return
    with throwaway_database():
        settings.CHAIN_SETTLEMENT = False  # the closing threads run the settle step themselves
        _progress(f"preparing {SALES} auctions, {BUYERS} buyers funded in the vault")
        ids = _prepare(SALES)
        _progress("closing and settling")
        result = _measure(ids)
    elapsed = result["end"] - result["start"]
    n = result["minted"]
    sizes = [s for s, _ in result["batches"]]
    gas = [g / s for s, g in result["batches"] if g]
    print(
        f"{n} of {SALES} sales settled (escrow funded and LeadNFT minted) in {elapsed:.1f} s: "
        f"{n / elapsed:.1f} sales/s end to end; closes + funding sent took {result['closed'] - result['start']:.1f} s"
    )
    print(
        f"mint batches: {len(sizes)} (sizes {sorted(sizes)}), gas per token "
        f"{min(gas, default=0):,.0f}–{max(gas, default=0):,.0f}; CHAIN_MINT_BATCH {settings.CHAIN_MINT_BATCH}, "
        f"flush after {settings.CHAIN_MINT_FLUSH_SECONDS} s, {CLOSE_THREADS} closing threads, 1 beat thread"
    )
    print_table(
        [
            row(
                "sale closed → escrow funded (confirmed, seen by advance)",
                n,
                result["funding"],
                unit="ms",
                per_s=n / elapsed if elapsed else None,
            ),
            row(
                "sale closed → LeadNFT minted (confirmed, seen by advance)",
                n,
                result["to_mint"],
                unit="ms",
                per_s=n / elapsed if elapsed else None,
            ),
        ]
    )
