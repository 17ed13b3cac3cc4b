from django.db.models import Count
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response

from core.api.pagination import ValidatedCursorPagination
from verticals import selectors
from verticals.api.serializers import VerticalDetailSerializer, VerticalSerializer
from verticals.choices import VerticalStatus


class SlugCursorPagination(ValidatedCursorPagination):
    ordering = ("slug",)
    page_size = 100


class VerticalFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=VerticalStatus.choices)
    parent = filters.CharFilter(field_name="parent__slug", max_length=100)
    top_level = filters.BooleanFilter(field_name="parent", lookup_expr="isnull")

    STRICT = {"status": set(VerticalStatus.values), "top_level": {"true", "false"}}

    def is_valid(self):
        # Exactly the schema's values: django-filter would also take "" (no filter) or "1" / "yes".
        valid = super().is_valid()
        for name, allowed in self.STRICT.items():
            if name in self.data and self.data[name] not in allowed and name not in self.form.errors:
                self.form.add_error(name, f"One of: {', '.join(sorted(allowed))}.")
                valid = False
        return valid


class VerticalListApi(generics.ListAPIView):
    """All verticals (cursor-paginated by slug); filter by status, parent slug or top_level."""

    serializer_class = VerticalSerializer
    pagination_class = SlugCursorPagination
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = VerticalFilter

    def get_queryset(self):
        return selectors.vertical_list().annotate(exclusive_count=Count("exclusive_buyers", distinct=True))

    @extend_schema(
        parameters=[
            # The filter refuses a longer slug with a 400: say so (django-filter's schema does not).
            OpenApiParameter(
                "parent",
                {"type": "string", "maxLength": 100},
                OpenApiParameter.QUERY,
                required=False,
                description="A parent vertical's slug: its direct sub-verticals.",
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VerticalDetailApi(generics.RetrieveAPIView):
    serializer_class = VerticalDetailSerializer
    lookup_field = "slug"

    def get_queryset(self):
        return selectors.vertical_list().annotate(exclusive_count=Count("exclusive_buyers", distinct=True))

    @extend_schema(summary="A vertical with its effective field schema (inherited fields included)")
    def get(self, request, *args, **kwargs):
        vertical = self.get_object()
        context = {
            **self.get_serializer_context(),
            "effective_fields": selectors.vertical_fields_effective(vertical=vertical),
        }
        return Response(self.get_serializer(vertical, context=context).data)
