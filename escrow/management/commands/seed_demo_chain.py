"""`make run`: give the demo buyers test USDC in the vault on the dev chain, once.

Each demo buyer without a vault deposit gets DEMO_FUNDS from the development faucet (MockUSDC
minted and deposited for their custodial address), and the vault indexer runs once so the ledger
shows it. Skipped, with a note, when no dev chain or contracts are there.
"""

from decimal import Decimal

from django.core.management.base import BaseCommand

from accounts.models import User
from chain.client import ChainUnavailable
from escrow.models import VaultEvent
from escrow.services.deposits import faucet_chain_target, faucet_dispense, vault_index

DEMO_FUNDS = Decimal("5000")


class Command(BaseCommand):
    help = "Fund the demo buyers' vault balances on the dev chain (idempotent)."

    def handle(self, *args, **options):
        try:
            target = faucet_chain_target()
        except ChainUnavailable:
            target = None
        if target is None:
            self.stdout.write("Demo chain funds: no dev chain with the contracts: skipped.")
            return
        funded = 0
        for buyer in User.objects.filter(is_buyer=True, email__endswith="@leadengine.local").order_by("pk"):
            if VaultEvent.objects.filter(user=buyer, kind=VaultEvent.Kind.DEPOSIT).exists():
                continue
            faucet_dispense(user=buyer, amount=DEMO_FUNDS, nonce="seed-demo-chain")
            funded += 1
        applied = vault_index()
        self.stdout.write(
            f"Demo chain funds: {funded} buyer(s) given {DEMO_FUNDS} USDC in the vault; "
            f"{applied} vault event(s) applied to the ledger."
        )
