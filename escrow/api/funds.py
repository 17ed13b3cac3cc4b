"""Deposits and withdrawals for integrators. Thin: escrow/services/withdrawals.py and
escrow/selectors/funds.py do the work.

POST /withdrawals/ moves money and needs an Idempotency-Key header: a replay moves nothing and
answers with the withdrawal as it is (header Idempotent-Replay: true); the same key with another
body is a 422. A linked (own) wallet first gets the EIP-712 typed data from
POST /withdrawals/typed-data/, signs it (eth_signTypedData_v4) and sends `signature` + `deadline`.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import usdc
from core.api.errors import ApiError
from core.api.fields import PatternField, StrictCharField, StrictIntegerField
from core.api.money import IDEMPOTENCY_HEADER, field_errors, idempotency_key, idempotency_parameter
from escrow.models import VaultEvent, Withdrawal
from escrow.selectors import funds as funds_selectors
from escrow.services.withdrawals import (
    WithdrawalConflict,
    WithdrawalUnavailable,
    withdrawal_prepare,
    withdrawal_request,
)

REPLAY_HEADERS = {"Idempotent-Replay": "true"}
UNAVAILABLE = "The chain is unavailable (or the vault not deployed); nothing was withdrawn."
KEY_MAX = 179  # escrow.services.withdrawals keeps the key inside a longer ledger key
ADDRESS_PATTERN = r"^0x(?!0{40}$)[0-9a-fA-F]{40}$"


def address_field() -> PatternField:
    # The schema gives the format (a generator can make checksummed addresses), not the pattern.
    return PatternField(
        ADDRESS_PATTERN,
        format="eip55-address",
        publish_pattern=False,
        min_length=42,
        max_length=42,
        help_text="EIP-55 checksummed address (not the zero address) that receives the USDC.",
    )


class VaultEventSerializer(serializers.ModelSerializer):
    amount = usdc(read_only=True)

    class Meta:
        model = VaultEvent
        fields = (
            "id",
            "kind",
            "amount",
            "account",
            "chain_id",
            "tx_hash",
            "log_index",
            "block_number",
            "ledger_transaction",
            "created_at",
        )
        read_only_fields = fields


class WithdrawalSerializer(serializers.ModelSerializer):
    amount = usdc(read_only=True)
    tx_hash = serializers.CharField(source="withdraw_tx.tx_hash", read_only=True, default="")

    class Meta:
        model = Withdrawal
        fields = ("id", "amount", "to_address", "status", "tx_hash", "error", "created_at", "completed_at")
        read_only_fields = fields


class WithdrawalCreateSerializer(serializers.Serializer):
    amount = usdc(positive=True, help_text="USDC from your available balance.")
    to_address = address_field()
    signature = StrictCharField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text="Linked wallets only: your EIP-712 signature of the typed data.",
    )
    deadline = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Linked wallets only: the deadline you signed (unix seconds).",
    )


class TypedDataRequestSerializer(serializers.Serializer):
    amount = usdc(positive=True)
    to_address = address_field()
    deadline = StrictIntegerField(required=False, min_value=0, max_value=2**63 - 1)


def _valid(serializer_class, request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _unavailable(exc: WithdrawalUnavailable) -> ApiError:
    return ApiError(str(exc), status=status.HTTP_503_SERVICE_UNAVAILABLE, code="chain_unavailable")


def _refused(exc: DjangoValidationError) -> Exception:
    """More than the available balance, or a withdrawal already on its way, conflicts with the
    account's state (409); the rest is a 400 by field."""
    errors = field_errors(exc)
    flat = [(name, str(message)) for name, messages in errors.detail.items() for message in messages]
    if len(flat) == 1:
        name, message = flat[0]
        if message.startswith(("More than your available balance", "Your vault balance on chain is lower")):
            return ApiError(message, status=status.HTTP_409_CONFLICT, code="insufficient_funds", param=name)
        if message.startswith("A withdrawal of yours is on its way"):
            return ApiError(message, status=status.HTTP_409_CONFLICT, code="withdrawal_pending")
    return errors


