"""Demo data for `make run`: every vertical, a staff user, a seller and three buyers."""

import os

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from verticals.models import Vertical
from verticals.seed_data import VERTICALS
from verticals.services import vertical_seed_tree

DEMO_USERS = [
    # email, full name, company, seller, buyer, staff
    ("admin@leadengine.local", "Ada Admin", "Lead Engine", False, False, True),
    ("seller@leadengine.local", "Sam Seller", "Sunny Leads LLC", True, False, False),
    ("buyer1@leadengine.local", "Bea Buyer", "Bright Solar Installers", False, True, False),
    ("buyer2@leadengine.local", "Ben Buyer", "Keystone Mortgage", False, True, False),
    ("buyer3@leadengine.local", "Bo Buyer", "Atlas Insurance Agency", False, True, False),
]


class Command(BaseCommand):
    help = "Load demo data (idempotent): all verticals and five demo log-ins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=os.environ.get("DEMO_PASSWORD", "leadengine-demo"),
            help="Password for every demo user (default: leadengine-demo or $DEMO_PASSWORD).",
        )
        parser.add_argument("--skip-verticals", action="store_true")

    def handle(self, *args, password: str, skip_verticals: bool, **options):
        if not skip_verticals:
            with transaction.atomic():  # one commit: a second `make run` re-seeds in about a second
                count = vertical_seed_tree(tree=VERTICALS)
            self.stdout.write(f"Verticals: {count} seeded ({Vertical.objects.count()} in the database).")
        with transaction.atomic():
            for email, full_name, company, seller, buyer, staff in DEMO_USERS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(
                        email=email,
                        password=password,
                        full_name=full_name,
                        company_name=company,
                        is_seller=seller,
                        is_buyer=buyer,
                        is_staff=staff,
                        is_superuser=staff,
                        time_zone="America/New_York",
                        # .local addresses receive no mail: the demo accounts count as confirmed.
                        email_verified_at=timezone.now(),
                    )
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo log-ins (password for all: {password})"))
        for email, _name, _company, seller, _buyer, staff in DEMO_USERS:
            role = "staff (admin at /admin/)" if staff else ("seller" if seller else "buyer")
            self.stdout.write(f"  {email:<28} {role}")
