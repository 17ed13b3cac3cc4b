"""Autobid rules for integrators: CRUD, pause/resume, a rule's traces, and for one auction why each
of your rules did or did not bid (plus a dry run now). Buyers only; anyone else's rule is a 404.
Thin: auctions.services.autobid writes, auctions.selectors.autobid reads."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions import criteria
from auctions.api.serializers import usdc
from auctions.models import Auction, AutobidRule, AutobidTrace, AutobidTuning
from auctions.selectors import autobid as autobid_selectors
from auctions.services import autobid, autobid_tuning
from core.api.errors import ApiError
from core.api.fields import PatternField, StrictBooleanField, StrictCharField, StrictIntegerField
from core.api.money import field_errors
from leads.validation import US_STATES
from verticals.api.fields import VerticalSlugField

# ---------------------------------------------------------------- serializers

ZIP_PATTERN = r"^[0-9]{3}(?:[0-9]{2})?$"
ZIP_MESSAGE = "A 5-digit ZIP or a 3-digit ZIP3 prefix."
HH_MM = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"


class AutobidFieldFilterSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="A biddable, non-PII field key of the rule's vertical.")
    op = serializers.ChoiceField(
        choices=criteria.OP_SPELLINGS,
        help_text="=, ≠, in, not in, >, ≥, <, ≤, between, contains (or eq, ne, not_in, gt, "
        "gte, lt, lte; ==, !=, >=, <=). Stored and returned as the code: eq, ne, "
        "in, not_in, gt, gte, lt, lte, between, contains.",
    )
    value = serializers.JSONField(
        help_text="A value of the field's type; a list for in/not_in; [low, high] for between."
    )


_HOURS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["days", "start", "end"],
    "properties": {
        "days": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "integer", "minimum": 0, "maximum": 6},
            "description": "Weekdays, Monday = 0 … Sunday = 6.",
        },
        "start": {"type": "string", "pattern": HH_MM, "description": '"HH:MM", 24-hour, in your time zone.'},
        "end": {
            "type": "string",
            "pattern": HH_MM,
            "description": '"HH:MM", not the start; an end before the start runs past midnight.',
        },
    },
}


@extend_schema_field(
    {"oneOf": [_HOURS_SCHEMA, {"type": "object", "additionalProperties": False, "maxProperties": 0}], "nullable": True}
)
class HoursField(serializers.JSONField):
    """Day-parting ({} or null: always); checked by auctions.services.autobid.check_autobid_rule."""


@extend_schema_field(AutobidFieldFilterSerializer(many=True))
class FieldFiltersField(serializers.JSONField):
    """Field filters: a JSON list, each item checked by auctions.services.autobid.check_autobid_rule."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value is not None and not isinstance(value, list):
            raise serializers.ValidationError("A list of field filters (objects), or an empty list.")
        return value


class AutobidUsageTodaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="Today in your time zone.")
    spent = serializers.CharField(help_text="USDC committed today: the maxima of open bids, the price of won ones.")
    leads = serializers.IntegerField(help_text="Leads counted against today's cap (open bids and wins).")


class AutobidRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=autobid.NAME_MAX)
    vertical = VerticalSlugField(
        allow_null=True, required=False, help_text="Vertical slug (its sub-verticals included); null = every vertical."
    )
    states = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(US_STATES)),
        required=False,
        max_length=criteria.MAX_LIST,
        help_text="Two-letter US states; empty = all.",
    )
    zips_include = serializers.ListField(
        child=PatternField(ZIP_PATTERN, message=ZIP_MESSAGE),
        required=False,
        max_length=criteria.MAX_LIST,
        help_text="5-digit ZIPs or 3-digit ZIP3 prefixes; empty = all.",
    )
    zips_exclude = serializers.ListField(
        child=PatternField(ZIP_PATTERN, message=ZIP_MESSAGE),
        required=False,
        max_length=criteria.MAX_LIST,
        help_text="5-digit ZIPs or ZIP3 prefixes.",
    )
    field_filters = FieldFiltersField(
        required=False, help_text='[{"field", "op", "value"}, …] on the vertical\'s biddable fields.'
    )
    min_score = StrictIntegerField(required=False, allow_null=True, min_value=0, max_value=100)
    max_bid = usdc(positive=True, help_text="The proxy maximum bid on each matching lead, USDC.")
    daily_budget = usdc(positive=True, help_text="USDC per day in your time zone; must cover one max_bid.")
    daily_lead_cap = StrictIntegerField(min_value=1, max_value=autobid.MAX_INT)
    hours = HoursField(required=False, allow_null=True, help_text="Day-parting in your time zone; null or {} = always.")
    priority = StrictIntegerField(
        required=False, min_value=-autobid.MAX_PRIORITY, max_value=autobid.MAX_PRIORITY, help_text="Higher runs first."
    )
    paused = StrictBooleanField(required=False)
    target_margin = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        min_value=autobid.MIN_MARGIN,
        max_value=autobid.MAX_MARGIN,
        required=False,
        help_text="Share of a lead's value you bid: suggested max_bid = value per lead × target_margin (docs/autobid.md).",
    )
    auto_tune = StrictBooleanField(
        required=False, help_text="Let the daily auto-tune move max_bid to the suggestion within your bounds."
    )
    tune_min_bid = usdc(positive=True, required=False, allow_null=True, help_text="Auto-tune's lower bound, USDC.")
    tune_max_bid = usdc(positive=True, required=False, allow_null=True, help_text="Auto-tune's upper bound, USDC.")
    last_tuned_at = serializers.DateTimeField(read_only=True, allow_null=True)
    time_zone = serializers.SerializerMethodField(help_text="Your account's time zone (day-parting and days).")
    usage_today = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        errors = {name: ["Unknown field."] for name in data if name not in self.fields}
        errors.update({name: ["Read-only."] for name in data if name in self.fields and self.fields[name].read_only})
        if "time_zone" in errors:
            errors["time_zone"] = ["Read-only: rules use your account's time zone; change it on your account page."]
        if errors:
            raise ValidationError(errors)
        return super().to_internal_value(data)

    def get_time_zone(self, rule) -> str:
        request = self.context.get("request")
        return getattr(getattr(request, "user", None), "time_zone", "") or "UTC"

    @extend_schema_field(AutobidUsageTodaySerializer(allow_null=True))
    def get_usage_today(self, rule) -> dict | None:
        if not hasattr(rule, "usage_day"):
            return None
        return {"day": rule.usage_day.isoformat(), "spent": f"{rule.spent_today:.6f}", "leads": rule.leads_today}


class AutobidTraceSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    vertical = serializers.CharField(source="auction.vertical.slug", read_only=True)
    placed = serializers.BooleanField(read_only=True)
    max_amount = usdc(
        source="bid.max_amount", read_only=True, allow_null=True, help_text="The maximum the rule bid, if it bid."
    )
    reasons = serializers.SerializerMethodField(help_text="One line per check, then the outcome (and settlement).")

    class Meta:
        model = AutobidTrace
        fields = (
            "id",
            "rule",
            "rule_name",
            "auction",
            "vertical",
            "matched",
            "placed",
            "max_amount",
            "reasons",
            "budget_day",
            "settled_at",
            "created_at",
        )
        read_only_fields = fields

    def get_reasons(self, trace) -> list[str]:
        return autobid_selectors.reasons_for_buyer(trace.reasons)


class AutobidDryRunRowSerializer(serializers.Serializer):
    rule = serializers.IntegerField(source="rule.pk")
    rule_name = serializers.CharField(source="rule.name")
    paused = serializers.BooleanField(source="rule.paused")
    matched = serializers.BooleanField()
    would_bid = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())


class AuctionAutobidSerializer(serializers.Serializer):
    auction = serializers.IntegerField()
    status = serializers.CharField()
    traces = AutobidTraceSerializer(many=True, help_text="What your rules did when the auction opened.")
    dry_run = AutobidDryRunRowSerializer(
        many=True, help_text="What each of your rules would do now (nothing is placed)."
    )


