"""Pages of disputes (docs/disputes.md): a buyer opens one from a purchase, "My disputes" and the
seller's "Disputes received", and one dispute's page for its two parties with the seller's answer,
the buyer's reply to an offer and more evidence. Thin: escrow.services.disputes writes and checks
(its ValidationError names the field and goes back on the form), escrow.selectors.disputes reads.
Anyone but the buyer and the seller gets a 404; evidence files also go to staff."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from auctions.models import Sale
from core.paging import cursor_decode_time_id, page_newest_first
from escrow.choices import OPEN_DISPUTE_STATES, DisputeResponse, DisputeState
from escrow.forms import (
    DisputeOpenForm,
    DisputeResponseForm,
    EvidenceAddForm,
    OfferReplyForm,
    add_service_errors,
)
from escrow.selectors import disputes as dispute_selectors
from escrow.selectors import purchases as purchase_selectors
from escrow.services import disputes

PAGE_SIZE = 25


def _dispute_or_404(request, dispute_id: int):
    dispute, role = dispute_selectors.dispute_get_for_party(user=request.user, dispute_id=dispute_id)
    if dispute is None:
        raise Http404("No such dispute.")
    return dispute, role


# ---------------------------------------------------------------- opening


@require_http_methods(["GET", "POST"])
@never_cache
@login_required
def dispute_open(request, sale_id: int):
    """The buyer returns a purchase: reason, statement, evidence files."""
    try:
        sale = purchase_selectors.purchase_get_for_reader(user=request.user, sale_id=sale_id)
    except Sale.DoesNotExist:
        raise Http404("No such purchase.") from None
    if sale.buyer_id != request.user.pk:
        raise Http404("No such purchase.")
    existing = dispute_selectors.dispute_for_purchase(sale_id=sale.pk, buyer=request.user)
    if existing is not None and request.method == "GET":
        return redirect("dispute-detail", dispute_id=existing.pk)
    form = DisputeOpenForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            dispute = disputes.dispute_open(
                buyer=request.user,
                sale_id=sale.pk,
                reason=form.cleaned_data["reason"],
                statement=form.cleaned_data["statement"],
                files=form.cleaned_data["evidence"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your dispute is open: the seller has until the deadline below to answer.")
            return redirect("dispute-detail", dispute_id=dispute.pk)
    settlement = purchase_selectors.settlement_of(sale)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "escrow/dispute_open.html",
        {"sale": sale, "settlement": settlement, "form": form},
        status=status,
    )


# ---------------------------------------------------------------- lists


@require_GET
@login_required
def dispute_list(request):
    """My disputes (as a buyer), newest first, keyset-paged."""
    cursor = (request.GET.get("cursor") or "")[:1000]
    page = page_newest_first(
        dispute_selectors.dispute_list_for(user=request.user, role="buyer"), cursor=cursor, size=PAGE_SIZE
    )
    return render(
        request,
        "escrow/dispute_list.html",
        {
            "disputes": page.rows,
            "first_page": cursor_decode_time_id(cursor) is None,
            "next_url": f"?cursor={page.next_cursor}" if page.next_cursor else "",
        },
    )


@require_GET
@login_required
def dispute_received(request):
    """Disputes on the seller's sales: open ones first by deadline, then the rest."""
    paginator = Paginator(dispute_selectors.dispute_list_received(seller=request.user), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "escrow/dispute_received.html",
        {"page": page, "disputes": list(page.object_list), "open_states": OPEN_DISPUTE_STATES},
    )


# ---------------------------------------------------------------- one dispute


def _detail(request, dispute, role: str, *, status: int = 200, template: str = "escrow/dispute_detail.html", **forms):
    is_open = dispute.state in OPEN_DISPUTE_STATES
    can_respond = (
        role == "seller" and dispute.state == DisputeState.AWAITING_SELLER and timezone.now() <= dispute.respond_by
    )
    context = {
        "dispute": dispute,
        "role": role,
        "is_open": is_open,
        "evidence": list(dispute.evidence.all()),
        "checks": dispute_selectors.dispute_checks_display(dispute.checks),
        "respond_form": forms.get("respond_form") or (DisputeResponseForm() if can_respond else None),
        "reply_form": forms.get("reply_form")
        or (OfferReplyForm() if role == "buyer" and dispute.state == DisputeState.AWAITING_BUYER else None),
        "evidence_form": forms.get("evidence_form") or (EvidenceAddForm() if is_open else None),
        "timeline": _timeline(dispute),
    }
    return render(request, template, context, status=status)


