"""Dispositions: what became of a purchase, as its reader reports it (contacted, no answer,
appointment, quoted, sold with revenue, bad with a reason). One current Disposition per sale
and one DispositionChange per change; each change moves the seller's contact-rate counters
(leads.services.seller_reputation_disposition_recorded) in the same transaction.

Who may set it is the purchase's reader (escrow.selectors.purchases.purchase_queryset_for_reader):
escrow.services.dispositions checks that and calls disposition_record; nothing else should.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from auctions.choices import CONTACTED_STATUSES, DispositionChannel, DispositionStatus
from auctions.models import DISPOSITION_REASON_MAX, Disposition, DispositionChange, Sale
from auctions.pricing import USDC_QUANTUM as USDC_PLACES
from leads.services import seller_reputation_disposition_recorded

MAX_REVENUE = Decimal("100000000")  # 10^8 USDC: anything larger is a typo, not a sale


@dataclass(frozen=True)
class DispositionInput:
    status: str
    revenue: Decimal | None
    reason: str


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_disposition(*, status, revenue=None, reason=None) -> DispositionInput:
    """A disposition normalised (revenue to 6 places, reason stripped), or ValidationError with
    one message per field: a known status; revenue (0 to 10^8 USDC) for sold and only for sold;
    a reason (up to 200 characters) for bad and only for bad."""
    errors: dict[str, str] = {}
    status = (status or "").strip() if isinstance(status, str) else status
    if status not in DispositionStatus.values:
        errors["status"] = f"Unknown disposition {status!r}: one of {', '.join(DispositionStatus.values)}."
    amount = None
    if _blank(revenue):
        if status == DispositionStatus.SOLD:
            errors["revenue"] = "A sold lead needs its revenue (USDC, 0 or more)."
    elif status != DispositionStatus.SOLD:
        errors["revenue"] = "Revenue is only for sold leads."
    else:
        try:
            if isinstance(revenue, bool) or isinstance(revenue, float) and revenue != revenue:
                raise InvalidOperation
            amount = Decimal(str(revenue).strip())
            if not amount.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["revenue"] = f"Revenue {revenue!r} is not a number."
        else:
            if amount < 0 or amount > MAX_REVENUE:
                errors["revenue"] = f"Revenue is between 0 and {MAX_REVENUE} USDC."
            elif amount != amount.quantize(USDC_PLACES):
                errors["revenue"] = "Revenue has at most 6 decimal places."
            else:
                amount = amount.quantize(USDC_PLACES)
    text = "" if _blank(reason) else str(reason).strip()
    if status == DispositionStatus.BAD and not text:
        errors["reason"] = "A bad lead needs a reason."
    elif text and status != DispositionStatus.BAD:
        errors["reason"] = "A reason is only for bad leads."
    elif len(text) > DISPOSITION_REASON_MAX:
        errors["reason"] = f"A reason has at most {DISPOSITION_REASON_MAX} characters."
    if errors:
        raise ValidationError(errors)
    return DispositionInput(status=status, revenue=amount, reason=text)


@transaction.atomic
def disposition_record(
    *, sale_id: int, by, value: DispositionInput, channel: str, now: datetime | None = None
) -> tuple[Disposition, bool]:
    """Set the sale's disposition to `value` (from check_disposition) as `by` through `channel`:
    (disposition, changed). The caller checked that `by` reads the purchase. Under the sale's row
    lock (FOR NO KEY UPDATE): two reports of one purchase run one after the other, each writes
    one DispositionChange, and the seller's counters follow the last. The same value again
    changes nothing."""
    if channel not in DispositionChannel.values:
        raise ValueError(f"Unknown channel {channel!r}.")
    sale = Sale.objects.select_for_update(no_key=True, of=("self",)).select_related("lead").get(pk=sale_id)
    now = now or timezone.now()  # read under the lock: changes of one sale are stamped in order
    current = Disposition.objects.filter(sale_id=sale.pk).first()
    if current is not None and (current.status, current.revenue, current.reason) == (
        value.status,
        value.revenue,
        value.reason,
    ):
        return current, False
    previous = current.status if current is not None else ""
    if current is None:
        current = Disposition(sale_id=sale.pk, created_at=now, version=0)
    current.status, current.revenue, current.reason = value.status, value.revenue, value.reason
    current.channel, current.set_by, current.updated_at = channel, by, now
    current.version += 1
    current.save()
    DispositionChange.objects.create(
        sale_id=sale.pk,
        from_status=previous,
        status=value.status,
        revenue=value.revenue,
        reason=value.reason,
        channel=channel,
        by=by,
        at=now,
    )
    # Last write: the seller's reputation row stays locked until the transaction ends.
    seller_reputation_disposition_recorded(
        seller_id=sale.seller_id,
        vertical_id=sale.lead.vertical_id,
        contacted=value.status in CONTACTED_STATUSES,
        was_contacted=(previous in CONTACTED_STATUSES) if previous else None,
    )
    return current, True
