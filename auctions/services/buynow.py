"""Buy Now: a lead whose auction ended without a bid at or above reserve is offered at a fixed
price (the auction's buy-now price: the Ask's, else reserve × multiplier) for BUY_NOW_DAYS
(default 7); the first buyer gets it, then the listing expires.

Lock order: the listing row, then the lead row, then ledger accounts (ledger_post, id order).
auction_close creates the listing under its own auction and lead locks; the listing does not
exist for anyone else until that commits, so no two of these wait on each other in a cycle.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from auctions import bidlog
from auctions.choices import BuyNowStatus
from auctions.models import Auction, BuyNowListing, Sale
from auctions.selectors.auctions import auction_is_visible, auction_visible_q, buyer_refusal
from auctions.services.sales import sale_record
from auctions.signals import funds_check
from config import db_router
from core.broadcast import group_send_on_commit
from core.groups import vertical_group
from core.services import idempotent
from leads.choices import LeadStatus
from leads.models import Lead
from leads.seller_reputation import seller_reputation_annotations, seller_reputation_of
from leads.services import lead_transition
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.services import InsufficientFunds, account_for, ledger_transfer, platform_account_for
from verticals.display import field_values_display
from verticals.selectors import vertical_fields_effective, vertical_schemas

logger = logging.getLogger(__name__)


def buy_now_days() -> int:
    return int(getattr(settings, "BUY_NOW_DAYS", 7))


class BuyNowRefused(Exception):
    """A purchase the rules refuse. `kind` is "not_found" (404), "closed" (409: sold or expired)
    or "invalid" (400: not allowed, insufficient funds); `code` is machine-readable."""

    NOT_FOUND, CLOSED, INVALID = "not_found", "closed", "invalid"

    def __init__(self, message: str, *, kind: str, code: str):
        self.message, self.kind, self.code = message, kind, code
        super().__init__(message)


def _preview(listing: BuyNowListing, schema: list) -> dict:
    lead = listing.lead
    biddable = {field.key for field in schema if field.biddable}
    return {
        "listing_id": listing.pk,
        "auction_id": listing.auction_id,
        "lead_id": lead.pk,
        "vertical": lead.vertical.slug,
        "vertical_name": lead.vertical.name,
        "state": lead.state,
        "zip3": lead.zip[:3],
        "quality_score": lead.quality_score,
        "fields": {k: v for k, v in (lead.fields or {}).items() if k in biddable},
        # The same fields in words, as the pages show them: [{"key", "label", "text"}].
        "fields_display": [
            fv.as_dict() for fv in field_values_display(schema=schema, values=lead.fields or {}, biddable_only=True)
        ],
        "price": bidlog.usdc_text(listing.price),
        "expires_at": listing.expires_at.isoformat(),
        "returned": lead.returned_at is not None,
    }


def _schema(vertical) -> list:
    return [ef.field for ef in vertical_fields_effective(vertical=vertical)]


# ---------------------------------------------------------------- writes


def buy_now_list(*, auction: Auction, now: datetime | None = None) -> BuyNowListing | None:
    """List the auction's lead at its buy-now price until now + BUY_NOW_DAYS; once per lead.

    Caller (auction_close) holds select_for_update on the auction and its lead, inside its
    transaction; "buynow.listed" goes to the vertical on commit. None when the price is zero."""
    existing = BuyNowListing.objects.filter(lead_id=auction.lead_id).first()
    if existing is not None:
        return existing
    if auction.buy_now_price is None or auction.buy_now_price <= 0:
        logger.info("lead not listed for buy-now: no price", extra={"auction_id": auction.pk})
        return None
    now = now or auction.closed_at or timezone.now()
    listing = BuyNowListing.objects.create(
        auction=auction,
        lead_id=auction.lead_id,
        seller_id=auction.seller_id,
        price=auction.buy_now_price,
        opens_at=now,
        expires_at=now + timedelta(days=buy_now_days()),
        created_at=now,
    )
    listing = BuyNowListing.objects.select_related("lead__vertical").get(pk=listing.pk)
    payload = {"type": "buynow.listed", **_preview(listing, _schema(listing.lead.vertical))}
    group_send_on_commit(group=vertical_group(listing.lead.vertical.slug), payload=payload)
    logger.info("lead listed for buy-now", extra={"buy_now_id": listing.pk, "lead_id": listing.lead_id})
    return listing


def check_buy_now_buyer(*, listing: BuyNowListing, buyer) -> None:
    """Raise BuyNowRefused (invalid) unless this user may buy this listing at all. Caller checked
    that they may see it (buy_now_listing_visible)."""
    refusal = buyer_refusal(buyer=buyer, seller_id=listing.seller_id, vertical=listing.lead.vertical, verb="buy leads")
    if refusal is not None:
        code, message = refusal
        raise BuyNowRefused(message, kind=BuyNowRefused.INVALID, code=code)


@transaction.atomic
def buy_now_purchase(*, listing_id: int, buyer, now: datetime | None = None) -> Sale:
    """Buy an open, unexpired listing: the price moves from the buyer's available balance into
    the sale's escrow (key "buynow:<listing id>"), a Sale is recorded and the lead becomes SOLD.

    Takes select_for_update on the listing, so exactly one of any number of concurrent buyers
    succeeds; the others get BuyNowRefused (closed). Refusals write nothing."""
    now = now or timezone.now()
    listing = (
        BuyNowListing.objects.select_for_update(of=("self",))
        .select_related("lead__vertical", "auction")
        .filter(pk=listing_id)
        .first()
    )
    if listing is None or not auction_is_visible(auction=listing.auction, user=buyer):
        raise BuyNowRefused("No such buy-now listing.", kind=BuyNowRefused.NOT_FOUND, code="not_found")
    if listing.status == BuyNowStatus.SOLD:
        raise BuyNowRefused("This lead has already been sold.", kind=BuyNowRefused.CLOSED, code="already_sold")
    if listing.status == BuyNowStatus.EXPIRED or now >= listing.expires_at:
        raise BuyNowRefused("This buy-now listing has expired.", kind=BuyNowRefused.CLOSED, code="expired")
    check_buy_now_buyer(listing=listing, buyer=buyer)
    refusal = funds_check(buyer=buyer, settle_by=now)
    if refusal:
        raise BuyNowRefused(refusal, kind=BuyNowRefused.INVALID, code="funds_leaving")

    lead = Lead.objects.select_for_update(of=("self",)).get(pk=listing.lead_id)
    auction = listing.auction
    escrow = platform_account_for(kind=LedgerAccountKind.ESCROW, reference=f"sale:{auction.pk}")
    try:
        ledger_transfer(
            from_account=account_for(user=buyer),
            to_account=escrow,
            amount=listing.price,
            idempotency_key=f"buynow:{listing.pk}",
            kind=LedgerTransactionKind.CAPTURE,
            memo=f"buy-now {listing.pk} (auction {auction.pk})",
        )
    except InsufficientFunds as exc:
        # Raising out of this atomic block rolls back everything above, escrow account included.
        raise BuyNowRefused(
            f"Insufficient funds: this lead costs {listing.price:f} USDC and your available "
            f"balance is {exc.balance:f} USDC.",
            kind=BuyNowRefused.INVALID,
            code="insufficient_funds",
        ) from exc

    sale = sale_record(
        auction=auction,
        lead=lead,
        buyer_id=buyer.pk,
        seller_id=listing.seller_id,
        price=listing.price,
        escrow=escrow,
        now=now,
    )
    lead_transition(lead=lead, to_status=LeadStatus.SOLD, reason=f"buy-now {listing.pk}: sold", price=listing.price)
    listing.status, listing.buyer, listing.sold_at = BuyNowStatus.SOLD, buyer, now
    listing.save(update_fields=["status", "buyer", "sold_at"])

    group_send_on_commit(
        group=vertical_group(listing.lead.vertical.slug),
        payload={
            "type": "buynow.sold",
            "listing_id": listing.pk,
            "auction_id": auction.pk,
            "lead_id": lead.pk,
            "price": bidlog.usdc_text(listing.price),
        },
    )
    logger.info("buy-now sold", extra={"buy_now_id": listing.pk, "sale_id": sale.pk})
    return sale


class BuyNowKeyReused(Exception):
    """The Idempotency-Key already bought another listing."""


def buy_now_purchase_once(*, listing_id: int, buyer, idempotency_key: str, now: datetime | None = None) -> Sale:
    """buy_now_purchase once per (buyer, idempotency_key): a retry with the key returns the sale it
    made (with `.replayed = True`) instead of refusing it as already sold. Refusals are not
    remembered (the key can buy once the refusal's cause is gone); the key naming another listing
    raises BuyNowKeyReused."""
    result, ran_now = idempotent(
        scope=f"buy_now:{buyer.pk}",
        key=idempotency_key,
        operation=lambda: {
            "listing_id": listing_id,
            "sale_id": buy_now_purchase(listing_id=listing_id, buyer=buyer, now=now).pk,
        },
    )
    if result.get("listing_id") != listing_id:
        raise BuyNowKeyReused("This Idempotency-Key already bought another listing.")
    sale = Sale.objects.get(pk=result["sale_id"])
    sale.replayed = not ran_now
    return sale


@transaction.atomic
def buy_now_expire(*, listing_id: int, now: datetime | None = None) -> bool:
    """Expire one listing if it is still open and past its expiry (lead UNSOLD → EXPIRED).
    Returns whether this call expired it; a second call is a no-op."""
    now = now or timezone.now()
    listing = BuyNowListing.objects.select_for_update(of=("self",)).filter(pk=listing_id).first()
    if listing is None or listing.status != BuyNowStatus.OPEN or now < listing.expires_at:
        return False
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=listing.lead_id)
    if lead.status == LeadStatus.UNSOLD:
        lead_transition(lead=lead, to_status=LeadStatus.EXPIRED, reason=f"buy-now {listing.pk}: expired")
    listing.status = BuyNowStatus.EXPIRED
    listing.save(update_fields=["status"])
    logger.info("buy-now expired", extra={"buy_now_id": listing.pk})
    return True


def buy_now_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweep: expire every open listing past its expiry (each in its own transaction).
    Returns how many this call expired; safe to run concurrently with itself and with purchases."""
    now = now or timezone.now()
    with db_router.primary():
        due = list(
            BuyNowListing.objects.filter(status=BuyNowStatus.OPEN, expires_at__lte=now)
            .order_by("expires_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
    return sum(buy_now_expire(listing_id=pk, now=now) for pk in due)


# ---------------------------------------------------------------- reads


def buy_now_listing_visible(*, user) -> QuerySet:
    """Listings `user` may see: those of auctions they may see (auctions.selectors.auctions.auction_visible_q),
    each with its seller's reputation in the lead's vertical (for buy_now_previews)."""
    return BuyNowListing.objects.filter(auction_visible_q(user=user, prefix="auction__")).annotate(
        **seller_reputation_annotations(vertical="lead__vertical_id")
    )


def buy_now_list_open(
    *,
    user,
    vertical: str = "",
    state: str = "",
    min_score: int | None = None,
    max_price: Decimal | None = None,
    now: datetime | None = None,
) -> QuerySet:
    """Open, unexpired listings `user` may see, newest first ((created_at, id) cursor). Stale-tolerant."""
    now = now or timezone.now()
    qs = (
        buy_now_listing_visible(user=user)
        .select_related("lead__vertical")
        .filter(status=BuyNowStatus.OPEN, expires_at__gt=now)
    )
    if vertical:
        qs = qs.filter(lead__vertical__slug=vertical)
    if state:
        qs = qs.filter(lead__state=state.upper())
    if min_score is not None:
        qs = qs.filter(lead__quality_score__gte=min_score)
    if max_price is not None:
        qs = qs.filter(price__lte=max_price)
    return qs.order_by("-created_at", "-id")


def buy_now_previews(*, listings) -> list[dict]:
    """Non-PII previews of listings with their seller's reputation in the vertical (from
    buy_now_listing_visible's annotations); the verticals' schemas in two queries, however many."""
    listings = list(listings)
    schemas = vertical_schemas(vertical_ids={listing.lead.vertical_id for listing in listings})
    out = []
    for listing in listings:
        vertical = listing.lead.vertical
        preview = _preview(listing, schemas.get(vertical.pk, []))
        preview["seller_reputation"] = seller_reputation_of(listing, vertical_id=vertical.pk).as_dict()
        out.append(preview)
    return out
