"""Buyer PII access on pages: "My purchases" (no PII, nothing logged, constant queries) and the
purchase page (contact details, one PiiAccess per view, escrow/NFT facts and verification); the
access rule (buyer until minted, then the NFT's owner, 404 for everyone else); the service; the
read-only access log in admin; settlement facts on the seller's pages."""

import html
import itertools
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from eth_utils import to_checksum_address

from auctions.models import Sale
from chain.leadnft import MintItem, leaf_hash, token_id_for
from chain.models import ChainTransaction, ContractDeployment, Wallet
from core import correlation
from escrow.models import MintBatch, Settlement
from escrow.selectors import purchases as purchase_selectors
from escrow.services import purchases
from escrow.services.commitments import lead_canonical_data, lead_data_hash
from leads import vault
from leads.models import LeadPII, PiiAccess
from leads.selectors import lead_pii_read
from tests.auctions.factories import funded_buyer, make_vertical
from tests.auctions.factories_bounties import sell_by_auction
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHAIN_ID = 31337
CONTACT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada.lovelace@example.com",
    "phone": "+14155552123",
    "street_address": "12 Analytical Way",
    "fields": {"ssn_last4": "9876"},
}
PII_VALUES = ("ada.lovelace@example.com", "+1 415-555-2123", "12 Analytical Way", "Lovelace", "9876")
SALT = "0x" + "11" * 32
_numbers = itertools.count(1)


# ---------------------------------------------------------------- builders (the API tests use them too)


def address(n: int) -> str:
    return to_checksum_address(f"0x{n:040x}")


def give_wallet(user, *, custodial: str = "") -> Wallet:
    """A linked wallet with a made-up address (and optionally an old custodial address)."""
    return Wallet.objects.create(
        user=user, address=address(0xA000 + next(_numbers)), kind=Wallet.Kind.LINKED, custodial_address=custodial
    )


def make_purchase(*, t0, buyer=None, seller=None, contact: dict | None = None) -> Sale:
    """A lead sold by auction at 10 USDC, with contact details in the vault."""
    lead_kwargs = {"seller": seller} if seller is not None else {}
    sale = sell_by_auction(t0=t0, buyer=buyer or funded_buyer(), vertical=make_vertical(), **lead_kwargs)
    key_id, blob = vault.seal(CONTACT if contact is None else contact, context=str(sale.lead_id))
    LeadPII.objects.create(lead_id=sale.lead_id, key_id=key_id, ciphertext=blob)
    return Sale.objects.select_related("lead__vertical", "lead__pii").get(pk=sale.pk)


def tx(label: str) -> ChainTransaction:
    n = next(_numbers)
    return ChainTransaction.objects.create(
        idempotency_key=f"test-{label}-{n}",
        chain_id=CHAIN_ID,
        to=address(1),
        tx_hash="0x" + f"{n:064x}",
        status=ChainTransaction.Status.CONFIRMED,
    )


