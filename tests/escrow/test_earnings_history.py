"""A seller's earnings sale by sale and day by day, on anvil and PostgreSQL with real sales: one
released, one refunded in full, one partly refunded and then released, one disputed and one still in
escrow each show their status and money on the earnings page, in the API and on the wallet card;
the totals per day (in the seller's time zone) and vertical are the sums of the rows; the pending
earnings of a partly refunded sale split what the deal still holds."""

import html
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auctions.models import Sale
from escrow.models import Settlement
from escrow.selectors import earnings as earnings_selectors
from escrow.selectors import earnings_history
from escrow.services.disputes import dispute_offer_reply, dispute_open, dispute_outcome_apply, dispute_respond
from escrow.services.settlement import release_split
from tests.auctions.factories import make_vertical
from tests.escrow.dispute_helpers import after_window, minted_sale, png
from tests.escrow.settlement_helpers import settle_rounds
from tests.escrow.test_purchases_api import client_for
from tests.escrow.test_settlement import contracts  # noqa: F401 - the fixture
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
OWNER = "0x00000000000000000000000000000000000000Aa"
ZONE = "America/Los_Angeles"


def _open(sale):
    return dispute_open(
        buyer=sale.buyer, sale_id=sale.pk, reason="invalid_phone", statement="Disconnected.", files=[png()]
    )


def _apply(dispute) -> None:
    dispute_outcome_apply(dispute_id=dispute.pk)
    settle_rounds(3)
    dispute_outcome_apply(dispute_id=dispute.pk)


@pytest.fixture
def book(contracts):  # noqa: F811
    """Five sales at 40 USDC of one seller (time zone Los Angeles) in two verticals: `owned` (an
    owner: 5 % fee + 2 % royalty) and `plain` (5 % fee)."""
    seller = UserFactory(is_seller=True, time_zone=ZONE)
    owned = make_vertical(slug="owned", name="Owned Leads", reserve_price=D("40"), owner_address=OWNER)
    plain = make_vertical(slug="plain", name="Plain Leads", reserve_price=D("40"))

    released, s_released = minted_sale(price=D("40"), vertical=owned, seller=seller)
    partly, s_partly = minted_sale(price=D("40"), vertical=plain, seller=seller)
    d = _open(partly)
    dispute_respond(seller=seller, dispute_id=d.pk, response="offer", offer_amount="12.5", statement="")
    _apply(dispute_offer_reply(buyer=partly.buyer, dispute_id=d.pk, accept=True))
    # Before its release: the pending earnings split what the deal still holds (27.5 USDC).
    pending = earnings_selectors.earnings_pending_for_seller(seller=seller)
    row = next(s for s in pending.sales if s.sale_id == partly.pk)
    s_partly.refresh_from_db()
    legs = [amount for _, amount, _ in release_split(settlement=Settlement.objects.get(pk=s_partly.pk))]
    assert (row.refunded, row.platform_fee, row.expected_net) == (D("12.5"), D("1.375"), D("26.125"))
    assert legs == [row.expected_net, row.platform_fee]
    assert pending.total_refunded == D("12.5")
    assert pending.total_expected_net == sum(s.expected_net for s in pending.sales)
    assert pending.total_fees == sum(s.platform_fee + s.vertical_royalty for s in pending.sales)

    settle_rounds(3, now=max(after_window(s_released), after_window(s_partly)))  # both released
    for s in (s_released, s_partly):
        s.refresh_from_db()
        assert s.state == Settlement.State.RELEASED, s.error

    refunded, _ = minted_sale(price=D("40"), vertical=owned, seller=seller)
    d = _open(refunded)
    _apply(dispute_respond(seller=seller, dispute_id=d.pk, response="accept"))
    disputed, _ = minted_sale(price=D("40"), vertical=plain, seller=seller)
    dispute = _open(disputed)
    in_escrow, _ = minted_sale(price=D("40"), vertical=owned, seller=seller)
    assert Settlement.objects.get(sale=refunded).state == Settlement.State.REFUNDED

    # The released sale was made just before midnight in Los Angeles yesterday: a UTC day later.
    today = earnings_history.seller_today(seller)
    late = datetime.combine(today, time.min, tzinfo=earnings_history.seller_zone(seller)) - timedelta(minutes=30)
    Sale.objects.filter(pk=released.pk).update(created_at=late)
    return {
        "seller": seller,
        "today": today,
        "dispute": dispute,
        "sales": {
            "released": released,
            "refunded": refunded,
            "partly_refunded": partly,
            "disputed": disputed,
            "in_escrow": in_escrow,
        },
    }


