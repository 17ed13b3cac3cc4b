"""Asks and the marketplace for integrators. Thin: auctions.services.auctions and selectors do the work."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import (
    AskSerializer,
    AuctionDetailSerializer,
    AuctionSerializer,
    BidInputSerializer,
    BidLogSerializer,
)
from auctions.choices import AuctionStatus, BidSource
from auctions.models import Ask, Auction
from auctions.selectors import auctions as auction_selectors
from auctions.services import auctions as auction_services
from core.api.errors import ApiError
from leads.validation import US_STATES
from verticals.selectors import vertical_schema_cached

# ---------------------------------------------------------------- asks


class _SellerOnly:
    required_role = "seller"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.is_seller:
            raise ApiError(
                "Only seller accounts have asks. Enable selling on your account page.",
                status=status.HTTP_403_FORBIDDEN,
                code="seller_required",
            )


ASK_CONFLICT = (
    "You already have an active ask for this vertical and these states (`ask_exists`), or the buy-now "
    "price is below the reserve you did not send (`below_reserve`) or meets a stored multiplier "
    "(`price_and_multiplier`)."
)
BELOW_RESERVE, NOT_BOTH = "Must be at least the reserve", "Give a buy-now price or a multiplier, not both."


def _ask_refused(exc: auction_services.AskInvalid, data) -> Exception:
    """A clash with another ask, or a buy-now price against a reserve or multiplier the request
    does not carry (the vertical's, the ask's stored one), conflicts with the current state: 409.
    Everything else is the request's own fault: 400 by field."""
    if exc.conflict:
        return ApiError(exc.errors["states"][0], status=status.HTTP_409_CONFLICT, code="ask_exists", param="states")
    sent = {name for name, value in (data if isinstance(data, dict) else {}).items() if value is not None}
    if set(exc.errors) == {"buy_now_price"} and len(exc.errors["buy_now_price"]) == 1:
        message = exc.errors["buy_now_price"][0]
        if message.startswith(BELOW_RESERVE) and "reserve_price" not in sent:
            return ApiError(message, status=status.HTTP_409_CONFLICT, code="below_reserve", param="buy_now_price")
        if message == NOT_BOTH and not {"buy_now_price", "buy_now_multiplier"} <= sent:
            return ApiError(
                message, status=status.HTTP_409_CONFLICT, code="price_and_multiplier", param="buy_now_price"
            )
    return ValidationError(exc.errors)


class AskListCreateApi(_SellerOnly, generics.ListCreateAPIView):
    """GET: your asks (listing policies). POST: create one."""

    serializer_class = AskSerializer
    error_statuses = {"post": {404: "No such vertical.", 409: ASK_CONFLICT}}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ask.objects.none()
        return auction_selectors.ask_list_for_seller(seller=self.request.user)

    def perform_create(self, serializer):
        try:
            serializer.instance = auction_services.ask_create(seller=self.request.user, **serializer.validated_data)
        except auction_services.AskInvalid as exc:
            raise _ask_refused(exc, self.request.data) from None


class AskDetailApi(_SellerOnly, generics.RetrieveUpdateDestroyAPIView):
    """GET, PATCH or DELETE one of your asks (others' asks are 404)."""

    serializer_class = AskSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]
    error_statuses = {"patch": {409: ASK_CONFLICT}}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Ask.objects.none()
        return auction_selectors.ask_list_for_seller(seller=self.request.user)

    def perform_update(self, serializer):
        try:
            serializer.instance = auction_services.ask_update(ask=serializer.instance, **serializer.validated_data)
        except auction_services.AskInvalid as exc:
            raise _ask_refused(exc, self.request.data) from None

    def perform_destroy(self, instance):
        auction_services.ask_delete(ask=instance)


# ---------------------------------------------------------------- auctions


def _int_param(request, name: str, *, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: ["A whole number."]}) from None
    if raw.strip() != str(value):
        raise ValidationError({name: ["A whole number."]})
    if not low <= value <= high:
        raise ValidationError({name: [f"Between {low} and {high}."]})
    return value


MAX_CLOSING_WITHIN = 7 * 86400
VERTICAL_PARAMETER = OpenApiParameter(
    "vertical", {"type": "string", "maxLength": 80}, description="Vertical slug (its sub-verticals included)."
)
STATE_PARAMETER = OpenApiParameter("state", str, enum=sorted(US_STATES), description="Two-letter US state of the lead.")
MIN_SCORE_PARAMETER = OpenApiParameter(
    "min_score", {"type": "integer", "minimum": 0, "maximum": 100}, description="Minimum quality score (0–100)."
)
LIST_PARAMETERS = [
    VERTICAL_PARAMETER,
    STATE_PARAMETER,
    MIN_SCORE_PARAMETER,
    OpenApiParameter(
        "closing_within",
        {"type": "integer", "minimum": 0, "maximum": MAX_CLOSING_WITHIN},
        description="Open auctions closing within this many seconds (0–604800).",
    ),
    OpenApiParameter("status", str, enum=AuctionStatus.values, description="open or closed"),
]


def state_param(request) -> str:
    """?state=: exactly a two-letter US state code in capitals, or absent."""
    state = request.query_params.get("state")
    if state is None:
        return ""
    if state not in US_STATES:
        raise ValidationError({"state": ["A two-letter US state code in capitals, e.g. CA."]})
    return state


def vertical_param(request) -> str:
    vertical = request.query_params.get("vertical") or ""
    if len(vertical) > 80:
        raise ValidationError({"vertical": ["At most 80 characters."]})
    return vertical