def settle(
    sale: Sale,
    *,
    state: str = Settlement.State.MINTED,
    owner: str | None = None,
    batch_size: int = 1,
    released: bool = False,
) -> Settlement:
    """The sale's Settlement with a real data commitment; minted (token, batch, owner = the
    buyer's wallet unless `owner`) from `minted` on; released with its split when `released`."""
    buyer_wallet = Wallet.objects.filter(user=sale.buyer).first() or give_wallet(sale.buyer)
    seller_wallet = Wallet.objects.filter(user=sale.seller).first() or give_wallet(sale.seller)
    canonical = lead_canonical_data(lead=sale.lead, pii=lead_pii_read(lead=sale.lead))
    now = timezone.now()
    settlement = Settlement(
        sale=sale,
        chain_id=CHAIN_ID,
        state=state,
        buyer_address=buyer_wallet.address,
        seller_address=seller_wallet.address,
        amount=sale.price,
        data_hash="0x" + lead_data_hash(canonical=canonical, salt=bytes.fromhex(SALT[2:])).hex(),
        data_salt=SALT,
        release_after=now + timedelta(hours=48),
    )
    if state != Settlement.State.PENDING:
        settlement.fund_tx, settlement.funded_at = tx("fund"), now
    if state in (Settlement.State.MINTED, Settlement.State.RELEASING, Settlement.State.RELEASED):
        settlement.mint_batch = MintBatch.objects.create(
            chain_id=CHAIN_ID,
            tx=tx("mint"),
            size=batch_size,
            status=MintBatch.Status.CONFIRMED,
            onchain_batch_id=7,
            root="0x" + "cd" * 32,
        )
        settlement.token_id = str(token_id_for(sale_id=sale.pk, buyer=buyer_wallet.address))
        settlement.minted_at = now
        settlement.owner_address = buyer_wallet.address if owner is None else owner
    if released:
        settlement.state, settlement.released_at = Settlement.State.RELEASED, now
        settlement.seller_amount, settlement.platform_fee, settlement.vertical_royalty = D("9.3"), D("0.5"), D("0.2")
    settlement.save()
    return settlement


def logged() -> list[tuple]:
    """(user, sale, channel, role) of every recorded read."""
    return list(PiiAccess.objects.order_by("id").values_list("user_id", "lead__sale__id", "channel", "role"))


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def buyer(db):
    return funded_buyer()


@pytest.fixture
def seller(db):
    return UserFactory(is_seller=True)


@pytest.fixture
def sale(t0, buyer, seller):
    return make_purchase(t0=t0, buyer=buyer, seller=seller)


def detail_url(sale_id) -> str:
    return f"/my/purchases/{sale_id}/"


def page_text(response) -> str:
    return html.unescape(response.content.decode())


# ---------------------------------------------------------------- the purchase page


def test_the_buyer_reads_the_contact_details_and_each_view_is_logged_once(client, buyer, sale):
    client.force_login(buyer)
    response = client.get(detail_url(sale.pk))
    assert response.status_code == 200
    body = page_text(response)
    for value in PII_VALUES:
        assert value in body
    assert logged() == [(buyer.pk, sale.pk, "page", "buyer")]
    assert PiiAccess.objects.get().correlation_id == response[correlation.HEADER]
    assert client.get(detail_url(sale.pk)).status_code == 200
    assert logged() == [(buyer.pk, sale.pk, "page", "buyer")] * 2


def test_a_purchase_not_settled_yet_says_so_and_still_shows_the_deal_and_bid_log(client, buyer, sale):
    client.force_login(buyer)
    body = page_text(client.get(detail_url(sale.pk)))
    assert "Not settled on chain yet" in body and "state: pending" in body
    assert f"Deal id</dt><dd>{sale.pk}" in body
    assert sale.bid_log_digest in body and f"/auctions/{sale.auction_id}/bid-log.json" in body


def test_a_minted_purchase_shows_escrow_nft_and_how_to_verify_them(client, buyer, sale):
    settlement = settle(sale)
    ContractDeployment.objects.create(
        chain_id=CHAIN_ID,
        name="LeadNFT",
        address=address(0x4E47),
        tx_hash="0x1",
        block_number=1,
        artifact_sha256="0" * 64,
        deployed_at=timezone.now(),
    )
    client.force_login(buyer)
    body = page_text(client.get(detail_url(sale.pk)))
    assert "NFT minted" in body and str(settlement.token_id) in body and settlement.owner_address in body
    assert address(0x4E47) in body and "batchRoot(7)" in body and "0x" + "cd" * 32 in body
    assert settlement.data_hash in body and SALT in body
    assert lead_canonical_data(lead=sale.lead, pii=CONTACT).decode() in body
    verification = client.get(detail_url(sale.pk)).context["verification"]
    assert verification.data_hash_matches is True and verification.computed_data_hash == settlement.data_hash
    assert verification.token_id == str(settlement.token_id) and verification.token_id_matches is True
    item = MintItem(
        sale_id=sale.pk,
        buyer=settlement.buyer_address,
        seller=settlement.seller_address,
        vertical_id=sale.lead.vertical_id,
        price_units=10_000_000,
        quality=sale.lead.quality_score,
        data_hash=bytes.fromhex(settlement.data_hash[2:]),
        bid_log_digest=bytes.fromhex(sale.bid_log_digest),
    )
    assert verification.leaf_hash == "0x" + leaf_hash(item).hex() and verification.leaf_hash in body
    assert "its root is the leaf above" in body and verification.batch_root_matches is False  # a made-up root
    MintBatch.objects.filter(pk=settlement.mint_batch_id).update(root=verification.leaf_hash)
    assert client.get(detail_url(sale.pk)).context["verification"].batch_root_matches is True
    assert "matches" in body and "does not match" not in body


