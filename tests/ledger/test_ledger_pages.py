import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from escrow.views import wallet as wallet_views
from ledger.choices import LedgerTransactionKind as T
from ledger.models import LedgerEntry, LedgerTransaction
from ledger.selectors import balance_for
from ledger.services import ledger_credit_user, ledger_hold
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
PASSWORD = "correct horse battery staple"


def _login(client, user) -> Client:
    assert client.login(email=user.email, password=PASSWORD)
    return client


def _nonce(html: str) -> str:
    return re.search(r'name="nonce" value="([^"]+)"', html).group(1)


# ---------------------------------------------------------------- wallet


def test_wallet_needs_login(client):
    response = client.get(reverse("wallet"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_wallet_shows_balances_and_history_newest_first(client, buyer, seller):
    ledger_credit_user(user=buyer, amount=D("1234.5"), idempotency_key="dep", memo="Opening deposit")
    ledger_hold(user=buyer, amount=D("200"), idempotency_key="hold", memo="Bid on lead 7")
    ledger_credit_user(user=seller, amount=D("99"), idempotency_key="other", memo="Not yours")
    html = _login(client, buyer).get(reverse("wallet")).content.decode()
    assert re.search(r'data-testid="balance-available"><strong>1,034.50 USDC<', html)
    assert re.search(r'data-testid="balance-held"><strong>200.00 USDC<', html)
    assert re.search(r'data-testid="balance-total"><strong>1,234.50 USDC<', html)
    assert html.count('data-testid="ledger-entry"') == 3
    assert html.index("Bid on lead 7") < html.index("Opening deposit")
    assert "+1,234.50 USDC" in html and "-200.00 USDC" in html
    assert "Not yours" not in html


def test_wallet_history_pages_by_cursor_without_gaps_or_repeats(client, buyer, monkeypatch):
    monkeypatch.setattr(wallet_views, "WALLET_PAGE_SIZE", 2)
    ledger_credit_user(user=buyer, amount=D("10"), idempotency_key="d1")
    for n in range(3):  # each hold writes two entries with the same timestamp: ids break the tie
        ledger_hold(user=buyer, amount=D("1"), idempotency_key=f"h{n}")
    _login(client, buyer)
    seen, url = [], reverse("wallet")
    for _ in range(10):
        response = client.get(url)
        seen += [int(x) for x in re.findall(r'data-entry-id="(\d+)"', response.content.decode())]
        if not response.context["next_cursor"]:  # empty on the last page
            break
        url = f"{reverse('wallet')}?cursor={response.context['next_cursor']}"
    expected = list(
        LedgerEntry.objects.filter(account__owner=buyer).order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    assert seen == expected and len(seen) == 7


def test_wallet_ignores_a_garbled_cursor(client, buyer):
    assert _login(client, buyer).get(reverse("wallet"), {"cursor": "%%%not-a-cursor"}).status_code == 200


def test_wallet_page_query_count_is_pinned(client, buyer, django_assert_max_num_queries):
    for n in range(5):
        ledger_credit_user(user=buyer, amount=D("1"), idempotency_key=f"d{n}")
    _login(client, buyer)
    with django_assert_max_num_queries(6):  # session, user, balance, entries (+ savepoint pair for messages)
        assert client.get(reverse("wallet")).status_code == 200


# ---------------------------------------------------------------- faucet


def test_faucet_credits_test_funds_in_debug_once_per_hour(client, buyer, settings):
    settings.DEBUG = True
    _login(client, buyer)
    html = client.get(reverse("wallet")).content.decode()
    response = client.post(reverse("wallet-faucet"), {"nonce": _nonce(html)})
    assert response.status_code == 302 and response["Location"] == reverse("wallet")
    assert balance_for(user=buyer)["available"] == D("1000")
    assert LedgerTransaction.objects.get().kind == T.FAUCET
    second = client.post(reverse("wallet-faucet"), {"nonce": _nonce(client.get(reverse("wallet")).content.decode())})
    assert second.status_code == 429 and 1 <= int(second["Retry-After"]) <= 3600
    assert balance_for(user=buyer)["available"] == D("1000")


def test_a_faucet_click_over_the_limit_shows_the_wallet_with_the_time_to_wait(client, buyer, settings):
    settings.DEBUG = True
    _login(client, buyer)
    assert (
        client.post(
            reverse("wallet-faucet"), {"nonce": _nonce(client.get(reverse("wallet")).content.decode())}
        ).status_code
        == 302
    )
    second = client.post(reverse("wallet-faucet"), {"nonce": _nonce(client.get(reverse("wallet")).content.decode())})
    assert second.status_code == 429 and second["Content-Type"].startswith("text/html")
    html = second.content.decode()
    assert 'data-testid="faucet-form"' in html  # the wallet page itself, not JSON off the site
    assert re.search(r"You have used the faucet recently\. Try again in \d+ (second|minute)s?\.", html)
    assert "1,000.00" in html  # the balance is still shown
    # The message is shown once, not again on the next page.
    assert "used the faucet recently" not in client.get(reverse("wallet")).content.decode()


def test_the_wallet_drawn_by_a_refused_faucet_click_links_older_entries_to_the_wallet(
    client, buyer, settings, monkeypatch
):
    """The page answered at /wallet/faucet/ must not page relative to that POST-only address."""
    settings.DEBUG = True
    monkeypatch.setattr(wallet_views, "WALLET_PAGE_SIZE", 2)
    for n in range(3):
        ledger_credit_user(user=buyer, amount=D("1"), idempotency_key=f"older-{n}")
    _login(client, buyer)
    client.post(reverse("wallet-faucet"), {"nonce": _nonce(client.get(reverse("wallet")).content.decode())})
    refused = client.post(reverse("wallet-faucet"), {"nonce": _nonce(client.get(reverse("wallet")).content.decode())})
    assert refused.status_code == 429
    older = re.search(r'<a href="([^"]+)" data-testid="older-link">', refused.content.decode()).group(1)
    assert older.startswith(f"{reverse('wallet')}?cursor=")
    assert client.get(older.replace("&amp;", "&")).status_code == 200


def test_faucet_double_submit_of_one_form_credits_once(client, buyer, settings):
    settings.DEBUG = True
    settings.RATE_LIMIT_ENABLED = False
    _login(client, buyer)
    nonce = _nonce(client.get(reverse("wallet")).content.decode())
    for _ in range(2):
        assert client.post(reverse("wallet-faucet"), {"nonce": nonce}).status_code == 302
    assert LedgerTransaction.objects.count() == 1 and balance_for(user=buyer)["available"] == D("1000")


def test_faucet_rate_comes_from_settings_when_configured(client, buyer, settings):
    settings.LEDGER_FAUCET_ENABLED = True  # DEBUG stays False: the flag alone turns it on
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "faucet": "2/3600s"}
    _login(client, buyer)
    codes = [client.post(reverse("wallet-faucet"), {"nonce": f"nonce-number-{n:05d}"}).status_code for n in range(3)]
    assert codes == [302, 302, 429]
    assert balance_for(user=buyer)["available"] == D("2000")


def test_faucet_is_404_outside_debug_unless_enabled(client, buyer, settings):
    settings.DEBUG = False
    settings.LEDGER_FAUCET_ENABLED = False
    _login(client, buyer)
    assert client.post(reverse("wallet-faucet"), {"nonce": "x" * 22}).status_code == 404
    assert 'data-testid="faucet-form"' not in client.get(reverse("wallet")).content.decode()
    assert not LedgerTransaction.objects.exists()


def test_faucet_is_post_only_with_csrf_and_login(buyer, settings):
    settings.DEBUG = True
    anonymous = Client()
    response = anonymous.post(reverse("wallet-faucet"), {"nonce": "x" * 22})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client = _login(Client(enforce_csrf_checks=True), buyer)
    assert client.get(reverse("wallet-faucet")).status_code == 405
    assert client.post(reverse("wallet-faucet"), {"nonce": "x" * 22}).status_code == 403
    assert client.post(reverse("wallet-faucet"), {"nonce": "bad nonce"}).status_code == 403  # CSRF first
    assert not LedgerTransaction.objects.exists()


def test_faucet_refuses_a_missing_nonce(client, buyer, settings):
    settings.DEBUG = True
    assert _login(client, buyer).post(reverse("wallet-faucet")).status_code == 400
    assert not LedgerTransaction.objects.exists()


# ---------------------------------------------------------------- staff credit


def test_staff_credit_page_is_for_staff_only(client, buyer, user):
    assert client.get(reverse("staff-credit")).status_code == 302
    _login(client, user)
    response = client.post(reverse("staff-credit"), {"email": buyer.email, "amount": "50", "nonce": "n" * 22})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not LedgerTransaction.objects.exists()


def test_staff_credits_a_buyer_once_per_form(client, staff, buyer):
    _login(client, staff)
    page = client.get(reverse("staff-credit"))
    assert page.status_code == 200
    nonce = _nonce(page.content.decode())
    form = {"email": buyer.email.upper(), "amount": "250.125", "memo": "Wire 42", "nonce": nonce}
    response = client.post(reverse("staff-credit"), form, follow=True)
    assert "Credited 250.125000 USDC" in response.content.decode()
    txn = LedgerTransaction.objects.get()
    assert (txn.kind, txn.memo, txn.created_by) == (T.CREDIT, "Wire 42", staff)
    again = client.post(reverse("staff-credit"), form, follow=True)
    assert "already recorded" in again.content.decode()
    conflict = client.post(reverse("staff-credit"), {**form, "amount": "251"})
    assert conflict.status_code == 400 and "already used" in conflict.content.decode()
    assert LedgerTransaction.objects.count() == 1
    assert balance_for(user=buyer)["available"] == D("250.125")


@pytest.mark.parametrize(
    "change, error",
    [
        ({"email": "nobody@example.com"}, "No user with that email"),
        ({"amount": "1.0000001"}, "decimal places"),
        ({"amount": "0"}, "greater than or equal"),
        ({"nonce": "short"}, "expired"),
    ],
)
def test_staff_credit_form_errors_write_nothing(client, staff, buyer, change, error):
    _login(client, staff)
    form = {"email": buyer.email, "amount": "10", "memo": "", "nonce": "n" * 22, **change}
    response = client.post(reverse("staff-credit"), form)
    assert response.status_code == 400 and error in response.content.decode()
    assert not LedgerTransaction.objects.exists()


# ---------------------------------------------------------------- admin


def test_admin_lists_accounts_links_staff_credit_and_is_read_only(client, staff, buyer):
    txn = ledger_credit_user(user=buyer, amount=D("5"), idempotency_key="dep")
    _login(client, staff)
    html = client.get(reverse("admin:ledger_ledgeraccount_changelist"), {"q": buyer.email}).content.decode()
    assert reverse("staff-credit") in html and buyer.email in html and "5.000000" in html
    detail = client.get(reverse("admin:ledger_ledgertransaction_change", args=[txn.pk])).content.decode()
    assert "-5.000000" in detail and "dep" in detail
    assert client.get(reverse("admin:ledger_ledgertransaction_add")).status_code == 403
    assert client.get(reverse("admin:ledger_ledgeraccount_add")).status_code == 403
    delete_url = reverse("admin:ledger_ledgertransaction_delete", args=[txn.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403


# ---------------------------------------------------------------- API


def test_api_balance_is_strings_with_six_decimals(api_client, user, django_assert_max_num_queries):
    ledger_credit_user(user=user, amount=D("12.5"), idempotency_key="dep")
    ledger_hold(user=user, amount=D("0.000001"), idempotency_key="hold")
    with django_assert_max_num_queries(3):  # API key, last-used stamp, balances
        response = api_client.get("/api/v1/balance/")
    assert response.status_code == 200
    assert response.json() == {
        "available": "12.499999",
        "held": "0.000001",
        "exiting": "0.000000",
        "total": "12.500000",
    }


def test_api_balance_of_a_new_user_is_zero(api_client):
    zero = "0.000000"
    assert api_client.get(reverse("api-balance")).json() == {
        "available": zero,
        "held": zero,
        "exiting": zero,
        "total": zero,
    }


def test_api_ledger_lists_only_the_callers_entries_by_cursor(api_client, user, django_assert_max_num_queries):
    other = UserFactory()
    ledger_credit_user(user=other, amount=D("7"), idempotency_key="other")
    ledger_credit_user(user=user, amount=D("30"), idempotency_key="dep", memo="Deposit")
    for n in range(3):
        ledger_hold(user=user, amount=D("1"), idempotency_key=f"h{n}")
    with django_assert_max_num_queries(3):  # API key, last-used stamp, one page of entries
        first = api_client.get("/api/v1/ledger/", {"page_size": 4})
    body = first.json()
    assert first.status_code == 200 and len(body["results"]) == 4 and body["next"]
    rest = api_client.get(body["next"]).json()
    rows = body["results"] + rest["results"]
    assert rest["next"] is None and len(rows) == 7
    assert {r["id"] for r in rows} == set(LedgerEntry.objects.filter(account__owner=user).values_list("pk", flat=True))
    oldest = rows[-1]
    assert (oldest["kind"], oldest["account"], oldest["amount"], oldest["memo"]) == (
        "credit",
        "user_available",
        "30.000000",
        "Deposit",
    )
    assert {r["amount"] for r in rows[:2]} == {"1.000000", "-1.000000"}


def test_api_ledger_needs_authentication(client):
    assert client.get("/api/v1/ledger/").status_code in (401, 403)
    assert client.get("/api/v1/balance/").status_code in (401, 403)
