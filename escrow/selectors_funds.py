"""Reads for deposits and withdrawals: a user's vault events and withdrawals, where to deposit."""

from django.conf import settings
from django.db.models import QuerySet

from chain.models import ContractDeployment
from escrow.models import VaultEvent, Withdrawal


def vault_event_list_for_user(*, user) -> QuerySet:
    """The user's vault events (deposits, and withdrawals seen on chain), newest first."""
    return VaultEvent.objects.filter(user=user).order_by("-created_at", "-id")


def withdrawal_list_for_user(*, user) -> QuerySet:
    """The user's withdrawals, newest first, with their chain transaction."""
    return Withdrawal.objects.filter(user=user).select_related("withdraw_tx").order_by("-created_at", "-id")


def withdrawal_get_for_user(*, user, withdrawal_id: int) -> Withdrawal:
    """One of the user's withdrawals; Withdrawal.DoesNotExist for anyone else's."""
    return withdrawal_list_for_user(user=user).get(pk=withdrawal_id)


def vault_deployment_get() -> ContractDeployment | None:
    """The EscrowVault deposits go to (CHAIN_ID's, else the newest recorded), without asking the node."""
    deployments = ContractDeployment.objects.filter(name="EscrowVault")
    if settings.CHAIN_ID:
        deployments = deployments.filter(chain_id=settings.CHAIN_ID)
    return deployments.order_by("-deployed_at").first()
