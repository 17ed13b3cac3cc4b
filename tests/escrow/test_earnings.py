"""A seller's pending earnings: sold leads whose escrow is not released yet, with the expected
payout (the release's own split) and release time, on the seller's pages and in the API."""

import html
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from auctions.models import Sale
from core.display import moment_text
from escrow.models import Settlement
from escrow.selectors import earnings as earnings_selectors
from escrow.services.settlement import release_split
from tests.api_errors import api_error, error_fields
from tests.auctions.factories import funded_buyer, make_vertical
from tests.auctions.factories_bounties import make_bounty, sell_by_auction
from tests.escrow.test_purchases import settle
from tests.escrow.test_purchases_api import client_for
from tests.escrow.test_purchases_funding import vault_deployed
from tests.factories import UserFactory
from verticals.models import Vertical

pytestmark = pytest.mark.django_db

PENDING = "/api/v1/earnings/pending/"

OWNER = "0x" + "ab" * 20


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def seller(db):
    return UserFactory(is_seller=True)


@pytest.fixture
def chain_mode(settings):
    settings.CHAIN_SETTLEMENT, settings.CHAIN_RPC_URL = True, "http://127.0.0.1:1"


@pytest.fixture
def sales(t0, seller, chain_mode):
    """Three sales at 10 USDC since the vault was deployed: one not settled on chain yet (no
    vertical owner, window 48 h), one minted (a vertical with an owner, a 5 USDC bounty, window
    24 h), one released; one from before the vault (settled in the ledger only: no release will
    come); plus another seller's sale."""
    plain = make_vertical(slug="plain", name="Plain Leads", dispute_window_hours=48)
    owned = make_vertical(slug="owned", name="Owned Leads", dispute_window_hours=24, owner_address=OWNER)
    ledger_only = sell_by_auction(t0=t0 - timedelta(days=2), vertical=plain, seller=seller)
    vault_deployed(at=t0 - timedelta(days=1))
    make_bounty(vertical=owned, amount_per_lead=D("5"))
    waiting = sell_by_auction(t0=t0, vertical=plain, seller=seller)
    minted = sell_by_auction(t0=t0 + timedelta(minutes=1), vertical=owned, seller=seller)
    settle(minted)
    released = sell_by_auction(t0=t0 + timedelta(minutes=2), vertical=plain, seller=seller)
    settle(released, released=True)
    others = sell_by_auction(t0=t0, vertical=plain)
    return {"waiting": waiting, "minted": minted, "released": released, "ledger_only": ledger_only, "others": others}


def test_pending_earnings_list_each_sale_in_escrow_with_its_expected_net_and_release_time(seller, sales):
    earnings = earnings_selectors.earnings_pending_for_seller(seller=seller)
    waiting, minted = sales["waiting"], sales["minted"]
    by_sale = {s.sale_id: s for s in earnings.sales}
    # Not the released one, not the ledger-only one (it never gets a release), not another seller's.
    assert set(by_sale) == {waiting.pk, minted.pk}

    w = by_sale[waiting.pk]  # no settlement yet: the release time is the sale's plus the window
    assert (w.price, w.platform_fee, w.vertical_royalty, w.bounties, w.expected_net) == (
        D("10"),
        D("0.5"),
        D("0"),
        D("0"),
        D("9.5"),
    )
    assert w.release_after == waiting.created_at + timedelta(hours=48)
    assert (w.state, w.state_label) == ("pending", "Waiting to fund")

    m = by_sale[minted.pk]  # 5 % platform fee, 2 % royalty to the vertical's owner, the bounty on top
    assert (m.platform_fee, m.vertical_royalty, m.bounties, m.expected_net) == (D("0.5"), D("0.2"), D("5"), D("14.3"))
    assert m.release_after == Settlement.objects.get(sale=minted).release_after and m.state == "minted"

    assert earnings.count == 2 and earnings.total_price == D("20") and earnings.total_bounties == D("5")
    assert earnings.total_fees == D("1.2") and earnings.total_expected_net == D("23.8")
    assert earnings.next_release == min(w.release_after, m.release_after)
    assert [s.sale_id for s in earnings.sales] == sorted(by_sale, key=lambda pk: by_sale[pk].release_after)


def test_the_expected_split_is_the_one_the_release_sends(seller, sales):
    settlement = Settlement.objects.select_related("sale__lead__vertical").get(sale=sales["minted"])
    legs = [amount for _, amount, _ in release_split(settlement=settlement)]
    row = next(
        s
        for s in earnings_selectors.earnings_pending_for_seller(seller=seller).sales
        if s.sale_id == settlement.sale_id
    )
    assert legs == [row.expected_net - row.bounties, row.platform_fee, row.vertical_royalty]


def test_once_the_release_is_sent_its_fixed_split_is_shown(seller, sales):
    Settlement.objects.filter(sale=sales["minted"]).update(
        state=Settlement.State.RELEASING, seller_amount=D("9.4"), platform_fee=D("0.4"), vertical_royalty=D("0.2")
    )
    row = next(
        s
        for s in earnings_selectors.earnings_pending_for_seller(seller=seller).sales
        if s.sale_id == sales["minted"].pk
    )
    assert (row.expected_net, row.platform_fee, row.state_label) == (D("14.4"), D("0.4"), "Releasing")