# status, price, refunded, fees, bounties, net, paid
EXPECTED = {
    "released": ("released", "40", "0", "2.8", "0", "37.2", True),
    "refunded": ("refunded", "40", "40", "0", "0", "0", False),
    "partly_refunded": ("partly_refunded", "40", "12.5", "1.375", "0", "26.125", True),
    "disputed": ("disputed", "40", "0", "2", "0", "38", False),
    "in_escrow": ("in_escrow", "40", "0", "2.8", "0", "37.2", False),
}


def test_each_sale_has_its_status_and_money_in_the_selector_the_api_and_the_page(book, client):
    seller, sales = book["seller"], book["sales"]
    rows = {
        r.sale_id: r
        for r in earnings_history.earning_sales(earnings_history.earnings_queryset(seller=seller).order_by("-id"))
    }
    assert set(rows) == {s.pk for s in sales.values()}
    for name, sale in sales.items():
        r = rows[sale.pk]
        status, price, refunded, fees, bounties, net, paid = EXPECTED[name]
        assert (r.status, r.price, r.refunded, r.fees, r.bounties, r.net, r.paid) == (
            status,
            D(price),
            D(refunded),
            D(fees),
            D(bounties),
            D(net),
            paid,
        ), name
    assert rows[sales["released"].pk].released_at and rows[sales["partly_refunded"].pk].released_at
    assert rows[sales["refunded"].pk].refunded_at and rows[sales["in_escrow"].pk].released_at is None
    d = rows[sales["disputed"].pk]
    assert (d.dispute_state, d.dispute_respond_by) == ("awaiting_seller", book["dispute"].respond_by)

    api = client_for(seller)
    body = api.get("/api/v1/earnings/").json()
    by_id = {r["sale_id"]: r for r in body["results"]}
    assert [r["sale_id"] for r in body["results"]] == sorted(
        by_id, key=lambda pk: (Sale.objects.get(pk=pk).created_at, pk), reverse=True
    )
    for name, sale in sales.items():
        r = by_id[sale.pk]
        status, price, refunded, fees, bounties, net, paid = EXPECTED[name]
        assert r["status"] == status and r["paid"] is paid
        assert [r[k] for k in ("price", "refunded", "fees", "bounties", "net")] == [
            f"{D(v):.6f}" for v in (price, refunded, fees, bounties, net)
        ]
    assert by_id[sales["disputed"].pk]["dispute_state"] == "awaiting_seller"
    assert by_id[sales["disputed"].pk]["dispute_respond_by"]
    assert by_id[sales["in_escrow"].pk]["dispute_state"] is None
    for status in ("released", "refunded", "partly_refunded", "disputed", "in_escrow"):
        only = api.get(f"/api/v1/earnings/?status={status}").json()["results"]
        assert [r["sale_id"] for r in only] == [sales[status].pk]
    plain = api.get("/api/v1/earnings/?vertical=plain").json()["results"]
    assert {r["sale_id"] for r in plain} == {sales["partly_refunded"].pk, sales["disputed"].pk}
    today = book["today"].isoformat()
    same_day = api.get(f"/api/v1/earnings/?date_from={today}&date_to={today}").json()["results"]
    assert sales["released"].pk not in {r["sale_id"] for r in same_day} and len(same_day) == 4

    client.force_login(seller)
    page = html.unescape(client.get("/seller/earnings/").content.decode())
    for name, sale in sales.items():
        assert f'data-sale="{sale.pk}" data-status="{EXPECTED[name][0]}"' in page
    assert "26.125 USDC" in page and "12.50 USDC back to the buyer; the rest released" in page
    assert "Waiting for the seller · answer by" in page and ("PDT" in page or "PST" in page)
    filtered = html.unescape(client.get("/seller/earnings/?status=disputed").content.decode())
    assert f'data-sale="{sales["disputed"].pk}"' in filtered and f'data-sale="{sales["in_escrow"].pk}"' not in filtered


