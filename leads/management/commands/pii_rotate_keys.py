from django.core.management.base import BaseCommand, CommandError

from leads import vault
from leads.vault_rotation import pii_rotate, pii_rows_needing_rotation


class Command(BaseCommand):
    help = (
        "Re-encrypt lead PII under PII_ACTIVE_KEY_ID. Add the new key to PII_KEYS, make it active, "
        "run this, then remove the old key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        active = vault.active_key_id()
        before = pii_rows_needing_rotation()
        self.stdout.write(f"Active key {active}: {before} row(s) under other keys.")
        rotated = pii_rotate(batch_size=batch_size)
        remaining = pii_rows_needing_rotation()
        self.stdout.write(f"Re-encrypted {rotated} row(s); {remaining} remain under other keys.")
        if remaining:
            raise CommandError(
                f"{remaining} row(s) could not be re-encrypted (see the log for their lead ids); "
                "keep their old keys configured."
            )
        self.stdout.write(self.style.SUCCESS("All lead PII is under the active key."))
