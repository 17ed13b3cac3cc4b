"""Bounties for integrators: a buyer's bounties (create and fund, change, top up, withdraw, awards),
the open bounties sellers can earn and a seller's bounty earnings. Thin: auctions.services.bounties and
auctions.selectors.bounties do the work.

Money moves (create, fund, withdraw) need an Idempotency-Key header: a replay moves nothing and
answers with the bounty as it is now (header Idempotent-Replay: true); the same key with another
body is a 422. Another user's bounty is a 404.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.autobid import FieldFiltersField
from auctions.api.serializers import usdc
from auctions.choices import BountyStatus
from auctions.models import BOUNTY_MAX_LEAD_AGE_HOURS, Bounty, BountyAward
from auctions.selectors import bounties as bounty_selectors
from auctions.services import bounties
from core.api.errors import ApiError
from core.api.fields import StrictCharField, StrictIntegerField
from core.api.money import IDEMPOTENCY_HEADER, field_errors, idempotency_key, idempotency_parameter
from leads.validation import US_STATES
from verticals.api.fields import VerticalSlugField

REPLAY_HEADERS = {"Idempotent-Replay": "true"}


# ---------------------------------------------------------------- serializers


class _CriteriaFields(serializers.Serializer):
    name = StrictCharField(max_length=100)
    states = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(US_STATES)),
        required=False,
        max_length=60,
        help_text="Two-letter US states; empty or omitted = all states.",
    )
    min_score = StrictIntegerField(required=False, allow_null=True, min_value=0, max_value=100)
    field_filters = FieldFiltersField(
        required=False, help_text='[{"field", "op", "value"}, …] on the vertical\'s biddable fields.'
    )
    max_lead_age_hours = StrictIntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=BOUNTY_MAX_LEAD_AGE_HOURS,
        help_text="Lead age at sale; null = any age.",
    )
    amount_per_lead = usdc(positive=True, help_text="USDC paid to the seller per matching sale.")


class BountySerializer(serializers.ModelSerializer):
    """A buyer's bounty with its pool (the ledger's balance) and what it has paid."""

    vertical = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    amount_per_lead = usdc(read_only=True)
    pool_balance = usdc(read_only=True, help_text="Unspent USDC in the pool.")
    paid_total = usdc(read_only=True, help_text="USDC paid to sellers so far.")
    award_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Bounty
        fields = (
            "id",
            "name",
            "vertical",
            "min_score",
            "states",
            "field_filters",
            "max_lead_age_hours",
            "amount_per_lead",
            "status",
            "pool_balance",
            "paid_total",
            "award_count",
            "created_at",
            "closed_at",
        )
        read_only_fields = fields


class BountyCreateSerializer(_CriteriaFields):
    vertical = VerticalSlugField(help_text="Leads of this vertical and its sub-verticals.")
    amount = usdc(
        positive=True, help_text="USDC moved from your available balance into the pool; at least amount_per_lead."
    )


class BountyUpdateSerializer(_CriteriaFields):
    name = StrictCharField(max_length=100, required=False)
    amount_per_lead = usdc(positive=True, required=False)
    status = serializers.ChoiceField(
        choices=[BountyStatus.ACTIVE, BountyStatus.PAUSED],
        required=False,
        help_text="paused stops payouts; active resumes them.",
    )


class AmountSerializer(serializers.Serializer):
    amount = usdc(positive=True, help_text="USDC.")


class WithdrawSerializer(serializers.Serializer):
    amount = usdc(
        positive=True,
        required=False,
        allow_null=True,
        help_text="USDC to take back; omit (or null) to take everything back and close the bounty.",
    )


class BountyAwardSerializer(serializers.ModelSerializer):
    amount = usdc(read_only=True)
    lead_id = serializers.IntegerField(source="sale.lead_id", read_only=True)
    sale_price = usdc(source="sale.price", read_only=True)

    class Meta:
        model = BountyAward
        fields = ("id", "bounty", "sale", "lead_id", "sale_price", "amount", "created_at")
        read_only_fields = fields


class OpenBountySerializer(serializers.ModelSerializer):
    """What a seller sees of a bounty: criteria and money, never the buyer or the bounty's name."""

    vertical = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    amount_per_lead = usdc(read_only=True)
    pool_balance = usdc(read_only=True, help_text="What is left to earn (a payout may be partial).")

    class Meta:
        model = Bounty
        fields = (
            "id",
            "vertical",
            "min_score",
            "states",
            "field_filters",
            "max_lead_age_hours",
            "amount_per_lead",
            "pool_balance",
            "created_at",
        )
        read_only_fields = fields


