"""Reads for leads. The seller's lists may come from the replica; PII reads are logged by callers."""

from django.db.models import QuerySet

from leads import vault
from leads.models import Lead


def lead_pii_read(*, lead: Lead) -> dict:
    """Decrypt a lead's contact details (empty when none were stored, e.g. a rejected duplicate)."""
    pii = getattr(lead, "pii", None) if _has_pii(lead) else None
    if pii is None:
        return {}
    return vault.open_sealed(key_id=pii.key_id, blob=pii.ciphertext, context=str(lead.pk))


def _has_pii(lead: Lead) -> bool:
    from leads.models import LeadPII

    try:
        return lead.pii is not None
    except LeadPII.DoesNotExist:
        return False


def lead_pii_keys(*, lead: Lead) -> set[str]:
    data = lead_pii_read(lead=lead)
    return {k for k in data if k != "fields"} | set(data.get("fields", {}))


def lead_list_for_seller(*, seller) -> QuerySet:
    return Lead.objects.filter(seller=seller).select_related("vertical")


def lead_get_for_seller(*, seller, lead_id: int) -> Lead:
    """Raises Lead.DoesNotExist for another seller's lead (callers answer 404)."""
    return Lead.objects.select_related("vertical").get(pk=lead_id, seller=seller)
