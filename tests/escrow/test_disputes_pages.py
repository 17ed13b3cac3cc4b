"""Dispute pages: the purchase page's "Return this lead", opening a dispute, "My disputes" and
"Disputes received" (paged, pinned queries), the dispute's page for its two parties (404 for
anyone else) with the seller's answer, the buyer's reply to an offer, more evidence, and evidence
downloads. Bad input shows per-field errors and writes nothing."""

import html
from datetime import timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from escrow.choices import DisputeState
from escrow.models import Dispute, DisputeEvidence
from escrow.services.disputes import dispute_respond
from tests.auctions.factories import funded_buyer
from tests.escrow.dispute_helpers import PNG, png
from tests.escrow.dispute_page_helpers import EXE, disputable, opened
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def sale_and_settlement(db):
    return disputable()


@pytest.fixture
def sale(sale_and_settlement):
    return sale_and_settlement[0]


@pytest.fixture
def dispute(sale):
    return opened(sale)


def open_url(sale) -> str:
    return f"/my/purchases/{sale.pk}/dispute/"


def form(**overrides):
    return {"reason": "invalid_phone", "statement": "Disconnected when I called.", "evidence": [png()], **overrides}


# ---------------------------------------------------------------- the purchase page


def test_the_purchase_page_offers_a_return_until_the_window_ends_in_the_buyers_time_zone(client, sale_and_settlement):
    sale, settlement = sale_and_settlement
    sale.buyer.time_zone = "America/New_York"
    sale.buyer.save(update_fields=["time_zone"])
    client.force_login(sale.buyer)
    body = text(client.get(f"/my/purchases/{sale.pk}/"))
    assert "Return this lead" in body and open_url(sale) in body
    local = timezone.localtime(settlement.release_after, timezone=ZoneInfo("America/New_York"))
    assert f"{local:%H:%M} {local.tzname()}" in body


def test_once_disputed_the_purchase_page_shows_its_state_and_links_to_it(client, sale, dispute):
    client.force_login(sale.buyer)
    body = text(client.get(f"/my/purchases/{sale.pk}/"))
    assert "Return this lead" not in body
    assert f"/disputes/{dispute.pk}/" in body and "Waiting for the seller" in body


def test_after_the_window_the_purchase_page_offers_no_return(client, sale_and_settlement):
    sale, settlement = sale_and_settlement
    settlement.release_after = timezone.now() - timedelta(minutes=1)
    settlement.save(update_fields=["release_after"])
    client.force_login(sale.buyer)
    assert "Return this lead" not in text(client.get(f"/my/purchases/{sale.pk}/"))


# ---------------------------------------------------------------- opening


