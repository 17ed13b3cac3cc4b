"""Purchases for integrators: the caller's purchases (no contact details, nothing logged) and one
purchase with its contact details once its money arrived (each read is one PiiAccess with channel
"api"), escrow deal, LeadNFT and verification facts. Thin: escrow.selectors.purchases and
escrow.services.purchases do the work.

Readers are the buyer, or the NFT's current owner after a resale; anyone else's purchase (and a
missing id) is a 404. Before the money arrived (`contact_status` other than "available") the
detail is a 200 with `contact` null, `contact_status_message` saying what happens next, and no
data salt or canonical data (they would let the details be guessed back).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from auctions.api.serializers import usdc
from auctions.choices import DispositionChannel, DispositionStatus
from auctions.models import DISPOSITION_REASON_MAX, Sale
from core.api.fields import StrictCharField
from escrow.choices import ContactStatus
from escrow.models import Settlement
from escrow.selectors import dispositions as disposition_selectors
from escrow.selectors import purchases as purchase_selectors
from escrow.services import dispositions, purchases
from leads.models import PiiAccess

# uint256 values (token ids) do not fit a JSON number most clients can read exactly.
_UINT256_HELP = "A uint256 as a decimal string."


# ---------------------------------------------------------------- serializers


class PurchaseSerializer(serializers.Serializer):
    """A purchase in a list: what was bought and where its settlement stands, no contact details."""

    id = serializers.IntegerField(read_only=True, help_text="The sale id, also the escrow deal id on chain.")
    lead_id = serializers.IntegerField(read_only=True)
    auction_id = serializers.IntegerField(read_only=True)
    vertical = serializers.SlugField(source="lead.vertical.slug", read_only=True)
    price = usdc(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    settlement_state = serializers.SerializerMethodField(
        help_text="The settlement's state; pending while it is not opened on chain."
    )
    token_id = serializers.SerializerMethodField(help_text=_UINT256_HELP + " Null until minted.")
    contact_status = serializers.ChoiceField(
        choices=ContactStatus.choices,
        read_only=True,
        help_text="available: the contact details can be read (the escrow deal is funded on chain, or the price "
        "was captured for a sale settled in the ledger only); awaiting_payment: not yet, the payment "
        "is on its way into escrow; payment_failed: the payment did not reach escrow and staff retry it; "
        "refunded: staff refunded the sale, it is no longer yours and its details stay locked.",
    )
    contact_status_message = serializers.SerializerMethodField(
        help_text="What contact_status means for you and what happens next, in words; empty when available."
    )

    def get_contact_status_message(self, sale: Sale) -> str:
        return purchase_selectors.contact_status_message(sale.contact_status)

    def get_settlement_state(self, sale: Sale) -> str:
        settlement = purchase_selectors.settlement_of(sale)
        return settlement.state if settlement else Settlement.State.PENDING

    def get_token_id(self, sale: Sale) -> str | None:
        settlement = purchase_selectors.settlement_of(sale)
        return None if settlement is None or settlement.token_id is None else str(settlement.token_id)


class PurchaseSplitSerializer(serializers.Serializer):
    seller_amount = usdc(read_only=True)
    platform_fee = usdc(read_only=True)
    vertical_royalty = usdc(read_only=True)


class PurchaseEscrowSerializer(serializers.Serializer):
    deal_id = serializers.IntegerField(read_only=True, help_text="EscrowVault deal id (= the sale id).")
    state = serializers.ChoiceField(choices=Settlement.State.choices, read_only=True)
    settled_on_chain = serializers.BooleanField(read_only=True, help_text="False while not opened on chain yet.")
    chain_id = serializers.IntegerField(read_only=True, allow_null=True)
    contract = serializers.CharField(read_only=True, allow_null=True, help_text="EscrowVault address.")
    amount = usdc(read_only=True, allow_null=True)
    fund_tx = serializers.CharField(read_only=True, allow_blank=True)
    funded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    release_after = serializers.DateTimeField(read_only=True, allow_null=True)
    released_at = serializers.DateTimeField(read_only=True, allow_null=True)
    split = PurchaseSplitSerializer(read_only=True, allow_null=True, help_text="Fixed when the release is sent.")


class PurchaseNftSerializer(serializers.Serializer):
    contract = serializers.CharField(read_only=True, allow_null=True, help_text="LeadNFT address.")
    token_id = serializers.CharField(read_only=True, allow_null=True, help_text=_UINT256_HELP + " Null until minted.")
    owner_address = serializers.CharField(read_only=True, allow_blank=True)
    minted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    batch_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="On-chain batch id.")
    batch_root = serializers.CharField(read_only=True, allow_blank=True)
    batch_size = serializers.IntegerField(read_only=True, allow_null=True)
    mint_tx = serializers.CharField(read_only=True, allow_blank=True)
    data_hash = serializers.CharField(
        read_only=True, allow_blank=True, help_text="keccak256(data_salt ‖ canonical_data), committed in the token."
    )
    data_salt = serializers.CharField(
        read_only=True,
        allow_blank=True,
        help_text="32 random bytes, owner only; empty until the contact details are available.",
    )


class PurchaseVerificationSerializer(serializers.Serializer):
    canonical_data = serializers.CharField(
        read_only=True,
        allow_blank=True,
        help_text="The lead as canonical JSON (sorted keys, no spaces, UTF-8); "
        "empty until the contact details are available.",
    )
    computed_data_hash = serializers.CharField(read_only=True, allow_blank=True)
    data_hash_matches = serializers.BooleanField(read_only=True, allow_null=True)
    token_id = serializers.CharField(read_only=True, allow_blank=True, help_text="buyer << 96 | sale id.")
    leaf_hash = serializers.CharField(
        read_only=True, allow_blank=True, help_text="LeadNFT.leafHash(sale) = keccak256(abi.encode(sale))."
    )
    sale_struct = serializers.DictField(read_only=True, help_text="The Sale struct as minted (leafHash's argument).")
    batch_root_matches = serializers.BooleanField(
        read_only=True,
        allow_null=True,
        help_text="The batch's recorded root equals the root recomputed from its sales.",
    )
    merkle_proof = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Pass with sale_struct to LeadNFT.verifySale(batchId, sale, proof).",
    )
    steps = serializers.ListField(child=serializers.CharField(), read_only=True)
    error = serializers.CharField(read_only=True, allow_blank=True)


class PurchaseBidLogSerializer(serializers.Serializer):
    digest = serializers.CharField(read_only=True, help_text="SHA-256 head of the bid log's hash chain.")
    length = serializers.IntegerField(read_only=True)
    url = serializers.CharField(read_only=True, help_text="The auction's bid log endpoint.")


class PurchaseDetailSerializer(PurchaseSerializer):
    """One purchase with the lead's contact details once its money arrived (reading them is logged)."""

    as_owner = serializers.ChoiceField(
        choices=[purchase_selectors.AS_BUYER, purchase_selectors.AS_NFT_OWNER],
        read_only=True,
        help_text="buyer, or the NFT's owner after a resale.",
    )
    contact = serializers.DictField(
        read_only=True,
        allow_null=True,
        help_text="The lead's contact details (PII); null unless contact_status is available.",
    )
    escrow = PurchaseEscrowSerializer(read_only=True)
    nft = PurchaseNftSerializer(read_only=True)
    verification = PurchaseVerificationSerializer(read_only=True)
    bid_log = PurchaseBidLogSerializer(read_only=True)


