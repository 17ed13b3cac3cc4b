"""The caller's USDC balance and ledger history. Amounts are strings with exactly 6 decimals."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.selectors import balance_for, ledger_entries_for


def _usdc(**kwargs) -> serializers.DecimalField:
    # coerce_to_string: JSON numbers are floats to most clients, and USDC must not be.
    return serializers.DecimalField(
        max_digits=USDC_MAX_DIGITS + 1,
        decimal_places=USDC_DECIMAL_PLACES,
        coerce_to_string=True,
        read_only=True,
        **kwargs,
    )


class BalanceSerializer(serializers.Serializer):
    available = _usdc(help_text="USDC that can back new bids.")
    held = _usdc(help_text="USDC reserved by open bids.")
    exiting = _usdc(help_text="USDC set aside for an exit you announced on the vault (EscrowVault.announceExit).")
    total = _usdc(help_text="available + held + exiting: your free balance in the vault.")


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    transaction_id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=LedgerTransactionKind.choices, source="transaction.kind", read_only=True)
    account = serializers.ChoiceField(choices=LedgerAccountKind.choices, source="account.kind", read_only=True)
    amount = _usdc(help_text="Signed: positive adds to the account.")
    memo = serializers.CharField(source="transaction.memo", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class BalanceApi(APIView):
    """The caller's available, held, exiting and total USDC."""

    @extend_schema(responses=BalanceSerializer)
    def get(self, request):
        return Response(BalanceSerializer(balance_for(user=request.user)).data)


class LedgerApi(generics.ListAPIView):
    """The caller's ledger entries (available and held accounts), newest first, cursor-paginated."""

    serializer_class = LedgerEntrySerializer

    def get_queryset(self):
        return ledger_entries_for(user=self.request.user)


urlpatterns = [
    path("balance/", BalanceApi.as_view(), name="api-balance"),
    path("ledger/", LedgerApi.as_view(), name="api-ledger"),
]
