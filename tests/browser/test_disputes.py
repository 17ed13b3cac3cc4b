"""A dispute from opening to decision in Chromium, by three users: the buyer returns a purchase
with a screenshot (desktop), the seller contests it with a statement and a file (a 390 px phone),
staff decide a partial refund in admin, the refund moves on the dev chain (anvil) and in the ledger,
and both parties read the decision on the dispute's page. The dispute pages fit a phone without
horizontal scroll. Screenshots of the pages go to test-results/ (docs/screenshots/ takes them)."""

from decimal import Decimal as D

import pytest
from playwright.sync_api import expect

from escrow.choices import DisputeState
from escrow.models import Dispute
from escrow.services.disputes import dispute_outcome_apply
from ledger.selectors import ledger_check
from tests.browser.conftest import RESULTS_DIR
from tests.browser.test_marketplace import off_the_loop
from tests.browser.test_page_widths import LAPTOP, MEASURE, PHONE, sign_in
from tests.escrow.dispute_helpers import PNG, minted_sale
from tests.escrow.settlement_helpers import settle_rounds
from tests.escrow.test_settlement import contracts  # noqa: F401 - the fixture
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits(page, width: int) -> None:
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= width, f"{page.url} at {width} px: {measured}"


def shot(page, name: str) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS_DIR / f"{name}.png"), full_page=True)


def test_a_dispute_from_opening_to_a_partial_refund_decided_by_staff(browser, live_server, tmp_path, contracts):  # noqa: F811
    sale, settlement = off_the_loop(minted_sale, price=D("8"))
    staff = UserFactory(is_staff=True, is_superuser=True)
    screenshot = tmp_path / "no-answer.png"
    screenshot.write_bytes(PNG)
    call_log = tmp_path / "call-log.txt"
    call_log.write_text("2026-12-01 10:02 called, the lead answered and confirmed interest.\n")

    def context_for(user, width):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
        sign_in(context, user, live_server.url)
        return context, context.new_page()

    # The buyer returns the lead from the purchase's page, with a screenshot.
    buyer_ctx, buyer = context_for(sale.buyer, LAPTOP)
    buyer.goto(f"/my/purchases/{sale.pk}/")
    expect(buyer.get_by_test_id("dispute-window-end")).to_be_visible()
    buyer.get_by_test_id("return-link").click()
    buyer.get_by_label("Reason").select_option(label="Invalid or disconnected phone")
    buyer.get_by_label("What is wrong").fill("The number is disconnected: three calls, no ring.")
    buyer.get_by_label("Evidence files").set_input_files(str(screenshot))
    buyer.get_by_role("button", name="Open the dispute").click()
    expect(buyer.get_by_test_id("dispute-state")).to_have_text("Waiting for the seller")
    dispute = Dispute.objects.get(sale_id=sale.pk)
    assert buyer.url.endswith(f"/disputes/{dispute.pk}/")
    expect(buyer.get_by_test_id("evidence")).to_contain_text("no-answer.png")
    expect(buyer.get_by_test_id("checks")).to_contain_text("Phone number")
    fits(buyer, LAPTOP)

    # The seller, on a phone, finds it among the disputes received and contests it with a file.
    seller_ctx, seller = context_for(sale.seller, PHONE)
    seller.goto("/seller/disputes/")
    fits(seller, PHONE)
    seller.get_by_role("link", name=f"#{dispute.pk}", exact=True).click()
    expect(seller.get_by_test_id("respond-by")).to_be_visible()
    fits(seller, PHONE)
    seller.get_by_label("Contest").check()
    seller.get_by_label("Your statement").fill("The lead answered on 1 December; see the call log.")
    seller.get_by_test_id("respond-form").get_by_label("Evidence files").set_input_files(str(call_log))
    seller.get_by_role("button", name="Send your answer").click()
    expect(seller.get_by_test_id("dispute-state")).to_have_text("Waiting for staff arbitration")
    expect(seller.get_by_test_id("evidence")).to_contain_text("call-log.txt")
    fits(seller, PHONE)

    # Staff decide a partial refund in admin (the refund's task is queued, not run here).
    staff_ctx, admin_page = context_for(staff, LAPTOP)
    admin_page.goto(f"/admin/escrow/dispute/{dispute.pk}/change/")
    expect(admin_page.locator("body")).to_contain_text("The lead answered on 1 December")
    admin_page.get_by_test_id("decide-link").click()
    admin_page.get_by_label("Partial refund", exact=True).check()
    admin_page.get_by_label("Partial refund amount (USDC)").fill("4")
    admin_page.get_by_label("Reason (both parties read it)").fill("The lead answered once; half the price back.")
    admin_page.get_by_role("button", name="Decide").click()
    expect(admin_page.locator(".messagelist")).to_contain_text("decided: Partial refund of 4.00 USDC")
    dispute.refresh_from_db()
    assert (dispute.outcome, dispute.refund_amount) == ("refund_partial", D("4"))
    # The refund moves on chain and in the ledger (what escrow.dispute_apply and escrow.advance do).
    off_the_loop(dispute_outcome_apply, dispute_id=dispute.pk)
    off_the_loop(settle_rounds, rounds=3)
    off_the_loop(dispute_outcome_apply, dispute_id=dispute.pk)
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.CLOSED and off_the_loop(ledger_check).ok

    # Both parties read the decision.
    for page, width in ((buyer, LAPTOP), (seller, PHONE)):
        page.reload()
        expect(page.get_by_test_id("outcome")).to_contain_text("Partial refund · 4.00 USDC back to the buyer")
        expect(page.get_by_test_id("decision-reason")).to_have_text("The lead answered once; half the price back.")
        fits(page, width)
    shot(buyer, "dispute-decided")
    admin_page.goto("/admin/escrow/dispute/")
    shot(admin_page, "admin-disputes")
    buyer.goto("/my/disputes/")
    expect(buyer.get_by_test_id("dispute-row")).to_contain_text("Partial refund")
    buyer_ctx.close()
    phone_ctx, phone = context_for(sale.buyer, PHONE)
    for url in ("/my/disputes/", f"/disputes/{dispute.pk}/", f"/my/purchases/{sale.pk}/"):
        phone.goto(url)
        fits(phone, PHONE)
    for context in (phone_ctx, seller_ctx, staff_ctx):
        context.close()
