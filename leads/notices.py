"""What lead intake tells sellers (notifications.services.notify). Counts only, never row content."""

from django.urls import reverse

from notifications.choices import NotificationEvent
from notifications.services import notify


def import_finished_notify(*, csv_import) -> None:
    notify(
        user_id=csv_import.seller_id,
        event=NotificationEvent.IMPORT_FINISHED,
        title=f"CSV import {csv_import.pk} finished",
        body=f"{csv_import.accepted_rows} leads imported, {csv_import.rejected_rows} rows rejected.",
        url=reverse("csv-import-detail", args=[csv_import.pk]),
        key=f"import:{csv_import.pk}",
    )
