"""/api/v1/deposits/ and /api/v1/withdrawals/ against anvil and PostgreSQL."""

from decimal import Decimal

import pytest
from eth_account import Account

from chain.wallets import wallet_for
from escrow.models import VaultEvent, Withdrawal
from escrow.services.deposits import vault_index
from escrow.services.withdrawals import vault_clock, withdrawal_sign
from ledger.selectors import balance_for
from tests.api_errors import api_error, error_fields
from tests.escrow import funds_fixtures
from tests.escrow.funds_fixtures import units, wait_mined
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The shared fixtures (assigned, not imported: test arguments would shadow imported names).
w3, contracts, deposit, mine = funds_fixtures.w3, funds_fixtures.contracts, funds_fixtures.deposit, funds_fixtures.mine

D = Decimal


@pytest.fixture
def funded(user, deposit):
    wallet = wallet_for(user=user)
    deposit(wallet.address, "100")
    vault_index()
    return wallet


def _withdraw(api_client, body, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api_client.post("/api/v1/withdrawals/", body, format="json", **headers)


def test_deposits_lists_only_the_callers_events_by_cursor_with_pinned_queries(
    api_client, user, deposit, django_assert_max_num_queries
):
    wallet = wallet_for(user=user)
    for n in range(3):
        deposit(wallet.address, f"{n + 1}")
    deposit(wallet_for(user=UserFactory()).address, "9")
    vault_index()

    with django_assert_max_num_queries(3):  # api key, its last-used stamp, the page
        first = api_client.get("/api/v1/deposits/", {"page_size": 2})
    second = api_client.get(first.json()["next"])

    assert first.status_code == 200
    rows = first.json()["results"] + second.json()["results"]
    assert [r["amount"] for r in rows] == ["3.000000", "2.000000", "1.000000"]
    assert rows[0]["kind"] == "deposit" and rows[0]["tx_hash"].startswith("0x")
    assert second.json()["next"] is None


def test_post_withdrawal_needs_an_idempotency_key(api_client, funded):
    response = _withdraw(api_client, {"amount": "1", "to_address": Account.create().address}, key=None)
    assert response.status_code == 400 and "Idempotency-Key" in error_fields(response)
    assert not Withdrawal.objects.exists()


def test_post_withdrawal_pays_out_and_a_replay_moves_nothing(api_client, user, funded, contracts):
    to = Account.create().address
    body = {"amount": "12.5", "to_address": to}

    first = _withdraw(api_client, body)
    again = _withdraw(api_client, body)
    other = _withdraw(api_client, {"amount": "13", "to_address": to})
    wait_mined()

    assert first.status_code == 201 and first.json()["status"] == "sent" and first.json()["amount"] == "12.500000"
    assert again.status_code == 201 and again["Idempotent-Replay"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert balance_for(user=user)["available"] == D("87.5")
    assert contracts.usdc.functions.balanceOf(to).call() == units("12.5")
    detail = api_client.get(f"/api/v1/withdrawals/{first.json()['id']}/")
    assert detail.status_code == 200 and detail.json()["tx_hash"].startswith("0x")
    listing = api_client.get("/api/v1/withdrawals/")
    assert [w["id"] for w in listing.json()["results"]] == [first.json()["id"]]


def test_a_withdrawal_above_the_available_balance_is_a_409(api_client, user, funded):
    response = _withdraw(api_client, {"amount": "100.5", "to_address": Account.create().address})
    assert response.status_code == 409, response.json()
    assert (api_error(response)["code"], api_error(response)["param"]) == ("insufficient_funds", "amount")
    assert balance_for(user=user)["available"] == D("100") and not Withdrawal.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "-1", "to_address": None}, "amount"),
        ({"amount": 1, "to_address": None}, "amount"),
        ({"amount": "1.1234567", "to_address": None}, "amount"),
        ({"amount": "1", "to_address": "0xd8da6bf26964af9d7eed9e03e53415d37aa96045"}, "to_address"),
        ({"amount": "1", "to_address": "nope"}, "to_address"),
        ({"to_address": None}, "amount"),
    ],
)
def test_bad_withdrawals_are_400_with_field_errors(api_client, user, funded, body, field):
    body = {k: (Account.create().address if k == "to_address" and v is None else v) for k, v in body.items()}
    response = _withdraw(api_client, body)
    assert response.status_code == 400 and field in error_fields(response), response.json()
    assert balance_for(user=user)["available"] == D("100") and not Withdrawal.objects.exists()


