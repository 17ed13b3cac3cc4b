"""Reads for the buyer's pages: the marketplace list, the live-state endpoint, my bids, my wins and
the buy-now list.

Reads only. Lists are keyset-paginated on (created_at, id) or id, newest first: a cursor is the
last row's key, so a page costs the same however deep it is and rows never repeat or vanish
when new auctions open while the buyer pages.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef

from auctions.choices import AuctionResult, AuctionStatus, BidderStatus
from auctions.filters import BUY_NOW_PAGE_SIZE, BuyNowFilter
from auctions.models import Auction, AuctionBidder, Sale
from auctions.selectors.auctions import auction_visible_q, minimum_bid_for
from auctions.services.buynow import buy_now_list_open, buy_now_previews
from config import db_router
from core.paging import Page, page_newest_first, page_newest_id_first
from leads.seller_reputation import seller_reputation_annotations
from verticals.choices import VerticalStatus
from verticals.models import Vertical
from verticals.selectors import vertical_watchable_q

PAGE_SIZE = 25
MAX_IDS = 100


# ---------------------------------------------------------------- marketplace


def vertical_list_watchable(*, user) -> list[Vertical]:
    """Active verticals whose auctions this user may follow live (verticals.selectors.
    vertical_watchable_q: an exclusive vertical admits only its listed buyers, and staff), by name.
    The socket's group join (marketplace.consumers) uses the same rule."""
    qs = Vertical.objects.filter(status=VerticalStatus.ACTIVE).filter(vertical_watchable_q(user=user))
    return list(qs.order_by("name", "slug"))


def auction_list_marketplace(
    *,
    user,
    vertical_ids: list[int],
    state: str = "",
    min_score: int | None = None,
    cursor: str = "",
    size: int = PAGE_SIZE,
) -> Page:
    """Open auctions in the given verticals that `user` may see (auctions.selectors.auctions.
    auction_visible_q), newest first ((created_at, id) keyset), each with its seller's reputation
    in the vertical (leads.seller_reputation.seller_reputation_of).

    Stale-tolerant (may read the replica); the row's live values come over the socket."""
    qs = (
        Auction.objects.select_related("lead", "vertical")
        .annotate(**seller_reputation_annotations())
        .filter(status=AuctionStatus.OPEN, vertical_id__in=vertical_ids)
        .filter(auction_visible_q(user=user))
    )
    if state:
        qs = qs.filter(lead__state=state.upper())
    if min_score is not None:
        qs = qs.filter(lead__quality_score__gte=min_score)
    return page_newest_first(qs, cursor=cursor, size=size)


def bidder_status(*, auction: Auction, user_id: int, has_bid: bool) -> str:
    """leading / outbid while open, won / lost after close, none without a bid."""
    if not has_bid:
        return BidderStatus.NONE
    if auction.status == AuctionStatus.OPEN:
        return BidderStatus.LEADING if auction.leader_id == user_id else BidderStatus.OUTBID
    won = auction.leader_id == user_id and auction.result == AuctionResult.SOLD
    return BidderStatus.WON if won else BidderStatus.LOST


def auction_states_for(*, auction_ids: list[int], user) -> list[dict]:
    """The live values of the auctions among `auction_ids` that `user` may see (auctions.selectors.auctions.
    auction_visible_q; others are left out) for one caller: the polling fallback. Two queries.

    Reads the primary: a bidder polling right after their bid must see it."""
    ids = list(dict.fromkeys(auction_ids))[:MAX_IDS]
    with db_router.primary():
        qs = Auction.objects.filter(pk__in=ids).filter(auction_visible_q(user=user))
        auctions = list(
            qs.only(
                "id", "status", "result", "price", "reserve_price", "deadline", "bid_count", "leader_id", "closed_at"
            )
        )
        mine = dict(
            AuctionBidder.objects.filter(auction_id__in=[a.pk for a in auctions], buyer_id=user.pk).values_list(
                "auction_id", "max_amount"
            )
        )
    out = []
    for a in auctions:
        my_max = mine.get(a.pk)
        status = bidder_status(auction=a, user_id=user.pk, has_bid=my_max is not None)
        least = minimum_bid_for(auction=a, my_max=my_max, status=status)
        out.append(
            {
                "id": a.pk,
                "status": a.status,
                "result": a.result,
                "price": f"{a.price:f}" if a.price is not None else None,
                "reserve_met": a.reserve_met,
                "deadline": a.deadline.isoformat(),
                "bid_count": a.bid_count,
                "my_max": f"{my_max:f}" if my_max is not None else None,
                "my_status": status,
                "minimum_bid": f"{least:f}" if least is not None else None,
            }
        )
    return out


# ---------------------------------------------------------------- my bids, my wins


@dataclass(frozen=True)
class MyBidRow:
    auction: Auction
    my_max: Decimal
    status: str

    @property
    def status_label(self) -> str:
        return BidderStatus(self.status).label


def bid_list_for_buyer(*, buyer, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """Every auction the buyer bid in with their standing maximum, newest first (id keyset).

    Primary: a buyer looks here right after bidding."""
    qs = AuctionBidder.objects.filter(buyer=buyer).select_related("auction__vertical", "auction__lead")
    with db_router.primary():
        page = page_newest_id_first(qs, cursor=cursor, size=size)
    rows = [
        MyBidRow(b.auction, b.max_amount, bidder_status(auction=b.auction, user_id=buyer.pk, has_bid=True))
        for b in page.rows
    ]
    return Page(rows, page.next_cursor)


def win_list_for_buyer(*, buyer, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """The buyer's purchases (won auctions and buy-now), newest first ((created_at, id) keyset),
    each with the buyer's maximum when it was an auction (`my_max`, None for buy-now)."""
    my_max = AuctionBidder.objects.filter(auction_id=OuterRef("auction_id"), buyer_id=buyer.pk).values("max_amount")
    qs = Sale.objects.filter(buyer=buyer).select_related("auction__vertical", "lead").annotate(my_max=my_max[:1])
    with db_router.primary():
        return page_newest_first(qs, cursor=cursor, size=size)


# ---------------------------------------------------------------- buy now


@dataclass(frozen=True)
class BuyNowPage:
    filters: BuyNowFilter  # the checked parameters, for the form
    errors: dict[str, list[str]]  # by parameter; no rows when there are any
    rows: list[dict]  # buy_now_previews
    next_cursor: str  # empty on the last page


def buy_now_page_for_buyer(*, user, params, cursor: str = "") -> BuyNowPage:
    """One page of the open buy-now listings `user` may see, filtered by `params` (auctions.filters.
    BuyNowFilter: vertical, state, min_score, max_price, page_size), newest first ((created_at, id)
    keyset). A query count that does not grow with the rows. Stale-tolerant: the purchase itself
    decides on the primary."""
    filters = BuyNowFilter(params, queryset=buy_now_list_open(user=user), verticals=vertical_list_watchable(user=user))
    if not filters.is_valid():
        return BuyNowPage(filters, filters.errors_by_parameter(), [], "")
    size = filters.form.cleaned_data.get("page_size") or BUY_NOW_PAGE_SIZE
    page = page_newest_first(filters.qs, cursor=cursor, size=size)
    return BuyNowPage(filters, {}, buy_now_previews(listings=page.rows), page.next_cursor)
