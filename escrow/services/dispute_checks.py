"""The automatic checks run when a dispute opens, and the recommendation drawn from them.

Stored with the dispute (Dispute.checks) as facts without contact details: the phone's validity
and line type by the numbering plan (re-validated from the vault), how often the contact's hashes
occur in other leads and sales, the consent record's age at the sale and which of its parts are
present, whether the lead still matches what its listing showed (state, ZIP and city, score), and
a re-score. The recommendation (refund or dismiss) comes with its reasons in words; docs/disputes.md
states the rules. A live carrier lookup (is the number connected?) is not part of it: the
numbering plan tells valid from invalid, not connected from disconnected.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from auctions.models import Sale
from escrow.choices import DisputeReason, DisputeRecommendation
from leads.models import Lead
from leads.selectors import lead_pii_read
from leads.services import lead_rescore
from leads.validation import is_fictional_phone, parse_phone, zip_info

CONSENT_PARTS = ("text", "timestamp", "ip", "user_agent", "page_url", "certificate_url")
NON_CONSUMER_LINES = {"toll_free", "premium_rate"}


@dataclass
class CheckResult:
    checks: dict
    recommendation: str
    reasons: list[str] = field(default_factory=list)


def _phone(lead: Lead) -> dict:
    phone = lead_pii_read(lead=lead).get("phone", "")
    if not phone:
        return {"present": False}
    parsed = parse_phone(phone, lead.country or "US")
    if parsed is None:
        return {"present": True, "valid": False, "line_type": ""}
    e164, kind = parsed
    return {
        "present": True,
        "valid": not is_fictional_phone(e164),
        "line_type": kind,
        "stored_line_type": lead.phone_type,
    }


def _contact(sale: Sale, lead: Lead) -> dict:
    contact = Q()
    if lead.phone_hash:
        contact |= Q(lead__phone_hash=lead.phone_hash)
    if lead.email_hash:
        contact |= Q(lead__email_hash=lead.email_hash)
    if not contact:
        return {"compared": False}
    window = timedelta(days=lead.vertical.dedupe_window_days)
    earlier = Sale.objects.filter(contact, created_at__gte=sale.created_at - window, created_at__lte=sale.created_at)
    earlier = earlier.exclude(pk=sale.pk)
    leads = Lead.objects.filter(Q(phone_hash=lead.phone_hash) if lead.phone_hash else Q(pk=None))
    if lead.email_hash:
        leads |= Lead.objects.filter(email_hash=lead.email_hash)
    return {
        "compared": True,
        "window_days": lead.vertical.dedupe_window_days,
        "sold_to_you_before": earlier.filter(buyer_id=sale.buyer_id).count(),
        "sold_to_others_before": earlier.exclude(buyer_id=sale.buyer_id).count(),
        "other_leads": leads.exclude(pk=lead.pk).count(),
    }


def _consent(sale: Sale, lead: Lead) -> dict:
    present = {
        "text": bool(lead.consent_text),
        "timestamp": lead.consent_at is not None,
        "ip": bool(lead.consent_ip),
        "user_agent": bool(lead.consent_user_agent),
        "page_url": bool(lead.consent_page_url),
        "certificate_url": bool(lead.consent_certificate_url),
    }
    age = (sale.created_at - lead.consent_at).total_seconds() / 86400 if lead.consent_at else None
    return {
        "parts": present,
        "missing": [part for part in CONSENT_PARTS if not present[part]],
        "age_days_at_sale": round(age, 1) if age is not None else None,
        "max_age_days": settings.LEAD_CONSENT_MAX_AGE_DAYS,
    }


def _listing(lead: Lead, before: int | None) -> dict:
    info = zip_info(lead.zip) if lead.zip else None
    return {
        "zip_in_state": None if info is None else info.get("state") == lead.state,
        "score_at_sale": before,
        "score_now": lead.quality_score,
        "quality_floor": lead.vertical.quality_floor,
    }


def _recommend(reason: str, checks: dict) -> tuple[str, list[str]]:  # noqa: C901 - one rule per reason
    refund: list[str] = []
    dismiss: list[str] = []
    phone, contact, consent, listing = checks["phone"], checks["contact"], checks["consent"], checks["listing"]
    if listing["score_now"] is not None and listing["score_now"] < listing["quality_floor"]:
        refund.append(
            f"Re-scored now, the lead scores {listing['score_now']}, below the vertical's quality floor of "
            f"{listing['quality_floor']}."
        )
    if reason == DisputeReason.INVALID_PHONE:
        if not phone.get("present"):
            refund.append("The lead has no phone number.")
        elif not phone.get("valid"):
            refund.append("The phone number is not a valid number by the numbering plan.")
        elif phone.get("line_type") in NON_CONSUMER_LINES:
            refund.append("The phone number is a toll-free or premium-rate line, not a consumer's.")
        else:
            kind = (phone.get("line_type") or "unknown").replace("_", " ")
            dismiss.append(
                f"The phone number is valid by the numbering plan (line type: {kind}); whether it is "
                "connected cannot be checked automatically."
            )
    elif reason == DisputeReason.DUPLICATE:
        if contact.get("sold_to_you_before"):
            refund.append(
                f"The same contact was sold to you {contact['sold_to_you_before']} time(s) in the "
                f"{contact['window_days']} days before this sale."
            )
        elif contact.get("sold_to_others_before"):
            refund.append(
                f"The same contact was sold here {contact['sold_to_others_before']} time(s) in the "
                f"{contact['window_days']} days before this sale."
            )
        else:
            dismiss.append("No earlier sale of the same phone or email was found here.")
    elif reason == DisputeReason.NO_CONSENT:
        if consent["missing"] and set(consent["missing"]) & {"text", "timestamp", "ip"}:
            refund.append("The consent record lacks " + ", ".join(consent["missing"]).replace("_", " ") + ".")
        elif consent["age_days_at_sale"] is not None and consent["age_days_at_sale"] > consent["max_age_days"]:
            refund.append(
                f"The consent was {consent['age_days_at_sale']} days old at the sale, more than "
                f"{consent['max_age_days']} days."
            )
        else:
            missing = consent["missing"]
            note = f" (without {', '.join(missing).replace('_', ' ')})" if missing else ""
            dismiss.append(
                f"The consent record has text, time and IP{note}, {consent['age_days_at_sale']} days old at the sale."
            )
    elif reason == DisputeReason.NOT_AS_LISTED:
        if listing["zip_in_state"] is False:
            refund.append("The lead's ZIP code is not in the state the listing showed.")
        elif not refund:
            dismiss.append("The lead's state, ZIP code and score match what the listing showed.")
    elif not refund:
        dismiss.append(
            "No automatic check can confirm this reason: the seller's answer (or staff, if contested) decides."
        )
    if refund:
        return DisputeRecommendation.REFUND, refund
    return DisputeRecommendation.DISMISS, dismiss


def dispute_checks_run(*, sale: Sale, reason: str, dispute_ref: str) -> CheckResult:
    """Run the checks for a dispute about `sale` with `reason`, re-scoring its lead (a write: the
    lead's history notes it, `dispute_ref` names the dispute there)."""
    lead = sale.lead
    before = lead.quality_score
    lead = lead_rescore(lead_id=lead.pk, reason=dispute_ref)
    checks = {
        "phone": _phone(lead),
        "contact": _contact(sale, lead),
        "consent": _consent(sale, lead),
        "listing": _listing(lead, before),
        "rescore": {"before": before, "after": lead.quality_score},
    }
    recommendation, reasons = _recommend(reason, checks)
    return CheckResult(checks=checks, recommendation=recommendation, reasons=reasons)
