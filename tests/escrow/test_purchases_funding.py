"""Contact details only for money that arrived (issue #10 §2): a purchase settled on chain shows
its contact details once its escrow deal is funded on chain; a pending, funding or failed funding
shows where the payment stands and what happens next — on the pages and the API — and reveals no
contact details, salt or canonical data and records no read. A sale settled in the ledger only
is readable at once (its price was captured with the sale)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from chain.models import ChainTransaction, ContractDeployment
from escrow.choices import CONTACT_STATUS_MESSAGES, ContactStatus
from escrow.models import Settlement
from escrow.selectors import purchases as purchase_selectors
from escrow.services import purchases
from leads.models import Lead, PiiAccess
from tests.escrow.test_purchases import (  # noqa: F401 - shared fixtures
    CHAIN_ID,
    CONTACT,
    PII_VALUES,
    SALT,
    address,
    buyer,
    detail_url,
    logged,
    make_purchase,
    page_text,
    sale,
    seller,
    settle,
    t0,
)
from tests.escrow.test_purchases_api import LIST, client_for, detail
from tests.factories import VerticalFieldFactory
from verticals.choices import FieldType

pytestmark = pytest.mark.django_db

State = Settlement.State
AWAITING, FAILED_PAYMENT = ContactStatus.AWAITING_PAYMENT, ContactStatus.PAYMENT_FAILED


def settle_unfunded(sale, *, state: str) -> Settlement:
    """A settlement whose escrow deal never confirmed on chain: pending, funding (its transaction
    sent) or failed (its funding refused)."""
    settlement = settle(sale, state=state)
    if state != State.PENDING:
        tx_status = ChainTransaction.Status.FAILED if state == State.FAILED else ChainTransaction.Status.SENT
        ChainTransaction.objects.filter(pk=settlement.fund_tx_id).update(status=tx_status)
        Settlement.objects.filter(pk=settlement.pk).update(
            funded_at=None, error="funding refused: InsufficientBalance" if state == State.FAILED else ""
        )
    return Settlement.objects.get(pk=settlement.pk)


def vault_deployed(*, at) -> ContractDeployment:
    return ContractDeployment.objects.create(
        chain_id=CHAIN_ID,
        name="EscrowVault",
        address=address(0xE5C),
        tx_hash="0x1",
        block_number=1,
        artifact_sha256="0" * 64,
        deployed_at=at,
    )


@pytest.fixture
def chain_mode(settings):
    settings.CHAIN_SETTLEMENT, settings.CHAIN_RPC_URL = True, "http://127.0.0.1:1"


def assert_locked_page(response, *, status: str) -> None:
    assert response.status_code == 200
    body = page_text(response)
    for value in PII_VALUES:
        assert value not in body
    assert SALT not in body and 'data-testid="canonical-json"' not in body and 'data-testid="salt"' not in body
    assert 'data-testid="contact-locked"' in body and 'data-testid="contact"' not in body
    assert ContactStatus(status).label in body and CONTACT_STATUS_MESSAGES[status] in body


def assert_locked_api(body: dict, *, status: str) -> None:
    assert body["contact"] is None
    assert body["contact_status"] == status and body["contact_status_message"] == CONTACT_STATUS_MESSAGES[status]
    assert body["nft"]["data_salt"] == "" and body["verification"]["canonical_data"] == ""
    assert body["verification"]["steps"] == []
    text = str(body)
    for value in PII_VALUES:
        assert value not in text


# ---------------------------------------------------------------- settled on chain: each state


@pytest.mark.parametrize("state", [State.PENDING, State.FUNDING])
def test_before_the_escrow_deal_is_funded_the_buyer_sees_the_payment_on_its_way_not_the_contact(
    client, buyer, sale, state
):
    settle_unfunded(sale, state=state)
    client.force_login(buyer)
    assert_locked_page(client.get(detail_url(sale.pk)), status=AWAITING)
    assert_locked_api(client_for(buyer).get(detail(sale.pk)).json(), status=AWAITING)
    assert "on its way into escrow" in CONTACT_STATUS_MESSAGES[AWAITING]
    assert PiiAccess.objects.count() == 0


def test_a_funding_that_failed_says_so_and_what_happens_next_and_shows_no_contact(client, buyer, sale):
    settle_unfunded(sale, state=State.FAILED)
    client.force_login(buyer)
    response = client.get(detail_url(sale.pk))
    assert_locked_page(response, status=FAILED_PAYMENT)
    assert "Deposit USDC into the vault" in page_text(response)
    assert "InsufficientBalance" not in page_text(response)  # staff's words stay in admin
    assert_locked_api(client_for(buyer).get(detail(sale.pk)).json(), status=FAILED_PAYMENT)
    assert PiiAccess.objects.count() == 0


@pytest.mark.parametrize("state", [State.FUNDED, State.MINTING, State.MINTED, State.RELEASING, State.RELEASED])
def test_once_the_escrow_deal_is_funded_the_buyer_reads_and_the_read_is_logged(client, buyer, sale, state):
    settle(sale, state=state)
    client.force_login(buyer)
    body = page_text(client.get(detail_url(sale.pk)))
    assert CONTACT["email"] in body and 'data-testid="contact-locked"' not in body
    api_body = client_for(buyer).get(detail(sale.pk)).json()
    assert api_body["contact"] == CONTACT and api_body["contact_status"] == "available"
    assert api_body["contact_status_message"] == "" and api_body["nft"]["data_salt"] == SALT
    assert logged() == [(buyer.pk, sale.pk, "page", "buyer"), (buyer.pk, sale.pk, "api", "buyer")]


def test_a_settlement_that_failed_after_its_funding_confirmed_stays_readable(client, buyer, sale):
    """A mint or release that needs staff: the money is in escrow, so the contact details stay."""
    settlement = settle(sale, state=State.FUNDED)
    Settlement.objects.filter(pk=settlement.pk).update(state=State.FAILED, error="mint failed 3 times")
    client.force_login(buyer)
    assert CONTACT["email"] in page_text(client.get(detail_url(sale.pk)))
    assert client_for(buyer).get(detail(sale.pk)).json()["contact_status"] == "available"


# The income as a word of its own ("183" alone is found in hex digests on the page).
INCOME = re.compile(r"\b183,?000\b")


@pytest.fixture
def fielded_sale(t0, buyer, seller):
    """A purchase whose lead has a biddable field, a non-biddable one and a PII field."""
    sale = make_purchase(t0=t0, buyer=buyer, seller=seller)
    vertical = sale.lead.vertical
    VerticalFieldFactory(
        vertical=vertical,
        key="roof_type",
        label="Roof type",
        type=FieldType.CHOICE,
        choices=["metal", "tile"],
        biddable=True,
    )
    VerticalFieldFactory(
        vertical=vertical, key="household_income", label="Household income", type=FieldType.INTEGER, biddable=False
    )
    VerticalFieldFactory(vertical=vertical, key="ssn_last4", label="SSN last 4", type=FieldType.TEXT, pii=True)
    Lead.objects.filter(pk=sale.lead_id).update(
        fields={"roof_type": "metal", "household_income": 183000}, city="Sausalito", zip="94965"
    )
    return sale


@pytest.mark.parametrize(
    ("state", "status"),
    [(State.PENDING, AWAITING), (State.FAILED, FAILED_PAYMENT), (State.REFUNDED, ContactStatus.REFUNDED)],
)
def test_a_locked_purchase_page_shows_only_what_a_buyer_sees_before_buying(client, buyer, fielded_sale, state, status):
    if state == State.REFUNDED:
        settle(fielded_sale, state=state)
    else:
        settle_unfunded(fielded_sale, state=state)
    client.force_login(buyer)
    response = client.get(detail_url(fielded_sale.pk))
    assert_locked_page(response, status=status)
    body = page_text(response)
    assert "Roof type" in body and "Metal" in body  # biddable: shown before buying too
    assert "Household income" not in body and not INCOME.search(body)  # the rest waits for the money
    assert "SSN last 4" not in body
    assert "CA 949xx" in body and "94965" not in body and "Sausalito" not in body


def test_once_available_the_purchase_page_shows_every_field_and_the_full_address(client, buyer, fielded_sale):
    settle(fielded_sale, state=State.MINTED)
    client.force_login(buyer)
    body = page_text(client.get(detail_url(fielded_sale.pk)))
    assert "Roof type" in body and "Household income" in body and INCOME.search(body)
    assert "Sausalito, CA 94965" in body


# ---------------------------------------------------------------- no settlement row yet


def test_with_chain_settlement_on_a_sale_recorded_after_the_vault_waits_for_its_settlement(
    client, buyer, sale, chain_mode
):
    vault_deployed(at=sale.created_at - timedelta(days=1))
    client.force_login(buyer)
    assert_locked_page(client.get(detail_url(sale.pk)), status=AWAITING)
    assert_locked_api(client_for(buyer).get(detail(sale.pk)).json(), status=AWAITING)
    assert PiiAccess.objects.count() == 0


def test_with_chain_settlement_on_a_sale_from_before_the_vault_was_deployed_is_a_ledger_sale(
    client, buyer, sale, chain_mode
):
    vault_deployed(at=sale.created_at + timedelta(seconds=1))
    client.force_login(buyer)
    assert CONTACT["email"] in page_text(client.get(detail_url(sale.pk)))


def test_without_chain_settlement_the_captured_price_is_enough(client, buyer, sale, settings):
    settings.CHAIN_SETTLEMENT = False
    vault_deployed(at=sale.created_at - timedelta(days=1))
    client.force_login(buyer)
    assert CONTACT["email"] in page_text(client.get(detail_url(sale.pk)))
    assert client_for(buyer).get(detail(sale.pk)).json()["contact_status"] == "available"
    assert logged() == [(buyer.pk, sale.pk, "page", "buyer"), (buyer.pk, sale.pk, "api", "buyer")]


# ---------------------------------------------------------------- the lists


def test_the_lists_show_each_purchases_contact_status_in_constant_queries(
    client, buyer, t0, chain_mode, django_assert_num_queries
):
    vault_deployed(at=t0 - timedelta(days=1))
    waiting = make_purchase(t0=t0, buyer=buyer)  # no settlement yet
    client.force_login(buyer)
    api = client_for(buyer)
    client.get("/my/purchases/"), api.get(LIST)  # warm the session and the key's last use
    # user, wallet, page, unread notifications; wallet and outcomes (the return on spend)
    with django_assert_num_queries(6) as page_queries:
        client.get("/my/purchases/")
    with django_assert_num_queries(2) as api_queries:  # wallet, page (the API key is memoised)
        api.get(LIST)
    failed, funded = (make_purchase(t0=t0 + timedelta(minutes=i + 1), buyer=buyer) for i in range(2))
    settle_unfunded(failed, state=State.FAILED)
    settle(funded, state=State.FUNDED)
    with django_assert_num_queries(len(page_queries.captured_queries)):
        response = client.get("/my/purchases/")
    by_sale = {sale.pk: label for sale, _, label, _ in response.context["rows"]}
    assert by_sale == {
        waiting.pk: ContactStatus.AWAITING_PAYMENT.label,
        failed.pk: ContactStatus.PAYMENT_FAILED.label,
        funded.pk: ContactStatus.AVAILABLE.label,
    }
    assert page_text(response).count('data-testid="purchase-contact-status"') == 3
    with django_assert_num_queries(len(api_queries.captured_queries)):
        rows = api.get(LIST).json()["results"]
    assert {row["id"]: row["contact_status"] for row in rows} == {
        waiting.pk: "awaiting_payment",
        failed.pk: "payment_failed",
        funded.pk: "available",
    }
    assert {row["id"]: row["contact_status_message"] for row in rows}[failed.pk] == CONTACT_STATUS_MESSAGES[
        FAILED_PAYMENT
    ]
    assert PiiAccess.objects.count() == 0


# ---------------------------------------------------------------- the service


def test_the_service_refuses_before_the_money_arrived_and_records_nothing(buyer, sale):
    settle_unfunded(sale, state=State.FUNDING)
    with pytest.raises(purchases.ContactUnavailable) as refused:
        purchases.purchase_pii_read(user=buyer, sale=sale, channel=PiiAccess.Channel.API)
    assert refused.value.status == AWAITING
    assert PiiAccess.objects.count() == 0


def test_the_service_rechecks_the_funding_at_read_time(buyer, sale):
    """A purchase fetched while its deal was funding is readable once the funding confirmed."""
    settlement = settle_unfunded(sale, state=State.FUNDING)
    fetched = purchase_selectors.purchase_get_for_reader(user=buyer, sale_id=sale.pk)
    assert fetched.contact_status == AWAITING
    Settlement.objects.filter(pk=settlement.pk).update(state=State.FUNDED, funded_at=timezone.now())
    assert purchases.purchase_pii_read(user=buyer, sale=fetched, channel=PiiAccess.Channel.API) == CONTACT
    assert logged() == [(buyer.pk, sale.pk, "api", "buyer")]