class EarningsSerializer(serializers.Serializer):
    total = usdc(read_only=True, help_text="USDC earned from bounties (held in each sale's escrow until settlement).")
    count = serializers.IntegerField(read_only=True)
    results = BountyAwardSerializer(many=True, read_only=True, help_text="The latest 100 awards.")


IDEMPOTENCY_PARAMETER = idempotency_parameter()
MONEY_CONFLICT = (
    "More than your available balance (`insufficient_funds`), more than the pool holds, or the bounty is closed."
)


# ---------------------------------------------------------------- helpers


def _bounty_or_404(request, pk: int) -> Bounty:
    try:
        return bounty_selectors.bounty_get_for_buyer(buyer=request.user, bounty_id=pk)
    except Bounty.DoesNotExist:
        raise NotFound("No such bounty.") from None


def _conflict(exc: bounties.BountyConflict) -> ApiError:
    return ApiError(
        str(exc), status=status.HTTP_422_UNPROCESSABLE_ENTITY, code="idempotency_key_reused", param=IDEMPOTENCY_HEADER
    )


# What a service refuses because of the state of things (a balance, a closed bounty) rather than the
# request's form is a 409; the rest stays a 400 by field.
def _state_code(message: str) -> str | None:
    if message.startswith("Insufficient funds"):
        return "insufficient_funds"
    if message.startswith("This bounty is closed"):
        return "bounty_closed"
    if message.endswith("left in this bounty's pool."):
        return "pool_insufficient"
    return None


def _refused(exc: DjangoValidationError) -> Exception:
    exclusive = [e for e in getattr(exc, "error_dict", {}).get("vertical", []) if e.code == "exclusive_vertical"]
    if exclusive:  # a permission, not the request's form: 403 as for a bid in that vertical
        return ApiError(
            exclusive[0].message, status=status.HTTP_403_FORBIDDEN, code="exclusive_vertical", param="vertical"
        )
    errors = field_errors(exc)
    flat = [(name, str(message)) for name, messages in errors.detail.items() for message in messages]
    if flat and all(_state_code(message) for _, message in flat):
        name, message = flat[0]
        return ApiError(
            message,
            status=status.HTTP_409_CONFLICT,
            code=_state_code(message),
            param=None if name == "non_field_errors" else name,
        )
    return errors


def _require_buyer(request) -> None:
    if not request.user.is_buyer:
        raise ApiError(
            "Only buyer accounts fund bounties. Enable buying on your account page.",
            status=status.HTTP_403_FORBIDDEN,
            code="buyer_required",
        )


def _body(request, bounty: Bounty, code: int) -> Response:
    fresh = _bounty_or_404(request, bounty.pk)
    return Response(
        BountySerializer(fresh).data,
        status=code,
        headers=REPLAY_HEADERS if getattr(bounty, "replayed", False) else None,
    )


def _valid(serializer_class, request, **kwargs) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# ---------------------------------------------------------------- a buyer's bounties


class BountyListCreateApi(generics.ListAPIView):
    """GET: your bounties, newest first. POST: create a bounty and fund its pool from your balance."""

    serializer_class = BountySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Bounty.objects.none()
        return bounty_selectors.bounty_list_for_buyer(buyer=self.request.user)

    error_statuses = {
        "post": {
            403: "Only buyer accounts fund bounties (`buyer_required`); an exclusive vertical "
            "takes bounties only from its listed buyers (`exclusive_vertical`).",
            404: "No such vertical.",
            409: MONEY_CONFLICT,
        }
    }

    @extend_schema(
        request=BountyCreateSerializer, parameters=[IDEMPOTENCY_PARAMETER], responses={201: BountySerializer}
    )
    def post(self, request):
        _require_buyer(request)
        key = idempotency_key(request)
        data = _valid(BountyCreateSerializer, request)
        try:
            bounty = bounties.bounty_create(buyer=request.user, idempotency_key=key, **data)
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        except bounties.BountyConflict as exc:
            raise _conflict(exc) from None
        return _body(request, bounty, status.HTTP_201_CREATED)


