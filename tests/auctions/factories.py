"""Builders for auction tests: scored leads, open auctions and funded buyers."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from auctions.services.auctions import auction_open
from leads.choices import LeadSource, LeadStatus
from leads.models import Lead
from ledger.services import ledger_credit_user
from tests.factories import UserFactory, VerticalFactory

D = Decimal


def make_vertical(**overrides):
    defaults = {"reserve_price": D("10"), "auction_duration_seconds": 60, "buy_now_multiplier": D("1.2")}
    return VerticalFactory(**{**defaults, **overrides})


def make_scored_lead(
    *, seller=None, vertical=None, state: str = "CA", zip: str = "94105", score: int = 70, fields: dict | None = None
) -> Lead:
    seller = seller or UserFactory(is_seller=True)
    vertical = vertical or make_vertical()
    return Lead.objects.create(
        vertical=vertical,
        seller=seller,
        source=LeadSource.API,
        state=state,
        zip=zip,
        city="Somewhere",
        fields=fields or {},
        consent_text="I agree.",
        consent_at=timezone.now() - timedelta(hours=1),
        consent_ip="203.0.113.7",
        status=LeadStatus.SCORED,
        quality_score=score,
        scored_at=timezone.now(),
    )


def make_auction(*, now: datetime | None = None, **lead_kwargs):
    lead = make_scored_lead(**lead_kwargs)
    return auction_open(lead_id=lead.pk, now=now or timezone.now())


_funding = iter(range(10**9))


def funded_buyer(amount: Decimal = D("1000"), **kwargs):
    buyer = UserFactory(is_buyer=True, **kwargs)
    if amount:
        ledger_credit_user(user=buyer, amount=amount, idempotency_key=f"fund-{buyer.pk}-{next(_funding)}")
    return buyer
