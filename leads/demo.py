"""Demo leads for `make run`: realistic, valid submissions through the real ingestion path.

The people are invented; phone numbers use the 555 exchange. Never run against production.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from leads.choices import LeadSource
from leads.services import SchemaCache, lead_submit
from verticals.choices import FieldType
from verticals.models import Vertical

PLACES = [("94105", "CA", "San Francisco", "415"), ("10001", "NY", "New York", "212"), ("78701", "TX", "Austin", "512"),
          ("60601", "IL", "Chicago", "312"), ("33131", "FL", "Miami", "305"), ("98101", "WA", "Seattle", "206"),
          ("85004", "AZ", "Phoenix", "602"), ("02108", "MA", "Boston", "617"), ("80202", "CO", "Denver", "303")]
FIRST = ["Maria", "James", "Aiko", "Olu", "Sofía", "Liam", "Priya", "Noah", "Zoë", "Mateo", "Hana", "Ethan"]
LAST = ["García", "Smith", "Tanaka", "Adeyemi", "Rossi", "Nguyen", "Patel", "Johnson", "Müller", "Kowalski"]
DEMO_VERTICALS = ["solar-residential", "mortgage-refinance", "auto-insurance-personal", "roofing-replacement",
                  "personal-injury-auto-accident", "hvac-heat-pump"]


def _value(field, rng: random.Random):
    kind = field.type
    if kind == FieldType.BOOLEAN:
        return rng.random() < 0.8
    if kind == FieldType.CHOICE:
        return rng.choice(field.choices)
    if kind == FieldType.MULTI_CHOICE:
        return rng.sample(field.choices, k=min(2, len(field.choices)))
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        low = int(field.min_value if field.min_value is not None else 0)
        high = int(field.max_value if field.max_value is not None else low + 1000)
        number = rng.randint(low, max(low, min(high, low + max(1, (high - low) // 3))))
        return number if kind == FieldType.INTEGER else float(Decimal(number) + Decimal("0.5"))
    if kind == FieldType.DATE:
        return (timezone.now().date() - timedelta(days=rng.randint(365 * 25, 365 * 70))).isoformat()
    if kind == FieldType.US_ZIP:
        return rng.choice(PLACES)[0]
    return rng.choice(["Referred by a neighbour", "Saw an ad", "Comparing quotes"])


def demo_leads_create(*, seller, count: int = 36, seed: int = 7) -> int:
    """Submit `count` demo leads for `seller`; returns how many were accepted."""
    rng = random.Random(seed)
    schemas = SchemaCache()
    verticals = list(Vertical.objects.filter(slug__in=DEMO_VERTICALS, status="active"))
    accepted = 0
    now = timezone.now()
    for i in range(count):
        vertical = verticals[i % len(verticals)]
        zip5, state, city, area = rng.choice(PLACES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        data = {
            "external_id": f"demo-{i:04d}", "campaign": rng.choice(["spring-search", "fb-lookalike", "partner-42"]),
            "first_name": first, "last_name": last,
            "email": f"{first.lower()}.{i}@demo-leads.net".encode("ascii", "ignore").decode(),
            "phone": f"+1{area}555{2000 + i:04d}", "street_address": f"{rng.randint(10, 999)} Main St",
            "city": city, "state": state, "zip": zip5,
            "fields": {f.key: _value(f, rng) for f in schemas.schema(vertical) if f.required or rng.random() < 0.7},
            "consent": {"text": "I agree to be contacted about my request by phone, text and email.",
                        "timestamp": (now - timedelta(hours=rng.randint(1, 24 * 20))).isoformat(),
                        "ip": f"198.51.100.{rng.randint(1, 254)}", "user_agent": "Mozilla/5.0 (demo)"},
        }
        source = rng.choice([LeadSource.API, LeadSource.FORM, LeadSource.CSV])
        result = lead_submit(seller=seller, data=data, source=source, vertical=vertical, schemas=schemas,
                             now=now - timedelta(minutes=count - i))
        accepted += int(result.accepted)
    return accepted