# ---------------------------------------------------------------- views


class _BuyerOnly:
    required_role = "buyer"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.is_buyer:
            raise ApiError(
                "Only buyer accounts have autobid rules. Enable buying on your account page.",
                status=status.HTTP_403_FORBIDDEN,
                code="buyer_required",
            )


def _raise_field_errors(exc: DjangoValidationError):
    raise field_errors(exc) from None


def _rule_or_404(request, pk: int) -> AutobidRule:
    try:
        return autobid_selectors.autobid_rule_get_for_buyer(buyer=request.user, rule_id=pk)
    except AutobidRule.DoesNotExist:
        raise NotFound("No such autobid rule.") from None


class AutobidRuleListCreateApi(_BuyerOnly, generics.ListCreateAPIView):
    """GET: your autobid rules with today's usage (cursor-paginated, newest first). POST: create one."""

    serializer_class = AutobidRuleSerializer
    error_statuses = {"post": {404: "No such vertical."}}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AutobidRule.objects.none()
        return autobid_selectors.autobid_rule_list_for_buyer(buyer=self.request.user)

    def perform_create(self, serializer):
        try:
            rule = autobid.autobid_rule_create(buyer=self.request.user, **serializer.validated_data)
        except DjangoValidationError as exc:
            _raise_field_errors(exc)
        serializer.instance = autobid_selectors.autobid_rule_get_for_buyer(buyer=self.request.user, rule_id=rule.pk)


class AutobidRuleDetailApi(_BuyerOnly, generics.RetrieveUpdateDestroyAPIView):
    """GET, PATCH (any field, `paused` included) or DELETE one of your rules."""

    serializer_class = AutobidRuleSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AutobidRule.objects.none()
        return autobid_selectors.autobid_rule_list_for_buyer(buyer=self.request.user)

    def get_object(self):
        return _rule_or_404(self.request, self.kwargs["pk"])

    def perform_update(self, serializer):
        try:
            rule = autobid.autobid_rule_update(rule=serializer.instance, **serializer.validated_data)
        except DjangoValidationError as exc:
            _raise_field_errors(exc)
        serializer.instance = autobid_selectors.autobid_rule_get_for_buyer(buyer=self.request.user, rule_id=rule.pk)

    def perform_destroy(self, instance):
        autobid.autobid_rule_delete(rule=instance)


class AutobidRulePauseApi(_BuyerOnly, APIView):
    """Pause one of your rules: it bids on no auction that opens until resumed."""

    service = staticmethod(autobid.autobid_rule_pause)

    @extend_schema(request=None, responses=AutobidRuleSerializer)
    def post(self, request, pk: int):
        rule = type(self).service(rule=_rule_or_404(request, pk))
        return Response(AutobidRuleSerializer(rule, context={"request": request}).data)


class AutobidRuleResumeApi(AutobidRulePauseApi):
    """Resume one of your rules: it bids again on auctions that open from now on."""

    service = staticmethod(autobid.autobid_rule_resume)


class AutobidRuleTraceListApi(_BuyerOnly, generics.ListAPIView):
    """Why this rule did or did not bid, auction by auction, newest first (cursor-paginated)."""

    serializer_class = AutobidTraceSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AutobidTrace.objects.none()
        return autobid_selectors.autobid_trace_list_for_rule(rule=_rule_or_404(self.request, self.kwargs["pk"]))


class AuctionAutobidTraceApi(_BuyerOnly, APIView):
    """For one auction you can see: your rules' traces from when it opened, and a dry run of every
    rule of yours now (handy for rules made after the auction opened). Nothing is bid here."""

    @extend_schema(responses=AuctionAutobidSerializer)
    def get(self, request, pk: int):
        try:
            auction = autobid_selectors.access_auction_for_buyer(auction_id=pk, buyer=request.user)
        except Auction.DoesNotExist:
            raise NotFound("No such auction.") from None
        explained = autobid_selectors.autobid_explain_for_auction(auction=auction, buyer=request.user)
        body = {
            "auction": auction.pk,
            "status": auction.status,
            "traces": explained.traces,
            "dry_run": explained.dry_run,
        }
        return Response(AuctionAutobidSerializer(body, context={"request": request}).data, status=status.HTTP_200_OK)


