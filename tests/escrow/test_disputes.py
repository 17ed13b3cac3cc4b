"""Disputes on anvil and PostgreSQL: a buyer returns a purchase, the checks recommend, the seller
answers, staff decide, and the outcome moves the money once on chain and in the ledger; the release
waits while a dispute is open; bad input is refused naming the field with nothing written."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from escrow.choices import ContactStatus, DisputeOutcome, DisputeRecommendation, DisputeState
from escrow.models import Dispute, DisputeEvidence, Settlement
from escrow.selectors.purchases import purchase_contact_status_now
from escrow.services.disputes import (
    dispute_deadlines_pass,
    dispute_decide,
    dispute_offer_reply,
    dispute_open,
    dispute_outcome_apply,
    dispute_respond,
)
from escrow.services.reconcile import reconcile
from escrow.services.settlement import release_due
from escrow.units import to_units
from leads.choices import LeadStatus
from leads.selectors import lead_pii_read
from leads.services import lead_relist_returned
from ledger.models import LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from tests.escrow.dispute_helpers import PNG, after_window, minted_sale, png
from tests.escrow.settlement_helpers import checksum, settle_rounds
from tests.escrow.test_settlement import contracts  # noqa: F401 - the fixture
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
State = Settlement.State


def _open(sale, **kwargs):
    args = {"reason": "invalid_phone", "statement": "The number is disconnected.", "files": [png()]}
    return dispute_open(buyer=sale.buyer, sale_id=sale.pk, **{**args, **kwargs})


def test_opening_runs_the_checks_stores_evidence_and_holds_the_release(contracts):  # noqa: F811
    sale, s = minted_sale()
    d = _open(sale)
    assert d.state == DisputeState.AWAITING_SELLER and d.seller_id == sale.seller_id and d.price == D("40")
    assert set(d.checks) == {"phone", "contact", "consent", "listing", "rescore"}
    assert "present" in d.checks["phone"] and d.checks["rescore"]["after"] is not None
    assert d.recommendation in DisputeRecommendation.values and d.recommendation_reasons
    assert d.respond_by == d.created_at + timedelta(hours=48)
    evidence = DisputeEvidence.objects.get(dispute=d)
    assert (evidence.content_type, evidence.size, evidence.party) == ("image/png", len(PNG), "buyer")
    assert evidence.file.read() == PNG
    # The window ends, the release runs: nothing is released while the dispute is open.
    assert release_due(now=after_window(s)) == 0
    assert Settlement.objects.get(pk=s.pk).state == State.MINTED


def test_seller_accepts_full_refund_on_chain_and_in_the_ledger_once_and_the_lead_is_returned(contracts):  # noqa: F811
    vault = contracts["EscrowVault"]
    sale, s = minted_sale(price=D("40"))
    buyer_vault = vault.functions.balanceOf(checksum(s.buyer_address)).call()
    buyer_before = balance_for(user=sale.buyer)["available"]
    d = _open(sale)
    d = dispute_respond(seller=sale.seller, dispute_id=d.pk, response="accept")
    assert (d.state, d.outcome, d.refund_amount, d.decider) == (DisputeState.DECIDED, "refund_full", D("40"), "seller")
    # From the decision on, the contact details are no longer the buyer's.
    assert purchase_contact_status_now(user=sale.buyer, sale=sale)[1] == ContactStatus.REFUNDED
    for _ in range(2):  # the task may run twice (a replay): once in effect
        dispute_outcome_apply(dispute_id=d.pk)
    settle_rounds(3)
    dispute_outcome_apply(dispute_id=d.pk)
    d.refresh_from_db()
    s.refresh_from_db()
    assert d.state == DisputeState.CLOSED and s.state == State.REFUNDED
    assert vault.functions.dealOf(sale.pk).call()[1] == 0
    assert vault.functions.balanceOf(checksum(s.buyer_address)).call() == buyer_vault + to_units(D("40"))
    assert balance_for(user=sale.buyer)["available"] == buyer_before + D("40")
    assert LedgerTransaction.objects.filter(idempotency_key__startswith=f"refund:{sale.pk}").count() == 1
    lead = sale.lead
    lead.refresh_from_db()
    assert lead.status == LeadStatus.RETURNED and lead.returned_at is not None
    assert ledger_check().ok and reconcile() == {}

    # The seller may offer it again only as a returned lead: a new lead, marked, same contact.
    with pytest.raises(ValidationError) as refused:
        lead_relist_returned(seller=sale.buyer, lead_id=lead.pk)
    assert "lead" in refused.value.message_dict
    again = lead_relist_returned(seller=sale.seller, lead_id=lead.pk)
    assert again.pk != lead.pk and again.returned_from_id == lead.pk and again.returned_at == lead.returned_at
    assert (again.phone_hash, again.fields, again.vertical_id) == (lead.phone_hash, lead.fields, lead.vertical_id)
    assert lead_pii_read(lead=again) == lead_pii_read(lead=lead)
    with pytest.raises(ValidationError, match="offered again already"):
        lead_relist_returned(seller=sale.seller, lead_id=lead.pk)


def test_a_partial_refund_returns_the_offer_and_the_release_splits_the_rest(contracts):  # noqa: F811
    vault = contracts["EscrowVault"]
    sale, s = minted_sale(price=D("40"))
    buyer_vault = vault.functions.balanceOf(checksum(s.buyer_address)).call()
    seller_before = balance_for(user=sale.seller)["available"]
    d = _open(sale, reason="not_as_listed")
    d = dispute_respond(seller=sale.seller, dispute_id=d.pk, response="offer", offer_amount="12.5", statement="")
    assert d.state == DisputeState.AWAITING_BUYER and d.offer_amount == D("12.5")
    d = dispute_offer_reply(buyer=sale.buyer, dispute_id=d.pk, accept=True)
    assert (d.state, d.outcome, d.refund_amount) == (DisputeState.DECIDED, "refund_partial", D("12.5"))
    # A partial refund leaves the contact details with the buyer.
    assert purchase_contact_status_now(user=sale.buyer, sale=sale)[1] == ContactStatus.AVAILABLE
    dispute_outcome_apply(dispute_id=d.pk)
    settle_rounds(3)
    assert dispute_outcome_apply(dispute_id=d.pk) == DisputeState.CLOSED
    assert vault.functions.dealOf(sale.pk).call()[1] == to_units(D("27.5"))
    assert vault.functions.balanceOf(checksum(s.buyer_address)).call() == buyer_vault + to_units(D("12.5"))
    assert ledger_check().ok and reconcile() == {}

    settle_rounds(3, now=after_window(s))  # the window is over: the rest is released
    s.refresh_from_db()
    assert s.state == State.RELEASED
    assert s.seller_amount + s.platform_fee + s.vertical_royalty == D("27.5")
    assert balance_for(user=sale.seller)["available"] == seller_before + s.seller_amount
    sale.escrow_account.refresh_from_db()
    assert sale.escrow_account.balance == 0
    assert vault.functions.dealOf(sale.pk).call()[1] == 0
    assert ledger_check().ok and reconcile() == {}


def test_staff_dismissal_closes_it_and_the_release_goes_on(contracts):  # noqa: F811
    sale, s = minted_sale()
    staff = UserFactory(is_staff=True)
    d = _open(sale, reason="wrong_person")
    d = dispute_respond(seller=sale.seller, dispute_id=d.pk, response="contest", statement="It is the right person.")
    assert d.state == DisputeState.AWAITING_STAFF
    d = dispute_decide(staff=staff, dispute_id=d.pk, outcome="dismissed", reason="The call log shows a conversation.")
    assert (d.state, d.outcome, d.decision_reason) == (
        DisputeState.CLOSED,
        "dismissed",
        "The call log shows a conversation.",
    )
    settle_rounds(3, now=after_window(s))
    assert Settlement.objects.get(pk=s.pk).state == State.RELEASED


def test_an_unanswered_dispute_follows_the_recommendation_or_goes_to_staff(contracts):  # noqa: F811
    refund_sale, _ = minted_sale(price=D("20"))
    dismiss_sale, _ = minted_sale(price=D("20"))
    refund = _open(refund_sale, reason="no_consent")
    Dispute.objects.filter(pk=refund.pk).update(
        recommendation="refund", recommendation_reasons=["Consent lacks an IP."]
    )
    dismiss = _open(dismiss_sale, reason="other")
    assert dismiss.recommendation == DisputeRecommendation.DISMISS
    assert dispute_deadlines_pass(now=refund.respond_by - timedelta(seconds=1)) == 0
    assert dispute_deadlines_pass(now=refund.respond_by + timedelta(minutes=1)) == 2
    refund.refresh_from_db()
    dismiss.refresh_from_db()
    assert (refund.state, refund.outcome, refund.decider) == (DisputeState.DECIDED, "refund_full", "deadline")
    assert "Consent lacks an IP." in refund.decision_reason
    assert dismiss.state == DisputeState.AWAITING_STAFF


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("after the window", "sale"),
        ("someone else's purchase", "sale"),
        ("twice on one purchase", "sale"),
        ("no statement", "statement"),
        ("unknown reason", "reason"),
        ("file too large", "evidence"),
        ("wrong file type", "evidence"),
    ],
)
def test_bad_openings_are_refused_naming_the_field_and_write_nothing(contracts, settings, case, field):  # noqa: F811
    sale, s = minted_sale()
    kwargs = {}
    buyer = sale.buyer
    if case == "after the window":
        kwargs["now"] = after_window(s)
    elif case == "someone else's purchase":
        buyer = UserFactory(is_buyer=True)
    elif case == "twice on one purchase":
        _open(sale)
    elif case == "no statement":
        kwargs["statement"] = "   "
    elif case == "unknown reason":
        kwargs["reason"] = "changed_my_mind"
    elif case == "file too large":
        settings.DISPUTE_EVIDENCE_MAX_BYTES = len(PNG) - 1
    elif case == "wrong file type":
        kwargs["files"] = [SimpleUploadedFile("leads.png", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64))]
    before = Dispute.objects.count(), DisputeEvidence.objects.count()
    args = {"reason": "invalid_phone", "statement": "Disconnected.", "files": [png()], **kwargs}
    with pytest.raises(ValidationError) as refused:
        dispute_open(buyer=buyer, sale_id=sale.pk, **args)
    assert field in refused.value.message_dict
    assert (Dispute.objects.count(), DisputeEvidence.objects.count()) == before


def test_answers_by_someone_else_or_out_of_turn_are_refused(contracts):  # noqa: F811
    sale, _ = minted_sale()
    d = _open(sale)
    with pytest.raises(ValidationError) as refused:
        dispute_respond(seller=UserFactory(is_seller=True), dispute_id=d.pk, response="accept")
    assert "dispute" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        dispute_respond(seller=sale.seller, dispute_id=d.pk, response="offer", offer_amount="40")
    assert "offer_amount" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        dispute_respond(seller=sale.seller, dispute_id=d.pk, response="contest", statement="")
    assert "statement" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        dispute_offer_reply(buyer=sale.buyer, dispute_id=d.pk, accept=True)
    assert "dispute" in refused.value.message_dict
    d.refresh_from_db()
    assert d.state == DisputeState.AWAITING_SELLER and not d.seller_response


def test_above_the_return_rate_threshold_new_disputes_go_to_staff_first(contracts):  # noqa: F811
    from tests.auctions.factories import make_vertical

    vertical = make_vertical(reserve_price=D("5"), return_rate_threshold=D("0"))
    sale, _ = minted_sale(price=D("5"), vertical=vertical)
    # Ten earlier purchases in the vertical, one of them disputed: a 10 % rate, above 0 %.
    earlier = [minted_sale(price=D("5"), vertical=vertical, buyer=sale.buyer)[0] for _ in range(9)]
    _open(earlier[0], reason="other")
    d = _open(sale, reason="other")
    assert d.staff_first and "threshold" in d.staff_first_reason
    Dispute.objects.filter(pk=d.pk).update(recommendation="refund")
    dispute_deadlines_pass(now=d.respond_by + timedelta(minutes=1))
    d.refresh_from_db()
    assert d.state == DisputeState.AWAITING_STAFF


def _race(*calls):
    """Run the calls at once on their own database connections; their results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the result under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_a_dispute_at_the_last_second_and_the_release_at_once_exactly_one_wins(contracts, attempt):  # noqa: F811
    vault = contracts["EscrowVault"]
    sale, s = minted_sale(price=D("30"))
    last_second = s.release_after - timedelta(microseconds=500)
    opened, released = _race(
        lambda: _open(sale, files=[], now=last_second),
        lambda: release_due(now=s.release_after),
    )
    settle_rounds(3, now=s.release_after)
    s.refresh_from_db()
    if isinstance(opened, Dispute):
        assert released == 0 and s.state == State.MINTED
        assert vault.functions.dealOf(sale.pk).call()[1] == to_units(D("30"))
    else:
        assert isinstance(opened, ValidationError) and "sale" in opened.message_dict
        assert released == 1 and s.state == State.RELEASED and not Dispute.objects.exists()
        assert vault.functions.dealOf(sale.pk).call()[1] == 0
    assert ledger_check().ok and reconcile() == {}


