"""Buy Now: listing at close, the first buyer wins (real threads), refusals write nothing, expiry,
the API and the pages."""

from datetime import timedelta
from decimal import Decimal as D
from unittest import mock

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from auctions.choices import AuctionResult, BuyNowStatus
from auctions.models import Ask, BuyNowListing, Sale
from auctions.services.auctions import auction_close
from auctions.services.buynow import BuyNowRefused, buy_now_expire_due, buy_now_purchase
from leads.choices import LeadStatus
from leads.models import Lead
from ledger.models import LedgerAccount, LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from ledger.services import ledger_credit_user
from tests.api_errors import api_error
from tests.auctions.conftest import seconds
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.auctions.test_races import run_threads

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auctions.urls")]


def closed_unsold(*, t0, **kwargs) -> BuyNowListing:
    auction = make_auction(now=t0, **kwargs)
    auction_close(auction_id=auction.pk, now=seconds(t0, 60))
    return BuyNowListing.objects.get(auction=auction)


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


# ---------------------------------------------------------------- listing


def test_an_auction_closing_without_a_valid_bid_lists_the_lead_at_reserve_times_multiplier_for_7_days(
    t0, seller, vertical, django_capture_on_commit_callbacks
):
    auction = make_auction(now=t0, seller=seller, vertical=vertical)
    with mock.patch("core.broadcast.group_send_now") as send, django_capture_on_commit_callbacks(execute=True):
        auction_close(auction_id=auction.pk, now=seconds(t0, 61))
    listing = BuyNowListing.objects.get(auction=auction)
    assert (listing.price, listing.status, listing.seller_id) == (D("12"), BuyNowStatus.OPEN, seller.pk)
    assert listing.opens_at == seconds(t0, 61) and listing.expires_at == seconds(t0, 61) + timedelta(days=7)
    assert Lead.objects.get(pk=auction.lead_id).status == LeadStatus.UNSOLD
    listed = [c.kwargs for c in send.call_args_list if c.kwargs["payload"]["type"] == "buynow.listed"]
    assert len(listed) == 1 and listed[0]["group"] == f"vertical.{vertical.slug}"
    assert listed[0]["payload"]["price"] == "12.000000" and "zip" not in listed[0]["payload"]


def test_the_asks_buy_now_price_wins_and_closing_twice_lists_once(t0, seller, vertical):
    Ask.objects.create(seller=seller, vertical=vertical, buy_now_price=D("33.5"))
    listing = closed_unsold(t0=t0, seller=seller, vertical=vertical)
    assert listing.price == D("33.5")
    auction_close(auction_id=listing.auction_id, now=seconds(t0, 90))
    assert BuyNowListing.objects.count() == 1


def test_a_sold_auction_is_not_listed(t0, auction, buyers):
    from auctions.services.auctions import bid_place

    bid_place(auction_id=auction.pk, buyer=buyers[0], max_amount=D("15"), now=seconds(t0, 1))
    assert auction_close(auction_id=auction.pk, now=seconds(t0, 60)).result == AuctionResult.SOLD
    assert not BuyNowListing.objects.exists()


# ---------------------------------------------------------------- purchase