def _steps(sale: Sale, batch) -> list[str]:
    batch_id = batch.onchain_batch_id if batch is not None and batch.onchain_batch_id is not None else "batchId"
    return [
        "keccak256(bytes(data_salt) ‖ utf8(canonical_data)) equals nft.data_hash.",
        "LeadNFT.ownerOf(token_id) is nft.owner_address; LeadNFT.saleOf(token_id) gives buyer, sale id and seller.",
        "LeadNFT.leafHash(sale_struct) equals leaf_hash.",
        (
            f"LeadNFT.batchRoot({batch_id}) equals nft.batch_root; LeadNFT.verifySale(batchId, sale_struct, proof) "
            "checks the leaf against it (a batch of one: the root is the leaf)."
        ),
        (
            f"The bid log (GET /api/v1/auctions/{sale.auction_id}/bid-log/) chains SHA-256 over each entry's canonical "
            "JSON with the previous hash (genesis: 64 zeros); its last hash is bid_log.digest, also minted as "
            "bidLogDigest."
        ),
    ]


def purchase_detail_body(*, sale: Sale, pii: dict | None) -> dict:
    """The detail body for a sale from purchase_get_for_reader and its contact details (None before
    the money arrived: then no contact, salt or canonical data)."""
    settlement = purchase_selectors.settlement_of(sale)
    verification = purchase_selectors.purchase_verification(sale=sale, pii=pii)
    batch = settlement.mint_batch if settlement else None
    escrow = {
        "deal_id": sale.pk,
        "state": settlement.state if settlement else Settlement.State.PENDING,
        "settled_on_chain": settlement is not None,
        "chain_id": None,
        "contract": None,
        "amount": None,
        "fund_tx": "",
        "funded_at": None,
        "release_after": None,
        "released_at": None,
        "split": None,
    }
    nft = {
        "contract": None,
        "token_id": None,
        "owner_address": "",
        "minted_at": None,
        "batch_id": None,
        "batch_root": "",
        "batch_size": None,
        "mint_tx": "",
        "data_hash": "",
        "data_salt": "",
    }
    if settlement is not None:
        escrow.update(
            chain_id=settlement.chain_id,
            contract=verification.escrow_vault,
            amount=settlement.amount,
            fund_tx=purchase_selectors.tx_hash(settlement.fund_tx),
            funded_at=settlement.funded_at,
            release_after=settlement.release_after,
            released_at=settlement.released_at,
            split=purchase_selectors.usdc_split(settlement),
        )
        nft.update(
            contract=verification.lead_nft,
            token_id=None if settlement.token_id is None else str(settlement.token_id),
            owner_address=settlement.owner_address,
            minted_at=settlement.minted_at,
            data_hash=settlement.data_hash,
            data_salt=settlement.data_salt if pii is not None else "",
        )
        if batch is not None:
            nft.update(
                batch_id=batch.onchain_batch_id,
                batch_root=batch.root,
                batch_size=batch.size,
                mint_tx=purchase_selectors.tx_hash(batch.tx),
            )
    sale.contact, sale.escrow, sale.nft = pii, escrow, nft
    sale.verification = {
        "canonical_data": verification.canonical_data,
        "computed_data_hash": verification.computed_data_hash,
        "data_hash_matches": verification.data_hash_matches,
        "token_id": verification.token_id,
        "leaf_hash": verification.leaf_hash,
        "sale_struct": verification.sale_struct,
        "batch_root_matches": verification.batch_root_matches,
        "merkle_proof": verification.merkle_proof,
        "steps": _steps(sale, batch) if settlement and pii is not None else [],
        "error": verification.error,
    }
    sale.bid_log = {
        "digest": sale.bid_log_digest,
        "length": sale.bid_log_length,
        "url": f"/api/v1/auctions/{sale.auction_id}/bid-log/",
    }
    return PurchaseDetailSerializer(sale).data


