"""Chain records: which contract lives at which address on which chain."""

from django.conf import settings
from django.db import models


class ContractDeployment(models.Model):
    """A contract deployed by `manage.py chain_deploy`, one per (chain id, contract name).

    Re-deploying on the same chain (a fresh dev chain, see chain/deploy.py) replaces the row.
    """

    chain_id = models.PositiveBigIntegerField()
    name = models.CharField(max_length=100)
    address = models.CharField(max_length=42)
    tx_hash = models.CharField(max_length=66)
    block_number = models.PositiveBigIntegerField()
    artifact_sha256 = models.CharField(max_length=64)
    deployed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "name"], name="chain_deployment_unique_per_chain"),
        ]
        ordering = ["chain_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} on {self.chain_id} at {self.address}"


class Signer(models.Model):
    """A hot wallet that signs our transactions (keys come from CHAIN_SIGNER_KEYS, never the DB).

    `next_nonce` is the nonce the next ChainTransaction of this signer gets; it only moves under
    select_for_update on this row, in the transaction that inserts that ChainTransaction.
    """

    address = models.CharField(max_length=42, unique=True)
    chain_id = models.PositiveBigIntegerField()
    next_nonce = models.PositiveBigIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["chain_id", "id"]

    def __str__(self) -> str:
        return f"{self.address} on {self.chain_id}"


class ChainTransaction(models.Model):
    """One transaction we send, keyed by the caller's idempotency key (a retry never sends twice).

    One row per (signer, nonce): a replacement (bumped fees) or a re-send updates this row's
    `tx_hash` and appends to `tx_hashes`, so every hash ever broadcast for the nonce is kept.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # nonce allocated, not broadcast yet
        SENT = "sent", "Sent"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"
        REPLACED = "replaced", "Replaced"  # the nonce was mined by a transaction that is not ours

    idempotency_key = models.CharField(max_length=200, unique=True)
    chain_id = models.PositiveBigIntegerField()
    signer = models.ForeignKey(Signer, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions")
    # Null only for a transaction refused before a nonce was allocated (its gas estimate reverted).
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    to = models.CharField(max_length=42)
    data = models.TextField(default="0x")
    value = models.DecimalField(max_digits=78, decimal_places=0, default=0)
    gas_limit = models.PositiveBigIntegerField(null=True, blank=True)
    max_fee_per_gas = models.DecimalField(max_digits=78, decimal_places=0, null=True, blank=True)
    max_priority_fee_per_gas = models.DecimalField(max_digits=78, decimal_places=0, null=True, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True, db_index=True)
    tx_hashes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_block = models.PositiveBigIntegerField(null=True, blank=True)
    receipt_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["signer", "nonce"], name="chain_tx_one_per_signer_nonce"),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"


class Wallet(models.Model):
    """A user's on-chain address: custodial (we hold the key, encrypted by chain/wallets.py) or
    linked (the user proved control of their own address with a Sign-In with Ethereum message).

    `encrypted_key` is AES-256-GCM under CHAIN_WALLET_MASTER_KEY, bound to `custodial_address`.
    Linking an own wallet keeps both, so anything already sent to the custodial address stays
    reachable (staff can sweep it); `address` is where new things go.
    """

    class Kind(models.TextChoices):
        CUSTODIAL = "custodial", "Custodial"
        LINKED = "linked", "Linked"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet")
    address = models.CharField(max_length=42, unique=True)  # EIP-55 checksummed
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CUSTODIAL)
    encrypted_key = models.BinaryField(null=True, blank=True, editable=False)
    custodial_address = models.CharField(
        max_length=42, blank=True, default="", help_text="The address of the custodial key, kept after linking."
    )
    linked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="linked") | models.Q(kind="custodial", encrypted_key__isnull=False),
                name="chain_wallet_custodial_has_key",
            ),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.address} ({self.kind})"
