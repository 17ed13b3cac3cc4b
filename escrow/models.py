"""Settlement on chain: escrow deals, LeadNFT mint batches, deposits and withdrawals and
reconciliation findings (the PII access log is leads.models.PiiAccess). The state machines live
in escrow/services/settlement.py."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.money import usdc_field as _usdc
from escrow.choices import (
    DisputeDecider,
    DisputeOutcome,
    DisputeParty,
    DisputeReason,
    DisputeRecommendation,
    DisputeResponse,
    DisputeState,
)


class MintBatch(models.Model):
    """One `LeadNFT.mintBatch` transaction of 1..50 funded sales (stage chain.mint)."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"

    chain_id = models.PositiveBigIntegerField()
    tx = models.OneToOneField("chain.ChainTransaction", on_delete=models.PROTECT, related_name="mint_batch")
    size = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT, db_index=True)
    onchain_batch_id = models.PositiveBigIntegerField(null=True, blank=True)
    root = models.CharField(max_length=66, blank=True)
    gas_used = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "mint batches"

    def __str__(self) -> str:
        return f"Mint batch {self.pk} ({self.size} sales, {self.status})"


class Settlement(models.Model):
    """A sale's life on chain, one per sale:

    pending → funding (EscrowVault.fundDeal sent) → funded → minting (in a MintBatch) → minted
    → releasing (releaseDeal sent, once the vertical's dispute window has passed) → released.
    `failed` needs staff (the reason is in `error`; admin can retry).
    The deal id on chain is the sale id; the token id comes from chain/leadnft.py.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to fund"
        FUNDING = "funding", "Funding escrow"
        FUNDED = "funded", "Escrow funded"
        MINTING = "minting", "Minting NFT"
        MINTED = "minted", "NFT minted"
        RELEASING = "releasing", "Releasing"
        RELEASED = "released", "Released"
        REFUNDING = "refunding", "Refunding"
        REFUNDED = "refunded", "Refunded"
        FAILED = "failed", "Failed"

    sale = models.OneToOneField("auctions.Sale", on_delete=models.PROTECT, related_name="settlement")
    chain_id = models.PositiveBigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    buyer_address = models.CharField(max_length=42)
    # The buyer's address the deal is funded from (and refunded to): buyer_address, unless the
    # money still sat at the custodial address of a buyer who linked their own wallet (escrow/services/sweeps.py).
    funding_address = models.CharField(max_length=42, blank=True)
    seller_address = models.CharField(max_length=42)
    amount = _usdc()  # the price, funded from the buyer's vault balance
    # keccak256(salt ‖ canonical lead data): what the token commits to. The salt (random per sale)
    # is shown to the buyer only, so the contact details cannot be guessed back from the hash.
    data_hash = models.CharField(max_length=66)
    data_salt = models.CharField(max_length=66)
    fund_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    funded_at = models.DateTimeField(null=True, blank=True)
    mint_batch = models.ForeignKey(
        MintBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="settlements"
    )
    mint_attempts = models.PositiveSmallIntegerField(default=0)
    # A uint256 in decimal: text, because SQLite (the embedded profile) stores wide numerics as
    # floats and would round it.
    token_id = models.CharField(max_length=78, null=True, blank=True)  # noqa: DJ001 - NULL: not minted yet
    minted_at = models.DateTimeField(null=True, blank=True)
    # Current NFT owner as last seen on chain (the buyer until a resale; reconciliation updates it).
    owner_address = models.CharField(max_length=42, blank=True, db_index=True)
    release_after = models.DateTimeField()
    release_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_retries = models.PositiveSmallIntegerField(default=0)  # staff retries: a fresh key each
    # A refund (staff, before the release): the whole deal back to the buyer's vault balance.
    refund_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_reason = models.CharField(max_length=255, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    # A partial refund (a dispute's outcome): `refundDeal` for part of the price; the rest is
    # released as usual once it is mirrored (the release splits what the deal still holds).
    partial_refund_amount = _usdc(null=True, blank=True)
    partial_refund_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    partial_refunded_at = models.DateTimeField(null=True, blank=True)
    # A fully refunded sale's minted LeadNFT, taken back to the platform's returns address
    # (LeadNFT.returnToken): the buyer no longer holds the lead on chain either.
    nft_return_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    # The split, fixed when the release is sent (USDC): seller + platform fee + vertical royalty = amount.
    seller_amount = _usdc(null=True, blank=True)
    platform_fee = _usdc(null=True, blank=True)
    vertical_royalty = _usdc(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "id"], name="settlement_state_idx"),
            models.Index(fields=["updated_at"], name="settlement_updated_idx"),  # analytics refresh
            models.Index(fields=["release_after"], condition=Q(state="minted"), name="settlement_release_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="settlement_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Settlement of sale {self.sale_id} ({self.state})"

    @property
    def held_amount(self):
        """What the deal holds for the release: the price less a partial refund sent."""
        return self.amount - (self.partial_refund_amount or 0)


class BountyDeal(models.Model):
    """A bounty payout settled on chain: the bounty's money is still in its funder's vault balance
    (the pool is a ledger account), so each award is its own deal — funded from the funder with
    the sale, released to the seller with the sale. Deal id = BOUNTY_DEAL_BASE + award id."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="bounty_deals")
    award = models.OneToOneField("auctions.BountyAward", on_delete=models.PROTECT, related_name="bounty_deal")
    funder_address = models.CharField(max_length=42)
    amount = _usdc()
    fund_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Bounty deal of award {self.award_id}: {self.amount} USDC"


