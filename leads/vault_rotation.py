"""Re-encrypt the PII vault under the active key (after adding a key and making it active).

Each batch is one transaction; each row is re-read under select_for_update, so a concurrent
writer or a second rotation never sees half a batch and a row is never sealed twice with
different keys. Rows already under the active key are skipped: running it again does nothing.
"""

import logging

from cryptography.exceptions import InvalidTag
from django.db import transaction

from leads import vault
from leads.models import LeadPII

logger = logging.getLogger(__name__)


def pii_rotate(*, batch_size: int = 500) -> int:
    """Re-seal every LeadPII whose key_id is not the active one; returns how many were re-sealed.

    A row that fails authentication (tampered, or sealed for another lead) is left as it is and
    logged by lead id; `pii_rows_needing_rotation()` then stays above zero.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    active = vault.active_key_id()
    rotated, after = 0, None
    while True:
        with transaction.atomic():
            rows = LeadPII.objects.select_for_update().exclude(key_id=active).order_by("lead_id")
            if after is not None:
                rows = rows.filter(lead_id__gt=after)
            batch = list(rows[:batch_size])
            if not batch:
                return rotated
            after = batch[-1].lead_id
            changed = []
            for pii in batch:
                context = str(pii.lead_id)
                try:
                    data = vault.open_sealed(key_id=pii.key_id, blob=pii.ciphertext, context=context)
                except InvalidTag:
                    logger.error(
                        "PII row failed authentication; not rotated",
                        extra={"lead_id": pii.lead_id, "key_id": pii.key_id},
                    )
                    continue
                pii.key_id, pii.ciphertext = vault.seal(data, context=context)
                changed.append(pii)
            LeadPII.objects.bulk_update(changed, ["key_id", "ciphertext"])
            rotated += len(changed)
        logger.info("PII batch rotated", extra={"rotated": rotated, "key_id": active})


def pii_rows_needing_rotation() -> int:
    return LeadPII.objects.exclude(key_id=vault.active_key_id()).count()
