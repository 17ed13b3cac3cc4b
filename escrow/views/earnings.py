"""The seller's pending earnings page: money from sold leads still in escrow, with what each
release is expected to pay and when. Thin: escrow.selectors.earnings does the reading."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from escrow.selectors import earnings as earnings_selectors
from leads.views.seller import seller_required


@require_GET
@seller_required
def seller_earnings(request):
    return render(
        request,
        "escrow/seller_earnings.html",
        {"earnings": earnings_selectors.earnings_pending_for_seller(seller=request.user)},
    )
