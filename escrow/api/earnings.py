"""A seller's earnings for integrators: every sale with its status and money (in escrow,
disputed, partly refunded, refunded, released), a page at a time, newest first; totals per day and
vertical; and the pending earnings (sales still in escrow, the expected payout of each release and
when it is due, with totals over all of them).
Thin: escrow.selectors.earnings and escrow.selectors.earnings_history do the reading."""

from datetime import timedelta

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import usdc
from core.api.errors import ApiError
from core.api.pagination import ValidatedCursorPagination, pagination_parameters
from core.api.serializers import QueryParamsSerializer
from escrow.choices import DisputeState, EarningStatus
from escrow.models import Settlement
from escrow.selectors import earnings as earnings_selectors
from escrow.selectors import earnings_history
from verticals.models import Vertical


class PendingSaleSerializer(serializers.Serializer):
    sale_id = serializers.IntegerField(read_only=True, help_text="Also the escrow deal id on chain.")
    lead_id = serializers.IntegerField(read_only=True)
    auction_id = serializers.IntegerField(read_only=True)
    vertical = serializers.CharField(source="vertical_name", read_only=True)
    sold_at = serializers.DateTimeField(read_only=True)
    price = usdc(read_only=True)
    refunded = usdc(
        read_only=True,
        help_text="A partial refund sent to the buyer (a dispute's outcome); the release splits the rest.",
    )
    bounties = usdc(read_only=True, help_text="Bounties earned by the sale, paid with the release.")
    platform_fee = usdc(read_only=True)
    vertical_royalty = usdc(read_only=True)
    expected_net = usdc(read_only=True, help_text="What the release pays you: price − refunded − fees + bounties.")
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
    total_refunded = usdc(read_only=True, help_text="Partial refunds sent.")
    total_bounties = usdc(read_only=True)
    total_fees = usdc(read_only=True, help_text="Platform fees and vertical royalties.")
    total_expected_net = usdc(read_only=True)
    next_release = serializers.DateTimeField(read_only=True, allow_null=True)
    results = PendingSaleSerializer(many=True, read_only=True, help_text="Soonest release first.")


class PendingEarningsPagination(ValidatedCursorPagination):
    """Keyset on (release_after, sale id): soonest release first, stable while sales are added."""

    ordering = ("release_after", "id")
    page_size = 50


class SellerOnlyApi(APIView):
    required_role = "seller"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.is_seller:
            raise ApiError(
                "Only seller accounts have earnings. Enable selling on your account page.",
                status=status.HTTP_403_FORBIDDEN,
                code="seller_required",
            )


class PendingEarningsApi(SellerOnlyApi):
    """Your money in escrow as a seller: each sold lead whose escrow will be released to you and is
    not yet, with the expected payout and release time (cursor-paginated), and totals over all of
    them. Sales settled in the ledger only (no release on chain will come) are not listed."""

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


# ---------------------------------------------------------------- every sale, and totals per day


DAY_HELP = "A day (YYYY-MM-DD) in your account's time zone; sales of that day are included."


class EarningsRangeSerializer(QueryParamsSerializer):
    """The query parameters both earnings lists take: a range of days and a vertical."""

    date_from = serializers.DateField(required=False, input_formats=["iso-8601"], help_text=DAY_HELP)
    date_to = serializers.DateField(required=False, input_formats=["iso-8601"], help_text=DAY_HELP)
    vertical = serializers.SlugField(required=False, max_length=80, help_text="A vertical's slug.")

    def validate_vertical(self, value: str) -> str:
        if not Vertical.objects.filter(slug=value).exists():
            raise serializers.ValidationError("No such vertical.", code="resource_missing")
        return value

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end:
            if start > end:
                raise serializers.ValidationError({"date_from": ["On or before date_to."]}, code="invalid")
            if (end - start).days >= earnings_history.MAX_RANGE_DAYS:
                raise serializers.ValidationError(
                    {"date_to": [f"At most {earnings_history.MAX_RANGE_DAYS} days after date_from."]}, code="invalid"
                )
        return attrs


class EarningsFilterSerializer(EarningsRangeSerializer):
    status = serializers.ChoiceField(
        choices=EarningStatus.choices, required=False, help_text="Only sales in this status."
    )