def test_a_released_purchase_shows_the_split(client, buyer, sale):
    settle(sale, released=True)
    client.force_login(buyer)
    body = page_text(client.get(detail_url(sale.pk)))
    assert "Released" in body and "seller 9.30 USDC · platform fee 0.50 USDC · vertical royalty 0.20 USDC" in body


def test_a_changed_commitment_is_reported_as_not_matching(client, buyer, sale):
    settlement = settle(sale)
    Settlement.objects.filter(pk=settlement.pk).update(data_hash="0x" + "00" * 32)
    client.force_login(buyer)
    response = client.get(detail_url(sale.pk))
    assert response.context["verification"].data_hash_matches is False
    assert "does not match the stored data hash" in page_text(response)


@pytest.mark.parametrize("who", ["seller", "other_buyer", "staff", "seller_staff"])
def test_anyone_but_the_reader_gets_404_and_nothing_is_logged(client, sale, seller, who):
    user = {
        "seller": lambda: seller,
        "other_buyer": funded_buyer,
        "staff": lambda: UserFactory(is_staff=True, is_superuser=True, is_buyer=True),
        "seller_staff": lambda: UserFactory(is_seller=True, is_staff=True),
    }[who]()
    client.force_login(user)
    assert client.get(detail_url(sale.pk)).status_code == 404
    assert client.get(detail_url(sale.pk + 1000)).status_code == 404  # the same answer as a missing id
    assert sale.pk not in [s.pk for s, *_ in client.get("/my/purchases/").context["rows"]]
    assert PiiAccess.objects.count() == 0


def test_an_anonymous_visitor_is_sent_to_log_in(client, sale):
    for url in ("/my/purchases/", detail_url(sale.pk)):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert PiiAccess.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "abc/",
        "-1/",
        "0/",
        "1.5/",
        "99999999999999999999999999/",
        "9223372036854775808/",
        "4294967296/",
        "%00/",
        "1%00/",
        "%EF%BF%BF/",
    ],
)
def test_bad_ids_are_not_found_not_errors(client, buyer, sale, path):
    client.force_login(buyer)
    response = client.get("/my/purchases/" + path)
    # NUL bytes are refused site-wide with a 400 (core.middleware); the rest are 404s.
    assert response.status_code == (400 if "%00" in path else 404)
    assert PiiAccess.objects.count() == 0


# ---------------------------------------------------------------- resale: the NFT's owner reads


def test_after_a_resale_the_new_owner_reads_and_the_old_buyer_gets_404(client, buyer, sale):
    new_owner = funded_buyer()
    wallet = give_wallet(new_owner)
    settle(sale, owner=wallet.address.lower())  # stored in another case: compared case-insensitively
    client.force_login(new_owner)
    response = client.get(detail_url(sale.pk))
    assert response.status_code == 200 and "ada.lovelace@example.com" in page_text(response)
    assert [s.pk for s, *_ in client.get("/my/purchases/").context["rows"]] == [sale.pk]
    client.force_login(buyer)
    assert client.get(detail_url(sale.pk)).status_code == 404
    assert client.get("/my/purchases/").context["rows"] == []
    assert logged() == [(new_owner.pk, sale.pk, "page", purchase_selectors.AS_NFT_OWNER)]


