"""Pages for buyers: "My purchases" (no contact details, nothing logged) and one purchase with
the lead's contact details once its money arrived (each view is one PiiAccess; before that, where
the payment stands and what happens next), the escrow deal, the LeadNFT and how to verify both and
the bid log on chain. Thin: escrow.selectors.purchases reads, escrow.services.purchases reads the contact
details and logs the access. Another user's purchase is a 404.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from auctions.choices import DispositionStatus
from auctions.models import Disposition, Sale
from auctions.selectors import auctions as auction_selectors
from escrow.choices import ContactStatus
from escrow.models import Settlement
from escrow.selectors import dispositions as disposition_selectors
from escrow.selectors import disputes as dispute_selectors
from escrow.selectors import purchases as purchase_selectors
from escrow.services import purchases
from leads.models import PiiAccess
from leads.selectors import lead_details_display, lead_field_values


def _disposition(sale: Sale) -> Disposition | None:
    try:
        return sale.disposition
    except Disposition.DoesNotExist:
        return None


@require_GET
@login_required
def purchase_list(request):
    """Your purchases, newest first ((created_at, id) keyset), with their dispositions and the bulk
    edit, and your return on spend by vertical: no contact details, nothing logged."""
    page = purchase_selectors.purchase_page_for_reader(
        user=request.user, cursor=(request.GET.get("cursor") or "")[:200]
    )
    rows = [
        (sale, purchase_selectors.settlement_of(sale), ContactStatus(sale.contact_status).label, _disposition(sale))
        for sale in page.rows
    ]
    return render(
        request,
        "escrow/purchases.html",
        {
            "rows": rows,
            "outcomes": disposition_selectors.purchase_outcomes_for_reader(user=request.user),
            "statuses": DispositionStatus.choices,
            "cursor": (request.GET.get("cursor") or "")[:200],
            "first_page": not request.GET.get("cursor"),
            "next_url": f"?cursor={page.next_cursor}" if page.next_cursor else "",
        },
    )


@require_GET
@never_cache
@login_required
def purchase_detail(request, sale_id: int):
    """One purchase with its contact details once its money arrived (the view is logged), or where
    the payment stands; escrow, NFT and verification."""
    try:
        sale = purchase_selectors.purchase_get_for_reader(user=request.user, sale_id=sale_id)
        pii = purchases.purchase_pii_read(user=request.user, sale=sale, channel=PiiAccess.Channel.PAGE)
        status = ContactStatus.AVAILABLE
    except Sale.DoesNotExist:
        raise Http404("No such purchase.") from None
    except purchases.ContactUnavailable as exc:
        pii, status = None, exc.status
    settlement = purchase_selectors.settlement_of(sale)
    dispute = dispute_selectors.dispute_for_purchase(sale_id=sale.pk, buyer=request.user)
    can_dispute = dispute is None and dispute_selectors.dispute_can_open(
        user=request.user, sale=sale, settlement=settlement
    )
    if pii is not None:
        fields, contact = lead_details_display(lead=sale.lead, pii=pii)
    else:  # locked: what a buyer sees before buying, no more (no full ZIP or city either)
        fields, contact = lead_field_values(leads=[sale.lead], biddable_only=True)[sale.lead_id], []
    return render(
        request,
        "escrow/purchase_detail.html",
        {
            "sale": sale,
            "lead": sale.lead,
            "settlement": settlement,
            "contact": contact,
            "fields": fields,
            "batch": settlement.mint_batch if settlement else None,
            "contact_available": pii is not None,
            "contact_status": ContactStatus(status).label,
            "contact_status_message": purchase_selectors.contact_status_message(status),
            "split": purchase_selectors.usdc_split(settlement),
            "is_released": settlement is not None and settlement.state == Settlement.State.RELEASED,
            # With pii None only the contracts: the canonical JSON holds the contact details.
            "verification": purchase_selectors.purchase_verification(sale=sale, pii=pii),
            "dispute": dispute,
            "can_dispute": can_dispute,
            "can_read_log": auction_selectors.auction_can_read_log(auction=sale.auction, user=request.user),
        },
    )
