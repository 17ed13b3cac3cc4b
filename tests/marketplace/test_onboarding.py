"""The first-run checklist: computed from the facts for a new seller and a new buyer, shown on the
account page until every step is done or the person hides it."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import email_verify_token, user_email_verify
from auctions.services.auctions import ask_create, bid_place
from auctions.services.autobid import autobid_rule_create
from integrations.services.destinations import destination_create
from ledger.services import account_for, ledger_credit_user, ledger_transfer
from marketplace.onboarding import first_run_checklist
from tests.auctions.factories import make_auction, make_scored_lead, make_vertical
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
SELLER_STEPS = ["confirm_email", "ask", "first_lead", "payout_address"]
BUYER_STEPS = ["confirm_email", "deposit", "first_bid", "destination"]


def _state(user) -> dict[str, bool]:
    user.refresh_from_db()
    return {item.key: item.done for item in first_run_checklist(user=user)}


def _shown(client) -> dict[str, bool]:
    """The checklist as the account page shows it: key → done ({} when not shown)."""
    text = client.get(reverse("account")).content.decode()
    return {
        key: done == "true"
        for key, done in re.findall(r'data-testid="first-run-item" data-key="(\w+)" data-done="(\w+)"', text)
    }


def _confirm(user):
    user_email_verify(token=email_verify_token(user=user))


def test_a_new_seller_sees_every_step_open_with_real_links(client):
    seller = UserFactory(is_seller=True, email_verified_at=None)
    client.force_login(seller)
    assert _shown(client) == dict.fromkeys(SELLER_STEPS, False)
    checklist = first_run_checklist(user=seller)
    assert [item.label for item in checklist] == [
        "Confirm your email address",
        "Set your prices for a vertical",
        "Submit your first lead",
        "Set up your payout address",
    ]
    for item in checklist:
        assert item.why and client.get(item.url).status_code == 200, item.url


def test_a_new_buyer_sees_every_step_open_with_real_links(client):
    buyer = UserFactory(is_buyer=True, email_verified_at=None)
    client.force_login(buyer)
    assert _shown(client) == dict.fromkeys(BUYER_STEPS, False)
    for item in first_run_checklist(user=buyer):
        assert item.why and client.get(item.url).status_code == 200, item.url


def test_each_seller_step_is_done_by_its_action(client):
    seller = UserFactory(is_seller=True, email_verified_at=None)
    vertical = make_vertical()
    _confirm(seller)
    assert _state(seller) == {"confirm_email": True, "ask": False, "first_lead": False, "payout_address": False}
    ask_create(seller=seller, vertical=vertical, reserve_price=D("20"))
    assert _state(seller)["ask"] and not _state(seller)["first_lead"]
    make_scored_lead(seller=seller, vertical=vertical)
    assert _state(seller)["first_lead"] and not _state(seller)["payout_address"]
    client.force_login(seller)
    assert client.post(reverse("wallet-address")).status_code == 302  # "Create my address" on the wallet page
    assert all(_state(seller).values())


def test_each_buyer_step_is_done_by_its_action():
    buyer = UserFactory(is_buyer=True, email_verified_at=None)
    _confirm(buyer)
    assert _state(buyer) == {"confirm_email": True, "deposit": False, "first_bid": False, "destination": False}
    ledger_credit_user(user=buyer, amount=D("100"), idempotency_key=f"deposit-{buyer.pk}")
    assert _state(buyer)["deposit"] and not _state(buyer)["first_bid"]
    bid_place(auction_id=make_auction().pk, buyer=buyer, max_amount=D("15"))
    assert _state(buyer)["first_bid"] and not _state(buyer)["destination"]
    destination_create(owner=buyer, kind="email", name="Inbox", email="crm-inbox@buyer.example")
    assert all(_state(buyer).values())


def test_an_autobid_rule_counts_as_the_first_bid():
    buyer = UserFactory(is_buyer=True)
    autobid_rule_create(buyer=buyer, name="Solar", max_bid=D("30"), daily_budget=D("300"), daily_lead_cap=10)
    assert _state(buyer)["first_bid"]


def test_only_money_from_outside_counts_as_a_deposit():
    payer, payee = UserFactory(is_buyer=True), UserFactory(is_buyer=True)
    ledger_credit_user(user=payer, amount=D("50"), idempotency_key=f"d-{payer.pk}")
    # Money moved inside the books (a sale's payout, a refund) is not a deposit of the payee's.
    ledger_transfer(
        from_account=account_for(user=payer),
        to_account=account_for(user=payee),
        amount=D("20"),
        idempotency_key=f"t-{payee.pk}",
    )
    assert _state(payer)["deposit"] and not _state(payee)["deposit"]


def test_seller_and_buyer_get_both_lists_with_one_email_step(client):
    both = UserFactory(is_seller=True, is_buyer=True, email_verified_at=None)
    assert list(_state(both)) == SELLER_STEPS + BUYER_STEPS[1:]
    assert first_run_checklist(user=UserFactory()) == []  # neither role: nothing to do


def test_everything_done_shows_no_checklist(client):
    user = UserFactory(is_seller=True, is_buyer=True)  # confirmed
    vertical = make_vertical()
    ask_create(seller=user, vertical=vertical)
    make_scored_lead(seller=user, vertical=vertical)
    client.force_login(user)
    client.post(reverse("wallet-address"))
    ledger_credit_user(user=user, amount=D("100"), idempotency_key=f"deposit-{user.pk}")
    autobid_rule_create(buyer=user, name="All", max_bid=D("30"), daily_budget=D("300"), daily_lead_cap=10)
    destination_create(owner=user, kind="email", name="Inbox", email="crm-inbox@buyer.example")
    assert first_run_checklist(user=user).complete
    text = client.get(reverse("account")).content.decode()
    assert 'data-testid="first-run"' not in text and "Get started" not in text


def test_hide_this_list_keeps_it_hidden(client):
    seller = UserFactory(is_seller=True)
    client.force_login(seller)
    text = client.get(reverse("account")).content.decode()
    assert "Get started" in text and "1 of 4 done" in text
    response = client.post(reverse("first-run-dismiss"), {"next": reverse("account")})
    assert response.status_code == 302 and response["Location"] == reverse("account")
    seller.refresh_from_db()
    assert seller.first_run_dismissed_at is not None
    assert _shown(client) == {}
    # Again: no change; the facts are still computed for whoever asks (the dashboards).
    first = seller.first_run_dismissed_at
    client.post(reverse("first-run-dismiss"), {"next": "https://evil.example/"})
    seller.refresh_from_db()
    assert seller.first_run_dismissed_at == first
    checklist = first_run_checklist(user=seller)
    assert checklist.dismissed and len(checklist) == 4


def test_hide_needs_a_signed_in_post(client):
    assert client.post(reverse("first-run-dismiss"))["Location"].startswith(reverse("login"))
    client.force_login(UserFactory(is_seller=True))
    assert client.get(reverse("first-run-dismiss")).status_code == 405


def test_the_checklist_costs_one_query_per_fact(django_assert_max_num_queries):
    user = UserFactory(is_seller=True, is_buyer=True, email_verified_at=timezone.now())
    with django_assert_max_num_queries(7):
        first_run_checklist(user=user)
