"""A seller's pending earnings for integrators: sold leads still in escrow, the expected payout of
each release (price − platform fee − vertical royalty + bounties) and when it is due, a page at a
time, with totals over all of them.
Thin: escrow.selectors.earnings does the reading."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import usdc
from core.api.errors import ApiError
from core.api.pagination import ValidatedCursorPagination, pagination_parameters
from escrow.models import Settlement
from escrow.selectors import earnings as earnings_selectors


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
    settlement_state = serializers.ChoiceField(
        source="state",
        choices=Settlement.State.choices,
        read_only=True,
        help_text="pending while the sale is not settled on chain yet.",
    )


class PendingEarningsSerializer(serializers.Serializer):
    next = serializers.URLField(read_only=True, allow_null=True, help_text="The next page, or null on the last.")
    previous = serializers.URLField(read_only=True, allow_null=True, help_text="The previous page, or null.")
    count = serializers.IntegerField(read_only=True, help_text="Sales still in escrow (all pages).")
    total_price = usdc(read_only=True, help_text="Over all pending sales, not only this page (as every total).")
    total_bounties = usdc(read_only=True)
    total_fees = usdc(read_only=True, help_text="Platform fees and vertical royalties.")
    total_expected_net = usdc(read_only=True)
    next_release = serializers.DateTimeField(read_only=True, allow_null=True)
    results = PendingSaleSerializer(many=True, read_only=True, help_text="Soonest release first.")


class PendingEarningsPagination(ValidatedCursorPagination):
    """Keyset on (release_after, sale id): soonest release first, stable while sales are added."""

    ordering = ("release_after", "id")
    page_size = 50


class PendingEarningsApi(APIView):
    """Your money in escrow as a seller: each sold lead whose escrow will be released to you and is
    not yet, with the expected payout and release time (cursor-paginated), and totals over all of
    them. Sales settled in the ledger only (no release on chain will come) are not listed."""

    required_role = "seller"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.is_seller:
            raise ApiError(
                "Only seller accounts have earnings. Enable selling on your account page.",
                status=status.HTTP_403_FORBIDDEN,
                code="seller_required",
            )

    @extend_schema(
        parameters=pagination_parameters(PendingEarningsPagination), responses={200: PendingEarningsSerializer}
    )
    def get(self, request):
        paginator = PendingEarningsPagination()
        rows = paginator.paginate_queryset(
            earnings_selectors.earnings_pending_queryset(seller=request.user), request, view=self
        )
        totals = earnings_selectors.earnings_pending_totals(seller=request.user)
        body = {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            **vars(totals),
            "results": earnings_selectors.pending_sales(rows),
        }
        return Response(PendingEarningsSerializer(body).data)


urlpatterns = [
    path("earnings/pending/", PendingEarningsApi.as_view(), name="api-earnings-pending"),
]
