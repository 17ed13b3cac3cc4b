"""The buy-now page's query parameters as one django-filter FilterSet (as leads.filters does for the
seller's lead table): the form fields check each parameter and say what is wrong in words, the
filters narrow auctions.services.buynow.buy_now_list_open's queryset.

vertical: a vertical the buyer may watch (verticals.selectors.vertical_watchable_q); a parent
vertical includes its sub-verticals. state: a two-letter US state, any case. min_score: a whole
number 0-100. max_price: USDC, up to 6 decimal places. page_size: how many listings a page shows
(the keyset paging applies it, auctions.selectors.pages.buy_now_page_for_buyer).
"""

from decimal import Decimal

import django_filters
from django import forms
from django_filters.fields import ChoiceField

from auctions.models import BuyNowListing
from leads.validation import US_STATES

BUY_NOW_PAGE_SIZES = (10, 25, 50, 100)
BUY_NOW_PAGE_SIZE = 25


class _StateField(ChoiceField):
    def to_python(self, value) -> str:
        return super().to_python(value).strip().upper()


class _StateFilter(django_filters.ChoiceFilter):
    field_class = _StateField


class _ScoreFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class BuyNowFilter(django_filters.FilterSet):
    vertical = django_filters.ChoiceFilter(
        method="filter_vertical",
        empty_label="All verticals",
        error_messages={"invalid_choice": "There is no vertical %(value)s to buy from: pick one from the list."},
    )
    state = _StateFilter(
        field_name="lead__state",
        choices=[(code, code) for code in sorted(US_STATES)],
        empty_label="Any state",
        error_messages={"invalid_choice": "Use a two-letter US state such as CA (not %(value)s)."},
    )
    min_score = _ScoreFilter(
        field_name="lead__quality_score",
        lookup_expr="gte",
        min_value=0,
        max_value=100,
        error_messages={
            "invalid": "Enter a whole number from 0 to 100.",
            "min_value": "Enter a whole number from 0 to 100.",
            "max_value": "Enter a whole number from 0 to 100.",
        },
    )
    max_price = django_filters.NumberFilter(
        field_name="price",
        lookup_expr="lte",
        min_value=Decimal("0"),
        max_digits=18,
        decimal_places=6,
        error_messages={
            "invalid": "Enter an amount in USDC, such as 15.00.",
            "min_value": "Enter an amount of 0 USDC or more.",
            "max_digits": "Enter an amount below 1,000,000,000,000 USDC.",
            "max_whole_digits": "Enter an amount below 1,000,000,000,000 USDC.",
            "max_decimal_places": "USDC has at most 6 decimal places.",
        },
    )
    # Checked here, applied by the keyset paging.
    page_size = django_filters.TypedChoiceFilter(
        method=lambda queryset, name, value: queryset,
        choices=[(str(size), str(size)) for size in BUY_NOW_PAGE_SIZES],
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "Show 10, 25, 50 or 100 listings a page."},
    )

    class Meta:
        model = BuyNowListing
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, verticals, **kwargs):
        """`verticals`: those the buyer may pick, by name (vertical_list_watchable)."""
        super().__init__(data, queryset, **kwargs)
        children: dict[int | None, list] = {}
        for vertical in verticals:
            children.setdefault(vertical.parent_id, []).append(vertical)
        known = {vertical.pk for vertical in verticals}
        choices, self._subtree = [], {}

        def walk(vertical, depth: int) -> list[int]:
            # A sub-vertical is indented under its parent (non-breaking spaces survive in <option>).
            choices.append((vertical.slug, "\u00a0\u00a0" * depth + vertical.name))
            ids = [vertical.pk]
            for child in children.get(vertical.pk, []):
                ids += walk(child, depth + 1)
            self._subtree[vertical.slug] = ids
            return ids

        for vertical in verticals:
            if vertical.parent_id is None or vertical.parent_id not in known:
                walk(vertical, 0)
        self.filters["vertical"].extra["choices"] = choices

    def filter_vertical(self, queryset, name, value):
        return queryset.filter(lead__vertical_id__in=self._subtree[value])

    @property
    def is_filtered(self) -> bool:
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        return any(data.get(name) not in (None, "") for name in ("vertical", "state", "min_score", "max_price"))

    def errors_by_parameter(self) -> dict[str, list[str]]:
        return {name: [str(message) for message in messages] for name, messages in self.form.errors.items()}
