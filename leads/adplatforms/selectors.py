"""Reads of the seller's ad-platform connections and their events."""

from django.db.models import Count, Max, Q, QuerySet

from leads import vault
from leads.adplatforms.connections import STANDARD_FIELDS
from leads.adplatforms.processing import _answers
from leads.choices import AdEventStatus, AdPlatform
from leads.models import AdConnection, AdLeadEvent


def ad_connection_list(*, seller) -> QuerySet[AdConnection]:
    return (
        AdConnection.objects.filter(seller=seller)
        .select_related("vertical")
        .annotate(
            event_count=Count("events"),
            failed_count=Count("events", filter=Q(events__status__in=(AdEventStatus.FAILED, AdEventStatus.REJECTED))),
            last_event_at=Max("events__received_at"),
        )
        .order_by("-created_at", "-id")
    )


def ad_event_list(*, connection: AdConnection) -> QuerySet[AdLeadEvent]:
    return AdLeadEvent.objects.filter(connection=connection).order_by("-received_at", "-id")


def ad_event_list_for_seller(*, seller) -> QuerySet[AdLeadEvent]:
    return AdLeadEvent.objects.filter(connection__seller=seller).order_by("-received_at", "-id")


def ad_connection_field_names(*, connection: AdConnection, recent: int = 10) -> list[str]:
    """Platform field names for the mapping editor: the standard ones and those the connection's
    recent leads carried (opened from the vault: names only, never values)."""
    names = set(STANDARD_FIELDS[AdPlatform(connection.platform)].values())
    events = (
        AdLeadEvent.objects.filter(connection=connection)
        .exclude(payload_blob=None)
        .order_by("-received_at", "-id")
        .only("ref", "payload_key_id", "payload_blob")[:recent]
    )
    for event in events:
        try:
            payload = vault.open_sealed(
                key_id=event.payload_key_id, blob=bytes(event.payload_blob), context=f"adevent:{event.ref}"
            )
        except Exception:  # noqa: BLE001, S112 - a blob under a retired key: its names are not needed here
            continue
        names |= set(_answers(connection.platform, payload))
    return sorted(names)
