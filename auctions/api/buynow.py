"""Buy Now for integrators: open listings and the purchase. Thin: auctions.buynow does the work."""

from decimal import Decimal, InvalidOperation

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions import buynow
from auctions.api.serializers import usdc
from auctions.api.views import _int_param
from auctions.models import BuyNowListing, Sale
from leads.validation import US_STATES


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


class BuyNowSaleSerializer(serializers.ModelSerializer):
    price = usdc(read_only=True)

    class Meta:
        model = Sale
        fields = ("id", "auction", "lead", "buyer", "seller", "price", "created_at")
        read_only_fields = fields


LIST_PARAMETERS = [
    OpenApiParameter("vertical", str, description="Vertical slug."),
    OpenApiParameter("state", str, description="Two-letter US state of the lead."),
    OpenApiParameter("min_score", int, description="Minimum quality score (0–100)."),
    OpenApiParameter("max_price", str, description="Maximum price in USDC, e.g. \"15.00\"."),
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
        params = self.request.query_params
        state = (params.get("state") or "").strip().upper()
        if state and state not in US_STATES:
            raise ValidationError({"state": ["A two-letter US state code."]})
        max_price = None
        if params.get("max_price"):
            try:
                max_price = Decimal(params["max_price"])
            except InvalidOperation:
                raise ValidationError({"max_price": ["A USDC amount such as \"15.00\"."]}) from None
            if not max_price.is_finite() or max_price < 0 or max_price >= Decimal("1e12"):
                raise ValidationError({"max_price": ["A non-negative USDC amount below 1,000,000,000,000."]})
        return buynow.buy_now_list_open(user=self.request.user, vertical=(params.get("vertical") or "")[:80], state=state,
                                        min_score=_int_param(self.request, "min_score", low=0, high=100),
                                        max_price=max_price)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(buynow.buy_now_previews(listings=page))


PURCHASE_STATUS = {buynow.BuyNowRefused.NOT_FOUND: status.HTTP_404_NOT_FOUND,
                   buynow.BuyNowRefused.CLOSED: status.HTTP_409_CONFLICT,
                   buynow.BuyNowRefused.INVALID: status.HTTP_400_BAD_REQUEST}


class BuyNowPurchaseApi(APIView):
    """Buy a listed lead at its price, from your available balance. First buyer wins. A listing you
    may not see (an exclusive vertical's) is a 404, as a missing one."""

    @extend_schema(request=None, responses={
        201: BuyNowSaleSerializer,
        (400, "application/json"): inline_serializer("BuyNowRefused", {"detail": serializers.CharField(),
                                                                       "code": serializers.CharField()})})
    def post(self, request, pk: int):
        try:
            sale = buynow.buy_now_purchase(listing_id=pk, buyer=request.user)
        except buynow.BuyNowRefused as exc:
            return Response({"detail": exc.message, "code": exc.code}, status=PURCHASE_STATUS[exc.kind])
        return Response(BuyNowSaleSerializer(sale).data, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("buy-now/", BuyNowListApi.as_view(), name="api-buy-now-list"),
    path("buy-now/<int:pk>/purchase/", BuyNowPurchaseApi.as_view(), name="api-buy-now-purchase"),
]