def test_an_nft_held_on_the_old_custodial_address_is_readable_by_its_user(client, buyer, sale):
    holder = funded_buyer()
    old = address(0xC0DE)
    give_wallet(holder, custodial=old)
    settle(sale, owner=old)
    client.force_login(holder)
    assert client.get(detail_url(sale.pk)).status_code == 200
    assert logged() == [(holder.pk, sale.pk, "page", purchase_selectors.AS_NFT_OWNER)]


def test_minted_to_the_buyer_the_buyer_keeps_reading_as_buyer(client, buyer, sale):
    settle(sale)
    client.force_login(buyer)
    assert client.get(detail_url(sale.pk)).status_code == 200
    assert logged() == [(buyer.pk, sale.pk, "page", "buyer")]


def test_before_the_mint_the_buyer_reads_whatever_the_settlement_says(client, buyer, sale):
    settle(sale, state=Settlement.State.FUNDED)
    client.force_login(buyer)
    body = page_text(client.get(detail_url(sale.pk)))
    assert "Escrow funded" in body and "not minted yet" in body
    assert logged() == [(buyer.pk, sale.pk, "page", "buyer")]


def test_a_wallet_without_the_nft_reads_nothing(client, buyer, sale):
    other = funded_buyer()
    give_wallet(other)
    settle(sale)
    client.force_login(other)
    assert client.get(detail_url(sale.pk)).status_code == 404
    assert PiiAccess.objects.count() == 0


# ---------------------------------------------------------------- my purchases


def test_the_list_shows_purchases_without_pii_logs_nothing_and_its_queries_do_not_grow(
    client, buyer, t0, django_assert_num_queries
):
    first = make_purchase(t0=t0, buyer=buyer)
    client.force_login(buyer)
    client.get("/my/purchases/")  # warm the session
    # user, wallet, page, unread notifications (session: cache); wallet and outcomes (return on spend)
    with django_assert_num_queries(6) as few:
        response = client.get("/my/purchases/")
    assert [s.pk for s, *_ in response.context["rows"]] == [first.pk]
    more = [make_purchase(t0=t0 + timedelta(minutes=i + 1), buyer=buyer) for i in range(4)]
    settle(more[0])
    settle(more[1], state=Settlement.State.FUNDED)
    make_purchase(t0=t0)  # someone else's
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/my/purchases/")
    body = page_text(response)
    assert [s.pk for s, *_ in response.context["rows"]] == [s.pk for s in reversed([first, *more])]
    for value in PII_VALUES:
        assert value not in body
    assert "NFT minted" in body and "Escrow funded" in body and "Not settled on chain yet" in body
    assert first.lead.vertical.name in body and "10.00" in body
    assert PiiAccess.objects.count() == 0


