"""Admin for asks, auctions, bids, sales and buy-now listings. Money and bids change only through
services: auctions, bids, sales and listings are read-only here; the actions close overdue auctions
and expire overdue buy-now listings."""

from django import forms
from django.contrib import admin
from django.utils import timezone

from auctions.choices import AuctionStatus
from auctions.models import (
    Ask,
    Auction,
    AuctionBidder,
    AutobidRule,
    AutobidTrace,
    AutobidUsage,
    Bid,
    BuyNowListing,
    Sale,
)
from auctions.services import auctions as auction_services
from auctions.services import autobid, buynow
from core.admin import ReadOnlyAdminMixin, ServiceCheckedModelForm


class _ReadOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class AskAdminForm(forms.ModelForm):
    """The service's checks (states, prices, one active ask per state set) apply here too."""

    class Meta:
        model = Ask
        fields = "__all__"  # noqa: DJ007 - staff edit every field; the service's checks run in _post_clean

    def _post_clean(self):
        super()._post_clean()
        if self.instance.seller_id is None or self.instance.vertical_id is None:
            return
        try:
            auction_services.check_ask(ask=self.instance)
        except auction_services.AskInvalid as exc:
            for name, errors in exc.errors.items():
                for error in errors:
                    self.add_error(name if name in self.fields else None, error)


@admin.register(Ask)
class AskAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "seller",
        "vertical",
        "states",
        "reserve_price",
        "buy_now_price",
        "buy_now_multiplier",
        "duration_seconds",
        "auto_list",
        "active",
        "updated_at",
    )
    list_filter = ("active", "auto_list", ("vertical", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "seller__email")
    raw_id_fields = ("seller",)
    list_select_related = ("seller", "vertical")

    form = AskAdminForm


class AuctionBidderInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AuctionBidder
    extra = 0
    fields = ("buyer", "bidder_ref", "max_amount", "held_amount", "max_sequence", "released_at")
    readonly_fields = fields
    ordering = ("-max_amount", "max_sequence")
    can_delete = False


@admin.register(Auction)
class AuctionAdmin(_ReadOnly):
    list_display = (
        "id",
        "lead",
        "vertical",
        "status",
        "result",
        "reserve_price",
        "price",
        "bid_count",
        "deadline",
        "extensions",
        "closed_at",
    )
    list_filter = ("status", "result", ("vertical", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "=lead__id")
    list_select_related = ("lead", "vertical")
    date_hierarchy = "opened_at"
    inlines = [AuctionBidderInline]
    actions = ["close_overdue"]

    @admin.action(description="Close selected auctions that are past their deadline")
    def close_overdue(self, request, queryset):
        now, closed = timezone.now(), 0
        for auction_id in queryset.filter(status=AuctionStatus.OPEN, deadline__lte=now).values_list("pk", flat=True):
            auction = auction_services.auction_close(auction_id=auction_id, now=now)
            closed += auction is not None and auction.status == AuctionStatus.CLOSED
        self.message_user(request, f"Closed {closed} auction(s).")


@admin.register(Bid)
class BidAdmin(_ReadOnly):
    list_display = ("id", "auction", "sequence", "buyer", "bidder_ref", "max_amount", "price", "source", "created_at")
    list_filter = ("source",)
    search_fields = ("=auction__id", "bidder_ref", "hash")
    list_select_related = ("buyer",)


@admin.register(Sale)
class SaleAdmin(_ReadOnly):
    list_display = ("id", "auction", "lead", "buyer", "seller", "price", "bid_log_digest", "created_at")
    search_fields = ("=id", "=auction__id", "=lead__id", "bid_log_digest")
    list_select_related = ("buyer", "seller")


@admin.register(BuyNowListing)
class BuyNowListingAdmin(_ReadOnly):
    list_display = ("id", "lead", "auction", "seller", "price", "status", "opens_at", "expires_at", "buyer", "sold_at")
    list_filter = ("status",)
    search_fields = ("=id", "=lead__id", "=auction__id", "seller__email", "buyer__email")
    list_select_related = ("lead", "auction", "seller", "buyer")
    date_hierarchy = "opens_at"
    actions = ["expire_overdue"]

    @admin.action(description="Expire selected buy-now listings that are past their expiry")
    def expire_overdue(self, request, queryset):
        now = timezone.now()
        expired = sum(buynow.buy_now_expire(listing_id=pk, now=now) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Expired {expired} listing(s).")


class AutobidUsageInline(admin.TabularInline):
    """The rule's days, newest first: what is committed (open maxima, won prices) and how many leads."""

    model = AutobidUsage
    extra = 0
    fields = ("day", "spent", "leads")
    readonly_fields = fields
    ordering = ("-day",)
    can_delete = False
    max_num = 0

    def has_add_permission(self, request, obj=None):
        return False


class AutobidRuleAdminForm(ServiceCheckedModelForm):
    """The service's checks apply here too (auctions.services.autobid.check_autobid_rule: field errors on the form)."""

    class Meta:
        model = AutobidRule
        fields = "__all__"  # noqa: DJ007 - staff edit every field; the service's checks run in _post_clean

    def service_check(self, instance) -> None:
        autobid.check_autobid_rule(rule=instance)


@admin.register(AutobidRule)
class AutobidRuleAdmin(admin.ModelAdmin):
    form = AutobidRuleAdminForm

    list_display = (
        "name",
        "buyer",
        "vertical",
        "priority",
        "max_bid",
        "daily_budget",
        "daily_lead_cap",
        "paused",
        "created_at",
    )
    list_filter = ("paused", ("vertical", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "name", "buyer__email")
    list_select_related = ("buyer", "vertical")
    raw_id_fields = ("buyer",)
    inlines = [AutobidUsageInline]
    actions = ["pause_rules", "resume_rules"]

    @admin.action(description="Pause selected rules")
    def pause_rules(self, request, queryset):
        rules = list(queryset)
        for rule in rules:
            autobid.autobid_rule_pause(rule=rule)
        self.message_user(request, f"Paused {len(rules)} rule(s).")

    @admin.action(description="Resume selected rules")
    def resume_rules(self, request, queryset):
        rules = list(queryset)
        for rule in rules:
            autobid.autobid_rule_resume(rule=rule)
        self.message_user(request, f"Resumed {len(rules)} rule(s).")


@admin.register(AutobidUsage)
class AutobidUsageAdmin(admin.ModelAdmin):
    list_display = ("rule", "day", "spent", "leads")
    list_select_related = ("rule",)
    search_fields = ("=rule__id", "rule__name", "rule__buyer__email")
    date_hierarchy = "day"
    readonly_fields = ("rule", "day", "spent", "leads")

    def has_add_permission(self, request):
        return False


@admin.register(AutobidTrace)
class AutobidTraceAdmin(admin.ModelAdmin):
    list_display = ("rule", "auction", "matched", "bid", "budget_day", "settled_at", "created_at")
    list_filter = ("matched", ("settled_at", admin.EmptyFieldListFilter))
    search_fields = ("=auction__id", "=rule__id", "rule__name")
    list_select_related = ("rule", "auction", "bid")
    readonly_fields = ("rule", "auction", "matched", "bid", "reasons", "budget_day", "settled_at", "created_at")

    def has_add_permission(self, request):
        return False
