"""The seller's earnings page: money still in escrow (with what each release is expected to pay
and when), every sale with its status (filterable), and the totals per day and vertical over the
last 30 days; dates in the seller's time zone. Thin: escrow.selectors.earnings and
escrow.selectors.earnings_history do the reading."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.paging import cursor_decode_time_id, page_newest_first
from escrow.choices import EarningStatus
from escrow.selectors import earnings as earnings_selectors
from escrow.selectors import earnings_history
from leads.views.seller import seller_required

SALES_PAGE_SIZE = 50


@require_GET
@seller_required
def seller_earnings(request):
    seller = request.user
    status = request.GET.get("status", "")
    if status not in EarningStatus.values:
        status = ""
    cursor = request.GET.get("cursor")
    page = page_newest_first(
        earnings_history.earnings_queryset(seller=seller, status=status or None), cursor=cursor, size=SALES_PAGE_SIZE
    )
    context = {
        "earnings": earnings_selectors.earnings_pending_totals(seller=seller),
        "summary": earnings_history.earnings_summary(seller=seller),
        "sales": earnings_history.earning_sales(page.rows),
        "next_cursor": page.next_cursor,
        "is_first_page": cursor_decode_time_id(cursor) is None,
        "status": status,
        "status_label": EarningStatus(status).label if status else "",
        "statuses": EarningStatus.choices,
    }
    with timezone.override(earnings_history.seller_zone(seller)):
        return render(request, "escrow/seller_earnings.html", context)