class ChainCursor(models.Model):
    """How far an indexer has read a chain: the last block whose logs are fully applied."""

    name = models.CharField(max_length=64)
    chain_id = models.PositiveBigIntegerField()
    block = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "chain_id"], name="chain_cursor_uniq")]

    def __str__(self) -> str:
        return f"{self.name}@{self.chain_id}: block {self.block}"


class VaultEvent(models.Model):
    """A log of the EscrowVault that concerns a user's free balance (deposit, withdrawal, exit
    announced, cancelled or taken, a move between addresses), applied to the ledger exactly once
    (unique on chain id, transaction hash and log index)."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        EXIT_ANNOUNCED = "exit_announced", "Exit announced"
        EXIT_CANCELLED = "exit_cancelled", "Exit cancelled"
        EXIT = "exit", "Exit taken"
        MOVE = "move", "Moved between addresses"

    chain_id = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    account = models.CharField(max_length=42)
    # A move's destination (the account it came from is `account`).
    counterparty = models.CharField(max_length=42, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="vault_events"
    )
    amount = _usdc()
    ledger_transaction = models.ForeignKey(
        "ledger.LedgerTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-block_number", "-log_index"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "tx_hash", "log_index"], name="vault_event_once"),
        ]
        permissions = [("credit_from_treasury", "Can credit users from the platform treasury (on chain)")]
        indexes = [models.Index(fields=["user", "created_at"], name="vault_event_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.amount} USDC by {self.account}"


class VaultExit(models.Model):
    """An exit announced on chain (EscrowVault.announceExit) and what became of it. From the
    announcement the ledger sets the amount aside (USER_EXITING, through a VaultClaim), so no new
    bid can promise it; the exit taken pays from there, a cancelled or replaced one gives it back."""

    class State(models.TextChoices):
        ANNOUNCED = "announced", "Announced"
        CANCELLED = "cancelled", "Cancelled"
        REPLACED = "replaced", "Replaced by a later announcement"
        TAKEN = "taken", "Taken"

    chain_id = models.PositiveBigIntegerField()
    account = models.CharField(max_length=42)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vault_exits")
    amount = _usdc()
    unlocks_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.ANNOUNCED)
    reserved = _usdc(default=0, help_text="What the ledger has set aside for this exit (USER_EXITING).")
    payable = _usdc(
        null=True,
        blank=True,
        help_text="What the exit could pay if taken now: the smaller of its amount and its address's "
        "vault balance, as last read from the node. The reserve never goes beyond it.",
    )
    paid = _usdc(null=True, blank=True)
    announced_event = models.OneToOneField(VaultEvent, on_delete=models.PROTECT, related_name="exit_announced")
    closed_event = models.OneToOneField(
        VaultEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="exit_closed"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "account"],
                condition=Q(state="announced"),
                name="vault_exit_one_announced_per_account",
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=models.F("amount")),
                name="vault_exit_reserved_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Exit of {self.amount} USDC by {self.account} ({self.state})"


class VaultClaim(models.Model):
    """Money the ledger must give up because of something the vault does without the ledger
    moving first: an exit announced (set aside, from available as it comes) or taken beyond what
    was set aside, or an outflow we did not send. An outflow is covered from available, then by
    withdrawing the user's standing bids and bounty pools (the user is told); what cannot be
    covered is `short`, with a reconciliation issue for staff, and is covered later if money
    arrives."""

    class Purpose(models.TextChoices):
        EXIT_RESERVE = "exit_reserve", "Set aside for an announced exit"
        OUTFLOW = "outflow", "Paid out on chain"

    class State(models.TextChoices):
        OPEN = "open", "Being covered"
        COVERED = "covered", "Covered"
        SHORT = "short", "Short (staff)"
        CANCELLED = "cancelled", "No longer needed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="vault_claims")
    chain_id = models.PositiveBigIntegerField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    amount = _usdc()
    covered = _usdc(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    event = models.ForeignKey(VaultEvent, on_delete=models.PROTECT, related_name="claims")
    vault_exit = models.ForeignKey(VaultExit, null=True, blank=True, on_delete=models.PROTECT, related_name="claims")
    bids_withdrawn = models.PositiveIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0, help_text="Ledger posts made for this claim (numbers their keys).")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(null=True, blank=True)  # the last cover pass (least recent first)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "id"], name="vault_claim_state_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="vault_claim_amount_positive"),
            models.CheckConstraint(
                condition=Q(covered__gte=0) & Q(covered__lte=models.F("amount")),
                name="vault_claim_covered_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {self.covered}/{self.amount} USDC ({self.state})"

    @property
    def remaining(self):
        return self.amount - self.covered


class Withdrawal(models.Model):
    """A user's request to take USDC out: the ledger is debited when it is accepted, the vault pays
    on chain; a failed payout is credited back."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        SENT = "sent", "Sent"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed (refunded)"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="withdrawals")
    amount = _usdc()
    to_address = models.CharField(max_length=42)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    withdraw_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transfer_tx = models.ForeignKey(
        "chain.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_positive")]

    def __str__(self) -> str:
        return f"Withdrawal {self.pk}: {self.amount} USDC ({self.status})"


