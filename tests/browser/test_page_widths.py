"""Every page an anonymous visitor, a buyer and a seller can reach fits a phone and a laptop, and
has no serious or critical accessibility violation (axe-core, WCAG 2 A/AA: tests/browser/axe.py).

With a marketplace full of realistic data (the seeded verticals, demo leads through the real
ingestion path, live auctions with bids, closed ones sold and unsold, a minted purchase with its
77-digit token id and a dispute on it, autobid rules, bounties, a wallet with history, a CSV import), each page is
opened at 390 px and at 1280 px. At 390 px no page's document may be wider than the viewport; at
1280 px neither, and no table may be clipped (wider than the box it scrolls in, or past the page).
At both widths axe-core checks the page too. A failure names the page, the width and the
elements that stick out (with a screenshot in test-results/) or the rules broken and where; every
page's failures are reported together.
"""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from eth_utils import to_checksum_address

from analytics.rollups import rollups_refresh
from auctions.choices import BidSource
from auctions.models import Ask, Auction, BuyNowListing, Sale
from auctions.services.auctions import auction_close, auction_open, bid_place
from auctions.services.autobid import autobid_rule_create
from chain.models import Wallet
from escrow.models import Settlement
from leads import imports
from leads.choices import LeadStatus
from leads.demo import demo_leads_create
from leads.models import Lead
from leads.services import lead_score, seller_form_token_get_or_create
from ledger.services import ledger_credit_user
from tests.auctions.factories_bounties import make_bounty
from tests.browser.axe import axe_violations
from tests.browser.conftest import RESULTS_DIR
from tests.browser.test_marketplace import off_the_loop
from tests.escrow.dispute_page_helpers import opened
from tests.escrow.test_purchases import settle
from tests.factories import UserFactory
from verticals.models import Vertical
from verticals.seed_data import VERTICALS
from verticals.services import vertical_seed_tree

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE, LAPTOP = 390, 1280

# Elements that stick out of the viewport, and tables wider than the box they scroll in.
MEASURE = """() => {
  const width = document.documentElement.clientWidth;
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
    (el.dataset.testid ? '[' + el.dataset.testid + ']' : '') + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  // An element inside a box that clips or scrolls (and itself fits) does not widen the page.
  const contained = el => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return up.getBoundingClientRect().right <= width + 1;
    }
    return false;
  };
  const wide = [];
  document.querySelectorAll('body *').forEach(el => {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !contained(el)) {
      // Only the outermost offender of each branch: its children follow it.
      if (!wide.some(w => w.contains(el))) wide.push(el);
    }
  });
  const clipped = [];
  document.querySelectorAll('table').forEach(table => {
    let box = table.parentElement;
    while (box && box !== document.body && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
    if ((box && box !== document.body && box.scrollWidth > box.clientWidth + 1)
        || table.getBoundingClientRect().right > width + 1) clipped.push(describe(table));
  });
  return {scrollWidth: document.documentElement.scrollWidth, width,
          wide: wide.slice(0, 5).map(describe), clipped};
}"""


# ---------------------------------------------------------------- a realistic marketplace


