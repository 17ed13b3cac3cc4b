"""Pages: the seller's asks, a minimal auction room and the buy-now list. Thin: services and selectors do the work."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from auctions.api.views import bid_log_body
from auctions.choices import AuctionStatus, BidderStatus, BidSource
from auctions.filters import BUY_NOW_PAGE_SIZE, BUY_NOW_PAGE_SIZES
from auctions.forms.auctions import AskForm, BidForm
from auctions.models import Ask, Auction
from auctions.selectors import auctions as auction_selectors
from auctions.selectors import autobid as autobid_selectors
from auctions.selectors import pages as page_selectors
from auctions.services import auctions as auction_services
from auctions.services import buynow
from core.display import usdc_text
from leads.selectors import lead_field_values
from leads.seller_reputation import seller_reputation_of
from leads.validation import US_STATES
from leads.views.seller import seller_required


@require_GET
@seller_required
def ask_list(request):
    return render(
        request, "auctions/ask_list.html", {"asks": auction_selectors.ask_list_for_seller(seller=request.user)}
    )


def _ask_form_page(request, *, ask: Ask | None):
    if request.method == "POST":
        form = AskForm(request.POST)
        if form.is_valid():
            try:
                if ask is None:
                    auction_services.ask_create(seller=request.user, **form.cleaned_data)
                    messages.success(request, "Ask created.")
                else:
                    auction_services.ask_update(ask=ask, **form.cleaned_data)
                    messages.success(request, "Ask saved.")
                return redirect("ask-list")
            except auction_services.AskInvalid as exc:
                for name, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(None if name not in form.fields else name, error)
    else:
        form = AskForm(initial=AskForm.initial_for(ask) if ask else None)
    return render(request, "auctions/ask_form.html", {"form": form, "ask": ask})


@require_http_methods(["GET", "POST"])
@seller_required
def ask_new(request):
    return _ask_form_page(request, ask=None)


@require_http_methods(["GET", "POST"])
@seller_required
def ask_edit(request, ask_id: int):
    return _ask_form_page(request, ask=get_object_or_404(Ask, pk=ask_id, seller=request.user))


@require_POST
@seller_required
def ask_delete(request, ask_id: int):
    auction_services.ask_delete(ask=get_object_or_404(Ask, pk=ask_id, seller=request.user))
    messages.success(request, "Ask deleted.")
    return redirect("ask-list")


def _auction(auction_id: int, *, user=None) -> Auction:
    """The auction as `user` may see it (auction_selectors.auction_visible_q), or whoever asks without a
    user (the bid log, which has its own rule); 404 when it is not there for them."""
    try:
        if user is None:
            return auction_selectors.auction_get(auction_id=auction_id)
        return auction_selectors.auction_get_visible(auction_id=auction_id, user=user)
    except Auction.DoesNotExist:
        raise Http404("No such auction.") from None


@require_http_methods(["GET", "POST"])
@login_required
def auction_room(request, auction_id: int):
    """Price, deadline, your standing and a bid form. The live page comes with the consumers. An
    exclusive vertical's auction is a 404 to everyone but its listed buyers, its seller and staff."""
    auction = _auction(auction_id, user=request.user)
    form = BidForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            bid = auction_services.bid_place(
                auction_id=auction.pk,
                buyer=request.user,
                max_amount=form.cleaned_data["max_amount"],
                source=BidSource.WEB,
            )
            messages.success(request, f"Your maximum of {usdc_text(bid.max_amount)} is in.")
            return redirect("auction-room", auction_id=auction.pk)
        except auction_services.BidRejected as exc:
            form.add_error("max_amount" if exc.field == "max_amount" else None, exc.message)
            status = {"forbidden": 403, "closed": 409}.get(exc.kind, 400)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "auctions/auction_room.html",
        {
            "auction": auction,
            "form": form,
            "view": auction_selectors.auction_view_for(auction=auction, user=request.user),
            "lead_fields": lead_field_values(leads=[auction.lead])[auction.lead_id],
            "seller_reputation": seller_reputation_of(auction),
            "status_labels": dict(BidderStatus.choices),
            "time_left": auction_selectors.auction_time_left(auction=auction),
            "is_open": auction.status == AuctionStatus.OPEN,
            "can_read_log": auction_selectors.auction_can_read_log(auction=auction, user=request.user),
            # The buyer's own autobid traces and a dry run (auctions.selectors.autobid); None for non-buyers.
            "autobid": (
                autobid_selectors.autobid_explain_for_auction(auction=auction, buyer=request.user)
                if request.user.is_buyer
                else None
            ),
        },
        status=status,
    )