class AutobidTuningSerializer(serializers.ModelSerializer):
    old_max_bid = usdc(read_only=True)
    new_max_bid = usdc(read_only=True)
    evidence = serializers.DictField(read_only=True, help_text="The evidence behind the change, as of created_at.")

    class Meta:
        model = AutobidTuning
        fields = ["id", "old_max_bid", "new_max_bid", "reason", "evidence", "created_at", "reverted_at"]
        read_only_fields = fields


class AutobidSuggestionSerializer(serializers.Serializer):
    rule = serializers.IntegerField()
    max_bid = usdc(read_only=True)
    auto_tune = serializers.BooleanField()
    evidence = serializers.DictField(
        help_text="outcomes, sold, revenue, value_per_lead, target_margin, suggested_max_bid (null under "
        "min_outcomes outcomes) and segments {state, score_band, source, hour}: [{key, outcomes, sold, revenue, "
        "raw_value, value, suggested_max_bid}] (docs/autobid.md)."
    )
    tunings = AutobidTuningSerializer(many=True, help_text="The last 20 auto-tune changes, newest first.")


class AutobidRuleSuggestionApi(_BuyerOnly, APIView):
    """The value per lead of this rule's purchases from your dispositions, by segment, the suggested
    maximum bid with the evidence behind it, and the auto-tune's changes."""

    @extend_schema(responses=AutobidSuggestionSerializer)
    def get(self, request, pk: int):
        rule = _rule_or_404(request, pk)
        body = {
            "rule": rule.pk,
            "max_bid": rule.max_bid,
            "auto_tune": rule.auto_tune,
            "evidence": autobid_tuning.autobid_rule_evidence(rule=rule, as_of=timezone.now()),
            "tunings": list(rule.tunings.order_by("-created_at", "-id")[:20]),
        }
        return Response(AutobidSuggestionSerializer(body).data)


class AutobidTuningRevertApi(_BuyerOnly, APIView):
    """Put the rule's maximum back to what it was before this auto-tune change (the latest one only)."""

    error_statuses = {"post": {409: "Already reverted, or not the latest change."}}

    @extend_schema(request=None, responses=AutobidTuningSerializer)
    def post(self, request, pk: int, tuning_id: int):
        rule = _rule_or_404(request, pk)
        try:
            tuning = autobid_tuning.autobid_tuning_revert(tuning_id=tuning_id, rule=rule)
        except AutobidTuning.DoesNotExist:
            raise NotFound("No such change of this rule.") from None
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), status=409, code="not_revertible") from None
        return Response(AutobidTuningSerializer(tuning).data)


urlpatterns = [
    path("autobid-rules/<int:pk>/suggestion/", AutobidRuleSuggestionApi.as_view(), name="api-autobid-rule-suggestion"),
    path(
        "autobid-rules/<int:pk>/tunings/<int:tuning_id>/revert/",
        AutobidTuningRevertApi.as_view(),
        name="api-autobid-tuning-revert",
    ),
    path("autobid-rules/", AutobidRuleListCreateApi.as_view(), name="api-autobid-rule-list"),
    path("autobid-rules/<int:pk>/", AutobidRuleDetailApi.as_view(), name="api-autobid-rule-detail"),
    path("autobid-rules/<int:pk>/pause/", AutobidRulePauseApi.as_view(), name="api-autobid-rule-pause"),
    path("autobid-rules/<int:pk>/resume/", AutobidRuleResumeApi.as_view(), name="api-autobid-rule-resume"),
    path("autobid-rules/<int:pk>/traces/", AutobidRuleTraceListApi.as_view(), name="api-autobid-rule-traces"),
    path("auctions/<int:pk>/autobid-trace/", AuctionAutobidTraceApi.as_view(), name="api-auction-autobid-trace"),
]