def test_two_staff_decisions_at_once_only_one_applies(contracts):  # noqa: F811
    sale, _ = minted_sale(price=D("30"))
    d = _open(sale)
    first, second = UserFactory(is_staff=True), UserFactory(is_staff=True)
    results = _race(
        lambda: dispute_decide(staff=first, dispute_id=d.pk, outcome="refund_full", reason="Disconnected."),
        lambda: dispute_decide(staff=second, dispute_id=d.pk, outcome="dismissed", reason="Connected."),
    )
    applied = [r for r in results if isinstance(r, Dispute)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(applied) == 1 and len(refused) == 1 and "outcome" in refused[0].message_dict
    d.refresh_from_db()
    assert d.outcome == applied[0].outcome and d.decided_by_id == applied[0].decided_by_id
    assert d.outcome in (DisputeOutcome.REFUND_FULL, DisputeOutcome.DISMISSED)


def test_a_fully_refunded_lead_token_returns_to_the_platform(contracts):  # noqa: F811
    from chain.deploy import platform_address
    from chain.leadnft import token_id_for

    nft = contracts["LeadNFT"]
    sale, s = minted_sale(price=D("20"))
    token = token_id_for(sale_id=sale.pk, buyer=s.buyer_address)
    assert nft.functions.ownerOf(token).call() == checksum(s.buyer_address)
    d = _open(sale)
    dispute_respond(seller=sale.seller, dispute_id=d.pk, response="accept")
    dispute_outcome_apply(dispute_id=d.pk)
    settle_rounds(4)
    s.refresh_from_db()
    returns = checksum(platform_address(chain_id=s.chain_id))
    assert s.state == State.REFUNDED and s.nft_return_tx.status == "confirmed"
    assert nft.functions.ownerOf(token).call() == returns
    settle_rounds(1)
    assert checksum(Settlement.objects.get(pk=s.pk).owner_address) == returns
    # The buyer still sees the purchase, as refunded; the contact details stay locked.
    assert purchase_contact_status_now(user=sale.buyer, sale=sale)[1] == ContactStatus.REFUNDED
    assert reconcile() == {}


def test_the_sellers_reputation_follows_the_disputes_and_a_rebuild_agrees(contracts):  # noqa: F811
    from leads.models import SellerVerticalReputation
    from leads.seller_reputation import seller_reputation_rebuild

    full, _ = minted_sale(price=D("20"))
    vertical = full.lead.vertical
    partial, _ = minted_sale(price=D("20"), vertical=vertical, seller=full.seller)
    dismissed, _ = minted_sale(price=D("20"), vertical=vertical, seller=full.seller)
    rep = SellerVerticalReputation.objects.get(seller=full.seller, vertical=vertical)
    assert (rep.sales, rep.disputes_opened) == (3, 0)
    score_before = rep.score
    staff = UserFactory(is_staff=True)
    for sale, outcome in ((full, "refund_full"), (partial, "refund_partial"), (dismissed, "dismissed")):
        d = _open(sale, files=[])
        dispute_decide(staff=staff, dispute_id=d.pk, outcome=outcome, refund_amount="5", reason="Checked.")
    rep.refresh_from_db()
    assert (rep.disputes_opened, rep.disputes_upheld, rep.disputes_dismissed) == (3, 2, 1)
    assert rep.refunds_weighted == D("1.25") and rep.score < score_before
    incremental = (rep.disputes_opened, rep.disputes_upheld, rep.disputes_dismissed, rep.refunds_weighted, rep.sales)
    seller_reputation_rebuild()
    rep.refresh_from_db()
    assert (rep.disputes_opened, rep.disputes_upheld, rep.disputes_dismissed, rep.refunds_weighted, rep.sales) == (
        incremental
    )


def test_every_party_is_told_by_the_channels_they_chose(contracts, smtp_inbox):
    from notifications.choices import NotificationEvent as E
    from notifications.models import Notification
    from notifications.services import notification_email_send
    from tests.mail import parts

    sale, _ = minted_sale()
    d = _open(sale, files=[])
    d = dispute_respond(seller=sale.seller, dispute_id=d.pk, response="offer", offer_amount="10")
    dispute_offer_reply(buyer=sale.buyer, dispute_id=d.pk, accept=False)
    dispute_decide(staff=UserFactory(is_staff=True), dispute_id=d.pk, outcome="dismissed", reason="Connected call.")
    events = lambda user: list(  # noqa: E731
        Notification.objects.filter(user=user)
        .exclude(event__in=(E.WON, E.PURCHASE_READY, E.LEAD_SOLD, E.LOW_BALANCE))
        .order_by("id")
        .values_list("event", flat=True)
    )
    assert events(sale.seller) == [E.DISPUTE_OPENED, E.DISPUTE_ANSWERED, E.DISPUTE_DECIDED]
    assert events(sale.buyer) == [E.DISPUTE_ANSWERED, E.DISPUTE_DECIDED]
    decided = Notification.objects.get(user=sale.buyer, event=E.DISPUTE_DECIDED)
    assert "Dismissed" in decided.body and "Connected call." in decided.body
    assert decided.url == f"/disputes/{d.pk}/"
    notification_email_send(notification_id=decided.pk)  # what the notify worker does, here to read the mail
    [message] = [m for m in smtp_inbox.to(sale.buyer.email) if "decided" in m["Subject"]]
    text, html = parts(message)
    assert "Connected call." in text and "Connected call." in html


def test_from_a_full_refund_decision_the_contact_details_are_locked_on_the_page_and_in_the_api(
    contracts,
    client,  # noqa: F811
):
    from rest_framework.test import APIClient

    from accounts.services import api_key_create
    from leads.models import PiiAccess

    sale, _ = minted_sale()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=sale.buyer, name='t').secret}")
    assert api.get(f"/api/v1/purchases/{sale.pk}/").json()["contact_status"] == "available"
    d = _open(sale, files=[])
    dispute_decide(staff=UserFactory(is_staff=True), dispute_id=d.pk, outcome="refund_full", reason="Disconnected.")
    reads = PiiAccess.objects.count()
    # Decided, the refund not even sent yet: locked already.
    body = api.get(f"/api/v1/purchases/{sale.pk}/").json()
    assert (body["contact_status"], body["contact"]) == ("refunded", None)
    client.force_login(sale.buyer)
    page = client.get(f"/my/purchases/{sale.pk}/").content.decode()
    assert 'data-testid="contact-locked"' in page and 'data-testid="contact"' not in page
    assert PiiAccess.objects.count() == reads  # nothing read
