"""The first-run checklist: what a new seller and a new buyer do next. Every item is computed
from the facts (an ask, a lead, an address, a deposit, a bid or an autobid rule, a delivery
destination), never ticked by hand, so it is right however the step was done (page, API, admin).
templates/marketplace/_first_run.html renders it."""

from dataclasses import dataclass

from django.urls import reverse

from accounts.models import User
from auctions.models import Ask, AutobidRule, Bid
from escrow.selectors.funds import wallet_exists_for
from integrations.models import Destination
from leads.models import Lead
from ledger.choices import LedgerAccountKind, LedgerTransactionKind
from ledger.models import LedgerEntry

# Money that came from outside into the user's balance: a vault deposit or a staff credit
# (CREDIT), or the development faucet.
_FUNDING_KINDS = (LedgerTransactionKind.CREDIT, LedgerTransactionKind.FAUCET)


@dataclass(frozen=True)
class ChecklistItem:
    key: str  # stable, for tests and styling
    label: str
    done: bool
    url: str
    why: str


class Checklist(list):
    """The items in order (a list of ChecklistItem), and whether the person hid the checklist."""

    def __init__(self, items=(), *, dismissed: bool = False):
        super().__init__(items)
        self.dismissed = dismissed

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self)

    @property
    def complete(self) -> bool:
        return all(item.done for item in self)


def first_run_checklist(*, user: User) -> Checklist:
    """The next steps for the user's roles (a seller's, then a buyer's; confirming the email
    once for both); empty for an account with neither role. One EXISTS query per fact."""
    if not (user.is_seller or user.is_buyer):
        return Checklist(dismissed=user.first_run_dismissed_at is not None)
    items = [
        ChecklistItem(
            key="confirm_email",
            label="Confirm your email address",
            done=user.email_verified_at is not None,
            url=reverse("account"),
            why=f"Open the link we sent to {user.email}. Until then we send you no notification emails.",
        )
    ]
    if user.is_seller:
        items += [
            ChecklistItem(
                key="ask",
                label="Set your prices for a vertical",
                done=Ask.objects.filter(seller=user).exists(),
                url=reverse("ask-new"),
                why="An ask sets the reserve, the buy-now price and how long your leads' auctions run.",
            ),
            ChecklistItem(
                key="first_lead",
                label="Submit your first lead",
                done=Lead.objects.filter(seller=user).exists(),
                url=reverse("seller-forms"),
                why="Through your hosted form, a CSV import, or the API with an API key.",
            ),
            ChecklistItem(
                key="payout_address",
                label="Set up your payout address",
                done=wallet_exists_for(user=user),
                url=reverse("wallet"),
                why="Your earnings are paid to it when a sale is released.",
            ),
        ]
    if user.is_buyer:
        items += [
            ChecklistItem(
                key="deposit",
                label="Deposit USDC",
                done=LedgerEntry.objects.filter(
                    account__owner=user,
                    account__kind=LedgerAccountKind.USER_AVAILABLE,
                    amount__gt=0,
                    transaction__kind__in=_FUNDING_KINDS,
                ).exists(),
                url=reverse("wallet"),
                why="Your bids are held on your balance: without funds you cannot bid.",
            ),
            ChecklistItem(
                key="first_bid",
                label="Place your first bid or set up an autobid rule",
                done=Bid.objects.filter(buyer=user).exists() or AutobidRule.objects.filter(buyer=user).exists(),
                url=reverse("marketplace"),
                why="Bid on live leads yourself, or let an autobid rule bid for you on the leads it matches.",
            ),
            ChecklistItem(
                key="destination",
                label="Add a delivery destination",
                done=Destination.objects.filter(owner=user, archived_at__isnull=True).exists(),
                url=reverse("integrations:destination-list"),
                why="The leads you buy are sent to your CRM or webhook as soon as they are paid for.",
            ),
        ]
    return Checklist(items, dismissed=user.first_run_dismissed_at is not None)
