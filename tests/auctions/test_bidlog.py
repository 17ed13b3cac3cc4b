"""The hash-chained bid log: it verifies, it exposes tampering, the table is append-only."""

import copy
import hashlib
import json
from decimal import Decimal as D

import pytest
from django.db import DatabaseError, transaction

from auctions.bidlog import GENESIS_HASH, bid_log_verify
from auctions.choices import BidSource
from auctions.models import Bid
from auctions.selectors.auctions import bid_log_entries
from auctions.services.auctions import auction_close, bid_place
from tests.auctions.conftest import seconds

pytestmark = pytest.mark.django_db


@pytest.fixture
def bids(auction, buyers, t0):
    for at, (buyer, amount) in enumerate([(0, "20"), (1, "30"), (0, "35"), (2, "40.25")], start=1):
        bid_place(
            auction_id=auction.pk, buyer=buyers[buyer], max_amount=D(amount), source=BidSource.API, now=seconds(t0, at)
        )
    auction.refresh_from_db()
    return auction


def recompute(entries: list[dict]) -> str:
    """The verification docs/auctions.md gives, written out independently of auctions.bidlog."""
    prev = GENESIS_HASH
    for n, entry in enumerate(entries, start=1):
        body = {k: v for k, v in entry.items() if k != "hash"}
        digest = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        assert entry["sequence"] == n and entry["prev_hash"] == prev and entry["hash"] == digest
        prev = digest
    return prev


def test_the_log_chains_every_accepted_bid_up_to_the_auctions_head(bids, buyers):
    entries = bid_log_entries(auction=bids)
    assert len(entries) == 4 == bids.bid_count
    assert recompute(entries) == bids.log_head
    assert bid_log_verify(entries, expected_head=bids.log_head).ok
    assert entries[0]["prev_hash"] == GENESIS_HASH
    assert [e["price"] for e in entries] == ["10.000000", "20.500000", "30.500000", "35.500000"]
    assert entries[3]["max_amount"] == "40.250000" and entries[3]["leader"] == entries[3]["bidder"]
    text = json.dumps(entries)
    assert all(b.email not in text for b in buyers)
    assert entries[0]["bidder"] == entries[2]["bidder"] != entries[1]["bidder"]


def test_the_sale_keeps_the_final_digest(bids, t0):
    auction_close(auction_id=bids.pk, now=seconds(t0, 60))
    assert bids.sale.bid_log_digest == recompute(bid_log_entries(auction=bids))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e[1].update(max_amount="31.000000"),
        lambda e: e[2].update(price="1.000000"),
        lambda e: e[0].update(at="2020-01-01T00:00:00.000000Z"),
        lambda e: e.pop(1),
        lambda e: e.insert(1, e.pop(2)),
        lambda e: e.pop(),  # truncation: only the head shows it
    ],
)
def test_tampering_with_the_log_is_detected(bids, tamper):
    entries = copy.deepcopy(bid_log_entries(auction=bids))
    tamper(entries)
    assert not bid_log_verify(entries, expected_head=bids.log_head).ok


def test_rewriting_an_entry_and_its_hash_still_breaks_the_chain(bids):
    entries = copy.deepcopy(bid_log_entries(auction=bids))
    entries[1]["max_amount"] = "99.000000"
    entries[1]["hash"] = hashlib.sha256(
        json.dumps({k: v for k, v in entries[1].items() if k != "hash"}, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    result = bid_log_verify(entries, expected_head=bids.log_head)
    assert not result.ok and "entry 3" in result.error


def test_the_database_refuses_to_change_or_delete_a_bid(bids):
    with pytest.raises(DatabaseError), transaction.atomic():
        Bid.objects.filter(auction=bids).update(max_amount=D("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Bid.objects.filter(auction=bids).delete()
    assert Bid.objects.filter(auction=bids).count() == 4
