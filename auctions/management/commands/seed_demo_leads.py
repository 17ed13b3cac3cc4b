from django.core.management.base import BaseCommand

from accounts.models import User
from auctions.demo import demo_auctions_stagger
from leads.demo import DEMO_SELLER_EMAIL, demo_leads_create, demo_seller_cap_ensure
from leads.models import Lead


class Command(BaseCommand):
    help = (
        "Submit demo leads for the demo seller (once: skipped when it already has leads) and spread "
        "their auctions' deadlines."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default=DEMO_SELLER_EMAIL)
        parser.add_argument("--count", type=int, default=36)

    def handle(self, *args, email: str, count: int, **options):
        seller = User.objects.filter(email=email, is_seller=True).first()
        if seller is None:
            self.stderr.write(f"No seller {email}; run seed_demo first.")
            return
        demo_seller_cap_ensure(seller=seller)  # the ticker (DEMO_LEADS) submits more than 500 a day
        if Lead.objects.filter(seller=seller).exists():
            self.stdout.write(f"Demo leads: {seller.email} already has leads.")
            return
        accepted = demo_leads_create(seller=seller, count=count)
        moved = demo_auctions_stagger(seller=seller)
        self.stdout.write(
            f"Demo leads: {accepted} of {count} accepted for {seller.email}; {moved} auction deadlines spread out."
        )
