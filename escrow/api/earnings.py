"""A seller's pending earnings for integrators: sold leads still in escrow, the expected payout of
each release (price − platform fee − vertical royalty + bounties) and when it is due, with totals.
Thin: escrow.selectors_earnings does the reading."""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import usdc
from escrow import selectors_earnings
from escrow.models import Settlement

LIMIT = 100


class PendingSaleSerializer(serializers.Serializer):
    sale_id = serializers.IntegerField(read_only=True, help_text="Also the escrow deal id on chain.")
    lead_id = serializers.IntegerField(read_only=True)
    auction_id = serializers.IntegerField(read_only=True)
    vertical = serializers.CharField(source="vertical_name", read_only=True)
    sold_at = serializers.DateTimeField(read_only=True)
    price = usdc(read_only=True)
    bounties = usdc(read_only=True, help_text="Bounties earned by the sale, paid with the release.")
    platform_fee = usdc(read_only=True)
    vertical_royalty = usdc(read_only=True)
    expected_net = usdc(read_only=True, help_text="What the release pays you: price − fees + bounties.")
    release_after = serializers.DateTimeField(read_only=True, help_text="The end of the dispute window.")
    settlement_state = serializers.ChoiceField(source="state", choices=Settlement.State.choices, read_only=True,
                                               help_text="pending while the sale is not settled on chain yet.")


class PendingEarningsSerializer(serializers.Serializer):
    count = serializers.IntegerField(read_only=True, help_text="Sales still in escrow.")
    total_price = usdc(read_only=True)
    total_bounties = usdc(read_only=True)
    total_fees = usdc(read_only=True, help_text="Platform fees and vertical royalties.")
    total_expected_net = usdc(read_only=True)
    next_release = serializers.DateTimeField(read_only=True, allow_null=True)
    results = PendingSaleSerializer(source="sales", many=True, read_only=True,
                                    help_text=f"Soonest release first, at most {LIMIT}.")


class PendingEarningsApi(APIView):
    """Your money in escrow as a seller: each sold lead not released yet, with the expected payout
    and release time, and totals over all of them."""

    @extend_schema(responses={200: PendingEarningsSerializer,
                              403: OpenApiResponse(description="Not a seller account.")})
    def get(self, request):
        if not request.user.is_seller:
            raise PermissionDenied("Only seller accounts have earnings. Enable selling on your account page.")
        earnings = selectors_earnings.earnings_pending_for_seller(seller=request.user, limit=LIMIT)
        return Response(PendingEarningsSerializer(earnings).data)


urlpatterns = [
    path("earnings/pending/", PendingEarningsApi.as_view(), name="api-earnings-pending"),
]
