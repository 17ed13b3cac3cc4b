"""Reads for deposits and withdrawals: a user's vault events and withdrawals, where to deposit."""

from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from auctions.models import Bounty
from auctions.services.bounties import bounty_pool_reference
from chain.models import ContractDeployment, Wallet
from config import db_router
from escrow.models import VaultEvent, Withdrawal
from ledger.choices import USER_ACCOUNT_KINDS, LedgerAccountKind
from ledger.models import LedgerAccount


def vault_event_list_for_user(*, user) -> QuerySet:
    """The user's vault events (deposits, and withdrawals seen on chain), newest first."""
    return VaultEvent.objects.filter(user=user).order_by("-created_at", "-id")


def withdrawal_list_for_user(*, user) -> QuerySet:
    """The user's withdrawals, newest first, with their chain transaction."""
    return Withdrawal.objects.filter(user=user).select_related("withdraw_tx").order_by("-created_at", "-id")


def withdrawal_get_for_user(*, user, withdrawal_id: int) -> Withdrawal:
    """One of the user's withdrawals; Withdrawal.DoesNotExist for anyone else's."""
    return withdrawal_list_for_user(user=user).get(pk=withdrawal_id)


def wallet_exists_for(*, user) -> bool:
    """Whether the user has an on-chain address (custodial or their own, linked): what they
    deposit from and what their sales pay out to."""
    return Wallet.objects.filter(user=user).exists()


def vault_deployment_get() -> ContractDeployment | None:
    """The EscrowVault deposits go to (CHAIN_ID's, else the newest recorded), without asking the node."""
    deployments = ContractDeployment.objects.filter(name="EscrowVault")
    if settings.CHAIN_ID:
        deployments = deployments.filter(chain_id=settings.CHAIN_ID)
    return deployments.order_by("-deployed_at").first()


def ledger_vault_backing(*, user_ids: list[int]) -> dict[int, Decimal]:
    """What the ledger says each user has in the vault's free balances: available + held +
    set aside for an exit + the pools of their bounties (a bounty pool is a ledger account; on
    chain that money never left its funder). Compared with the vault's balances of the user's
    addresses by the ledger ≡ vault checks. Reads the primary."""
    backing: dict[int, Decimal] = dict.fromkeys(user_ids, Decimal(0))
    with db_router.primary():
        for owner_id, balance in LedgerAccount.objects.filter(
            owner_id__in=user_ids, kind__in=USER_ACCOUNT_KINDS, reference=""
        ).values_list("owner_id", "balance"):
            backing[owner_id] += balance
        pools = dict(Bounty.objects.filter(buyer_id__in=user_ids).values_list("pk", "buyer_id"))
        references = {bounty_pool_reference(pk): buyer_id for pk, buyer_id in pools.items()}
        for reference, balance in LedgerAccount.objects.filter(
            kind=LedgerAccountKind.BOUNTY_POOL, reference__in=references
        ).values_list("reference", "balance"):
            backing[references[reference]] += balance
    return backing
