"""Buy Now for integrators: open listings and the purchase. Thin: auctions.services.buynow does the work."""

import re
from decimal import Decimal

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import usdc
from auctions.api.views import (
    MIN_SCORE_PARAMETER,
    STATE_PARAMETER,
    VERTICAL_PARAMETER,
    _int_param,
    state_param,
    vertical_param,
)
from auctions.models import BuyNowListing, Sale
from auctions.services import buynow
from core.api.errors import ApiError
from core.api.money import IDEMPOTENCY_HEADER, idempotency_key, idempotency_parameter, usdc_pattern
from leads.api.serializers import SellerReputationSerializer

REPLAY_HEADERS = {"Idempotent-Replay": "true"}
MAX_PRICE_PATTERN = usdc_pattern(positive=False, whole_digits=12, places=6)


class BuyNowListingSerializer(serializers.Serializer):
    """A listing with a non-PII preview of its lead (as built by buynow.buy_now_previews)."""

    listing_id = serializers.IntegerField()
    auction_id = serializers.IntegerField()
    lead_id = serializers.IntegerField()
    vertical = serializers.CharField()
    state = serializers.CharField()
    zip3 = serializers.CharField()
    quality_score = serializers.IntegerField(allow_null=True)
    fields = serializers.DictField(help_text="The vertical's biddable (non-PII) fields.")
    price = serializers.CharField(help_text="USDC, 6 decimals.")
    expires_at = serializers.DateTimeField()
    seller_reputation = SellerReputationSerializer(help_text="The seller's reputation in this vertical.")
    returned = serializers.BooleanField(
        help_text="A returned lead: an earlier buyer disputed it and was refunded in full (docs/disputes.md)."
    )


class BuyNowSaleSerializer(serializers.ModelSerializer):
    price = usdc(read_only=True)

    class Meta:
        model = Sale
        fields = ("id", "auction", "lead", "buyer", "seller", "price", "created_at")
        read_only_fields = fields


LIST_PARAMETERS = [
    VERTICAL_PARAMETER,
    STATE_PARAMETER,
    MIN_SCORE_PARAMETER,
    OpenApiParameter(
        "max_price",
        {"type": "string", "format": "decimal", "pattern": MAX_PRICE_PATTERN},
        description='Maximum price in USDC, e.g. "15.00".',
    ),
]


class BuyNowListApi(generics.ListAPIView):
    """Open buy-now listings, newest first (cursor-paginated); an exclusive vertical's only for its
    listed buyers, its sellers and staff."""

    serializer_class = BuyNowListingSerializer

    @extend_schema(parameters=LIST_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return BuyNowListing.objects.none()
        raw_price = self.request.query_params.get("max_price")
        if raw_price is not None and not re.fullmatch(MAX_PRICE_PATTERN, raw_price):
            raise ValidationError(
                {"max_price": ['A USDC amount below 1,000,000,000,000 such as "15.00" (at most 6 decimal places).']}
            )
        return buynow.buy_now_list_open(
            user=self.request.user,
            vertical=vertical_param(self.request),
            state=state_param(self.request),
            min_score=_int_param(self.request, "min_score", low=0, high=100),
            max_price=None if raw_price is None else Decimal(raw_price),
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(buynow.buy_now_previews(listings=page))


# Refusals: the listing is gone (404), sold or expired (409), not for you (403: not a buyer, your own
# lead, an exclusive vertical), or money you cannot spend now (409, a state conflict: more than your
# available balance, or funds whose exit from the vault unlocks before the sale could be paid).
PURCHASE_STATUS = {
    buynow.BuyNowRefused.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    buynow.BuyNowRefused.CLOSED: status.HTTP_409_CONFLICT,
    buynow.BuyNowRefused.INVALID: status.HTTP_403_FORBIDDEN,
}
PURCHASE_CODE_STATUS = {"insufficient_funds": status.HTTP_409_CONFLICT, "funds_leaving": status.HTTP_409_CONFLICT}


class BuyNowPurchaseApi(APIView):
    """Buy a listed lead at its price, from your available balance. First buyer wins. A listing you
    may not see (an exclusive vertical's) is a 404, as a missing one.

    Needs an Idempotency-Key: a retry with the same key (say, after a timeout) answers with the
    same purchase (201, header Idempotent-Replay: true) instead of `already_sold`; the same key for
    another listing is a 422."""

    error_statuses = {
        "post": {
            403: "Only buyers buy, never their own leads; exclusive verticals sell only to their listed buyers.",
            409: "Already sold or expired (`already_sold`, `expired`), more than your available balance "
            "(`insufficient_funds`), or your exit from the vault unlocks before the sale could be paid "
            "(`funds_leaving`).",
        }
    }

    @extend_schema(request=None, parameters=[idempotency_parameter()], responses={201: BuyNowSaleSerializer})
    def post(self, request, pk: int):
        key = idempotency_key(request)
        try:
            sale = buynow.buy_now_purchase_once(listing_id=pk, buyer=request.user, idempotency_key=key)
        except buynow.BuyNowRefused as exc:
            raise ApiError(
                exc.message, status=PURCHASE_CODE_STATUS.get(exc.code, PURCHASE_STATUS[exc.kind]), code=exc.code
            ) from None
        except buynow.BuyNowKeyReused as exc:
            raise ApiError(
                str(exc),
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                code="idempotency_key_reused",
                param=IDEMPOTENCY_HEADER,
            ) from None
        return Response(
            BuyNowSaleSerializer(sale).data,
            status=status.HTTP_201_CREATED,
            headers=REPLAY_HEADERS if sale.replayed else None,
        )


urlpatterns = [
    path("buy-now/", BuyNowListApi.as_view(), name="api-buy-now-list"),
    path("buy-now/<int:pk>/purchase/", BuyNowPurchaseApi.as_view(), name="api-buy-now-purchase"),
]
