"""A small marketplace with every kind of fact the rollups count, built through the real
services: leads received and rejected for each reason, auctions sold and unsold, buy-now sales,
autobid wins, bounty awards, released settlements with their fee, disputes decided with full and
partial refunds, dispositions of every kind. Shared by the rollup and dashboard tests."""

from datetime import timedelta
from decimal import Decimal as D

from django.utils import timezone

from auctions.choices import DispositionChannel
from auctions.models import Sale
from auctions.services.dispositions import check_disposition, disposition_record
from escrow.services.disputes import dispute_decide
from leads.choices import LeadSource, LeadStatus, RejectionReason
from leads.models import Lead
from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.auctions.factories_bounties import list_for_buy_now, sell_by_auction, sell_by_buy_now
from tests.escrow.dispute_page_helpers import opened
from tests.escrow.test_purchases import make_purchase, settle
from tests.factories import UserFactory


def rejected_lead(*, seller, vertical, reason: str, created_at=None, source=LeadSource.CSV, campaign: str = "spring"):
    return Lead.objects.create(
        vertical=vertical,
        seller=seller,
        source=source,
        campaign=campaign,
        state="TX",
        zip="73301",
        consent_text="I agree.",
        consent_at=timezone.now() - timedelta(hours=2),
        consent_ip="203.0.113.9",
        status=LeadStatus.REJECTED,
        rejection_reason=reason,
        created_at=created_at or timezone.now(),
    )


def dispose(sale: Sale, status: str, **kwargs):
    return disposition_record(
        sale_id=sale.pk, by=sale.buyer, value=check_disposition(status=status, **kwargs), channel=DispositionChannel.API
    )


def build_facts(*, steps=None, t0=None) -> dict:
    """The marketplace, one phase at a time; `steps(name)` runs after each phase (the rollup
    test refreshes there, so the refresh sees the facts arrive and change in order). Auctions run
    from `t0` (3 hours ago; pass now where committed auctions close by their own task)."""
    step = steps or (lambda name: None)
    now = timezone.now()
    t0 = t0 or now - timedelta(hours=3)
    seller, other_seller = UserFactory(is_seller=True), UserFactory(is_seller=True)
    buyer, rival = funded_buyer(D("5000")), funded_buyer(D("5000"))
    solar, roofing = make_vertical(), make_vertical()
    staff = UserFactory(is_staff=True, is_superuser=True)

    for reason in RejectionReason.values:
        rejected_lead(seller=seller, vertical=solar, reason=reason, created_at=t0)
    rejected_lead(seller=other_seller, vertical=roofing, reason=RejectionReason.DUPLICATE)
    step("received")

    sales = [sell_by_auction(t0=t0, buyer=buyer, seller=seller, vertical=solar) for _ in range(3)]
    sales.append(sell_by_auction(t0=t0, buyer=rival, seller=other_seller, vertical=roofing, state="NV"))
    sales.append(sell_by_buy_now(t0=t0, buyer=buyer, seller=seller, vertical=roofing))
    unsold = list_for_buy_now(t0=t0, seller=seller, vertical=solar)
    live = make_auction(now=now, seller=other_seller, vertical=solar)
    step("sold")

    disputed_full, disputed_partial = (make_purchase(t0=t0, buyer=buyer, seller=seller) for _ in range(2))
    settle(disputed_full), settle(disputed_partial)
    released = sales[0]
    settle(released, released=True)
    step("settled")

    full = opened(disputed_full)
    partial = opened(disputed_partial)
    dismissed = opened(sales[1]) if settle(sales[1]) else None
    step("disputed")
    dispute_decide(staff=staff, dispute_id=full.pk, outcome="refund_full", reason="The phone never rang.")
    dispute_decide(
        staff=staff, dispute_id=partial.pk, outcome="refund_partial", reason="Half right.", refund_amount=D("4")
    )
    dispute_decide(staff=staff, dispute_id=dismissed.pk, outcome="dismissed", reason="The lead was fine.")
    step("decided")

    dispose(sales[0], "sold", revenue=D("250"))
    dispose(sales[2], "contacted")
    dispose(sales[3], "bad", reason="Wrong number")
    dispose(sales[4], "appointment")
    step("disposed")
    dispose(sales[2], "quoted")  # a change of mind: the row follows the last report
    step("changed")
    return {
        "seller": seller,
        "other_seller": other_seller,
        "buyer": buyer,
        "rival": rival,
        "verticals": (solar, roofing),
        "sales": sales,
        "unsold": unsold,
        "live": live,
        "disputes": (full, partial, dismissed),
    }