class EarningSaleSerializer(serializers.Serializer):
    sale_id = serializers.IntegerField(read_only=True, help_text="Also the escrow deal id on chain.")
    lead_id = serializers.IntegerField(read_only=True)
    auction_id = serializers.IntegerField(read_only=True)
    vertical = serializers.CharField(source="vertical_slug", read_only=True)
    vertical_name = serializers.CharField(read_only=True)
    sold_at = serializers.DateTimeField(read_only=True)
    status = serializers.ChoiceField(choices=EarningStatus.choices, read_only=True)
    price = usdc(read_only=True)
    refunded = usdc(read_only=True, help_text="Back to the buyer: the price (refunded), part of it, or 0.")
    fees = usdc(read_only=True, help_text="Platform fee and vertical royalty (0 when refunded).")
    bounties = usdc(read_only=True, help_text="Bounties the sale earned, paid with the release (0 when refunded).")
    net = usdc(read_only=True, help_text="Yours: paid when `paid`, else expected at the release; 0 when refunded.")
    paid = serializers.BooleanField(read_only=True, help_text="The release is confirmed: `net` is in your balance.")
    release_after = serializers.DateTimeField(read_only=True, help_text="The end of the dispute window.")
    released_at = serializers.DateTimeField(read_only=True, allow_null=True)
    refunded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    settlement_state = serializers.ChoiceField(choices=Settlement.State.choices, read_only=True)
    dispute_id = serializers.IntegerField(read_only=True, allow_null=True)
    dispute_state = serializers.ChoiceField(
        choices=DisputeState.choices, read_only=True, allow_null=True, help_text="null when there is no dispute."
    )
    dispute_respond_by = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Your deadline to answer a dispute waiting for you."
    )


class EarningSalePageSerializer(serializers.Serializer):
    next = serializers.URLField(read_only=True, allow_null=True, help_text="The next page, or null on the last.")
    previous = serializers.URLField(read_only=True, allow_null=True, help_text="The previous page, or null.")
    results = EarningSaleSerializer(many=True, read_only=True, help_text="Newest sale first.")


class EarningsPagination(ValidatedCursorPagination):
    """Keyset on (sale time, sale id): newest first, stable while sales are added."""

    ordering = ("-created_at", "-id")
    page_size = 50


class EarningTotalsSerializer(serializers.Serializer):
    sales = serializers.IntegerField(read_only=True)
    gross = usdc(read_only=True, help_text="The prices of the sales.")
    refunded = usdc(read_only=True, help_text="Back to buyers (full and partial refunds).")
    fees = usdc(read_only=True, help_text="Platform fees and vertical royalties.")
    bounties = usdc(read_only=True)
    released = usdc(read_only=True, help_text="Net paid to you.")
    in_escrow = usdc(read_only=True, help_text="Net expected at the coming releases (no open dispute).")
    disputed = usdc(read_only=True, help_text="Net expected of the sales an open dispute holds.")


class EarningDaySerializer(EarningTotalsSerializer):
    day = serializers.DateField(read_only=True, help_text="The sale's day in your time zone.")
    vertical = serializers.CharField(source="vertical_slug", read_only=True)
    vertical_name = serializers.CharField(read_only=True)


class EarningSummarySerializer(serializers.Serializer):
    date_from = serializers.DateField(read_only=True)
    date_to = serializers.DateField(read_only=True)
    time_zone = serializers.CharField(read_only=True, help_text="Your account's: the days are its days.")
    rows = EarningDaySerializer(many=True, read_only=True, help_text="Newest day first, then by vertical.")
    totals = EarningTotalsSerializer(read_only=True, help_text="The sums of the rows.")


class EarningsApi(SellerOnlyApi):
    """Every sale of yours settled on chain with its status — in escrow (until `release_after`),
    disputed (an open dispute holds the release), partly refunded, refunded, released — and its
    money, newest first (cursor-paginated). Filter by `status`, `vertical` and the sale's day."""

    @extend_schema(
        parameters=[EarningsFilterSerializer, *pagination_parameters(EarningsPagination)],
        responses={200: EarningSalePageSerializer},
    )
    def get(self, request):
        filters = EarningsFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = EarningsPagination()
        rows = paginator.paginate_queryset(
            earnings_history.earnings_queryset(seller=request.user, **filters.validated_data), request, view=self
        )
        body = {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": earnings_history.earning_sales(rows),
        }
        return Response(EarningSalePageSerializer(body).data)


class EarningSummaryApi(SellerOnlyApi):
    """Your totals per day (in your account's time zone) and vertical, and over the range: sales,
    gross, refunded, fees, bounties, released, still in escrow and disputed. Default range: the last
    30 days; at most 366 days."""

    @extend_schema(parameters=[EarningsRangeSerializer], responses={200: EarningSummarySerializer})
    def get(self, request):
        filters = EarningsRangeSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        start, end = data.get("date_from"), data.get("date_to")
        if (start is None) != (end is None):  # one end given: the other 30 days away
            span = timedelta(days=earnings_history.SUMMARY_DAYS - 1)
            start, end = start or end - span, end or start + span
        summary = earnings_history.earnings_summary(
            seller=request.user, date_from=start, date_to=end, vertical=data.get("vertical")
        )
        return Response(EarningSummarySerializer(summary).data)


urlpatterns = [
    path("earnings/", EarningsApi.as_view(), name="api-earnings"),
    path("earnings/summary/", EarningSummaryApi.as_view(), name="api-earnings-summary"),
    path("earnings/pending/", PendingEarningsApi.as_view(), name="api-earnings-pending"),
]