# ---------------------------------------------------------------- views


class PurchaseListApi(generics.ListAPIView):
    """Your purchases (and LeadNFTs you hold after a resale), newest first, cursor-paginated.
    No contact details: read one purchase for those."""

    serializer_class = PurchaseSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Sale.objects.none()
        return purchase_selectors.purchase_list_for_reader(user=self.request.user)


class PurchaseDetailApi(APIView):
    """One of your purchases with the lead's contact details once its money arrived (the read is
    recorded in the PII access log); before that `contact` is null and `contact_status` says why.
    Others' purchases are 404."""

    @extend_schema(responses={200: PurchaseDetailSerializer, 404: OpenApiResponse(description="No such purchase.")})
    def get(self, request, pk: int):
        try:
            sale = purchase_selectors.purchase_get_for_reader(user=request.user, sale_id=pk)
            pii = purchases.purchase_pii_read(user=request.user, sale=sale, channel=PiiAccess.Channel.API)
        except Sale.DoesNotExist:
            raise NotFound("No such purchase.") from None
        except purchases.ContactUnavailable as exc:
            pii, sale.contact_status = None, exc.status
        else:
            sale.contact_status = ContactStatus.AVAILABLE  # as decided where the read was recorded
        # Contact details: no shared or browser cache may keep them.
        return Response(purchase_detail_body(sale=sale, pii=pii), headers={"Cache-Control": "private, no-store"})