@require_GET
@login_required
def auction_bid_log_download(request, auction_id: int):
    """The bid log as a JSON file (same access and contents as the API)."""
    auction = _auction(auction_id)
    if not auction_selectors.auction_can_read_log(auction=auction, user=request.user):
        raise Http404("No such auction.")
    body = json.dumps(bid_log_body(auction=auction, user=request.user), indent=2, sort_keys=True)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="auction-{auction.pk}-bid-log.json"'
    return response


# The buy-now list's parameters, with the words the page uses for them.
BUY_NOW_PARAMS = {
    "vertical": "Vertical",
    "state": "State",
    "min_score": "Minimum score",
    "max_price": "Maximum price",
    "page_size": "Per page",
}


def _buy_now_list_url(params) -> str:
    """The list with only its own parameters (filters, page size, cursor) from `params`."""
    kept = QueryDict(mutable=True)
    for name in (*BUY_NOW_PARAMS, "cursor"):
        value = (params.get(name) or "").strip()
        if value:
            kept[name] = value[:200]
    query = kept.urlencode()
    return reverse("buy-now-list") + (f"?{query}" if query else "")


@require_GET
@login_required
def buy_now_list_page(request):
    """Open buy-now listings, filtered (auctions.filters.BuyNowFilter) and keyset-paged, each with a
    Buy button that leads to a confirmation. Bad filters: the form says what is wrong (400)."""
    cursor = (request.GET.get("cursor") or "")[:200]
    result = page_selectors.buy_now_page_for_buyer(user=request.user, params=request.GET, cursor=cursor)
    next_query = request.GET.copy()
    next_query["cursor"] = result.next_cursor
    here = _buy_now_list_url(request.GET)
    return render(
        request,
        "auctions/buy_now.html",
        {
            "form": {name: (request.GET.get(name) or "").strip() for name in BUY_NOW_PARAMS},
            "verticals": result.filters.filters["vertical"].extra["choices"],
            "states": sorted(US_STATES),
            "page_sizes": BUY_NOW_PAGE_SIZES,
            "page_size": BUY_NOW_PAGE_SIZE,
            "errors": {name: result.errors[name] for name in BUY_NOW_PARAMS if name in result.errors},
            "error_labels": BUY_NOW_PARAMS,
            "filtered": result.filters.is_filtered,
            "previews": result.rows,
            "first_page": not cursor,
            "next_url": _buy_now_list_url(next_query) if result.next_cursor else "",
            "first_url": _buy_now_list_url({k: v for k, v in request.GET.items() if k != "cursor"}),
            "back": here[here.index("?") + 1 :] if "?" in here else "",
        },
        status=400 if result.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@login_required
def buy_now_buy(request, listing_id: int):
    """GET: confirm the purchase. POST (CSRF): buy; the service decides who gets it, and the buyer
    goes back to the list they came from (`back`: its query string) with a link to the purchase.
    A listing the user may not see (an exclusive vertical's) is a 404."""
    listing = get_object_or_404(
        buynow.buy_now_listing_visible(user=request.user).select_related("lead__vertical"), pk=listing_id
    )
    back = _buy_now_list_url(QueryDict((request.POST.get("back") or request.GET.get("back") or "")[:1000]))
    status = 200
    if request.method == "POST":
        try:
            sale = buynow.buy_now_purchase(listing_id=listing.pk, buyer=request.user)
            messages.success(
                request,
                format_html(
                    'You bought lead {} for {}. <a href="{}" data-testid="purchase-link">View your purchase</a>'
                    " for its contact details, escrow and NFT.",
                    sale.lead_id,
                    usdc_text(sale.price),
                    reverse("escrow:purchase-detail", args=[sale.pk]),
                ),
            )
            return redirect(back)
        except buynow.BuyNowRefused as exc:
            messages.error(request, exc.message)
            status = {"not_found": 404, "closed": 409}.get(exc.kind, 400)
            listing.refresh_from_db()
    preview = buynow.buy_now_previews(listings=[listing])[0]
    return render(
        request,
        "auctions/buy_now.html",
        {"confirm": preview, "listing": listing, "back_url": back, "back": back.partition("?")[2]},
        status=status,
    )