def test_a_buyer_buys_the_listing_into_escrow_and_the_lead_is_sold(t0, django_capture_on_commit_callbacks):
    listing = closed_unsold(t0=t0)
    buyer = funded_buyer(D("100"))
    with mock.patch("core.broadcast.group_send_now") as send, django_capture_on_commit_callbacks(execute=True):
        sale = buy_now_purchase(listing_id=listing.pk, buyer=buyer, now=seconds(t0, 120))
    assert (sale.buyer_id, sale.seller_id, sale.price, sale.auction_id) == (
        buyer.pk,
        listing.seller_id,
        D("12"),
        listing.auction_id,
    )
    escrow = LedgerAccount.objects.get(pk=sale.escrow_account_id)
    assert (escrow.kind, escrow.reference, escrow.balance) == ("escrow", f"sale:{listing.auction_id}", D("12"))
    assert balance_for(user=buyer) == {"available": D("88"), "held": D("0"), "exiting": D("0"), "total": D("88")}
    lead = Lead.objects.get(pk=listing.lead_id)
    assert (lead.status, lead.price) == (LeadStatus.SOLD, D("12"))
    listing.refresh_from_db()
    assert (listing.status, listing.buyer_id, listing.sold_at) == (BuyNowStatus.SOLD, buyer.pk, seconds(t0, 120))
    assert LedgerTransaction.objects.get(idempotency_key=f"buynow:{listing.pk}").kind == "capture"
    sent = [(c.kwargs["group"], c.kwargs["payload"]["type"]) for c in send.call_args_list]
    assert [kind for _, kind in sent if kind != "notification.new"] == ["buynow.sold"]
    # The seller's sale and, settled in the ledger only, the buyer's readable purchase (notifications).
    assert sorted(group for group, kind in sent if kind == "notification.new") == sorted(
        [f"user.{listing.seller_id}", f"user.{buyer.pk}"]
    )
    with pytest.raises(BuyNowRefused) as again:
        buy_now_purchase(listing_id=listing.pk, buyer=funded_buyer(), now=seconds(t0, 121))
    assert (again.value.kind, again.value.code) == ("closed", "already_sold")
    assert ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_racing_for_one_listing_leave_exactly_one_sale(t0):
    listing = closed_unsold(t0=t0)
    buyers = [funded_buyer(D("50")) for _ in range(20)]

    results = run_threads(20, lambda i: buy_now_purchase(listing_id=listing.pk, buyer=buyers[i], now=seconds(t0, 300)))
    sales = [r for r in results if isinstance(r, Sale)]
    refused = [r for r in results if isinstance(r, BuyNowRefused)]
    assert len(sales) == 1 and len(refused) == 19, results
    assert all(r.code == "already_sold" and "already been sold" in r.message for r in refused)
    assert Sale.objects.count() == 1
    assert LedgerTransaction.objects.filter(kind="capture").count() == 1
    winner = sales[0].buyer_id
    for b in buyers:
        assert balance_for(user=b)["total"] == (D("38") if b.pk == winner else D("50"))
    listing.refresh_from_db()
    assert (listing.status, listing.buyer_id) == (BuyNowStatus.SOLD, winner)
    assert Lead.objects.get(pk=listing.lead_id).status == LeadStatus.SOLD
    assert ledger_check().ok


def test_the_seller_cannot_buy_their_own_lead(t0, seller):
    seller.is_buyer = True
    seller.save()
    listing = closed_unsold(t0=t0, seller=seller)
    with pytest.raises(BuyNowRefused) as refused:
        buy_now_purchase(listing_id=listing.pk, buyer=seller, now=seconds(t0, 120))
    assert (refused.value.kind, refused.value.code) == ("invalid", "own_lead")


def test_an_exclusive_vertical_sells_only_to_its_listed_buyers(t0, vertical):
    insider, outsider = funded_buyer(), funded_buyer()
    staff = funded_buyer()
    staff.is_staff = True
    staff.save()
    vertical.exclusive_buyers.add(insider)
    listing = closed_unsold(t0=t0, vertical=vertical)
    with pytest.raises(BuyNowRefused) as refused:  # to an outsider the listing does not exist
        buy_now_purchase(listing_id=listing.pk, buyer=outsider, now=seconds(t0, 120))
    assert (refused.value.kind, refused.value.code) == ("not_found", "not_found")
    with pytest.raises(BuyNowRefused) as refused:  # staff see it but are not listed
        buy_now_purchase(listing_id=listing.pk, buyer=staff, now=seconds(t0, 120))
    assert (refused.value.kind, refused.value.code) == ("invalid", "exclusive_vertical")
    assert buy_now_purchase(listing_id=listing.pk, buyer=insider, now=seconds(t0, 121)).buyer_id == insider.pk
    with pytest.raises(BuyNowRefused) as refused:  # sold: still not found to the outsider, not "already sold"
        buy_now_purchase(listing_id=listing.pk, buyer=outsider, now=seconds(t0, 122))
    assert refused.value.code == "not_found"


def test_insufficient_balance_is_refused_and_writes_nothing(t0):
    listing = closed_unsold(t0=t0)
    poor = funded_buyer(D("5"))
    before = (LedgerTransaction.objects.count(), LedgerAccount.objects.count())
    with pytest.raises(BuyNowRefused) as refused:
        buy_now_purchase(listing_id=listing.pk, buyer=poor, now=seconds(t0, 120))
    assert (refused.value.kind, refused.value.code) == ("invalid", "insufficient_funds")
    assert "12.000000 USDC" in refused.value.message and "5.000000 USDC" in refused.value.message
    assert (LedgerTransaction.objects.count(), LedgerAccount.objects.count()) == before
    assert not Sale.objects.exists() and balance_for(user=poor)["available"] == D("5")
    listing.refresh_from_db()
    assert listing.status == BuyNowStatus.OPEN and Lead.objects.get(pk=listing.lead_id).status == LeadStatus.UNSOLD


# ---------------------------------------------------------------- expiry