def test_totals_per_day_and_vertical_are_the_sums_of_the_rows(book, client):
    seller, today = book["seller"], book["today"]
    summary = earnings_history.earnings_summary(seller=seller)
    assert (summary.date_from, summary.date_to, summary.time_zone) == (today - timedelta(days=29), today, ZONE)
    # Recomputed from the rows: the sale's day in the seller's time zone, its vertical.
    zone = earnings_history.seller_zone(seller)
    expected = defaultdict(lambda: defaultdict(Decimal))
    rows = earnings_history.earning_sales(earnings_history.earnings_queryset(seller=seller))
    for r in rows:
        bucket = expected[(timezone.localtime(r.sold_at, zone).date(), r.vertical_slug)]
        bucket["sales"] += 1
        bucket["gross"] += r.price
        bucket["refunded"] += r.refunded
        bucket["fees"] += r.fees
        bucket["bounties"] += r.bounties
        bucket["released"] += r.net if r.paid else 0
        bucket["disputed"] += r.net if r.status == "disputed" else 0
        bucket["in_escrow"] += r.net if r.status in ("in_escrow", "partly_refunded") and not r.paid else 0
    got = {
        (g.day, g.vertical_slug): {k: getattr(g, k) for k in ("sales", *earnings_history.TOTALS)} for g in summary.rows
    }
    assert got == {key: dict(values) for key, values in expected.items()}
    assert set(got) == {
        (today - timedelta(days=1), "owned"),  # the released sale: yesterday in Los Angeles
        (today, "owned"),
        (today, "plain"),
    }
    assert [g.day for g in summary.rows] == sorted((g.day for g in summary.rows), reverse=True)
    t = summary.totals
    assert (t.sales, t.gross, t.refunded, t.fees, t.bounties) == (5, D("200"), D("52.5"), D("8.975"), D("0"))
    assert (t.released, t.in_escrow, t.disputed) == (D("63.325"), D("37.2"), D("38"))

    body = client_for(seller).get("/api/v1/earnings/summary/").json()
    assert body["time_zone"] == ZONE and body["date_to"] == today.isoformat()
    assert body["totals"]["released"] == "63.325000" and body["totals"]["sales"] == 5
    assert {(r["day"], r["vertical"]) for r in body["rows"]} == {(d.isoformat(), v) for d, v in got}
    yesterday = (today - timedelta(days=1)).isoformat()
    one_day = client_for(seller).get(f"/api/v1/earnings/summary/?date_from={yesterday}&date_to={yesterday}").json()
    assert one_day["totals"]["sales"] == 1 and one_day["totals"]["released"] == "37.200000"

    client.force_login(seller)
    page = html.unescape(client.get("/seller/earnings/").content.decode())
    assert f'data-day="{yesterday}" data-vertical="owned"' in page and "63.325 USDC" in page
    wallet = html.unescape(client.get("/wallet/").content.decode())
    card = wallet[wallet.index('data-testid="earnings-card"') :]
    for testid, amount in [
        ("earnings-in-escrow", "37.20"),
        ("earnings-disputed", "38.00"),
        ("earnings-refunded", "52.50"),
        ("earnings-released", "63.325"),
    ]:
        assert f'data-testid="{testid}"><strong>{amount} USDC<' in card
    assert "/seller/earnings/" in card