# ---------------------------------------------------------------- dispositions and outcomes


class DispositionChangeSerializer(serializers.Serializer):
    from_status = serializers.CharField(read_only=True, allow_blank=True, help_text="Empty for the first report.")
    status = serializers.ChoiceField(choices=DispositionStatus.choices, read_only=True)
    revenue = usdc(read_only=True, allow_null=True)
    reason = serializers.CharField(read_only=True, allow_blank=True)
    channel = serializers.ChoiceField(choices=DispositionChannel.choices, read_only=True)
    by_you = serializers.SerializerMethodField()
    at = serializers.DateTimeField(read_only=True)

    def get_by_you(self, change) -> bool:
        return change.by_id == self.context["user"].pk


class DispositionSerializer(serializers.Serializer):
    """What became of a purchase, as you report it (PUT), with its history (GET and PUT answers)."""

    purchase_id = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(
        choices=DispositionStatus.choices,
        allow_null=True,
        read_only=True,
        help_text="contacted, no_answer, appointment, quoted, sold (with revenue) or bad (with a reason). "
        "Null in answers until you report one.",
    )
    revenue = usdc(read_only=True, allow_null=True, help_text="USDC you earned from the lead (sold only).")
    reason = serializers.CharField(read_only=True, allow_blank=True, help_text="Why the lead was bad (bad only).")
    channel = serializers.ChoiceField(choices=DispositionChannel.choices, read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    history = DispositionChangeSerializer(many=True, read_only=True, help_text="The last 50 changes, newest first.")


_NO_REVENUE = {"not": {"required": ["revenue"], "properties": {"revenue": {"type": "string"}}}}
_NO_REASON = {"properties": {"reason": {"maxLength": 0}}}


class DispositionInputSerializer(serializers.Serializer):
    """A report: revenue only and always for sold, a reason only and always for bad."""

    # Patterns, not enums, on status: drf-spectacular would merge the three enums into one component.
    openapi_extra = {
        "oneOf": [
            {
                "required": ["status", "revenue"],
                "properties": {
                    "status": {"pattern": "^sold$"},
                    "revenue": {"type": "string"},
                    "reason": {"maxLength": 0},
                },
            },
            {
                "required": ["status", "reason"],
                "properties": {"status": {"pattern": "^bad$"}, "reason": {"type": "string", "pattern": r"\S"}},
                **_NO_REVENUE,
            },
            {
                "required": ["status"],
                "properties": {
                    "status": {"pattern": "^(?:contacted|no_answer|appointment|quoted)$"},
                    "reason": {"maxLength": 0},
                },
                **_NO_REVENUE,
            },
        ]
    }

    status = serializers.ChoiceField(choices=DispositionStatus.choices)
    revenue = usdc(
        required=False,
        allow_null=True,
        whole_digits=8,
        help_text="USDC you earned from the lead: required for sold, refused otherwise.",
    )
    reason = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=DISPOSITION_REASON_MAX,
        help_text="Why the lead was bad: required for bad, refused otherwise.",
    )