def test_listings_expire_after_7_days_once_and_cannot_be_bought_after(t0):
    listing = closed_unsold(t0=t0)
    expiry = listing.expires_at
    assert buy_now_expire_due(now=expiry - timedelta(seconds=1)) == 0
    with pytest.raises(BuyNowRefused) as late:
        buy_now_purchase(listing_id=listing.pk, buyer=funded_buyer(), now=expiry)
    assert (late.value.kind, late.value.code) == ("closed", "expired")
    assert buy_now_expire_due(now=expiry) == 1
    assert buy_now_expire_due(now=expiry + timedelta(minutes=1)) == 0
    listing.refresh_from_db()
    assert listing.status == BuyNowStatus.EXPIRED
    assert Lead.objects.get(pk=listing.lead_id).status == LeadStatus.EXPIRED
    with pytest.raises(BuyNowRefused) as after:
        buy_now_purchase(listing_id=listing.pk, buyer=funded_buyer(), now=expiry + timedelta(minutes=2))
    assert after.value.code == "expired" and not Sale.objects.exists()


def test_a_sold_listing_does_not_expire(t0):
    listing = closed_unsold(t0=t0)
    buy_now_purchase(listing_id=listing.pk, buyer=funded_buyer(), now=seconds(t0, 120))
    assert buy_now_expire_due(now=listing.expires_at + timedelta(days=1)) == 0
    assert Lead.objects.get(pk=listing.lead_id).status == LeadStatus.SOLD


def test_the_expiry_task_is_routed_and_scheduled():
    from django.conf import settings

    from auctions.tasks import expire_buy_now
    from config.queues import queue_for

    assert queue_for("auctions.expire_buy_now") == "auctions.clock"
    assert any(e["task"] == "auctions.expire_buy_now" for e in settings.CELERY_BEAT_SCHEDULE.values())
    assert expire_buy_now.run() == 0


# ---------------------------------------------------------------- API


def test_the_api_lists_open_listings_with_a_non_pii_preview_and_filters(t0):
    cheap = closed_unsold(t0=t0, state="CA", score=80)
    dear = closed_unsold(t0=t0, vertical=make_vertical(reserve_price=D("50")), state="NV", score=40)
    api = client_for(funded_buyer())
    body = api.get("/api/v1/buy-now/").json()
    assert [r["listing_id"] for r in body["results"]] == [dear.pk, cheap.pk]
    row = body["results"][1]
    assert (row["price"], row["state"], row["zip3"], row["quality_score"]) == ("12.000000", "CA", "941", 80)
    assert "zip" not in row and "city" not in row
    assert [r["listing_id"] for r in api.get("/api/v1/buy-now/?max_price=20").json()["results"]] == [cheap.pk]
    assert [r["listing_id"] for r in api.get("/api/v1/buy-now/?state=NV").json()["results"]] == [dear.pk]
    assert [r["listing_id"] for r in api.get("/api/v1/buy-now/?min_score=50").json()["results"]] == [cheap.pk]
    slug = cheap.lead.vertical.slug
    assert [r["listing_id"] for r in api.get(f"/api/v1/buy-now/?vertical={slug}").json()["results"]] == [cheap.pk]
    assert api.get("/api/v1/buy-now/?max_price=abc").status_code == 400
    assert api.get("/api/v1/buy-now/?state=ZZ").status_code == 400


def test_the_list_endpoint_query_count_does_not_grow_with_listings(t0, vertical, django_assert_max_num_queries):
    for _ in range(10):
        closed_unsold(t0=t0, vertical=vertical)
    api = client_for(funded_buyer())
    with django_assert_max_num_queries(12):
        response = api.get("/api/v1/buy-now/")
    assert response.status_code == 200 and len(response.json()["results"]) == 10