class DepositListApi(generics.ListAPIView):
    """Your vault events, newest first (cursor-paginated): deposits credited to your balance, and
    withdrawals seen on chain."""

    serializer_class = VaultEventSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VaultEvent.objects.none()
        return funds_selectors.vault_event_list_for_user(user=self.request.user)


class WithdrawalListCreateApi(generics.ListAPIView):
    """GET: your withdrawals, newest first. POST: withdraw USDC from your available balance to an
    address (debited at once, paid on chain; credited back if the payout fails)."""

    serializer_class = WithdrawalSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Withdrawal.objects.none()
        return funds_selectors.withdrawal_list_for_user(user=self.request.user)

    error_statuses = {
        "post": {409: "More than your available balance, or a withdrawal of yours is on its way.", 503: UNAVAILABLE}
    }

    @extend_schema(
        request=WithdrawalCreateSerializer,
        parameters=[idempotency_parameter(max_length=KEY_MAX)],
        responses={201: WithdrawalSerializer},
    )
    def post(self, request):
        key = idempotency_key(request, max_length=KEY_MAX)
        data = _valid(WithdrawalCreateSerializer, request)
        try:
            withdrawal = withdrawal_request(
                user=request.user,
                idempotency_key=key,
                amount=data["amount"],
                to_address=data["to_address"],
                signature=data.get("signature") or None,
                deadline=data.get("deadline"),
            )
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        except WithdrawalConflict as exc:
            raise ApiError(
                str(exc),
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                code="idempotency_key_reused",
                param=IDEMPOTENCY_HEADER,
            ) from None
        except WithdrawalUnavailable as exc:
            raise _unavailable(exc) from None
        fresh = funds_selectors.withdrawal_get_for_user(user=request.user, withdrawal_id=withdrawal.pk)
        return Response(
            WithdrawalSerializer(fresh).data,
            status=status.HTTP_201_CREATED,
            headers=REPLAY_HEADERS if withdrawal.replayed else None,
        )


class WithdrawalDetailApi(APIView):
    """One of your withdrawals (anyone else's is a 404)."""

    @extend_schema(responses=WithdrawalSerializer)
    def get(self, request, pk: int):
        try:
            withdrawal = funds_selectors.withdrawal_get_for_user(user=request.user, withdrawal_id=pk)
        except Withdrawal.DoesNotExist:
            raise NotFound("No such withdrawal.") from None
        return Response(WithdrawalSerializer(withdrawal).data)


class WithdrawalTypedDataApi(APIView):
    """The EIP-712 typed data your own (linked) wallet signs for a withdrawal; sign it, then POST
    /withdrawals/ with `signature` and the same `deadline` before another withdrawal of yours."""

    error_statuses = {"post": {503: UNAVAILABLE}}

    @extend_schema(
        request=TypedDataRequestSerializer,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT, description="EIP-712 typed data: domain, types, primaryType, message."
            )
        },
    )
    def post(self, request):
        data = _valid(TypedDataRequestSerializer, request)
        try:
            typed = withdrawal_prepare(
                user=request.user, amount=data["amount"], to_address=data["to_address"], deadline=data.get("deadline")
            )
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        except WithdrawalUnavailable as exc:
            raise _unavailable(exc) from None
        return Response(typed)


urlpatterns = [
    path("deposits/", DepositListApi.as_view(), name="api-deposit-list"),
    path("withdrawals/", WithdrawalListCreateApi.as_view(), name="api-withdrawal-list"),
    path("withdrawals/typed-data/", WithdrawalTypedDataApi.as_view(), name="api-withdrawal-typed-data"),
    path("withdrawals/<int:pk>/", WithdrawalDetailApi.as_view(), name="api-withdrawal-detail"),
]
