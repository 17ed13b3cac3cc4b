"""The arbitration queue in admin: oldest first with filters and each buyer's return rate (no N+1),
the read-only change page (statements, evidence links, the checks in words), and the Decide page:
full refund, partial refund with an amount, dismissal, per-field errors, a second decision refused,
only for staff who may arbitrate."""

import html
from decimal import Decimal as D
from unittest import mock

import pytest
from django.contrib.auth.models import Permission

from escrow.choices import DisputeState
from escrow.models import Dispute
from tests.escrow.dispute_page_helpers import disputable, opened
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE = "/admin/escrow/dispute/"


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def arbiter(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="arbitrate_dispute"))
    return user


@pytest.fixture
def dispute(db):
    return opened(disputable()[0])


def decide_url(dispute) -> str:
    return f"{QUEUE}{dispute.pk}/decide/"


def test_the_queue_is_oldest_first_with_filters_and_return_rates_in_constant_queries(
    client, arbiter, django_assert_max_num_queries
):
    disputes = [opened(disputable()[0]) for _ in range(3)]
    client.force_login(arbiter)
    with django_assert_max_num_queries(12) as first:
        response = client.get(QUEUE)
    assert response.status_code == 200
    listed = [d.pk for d in response.context["cl"].result_list]
    assert listed == [d.pk for d in disputes]
    body = text(response)
    assert "Buyer's return rate here" in body and "100% (1 of 1), too few to judge" in body
    assert "40.00 USDC" not in body and "10.00 USDC" in body
    more = [opened(disputable()[0]) for _ in range(3)]
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert len(client.get(QUEUE).context["cl"].result_list) == 6
    Dispute.objects.filter(pk=more[0].pk).update(state=DisputeState.AWAITING_STAFF)
    filtered = client.get(QUEUE + "?state__exact=awaiting_staff").context["cl"].result_list
    assert [d.pk for d in filtered] == [more[0].pk]
    for query in (
        "outcome__exact=dismissed",
        "reason__exact=fraud",
        "staff_first__exact=1",
        f"vertical__id__exact={more[1].vertical_id}",
    ):
        assert client.get(f"{QUEUE}?{query}").status_code == 200
    assert [
        d.pk for d in client.get(f"{QUEUE}?vertical__id__exact={more[1].vertical_id}").context["cl"].result_list
    ] == [more[1].pk]


def test_the_change_page_shows_the_facts_read_only_with_evidence_and_checks_in_words(client, arbiter, dispute):
    client.force_login(arbiter)
    response = client.get(f"{QUEUE}{dispute.pk}/change/")
    assert response.status_code == 200
    body = text(response)
    assert "The number is disconnected." in body and "screenshot.png" in body
    assert f"/disputes/evidence/{dispute.evidence.get().pk}/" in body
    assert "Phone number" in body and "Consent record" in body and "sold_to_you_before" not in body
    assert 'name="statement"' not in body  # read-only
    assert decide_url(dispute) in body
    evidence = client.get(f"/disputes/evidence/{dispute.evidence.get().pk}/")
    assert evidence.status_code == 200 and evidence["X-Content-Type-Options"] == "nosniff"
    assert client.get("/admin/escrow/disputeevidence/").status_code == 200


def test_staff_decide_a_full_refund_and_the_refund_is_queued(
    client, arbiter, dispute, django_capture_on_commit_callbacks
):
    client.force_login(arbiter)
    assert "decide-form" in text(client.get(decide_url(dispute)))
    with mock.patch("escrow.tasks.disputes.dispute_apply.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(decide_url(dispute), {"outcome": "refund_full", "reason": "The number is dead."})
    assert response.status_code == 302 and response.url == f"{QUEUE}{dispute.pk}/change/"
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome, dispute.refund_amount, dispute.decided_by_id) == (
        DisputeState.DECIDED,
        "refund_full",
        D("10"),
        arbiter.pk,
    )
    delay.assert_called_once_with(dispute_id=dispute.pk)
    assert "decided: Full refund of 10.00 USDC" in text(client.get(response.url))


def test_staff_decide_a_partial_refund_with_an_amount(client, arbiter, dispute):
    client.force_login(arbiter)
    response = client.post(
        decide_url(dispute),
        {"outcome": "refund_partial", "refund_amount": "3.5", "reason": "Half the fields were wrong."},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.outcome, dispute.refund_amount, dispute.decision_reason) == (
        "refund_partial",
        D("3.5"),
        "Half the fields were wrong.",
    )


def test_a_dismissal_closes_the_dispute_and_a_second_decision_is_refused(client, arbiter, dispute):
    client.force_login(arbiter)
    client.post(decide_url(dispute), {"outcome": "dismissed", "reason": "The number answered."})
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome) == (DisputeState.CLOSED, "dismissed")
    response = client.post(decide_url(dispute), {"outcome": "refund_full", "reason": "Changed my mind."})
    assert response.status_code == 400
    assert "decided already" in " ".join(response.context["form"].errors["outcome"])
    assert Dispute.objects.get().outcome == "dismissed"
    assert decide_url(dispute) not in text(client.get(f"{QUEUE}{dispute.pk}/change/"))


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"outcome": "refund_partial", "reason": "Some."}, "refund_amount", "Enter the amount to refund"),
        (
            {"outcome": "refund_partial", "refund_amount": "10", "reason": "All."},
            "refund_amount",
            "less than the price",
        ),
        ({"outcome": "refund_partial", "refund_amount": "0.0000001", "reason": "x"}, "refund_amount", "decimal places"),
        ({"outcome": "refund_full", "reason": " "}, "reason", "required"),
        ({"outcome": "maybe", "reason": "x"}, "outcome", "valid choice"),
    ],
)
def test_bad_decisions_show_the_fields_error_and_write_nothing(client, arbiter, dispute, data, field, message):
    client.force_login(arbiter)
    response = client.post(decide_url(dispute), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert any(message.lower() in e.lower() for e in errors.get(field, [])), errors
    assert not Dispute.objects.get().outcome


def test_only_staff_who_may_arbitrate_decide(client, dispute):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(decide_url(dispute)).status_code == 403
    assert client.post(decide_url(dispute), {"outcome": "dismissed", "reason": "x"}).status_code == 403
    client.force_login(UserFactory(is_buyer=True))
    assert client.get(decide_url(dispute)).status_code == 302  # to the admin login
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(decide_url(dispute)).status_code == 200
    assert not Dispute.objects.get().outcome
