"""Reads for delivery pages and API: a buyer's destinations and a purchase's delivery log. Only
the destination's owner sees them (others get "does not exist")."""

from django.db.models import Prefetch, QuerySet

from integrations.models import Delivery, DeliveryAttempt, Destination


def destination_list_for_owner(*, owner) -> QuerySet:
    return Destination.objects.filter(owner=owner, archived_at__isnull=True).select_related("vertical", "rule")


def destination_get_for_owner(*, owner, destination_id: int) -> Destination:
    """Raises Destination.DoesNotExist for another buyer's (or an archived) destination."""
    return destination_list_for_owner(owner=owner).get(pk=destination_id)


def delivery_list_for_purchase(*, owner, sale_id: int) -> QuerySet:
    """The purchase's deliveries to `owner`'s destinations with their attempts, newest first."""
    return (
        Delivery.objects.filter(destination__owner=owner, sale_id=sale_id, is_test=False)
        .select_related("destination")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number")))
        .order_by("-created_at", "-id")
    )


def delivery_list_for_destination(*, destination: Destination, limit: int = 50) -> list[Delivery]:
    return list(
        Delivery.objects.filter(destination=destination)
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number")))
        .order_by("-id")[:limit]
    )


def delivery_get_for_owner(*, owner, delivery_id: int) -> Delivery:
    return Delivery.objects.select_related("destination").get(pk=delivery_id, destination__owner=owner)