def test_the_list_pages_are_stable_and_complete(buyer, t0):
    sales = [make_purchase(t0=t0, buyer=buyer) for _ in range(5)]  # the same created_at: ids break ties
    seen, cursor = [], ""
    while True:
        page = purchase_selectors.purchase_page_for_reader(user=buyer, cursor=cursor, size=2)
        seen += [s.pk for s in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == sorted(s.pk for s in sales)[::-1]


def test_the_list_page_follows_its_cursor_and_ignores_a_bad_one(client, buyer, t0):
    make_purchase(t0=t0, buyer=buyer)
    client.force_login(buyer)
    for cursor in ("garbage", "%FF%FE", "x" * 500):
        assert client.get(f"/my/purchases/?cursor={cursor}").status_code == 200


def test_the_nav_links_to_my_purchases_for_buyers(client, buyer):
    client.force_login(buyer)
    assert 'data-testid="purchases-link"' in client.get("/my/purchases/").content.decode()


# ---------------------------------------------------------------- the service


def test_the_service_refuses_a_stranger_and_records_nothing(sale):
    with pytest.raises(purchases.PurchaseNotFound):
        purchases.purchase_pii_read(user=funded_buyer(), sale=sale, channel=PiiAccess.Channel.PAGE)
    assert PiiAccess.objects.count() == 0


def test_the_service_rechecks_ownership_at_read_time(buyer, sale):
    """A sale fetched before a resale is not readable by its old buyer afterwards."""
    fetched = purchase_selectors.purchase_get_for_reader(user=buyer, sale_id=sale.pk)
    settle(sale, owner=give_wallet(funded_buyer()).address)
    with pytest.raises(purchases.PurchaseNotFound):
        purchases.purchase_pii_read(user=buyer, sale=fetched, channel=PiiAccess.Channel.API)
    assert PiiAccess.objects.count() == 0


def test_the_service_returns_the_pii_and_keeps_a_long_correlation_id_within_the_column(buyer, sale):
    token = correlation.set("c" * 128)
    try:
        pii = purchases.purchase_pii_read(user=buyer, sale=sale, channel=PiiAccess.Channel.API)
    finally:
        correlation.reset(token)
    assert pii == CONTACT
    access = PiiAccess.objects.get()
    assert (access.channel, access.role, access.correlation_id) == ("api", "buyer", "c" * 64)


def test_an_anonymous_user_reads_nothing(sale):
    from django.contrib.auth.models import AnonymousUser

    assert not purchase_selectors.purchase_queryset_for_reader(user=AnonymousUser()).exists()


# ---------------------------------------------------------------- the access log in admin


def test_staff_see_the_access_log_read_only(client, buyer, sale):
    client.force_login(buyer)
    client.get(detail_url(sale.pk))
    access = PiiAccess.objects.get()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get("/admin/leads/piiaccess/")
    body = page_text(response)
    assert response.status_code == 200 and buyer.email in body and access.correlation_id in body
    for value in PII_VALUES:
        assert value not in body
    for query in ("?channel__exact=page", "?role__exact=buyer", f"?q={sale.lead_id}", "?q=abc", f"?q={buyer.email}"):
        assert client.get("/admin/leads/piiaccess/" + query).status_code == 200, query
    assert client.get(f"/admin/leads/piiaccess/{access.pk}/change/").status_code == 200  # view only
    assert client.get("/admin/leads/piiaccess/add/").status_code == 403
    assert client.post(f"/admin/leads/piiaccess/{access.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PiiAccess.objects.count() == 1


# ---------------------------------------------------------------- the seller's pages


def test_the_seller_sees_the_deal_id_settlement_state_and_token_on_the_sold_lead_and_auction(client, seller, sale):
    settlement = settle(sale)
    client.force_login(seller)
    lead_page = page_text(client.get(f"/seller/leads/{sale.lead_id}/"))
    room = page_text(client.get(f"/auctions/{sale.auction_id}/"))
    assert f"Deal id</dt><dd>{sale.pk} ·" in lead_page and f"Deal #{sale.pk}" in room
    for body in (lead_page, room):
        assert 'data-testid="sale-settlement"' in body
        assert "NFT minted" in body and str(settlement.token_id) in body
    # The lead page shows the seller the contact details it sent: that read is logged as the seller's.
    assert logged() == [(seller.pk, sale.pk, "page", "seller")]


def test_an_unsettled_sale_says_so_to_its_seller_and_the_buyer_gets_a_link(client, seller, buyer, sale):
    client.force_login(seller)
    assert "Not settled on chain yet" in page_text(client.get(f"/seller/leads/{sale.lead_id}/"))
    client.force_login(buyer)
    room = page_text(client.get(f"/auctions/{sale.auction_id}/"))
    assert "not settled on chain yet" in room and f"/my/purchases/{sale.pk}/" in room
    client.force_login(funded_buyer())
    assert 'data-testid="sale-settlement"' not in page_text(client.get(f"/auctions/{sale.auction_id}/"))