def test_the_buyer_opens_a_dispute_with_files_and_lands_on_its_page(client, sale):
    client.force_login(sale.buyer)
    page = client.get(open_url(sale))
    assert page.status_code == 200 and "Invalid or disconnected phone" in text(page)
    response = client.post(open_url(sale), form(evidence=[png("one.png"), png("two.png")]))
    dispute = Dispute.objects.get(sale=sale)
    assert response.status_code == 302 and response.url == f"/disputes/{dispute.pk}/"
    assert sorted(DisputeEvidence.objects.values_list("name", flat=True)) == ["one.png", "two.png"]
    body = text(client.get(response.url))
    assert "Your dispute is open" in body and "Disconnected when I called." in body


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"reason": ""}, "reason", "This field is required."),
        ({"reason": "bored"}, "reason", "Select a valid choice."),
        ({"statement": "  "}, "statement", "This field is required."),
        ({"statement": "x" * 5001}, "statement", "at most 5000 characters"),
        ({"evidence": [SimpleUploadedFile("virus.exe", EXE)]}, "evidence", "virus.exe is not a file type we accept"),
        ({"evidence": [SimpleUploadedFile("empty.txt", b"")]}, "evidence", "empty.txt is empty."),
        ({"evidence": [png(f"{n}.png") for n in range(6)]}, "evidence", "At most 5 files"),
    ],
)
def test_bad_input_to_the_open_form_shows_the_fields_error_and_writes_nothing(client, sale, overrides, field, message):
    client.force_login(sale.buyer)
    response = client.post(open_url(sale), form(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and any(message.lower() in e.lower() for e in errors[field]), errors
    assert not Dispute.objects.exists() and not DisputeEvidence.objects.exists()


@override_settings(DISPUTE_EVIDENCE_MAX_BYTES=1024 * 1024)
def test_a_file_too_big_is_refused_on_its_field(client, sale):
    client.force_login(sale.buyer)
    big = SimpleUploadedFile("big.txt", b"a" * (1024 * 1024 + 1), content_type="text/plain")
    response = client.post(open_url(sale), form(evidence=[big]))
    assert response.status_code == 400
    assert response.context["form"].errors["evidence"] == ["big.txt is larger than 1 MB."]
    assert not Dispute.objects.exists()


def test_after_the_window_the_form_says_it_closed_and_writes_nothing(client, sale_and_settlement):
    sale, settlement = sale_and_settlement
    settlement.release_after = timezone.now() - timedelta(minutes=1)
    settlement.save(update_fields=["release_after"])
    client.force_login(sale.buyer)
    response = client.post(open_url(sale), form())
    assert response.status_code == 400
    assert "The dispute window of this purchase closed" in " ".join(response.context["form"].non_field_errors())
    assert not Dispute.objects.exists()


def test_someone_elses_purchase_is_a_404_and_writes_nothing(client, sale):
    client.force_login(UserFactory(is_buyer=True))
    assert client.get(open_url(sale)).status_code == 404
    assert client.post(open_url(sale), form()).status_code == 404
    client.force_login(sale.seller)
    assert client.post(open_url(sale), form()).status_code == 404
    assert not Dispute.objects.exists()


def test_a_second_dispute_is_refused_and_the_form_leads_to_the_first(client, sale, dispute):
    client.force_login(sale.buyer)
    assert client.get(open_url(sale)).url == f"/disputes/{dispute.pk}/"
    response = client.post(open_url(sale), form())
    assert response.status_code == 400
    assert "already" in " ".join(response.context["form"].non_field_errors())
    assert Dispute.objects.count() == 1 and DisputeEvidence.objects.count() == 1


# ---------------------------------------------------------------- the dispute's page


def test_the_page_shows_both_parties_the_facts_checks_in_words_and_the_deadline(client, sale, dispute):
    for user in (sale.buyer, sale.seller):
        client.force_login(user)
        response = client.get(f"/disputes/{dispute.pk}/")
        assert response.status_code == 200
        body = text(response)
        assert "Invalid or disconnected phone" in body and "The number is disconnected." in body
        assert "Phone number" in body and "Consent record" in body and "Quality score" in body
        for key in ("sold_to_you_before", "age_days_at_sale", "zip_in_state", "line_type", "{'"):
            assert key not in body
        assert dispute.get_recommendation_display() in body
        assert all(reason in body for reason in dispute.recommendation_reasons)
        assert "Seller answers by" in body and "screenshot.png" in body and "The buyer opened the dispute." in body
    assert "respond-form" in text(client.get(f"/disputes/{dispute.pk}/"))  # the seller's answer form


def test_anyone_else_gets_a_404_for_the_page_its_forms_and_files(client, dispute, staff):
    evidence = DisputeEvidence.objects.get()
    for user in (UserFactory(is_buyer=True), UserFactory(is_seller=True)):
        client.force_login(user)
        for url in ("", "state/"):
            assert client.get(f"/disputes/{dispute.pk}/{url}").status_code == 404
        for url in ("respond/", "offer/", "evidence/"):
            assert (
                client.post(f"/disputes/{dispute.pk}/{url}", {"response": "accept", "accept": "yes"}).status_code == 404
            )
        assert client.get(f"/disputes/evidence/{evidence.pk}/").status_code == 404
    client.force_login(staff)
    assert client.get(f"/disputes/{dispute.pk}/").status_code == 404  # staff decide in admin
    assert Dispute.objects.get().state == DisputeState.AWAITING_SELLER
    client.logout()
    assert client.get(f"/disputes/{dispute.pk}/").status_code == 302


def test_evidence_downloads_as_an_attachment_for_the_parties_and_staff(client, sale, dispute, staff):
    evidence = DisputeEvidence.objects.get()
    for user in (sale.buyer, sale.seller, staff):
        client.force_login(user)
        response = client.get(f"/disputes/evidence/{evidence.pk}/")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
        assert (
            response["Content-Disposition"].startswith("attachment;")
            and "screenshot.png" in response["Content-Disposition"]
        )
        assert b"".join(response.streaming_content) == PNG


def test_the_seller_contests_with_a_statement_and_files(client, sale, dispute):
    client.force_login(sale.seller)
    response = client.post(
        f"/disputes/{dispute.pk}/respond/",
        {"response": "contest", "statement": "The number answered yesterday.", "evidence": [png("call.png")]},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.AWAITING_STAFF and dispute.seller_statement == "The number answered yesterday."
    assert DisputeEvidence.objects.filter(party="seller").count() == 1
    body = text(client.get(f"/disputes/{dispute.pk}/"))
    assert "Waiting for staff arbitration" in body and "respond-form" not in body


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"response": "contest", "statement": ""}, "statement", "Say in a few words"),
        ({"response": "offer"}, "offer_amount", "Enter the amount you offer"),
        ({"response": "offer", "offer_amount": "10"}, "offer_amount", "less than the price"),
        ({"response": "offer", "offer_amount": "-1"}, "offer_amount", "greater than or equal to"),
        ({"response": "maybe"}, "response", "Select a valid choice"),
        (
            {"response": "contest", "statement": "No.", "evidence": [SimpleUploadedFile("x.exe", EXE)]},
            "evidence",
            "not a file type",
        ),
    ],
)
def test_bad_answers_show_the_fields_error_and_write_nothing(client, sale, dispute, data, field, message):
    client.force_login(sale.seller)
    response = client.post(f"/disputes/{dispute.pk}/respond/", data)
    assert response.status_code == 400
    errors = response.context["respond_form"].errors
    assert any(message.lower() in e.lower() for e in errors.get(field, [])), errors
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.AWAITING_SELLER and not dispute.seller_response
    assert DisputeEvidence.objects.count() == 1