def test_the_seller_earnings_page_shows_amounts_release_dates_and_totals_in_words(
    client, seller, sales, django_assert_max_num_queries
):
    client.force_login(seller)
    # user, the pending totals, a page of sales, the totals per day (the session comes from the cache)
    with django_assert_max_num_queries(4):
        response = client.get("/seller/earnings/")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert 'data-testid="earnings-expected"><strong>23.80 USDC<' in body
    waiting, minted, released = sales["waiting"], sales["minted"], sales["released"]
    assert f'data-sale="{waiting.pk}" data-status="in_escrow"' in body
    assert f'data-sale="{minted.pk}" data-status="in_escrow"' in body
    assert f'data-sale="{released.pk}" data-status="released"' in body
    for absent in ("ledger_only", "others"):  # no release on chain will come; another seller's
        assert f'data-sale="{sales[absent].pk}"' not in body
    assert "9.50 USDC" in body and "14.30 USDC" in body and "+ 5.00 USDC" in body
    assert moment_text(waiting.created_at + timedelta(hours=48)) in body  # "5 Dec 2026, 19:21 UTC"
    assert "Waiting to fund" in body and "NFT minted" in body
    assert "10.000000" not in body and "Plain Leads" in body


def test_the_earnings_page_is_for_sellers(client, seller):
    assert client.get("/seller/earnings/").status_code == 302  # log in first
    client.force_login(funded_buyer())
    assert client.get("/seller/earnings/").status_code == 403
    client.force_login(seller)
    body = client.get("/seller/earnings/").content.decode()
    assert 'data-testid="no-earnings"' in body and "0.00 USDC" in body


def test_a_sold_lead_shows_when_its_escrow_is_released(client, seller, sales):
    client.force_login(seller)
    body = html.unescape(client.get(f"/seller/leads/{sales['waiting'].lead_id}/").content.decode())
    assert "48 h after the sale" in body and "/seller/earnings/" in body
    minted = Settlement.objects.get(sale=sales["minted"])
    body = html.unescape(client.get(f"/seller/leads/{sales['minted'].lead_id}/").content.decode())
    assert f"after {moment_text(minted.release_after)}" in body


def test_the_api_gives_a_seller_the_pending_earnings_and_refuses_others(seller, sales):
    response = client_for(seller).get("/api/v1/earnings/pending/")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["total_price"], body["total_expected_net"]) == (2, "20.000000", "23.800000")
    assert (body["total_bounties"], body["total_fees"]) == ("5.000000", "1.200000")
    row = next(r for r in body["results"] if r["sale_id"] == sales["minted"].pk)
    assert (row["expected_net"], row["vertical_royalty"]) == ("14.300000", "0.200000")
    assert row["settlement_state"] == "minted"
    assert row["vertical"] == "Owned Leads" and row["release_after"]
    refused = client_for(funded_buyer()).get("/api/v1/earnings/pending/")
    assert refused.status_code == 403
    assert (api_error(refused)["type"], api_error(refused)["code"]) == ("permission", "seller_required")


def more_pending_sales(t0, seller, n: int) -> list:
    vertical = make_vertical(dispute_window_hours=72)
    return [sell_by_auction(t0=t0 + timedelta(minutes=10 + i), vertical=vertical, seller=seller) for i in range(n)]


def test_the_api_pages_with_a_cursor_soonest_release_first_and_totals_over_every_page(t0, seller, sales):
    more_pending_sales(t0, seller, 3)
    api = client_for(seller)
    url, pages, seen = f"{PENDING}?page_size=2", [], []
    while url:
        body = api.get(url).json()
        pages.append(body)
        seen += [(row["release_after"], row["sale_id"]) for row in body["results"]]
        url = body["next"]
    assert [len(p["results"]) for p in pages] == [2, 2, 1]
    assert seen == sorted(seen) and len({sale for _, sale in seen}) == 5
    assert {(p["count"], p["total_price"], p["total_expected_net"]) for p in pages} == {(5, "50.000000", "52.300000")}
    assert pages[0]["previous"] is None and pages[1]["previous"]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("page_size=abc", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("cursor=not-ours", "cursor"),
    ],
)
def test_the_apis_paging_parameters_are_checked(seller, query, param):
    response = client_for(seller).get(f"{PENDING}?{query}")
    assert response.status_code == 400 and error_fields(response) == {param}


def test_the_api_costs_the_same_queries_with_more_sales(t0, seller, sales, django_assert_num_queries):
    api = client_for(seller)
    api.get(PENDING)  # the key's first use records last_used_at
    with django_assert_num_queries(2) as few:  # the page, the totals (the API key is memoised)
        api.get(PENDING)
    more_pending_sales(t0, seller, 4)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(api.get(PENDING).json()["results"]) == 6


def test_the_totals_are_the_sums_of_the_rows_whatever_the_rounding(t0, seller, sales):
    """The SQL totals round each sale's fee and royalty down to the micro-USDC as the release does."""
    odd = more_pending_sales(t0, seller, 3)
    for sale, price in zip(odd, (D("12.345679"), D("0.000019"), D("999.999999")), strict=True):
        Sale.objects.filter(pk=sale.pk).update(price=price)
    Vertical.objects.filter(pk=odd[0].lead.vertical_id).update(owner_address=OWNER)
    earnings = earnings_selectors.earnings_pending_for_seller(seller=seller)
    rows = earnings.sales
    assert len(rows) == earnings.count == 5
    assert earnings.total_price == sum(r.price for r in rows)
    assert earnings.total_fees == sum(r.platform_fee + r.vertical_royalty for r in rows)
    assert earnings.total_bounties == sum(r.bounties for r in rows)
    assert earnings.total_expected_net == sum(r.expected_net for r in rows)
    assert {r.platform_fee for r in rows if r.price == D("12.345679")} == {D("0.617283")}


def test_without_chain_settlement_sales_settled_in_the_ledger_are_not_pending(seller, sales, settings):
    """Ledger-only: no settlement, so no release will ever come; sales settled on chain before stay."""
    settings.CHAIN_SETTLEMENT = False
    earnings = earnings_selectors.earnings_pending_for_seller(seller=seller)
    assert [s.sale_id for s in earnings.sales] == [sales["minted"].pk] and earnings.count == 1
