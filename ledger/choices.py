from django.db import models


class LedgerAccountKind(models.TextChoices):
    USER_AVAILABLE = "user_available", "Available"
    USER_HELD = "user_held", "Held"
    # Set aside for an exit the user announced on chain (EscrowVault.announceExit): no longer
    # available for bids, paid out when the exit is taken, back to available if it is cancelled.
    USER_EXITING = "user_exiting", "Leaving the vault"
    PLATFORM_FEES = "platform_fees", "Platform fees"
    ESCROW = "escrow", "Escrow"
    BOUNTY_POOL = "bounty_pool", "Bounty pool"
    ROYALTIES = "royalties", "Royalties"
    # The outside world: deposits come from it and withdrawals go to it, so it alone may go
    # negative (its balance is minus everything that has ever entered the books). One per user
    # (reference "user:<id>": whose money crossed the boundary), so deposits and withdrawals of
    # different users never queue on one row; the one without a reference predates that.
    EXTERNAL = "external", "External"


USER_ACCOUNT_KINDS = (LedgerAccountKind.USER_AVAILABLE, LedgerAccountKind.USER_HELD, LedgerAccountKind.USER_EXITING)


class LedgerTransactionKind(models.TextChoices):
    CREDIT = "credit", "Credit"
    FAUCET = "faucet", "Faucet"
    HOLD = "hold", "Hold"
    RELEASE = "release", "Release"
    CAPTURE = "capture", "Capture"
    TRANSFER = "transfer", "Transfer"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    EXIT = "exit", "Vault exit"
