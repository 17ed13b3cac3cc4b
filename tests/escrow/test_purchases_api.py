"""/api/v1/purchases/: the caller's purchases (no PII, nothing logged, cursor-paginated, constant
queries) and one purchase with its contact details (one PiiAccess with channel "api" per read),
escrow, NFT and verification; 404 for anyone else's and for missing or malformed ids; the schema."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from escrow.models import Settlement
from escrow.selectors import purchases as purchase_selectors
from leads.models import PiiAccess
from tests.api_errors import api_error
from tests.auctions.factories import funded_buyer
from tests.escrow.test_purchases import (  # noqa: F401 - shared fixtures
    CONTACT,
    PII_VALUES,
    SALT,
    buyer,
    give_wallet,
    logged,
    make_purchase,
    sale,
    seller,
    settle,
    t0,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/v1/purchases/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


def detail(sale_id) -> str:
    return f"{LIST}{sale_id}/"


# ---------------------------------------------------------------- one purchase


def test_the_buyer_reads_the_contact_details_and_each_read_is_logged_once(buyer, sale):
    api = client_for(buyer)
    response = api.get(detail(sale.pk), HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["contact"] == CONTACT and body["as_owner"] == "buyer"
    assert (body["id"], body["lead_id"], body["price"]) == (sale.pk, sale.lead_id, "10.000000")
    assert body["escrow"]["deal_id"] == sale.pk and body["escrow"]["state"] == "pending"
    assert body["escrow"]["settled_on_chain"] is False and body["nft"]["token_id"] is None
    assert body["bid_log"] == {
        "digest": sale.bid_log_digest,
        "length": sale.bid_log_length,
        "url": f"/api/v1/auctions/{sale.auction_id}/bid-log/",
    }
    assert logged() == [(buyer.pk, sale.pk, "api", "buyer")]
    assert PiiAccess.objects.get().correlation_id == "req-42"
    api.get(detail(sale.pk))
    assert len(logged()) == 2


def test_a_minted_purchase_carries_escrow_nft_and_verification(buyer, sale):
    settlement = settle(sale, released=True)
    body = client_for(buyer).get(detail(sale.pk)).json()
    escrow, nft, verification = body["escrow"], body["nft"], body["verification"]
    assert (escrow["state"], escrow["amount"], escrow["chain_id"]) == ("released", "10.000000", 31337)
    assert escrow["split"] == {"seller_amount": "9.300000", "platform_fee": "0.500000", "vertical_royalty": "0.200000"}
    assert escrow["fund_tx"].startswith("0x") and escrow["released_at"]
    assert nft["token_id"] == str(settlement.token_id) and nft["owner_address"] == settlement.owner_address
    assert (nft["batch_id"], nft["batch_root"], nft["batch_size"]) == (7, "0x" + "cd" * 32, 1)
    assert (nft["data_hash"], nft["data_salt"]) == (settlement.data_hash, SALT)
    assert verification["data_hash_matches"] is True and verification["computed_data_hash"] == settlement.data_hash
    assert verification["token_id"] == nft["token_id"] and verification["leaf_hash"].startswith("0x")
    assert '"email":"ada.lovelace@example.com"' in verification["canonical_data"]
    assert verification["sale_struct"]["saleId"] == sale.pk and len(verification["steps"]) == 5
    assert "LeadNFT.batchRoot(7)" in verification["steps"][3]


@pytest.mark.parametrize("who", ["seller", "other_buyer", "staff"])
def test_anyone_else_gets_the_same_404_as_a_missing_id_and_nothing_is_logged(sale, seller, who):
    user = {
        "seller": lambda: seller,
        "other_buyer": funded_buyer,
        "staff": lambda: UserFactory(is_staff=True, is_superuser=True, is_buyer=True),
    }[who]()
    api = client_for(user)
    theirs, missing = api.get(detail(sale.pk)), api.get(detail(sale.pk + 1000))
    assert theirs.status_code == missing.status_code == 404
    assert api_error(theirs)["message"] == api_error(missing)["message"]
    assert api.get(LIST).json()["results"] == []
    assert PiiAccess.objects.count() == 0


def test_unauthenticated_callers_are_refused(sale):
    for url in (LIST, detail(sale.pk)):
        assert APIClient().get(url).status_code in (401, 403)
    assert PiiAccess.objects.count() == 0


@pytest.mark.parametrize(
    "path", ["abc/", "-1/", "0/", "1e3/", "99999999999999999999999999/", "9223372036854775808/", "4294967296/", "%00/"]
)
def test_bad_ids_are_not_found_not_errors(buyer, sale, path):
    response = client_for(buyer).get(LIST + path)
    # NUL bytes are refused site-wide with a 400 (core.middleware); the rest are 404s.
    assert response.status_code == (400 if "%00" in path else 404)
    assert PiiAccess.objects.count() == 0


def test_after_a_resale_the_new_owner_reads_and_the_old_buyer_gets_404(buyer, sale):
    new_owner = funded_buyer()
    settle(sale, owner=give_wallet(new_owner).address)
    response = client_for(new_owner).get(detail(sale.pk))
    assert response.status_code == 200 and response.json()["contact"] == CONTACT
    assert response.json()["as_owner"] == purchase_selectors.AS_NFT_OWNER
    assert [row["id"] for row in client_for(new_owner).get(LIST).json()["results"]] == [sale.pk]
    old = client_for(buyer)
    assert old.get(detail(sale.pk)).status_code == 404 and old.get(LIST).json()["results"] == []
    assert logged() == [(new_owner.pk, sale.pk, "api", purchase_selectors.AS_NFT_OWNER)]


# ---------------------------------------------------------------- the list


def test_the_list_has_no_pii_logs_nothing_and_its_queries_do_not_grow(buyer, t0, django_assert_num_queries):
    first = make_purchase(t0=t0, buyer=buyer)
    api = client_for(buyer)
    api.get(LIST)  # the key's first use records last_used_at (once a minute)
    with django_assert_num_queries(2) as few:  # wallet, page (the API key is memoised)
        response = api.get(LIST)
    assert [row["id"] for row in response.json()["results"]] == [first.pk]
    more = [make_purchase(t0=t0 + timedelta(minutes=i + 1), buyer=buyer) for i in range(4)]
    settle(more[0])
    settle(more[1], state=Settlement.State.FUNDED)
    make_purchase(t0=t0)  # someone else's
    with django_assert_num_queries(len(few.captured_queries)):
        response = api.get(LIST)
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [s.pk for s in reversed([first, *more])]
    assert {row["settlement_state"] for row in rows} == {"minted", "funded", "pending"}
    minted = next(row for row in rows if row["settlement_state"] == "minted")
    assert minted["token_id"] == str(Settlement.objects.get(sale=more[0]).token_id)
    assert set(rows[0]) == {
        "id",
        "lead_id",
        "auction_id",
        "vertical",
        "price",
        "created_at",
        "settlement_state",
        "token_id",
        "contact_status",
        "contact_status_message",
    }
    assert {row["contact_status"] for row in rows} == {"available"}  # settled in the ledger, or funded on chain
    text = response.content.decode()
    for value in PII_VALUES:
        assert value not in text
    assert PiiAccess.objects.count() == 0


def test_the_list_is_cursor_paginated_without_repeats(buyer, t0):
    sales = [make_purchase(t0=t0 + timedelta(minutes=i % 2), buyer=buyer) for i in range(5)]
    api = client_for(buyer)
    seen, url = [], f"{LIST}?page_size=2"
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(s.pk for s in sales) and len(seen) == len(set(seen))
    garbage = api.get(f"{LIST}?cursor=garbage")
    assert garbage.status_code == 400 and api_error(garbage)["param"] == "cursor"


# ---------------------------------------------------------------- the schema


def test_the_purchase_endpoints_are_in_a_valid_openapi_schema(client):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/v1/purchases/" in schema["paths"] and "/api/v1/purchases/{id}/" in schema["paths"]
    detail_schema = schema["paths"]["/api/v1/purchases/{id}/"]["get"]["responses"]["200"]
    assert detail_schema["content"]["application/json"]["schema"]["$ref"].endswith("/PurchaseDetail")
    assert "contact" in schema["components"]["schemas"]["PurchaseDetail"]["properties"]
    assert "contact" not in schema["components"]["schemas"]["Purchase"]["properties"]
    assert client.get("/api/schema/").status_code == 200


def test_the_schema_explains_every_contact_status(client):
    from drf_spectacular.generators import SchemaGenerator

    from escrow.choices import ContactStatus

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for component in ("Purchase", "PurchaseDetail"):
        field = schema["components"]["schemas"][component]["properties"]["contact_status"]
        for status in ContactStatus.values:
            assert f"{status}:" in field["description"], (component, status)


def test_the_nft_owner_after_a_resale_may_download_the_bid_log_the_old_buyer_keeps_it_as_a_bidder(buyer, sale):
    new_owner = funded_buyer()
    url = f"/api/v1/auctions/{sale.auction_id}/bid-log/"
    assert client_for(new_owner).get(url).status_code == 404
    settle(sale, owner=give_wallet(new_owner).address)
    body = client_for(new_owner).get(url).json()
    assert body["published"] and body["head"] == sale.bid_log_digest
    assert client_for(buyer).get(url).status_code == 200  # they bid: a participant keeps the log
