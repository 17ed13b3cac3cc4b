"""Writes for asks and auctions: ask CRUD, opening, proxy bidding, closing and settlement of holds.

Lock order, everywhere: the auction row first, then (closing) the lead row, then ledger
accounts in id order. Only one auction is locked per transaction, so no two of these wait on
each other in a cycle. Side effects (broadcasts, scheduled closes) happen on commit.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from auctions import bidlog
from auctions.choices import AuctionResult, AuctionStatus, BidSource
from auctions.metrics import AUCTIONS_CLOSED, CLOSE_LATENESS
from auctions.models import MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, Ask, Auction, AuctionBidder, Bid
from auctions.notices import outbid_notify, result_notify
from auctions.pricing import minimum_bid, opening_price, proxy_price, reserve_met
from auctions.selectors.auctions import ask_terms_for_lead, auction_is_visible, auction_overdue_ids, buyer_refusal
from auctions.services.buynow import buy_now_list
from auctions.services.sales import sale_record
from auctions.signals import auction_closing, auction_deadline_set, auction_opened, funds_check
from core.broadcast import group_send_on_commit
from core.groups import user_group, vertical_group
from leads.choices import LeadStatus
from leads.models import Lead
from leads.services import lead_transition
from leads.validation import US_STATES
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.services import (
    AccountSpec,
    InsufficientFunds,
    InvalidAmount,
    Posting,
    check_amount,
    ledger_hold,
    ledger_post_many,
    ledger_release,
    platform_account_ensure,
)
from verticals.choices import VerticalStatus
from verticals.display import field_values_display
from verticals.selectors import vertical_ancestors, vertical_schema_cached

logger = logging.getLogger(__name__)


def soft_close_seconds() -> int:
    return int(getattr(settings, "AUCTION_SOFT_CLOSE_SECONDS", 10))


def soft_close_extension() -> int:
    return int(getattr(settings, "AUCTION_SOFT_CLOSE_EXTENSION", 10))


def max_extensions() -> int:
    return int(getattr(settings, "AUCTION_MAX_EXTENSIONS", 5))


# ---------------------------------------------------------------- asks


class AskInvalid(Exception):
    """An ask the rules refuse; `errors` maps field names to messages. `conflict`: the ask itself
    is fine but clashes with another active ask of the seller's."""

    def __init__(self, errors: dict[str, list[str]], *, conflict: bool = False):
        self.errors, self.conflict = errors, conflict
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


ASK_FIELDS = (
    "vertical",
    "states",
    "reserve_price",
    "buy_now_price",
    "buy_now_multiplier",
    "duration_seconds",
    "auto_list",
    "active",
)


