from django.core.management.base import BaseCommand, CommandError

from ledger.selectors import ledger_check


class Command(BaseCommand):
    help = "Prove the USDC books balance; exits non-zero on any discrepancy."

    def handle(self, *args, **options):
        report = ledger_check()
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("The ledger does not balance; see the discrepancies above.")