class BountyDetailApi(APIView):
    """One of your bounties (others' are 404). PATCH changes criteria, the amount, or pauses/resumes."""

    @extend_schema(responses=BountySerializer)
    def get(self, request, pk: int):
        return Response(BountySerializer(_bounty_or_404(request, pk)).data)

    error_statuses = {"patch": {409: "The bounty is closed."}}

    @extend_schema(request=BountyUpdateSerializer, responses={200: BountySerializer})
    def patch(self, request, pk: int):
        bounty = _bounty_or_404(request, pk)
        data = _valid(BountyUpdateSerializer, request, partial=True)
        try:
            bounty = bounties.bounty_update(bounty=bounty, **data)
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        return _body(request, bounty, status.HTTP_200_OK)


class BountyFundApi(APIView):
    """Top up the pool from your available balance."""

    error_statuses = {"post": {409: MONEY_CONFLICT}}

    @extend_schema(request=AmountSerializer, parameters=[IDEMPOTENCY_PARAMETER], responses={200: BountySerializer})
    def post(self, request, pk: int):
        bounty = _bounty_or_404(request, pk)
        key = idempotency_key(request)
        data = _valid(AmountSerializer, request)
        try:
            bounty = bounties.bounty_fund(bounty=bounty, amount=data["amount"], idempotency_key=key)
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        except bounties.BountyConflict as exc:
            raise _conflict(exc) from None
        return _body(request, bounty, status.HTTP_200_OK)


class BountyWithdrawApi(APIView):
    """Take unspent funds back to your available balance: everything (and close the bounty) or an amount."""

    error_statuses = {"post": {409: MONEY_CONFLICT}}

    @extend_schema(request=WithdrawSerializer, parameters=[IDEMPOTENCY_PARAMETER], responses={200: BountySerializer})
    def post(self, request, pk: int):
        bounty = _bounty_or_404(request, pk)
        key = idempotency_key(request)
        data = _valid(WithdrawSerializer, request)
        try:
            bounty = bounties.bounty_withdraw(bounty=bounty, amount=data.get("amount"), idempotency_key=key)
        except DjangoValidationError as exc:
            raise _refused(exc) from None
        except bounties.BountyConflict as exc:
            raise _conflict(exc) from None
        return _body(request, bounty, status.HTTP_200_OK)


class BountyAwardListApi(generics.ListAPIView):
    """What one of your bounties has paid, newest first (cursor-paginated)."""

    serializer_class = BountyAwardSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BountyAward.objects.none()
        bounty = _bounty_or_404(self.request, self.kwargs["pk"])
        return bounty_selectors.bounty_award_list_for_bounty(bounty=bounty)


# ---------------------------------------------------------------- for sellers


class OpenBountyListApi(generics.ListAPIView):
    """Bounties you can earn by selling matching leads: active, with money left; newest first."""

    serializer_class = OpenBountySerializer

    @extend_schema(parameters=[OpenApiParameter("vertical", str, description="Vertical slug.")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Bounty.objects.none()
        return bounty_selectors.bounty_list_open(vertical_slug=(self.request.query_params.get("vertical") or "")[:80])


class BountyEarningsApi(APIView):
    """Your bounty earnings as a seller: the total and the latest awards."""

    @extend_schema(responses=EarningsSerializer)
    def get(self, request):
        totals = bounty_selectors.bounty_earnings_for_seller(seller=request.user)
        latest = list(bounty_selectors.bounty_award_list_for_seller(seller=request.user)[:100])
        return Response(EarningsSerializer({**totals, "results": latest}).data)


urlpatterns = [
    path("bounties/", BountyListCreateApi.as_view(), name="api-bounty-list"),
    path("bounties/open/", OpenBountyListApi.as_view(), name="api-bounty-open"),
    path("bounties/earnings/", BountyEarningsApi.as_view(), name="api-bounty-earnings"),
    path("bounties/<int:pk>/", BountyDetailApi.as_view(), name="api-bounty-detail"),
    path("bounties/<int:pk>/fund/", BountyFundApi.as_view(), name="api-bounty-fund"),
    path("bounties/<int:pk>/withdraw/", BountyWithdrawApi.as_view(), name="api-bounty-withdraw"),
    path("bounties/<int:pk>/awards/", BountyAwardListApi.as_view(), name="api-bounty-awards"),
]