def _usdc_or_none(value, errors: dict, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = check_amount(value if isinstance(value, Decimal) else Decimal(str(value)))
    except (InvalidAmount, TypeError, ArithmeticError, ValueError):
        errors.setdefault(name, []).append("Enter a USDC amount with at most 6 decimal places.")
        return None
    if amount < 0:
        errors.setdefault(name, []).append("Must not be negative.")
    return amount


def check_ask(*, ask: Ask) -> None:
    """Validate and normalise an ask in place (states upper-cased, sorted, unique); raises AskInvalid."""
    errors: dict[str, list[str]] = {}
    if not ask.seller.is_seller:
        errors.setdefault("non_field_errors", []).append("Only seller accounts can have asks.")
    vertical = ask.vertical if ask.vertical_id else None
    if vertical is None:
        errors.setdefault("vertical", []).append("Choose a vertical.")
    elif vertical.status == VerticalStatus.DEPRECATED:
        errors.setdefault("vertical", []).append("This vertical is deprecated.")
    states = ask.states if ask.states is not None else []
    if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
        errors.setdefault("states", []).append("A list of two-letter US state codes.")
        states = []
    states = sorted({s.strip().upper() for s in states if s.strip()})
    unknown = [s for s in states if s not in US_STATES]
    if unknown:
        errors.setdefault("states", []).append(f"Unknown US state: {', '.join(unknown)}.")
    ask.states = states
    ask.reserve_price = _usdc_or_none(ask.reserve_price, errors, "reserve_price")
    ask.buy_now_price = _usdc_or_none(ask.buy_now_price, errors, "buy_now_price")
    if ask.buy_now_multiplier is not None and ask.buy_now_multiplier < 1:
        errors.setdefault("buy_now_multiplier", []).append("Must be at least 1.")
    if ask.buy_now_price is not None and ask.buy_now_multiplier is not None:
        errors.setdefault("buy_now_price", []).append("Give a buy-now price or a multiplier, not both.")
    if ask.buy_now_price is not None and vertical is not None and "reserve_price" not in errors:
        reserve = ask.reserve_price if ask.reserve_price is not None else vertical.reserve_price
        if ask.buy_now_price < reserve:
            errors.setdefault("buy_now_price", []).append(f"Must be at least the reserve ({reserve:f} USDC).")
    if ask.duration_seconds is not None and not (MIN_DURATION_SECONDS <= ask.duration_seconds <= MAX_DURATION_SECONDS):
        errors.setdefault("duration_seconds", []).append(
            f"Between {MIN_DURATION_SECONDS} seconds and 24 hours ({MAX_DURATION_SECONDS} seconds)."
        )
    if not errors and ask.active and vertical is not None:
        clash = Ask.objects.filter(seller_id=ask.seller_id, vertical=vertical, states=states, active=True)
        if ask.pk:
            clash = clash.exclude(pk=ask.pk)
        if clash.exists():
            raise AskInvalid(
                {
                    "states": [
                        "You already have an active ask for this vertical and these states; edit that one instead."
                    ]
                },
                conflict=True,
            )
    if errors:
        raise AskInvalid(errors)


def _ask_save(ask: Ask) -> Ask:
    check_ask(ask=ask)
    try:
        with transaction.atomic():
            ask.save()
    except IntegrityError:  # a concurrent twin won the unique constraint
        raise AskInvalid(
            {"states": ["You already have an active ask for this vertical and these states."]}, conflict=True
        ) from None
    return ask


def ask_create(
    *,
    seller,
    vertical,
    states: list[str] | None = None,
    reserve_price: Decimal | None = None,
    buy_now_price: Decimal | None = None,
    buy_now_multiplier: Decimal | None = None,
    duration_seconds: int | None = None,
    auto_list: bool = True,
    active: bool = True,
) -> Ask:
    """Create a seller's listing policy; raises AskInvalid with field messages."""
    return _ask_save(
        Ask(
            seller=seller,
            vertical=vertical,
            states=list(states or []),
            reserve_price=reserve_price,
            buy_now_price=buy_now_price,
            buy_now_multiplier=buy_now_multiplier,
            duration_seconds=duration_seconds,
            auto_list=auto_list,
            active=active,
        )
    )


def ask_update(*, ask: Ask, **changes) -> Ask:
    """Change some fields of an ask (any of ASK_FIELDS); raises AskInvalid with field messages."""
    unknown = set(changes) - set(ASK_FIELDS)
    if unknown:
        raise TypeError(f"Unknown ask fields: {sorted(unknown)}")
    for name, value in changes.items():
        setattr(ask, name, value)
    return _ask_save(ask)


def ask_delete(*, ask: Ask) -> None:
    """Delete an ask; auctions it opened keep their terms."""
    ask.delete()


# ---------------------------------------------------------------- opening


def _deadline_set(auction_id: int, deadline: datetime) -> None:
    auction_deadline_set.send(sender=Auction, auction_id=auction_id, deadline=deadline)


def _lead_preview(auction: Auction, lead: Lead, schema: list | None = None) -> dict:
    """What every buyer may see before buying: no PII, only the vertical's biddable fields."""
    if schema is None:
        schema = vertical_schema_cached(vertical_id=auction.vertical_id)
    biddable = {field.key for field in schema if field.biddable}
    return {
        "type": "lead.listed",
        "auction_id": auction.pk,
        "lead_id": lead.pk,
        "vertical": auction.vertical.slug,
        "state": lead.state,
        "zip3": lead.zip[:3],
        "quality_score": lead.quality_score,
        "fields": {k: v for k, v in (lead.fields or {}).items() if k in biddable},
        # The same fields in words, as the pages show them: [{"key", "label", "text"}].
        "fields_display": [
            fv.as_dict() for fv in field_values_display(schema=schema, values=lead.fields or {}, biddable_only=True)
        ],
        "reserve_price": bidlog.usdc_text(auction.reserve_price),
        "buy_now_price": bidlog.usdc_text(auction.buy_now_price),
        "deadline": auction.deadline.isoformat(),
    }


@transaction.atomic
def auction_open(*, lead_id: int, now: datetime | None = None) -> Auction | None:
    """The auctions.open stage: list a scored lead under its Ask, once. Returns the lead's auction
    (the existing one when called again), or None when the lead is not listable (gone, not
    scored, or its Ask has auto-list off)."""
    now = now or timezone.now()
    # The vertical's ancestors come along: the preview needs its effective schema.
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("vertical__parent__parent")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        return None
    existing = Auction.objects.filter(lead_id=lead.pk).first()
    if existing is not None:
        return existing
    if lead.status != LeadStatus.SCORED:
        return None
    return _auction_open_locked(lead=lead, now=now)


def auction_open_scored(*, lead: Lead, schema: list | None = None, **kwargs) -> bool:
    """leads.signals.lead_accepted: open the auction of a lead the leads.score stage has just
    accepted, in the scoring transaction (caller holds the lead's row lock; the lead was received
    until now, so it has no auction yet). True when it opened one."""
    return _auction_open_locked(lead=lead, now=timezone.now(), schema=schema) is not None


def _auction_open_locked(*, lead: Lead, now: datetime, schema: list | None = None) -> Auction | None:
    """Open a scored lead's auction under its Ask (caller holds the lead's row lock and knows it
    has no auction); None when its Ask has auto-list off."""
    terms = ask_terms_for_lead(lead=lead)
    if not terms.auto_list:
        logger.info("lead not auto-listed", extra={"lead_id": lead.pk, "ask_id": terms.ask.pk if terms.ask else None})
        return None
    auction = Auction.objects.create(
        lead=lead,
        vertical=lead.vertical,
        seller_id=lead.seller_id,
        ask=terms.ask,
        reserve_price=terms.reserve_price,
        buy_now_price=terms.buy_now_price,
        duration_seconds=terms.duration_seconds,
        opened_at=now,
        deadline=now + timedelta(seconds=terms.duration_seconds),
        log_salt=secrets.token_hex(16),
        created_at=now,
    )
    lead_transition(lead=lead, to_status=LeadStatus.LISTED, reason=f"auction {auction.pk} opened")
    group_send_on_commit(group=vertical_group(auction.vertical.slug), payload=_lead_preview(auction, lead, schema))
    auction_id, deadline = auction.pk, auction.deadline
    transaction.on_commit(lambda: _deadline_set(auction_id, deadline))
    # After commit, outside the lock: each autobid is its own transaction; a failure must not undo the open.
    # The vertical chain (loaded with the lead) and the seller let autobid skip an auction no rule can bid on.
    vertical_ids = [v.pk for v in vertical_ancestors(vertical=lead.vertical)]
    transaction.on_commit(
        lambda: auction_opened.send(
            sender=Auction, auction_id=auction_id, vertical_ids=vertical_ids, seller_id=lead.seller_id
        ),
        robust=True,
    )
    logger.info("auction opened", extra={"auction_id": auction.pk, "lead_id": lead.pk})
    return auction


# ---------------------------------------------------------------- bidding


class BidRejected(Exception):
    """A bid the rules refuse. `kind` is "forbidden" (403), "closed" (409) or "invalid" (400);
    `field` names the input at fault (or "non_field_errors")."""

    FORBIDDEN, CLOSED, INVALID, NOT_FOUND = "forbidden", "closed", "invalid", "not_found"

    def __init__(self, message: str, *, kind: str, code: str, field: str = "non_field_errors"):
        self.message, self.kind, self.code, self.field = message, kind, code, field
        super().__init__(message)


def _check_bid_amount(max_amount) -> Decimal:
    if isinstance(max_amount, float) or not isinstance(max_amount, Decimal):
        raise BidRejected(
            'Send the maximum as a decimal string such as "12.50".',
            kind=BidRejected.INVALID,
            code="invalid_amount",
            field="max_amount",
        )
    try:
        amount = check_amount(max_amount)
    except InvalidAmount:
        raise BidRejected(
            "A USDC amount with at most 6 decimal places.",
            kind=BidRejected.INVALID,
            code="invalid_amount",
            field="max_amount",
        ) from None
    if amount <= 0:
        raise BidRejected(
            "The maximum must be positive.", kind=BidRejected.INVALID, code="invalid_amount", field="max_amount"
        )
    return amount


def check_bidder(*, auction: Auction, buyer) -> None:
    """Raise BidRejected unless this buyer may bid on this auction at all: not_found when they may
    not even see it (selectors.auction_visible_q: an exclusive vertical's auction to an outsider),
    forbidden when they see it but may not bid (not a buyer, their own lead, staff not listed)."""
    if not auction_is_visible(auction=auction, user=buyer):
        raise BidRejected("No such auction.", kind=BidRejected.NOT_FOUND, code="not_found")
    refusal = buyer_refusal(buyer=buyer, seller_id=auction.seller_id, vertical=auction.vertical, verb="bid")
    if refusal is not None:
        code, message = refusal
        raise BidRejected(message, kind=BidRejected.FORBIDDEN, code=code)


@dataclass(frozen=True)
class _Ranked:
    buyer_id: int
    max_amount: Decimal
    bidder_ref: str


def _ranked(auction: Auction) -> list[_Ranked]:
    """The two best standing maxima (withdrawn ones do not rank); the earlier maximum wins a tie."""
    return [
        _Ranked(*row)
        for row in AuctionBidder.objects.filter(auction=auction, withdrawn_at__isnull=True)
        .order_by("-max_amount", "max_sequence")
        .values_list("buyer_id", "max_amount", "bidder_ref")[:2]
    ]


@transaction.atomic
def bid_place(
    *, auction_id: int, buyer, max_amount: Decimal, source: str = BidSource.API, now: datetime | None = None
) -> Bid:
    """State (or raise) a buyer's maximum; the ledger holds it (a raise holds the difference).

    Takes select_for_update on the auction, so bids on one auction are serialised; raises
    BidRejected and writes nothing when the bid is refused or the buyer cannot cover it.
    """
    now = now or timezone.now()
    if source not in BidSource.values:
        raise ValueError(f"Unknown bid source {source!r}.")
    auction = Auction.objects.select_for_update(of=("self",)).select_related("vertical").filter(pk=auction_id).first()
    if auction is None:
        raise BidRejected("No such auction.", kind=BidRejected.NOT_FOUND, code="not_found")
    check_bidder(auction=auction, buyer=buyer)
    if auction.status != AuctionStatus.OPEN or now >= auction.deadline:
        raise BidRejected("This auction has closed.", kind=BidRejected.CLOSED, code="closed")
    amount = _check_bid_amount(max_amount)
    refusal = funds_check(
        buyer=buyer,
        settle_by=auction.deadline
        + timedelta(seconds=soft_close_extension() * max(max_extensions() - auction.extensions, 0)),
    )
    if refusal:
        raise BidRejected(refusal, kind=BidRejected.INVALID, code="funds_leaving", field="max_amount")

    mine = AuctionBidder.objects.filter(auction=auction, buyer=buyer).first()
    if mine is not None and mine.withdrawn_at is not None:
        mine.released_at = mine.withdrawn_at = None  # withdrawn (its money left the vault): bidding again re-enters
        mine.max_amount = mine.held_amount = Decimal("0")
    previous = mine.max_amount if mine else Decimal("0")
    floor = opening_price(auction.reserve_price)
    if amount < floor:
        raise BidRejected(
            f"Below the reserve: the maximum must be at least {floor:f} USDC.",
            kind=BidRejected.INVALID,
            code="below_reserve",
            field="max_amount",
        )
    if mine is not None and amount <= previous:
        raise BidRejected(
            f"Your maximum is already {previous:f} USDC; a new maximum must be higher.",
            kind=BidRejected.INVALID,
            code="not_higher",
            field="max_amount",
        )
    if auction.leader_id is not None and auction.leader_id != buyer.pk:
        least = minimum_bid(reserve=auction.reserve_price, price=auction.price)
        if amount < least:
            raise BidRejected(
                f"Too low: the price is {auction.price:f} USDC, so the maximum must be at least {least:f} USDC.",
                kind=BidRejected.INVALID,
                code="too_low",
                field="max_amount",
            )

    sequence = auction.bid_count + 1
    if mine is None:
        ref = bidlog.bidder_pseudonym(salt=auction.log_salt, user_id=buyer.pk)
        mine = AuctionBidder.objects.create(
            auction=auction,
            buyer=buyer,
            max_amount=amount,
            held_amount=amount,
            max_sequence=sequence,
            bidder_ref=ref,
            created_at=now,
            updated_at=now,
        )
        auction.bidder_count += 1
    else:
        mine.max_amount, mine.held_amount, mine.max_sequence, mine.updated_at = amount, amount, sequence, now
        mine.save(
            update_fields=["max_amount", "held_amount", "max_sequence", "updated_at", "released_at", "withdrawn_at"]
        )

    top = _ranked(auction)
    price = proxy_price(reserve=auction.reserve_price, maxima=[r.max_amount for r in top])
    previous_leader = auction.leader_id
    entry = bidlog.make_entry(
        auction_id=auction.pk,
        sequence=sequence,
        bidder=mine.bidder_ref,
        max_amount=amount,
        price=price,
        leader=top[0].bidder_ref,
        at=now,
        prev_hash=auction.log_head,
    )
    bid = Bid.objects.create(
        auction=auction,
        buyer=buyer,
        source=source,
        sequence=sequence,
        bidder_ref=mine.bidder_ref,
        max_amount=amount,
        previous_max=previous,
        price=price,
        leader_ref=top[0].bidder_ref,
        created_at=now,
        prev_hash=entry["prev_hash"],
        hash=entry["hash"],
    )
    try:
        ledger_hold(
            user=buyer, amount=amount - previous, idempotency_key=f"bid:{bid.pk}", memo=f"bid on auction {auction.pk}"
        )
    except InsufficientFunds as exc:
        # Raising out of this atomic block rolls back the bid, the standing maximum and the log entry.
        raise BidRejected(
            f"Insufficient funds: this bid needs {amount - previous:f} USDC more on hold, and your "
            f"available balance is {exc.balance:f} USDC.",
            kind=BidRejected.INVALID,
            code="insufficient_funds",
            field="max_amount",
        ) from exc

    extended = False
    if (auction.deadline - now).total_seconds() <= soft_close_seconds() and auction.extensions < max_extensions():
        auction.deadline += timedelta(seconds=soft_close_extension())
        auction.extensions += 1
        extended = True
    auction.leader_id, auction.price, auction.bid_count, auction.log_head = top[0].buyer_id, price, sequence, bid.hash
    auction.save(update_fields=["leader", "price", "bid_count", "bidder_count", "log_head", "deadline", "extensions"])

    group = vertical_group(auction.vertical.slug)
    group_send_on_commit(
        group=group,
        payload={
            "type": "auction.price",
            "auction_id": auction.pk,
            "price": bidlog.usdc_text(price),
            "reserve_met": reserve_met(reserve=auction.reserve_price, price=price),
            "bid_count": sequence,
            "leader": top[0].bidder_ref,
            "deadline": auction.deadline.isoformat(),
            # What anyone but the leader must now bid at least (the room's hint follows it).
            "minimum_bid": bidlog.usdc_text(minimum_bid(reserve=auction.reserve_price, price=price)),
        },
    )
    if extended:
        group_send_on_commit(
            group=group,
            payload={
                "type": "auction.extended",
                "auction_id": auction.pk,
                "deadline": auction.deadline.isoformat(),
                "extensions": auction.extensions,
            },
        )
        auction_id_, deadline = auction.pk, auction.deadline
        transaction.on_commit(lambda: _deadline_set(auction_id_, deadline))
    if previous_leader and previous_leader != top[0].buyer_id:
        group_send_on_commit(
            group=user_group(previous_leader),
            payload={"type": "outbid", "auction_id": auction.pk, "price": bidlog.usdc_text(price)},
        )
        outbid_notify(auction_id=auction.pk, buyer_id=previous_leader, price=price, sequence=sequence)
    logger.info("bid placed", extra={"auction_id": auction.pk, "bid_sequence": sequence, "extended": extended})
    return bid


@transaction.atomic
def auction_bidder_withdraw(*, auction_id: int, buyer_id: int, reason: str, now: datetime | None = None) -> Decimal:
    """Withdraw a buyer's standing maximum from an open auction because the money behind it is
    leaving the vault (escrow/services/exits.py): its hold is released, the bidder stops ranking and the
    price is set again from the others (the bid log keeps its bids). Returns the USDC released
    (0 when nothing is held or the auction is closed). Lock order as bid_place: the auction row,
    then ledger accounts."""
    now = now or timezone.now()
    auction = Auction.objects.select_for_update(of=("self",)).select_related("vertical").filter(pk=auction_id).first()
    if auction is None or auction.status != AuctionStatus.OPEN:
        return Decimal("0")
    mine = (
        AuctionBidder.objects.select_related("buyer")
        .filter(auction=auction, buyer_id=buyer_id, released_at__isnull=True, withdrawn_at__isnull=True)
        .first()
    )
    if mine is None or mine.held_amount <= 0:
        return Decimal("0")
    released = mine.held_amount
    ledger_release(
        user=mine.buyer,
        amount=released,
        idempotency_key=f"withdrawn:{auction.pk}:{buyer_id}:{mine.max_sequence}",
        memo=f"bid on auction {auction.pk} withdrawn: {reason}"[:255],
    )
    mine.held_amount, mine.released_at, mine.withdrawn_at, mine.updated_at = Decimal("0"), now, now, now
    mine.save(update_fields=["held_amount", "released_at", "withdrawn_at", "updated_at"])
    top = _ranked(auction)
    if top:
        price = proxy_price(reserve=auction.reserve_price, maxima=[r.max_amount for r in top])
        auction.leader_id, auction.price = top[0].buyer_id, price
    else:
        auction.leader_id, auction.price = None, None
    auction.save(update_fields=["leader", "price"])
    group_send_on_commit(
        group=vertical_group(auction.vertical.slug),
        payload={
            "type": "auction.price",
            "auction_id": auction.pk,
            "price": bidlog.usdc_text(auction.price) if auction.price is not None else None,
            "reserve_met": auction.reserve_met,
            "bid_count": auction.bid_count,
            "leader": top[0].bidder_ref if top else None,
            "deadline": auction.deadline.isoformat(),
        },
    )
    group_send_on_commit(
        group=user_group(buyer_id),
        payload={
            "type": "bid.withdrawn",
            "auction_id": auction.pk,
            "released": bidlog.usdc_text(released),
            "reason": reason,
        },
    )
    logger.info("bid withdrawn", extra={"auction_id": auction.pk, "buyer_id": buyer_id})
    return released


# ---------------------------------------------------------------- closing


def _money_settle(*, auction: Auction, bidders: list[AuctionBidder], winner, escrow) -> None:
    """The close's money in one batch of postings (ledger_post_many: the bidders' accounts locked
    together in id order, so concurrent closes never deadlock): the winner's clearing price from
    their hold into the sale's escrow (key `sale:<auction>`), every other held cent released (key
    `release:<auction>:<buyer>`). Caller holds the auction's row lock."""
    postings = []
    if winner is not None:
        postings.append(
            Posting(
                kind=LedgerTransactionKind.CAPTURE,
                idempotency_key=f"sale:{auction.pk}",
                memo=f"auction {auction.pk} won",
                entries=[
                    (AccountSpec(LedgerAccountKind.USER_HELD, winner.buyer_id), -auction.price),
                    (escrow, auction.price),
                ],
            )
        )
    for bidder in bidders:
        rest = bidder.held_amount - (auction.price if bidder is winner else Decimal("0"))
        if rest > 0:
            postings.append(
                Posting(
                    kind=LedgerTransactionKind.RELEASE,
                    idempotency_key=f"release:{auction.pk}:{bidder.buyer_id}",
                    memo=f"auction {auction.pk} closed",
                    entries=[
                        (AccountSpec(LedgerAccountKind.USER_HELD, bidder.buyer_id), -rest),
                        (AccountSpec(LedgerAccountKind.USER_AVAILABLE, bidder.buyer_id), rest),
                    ],
                )
            )
    ledger_post_many(postings=postings)


@transaction.atomic
def auction_close(*, auction_id: int, now: datetime | None = None, skip_locked: bool = False) -> Auction | None:
    """Close an auction at or after its deadline, exactly once: the winner's clearing price goes
    from their hold into the sale's escrow, every other held cent is released, a Sale is recorded
    and the lead becomes SOLD (else UNSOLD). Before the deadline, or when already closed, a no-op.

    `closed_at` is the time the close finished its work (just before COMMIT), so lateness counts
    the close's own duration. With skip_locked (the sweep), an auction whose row another closer
    holds is left to it: returns None."""
    clock_given = now is not None
    now = now or timezone.now()
    # The auction and its lead in one statement, both locked (the auction's row first: lock order),
    # with the vertical's ancestors (the bounties a sale pays are on the vertical or above it).
    auction = (
        Auction.objects.select_for_update(of=("self", "lead"), skip_locked=skip_locked)
        .select_related("vertical__parent__parent", "lead")
        .filter(pk=auction_id)
        .first()
    )
    if auction is None or auction.status != AuctionStatus.OPEN or now < auction.deadline:
        return auction
    lead = auction.lead
    lead.vertical = auction.vertical  # the same row (a lead is listed in its own vertical)
    bidders = list(AuctionBidder.objects.filter(auction=auction, released_at__isnull=True).order_by("buyer_id"))
    # Autobid budgets trued up to the price paid, before the ledger accounts are locked (lock order:
    # auction, usage rows, accounts; see auctions.services.autobid).
    sold = auction.leader_id is not None and auction.price is not None and auction.price >= auction.reserve_price
    auction_closing.send(
        sender=Auction,
        auction=auction,
        winner_buyer_id=auction.leader_id if sold else None,
        price=auction.price if sold else None,
        now=now,
    )

    winner = next(b for b in bidders if b.buyer_id == auction.leader_id) if sold else None
    escrow = platform_account_ensure(kind=LedgerAccountKind.ESCROW, reference=f"sale:{auction.pk}") if winner else None
    _money_settle(auction=auction, bidders=bidders, winner=winner, escrow=escrow)
    AuctionBidder.objects.filter(pk__in=[b.pk for b in bidders]).update(held_amount=Decimal("0"), released_at=now)
    for bidder in bidders:
        bidder.held_amount, bidder.released_at = Decimal("0"), now

    sale = None
    if winner is not None:
        sale = sale_record(
            auction=auction,
            lead=lead,
            buyer_id=winner.buyer_id,
            seller_id=auction.seller_id,
            price=auction.price,
            escrow=escrow,
            now=now,
        )
        lead_transition(lead=lead, to_status=LeadStatus.SOLD, reason=f"auction {auction.pk}: sold", price=auction.price)
        auction.result = AuctionResult.SOLD
    else:
        lead_transition(lead=lead, to_status=LeadStatus.UNSOLD, reason=f"auction {auction.pk}: no bid at reserve")
        auction.result = AuctionResult.UNSOLD
        buy_now_list(auction=auction, now=now)
    auction.status, auction.closed_at = AuctionStatus.CLOSED, (now if clock_given else timezone.now())
    auction.save(update_fields=["status", "result", "closed_at"])

    price_text = bidlog.usdc_text(auction.price) if sale else None
    group_send_on_commit(
        group=vertical_group(auction.vertical.slug),
        payload={
            "type": "auction.closed",
            "auction_id": auction.pk,
            "result": auction.result,
            "price": price_text,
            "bid_log_head": auction.log_head,
        },
    )
    for bidder in bidders:
        won = bidder is winner
        group_send_on_commit(
            group=user_group(bidder.buyer_id),
            payload={
                "type": "won" if won else "lost",
                "auction_id": auction.pk,
                "price": price_text,
                "sale_id": sale.pk if won else None,
            },
        )
        result_notify(auction_id=auction.pk, buyer_id=bidder.buyer_id, won=won, price=auction.price)
    lateness, result = (auction.closed_at - auction.deadline).total_seconds(), auction.result
    logger.info("auction closed", extra={"auction_id": auction.pk, "result": result, "lateness_seconds": lateness})

    def _observe():  # only closes that committed count (fill rate = sold / all)
        CLOSE_LATENESS.observe(lateness)
        AUCTIONS_CLOSED.labels(result=result).inc()

    transaction.on_commit(_observe)
    return auction


def auction_close_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweep: close every open auction past its deadline (each in its own transaction).
    Returns how many this sweep closed. Safe to run concurrently with itself and with the
    scheduled closes: an auction another closer holds is skipped (it is being closed), and a
    close does nothing the second time."""
    closed = 0
    for auction_id in auction_overdue_ids(now=now, limit=limit):
        auction = auction_close(auction_id=auction_id, now=now, skip_locked=True)
        if auction is not None and auction.status == AuctionStatus.CLOSED and auction.closed_at is not None:
            closed += 1
    return closed
