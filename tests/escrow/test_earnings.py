"""A seller's pending earnings: sold leads whose escrow is not released yet, with the expected
payout (the release's own split) and release time, on the seller's pages and in the API."""

import html
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from escrow import selectors_earnings
from escrow.models import Settlement
from escrow.settlement import release_split
from marketplace.display import moment_text
from tests.escrow.test_purchases_api import client_for
from tests.auctions.factories import funded_buyer, make_vertical
from tests.auctions.factories_bounties import make_bounty, sell_by_auction
from tests.escrow.test_purchases import settle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OWNER = "0x" + "ab" * 20


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def seller(db):
    return UserFactory(is_seller=True)


@pytest.fixture
def sales(t0, seller):
    """Three sales at 10 USDC: one not settled on chain (no vertical owner, window 48 h), one
    minted (a vertical with an owner, a 5 USDC bounty, window 24 h), one released; plus another
    seller's sale."""
    plain = make_vertical(slug="plain", name="Plain Leads", dispute_window_hours=48)
    owned = make_vertical(slug="owned", name="Owned Leads", dispute_window_hours=24, owner_address=OWNER)
    make_bounty(vertical=owned, amount_per_lead=D("5"))
    waiting = sell_by_auction(t0=t0, vertical=plain, seller=seller)
    minted = sell_by_auction(t0=t0 + timedelta(minutes=1), vertical=owned, seller=seller)
    settle(minted)
    released = sell_by_auction(t0=t0 + timedelta(minutes=2), vertical=plain, seller=seller)
    settle(released, released=True)
    others = sell_by_auction(t0=t0, vertical=plain)
    return {"waiting": waiting, "minted": minted, "released": released, "others": others}


def test_pending_earnings_list_each_sale_in_escrow_with_its_expected_net_and_release_time(seller, sales):
    earnings = selectors_earnings.earnings_pending_for_seller(seller=seller)
    waiting, minted = sales["waiting"], sales["minted"]
    by_sale = {s.sale_id: s for s in earnings.sales}
    assert set(by_sale) == {waiting.pk, minted.pk}  # not the released one, not another seller's

    w = by_sale[waiting.pk]  # no settlement yet: the release time is the sale's plus the window
    assert (w.price, w.platform_fee, w.vertical_royalty, w.bounties, w.expected_net) == (
        D("10"), D("0.5"), D("0"), D("0"), D("9.5"))
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
    row = next(s for s in selectors_earnings.earnings_pending_for_seller(seller=seller).sales
               if s.sale_id == settlement.sale_id)
    assert legs == [row.expected_net - row.bounties, row.platform_fee, row.vertical_royalty]


def test_once_the_release_is_sent_its_fixed_split_is_shown(seller, sales):
    Settlement.objects.filter(sale=sales["minted"]).update(
        state=Settlement.State.RELEASING, seller_amount=D("9.4"), platform_fee=D("0.4"), vertical_royalty=D("0.2"))
    row = next(s for s in selectors_earnings.earnings_pending_for_seller(seller=seller).sales
               if s.sale_id == sales["minted"].pk)
    assert (row.expected_net, row.platform_fee, row.state_label) == (D("14.4"), D("0.4"), "Releasing")


def test_the_seller_earnings_page_shows_amounts_release_dates_and_totals_in_words(
        client, seller, sales, django_assert_max_num_queries):
    client.force_login(seller)
    with django_assert_max_num_queries(3):  # session, user, the pending sales
        response = client.get("/seller/earnings/")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    assert 'data-testid="earnings-expected"><strong>23.80 USDC<' in body
    waiting, minted = sales["waiting"], sales["minted"]
    assert f'data-sale="{waiting.pk}"' in body and f'data-sale="{minted.pk}"' in body
    assert f'data-sale="{sales["released"].pk}"' not in body and f'data-sale="{sales["others"].pk}"' not in body
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
    assert client_for(funded_buyer()).get("/api/v1/earnings/pending/").status_code == 403