def _timeline(d) -> list[tuple]:
    """(moment, what happened) in order."""
    events = [(d.created_at, "The buyer opened the dispute.")]
    if d.responded_at:
        answer = {
            DisputeResponse.ACCEPT: "The seller accepted the return.",
            DisputeResponse.OFFER: "The seller offered a partial refund.",
            DisputeResponse.CONTEST: "The seller contested the dispute.",
        }.get(d.seller_response, "The seller answered.")
        events.append((d.responded_at, answer))
    if d.buyer_replied_at:
        events.append(
            (d.buyer_replied_at, f"The buyer {'accepted' if d.buyer_reply == 'accepted' else 'declined'} the offer.")
        )
    if d.decided_at:
        events.append((d.decided_at, f"Decided: {d.get_outcome_display()} ({d.get_decider_display()})."))
    if d.closed_at:
        events.append((d.closed_at, "Closed."))
    return sorted(events, key=lambda e: e[0])


@require_GET
@never_cache
@login_required
def dispute_detail(request, dispute_id: int):
    dispute, role = _dispute_or_404(request, dispute_id)
    return _detail(request, dispute, role)


@require_GET
@never_cache
@login_required
def dispute_state(request, dispute_id: int):
    """The page's live block (state, deadline, offer, outcome, the forms), fetched when the socket
    says the dispute changed."""
    dispute, role = _dispute_or_404(request, dispute_id)
    return _detail(request, dispute, role, template="escrow/dispute_state.html")


@require_POST
@login_required
def dispute_respond(request, dispute_id: int):
    dispute, role = _dispute_or_404(request, dispute_id)
    if role != "seller":
        raise Http404("No such dispute.")
    form = DisputeResponseForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            disputes.dispute_respond(
                seller=request.user,
                dispute_id=dispute.pk,
                response=data["response"],
                statement=data["statement"],
                offer_amount=data["offer_amount"] if data["response"] == DisputeResponse.OFFER else None,
                files=data["evidence"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your answer is recorded.")
            return redirect("dispute-detail", dispute_id=dispute.pk)
    return _detail(request, dispute, role, status=400, respond_form=form)


@require_POST
@login_required
def dispute_offer_reply(request, dispute_id: int):
    dispute, role = _dispute_or_404(request, dispute_id)
    if role != "buyer":
        raise Http404("No such dispute.")
    form = OfferReplyForm(request.POST)
    if form.is_valid():
        try:
            disputes.dispute_offer_reply(buyer=request.user, dispute_id=dispute.pk, accept=form.cleaned_data["accept"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your answer to the offer is recorded.")
            return redirect("dispute-detail", dispute_id=dispute.pk)
    return _detail(request, dispute, role, status=400, reply_form=form)


@require_POST
@login_required
def dispute_evidence_add(request, dispute_id: int):
    dispute, role = _dispute_or_404(request, dispute_id)
    form = EvidenceAddForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            disputes.dispute_evidence_add(user=request.user, dispute_id=dispute.pk, files=form.cleaned_data["evidence"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your evidence is added.")
            return redirect("dispute-detail", dispute_id=dispute.pk)
    return _detail(request, dispute, role, status=400, evidence_form=form)


@require_GET
@login_required
def dispute_evidence_download(request, evidence_id: int):
    """An evidence file, for the dispute's parties and staff only: always a download, its type as
    checked at upload, never sniffed by the browser."""
    evidence = dispute_selectors.dispute_evidence_get_for(user=request.user, evidence_id=evidence_id)
    if evidence is None:
        raise Http404("No such file.")
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is gone.") from None
    response = FileResponse(handle, as_attachment=True, filename=evidence.name, content_type=evidence.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