class AuctionListApi(generics.ListAPIView):
    """Open auctions and those closed in the last 24 hours, newest first (cursor-paginated); an
    exclusive vertical's only for its listed buyers, its sellers and staff."""

    serializer_class = AuctionSerializer

    @extend_schema(parameters=LIST_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Auction.objects.none()
        params = self.request.query_params
        status_ = params.get("status")
        if status_ is not None and status_ not in AuctionStatus.values:
            raise ValidationError({"status": [f"One of: {', '.join(AuctionStatus.values)}."]})
        return auction_selectors.auction_list_live(
            user=self.request.user,
            vertical=vertical_param(self.request),
            state=state_param(self.request),
            status=status_ or "",
            min_score=_int_param(self.request, "min_score", low=0, high=100),
            closing_within=_int_param(self.request, "closing_within", low=0, high=MAX_CLOSING_WITHIN),
        )


def _auction_or_404(auction_id: int, *, user=None) -> Auction:
    """The auction as `user` may see it (auction_selectors.auction_visible_q); without a user, whoever asks
    (the bid log, which has its own rule). A 404 either way when it is not there for them."""
    try:
        if user is None:
            return auction_selectors.auction_get(auction_id=auction_id)
        return auction_selectors.auction_get_visible(auction_id=auction_id, user=user)
    except Auction.DoesNotExist:
        raise NotFound("No such auction.") from None


def auction_detail_body(*, auction: Auction, user, now=None) -> dict:
    """The auction's state for one caller: shared by the detail and the bid response."""
    auction.view = auction_selectors.auction_view_for(auction=auction, user=user)
    biddable = {field.key for field in vertical_schema_cached(vertical_id=auction.vertical_id) if field.biddable}
    preview = {k: v for k, v in (auction.lead.fields or {}).items() if k in biddable}
    return AuctionDetailSerializer(auction, context={"now": now, "preview": preview}).data


class AuctionDetailApi(APIView):
    """One auction: price, reserve met, your maximum and standing, time left, bid count. An
    exclusive vertical's auction is a 404 to everyone but its listed buyers, its seller and staff."""

    @extend_schema(responses=AuctionDetailSerializer)
    def get(self, request, pk: int):
        return Response(auction_detail_body(auction=_auction_or_404(pk, user=request.user), user=request.user))


# A bid the amount's form refuses is a 400; one the auction's state refuses (closed, below the reserve
# or the price, not above your maximum, more than your balance covers) is a 409.
BID_STATUS = {
    auction_services.BidRejected.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    auction_services.BidRejected.CLOSED: status.HTTP_409_CONFLICT,
    auction_services.BidRejected.INVALID: status.HTTP_409_CONFLICT,
    auction_services.BidRejected.NOT_FOUND: status.HTTP_404_NOT_FOUND,
}
BID_FORM_CODES = {"invalid_amount"}


class BidCreateApi(APIView):
    """State or raise your maximum (proxy bid). The ledger holds it until the auction closes."""

    error_statuses = {
        "post": {
            403: "Only buyers bid, never on their own leads; exclusive verticals admit only their listed buyers.",
            409: "The auction is closed (`closed`), or your maximum is below the reserve or the price, not above "
            "your previous maximum, more than your available balance covers (`insufficient_funds`), or your exit "
            "from the vault unlocks before the sale could be paid (`funds_leaving`); `error.code` says which.",
        }
    }

    @extend_schema(request=BidInputSerializer, responses={201: AuctionDetailSerializer})
    def post(self, request, pk: int):
        serializer = BidInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            bid = auction_services.bid_place(
                auction_id=pk,
                buyer=request.user,
                max_amount=serializer.validated_data["max_amount"],
                source=BidSource.API,
            )
        except auction_services.BidRejected as exc:
            code = status.HTTP_400_BAD_REQUEST if exc.code in BID_FORM_CODES else BID_STATUS[exc.kind]
            field = None if exc.field == "non_field_errors" else exc.field
            raise ApiError(exc.message, status=code, code=exc.code, param=field) from None
        # The bid was admitted, so the auction is visible to this buyer: no second visibility check.
        body = auction_detail_body(auction=auction_selectors.auction_get(auction_id=pk), user=request.user)
        body["bid"] = {
            "sequence": bid.sequence,
            "max_amount": serializer.fields["max_amount"].to_representation(bid.max_amount),
            "hash": bid.hash,
        }
        return Response(body, status=status.HTTP_201_CREATED)


def bid_log_body(*, auction: Auction, user) -> dict:
    """The log for someone allowed to read it (see auction_selectors.auction_can_read_log)."""
    published = auction.status == AuctionStatus.CLOSED or user.is_staff
    sale = getattr(auction, "sale", None) if auction.status == AuctionStatus.CLOSED else None
    return {
        "auction": auction.pk,
        "status": auction.status,
        "head": auction.log_head,
        "length": auction.bid_count,
        "sale_digest": sale.bid_log_digest if sale else None,
        "published": published,
        "entries": auction_selectors.bid_log_entries(auction=auction) if published else None,
    }


class BidLogApi(APIView):
    """The auction's hash-chained bid log, for its participants, its seller and staff.

    While the auction is open only the head digest and length are shown (the entries carry
    maxima); at close the entries are published and verify against the head."""

    @extend_schema(responses=BidLogSerializer)
    def get(self, request, pk: int):
        auction = _auction_or_404(pk)
        if not auction_selectors.auction_can_read_log(auction=auction, user=request.user):
            raise Http404
        return Response(bid_log_body(auction=auction, user=request.user))
