"""Admin for bounties. Money moves only through auctions.services.bounties: bounties are created (and funded)
by their buyers, never here; staff may change criteria, pause or resume (bounty_update) and give
an unspent pool back to its buyer (bounty_withdraw, which closes the bounty). Awards are read-only."""

import uuid

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from auctions.choices import BountyStatus
from auctions.models import Bounty, BountyAward
from auctions.selectors import bounties as bounty_selectors
from auctions.services import bounties
from core.admin import ReadOnlyAdminMixin, ServiceCheckedModelForm

EDITABLE = ("name", "min_score", "states", "field_filters", "max_lead_age_hours", "amount_per_lead", "status")


class BountyAdminForm(ServiceCheckedModelForm):
    """The service's checks apply here too (bounties.check_bounty); closing is the withdraw
    action's, not a status edit."""

    status = forms.ChoiceField(choices=[(BountyStatus.ACTIVE, "Active"), (BountyStatus.PAUSED, "Paused")])

    class Meta:
        model = Bounty
        fields = EDITABLE

    def clean_states(self):
        return bounties.states_normalized(self.cleaned_data.get("states") or [])

    def service_check(self, instance) -> None:
        bounties.check_bounty(bounty=instance)


class BountyAwardInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BountyAward
    extra = 0
    fields = ("sale", "amount", "ledger_transaction", "created_at")
    readonly_fields = fields
    can_delete = False
    ordering = ("-created_at", "-id")


@admin.register(Bounty)
class BountyAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "buyer", "vertical", "amount_per_lead", "pool", "paid", "status", "created_at")
    list_filter = ("status", ("vertical", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=id", "name", "buyer__email")
    list_select_related = ("buyer", "vertical")
    readonly_fields = ("buyer", "vertical", "pool", "paid", "created_at", "closed_at")
    form = BountyAdminForm
    inlines = [BountyAwardInline]
    actions = ["pause", "resume", "withdraw_and_close"]

    def get_queryset(self, request):
        return bounty_selectors.bounty_with_totals(super().get_queryset(request))

    @admin.display(description="Pool (USDC)", ordering="pool_balance")
    def pool(self, obj):
        return obj.pool_balance

    @admin.display(description="Paid (USDC)", ordering="paid_total")
    def paid(self, obj):
        return obj.paid_total

    def has_add_permission(self, request):
        return False  # creating a bounty funds it from the buyer's balance: only the buyer does that

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == BountyStatus.CLOSED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE}
        if changes:
            bounties.bounty_update(bounty=obj, **changes)

    def _update_each(self, request, queryset, status: str) -> int:
        done = 0
        for bounty in queryset.exclude(status=BountyStatus.CLOSED).exclude(status=status):
            try:
                bounties.bounty_update(bounty=bounty, status=status)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"Bounty {bounty.pk}: {'; '.join(exc.messages)}", level="error")
        return done

    @admin.action(description="Pause selected bounties")
    def pause(self, request, queryset):
        self.message_user(request, f"Paused {self._update_each(request, queryset, BountyStatus.PAUSED)} bounty(ies).")

    @admin.action(description="Resume selected bounties")
    def resume(self, request, queryset):
        self.message_user(request, f"Resumed {self._update_each(request, queryset, BountyStatus.ACTIVE)} bounty(ies).")

    @admin.action(description="Give the unspent pool back to the buyer and close")
    def withdraw_and_close(self, request, queryset):
        closed = 0
        for bounty in queryset.exclude(status=BountyStatus.CLOSED):
            bounties.bounty_withdraw(bounty=bounty, idempotency_key=f"admin-{uuid.uuid4().hex}")
            closed += 1
        self.message_user(request, f"Closed {closed} bounty(ies); their pools went back to the buyers.")


@admin.register(BountyAward)
class BountyAwardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "bounty", "sale", "amount", "created_at")
    search_fields = ("=bounty__id", "=sale__id")
    list_select_related = ("bounty", "sale")
    date_hierarchy = "created_at"
    readonly_fields = ("bounty", "sale", "amount", "ledger_transaction", "created_at")
