from django.core.management.base import BaseCommand

from leads.seller_reputation import DISPUTE_FACTS, seller_reputation_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild seller reputation per vertical from the facts: sales from the leads' status history, "
        "disputes from the sources the apps above leads register (else the stored dispute counters), "
        "every score recomputed now. Run it when nothing sells (docs/scoring.md)."
    )

    def handle(self, *args, **options):
        rows = seller_reputation_rebuild()
        source = f"{len(DISPUTE_FACTS)} registered dispute source(s)" if DISPUTE_FACTS else "the stored counters"
        self.stdout.write(self.style.SUCCESS(f"Rebuilt {rows} seller reputation row(s); disputes from {source}."))
