"""Wallets: custodial keys sealed at rest and never leaked; own wallets linked by Sign-In with Ethereum."""

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from rest_framework.test import APIClient

from chain import wallets
from chain.models import Wallet
from tests.api_errors import error_fields
from tests.concurrency import run_threads
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOST = "testserver"


def _siwe(
    *,
    address: str,
    nonce: str,
    domain: str = HOST,
    chain_id: int | None = None,
    statement: bool = True,
    expires_in: timedelta | None = timedelta(minutes=5),
) -> str:
    now = timezone.now()
    lines = [f"{domain} wants you to sign in with your Ethereum account:", address, ""]
    if statement:
        lines += [wallets.SIWE_STATEMENT, ""]
    lines += [
        f"URI: http://{domain}/",
        "Version: 1",
        f"Chain ID: {chain_id or wallets.siwe_chain_id()}",
        f"Nonce: {nonce}",
        f"Issued At: {now.isoformat().replace('+00:00', 'Z')}",
    ]
    if expires_in is not None:
        lines.append(f"Expiration Time: {(now + expires_in).isoformat()}")
    return "\n".join(lines)


def _sign(account, message: str) -> str:
    return "0x" + account.sign_message(encode_defunct(text=message)).signature.hex().removeprefix("0x")


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _link(client, account, **message_kwargs):
    nonce = message_kwargs.pop("nonce", None) or client.post("/api/v1/wallet/siwe/nonce/").json()["nonce"]
    message = _siwe(address=account.address, nonce=nonce, **message_kwargs)
    return client.post(
        "/api/v1/wallet/siwe/link/", {"message": message, "signature": _sign(account, message)}, format="json"
    )


# ---------------------------------------------------------------- custodial


def test_custodial_wallet_is_created_once_and_its_key_decrypts_to_its_address(user, caplog):
    caplog.set_level(logging.DEBUG)
    wallet = wallets.wallet_for(user=user)
    assert wallets.wallet_for(user=user).pk == wallet.pk
    assert wallet.kind == Wallet.Kind.CUSTODIAL
    account = wallets.wallet_custodial_account(wallet=Wallet.objects.get(pk=wallet.pk))
    assert account.address == wallet.address
    raw = bytes(account.key)
    sealed = bytes(Wallet.objects.get(pk=wallet.pk).encrypted_key)
    assert raw not in sealed and raw.hex().encode() not in sealed
    logged = " ".join(str(vars(record)) for record in caplog.records)  # messages and every extra field
    assert wallet.address in logged
    assert raw.hex() not in logged.lower() and str(raw) not in logged


def test_sealed_key_is_bound_to_its_owner(user):
    wallet = wallets.wallet_for(user=user)
    other = UserFactory()
    Wallet.objects.filter(pk=wallet.pk).update(user=other)
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        wallets.wallet_custodial_account(wallet=Wallet.objects.get(pk=wallet.pk))


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_use_creates_exactly_one_wallet():
    user = UserFactory()
    results = run_threads(8, lambda i: wallets.wallet_for(user=user).address)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Wallet.objects.filter(user=user).count() == 1


def test_api_shows_address_and_kind_but_never_the_key(user):
    response = _client(user).get("/api/v1/wallet/")
    assert response.status_code == 200
    wallet = Wallet.objects.get(user=user)
    assert response.json() == {"address": wallet.address, "kind": "custodial", "linked_at": None}
    assert bytes(wallets.wallet_custodial_account(wallet=wallet).key).hex() not in response.content.decode()


def test_wallet_page_shows_the_address_and_kind(client, user):
    wallet = wallets.wallet_for(user=user)
    client.force_login(user)
    html = client.get(reverse("wallet")).content.decode()
    assert wallet.address in html and "custodial" in html


@pytest.mark.parametrize("path", ["/api/v1/wallet/", "/api/v1/wallet/siwe/nonce/", "/api/v1/wallet/siwe/link/"])
def test_anonymous_callers_are_refused(path):
    client = APIClient()
    response = client.get(path) if path == "/api/v1/wallet/" else client.post(path, {}, format="json")
    assert response.status_code in (401, 403)
    assert not Wallet.objects.exists()


# ---------------------------------------------------------------- SIWE


