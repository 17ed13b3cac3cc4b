"""Pages for buyers: the live marketplace, my bids, my wins, and the small JSON endpoint the pages
poll when the live socket is down. Thin: auctions.selectors.pages does the reads."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from auctions.selectors import pages as page_selectors
from leads.selectors import lead_field_values
from leads.seller_reputation import seller_reputation_of
from leads.validation import US_STATES


def buyer_required(view):
    """Logged in (else the log-in page) and a buyer account (else 403)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_buyer:
            raise PermissionDenied("Only buyer accounts bid. Enable buying on your account page.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _min_score(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


@require_GET
@login_required
def marketplace(request):
    """Open auctions across the verticals the buyer ticks (all watchable ones when none is ticked),
    filtered by state and minimum score; the chosen filters live in the query string."""
    watchable = page_selectors.vertical_list_watchable(user=request.user)
    by_slug = {v.slug: v for v in watchable}
    chosen = [s for s in request.GET.getlist("vertical") if s in by_slug]
    state = (request.GET.get("state") or "").strip().upper()
    state = state if state in US_STATES else ""
    min_score = _min_score(request.GET.get("min_score"))
    slugs = chosen or list(by_slug)
    page = page_selectors.auction_list_marketplace(
        user=request.user,
        vertical_ids=[by_slug[s].pk for s in slugs],
        state=state,
        min_score=min_score,
        cursor=(request.GET.get("cursor") or "")[:200],
    )
    next_query = request.GET.copy()
    next_query["cursor"] = page.next_cursor
    first_query = request.GET.copy()
    first_query.pop("cursor", None)
    fields = lead_field_values(leads=[a.lead for a in page.rows])
    return render(
        request,
        "auctions/marketplace.html",
        {
            "verticals": watchable,
            "chosen": set(chosen),
            "chosen_verticals": [by_slug[s] for s in chosen],
            "subscribe": slugs,
            "state": state,
            "min_score": min_score,
            "states": sorted(US_STATES),
            "auctions": page.rows,
            "rows": [(a, fields[a.lead_id], seller_reputation_of(a)) for a in page.rows],
            "first_page": not request.GET.get("cursor"),
            "next_url": f"?{next_query.urlencode()}" if page.next_cursor else "",
            "first_url": f"?{first_query.urlencode()}",
            "server_now": timezone.now(),
            "state_url": reverse("live-auction-state"),
        },
    )


@require_GET
@never_cache
@login_required
def auction_state(request):
    """`?ids=1,2,3`: price, deadline, status and the caller's standing for up to 100 auctions,
    with the server's clock (the polling fallback of static/js/live.js)."""
    ids = []
    for part in (request.GET.get("ids") or "").split(",")[: page_selectors.MAX_IDS]:
        part = part.strip()
        # ASCII digits only ("²".isdigit() is true, int() refuses it), within a bigint.
        if part.isascii() and part.isdigit() and len(part) < 19:
            ids.append(int(part))
    auctions = []
    if ids:
        auctions = page_selectors.auction_states_for(auction_ids=ids, user=request.user)
    return JsonResponse({"now": timezone.now().isoformat(), "auctions": auctions})


@require_GET
@buyer_required
def my_bids(request):
    page = page_selectors.bid_list_for_buyer(buyer=request.user, cursor=(request.GET.get("cursor") or "")[:200])
    return render(
        request,
        "auctions/my_bids.html",
        {
            "rows": page.rows,
            "next_url": f"?cursor={page.next_cursor}" if page.next_cursor else "",
            "server_now": timezone.now(),
        },
    )


@require_GET
@buyer_required
def my_wins(request):
    page = page_selectors.win_list_for_buyer(buyer=request.user, cursor=(request.GET.get("cursor") or "")[:200])
    return render(
        request,
        "auctions/my_wins.html",
        {"sales": page.rows, "next_url": f"?cursor={page.next_cursor}" if page.next_cursor else ""},
    )