def test_the_buyer_cannot_answer_for_the_seller_nor_after_the_deadline(client, sale, dispute):
    client.force_login(sale.buyer)
    assert client.post(f"/disputes/{dispute.pk}/respond/", {"response": "accept"}).status_code == 404
    Dispute.objects.filter(pk=dispute.pk).update(respond_by=timezone.now() - timedelta(minutes=1))
    client.force_login(sale.seller)
    response = client.post(f"/disputes/{dispute.pk}/respond/", {"response": "accept"})
    assert response.status_code == 400
    assert "deadline" in " ".join(response.context["respond_form"].non_field_errors())
    assert Dispute.objects.get().state == DisputeState.AWAITING_SELLER


def test_an_offer_the_buyer_accepts_on_the_page(client, sale, dispute):
    dispute_respond(seller=sale.seller, dispute_id=dispute.pk, response="offer", offer_amount=D("4"))
    client.force_login(sale.buyer)
    body = text(client.get(f"/disputes/{dispute.pk}/"))
    assert "reply-form" in body and "4.00 USDC" in body
    assert client.post(f"/disputes/{dispute.pk}/offer/", {"accept": "yes"}).status_code == 302
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome, dispute.refund_amount) == (DisputeState.DECIDED, "refund_partial", D("4"))
    body = text(client.get(f"/disputes/{dispute.pk}/"))
    assert "Partial refund" in body and "4.00 USDC back to the buyer" in body and "accepted the seller's offer" in body
    # A second reply is refused on the form; the seller cannot reply for the buyer.
    response = client.post(f"/disputes/{dispute.pk}/offer/", {"accept": "no"})
    assert response.status_code == 400 and Dispute.objects.get().state == DisputeState.DECIDED
    client.force_login(sale.seller)
    assert client.post(f"/disputes/{dispute.pk}/offer/", {"accept": "no"}).status_code == 404


def test_a_declined_offer_goes_to_staff(client, sale, dispute):
    dispute_respond(seller=sale.seller, dispute_id=dispute.pk, response="offer", offer_amount=D("4"))
    client.force_login(sale.buyer)
    client.post(f"/disputes/{dispute.pk}/offer/", {"accept": "no"})
    assert Dispute.objects.get().state == DisputeState.AWAITING_STAFF


def test_parties_add_evidence_while_open_and_bad_files_are_refused(client, sale, dispute):
    client.force_login(sale.seller)
    assert client.post(f"/disputes/{dispute.pk}/evidence/", {"evidence": [png("log.png")]}).status_code == 302
    response = client.post(f"/disputes/{dispute.pk}/evidence/", {})
    assert response.status_code == 400 and response.context["evidence_form"].errors["evidence"]
    response = client.post(f"/disputes/{dispute.pk}/evidence/", {"evidence": [SimpleUploadedFile("a.exe", EXE)]})
    assert response.status_code == 400 and "not a file type" in response.context["evidence_form"].errors["evidence"][0]
    assert DisputeEvidence.objects.count() == 2
    dispute_respond(seller=sale.seller, dispute_id=dispute.pk, response="accept")
    response = client.post(f"/disputes/{dispute.pk}/evidence/", {"evidence": [png("late.png")]})
    assert response.status_code == 400 and "decided" in response.context["evidence_form"].errors["evidence"][0]
    assert DisputeEvidence.objects.count() == 2
    assert "evidence-form" not in text(client.get(f"/disputes/{dispute.pk}/"))