def _disposition_body(*, sale, current, history, user) -> dict:
    body = {
        "purchase_id": sale.pk,
        "status": current.status if current else None,
        "revenue": current.revenue if current else None,
        "reason": current.reason if current else "",
        "channel": current.channel if current else None,
        "updated_at": current.updated_at if current else None,
        "history": history,
    }
    return DispositionSerializer(body, context={"user": user}).data


class PurchaseDispositionApi(APIView):
    """GET: what you reported became of this purchase, and every change (null status until you
    report one). PUT: report it (the purchase's reader only: others' purchases are 404). Moves
    the seller's contact rate and your return on spend."""

    @extend_schema(responses={200: DispositionSerializer})
    def get(self, request, pk: int):
        try:
            sale, current, history = disposition_selectors.disposition_get_for_reader(user=request.user, sale_id=pk)
        except Sale.DoesNotExist:
            raise NotFound("No such purchase.") from None
        return Response(_disposition_body(sale=sale, current=current, history=history, user=request.user))

    @extend_schema(request=DispositionInputSerializer, responses={200: DispositionSerializer})
    def put(self, request, pk: int):
        serializer = DispositionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            dispositions.purchase_disposition_set(
                user=request.user,
                sale_id=pk,
                status=data["status"],
                revenue=data.get("revenue"),
                reason=data.get("reason"),
                channel=DispositionChannel.API,
            )
            sale, current, history = disposition_selectors.disposition_get_for_reader(user=request.user, sale_id=pk)
        except Sale.DoesNotExist:
            raise NotFound("No such purchase.") from None
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return Response(_disposition_body(sale=sale, current=current, history=history, user=request.user))


class OutcomesSerializer(serializers.Serializer):
    vertical = serializers.CharField(read_only=True, allow_blank=True, help_text="Empty on the total row.")
    vertical_name = serializers.CharField(read_only=True)
    purchases = serializers.IntegerField(read_only=True, help_text="Purchases not refunded.")
    spend = usdc(read_only=True, help_text="Their prices, USDC.")
    dispositions = serializers.IntegerField(read_only=True, help_text="Of those, with an outcome reported.")
    contacted = serializers.IntegerField(read_only=True)
    contact_rate = serializers.DecimalField(max_digits=6, decimal_places=4, read_only=True, allow_null=True)
    sold = serializers.IntegerField(read_only=True)
    revenue = usdc(read_only=True, help_text="Revenue reported on sold dispositions, USDC.")
    return_on_spend = serializers.DecimalField(
        max_digits=20, decimal_places=4, read_only=True, allow_null=True, help_text="revenue ÷ spend."
    )


class PurchaseOutcomesApi(APIView):
    """Your return on spend by vertical: the revenue you reported on sold dispositions over the
    price of your purchases (refunded ones left out), with the counts behind it; a total row
    (vertical "") when you bought in more than one vertical."""

    @extend_schema(responses={200: OutcomesSerializer(many=True)})
    def get(self, request):
        rows = disposition_selectors.purchase_outcomes_for_reader(user=request.user)
        return Response(OutcomesSerializer(rows, many=True).data)


urlpatterns = [
    path("purchases/", PurchaseListApi.as_view(), name="api-purchase-list"),
    path("purchases/outcomes/", PurchaseOutcomesApi.as_view(), name="api-purchase-outcomes"),
    path("purchases/<int:pk>/disposition/", PurchaseDispositionApi.as_view(), name="api-purchase-disposition"),
    path("purchases/<int:pk>/", PurchaseDetailApi.as_view(), name="api-purchase-detail"),
]
