"""No ledger row waits on the node: with the node made slow by a proxy that holds a withdrawal's
node call until the test lets it go, other users' bids and deposits — and the withdrawing user's
own bid — complete meanwhile. (Before, a withdrawal held the user's ledger rows and the one
external account every deposit and withdrawal locked while it asked the node.)"""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from eth_account import Account

from auctions.services.auctions import bid_place
from chain.wallets import wallet_for
from escrow.models import Withdrawal
from escrow.services.deposits import vault_index
from escrow.services.withdrawals import withdrawal_request
from ledger.selectors import balance_for, ledger_check
from tests.auctions.factories import make_auction
from tests.escrow import funds_fixtures
from tests.escrow.rpc_proxy import HoldingProxy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

w3, contracts, deposit, mine = funds_fixtures.w3, funds_fixtures.contracts, funds_fixtures.deposit, funds_fixtures.mine

D = Decimal
NONCES = "0x7ecebe00"  # nonces(address): the first thing a withdrawal asks the vault


def _in_thread(target, results: dict, name: str) -> threading.Thread:
    def run():
        try:
            results[name] = target()
        except Exception as exc:  # noqa: BLE001 - the test reads it
            results[name] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


@pytest.fixture
def proxy(settings):
    proxy = HoldingProxy(settings.CHAIN_RPC_URL).start()
    settings.CHAIN_RPC_URL = proxy.url  # the application's node calls go through the proxy from here on
    yield proxy
    proxy.stop()


def test_a_withdrawal_stuck_in_its_node_call_holds_up_nobody(deposit, contracts, proxy):
    alice, bob = UserFactory(is_buyer=True), UserFactory(is_buyer=True)
    deposit(wallet_for(user=alice).address, "100")
    deposit(wallet_for(user=bob).address, "100")
    assert vault_index() == 2
    auction = make_auction()

    proxy.hold(
        lambda call: (
            call.get("method") == "eth_call" and str((call.get("params") or [{}])[0].get("data", "")).startswith(NONCES)
        )
    )
    results: dict = {}
    stuck = _in_thread(
        lambda: withdrawal_request(
            user=alice, amount=D("30"), to_address=Account.create().address, idempotency_key="slow"
        ),
        results,
        "withdrawal",
    )
    assert proxy.held.wait(timeout=30), "the withdrawal never reached the node"

    def meanwhile():
        bid_place(auction_id=auction.pk, buyer=bob, max_amount=D("20"))
        deposit(wallet_for(user=bob).address, "5")  # sent to the node directly, indexed through the proxy
        applied = vault_index()
        bid_place(auction_id=auction.pk, buyer=alice, max_amount=D("25"))  # her own rows are free too
        return applied

    others = _in_thread(meanwhile, results, "others")
    others.join(timeout=60)
    assert not others.is_alive(), "a bid or a deposit waited for the withdrawal's node call"
    assert results["others"] == 1
    assert stuck.is_alive() and not Withdrawal.objects.exists()  # still waiting on the node

    proxy.release()
    stuck.join(timeout=60)
    withdrawal = results["withdrawal"]
    assert isinstance(withdrawal, Withdrawal), withdrawal
    assert balance_for(user=bob) == {"available": D("85"), "held": D("20"), "exiting": D("0"), "total": D("105")}
    assert balance_for(user=alice)["available"] == D("45")  # 100 - 25 held - 30 withdrawn
    assert ledger_check().ok
