"""Reads for a buyer's purchases: who may see a sold lead, whether its contact details may be read
yet, the "My purchases" list and one purchase with its escrow, NFT and verification facts. Never
the contact details (escrow.services.purchases reads and logs those).

Who may see a purchase (the one rule, `purchase_queryset_for_reader`): once the sale's LeadNFT is
minted and its owner is known (Settlement.token_id and owner_address set), the user whose wallet
(address or custodial address) owns it; before that (no settlement, not minted yet), the sale's
buyer. After a resale the original buyer no longer sees the purchase; after a refund returned the
token to the platform, its buyer still sees it (as refunded). Everyone else, staff
included, gets "does not exist" (the pages and the API answer 404, never 403).

When its contact details may be read (`contact_status`, annotated on every purchase these
selectors return): only once the money arrived (ContactStatus.AVAILABLE). A sale settled on chain
— it has a Settlement, or chain settlement is on and the sale was recorded after the EscrowVault
was deployed (so escrow.advance will open one) — needs its escrow deal funded on chain: state
funded, minting, minted, releasing or released, or failed after the funding confirmed (a mint or
release that needs staff; the money is in escrow). Before that it is AWAITING_PAYMENT; a funding
that failed is PAYMENT_FAILED; a sale refunded by staff (refunding, refunded), or whose dispute was
decided for a full refund, is REFUNDED and never readable again. A sale settled in the ledger only was captured with the sale
(auctions.services.sales): AVAILABLE at once.

Ownership and funding decide who reads PII, so these reads go to the primary.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from eth_utils import to_checksum_address

from auctions.models import Sale
from chain.deploy import contract_address
from chain.leadnft import MintItem, batch_root, leaf_hash, merkle_proof, token_id_for
from chain.models import ContractDeployment, Wallet
from config import db_router
from core.paging import Page, page_newest_first
from escrow.choices import CONTACT_STATUS_MESSAGES, ContactStatus, DisputeOutcome
from escrow.models import Settlement
from escrow.services.commitments import lead_canonical_data, lead_data_hash
from escrow.services.settlement import mint_batch_items, settlement_enabled, to_units

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
    not_minted = Q(settlement__isnull=True) | Q(settlement__token_id__isnull=True) | Q(settlement__owner_address="")
    # A refunded sale's token went back to the platform (LeadNFT.returnToken): its buyer still
    # sees the purchase, as refunded.
    rule = Q(buyer_id=user.pk) & (not_minted | Q(settlement__nft_return_tx__isnull=False))
    if addresses:
        owned = Settlement.objects.filter(owner_address__in=addresses, token_id__isnull=False).values("sale_id")
        rule |= Q(pk__in=owned)
    return Sale.objects.filter(rule)


# Settlement states in which the escrow deal is funded on chain.
FUNDED_STATES = (
    Settlement.State.FUNDED,
    Settlement.State.MINTING,
    Settlement.State.MINTED,
    Settlement.State.RELEASING,
    Settlement.State.RELEASED,
)


def contact_status_expression() -> Case:
    """SQL for the sale's ContactStatus (see the module docstring): annotate a Sale queryset with
    it. No extra query: one CASE over the joined settlement and, with chain settlement on, an
    EXISTS on the EscrowVault's deployment."""
    funded = Q(settlement__state__in=FUNDED_STATES) | Q(
        settlement__state=Settlement.State.FAILED, settlement__funded_at__isnull=False
    )
    # Once a refund was sent the purchase is being undone, whatever happens to that transaction.
    # A dispute decided for a full refund locks them from the decision on, before the money moves.
    refunded = (
        Q(settlement__state__in=(Settlement.State.REFUNDING, Settlement.State.REFUNDED))
        | Q(settlement__refund_tx__isnull=False)
        | Q(dispute__outcome=DisputeOutcome.REFUND_FULL)
    )
    whens = [
        When(refunded, then=Value(ContactStatus.REFUNDED)),
        When(funded, then=Value(ContactStatus.AVAILABLE)),
        When(settlement__state=Settlement.State.FAILED, then=Value(ContactStatus.PAYMENT_FAILED)),
        When(settlement__isnull=False, then=Value(ContactStatus.AWAITING_PAYMENT)),
    ]
    if settlement_enabled():
        # No settlement yet, but one is coming: escrow.advance opens every sale recorded since the
        # vault was deployed (settlement._open_missing).
        vault = ContractDeployment.objects.filter(name="EscrowVault", deployed_at__lte=OuterRef("created_at"))
        if settings.CHAIN_ID:
            vault = vault.filter(chain_id=settings.CHAIN_ID)
        whens.append(When(Exists(vault), then=Value(ContactStatus.AWAITING_PAYMENT)))
    return Case(*whens, default=Value(ContactStatus.AVAILABLE), output_field=CharField())


def contact_status_message(status: str) -> str:
    """What the buyer reads about `status`: the state and what happens next ("" when available)."""
    return CONTACT_STATUS_MESSAGES.get(status, "")


def purchase_contact_status_now(*, user, sale: Sale) -> tuple[str | None, str]:
    """(role, ContactStatus) of `user` for `sale` right now, read from the primary in one query;
    role None when the user may not see the sale at all. Callers recording a read call it in their
    transaction."""
    with db_router.primary():
        row = (
            purchase_queryset_for_reader(user=user)
            .filter(pk=sale.pk)
            .annotate(contact_status=contact_status_expression())
            .values_list("buyer_id", "contact_status")
            .first()
        )
    if row is None:
        return None, ""
    return _role(buyer_id=row[0], user=user), row[1]


