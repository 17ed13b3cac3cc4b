"""Demo leads for `make run`: realistic, valid submissions through the real ingestion path —
the 36 seeded leads, and in the embedded profile a demo seller who keeps submitting (the ticker).

The people are invented; phone numbers use the 555 exchange outside 555-0100…0199 (the fictional
range, which validation refuses). Never run against production.
"""

import logging
import random
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from leads.choices import LeadSource
from leads.models import Lead, SellerCap
from leads.services import IngestResult, Outcome, SchemaCache, lead_submit
from verticals.choices import FieldType
from verticals.models import Vertical

logger = logging.getLogger(__name__)

DEMO_SELLER_EMAIL = "seller@leadengine.local"
DEMO_DAILY_CAP = 100_000
LIVE_PREFIX = "demo-live-"
SEED_LINES = 2000  # seeded leads: 555-2000 …; the ticker's: 555-3000 … 555-9999
LIVE_LINES = 3000

PLACES = [
    ("94105", "CA", "San Francisco", "415"),
    ("10001", "NY", "New York", "212"),
    ("78701", "TX", "Austin", "512"),
    ("60601", "IL", "Chicago", "312"),
    ("33131", "FL", "Miami", "305"),
    ("98101", "WA", "Seattle", "206"),
    ("85004", "AZ", "Phoenix", "602"),
    ("02108", "MA", "Boston", "617"),
    ("80202", "CO", "Denver", "303"),
]
FIRST = ["Maria", "James", "Aiko", "Olu", "Sofía", "Liam", "Priya", "Noah", "Zoë", "Mateo", "Hana", "Ethan"]
LAST = ["García", "Smith", "Tanaka", "Adeyemi", "Rossi", "Nguyen", "Patel", "Johnson", "Müller", "Kowalski"]
DEMO_VERTICALS = [
    "solar-residential",
    "mortgage-refinance",
    "auto-insurance-personal",
    "roofing-replacement",
    "personal-injury-auto-accident",
    "hvac-heat-pump",
]


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


def _demo_lead_data(
    *,
    vertical,
    schemas: SchemaCache,
    rng: random.Random,
    external_id: str,
    email_tag: str,
    place: tuple,
    line: int,
    consent_at,
) -> dict:
    zip5, state, city, area = place
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "external_id": external_id,
        "campaign": rng.choice(["spring-search", "fb-lookalike", "partner-42"]),
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{email_tag}@demo-leads.net".encode("ascii", "ignore").decode(),
        "phone": f"+1{area}555{line:04d}",
        "street_address": f"{rng.randint(10, 999)} Main St",
        "city": city,
        "state": state,
        "zip": zip5,
        "fields": {f.key: _value(f, rng) for f in schemas.schema(vertical) if f.required or rng.random() < 0.7},
        "consent": {
            "text": "I agree to be contacted about my request by phone, text and email.",
            "timestamp": consent_at.isoformat(),
            "ip": f"198.51.100.{rng.randint(1, 254)}",
            "user_agent": "Mozilla/5.0 (demo)",
        },
    }


def _demo_verticals() -> list[Vertical]:
    return list(Vertical.objects.filter(slug__in=DEMO_VERTICALS, status="active").order_by("slug"))


def demo_leads_create(*, seller, count: int = 36, seed: int = 7) -> int:
    """Submit `count` demo leads for `seller`; returns how many were accepted."""
    rng = random.Random(seed)
    schemas = SchemaCache()
    verticals = _demo_verticals()
    accepted = 0
    now = timezone.now()
    for i in range(count):
        vertical = verticals[i % len(verticals)]
        data = _demo_lead_data(
            vertical=vertical,
            schemas=schemas,
            rng=rng,
            external_id=f"demo-{i:04d}",
            email_tag=str(i),
            place=rng.choice(PLACES),
            line=SEED_LINES + i,
            consent_at=now - timedelta(hours=rng.randint(1, 24 * 20)),
        )
        source = rng.choice([LeadSource.API, LeadSource.FORM, LeadSource.CSV])
        result = lead_submit(
            seller=seller,
            data=data,
            source=source,
            vertical=vertical,
            schemas=schemas,
            now=now - timedelta(minutes=count - i),
        )
        accepted += int(result.accepted)
    return accepted


# ---------------------------------------------------------------- the live demo seller


def demo_seller_get():
    """The demo seller `seed_demo` creates, or None (no demo data: the ticker stays idle)."""
    return User.objects.filter(email=DEMO_SELLER_EMAIL, is_seller=True, is_active=True).first()


def demo_seller_cap_ensure(*, seller) -> None:
    """Lift the demo seller's daily cap (a staff override, as admin's Seller caps sets): the
    ticker submits more than a vertical's default 500 a day."""
    SellerCap.objects.get_or_create(
        seller=seller, vertical=None, defaults={"daily_cap": DEMO_DAILY_CAP, "note": "demo seller (make run)"}
    )


def demo_lead_submit_next(*, seller, now=None) -> IngestResult:
    """Submit the demo seller's next live lead through the real ingestion path (validation,
    dedupe, cap, then scoring and the auction's opening on commit). The n-th lead rotates over
    the demo verticals; its phone and email are unique within its vertical for 378,000 leads."""
    now = now or timezone.now()
    verticals = _demo_verticals()
    if not verticals:
        return IngestResult(Outcome.INVALID, errors={"vertical": ["No demo vertical is active."]})
    n = Lead.objects.filter(seller=seller, external_id__startswith=LIVE_PREFIX).count()
    vertical = verticals[n % len(verticals)]
    j = n // len(verticals)  # the lead's number within its vertical
    rng = random.Random()
    schemas = SchemaCache()
    data = _demo_lead_data(
        vertical=vertical,
        schemas=schemas,
        rng=rng,
        external_id=f"{LIVE_PREFIX}{n:07d}",
        email_tag=f"live{n}",
        place=PLACES[j % len(PLACES)],
        line=LIVE_LINES + (j // len(PLACES)) % (10000 - LIVE_LINES),
        consent_at=now - timedelta(minutes=rng.randint(1, 24 * 60)),
    )
    return lead_submit(seller=seller, data=data, source=LeadSource.API, vertical=vertical, schemas=schemas, now=now)


_next_at: float | None = None


def demo_lead_tick(*, clock=time.monotonic) -> IngestResult | None:
    """The embedded profile's demo seller (config/asgi.py gives it to the sweeper thread, which
    calls it every second): a lead every DEMO_LEADS_SECONDS while DEMO_LEADS is on, so `make run`
    always shows live auctions. Returns the submission's result, or None when it did nothing."""
    global _next_at
    if not settings.DEMO_LEADS or settings.DEMO_LEADS_SECONDS <= 0:
        return None
    at = clock()
    if _next_at is not None and at < _next_at:
        return None
    _next_at = at + settings.DEMO_LEADS_SECONDS
    seller = demo_seller_get()
    if seller is None:
        return None
    result = demo_lead_submit_next(seller=seller)
    if result.outcome == Outcome.CAPPED:
        logger.warning("demo seller capped: no demo lead until the cap resets", extra={"cap": result.cap})
    return result