def _purchase(user, listing_id, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client_for(user).post(f"/api/v1/buy-now/{listing_id}/purchase/", **headers)


def test_the_purchase_api_returns_201_then_404_409_and_403s(t0, seller):
    listing = closed_unsold(t0=t0, seller=seller)
    buyer = funded_buyer(D("100"))
    created = _purchase(buyer, listing.pk)
    assert created.status_code == 201, created.json()
    assert created.json()["price"] == "12.000000" and created.json()["buyer"] == buyer.pk
    assert _purchase(buyer, 999999, key="k-2").status_code == 404
    again = _purchase(funded_buyer(), listing.pk)
    assert again.status_code == 409 and api_error(again)["code"] == "already_sold"

    other = closed_unsold(t0=t0)
    poor = _purchase(funded_buyer(D("1")), other.pk)
    assert poor.status_code == 409 and api_error(poor)["code"] == "insufficient_funds"
    own = _purchase(seller, other.pk)
    assert own.status_code == 403 and api_error(own)["code"] == "not_a_buyer"
    seller.is_buyer = True
    seller.save(update_fields=["is_buyer"])
    mine = closed_unsold(t0=t0, seller=seller)
    assert api_error(_purchase(seller, mine.pk))["code"] == "own_lead"


def test_the_schema_declares_funds_leaving_for_buy_now_and_bids():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in ("/api/v1/buy-now/{id}/purchase/", "/api/v1/auctions/{id}/bids/"):
        conflict = paths[path]["post"]["responses"]["409"]["description"]
        assert "`funds_leaving`" in conflict and "`insufficient_funds`" in conflict, path


def test_a_purchase_needs_an_idempotency_key(t0):
    listing = closed_unsold(t0=t0)
    response = _purchase(funded_buyer(D("100")), listing.pk, key=None)
    assert response.status_code == 400 and api_error(response)["param"] == "Idempotency-Key"
    assert BuyNowListing.objects.get(pk=listing.pk).status == BuyNowStatus.OPEN


def test_a_retry_with_the_same_key_returns_the_same_purchase_not_already_sold(t0):
    listing = closed_unsold(t0=t0)
    buyer = funded_buyer(D("100"))
    first = _purchase(buyer, listing.pk, key="retry-1")
    retry = _purchase(buyer, listing.pk, key="retry-1")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json() and retry["Idempotent-Replay"] == "true"
    assert "Idempotent-Replay" not in first
    assert Sale.objects.filter(lead_id=listing.lead_id).count() == 1
    assert balance_for(user=buyer)["available"] == D("88")


def test_a_key_that_bought_one_listing_cannot_buy_another(t0):
    one, two = closed_unsold(t0=t0), closed_unsold(t0=t0)
    buyer = funded_buyer(D("100"))
    assert _purchase(buyer, one.pk, key="same").status_code == 201
    reused = _purchase(buyer, two.pk, key="same")
    assert reused.status_code == 422 and api_error(reused)["code"] == "idempotency_key_reused"
    assert BuyNowListing.objects.get(pk=two.pk).status == BuyNowStatus.OPEN


def test_a_refused_purchase_is_not_remembered_so_the_key_works_once_funds_arrive(t0):
    listing = closed_unsold(t0=t0)
    buyer = funded_buyer(D("1"))
    assert _purchase(buyer, listing.pk, key="later").status_code == 409
    ledger_credit_user(user=buyer, amount=D("50"), idempotency_key=f"top-up-{buyer.pk}")
    assert _purchase(buyer, listing.pk, key="later").status_code == 201


# ---------------------------------------------------------------- pages


def test_a_buyer_buys_through_the_page_with_a_confirmation(client, t0):
    listing = closed_unsold(t0=t0)
    buyer = funded_buyer(D("100"))
    client.force_login(buyer)
    page = client.get("/buy-now/").content.decode()
    assert f"/buy-now/{listing.pk}/buy/" in page and "12.00 USDC" in page and "12.000000" not in page
    confirm = client.get(f"/buy-now/{listing.pk}/buy/")
    assert confirm.status_code == 200 and "Confirm purchase" in confirm.content.decode()
    response = client.post(f"/buy-now/{listing.pk}/buy/", follow=True)
    assert response.redirect_chain == [("/buy-now/", 302)]
    assert f"You bought lead {listing.lead_id}" in response.content.decode()
    assert Sale.objects.get().buyer_id == buyer.pk


def test_the_page_shows_refusals_with_their_status(client, t0):
    listing = closed_unsold(t0=t0)
    client.force_login(funded_buyer(D("1")))
    poor = client.post(f"/buy-now/{listing.pk}/buy/")
    assert poor.status_code == 400 and "Insufficient funds" in poor.content.decode()
    buy_now_purchase(listing_id=listing.pk, buyer=funded_buyer(), now=seconds(t0, 120))
    client.force_login(funded_buyer())
    sold = client.post(f"/buy-now/{listing.pk}/buy/")
    assert sold.status_code == 409 and "already been sold" in sold.content.decode()
    assert client.get("/buy-now/999999/buy/").status_code == 404


def test_the_buy_now_page_needs_a_login_and_the_post_needs_csrf(t0):
    from django.test import Client

    listing = closed_unsold(t0=t0)
    assert Client().get("/buy-now/").status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(funded_buyer())
    assert strict.post(f"/buy-now/{listing.pk}/buy/").status_code == 403
    assert not Sale.objects.exists()


def test_the_admin_lists_buy_now_listings(admin_client, t0):
    listing = closed_unsold(t0=t0)
    assert admin_client.get("/admin/auctions/buynowlisting/").status_code == 200
    assert admin_client.get(f"/admin/auctions/buynowlisting/{listing.pk}/change/").status_code == 200