def purchase_can_read_auction(*, auction, user) -> bool:
    """Whether `user` may read the purchase of `auction`'s sale (so also its bid log)."""
    return purchase_queryset_for_reader(user=user).filter(auction=auction).exists()


def _role(*, buyer_id: int, user) -> str:
    """For a sale `user` may read: the buyer, or else the NFT's current owner."""
    return AS_BUYER if buyer_id == user.pk else AS_NFT_OWNER


# ---------------------------------------------------------------- my purchases


def purchase_list_for_reader(*, user) -> QuerySet:
    """The user's purchases, newest first ((created_at, id), the API's cursor order), with the
    vertical, the settlement and the disposition joined and `contact_status` annotated: no per-row queries, no PII."""
    return (
        purchase_queryset_for_reader(user=user)
        .select_related("lead__vertical", "settlement", "disposition")
        .annotate(contact_status=contact_status_expression())
        .order_by("-created_at", "-id")
    )


def purchase_page_for_reader(*, user, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    """One page of purchase_list_for_reader, keyset on (created_at, id): two queries however deep."""
    with db_router.primary():
        return page_newest_first(purchase_list_for_reader(user=user), cursor=cursor, size=size)


def settlement_of(sale: Sale) -> Settlement | None:
    """The sale's settlement, or None while it is not opened on chain (no query when joined)."""
    try:
        return sale.settlement
    except Settlement.DoesNotExist:
        return None


# ---------------------------------------------------------------- one purchase


def purchase_get_for_reader(*, user, sale_id) -> Sale:
    """One purchase the user may see, with lead (vault row, vertical), auction and settlement
    (mint batch and transactions), `contact_status` and `as_owner` (AS_BUYER or AS_NFT_OWNER).
    Sale.DoesNotExist for anyone else's, a missing or a malformed id."""
    try:
        sale_id = int(sale_id)
    except (TypeError, ValueError):
        raise Sale.DoesNotExist from None
    if not 0 < sale_id <= MAX_SALE_ID:
        raise Sale.DoesNotExist
    with db_router.primary():
        sale = (
            purchase_queryset_for_reader(user=user)
            .select_related(
                "lead__vertical",
                "lead__pii",
                "auction",
                "settlement__mint_batch__tx",
                "settlement__fund_tx",
                "settlement__release_tx",
            )
            .annotate(contact_status=contact_status_expression())
            .get(pk=sale_id)
        )
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


def purchase_verification(*, sale: Sale, pii: dict | None) -> Verification:
    """The data commitment recomputed from the lead and its contact details, the token id and the
    sale's leaf as LeadNFT.leafHash computes it, and its Merkle proof in the batch. For the owner
    only, once the money arrived: it shows the salt and the canonical JSON (which holds the contact
    details). With `pii` None (not readable yet), only the contract addresses. Three queries (the
    contract addresses, the batch's sales)."""
    settlement = settlement_of(sale)
    if settlement is None:
        return Verification()
    contracts = {
        "lead_nft": contract_address(chain_id=settlement.chain_id, name="LeadNFT"),
        "escrow_vault": contract_address(chain_id=settlement.chain_id, name="EscrowVault"),
    }
    if pii is None:
        return Verification(**contracts)
    canonical = lead_canonical_data(lead=sale.lead, pii=pii)
    base = {**contracts, "canonical_data": canonical.decode()}
    try:
        data_hash = _hex32(settlement.data_hash)
        computed = lead_data_hash(canonical=canonical, salt=_hex32(settlement.data_salt))
        token_id = token_id_for(sale_id=sale.pk, buyer=settlement.buyer_address)
        item = MintItem(
            sale_id=sale.pk,
            buyer=settlement.buyer_address,
            seller=settlement.seller_address,
            vertical_id=sale.lead.vertical_id,
            price_units=to_units(settlement.amount),
            quality=sale.lead.quality_score or 0,
            data_hash=data_hash,
            bid_log_digest=_hex32(sale.bid_log_digest),
        )
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
        sale_struct={
            "saleId": item.sale_id,
            "buyer": to_checksum_address(item.buyer),
            "seller": to_checksum_address(item.seller),
            "verticalId": item.vertical_id,
            "price": item.price_units,
            "quality": item.quality,
            "dataHash": "0x" + data_hash.hex(),
            "bidLogDigest": "0x" + item.bid_log_digest.hex(),
        },
        single_sale_batch=single,
        batch_root_matches=root_matches,
        merkle_proof=proof,
    )


def usdc_split(settlement: Settlement | None) -> dict[str, Decimal] | None:
    """The release split (seller, platform fee, vertical royalty), once it is fixed."""
    if settlement is None or settlement.seller_amount is None:
        return None
    return {
        "seller_amount": settlement.seller_amount,
        "platform_fee": settlement.platform_fee or Decimal(0),
        "vertical_royalty": settlement.vertical_royalty or Decimal(0),
    }


def tx_hash(tx) -> str:
    return getattr(tx, "tx_hash", "") or ""
