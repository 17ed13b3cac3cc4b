from django.db.models import Q
from django_filters import rest_framework as filters

from leads.choices import LeadStatus
from leads.models import Lead


class LeadFilter(filters.FilterSet):
    vertical = filters.CharFilter(field_name="vertical__slug")
    status = filters.MultipleChoiceFilter(choices=LeadStatus.choices)
    has_phone = filters.BooleanFilter()
    has_email = filters.BooleanFilter()
    score_min = filters.NumberFilter(field_name="quality_score", lookup_expr="gte")
    score_max = filters.NumberFilter(field_name="quality_score", lookup_expr="lte")
    created_from = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    external_id = filters.CharFilter()
    q = filters.CharFilter(method="search", label="Search external id, campaign, sub id, ZIP or city")

    class Meta:
        model = Lead
        fields = []

    def search(self, queryset, name, value):
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(Q(external_id=value) | Q(campaign=value) | Q(sub_id=value) | Q(zip=value)
                               | Q(city__iexact=value))