def test_the_state_block_renders_alone_for_the_live_refresh(client, sale, dispute):
    client.force_login(sale.seller)
    response = client.get(f"/disputes/{dispute.pk}/state/")
    body = text(response)
    assert response.status_code == 200 and "data-dispute-state" in body and "<html" not in body
    assert "Waiting for the seller" in body and "respond-form" in body


def test_the_page_loads_the_live_script_for_this_dispute(client, sale, dispute):
    client.force_login(sale.buyer)
    body = text(client.get(f"/disputes/{dispute.pk}/"))
    assert f'data-dispute-id="{dispute.pk}"' in body and "js/dispute-live.js" in body


# ---------------------------------------------------------------- lists


def test_my_disputes_and_disputes_received_are_paged_with_pinned_queries(
    client, django_assert_max_num_queries, monkeypatch
):
    from escrow.views import disputes as views

    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    buyer = funded_buyer()
    seller = UserFactory(is_seller=True)
    made = [opened(disputable(buyer=buyer, seller=seller)[0]) for _ in range(5)]
    dispute_respond(seller=seller, dispute_id=made[0].pk, response="contest", statement="No.")
    client.force_login(buyer)
    with django_assert_max_num_queries(6):  # session, user, the page (+ nav)
        first = client.get("/my/disputes/")
    rows = [d.pk for d in first.context["disputes"]]
    assert rows == [d.pk for d in reversed(made)][:3] and first.context["next_url"]
    second = client.get("/my/disputes/" + first.context["next_url"])
    assert [d.pk for d in second.context["disputes"]] == [made[1].pk, made[0].pk]
    assert "Waiting for staff arbitration" in text(second)

    client.force_login(seller)
    with django_assert_max_num_queries(7):  # session, user, count, the page
        received = client.get("/seller/disputes/")
    # Waiting for the seller first, soonest deadline first; the contested one (staff's now) after them.
    listed = [d.pk for d in received.context["disputes"]]
    assert listed == [made[1].pk, made[2].pk, made[3].pk]
    assert "Answer by" in text(received) and "Page 1 of 2" in text(received)
    assert [d.pk for d in client.get("/seller/disputes/?page=2").context["disputes"]] == [made[4].pk, made[0].pk]


def test_the_header_links_to_the_dispute_lists(client):
    user = UserFactory(is_buyer=True, is_seller=True)
    client.force_login(user)
    body = text(client.get("/my/disputes/"))
    assert 'href="/my/disputes/"' in body and 'href="/seller/disputes/"' in body


# ---------------------------------------------------------------- live


@pytest.mark.django_db(transaction=True)
def test_the_other_partys_socket_gets_the_dispute_message_the_page_listens_for():
    """The page's script (static/js/dispute-live.js) reacts to {"type": "dispute.*", "dispute_id"}
    on the user's socket: the consumer forwards those as it does every private message."""
    import asyncio

    from channels.testing import WebsocketCommunicator
    from django.conf import settings
    from django.test import Client

    from config.asgi import application

    sale, _ = disputable(t0=timezone.now())
    dispute = opened(sale)
    client = Client()
    client.force_login(sale.buyer)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def run():
        socket = WebsocketCommunicator(
            application, "/ws/live/", headers=[(b"origin", b"http://testserver"), (b"cookie", cookie.encode())]
        )
        connected, _ = await socket.connect()
        assert connected
        await socket.receive_json_from(timeout=5)  # hello
        await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: dispute_respond(seller=sale.seller, dispute_id=dispute.pk, response="contest", statement="No."),
        )
        message = await socket.receive_json_from(timeout=5)
        if message["type"] == "notification.new":  # the notification of the same change comes first
            message = await socket.receive_json_from(timeout=5)
        assert (message["type"], message["dispute_id"]) == ("dispute.answered", dispute.pk)
        assert "staff decide" in message["message"]
        await socket.disconnect()

    asyncio.run(run())


def test_the_seller_sees_the_buyers_return_rate_in_the_vertical(client, sale, dispute):
    client.force_login(sale.seller)
    page = text(client.get(f"/disputes/{dispute.pk}/"))
    assert "This buyer disputed 1 of 1 purchase in" in page and "(100 %)" in page
    client.force_login(sale.buyer)
    assert 'data-testid="buyer-return-rate"' not in client.get(f"/disputes/{dispute.pk}/").content.decode()
