"""Reads for a buyer's purchases: who may read a sold lead, the "My purchases" list and one
purchase with its escrow, NFT and verification facts. Never the contact details (escrow.purchases
reads and logs those).

Who may read a purchase (the one rule, `purchase_queryset_for_reader`): once the sale's LeadNFT is
minted and its owner is known (Settlement.token_id and owner_address set), the user whose wallet
(address or custodial address) owns it; before that (no settlement, not minted yet), the sale's
buyer. After a resale the original buyer no longer sees the purchase. Everyone else, staff
included, gets "does not exist" (the pages and the API answer 404, never 403).

Ownership decides who reads PII, so these reads go to the primary.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q, QuerySet
from eth_utils import to_checksum_address

from auctions.models import Sale
from auctions.selectors_pages import Page, cursor_decode_time_id, cursor_encode
from chain.deploy import contract_address
from chain.leadnft import MintItem, batch_root, leaf_hash, merkle_proof, token_id_for
from chain.models import Wallet
from config import db_router
from escrow.commitments import lead_canonical_data, lead_data_hash
from escrow.models import Settlement
from escrow.settlement import mint_batch_items, to_units

PAGE_SIZE = 25
MAX_SALE_ID = 2**63 - 1  # a bigint: larger ids cannot exist (and must not reach the database)

AS_BUYER = "buyer"
AS_NFT_OWNER = "nft_owner"  # holds the LeadNFT after a resale


# ---------------------------------------------------------------- the access rule

def wallet_addresses_for(*, user) -> list[str]:
    """The user's addresses (current and custodial) as stored, checksummed and lower-cased, for
    matching Settlement.owner_address in either form. One query (primary); empty without a wallet."""
    with db_router.primary():
        row = Wallet.objects.filter(user_id=user.pk).values_list("address", "custodial_address").first()
    variants: set[str] = set()
    for address in row or ():
        if not address:
            continue
        variants.add(address)
        variants.add(address.lower())
        try:
            variants.add(to_checksum_address(address))
        except ValueError:
            pass
    return sorted(variants)


def purchase_queryset_for_reader(*, user, addresses: list[str] | None = None) -> QuerySet:
    """Sales whose contact details `user` may read (see the module docstring). Anonymous users
    read nothing. `addresses` defaults to wallet_addresses_for(user) (one query)."""
    if not getattr(user, "is_authenticated", False):
        return Sale.objects.none()
    if addresses is None:
        addresses = wallet_addresses_for(user=user)
    not_minted = (Q(settlement__isnull=True) | Q(settlement__token_id__isnull=True)
                  | Q(settlement__owner_address=""))
    rule = Q(buyer_id=user.pk) & not_minted
    if addresses:
        owned = Settlement.objects.filter(owner_address__in=addresses, token_id__isnull=False).values("sale_id")
        rule |= Q(pk__in=owned)
    return Sale.objects.filter(rule)


def purchase_can_read_auction(*, auction, user) -> bool:
    """Whether `user` may read the purchase of `auction`'s sale (so also its bid log)."""
    return purchase_queryset_for_reader(user=user).filter(auction=auction).exists()


def purchase_reader_role(*, user, sale: Sale) -> str | None:
    """How `user` may read `sale` right now: "buyer", AS_NFT_OWNER (holds the NFT after a
    resale) or None (may not). Two queries; callers recording a read call it in their transaction."""
    with db_router.primary():
        buyer_id = (purchase_queryset_for_reader(user=user).filter(pk=sale.pk)
                    .values_list("buyer_id", flat=True).first())
    return None if buyer_id is None else _role(buyer_id=buyer_id, user=user)


def _role(*, buyer_id: int, user) -> str:
    """For a sale `user` may read: the buyer, or else the NFT's current owner."""
    return AS_BUYER if buyer_id == user.pk else AS_NFT_OWNER


# ---------------------------------------------------------------- my purchases

def purchase_list_for_reader(*, user) -> QuerySet:
    """The user's purchases, newest first ((created_at, id), the API's cursor order), with the
    vertical and the settlement joined: no per-row queries, no PII."""
    return (purchase_queryset_for_reader(user=user)
            .select_related("lead__vertical", "settlement")
            .order_by("-created_at", "-id"))


