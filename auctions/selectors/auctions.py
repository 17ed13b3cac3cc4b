"""Reads for asks and auctions. Anything that decides money or a bid reads the primary (the
services lock rows themselves); the marketplace list may come from the replica."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Q, QuerySet
from django.utils import timezone

from auctions import bidlog
from auctions.choices import AuctionStatus, BidderStatus
from auctions.models import Ask, Auction, AuctionBidder, Bid
from auctions.pricing import USDC_QUANTUM, minimum_bid
from config import db_router
from leads.seller_reputation import seller_reputation_annotations
from verticals.selectors import vertical_admits_buyer, vertical_open_to_q

RECENT_CLOSED = timedelta(hours=24)


# ---------------------------------------------------------------- asks


@dataclass(frozen=True)
class ListingTerms:
    """What an auction of a lead opens with: from the matching Ask, else the vertical."""

    ask: Ask | None
    reserve_price: Decimal
    buy_now_price: Decimal
    duration_seconds: int
    auto_list: bool


def ask_list_for_seller(*, seller) -> QuerySet:
    return Ask.objects.filter(seller=seller).select_related("vertical").order_by("-created_at", "-id")


def ask_match(*, seller_id: int, vertical_id: int, state: str) -> Ask | None:
    """The seller's most specific active Ask for the vertical covering `state`: the one with the
    fewest states that include it, else the all-states one."""
    asks = list(Ask.objects.filter(seller_id=seller_id, vertical_id=vertical_id, active=True).order_by("id"))
    covering = [a for a in asks if a.states and state and state.upper() in a.states]
    if covering:
        return min(covering, key=lambda a: (len(a.states), -a.pk))
    catch_all = [a for a in asks if not a.states]
    return catch_all[-1] if catch_all else None


def ask_terms_for_lead(*, lead) -> ListingTerms:
    vertical = lead.vertical
    ask = ask_match(seller_id=lead.seller_id, vertical_id=lead.vertical_id, state=lead.state)
    if ask is None:
        return ListingTerms(
            None, vertical.reserve_price, vertical.buy_now_price, vertical.auction_duration_seconds, True
        )
    reserve = ask.reserve_price if ask.reserve_price is not None else vertical.reserve_price
    if ask.buy_now_price is not None:
        buy_now = ask.buy_now_price
    else:
        buy_now = (reserve * (ask.buy_now_multiplier or vertical.buy_now_multiplier)).quantize(USDC_QUANTUM)
    duration = ask.duration_seconds or vertical.auction_duration_seconds
    return ListingTerms(ask, reserve, buy_now, duration, ask.auto_list)


# ---------------------------------------------------------------- who sees an auction (the one rule)


def auction_visible_q(*, user, prefix: str = "") -> Q:
    """Who may see an auction — and the buy-now listing of its lead (prefix "auction__") — on
    every path: the REST list and detail, the marketplace, the auction room, buy-now pages and API,
    polling, bids. An open vertical's auctions: every signed-in user. An exclusive vertical's: its
    listed buyers (verticals.selectors.vertical_open_to_q), the lead's seller, and staff (who may
    look but not bid). Anyone else is told the auction does not exist. The live socket follows
    whole verticals (verticals.selectors.vertical_watchable_q: the same rule without the seller,
    who may not follow other sellers' leads), and autobid bids only for admitted buyers."""
    if not getattr(user, "is_authenticated", False):
        return vertical_open_to_q(vertical=OuterRef(f"{prefix}vertical_id"), user_id=None)
    if user.is_staff and user.is_active:
        return Q()
    return vertical_open_to_q(vertical=OuterRef(f"{prefix}vertical_id"), user_id=user.pk) | Q(
        **{f"{prefix}seller_id": user.pk}
    )


def auction_is_visible(*, auction: Auction, user) -> bool:
    """auction_visible_q for one loaded auction: no query for staff or its seller, one otherwise."""
    if getattr(user, "is_authenticated", False) and (
        (user.is_staff and user.is_active) or auction.seller_id == user.pk
    ):
        return True
    return Auction.objects.filter(pk=auction.pk).filter(auction_visible_q(user=user)).exists()


def buyer_refusal(*, buyer, seller_id: int, vertical, verb: str) -> tuple[str, str] | None:
    """The one rule for who may put money on a lead they can see (a bid, a buy-now): (code,
    message) when `buyer` may not — not an active buyer account, their own lead, staff not listed
    on an exclusive vertical — else None. `verb` words the message ("bid", "buy leads")."""
    if not getattr(buyer, "is_buyer", False) or not buyer.is_active:
        return "not_a_buyer", f"Only buyer accounts can {verb}. Enable buying on your account page."
    if seller_id == buyer.pk:
        return "own_lead", f"You cannot {verb.removesuffix(' leads')} your own lead."
    # Visible to a non-staff buyer who is not its seller means admitted; staff see every lead.
    if buyer.is_staff and not vertical_admits_buyer(vertical=vertical, user=buyer):
        return "exclusive_vertical", "This vertical is exclusive to its listed buyers."
    return None


def auction_get_visible(*, auction_id: int, user) -> Auction:
    """One auction for display to `user` (primary: a bidder must see their own bid at once);
    Auction.DoesNotExist when it is missing or not visible to them (callers answer 404)."""
    with db_router.primary():
        return (
            Auction.objects.select_related("lead", "vertical", "leader")
            .annotate(**seller_reputation_annotations())
            .filter(auction_visible_q(user=user))
            .get(pk=auction_id)
        )


# ---------------------------------------------------------------- auctions


def auction_list_live(
    *,
    user,
    vertical: str = "",
    state: str = "",
    min_score: int | None = None,
    closing_within: int | None = None,
    status: str = "",
    now: datetime | None = None,
) -> QuerySet:
    """Open auctions and those closed in the last 24 h that `user` may see, newest first
    ((created_at, id) cursor), each with its seller's reputation in the vertical (rep_* columns).

    Stale-tolerant: may read the replica."""
    now = now or timezone.now()
    qs = (
        Auction.objects.select_related("lead", "vertical")
        .annotate(**seller_reputation_annotations())
        .filter(Q(status=AuctionStatus.OPEN) | Q(status=AuctionStatus.CLOSED, closed_at__gte=now - RECENT_CLOSED))
        .filter(auction_visible_q(user=user))
    )
    if vertical:
        qs = qs.filter(vertical__slug=vertical)
    if state:
        qs = qs.filter(lead__state=state.upper())
    if min_score is not None:
        qs = qs.filter(lead__quality_score__gte=min_score)
    if closing_within is not None:
        qs = qs.filter(status=AuctionStatus.OPEN, deadline__lte=now + timedelta(seconds=closing_within))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def auction_get(*, auction_id: int) -> Auction:
    """One auction whoever asks (primary). Pages and the API show auctions through
    auction_get_visible; this is for paths with their own access rule (the bid log, the answer
    to a bid the auction admitted)."""
    with db_router.primary():
        return (
            Auction.objects.select_related("lead", "vertical", "leader")
            .annotate(**seller_reputation_annotations())
            .get(pk=auction_id)
        )


@dataclass(frozen=True)
class BidderView:
    my_max: Decimal | None
    my_status: str
    my_ref: str
    minimum_bid: Decimal | None

    @property
    def my_status_label(self) -> str:
        return BidderStatus(self.my_status).label


def minimum_bid_for(*, auction: Auction, my_max: Decimal | None, status: str) -> Decimal | None:
    """The least maximum this caller may state now (None once closed): one increment over the
    price, or over their own maximum when they lead or already stand higher."""
    if auction.status != AuctionStatus.OPEN:
        return None
    next_min = (
        my_max + USDC_QUANTUM
        if status == BidderStatus.LEADING
        else minimum_bid(reserve=auction.reserve_price, price=auction.price)
    )
    if my_max is not None and next_min <= my_max:
        next_min = my_max + USDC_QUANTUM
    return next_min


def auction_view_for(*, auction: Auction, user) -> BidderView:
    """The caller's maximum and standing in the auction."""
    mine = None
    if user is not None and user.is_authenticated:
        with db_router.primary():
            mine = AuctionBidder.objects.filter(auction=auction, buyer=user).first()
    if mine is None:
        status = BidderStatus.NONE
    elif auction.status == AuctionStatus.OPEN:
        status = BidderStatus.LEADING if auction.leader_id == user.pk else BidderStatus.OUTBID
    else:
        status = BidderStatus.WON if auction.leader_id == user.pk and auction.result == "sold" else BidderStatus.LOST
    my_max = mine.max_amount if mine else None
    return BidderView(
        my_max, status, mine.bidder_ref if mine else "", minimum_bid_for(auction=auction, my_max=my_max, status=status)
    )


def auction_time_left(*, auction: Auction, now: datetime | None = None) -> float:
    if auction.status != AuctionStatus.OPEN:
        return 0.0
    return max(0.0, (auction.deadline - (now or timezone.now())).total_seconds())


def auction_can_read_log(*, auction: Auction, user) -> bool:
    """Participants, the seller, staff, and whoever may read the sale as its purchaser (a buy-now
    buyer, the LeadNFT's owner after a resale) may read an auction's bid log."""
    if not user.is_authenticated:
        return False
    if user.is_staff or auction.seller_id == user.pk:
        return True
    if AuctionBidder.objects.filter(auction=auction, buyer=user).exists():
        return True
    return any(reader(auction=auction, user=user) for reader in BID_LOG_READERS)


# Further "may read this auction's bid log" checks from apps built on auctions (escrow registers
# the purchase's reader); each is called as check(auction=, user=) -> bool.
BID_LOG_READERS: list = []


def bid_log_entries(*, auction: Auction) -> list[dict]:
    """The auction's bid log as the JSON entries whose hashes chain (see auctions.bidlog)."""
    with db_router.primary():
        bids = list(Bid.objects.filter(auction=auction).order_by("sequence"))
    out = []
    for bid in bids:
        entry = {
            "auction": bid.auction_id,
            "sequence": bid.sequence,
            "bidder": bid.bidder_ref,
            "max_amount": bidlog.usdc_text(bid.max_amount),
            "price": bidlog.usdc_text(bid.price),
            "leader": bid.leader_ref,
            "at": bidlog.timestamp_text(bid.created_at),
            "prev_hash": bid.prev_hash,
            "hash": bid.hash,
        }
        out.append(entry)
    return out


def auction_overdue_ids(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Open auctions whose deadline has passed, oldest deadline first (the sweep's work)."""
    now = now or timezone.now()
    with db_router.primary():
        return list(
            Auction.objects.filter(status=AuctionStatus.OPEN, deadline__lte=now)
            .order_by("deadline", "id")
            .values_list("pk", flat=True)[:limit]
        )


def auction_held_total(*, auction: Auction) -> Decimal:
    """What the ledger should hold for this auction: the sum of standing maxima not released."""
    total = Decimal("0")
    for held in AuctionBidder.objects.filter(auction=auction).values_list("held_amount", flat=True):
        total += held
    return total