def test_another_users_withdrawal_is_404(api_client, deposit):
    stranger = UserFactory()
    wallet = wallet_for(user=stranger)
    deposit(wallet.address, "5")
    vault_index()
    from escrow.services.withdrawals import withdrawal_request

    theirs = withdrawal_request(
        user=stranger, amount=D("1"), to_address=Account.create().address, idempotency_key="theirs"
    )
    assert api_client.get(f"/api/v1/withdrawals/{theirs.pk}/").status_code == 404
    assert api_client.get("/api/v1/withdrawals/").json()["results"] == []


def test_a_linked_wallet_signs_the_typed_data_and_withdraws(api_client, user, deposit, contracts):
    owner = Account.create()
    wallet = wallet_for(user=user)
    wallet.address, wallet.kind = owner.address, "linked"
    wallet.save()
    deposit(owner.address, "30")
    vault_index()
    to = Account.create().address
    deadline = vault_clock(contracts.vault.w3) + 900  # the chain's clock: tests move anvil's on

    unsigned = _withdraw(api_client, {"amount": "10", "to_address": to, "deadline": deadline}, key="l-0")
    typed = api_client.post(
        "/api/v1/withdrawals/typed-data/", {"amount": "10", "to_address": to, "deadline": deadline}, format="json"
    ).json()
    signature = withdrawal_sign(account=owner, typed_data=typed)
    signed = _withdraw(
        api_client, {"amount": "10", "to_address": to, "deadline": deadline, "signature": signature}, key="l-1"
    )
    wait_mined()

    assert unsigned.status_code == 400 and "signature" in error_fields(unsigned)
    assert typed["primaryType"] == "Withdraw" and typed["message"]["account"] == owner.address
    assert typed["domain"]["verifyingContract"] == contracts.vault.address
    assert signed.status_code == 201, signed.json()
    assert contracts.usdc.functions.balanceOf(to).call() == units("10")
    assert balance_for(user=user)["available"] == D("20")


def test_withdrawals_when_the_vault_is_not_deployed_are_503_and_move_nothing(api_client, user):
    from ledger.services import ledger_credit_user

    ledger_credit_user(user=user, amount=D("5"), idempotency_key="c")
    response = _withdraw(api_client, {"amount": "1", "to_address": Account.create().address})
    assert response.status_code == 503
    assert balance_for(user=user)["available"] == D("5") and not VaultEvent.objects.exists()


def test_the_wallet_page_withdraw_form_shows_field_errors_and_withdraws(client, user, funded, contracts):
    assert client.login(email=user.email, password="correct horse battery staple")
    page = client.get("/wallet/").content.decode()
    assert 'data-testid="withdraw-form"' in page and funded.address in page

    bad = client.post("/wallet/withdraw/", {"amount": "500", "to_address": "0xabc", "nonce": "n" * 20})
    assert bad.status_code == 400
    assert "EIP-55" in bad.content.decode()
    over = client.post(
        "/wallet/withdraw/", {"amount": "500", "to_address": Account.create().address, "nonce": "n" * 20}
    )
    assert over.status_code == 400 and "More than your available balance" in over.content.decode()

    to = Account.create().address
    ok = client.post("/wallet/withdraw/", {"amount": "25", "to_address": to, "nonce": "m" * 20}, follow=True)
    wait_mined()
    assert ok.status_code == 200 and "requested" in ok.content.decode()
    assert contracts.usdc.functions.balanceOf(to).call() == units("25")
    assert balance_for(user=user)["available"] == D("75")


def test_the_wallet_page_with_deposits_and_withdrawals_has_pinned_queries(
    client, user, funded, django_assert_max_num_queries
):
    from escrow.services.withdrawals import withdrawal_request

    withdrawal_request(user=user, amount=D("1"), to_address=Account.create().address, idempotency_key="p")
    assert client.login(email=user.email, password="correct horse battery staple")
    # session, user, balance, entries, wallet, vault, vault events, withdrawals, exits, claims
    with django_assert_max_num_queries(10):
        page = client.get("/wallet/")
    html = page.content.decode()
    assert html.count('data-testid="vault-event"') == 1 and html.count('data-testid="withdrawal"') == 1


def test_staff_see_vault_events_withdrawals_and_cursors_read_only(client, staff, user, funded, deposit):
    stranger = Account.create().address
    deposit(stranger, "2")
    vault_index()
    client.force_login(staff)
    events = client.get("/admin/escrow/vaultevent/?user__isempty=1")
    assert events.status_code == 200 and stranger in events.content.decode()
    assert funded.address not in events.content.decode()
    assert client.get("/admin/escrow/withdrawal/").status_code == 200
    assert client.get("/admin/escrow/chaincursor/").status_code == 200
    assert client.get("/admin/escrow/vaultevent/add/").status_code == 403
    event = VaultEvent.objects.get(account=stranger)
    assert client.get(f"/admin/escrow/vaultevent/{event.pk}/change/").status_code == 200
