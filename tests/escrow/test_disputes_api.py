"""/api/v1/disputes/ on anvil and PostgreSQL: the whole flow through the API (open with a PNG, the
seller offers, the buyer accepts, the refund moves, the detail shows it closed), every refused input
as a 400 naming the field in the error envelope, 404 for anyone who is not a party, the list's
pinned query count, evidence downloads for the parties only, and the body-size limit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from escrow.models import Dispute, DisputeEvidence, Settlement
from escrow.services.disputes import dispute_outcome_apply
from tests.api_errors import api_error, error_fields
from tests.escrow.dispute_helpers import PNG, minted_sale, png
from tests.escrow.settlement_helpers import settle_rounds
from tests.escrow.test_settlement import contracts  # noqa: F401 - the fixture
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
LIST = "/api/v1/disputes/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='t').secret}")
    return client


def url(dispute_id, action: str = "") -> str:
    return f"{LIST}{dispute_id}/" + (f"{action}/" if action else "")


def open_form(sale, **fields):
    return {"sale_id": sale.pk, "reason": "invalid_phone", "statement": "The number is disconnected.", **fields}


def opened(sale, **fields) -> dict:
    response = client_for(sale.buyer).post(LIST, open_form(sale, evidence=[png()], **fields), format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def refused(response, status: int = 400) -> set:
    assert response.status_code == status, response.content
    return error_fields(response)


# ---------------------------------------------------------------- the whole flow


def test_open_offer_accept_refund_and_the_detail_shows_it_closed(contracts):  # noqa: F811
    sale, s = minted_sale(price=D("40"))
    buyer, seller = client_for(sale.buyer), client_for(sale.seller)
    body = opened(sale)
    assert body["state"] == {"key": "awaiting_seller", "label": "Waiting for the seller"}
    assert body["reason"]["key"] == "invalid_phone" and body["reason"]["label"]
    assert (body["sale_id"], body["role"], body["price"], body["outcome"]) == (sale.pk, "buyer", "40.000000", None)
    assert body["recommendation"]["key"] in ("refund", "dismiss") and body["recommendation_reasons"]
    assert set(body["checks"]) == {"phone", "contact", "consent", "listing", "rescore"}
    [evidence] = body["evidence"]
    assert (evidence["name"], evidence["content_type"], evidence["size"], evidence["party"]) == (
        "screenshot.png",
        "image/png",
        len(PNG),
        "buyer",
    )
    dispute_id = body["id"]

    response = seller.post(
        url(dispute_id, "respond"),
        {
            "response": "offer",
            "offer_amount": "12.5",
            "statement": "Half of it was fine.",
            "evidence": [png("log.png")],
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"]["key"] == "awaiting_buyer" and body["role"] == "seller"
    assert (body["seller_response"]["key"], body["offer_amount"], body["seller_statement"]) == (
        "offer",
        "12.500000",
        "Half of it was fine.",
    )
    assert [e["party"] for e in body["evidence"]] == ["buyer", "seller"]

    response = buyer.post(url(dispute_id, "offer-reply"), {"accept": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"]["key"], body["outcome"]["key"], body["refund_amount"]) == (
        "decided",
        "refund_partial",
        "12.500000",
    )
    assert body["buyer_reply"] == "accepted" and body["decider"]["key"] == "buyer" and body["decided_at"]

    dispute_outcome_apply(dispute_id=dispute_id)
    settle_rounds(3)
    dispute_outcome_apply(dispute_id=dispute_id)
    body = buyer.get(url(dispute_id)).json()
    assert body["state"] == {"key": "closed", "label": "Closed"} and body["closed_at"]
    assert (body["outcome"]["key"], body["refund_amount"]) == ("refund_partial", "12.500000")
    assert "12.5" in body["decision_reason"]
    assert Settlement.objects.get(pk=s.pk).partial_refunded_at is not None


def test_json_without_files_and_a_contest_then_more_evidence(contracts):  # noqa: F811
    sale, _ = minted_sale()
    response = client_for(sale.buyer).post(LIST, open_form(sale, reason="wrong_person"), format="json")
    assert response.status_code == 201, response.content
    dispute_id = response.json()["id"]
    assert response.json()["evidence"] == []
    seller = client_for(sale.seller)
    response = seller.post(
        url(dispute_id, "respond"), {"response": "contest", "statement": "It is the right person."}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"]["key"] == "awaiting_staff", response.content
    text = SimpleUploadedFile("call.txt", b"Call log: 3 minutes on the 4th.\n", content_type="text/plain")
    response = seller.post(url(dispute_id, "evidence"), {"evidence": [text]}, format="multipart")
    assert response.status_code == 200, response.content
    assert [(e["name"], e["content_type"], e["party"]) for e in response.json()["evidence"]] == [
        ("call.txt", "text/plain", "seller")
    ]


def test_a_five_megabyte_file_is_taken(contracts, settings):  # noqa: F811
    sale, _ = minted_sale()
    big = PNG + b"\0" * (settings.DISPUTE_EVIDENCE_MAX_BYTES - len(PNG))
    response = client_for(sale.buyer).post(
        LIST, open_form(sale, evidence=[SimpleUploadedFile("big.png", big)]), format="multipart"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["evidence"][0]["size"] == settings.DISPUTE_EVIDENCE_MAX_BYTES


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "changed_my_mind"}, "reason"),
        ({"statement": "   "}, "statement"),
        ({"statement": "x" * 5001}, "statement"),
        ({"sale_id": "abc"}, "sale_id"),
        ({"sale_id": "-3"}, "sale_id"),
        ({"sale_id": str(2**70)}, "sale_id"),
        ({"evidence": [SimpleUploadedFile("a.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 64)]}, "evidence"),
        ({"evidence": [SimpleUploadedFile("fake.png", b"\x00\x01\x02 not an image")]}, "evidence"),
        ({"evidence": [SimpleUploadedFile("empty.png", b"")]}, "evidence"),
        ({"evidence": [png(f"{n}.png") for n in range(6)]}, "evidence"),
        ({"evidence": "not a file"}, "evidence"),
    ],
)
def test_bad_openings_are_400s_naming_the_field(contracts, change, field):  # noqa: F811
    sale, _ = minted_sale()
    response = client_for(sale.buyer).post(LIST, open_form(sale, **change), format="multipart")
    assert refused(response) == {field}
    assert api_error(response)["param"].split(".")[0] == field
    assert not Dispute.objects.exists() and not DisputeEvidence.objects.exists()


def test_too_big_a_file_is_a_400_naming_it(contracts, settings):  # noqa: F811
    sale, _ = minted_sale()
    big = PNG + b"\0" * (settings.DISPUTE_EVIDENCE_MAX_BYTES + 1 - len(PNG))
    response = client_for(sale.buyer).post(
        LIST, open_form(sale, evidence=[SimpleUploadedFile("huge.png", big)]), format="multipart"
    )
    assert refused(response) == {"evidence"}
    assert "huge.png is larger than 5 MB" in api_error(response)["message"]


def test_json_bodies_are_strict_and_garbage_is_a_400_or_415(contracts):  # noqa: F811
    sale, _ = minted_sale()
    api = client_for(sale.buyer)
    assert refused(api.post(LIST, {**open_form(sale), "sale_id": str(sale.pk)}, format="json")) == {"sale_id"}
    assert refused(api.post(LIST, {**open_form(sale), "statement": ""}, format="json")) == {"statement"}
    assert refused(api.post(LIST, [1, 2], format="json")) == {None}
    assert api_error(api.post(LIST, "{not json", content_type="application/json"))["code"] == "parse_error"
    response = api.post(LIST, "sale_id=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and api_error(response)["code"] == "unsupported_media_type"
    response = api.post(LIST, b"--nope\r\ngarbage", content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 400, response.content
    response = api.post(LIST, b"garbage", content_type="multipart/form-data")  # no boundary
    assert response.status_code == 400 and api_error(response)
    assert not Dispute.objects.exists()


def test_after_the_window_twice_or_on_someone_elses_purchase(contracts):  # noqa: F811
    sale, s = minted_sale()
    other, _ = minted_sale()
    api = client_for(sale.buyer)
    # Someone else's purchase, the seller's own sale and a missing one: 404, naming sale_id.
    for response in (
        api.post(LIST, open_form(other), format="json"),
        client_for(sale.seller).post(LIST, open_form(sale), format="json"),
        api.post(LIST, open_form(sale, sale_id=2**62), format="json"),
    ):
        assert response.status_code == 404, response.content
        error = api_error(response)
        assert (error["code"], error["param"]) == ("resource_missing", "sale_id")
    Settlement.objects.filter(pk=s.pk).update(release_after=timezone.now() - timedelta(seconds=1))
    response = api.post(LIST, open_form(sale), format="json")
    assert refused(response) == {"sale_id"} and "window" in api_error(response)["message"]
    Settlement.objects.filter(pk=s.pk).update(release_after=timezone.now() + timedelta(days=1))
    assert api.post(LIST, open_form(sale), format="json").status_code == 201
    response = api.post(LIST, open_form(sale), format="json")
    assert refused(response) == {"sale_id"} and "already" in api_error(response)["message"]
    assert Dispute.objects.count() == 1


def test_answers_by_anyone_else_are_404s_and_out_of_turn_400s(contracts):  # noqa: F811
    sale, _ = minted_sale()
    dispute_id = opened(sale)["id"]
    buyer, seller, stranger = client_for(sale.buyer), client_for(sale.seller), client_for(UserFactory())
    accept = {"response": "accept"}
    for api in (buyer, stranger):  # only the seller answers
        response = api.post(url(dispute_id, "respond"), accept, format="json")
        assert response.status_code == 404 and api_error(response)["code"] == "not_found", response.content
    for api in (seller, stranger):  # only the buyer replies to an offer
        assert api.post(url(dispute_id, "offer-reply"), {"accept": True}, format="json").status_code == 404
    assert stranger.post(url(dispute_id, "evidence"), {"evidence": [png()]}, format="multipart").status_code == 404
    assert stranger.get(url(dispute_id)).status_code == 404
    assert stranger.get(url(2**62)).status_code == 404
    assert buyer.get(f"{LIST}abc/").status_code == 404

    assert refused(buyer.post(url(dispute_id, "offer-reply"), {"accept": True}, format="json")) == {"dispute"}
    assert refused(buyer.post(url(dispute_id, "offer-reply"), {"accept": "yes"}, format="json")) == {"accept"}
    assert refused(seller.post(url(dispute_id, "respond"), {"response": "shrug"}, format="json")) == {"response"}
    assert refused(seller.post(url(dispute_id, "respond"), {"response": "contest"}, format="json")) == {"statement"}
    for amount in ("40", "0", "-1", "abc"):
        response = seller.post(url(dispute_id, "respond"), {"response": "offer", "offer_amount": amount}, format="json")
        assert refused(response) == {"offer_amount"}, amount
    assert refused(seller.post(url(dispute_id, "respond"), {"response": "offer"}, format="json")) == {"offer_amount"}
    assert refused(seller.post(url(dispute_id, "evidence"), {}, format="multipart")) == {"evidence"}
    response = seller.post(url(dispute_id, "evidence"), {"evidence": ["aGVsbG8="]}, format="json")
    assert response.status_code == 415
    assert seller.post(url(dispute_id, "respond"), accept, format="json").status_code == 200
    response = seller.post(url(dispute_id, "respond"), accept, format="json")
    assert refused(response) == {"dispute"}
    assert refused(buyer.post(url(dispute_id, "evidence"), {"evidence": [png()]}, format="multipart")) == {"evidence"}
    assert Dispute.objects.get(pk=dispute_id).outcome == "refund_full"


# ---------------------------------------------------------------- body size


def test_an_oversized_body_is_a_413_envelope_before_it_is_read(contracts, settings):  # noqa: F811
    sale, _ = minted_sale()
    settings.DISPUTE_EVIDENCE_MAX_BYTES = 100_000  # the limit: 5 files of 100 kB and 1 MiB of fields
    files = [SimpleUploadedFile(f"{n}.png", PNG + b"\0" * 400_000) for n in range(5)]
    response = client_for(sale.buyer).post(LIST, open_form(sale, evidence=files), format="multipart")
    assert response.status_code == 413, response.content
    assert api_error(response)["code"] == "payload_too_large"
    response = client_for(sale.buyer).post(
        LIST, b"{" + b" " * (settings.LEAD_MAX_BODY_BYTES + 1) + b"}", content_type="application/json"
    )
    assert response.status_code == 413 and api_error(response)["code"] == "payload_too_large"
    assert not Dispute.objects.exists()


# ---------------------------------------------------------------- reads


def test_the_list_is_each_partys_newest_first_with_pinned_queries(contracts, django_assert_max_num_queries):  # noqa: F811
    first, _ = minted_sale()
    buyer = first.buyer
    sales = [first] + [minted_sale(buyer=buyer)[0] for _ in range(2)]
    ids = [opened(sale)["id"] for sale in sales]
    other, _ = minted_sale()
    opened(other)  # someone else's dispute
    seller_of_first = first.seller
    api = client_for(buyer)
    with django_assert_max_num_queries(3):  # the key (read, last used), the page; nothing per row
        response = api.get(LIST)
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == ids[::-1]
    assert {r["role"] for r in rows} == {"buyer"} and rows[0]["state"]["key"] == "awaiting_seller"
    assert [r["id"] for r in api.get(LIST, {"role": "buyer"}).json()["results"]] == ids[::-1]
    assert api.get(LIST, {"role": "seller"}).json()["results"] == []
    as_seller = client_for(seller_of_first).get(LIST).json()["results"]
    assert [(r["id"], r["role"]) for r in as_seller] == [(ids[0], "seller")]
    page = api.get(LIST, {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    assert [r["id"] for r in api.get(page["next"]).json()["results"]] == [ids[0]]
    assert refused(api.get(LIST, {"role": "staff"})) == {"role"}
    assert refused(api.get(LIST, {"cursor": "junk"})) == {"cursor"}


def test_evidence_downloads_for_the_parties_only(contracts):  # noqa: F811
    sale, _ = minted_sale()
    body = opened(sale)
    download = body["evidence"][0]["url"]
    assert download == f"{LIST}{body['id']}/evidence/{body['evidence'][0]['id']}/"
    for user in (sale.buyer, sale.seller):
        response = client_for(user).get(download, HTTP_ACCEPT="image/png")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"] == 'attachment; filename="screenshot.png"'
        assert response["X-Content-Type-Options"] == "nosniff"
    response = client_for(UserFactory()).get(download)
    assert response.status_code == 404 and api_error(response)["code"] == "not_found"
    other, _ = minted_sale()
    other_body = opened(other)
    # An evidence id of another dispute under this one's path: 404 even for this one's buyer.
    response = client_for(sale.buyer).get(f"{LIST}{body['id']}/evidence/{other_body['evidence'][0]['id']}/")
    assert response.status_code == 404


def test_opening_is_rate_limited(contracts, settings):  # noqa: F811
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "disputes": "2/3600s"}
    sale, _ = minted_sale()
    api = client_for(sale.buyer)
    for _ in range(2):
        assert api.post(LIST, open_form(sale, sale_id=2**62), format="json").status_code == 404
    response = api.post(LIST, open_form(sale), format="json")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert api_error(response)["code"] in ("throttled", "rate_limited")
    assert api.get(LIST).status_code == 200  # reading is not the writes' limit
