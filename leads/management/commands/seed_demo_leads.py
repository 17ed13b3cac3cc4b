from django.core.management.base import BaseCommand

from leads.demo import demo_leads_create
from leads.models import Lead
from marketplace.models import User


class Command(BaseCommand):
    help = "Submit demo leads for the demo seller (once: skipped when it already has leads)."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="seller@leadengine.local")
        parser.add_argument("--count", type=int, default=36)

    def handle(self, *args, email: str, count: int, **options):
        seller = User.objects.filter(email=email, is_seller=True).first()
        if seller is None:
            self.stderr.write(f"No seller {email}; run seed_demo first.")
            return
        if Lead.objects.filter(seller=seller).exists():
            self.stdout.write(f"Demo leads: {seller.email} already has leads.")
            return
        accepted = demo_leads_create(seller=seller, count=count)
        self.stdout.write(f"Demo leads: {accepted} of {count} accepted for {seller.email}.")
