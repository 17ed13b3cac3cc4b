"""The chain-settled events fire from their real services on anvil: deposit credited, withdrawal
paid, purchase ready (the escrow deal funded), earnings released."""

from datetime import timedelta
from decimal import Decimal

import pytest
from eth_account import Account

from chain.wallets import wallet_for
from escrow.models import Settlement
from escrow.services.deposits import vault_index
from escrow.services.settlement import mint_flush, settlement_fund
from escrow.services.withdrawals import withdrawal_advance, withdrawal_request
from notifications.choices import NotificationEvent
from notifications.models import Notification
from tests.escrow import funds_fixtures
from tests.escrow.settlement_helpers import deploy, make_sale, settle_rounds
from tests.escrow.test_withdrawals import _confirm

pytestmark = pytest.mark.django_db(transaction=True)

w3, contracts, deposit = funds_fixtures.w3, funds_fixtures.contracts, funds_fixtures.deposit
D = Decimal
E = NotificationEvent


def test_deposit_credited_then_withdrawal_paid(user, deposit):
    wallet = wallet_for(user=user)
    deposit(wallet.address, "100")
    assert vault_index() == 1
    [credited] = Notification.objects.filter(user=user, event=E.DEPOSIT_CREDITED)
    assert credited.title == "Deposit of 100.00 USDC credited"

    withdrawal = withdrawal_request(user=user, amount=D("40"), to_address=Account.create().address, idempotency_key="w")
    _confirm()
    withdrawal_advance()
    vault_index()  # the indexer sees the Withdrawn log too: still one notification
    [paid] = Notification.objects.filter(user=user, event=E.WITHDRAWAL_PAID)
    assert paid.key == f"withdrawal:{withdrawal.pk}" and "40.00 USDC" in paid.title


def test_purchase_ready_when_funded_and_earnings_released_after_the_window(settings):
    settings.CHAIN_SETTLEMENT = True
    deploy()
    sale = make_sale(price=D("40"))
    assert not Notification.objects.filter(user=sale.buyer, event=E.PURCHASE_READY).exists()  # not paid yet
    settlement_fund(sale_id=sale.pk)
    settle_rounds(2)
    [ready] = Notification.objects.filter(user=sale.buyer, event=E.PURCHASE_READY)
    assert ready.url == f"/my/purchases/{sale.pk}/"

    mint_flush(force=True)
    settle_rounds(2)
    s = Settlement.objects.get(sale=sale)
    settle_rounds(3, now=s.release_after + timedelta(seconds=1))
    s.refresh_from_db()
    assert s.state == Settlement.State.RELEASED
    [released] = Notification.objects.filter(user=sale.seller, event=E.EARNINGS_RELEASED)
    assert released.title.endswith(f"USDC released for sale {sale.pk}") and released.url == "/wallet/"
    assert Notification.objects.filter(user=sale.buyer, event=E.PURCHASE_READY).count() == 1
