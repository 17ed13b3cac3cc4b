"""The issue's "done when", end to end on anvil and PostgreSQL through the real faces: a buyer with
USDC in the vault bids over the API, the auction closes, the sale settles on its own (the settle
task on commit, then what the beat runs): escrow funded, a LeadNFT owned by the buyer's address,
the contact details readable by that buyer only (page and API), and the release after the
vertical's dispute window with the split, in the vault and in the ledger."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from auctions.services.auctions import auction_close, auction_open
from escrow.models import Settlement
from leads import vault
from leads.models import LeadPII, PiiAccess
from ledger.services import account_for
from tests.auctions.factories import make_scored_lead, make_vertical
from tests.escrow.settlement_helpers import chain_buyer, checksum, deploy, settle_rounds
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
CONTACT = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com", "phone": "+12025552143"}


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(user=user, name='e2e').secret}")
    return client


def test_a_sale_ends_funded_minted_to_the_buyer_readable_by_the_buyer_only_and_released(settings, client):
    settings.CHAIN_SETTLEMENT = True
    contracts = deploy()
    vault_contract, nft = contracts["EscrowVault"], contracts["LeadNFT"]
    buyer, other = chain_buyer(D("100")), chain_buyer(D("100"))
    vertical = make_vertical(reserve_price=D("30"), dispute_window_hours=24)
    lead = make_scored_lead(vertical=vertical)
    key_id, blob = vault.seal(CONTACT, context=str(lead.pk))
    LeadPII.objects.create(lead=lead, key_id=key_id, ciphertext=blob)
    auction = auction_open(lead_id=lead.pk, now=timezone.now())

    bid = api(buyer).post(f"/api/v1/auctions/{auction.pk}/bids/", {"max_amount": "30"}, format="json")
    assert bid.status_code == 201, bid.content
    auction_close(auction_id=auction.pk, now=auction.deadline)  # the settle task runs on commit

    # Until the escrow deal is funded on chain the buyer sees the payment on its way, not the contact.
    sale_id = Settlement.objects.get(sale__auction=auction).sale_id
    waiting = api(buyer).get(f"/api/v1/purchases/{sale_id}/").json()
    assert waiting["contact"] is None and waiting["contact_status"] == "awaiting_payment"
    assert not PiiAccess.objects.exists()
    settle_rounds(2, now=auction.deadline)
    settle_rounds(2, now=auction.deadline + timedelta(seconds=settings.CHAIN_MINT_FLUSH_SECONDS + 1))
    s = Settlement.objects.get(sale__auction=auction)
    buyer_address = checksum(buyer.wallet.address)

    # Escrow funded and the NFT owned by the buyer's address.
    assert s.state == Settlement.State.MINTED
    assert vault_contract.functions.dealOf(s.sale_id).call() == [buyer_address, 30 * 10**6]
    assert nft.functions.ownerOf(int(s.token_id)).call() == buyer_address

    # The contact details: the buyer only, on the API and the page; each read logged.
    body = api(buyer).get(f"/api/v1/purchases/{s.sale_id}/").json()
    assert body["contact"]["email"] == "grace@example.com" and body["nft"]["token_id"] == str(s.token_id)
    client.force_login(buyer)
    page = client.get(f"/my/purchases/{s.sale_id}/")
    assert page.status_code == 200 and "grace@example.com" in page.content.decode()
    for stranger in (other, lead.seller, UserFactory(is_staff=True)):
        assert api(stranger).get(f"/api/v1/purchases/{s.sale_id}/").status_code == 404
    assert PiiAccess.objects.filter(lead__sale__id=s.sale_id).count() == 2
    assert set(PiiAccess.objects.values_list("user_id", flat=True)) == {buyer.pk}

    # Released after the window (not before), with the split, in the vault and the ledger.
    settle_rounds(2, now=s.release_after - timedelta(minutes=1))
    assert Settlement.objects.get(pk=s.pk).state == Settlement.State.MINTED
    settle_rounds(3, now=s.release_after + timedelta(seconds=1))
    s.refresh_from_db()
    assert s.state == Settlement.State.RELEASED
    assert vault_contract.functions.dealOf(s.sale_id).call()[1] == 0
    assert vault_contract.functions.balanceOf(checksum(s.seller_address)).call() == D("28.5") * 10**6
    assert account_for(user=lead.seller).balance == D("28.5")
    assert account_for(user=buyer).balance == D("70")