def purchase_page_for_reader(*, user, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of purchase_list_for_reader, keyset on (created_at, id): two queries however deep."""
    qs = purchase_list_for_reader(user=user)
    after = cursor_decode_time_id(cursor) if cursor else None
    if after is not None:
        when, pk = after
        qs = qs.filter(Q(created_at__lt=when) | Q(created_at=when, pk__lt=pk))
    with db_router.primary():
        rows = list(qs[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, cursor_encode(rows[-1].created_at, rows[-1].pk) if more and rows else "")


def settlement_of(sale: Sale) -> Settlement | None:
    """The sale's settlement, or None while it is not opened on chain (no query when joined)."""
    try:
        return sale.settlement
    except Settlement.DoesNotExist:
        return None


# ---------------------------------------------------------------- one purchase

def purchase_get_for_reader(*, user, sale_id) -> Sale:
    """One purchase the user may read, with lead (vault row, vertical), auction and settlement
    (mint batch and transactions), and `as_owner` (AS_BUYER or AS_NFT_OWNER). Sale.DoesNotExist for
    anyone else's, a missing or a malformed id."""
    try:
        sale_id = int(sale_id)
    except (TypeError, ValueError):
        raise Sale.DoesNotExist from None
    if not 0 < sale_id <= MAX_SALE_ID:
        raise Sale.DoesNotExist
    with db_router.primary():
        sale = (purchase_queryset_for_reader(user=user)
                .select_related("lead__vertical", "lead__pii", "auction", "settlement__mint_batch__tx",
                                "settlement__fund_tx", "settlement__release_tx")
                .get(pk=sale_id))
    sale.as_owner = _role(buyer_id=sale.buyer_id, user=user)
    return sale


@dataclass(frozen=True)
class Verification:
    """How the owner checks the purchase on chain; hex strings are 0x-prefixed."""

    lead_nft: str | None = None
    escrow_vault: str | None = None
    canonical_data: str = ""
    computed_data_hash: str = ""
    data_hash_matches: bool | None = None
    token_id: str = ""
    token_id_matches: bool | None = None
    leaf_hash: str = ""
    sale_struct: dict = field(default_factory=dict)
    single_sale_batch: bool = False
    batch_root_matches: bool | None = None  # the batch's recorded root recomputed from its sales
    merkle_proof: list[str] = field(default_factory=list)  # verifySale(batchId, sale, proof)
    error: str = ""


def _hex32(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) > 32:
        raise ValueError("longer than 32 bytes")
    return raw.rjust(32, b"\0")


def purchase_verification(*, sale: Sale, pii: dict) -> Verification:
    """The data commitment recomputed from the lead and its contact details, the token id and the
    sale's leaf as LeadNFT.leafHash computes it, and its Merkle proof in the batch. For the owner
    only: it shows the salt and the canonical JSON (which holds the contact details). Three
    queries (the contract addresses, the batch's sales)."""
    settlement = settlement_of(sale)
    if settlement is None:
        return Verification()
    canonical = lead_canonical_data(lead=sale.lead, pii=pii)
    base = {"lead_nft": contract_address(chain_id=settlement.chain_id, name="LeadNFT"),
            "escrow_vault": contract_address(chain_id=settlement.chain_id, name="EscrowVault"),
            "canonical_data": canonical.decode()}
    try:
        data_hash = _hex32(settlement.data_hash)
        computed = lead_data_hash(canonical=canonical, salt=_hex32(settlement.data_salt))
        token_id = token_id_for(sale_id=sale.pk, buyer=settlement.buyer_address)
        item = MintItem(sale_id=sale.pk, buyer=settlement.buyer_address, seller=settlement.seller_address,
                        vertical_id=sale.lead.vertical_id, price_units=to_units(settlement.amount),
                        quality=sale.lead.quality_score or 0, data_hash=data_hash,
                        bid_log_digest=_hex32(sale.bid_log_digest))
        leaf = leaf_hash(item)
    except (ValueError, TypeError) as exc:
        return Verification(**base, error=f"The stored commitments cannot be decoded: {exc}")
    batch = settlement.mint_batch
    single = batch is not None and batch.size == 1
    proof, root_matches = [], None
    if batch is not None and batch.root:
        items = mint_batch_items(batch)
        index = next((i for i, other in enumerate(items) if other.sale_id == sale.pk), None)
        if index is not None:
            proof = ["0x" + p.hex() for p in merkle_proof(items, index)]
            root_matches = batch.root.lower() == "0x" + batch_root(items).hex()
    return Verification(
        **base,
        computed_data_hash="0x" + computed.hex(),
        data_hash_matches=computed == data_hash,
        token_id=str(token_id),
        token_id_matches=None if settlement.token_id is None else int(settlement.token_id) == token_id,
        leaf_hash="0x" + leaf.hex(),
        sale_struct={"saleId": item.sale_id, "buyer": to_checksum_address(item.buyer),
                     "seller": to_checksum_address(item.seller), "verticalId": item.vertical_id,
                     "price": item.price_units, "quality": item.quality, "dataHash": "0x" + data_hash.hex(),
                     "bidLogDigest": "0x" + item.bid_log_digest.hex()},
        single_sale_batch=single,
        batch_root_matches=root_matches,
        merkle_proof=proof,
    )


def usdc_split(settlement: Settlement | None) -> dict[str, Decimal] | None:
    """The release split (seller, platform fee, vertical royalty), once it is fixed."""
    if settlement is None or settlement.seller_amount is None:
        return None
    return {"seller_amount": settlement.seller_amount, "platform_fee": settlement.platform_fee or Decimal(0),
            "vertical_royalty": settlement.vertical_royalty or Decimal(0)}


def tx_hash(tx) -> str:
    return getattr(tx, "tx_hash", "") or ""
