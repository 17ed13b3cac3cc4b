"""The dashboards' numbers for integrators: the same figures as the pages (analytics.selectors),
as JSON. Amounts are strings with six decimals (USDC), rates strings with two (percent), counts
integers; a figure with nothing to divide by is null."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.formatting import csv_value
from analytics.periods import MAX_DAYS, PRESETS, period_parse, zone_of
from core.api.errors import ApiError
from core.api.serializers import QueryParamsSerializer

COUNT = selectors.COUNT


def _value(value, unit: str):
    if value is None:
        return None
    if unit == COUNT:
        return int(value)
    return csv_value(value, unit)


def _figure_fields(*, text: bool = False):
    units = ["count", "usdc", "percent", "ratio", "score"] + (["text"] if text else [])
    return {
        "key": serializers.CharField(),
        "label": serializers.CharField(),
        "unit": serializers.ChoiceField(choices=units, help_text="text: the row's label column."),
    }


DashboardSerializer = inline_serializer(
    "AnalyticsDashboard",
    {
        "role": serializers.CharField(help_text="seller, buyer or staff."),
        "period": inline_serializer(
            "AnalyticsPeriod",
            {
                "start": serializers.DateField(),
                "end": serializers.DateField(help_text="Inclusive."),
                "time_zone": serializers.CharField(help_text="Days are this zone's (UTC for staff)."),
                "previous_start": serializers.DateField(help_text="The comparison period: as long, just before."),
                "previous_end": serializers.DateField(),
            },
        ),
        "kpis": inline_serializer(
            "AnalyticsKpi",
            {
                **_figure_fields(),
                "value": serializers.JSONField(help_text="An integer (count), a decimal string, or null."),
                "previous": serializers.JSONField(help_text="The same figure over the previous period."),
                "change_percent": serializers.CharField(allow_null=True, help_text="Against the previous period."),
            },
            many=True,
        ),
        "series": serializers.DictField(
            child=serializers.ListField(child=serializers.JSONField(allow_null=True)),
            help_text="`days` (YYYY-MM-DD) and one list of values per figure key, a value per day.",
        ),
        "tables": inline_serializer(
            "AnalyticsTable",
            {
                "name": serializers.CharField(),
                "title": serializers.CharField(),
                "columns": inline_serializer("AnalyticsColumn", _figure_fields(text=True), many=True),
                "rows": serializers.ListField(
                    child=serializers.DictField(child=serializers.JSONField(allow_null=True)),
                    help_text="One object per row: `label` and `key`, then a value per column key.",
                ),
            },
            many=True,
        ),
    },
)


class PeriodQuerySerializer(QueryParamsSerializer):
    range = serializers.ChoiceField(
        choices=list(PRESETS), required=False, help_text="The last 7, 30 or 90 days (default 30d)."
    )
    start = serializers.DateField(
        required=False, input_formats=["iso-8601"], help_text="First day (YYYY-MM-DD), with `end`."
    )
    end = serializers.DateField(
        required=False, input_formats=["iso-8601"], help_text=f"Last day, inclusive; at most {MAX_DAYS} days."
    )


def dashboard_body(board) -> dict:
    previous = board.period.previous()
    tables = []
    for table in board.tables.values():
        columns = table.columns()
        tables.append(
            {
                "name": table.name,
                "title": table.title,
                "columns": [{"key": k, "label": label, "unit": unit} for k, label, unit in columns],
                "rows": [
                    {
                        "label": row["label"],
                        "key": row["key"],
                        **{k: _value(row.get(k), unit) for k, _, unit in columns[1:]},
                    }
                    for row in table.rows
                ],
            }
        )
    units = {}
    for table in board.tables.values():
        units.update({m.key: m.unit for m in table.measures})
    series = {"days": [day.isoformat() for day in board.series["days"]]}
    for key, values in board.series.items():
        if key != "days":
            series[key] = [_value(v, units.get(key, "percent")) for v in values]
    return {
        "role": board.role,
        "period": {
            "start": board.period.start,
            "end": board.period.end,
            "time_zone": str(board.period.zone),
            "previous_start": previous.start,
            "previous_end": previous.end,
        },
        "kpis": [
            {
                "key": k["measure"].key,
                "label": k["measure"].label,
                "unit": k["measure"].unit,
                "value": _value(k["value"], k["measure"].unit),
                "previous": _value(k["previous"], k["measure"].unit),
                "change_percent": None if k["change"] is None else csv_value(k["change"], "percent"),
            }
            for k in board.kpis
        ],
        "series": series,
        "tables": tables,
    }


class DashboardApi(APIView):
    role = ""

    @property
    def required_role(self) -> str:
        return self.role

    def get(self, request):
        allowed = {"seller": request.user.is_seller, "buyer": request.user.is_buyer, "staff": request.user.is_staff}
        if not allowed[self.role]:
            raise ApiError(
                f"Only {self.role} accounts have this dashboard.",
                status=status.HTTP_403_FORBIDDEN,
                code=f"{self.role}_required",
            )
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in query.validated_data.items()}
        zone = zone_of(request.user) if self.role != "staff" else zone_of(None)
        try:
            period = period_parse(params, zone=zone)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        board = selectors.dashboard_for(role=self.role, user=request.user, period=period)
        return Response(dashboard_body(board))


def _view(role: str, summary: str):
    """A view class of its own per role: its own `get`, so each operation has its own schema."""

    @extend_schema(
        summary=summary,
        operation_id=f"analytics_{role}",
        parameters=[PeriodQuerySerializer],
        responses={200: DashboardSerializer},
        tags=["analytics"],
    )
    def get(self, request):
        return DashboardApi.get(self, request)

    return type(f"{role.title()}DashboardApi", (DashboardApi,), {"role": role, "get": get}).as_view()


urlpatterns = [
    path(
        "analytics/seller/",
        _view("seller", "Your leads and what they earned, per day, vertical, source and campaign"),
        name="api-analytics-seller",
    ),
    path(
        "analytics/buyer/",
        _view("buyer", "Your spend, wins and return on spend, per day, vertical, state and rule"),
        name="api-analytics-buyer",
    ),
    path(
        "analytics/staff/",
        _view("staff", "The marketplace's funnel, GMV and take per vertical and UTC day (staff)"),
        name="api-analytics-staff",
    ),
]
