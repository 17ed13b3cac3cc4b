"""core.api.serializers.FastReadMixin renders exactly what DRF's own to_representation does."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from leads.api.serializers import LeadDetailSerializer, LeadSerializer
from leads.choices import LeadStatus
from leads.models import Lead
from tests.factories import UserFactory
from tests.leads.conftest import solar  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _lead(vertical, **extra) -> Lead:
    now = timezone.now()
    return Lead.objects.create(
        vertical=vertical,
        seller=extra.pop("seller", None) or UserFactory(is_seller=True),
        source="api",
        country="US",
        state="CA",
        zip="94105",
        city="San Francisco",
        fields={"homeowner": True, "monthly_electric_bill": 180.5, "roof_type": "metal"},
        consent_text="yes",
        consent_at=now,
        consent_ip="203.0.113.7",
        created_at=now,
        **extra,
    )


def _drf(serializer_class, rows):
    """What DRF's own ModelSerializer.to_representation renders for each row."""
    child = serializer_class(rows, many=True).child
    return [serializers.ModelSerializer.to_representation(child, row) for row in rows]


def test_rows_render_as_drf_renders_them(solar):  # noqa: F811
    first = _lead(solar, external_id="a-1", campaign="spring", has_phone=True, phone_type="mobile")
    rows = [
        first,
        _lead(
            solar,
            seller=first.seller,
            status=LeadStatus.SOLD,
            price=Decimal("42.5"),
            quality_score=87,
            scored_at=timezone.now(),
        ),
        _lead(solar, status=LeadStatus.REJECTED, rejection_reason="duplicate", duplicate_of=first),
    ]
    rows = list(Lead.objects.filter(pk__in=[r.pk for r in rows]).order_by("pk"))
    assert LeadSerializer(rows, many=True).data == _drf(LeadSerializer, rows)
    rendered = LeadSerializer(rows[1]).data
    assert rendered["price"] == "42.500000" and rendered["vertical"] == "solar-residential"
    assert LeadSerializer(rows[2]).data["duplicate_of"] == first.pk


def test_nested_and_method_fields_fall_back_to_drf(solar):  # noqa: F811
    lead = _lead(solar)
    context = {"request": None}
    fast = LeadDetailSerializer(lead, context=context).data
    plain = type("Plain", (LeadDetailSerializer,), {"to_representation": serializers.ModelSerializer.to_representation})
    assert fast == plain(lead, context=context).data


def test_datetimes_follow_the_current_time_zone_as_drf_does(solar):  # noqa: F811
    lead = _lead(solar, scored_at=timezone.now())
    lead = Lead.objects.get(pk=lead.pk)
    with timezone.override("America/New_York"):
        fast = LeadSerializer([lead], many=True).data
        assert fast == _drf(LeadSerializer, [lead])
        assert fast[0]["created_at"].endswith(("-05:00", "-04:00"))
    utc = LeadSerializer([lead], many=True).data
    assert utc == _drf(LeadSerializer, [lead]) and utc[0]["created_at"].endswith("Z")


def test_a_static_serializer_plans_once_per_class(solar):  # noqa: F811
    lead = _lead(solar)
    first = LeadSerializer([lead], many=True)
    assert first.data == _drf(LeadSerializer, [lead])
    plan = LeadSerializer.__dict__["_fast_read_class_plan"]
    second = LeadSerializer([lead], many=True)
    assert second.data == first.data
    assert second.child._fast_read_plan is plan
    assert "_fast_read_class_plan" not in LeadDetailSerializer.__dict__  # method fields: per instance