class ReconciliationIssue(models.Model):
    """A difference between the ledger/database and the chain, found by escrow.reconcile."""

    class Kind(models.TextChoices):
        ESCROW_MISSING = "escrow_missing", "Deal not on chain"
        ESCROW_AMOUNT = "escrow_amount", "Deal amount differs"
        ESCROW_RELEASED = "escrow_released", "Deal closed on chain, open in the ledger"
        NFT_MISSING = "nft_missing", "Token not on chain"
        NFT_OWNER = "nft_owner", "Token owner changed"
        VAULT_BALANCE = "vault_balance", "Vault holdings differ from the ledger"
        USER_SHORTFALL = "user_shortfall", "Paid out on chain beyond what the ledger held"

    chain_id = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    settlement = models.ForeignKey(
        Settlement, null=True, blank=True, on_delete=models.CASCADE, related_name="reconciliation_issues"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expected = models.CharField(max_length=200, blank=True)
    actual = models.CharField(max_length=200, blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One open finding per (kind, settlement, user): a difference seen on every run is one issue.
            models.UniqueConstraint(
                fields=["kind", "settlement", "user"],
                condition=Q(resolved_at__isnull=True),
                name="reconciliation_one_open_per_subject",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: expected {self.expected}, chain has {self.actual}"


class Dispute(models.Model):
    """A buyer's return of a purchase within the vertical's dispute window (escrow.services.disputes):
    automatic checks → the seller's answer by `respond_by` → staff when needed → an outcome applied
    once on chain and in the ledger. One per sale; while it is open the escrow release waits."""

    sale = models.OneToOneField("auctions.Sale", on_delete=models.PROTECT, related_name="dispute")
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="disputes")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes_opened")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes_received")
    vertical = models.ForeignKey("verticals.Vertical", on_delete=models.PROTECT, related_name="disputes")
    price = _usdc()
    reason = models.CharField(max_length=16, choices=DisputeReason.choices)
    statement = models.TextField()
    state = models.CharField(max_length=16, choices=DisputeState.choices, default=DisputeState.AWAITING_SELLER)
    # Above the vertical's return-rate threshold a buyer's new disputes go to staff first.
    staff_first = models.BooleanField(default=False)
    staff_first_reason = models.CharField(max_length=255, blank=True)
    # The automatic checks at opening (no contact details in here: line type, counts, ages).
    checks = models.JSONField(default=dict, blank=True)
    recommendation = models.CharField(max_length=8, choices=DisputeRecommendation.choices)
    recommendation_reasons = models.JSONField(default=list, blank=True)
    respond_by = models.DateTimeField()
    seller_response = models.CharField(max_length=8, choices=DisputeResponse.choices, blank=True)
    seller_statement = models.TextField(blank=True)
    offer_amount = _usdc(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    buyer_reply = models.CharField(max_length=8, blank=True, help_text="accepted or declined (the seller's offer)")
    buyer_replied_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=DisputeOutcome.choices, blank=True)
    refund_amount = _usdc(null=True, blank=True)
    decider = models.CharField(max_length=8, choices=DisputeDecider.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "created_at"], name="dispute_state_age_idx"),
            models.Index(fields=["buyer", "created_at", "id"], name="dispute_buyer_idx"),
            models.Index(fields=["seller", "created_at", "id"], name="dispute_seller_idx"),
            models.Index(fields=["respond_by"], condition=Q(state="awaiting_seller"), name="dispute_respond_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="dispute_price_positive"),
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | (Q(refund_amount__gt=0) & Q(refund_amount__lte=F("price"))),
                name="dispute_refund_within_price",
            ),
            models.CheckConstraint(
                condition=Q(offer_amount__isnull=True) | (Q(offer_amount__gt=0) & Q(offer_amount__lt=F("price"))),
                name="dispute_offer_below_price",
            ),
        ]
        permissions = [("arbitrate_dispute", "Can decide disputes (staff arbitration)")]

    def __str__(self) -> str:
        return f"Dispute {self.pk} on sale {self.sale_id} ({self.get_state_display()})"


class DisputeEvidence(models.Model):
    """A file a party attached to a dispute, kept through Django's storage API (local in
    development). Its type is checked by content, not by name."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence")
    party = models.CharField(max_length=8, choices=DisputeParty.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to="disputes/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "dispute evidence"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_party_display()})"