def test_siwe_links_a_signed_address_and_keeps_the_custodial_key_reachable(user):
    custodial = wallets.wallet_for(user=user).address
    client = _client(user)
    nonce = client.post("/api/v1/wallet/siwe/nonce/").json()
    assert nonce["domain"] == HOST and nonce["chain_id"] == wallets.siwe_chain_id() and nonce["version"] == "1"
    own = Account.create()
    response = _link(client, own, nonce=nonce["nonce"])
    assert response.status_code == 200, response.json()
    assert response.json()["address"] == own.address and response.json()["kind"] == "linked"
    wallet = Wallet.objects.get(user=user)
    assert (wallet.address, wallet.kind, wallet.custodial_address) == (own.address, "linked", custodial)
    # Anything sent to the custodial address before linking can still be moved (not stranded).
    assert wallets.wallet_custodial_account(wallet=wallet).address == custodial
    assert client.get("/api/v1/wallet/").json()["address"] == own.address


def test_siwe_without_statement_or_expiry_links_a_user_without_wallet(user):
    own = Account.create()
    response = _link(_client(user), own, statement=False, expires_in=None)
    assert response.status_code == 200, response.json()
    assert Wallet.objects.get(user=user).address == own.address


def test_siwe_for_another_domain_is_refused(user):
    response = _link(_client(user), Account.create(), domain="evil.example")
    assert response.status_code == 400 and "domain" in error_fields(response)


def test_siwe_with_a_nonce_we_did_not_issue_to_this_user_is_refused(user):
    other_nonce = wallets.siwe_nonce_issue(user=UserFactory())
    for nonce in ("deadbeefdeadbeef", other_nonce):
        response = _link(_client(user), Account.create(), nonce=nonce)
        assert response.status_code == 400 and "nonce" in error_fields(response)
    assert not Wallet.objects.filter(user=user).exists()


def test_siwe_nonce_is_single_use(user):
    client, own = _client(user), Account.create()
    nonce = wallets.siwe_nonce_issue(user=user)
    assert _link(client, own, nonce=nonce).status_code == 200
    response = _link(client, own, nonce=nonce)
    assert response.status_code == 400 and "nonce" in error_fields(response)


def test_siwe_expired_message_is_refused(user):
    response = _link(_client(user), Account.create(), expires_in=timedelta(seconds=-1))
    assert response.status_code == 400 and "expiration_time" in error_fields(response)


def test_siwe_wrong_chain_is_refused(user):
    response = _link(_client(user), Account.create(), chain_id=1 if wallets.siwe_chain_id() != 1 else 5)
    assert response.status_code == 400 and "chain_id" in error_fields(response)


def test_siwe_signature_by_another_key_is_refused_and_keeps_the_nonce(user):
    client, own, impostor = _client(user), Account.create(), Account.create()
    nonce = wallets.siwe_nonce_issue(user=user)
    message = _siwe(address=own.address, nonce=nonce)
    for signature in (_sign(impostor, message), "0x1234"):
        response = client.post("/api/v1/wallet/siwe/link/", {"message": message, "signature": signature}, format="json")
        assert response.status_code == 400 and "signature" in error_fields(response)
    assert _link(client, own, nonce=nonce).status_code == 200


def test_siwe_address_of_another_user_is_refused(user):
    own = Account.create()
    assert _link(_client(UserFactory()), own).status_code == 200
    response = _link(_client(user), own)
    assert response.status_code == 400 and "address" in error_fields(response)


def test_siwe_garbage_message_is_a_field_error(user):
    response = _client(user).post(
        "/api/v1/wallet/siwe/link/", {"message": "hello", "signature": "0x" + "00" * 65}, format="json"
    )
    assert response.status_code == 400 and "message" in error_fields(response)


def test_service_raises_validation_errors_by_field(user):
    with pytest.raises(ValidationError) as exc:
        wallets.siwe_message_check_and_link(
            user=user,
            message=_siwe(address=Account.create().address, nonce="x" * 16),
            signature="0x00",
            domain="other.example",
        )
    assert "domain" in exc.value.message_dict


def test_schema_documents_the_wallet_endpoints(client):
    text = client.get("/api/schema/").content.decode()
    assert "/api/v1/wallet/siwe/link/" in text and "/api/v1/wallet/siwe/nonce/" in text