def build_marketplace() -> dict:
    """The seeded verticals, a seller's demo leads (scored through the real path), auctions live
    and closed, a minted purchase, autobid rules, bounties, wallets with history, a CSV import."""
    now = timezone.now()
    vertical_seed_tree(tree=VERTICALS)
    seller = UserFactory(is_seller=True, email="seller@example.com")
    buyer = UserFactory(is_buyer=True, email="buyer.with.a.rather.long.address@example.com")
    rival = UserFactory(is_buyer=True)
    for user in (buyer, rival):
        ledger_credit_user(user=user, amount=D("5000"), idempotency_key=f"width-{user.pk}", memo="Test USDC")
    for vertical in Vertical.objects.filter(
        slug__in={
            "solar-residential",
            "mortgage-refinance",
            "auto-insurance-personal",
            "roofing-replacement",
            "personal-injury-auto-accident",
            "hvac-heat-pump",
        }
    ):
        Ask.objects.create(seller=seller, vertical=vertical, duration_seconds=86400)
    demo_leads_create(seller=seller, count=14)
    leads = list(Lead.objects.filter(seller=seller).order_by("id"))
    for lead in leads:
        lead_score(lead_id=lead.pk)
    # Scoring queues the listing on commit; open here whatever is not listed yet (auction_open is idempotent).
    listable = Lead.objects.filter(seller=seller, status__in=[LeadStatus.SCORED, LeadStatus.LISTED]).order_by("id")
    auctions = [auction_open(lead_id=lead.pk, now=now - timedelta(minutes=5)) for lead in listable]

    def bid(auction, user, factor):
        bid_place(
            auction_id=auction.pk,
            buyer=user,
            max_amount=(auction.reserve_price * factor).quantize(D("0.01")),
            source=BidSource.WEB,
            now=now - timedelta(minutes=4),
        )

    live_leading, live_outbid, sold, sold_minted, unsold = auctions[:5]
    bid(live_leading, buyer, D("1.6"))
    bid(live_outbid, buyer, D("1.25"))
    bid(live_outbid, rival, D("1.5"))
    for auction in (sold, sold_minted):
        bid(auction, buyer, D("1.4"))
        bid(auction, rival, D("1.2"))
    for auction in (sold, sold_minted, unsold):
        auction_close(auction_id=auction.pk, now=auction.deadline)
    minted = Sale.objects.select_related("lead__vertical", "lead__pii").get(auction=sold_minted)
    # A real-looking address: the token id (address << 96 | sale id) is then 77 digits long.
    Wallet.objects.create(
        user=buyer, address=to_checksum_address("0x8ba1f109551bd432803012645ac136ddd64dba72"), kind=Wallet.Kind.LINKED
    )
    settle(minted)
    # The minted purchase returned: the dispute pages carry its statement, checks and evidence.
    dispute = opened(minted, statement="The number rings out every time; " * 6)
    listing = BuyNowListing.objects.get(auction=unsold)

    rule = autobid_rule_create(
        buyer=buyer,
        name="Solar homeowners in California, good credit",
        max_bid=D("80"),
        daily_budget=D("800"),
        daily_lead_cap=10,
        vertical=Vertical.objects.get(slug="solar-residential"),
        states=["CA", "NV"],
        min_score=60,
        field_filters=[{"field": "homeowner", "op": "eq", "value": True}],
    )
    bounty = make_bounty(
        vertical=Vertical.objects.get(slug="solar"),
        buyer=buyer,
        name="Sunny roofs",
        amount_per_lead=D("5"),
        fund=D("100"),
        min_score=50,
        states=["CA", "AZ", "NV"],
    )
    vertical = Vertical.objects.get(slug="solar-residential")
    content = (
        b"first_name,last_name,email,phone,street_address,city,state,zip,homeowner,monthly_electric_bill\n"
        b"Ada,Lovelace,ada@example.com,+14155552671,1 Main St,San Francisco,CA,94105,yes,220\n"
    )
    csv_import = imports.csv_import_create(
        seller=seller, vertical=vertical, filename="spring-campaign.csv", content=content
    )
    rejected = (
        Lead.objects.filter(seller=seller)
        .exclude(status__in=[LeadStatus.SCORED, LeadStatus.LISTED, LeadStatus.SOLD, LeadStatus.UNSOLD])
        .first()
    )
    rollups_refresh()  # the dashboards show this marketplace
    return {
        "seller": seller,
        "buyer": buyer,
        "staff": UserFactory(is_staff=True),
        "vertical": vertical,
        "rule": rule,
        "bounty": bounty,
        "auctions": {
            "leading": live_leading.pk,
            "outbid": live_outbid.pk,
            "sold": sold.pk,
            "minted": sold_minted.pk,
            "unsold": unsold.pk,
        },
        "minted_sale": minted.pk,
        "dispute": dispute.pk,
        "sold_lead": minted.lead_id,
        "listing": listing.pk,
        "import": csv_import.pk,
        "rejected_lead": rejected.pk if rejected else None,
        "ask": Ask.objects.filter(seller=seller).first().pk,
        "form_token": seller_form_token_get_or_create(seller=seller).token,
    }


