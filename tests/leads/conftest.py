from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from tests.factories import UserFactory
from verticals.services import vertical_upsert


@pytest.fixture
def solar(db):
    parent = vertical_upsert(
        slug="solar",
        name="Solar",
        reserve_price=35,
        quality_floor=40,
        fields=[
            {"key": "homeowner", "label": "Homeowner", "type": "boolean", "required": True, "biddable": True},
            {
                "key": "roof_type",
                "label": "Roof type",
                "type": "choice",
                "choices": ["asphalt shingle", "metal", "tile"],
                "biddable": True,
            },
            {"key": "roof_age_years", "label": "Roof age", "type": "integer", "min_value": 0, "max_value": 100},
            {
                "key": "monthly_electric_bill",
                "label": "Bill",
                "type": "decimal",
                "min_value": 0,
                "max_value": 2000,
                "required": True,
                "biddable": True,
            },
            {"key": "date_of_birth", "label": "Date of birth", "type": "date", "pii": True},
        ],
    )
    return vertical_upsert(slug="solar-residential", name="Residential Solar", parent=parent, quality_floor=40)


@pytest.fixture
def seller_user(db):
    return UserFactory(is_seller=True)


@pytest.fixture
def seller_api(seller_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=seller_user, name='ingest').secret}")
    return client


def make_lead(**overrides) -> dict:
    lead = {
        "vertical": "solar-residential",
        "first_name": "Maria",
        "last_name": "García",
        "email": "maria.garcia@gmail.com",
        "phone": "(415) 555-2671",
        "street_address": "1 Market St",
        "city": "San Francisco",
        "state": "CA",
        "zip": "94105",
        "fields": {
            "homeowner": True,
            "roof_type": "metal",
            "roof_age_years": 8,
            "monthly_electric_bill": 240.5,
            "date_of_birth": "1980-02-03",
        },
        "consent": {
            "text": "I agree to be contacted by solar installers.",
            "timestamp": (timezone.now() - timedelta(hours=1)).isoformat(),
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0",
            "page_url": "https://sunnyleads.example.org/quote",
        },
    }
    for key, value in overrides.items():
        if value is None:
            lead.pop(key, None)
        else:
            lead[key] = value
    return lead