def pages_for(data: dict) -> dict[str, list[str]]:
    a = data["auctions"]
    public = [
        "/",
        "/verticals/",
        "/verticals/solar/",
        "/verticals/solar-residential/",
        "/accounts/login/",
        "/accounts/signup/",
        f"/f/solar-residential/?s={data['form_token']}",
    ]
    buyer = [
        "/marketplace/",
        "/marketplace/?vertical=solar-residential&vertical=mortgage-refinance",
        *[f"/auctions/{pk}/" for pk in a.values()],
        "/my/bids/",
        "/my/wins/",
        "/my/purchases/",
        f"/my/purchases/{data['minted_sale']}/",
        "/my/disputes/",
        f"/disputes/{data['dispute']}/",
        "/buy-now/",
        f"/buy-now/{data['listing']}/buy/",
        "/autobid/",
        "/autobid/new/",
        f"/autobid/{data['rule'].pk}/",
        f"/autobid/{data['rule'].pk}/edit/",
        "/bounties/",
        f"/bounties/{data['bounty'].pk}/",
        "/wallet/",
        "/account/",
        "/notifications/",
        "/notifications/preferences/",
        "/integrations/destinations/",
        f"/integrations/purchases/{data['minted_sale']}/deliveries/",
        "/verticals/solar-residential/",
        "/dashboard/buyer/",
    ]
    seller = [
        "/dashboard/seller/",
        "/dashboard/seller/?range=90d",
        "/seller/leads/",
        f"/seller/leads/{data['sold_lead']}/",
        "/seller/earnings/",
        "/seller/disputes/",
        f"/disputes/{data['dispute']}/",
        "/seller/forms/",
        "/seller/imports/",
        "/seller/imports/new/",
        f"/seller/imports/{data['import']}/",
        f"/seller/imports/{data['import']}/map/",
        "/seller/asks/",
        "/seller/asks/new/",
        f"/seller/asks/{data['ask']}/edit/",
        "/seller/bounties/",
        f"/auctions/{a['minted']}/",
        f"/auctions/{a['leading']}/",
        "/wallet/",
        "/account/",
        "/notifications/",
        "/seller/integrations/",
    ]
    if data["rejected_lead"]:
        seller.append(f"/seller/leads/{data['rejected_lead']}/")
    return {"anonymous": public, "buyer": buyer, "seller": seller, "staff": ["/dashboard/staff/"]}


# ---------------------------------------------------------------- the test


def sign_in(context, user, base_url: str) -> None:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": base_url}])


def _shot(page, role: str, width: int, url: str) -> str:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"width-{width}-{role}-{re.sub(r'[^A-Za-z0-9]+', '_', url).strip('_') or 'home'}.png"
    page.screenshot(path=str(path), full_page=True)
    return str(path)


def assert_realistic(data: dict) -> None:
    a = data["auctions"]
    assert Vertical.objects.count() > 80 and Lead.objects.filter(seller=data["seller"]).count() >= 12
    assert Auction.objects.get(pk=a["leading"]).leader_id == data["buyer"].pk
    assert Auction.objects.get(pk=a["outbid"]).leader_id != data["buyer"].pk
    assert Sale.objects.get(auction_id=a["sold"]).buyer_id == data["buyer"].pk
    assert len(Settlement.objects.get(sale_id=data["minted_sale"]).token_id) > 70  # the long token id


def test_every_page_fits_a_phone_and_a_laptop_and_has_no_serious_accessibility_violation(browser, live_server):
    data = off_the_loop(build_marketplace)
    assert_realistic(data)
    users = {"anonymous": None, "buyer": data["buyer"], "seller": data["seller"], "staff": data["staff"]}
    failures, inaccessible, visited = [], [], 0
    for role, urls in pages_for(data).items():
        for width in (PHONE, LAPTOP):
            context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
            if users[role] is not None:
                sign_in(context, users[role], live_server.url)
            page = context.new_page()
            for url in urls:
                response = page.goto(url)
                assert response.status == 200, f"{role} {url}: HTTP {response.status}"
                page.wait_for_load_state("load")
                measured = page.evaluate(MEASURE)
                visited += 1
                too_wide = measured["scrollWidth"] > width
                clipped = width == LAPTOP and measured["clipped"]
                if too_wide or clipped:
                    failures.append(
                        f"{role} {url} at {width} px: document {measured['scrollWidth']} px wide"
                        f"{'; sticking out: ' + ', '.join(measured['wide']) if too_wide else ''}"
                        f"{'; clipped tables: ' + ', '.join(measured['clipped']) if clipped else ''}"
                        f" ({_shot(page, role, width, url)})"
                    )
                violations = axe_violations(page)
                if violations:
                    inaccessible.append(f"{role} {url} at {width} px:\n  " + "\n  ".join(violations))
            context.close()
    assert visited == 2 * sum(len(urls) for urls in pages_for(data).values())
    problems = []
    if failures:
        problems.append("pages wider than the screen:\n" + "\n".join(failures))
    if inaccessible:
        problems.append(
            "serious or critical accessibility violations (axe-core, WCAG 2 A/AA):\n" + "\n".join(inaccessible)
        )
    assert not problems, "\n\n".join(problems)
