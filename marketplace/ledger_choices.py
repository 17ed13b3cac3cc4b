from django.db import models


class LedgerAccountKind(models.TextChoices):
    USER_AVAILABLE = "user_available", "Available"
    USER_HELD = "user_held", "Held"
    PLATFORM_FEES = "platform_fees", "Platform fees"
    ESCROW = "escrow", "Escrow"
    BOUNTY_POOL = "bounty_pool", "Bounty pool"
    ROYALTIES = "royalties", "Royalties"
    # The outside world: deposits come from it and withdrawals go to it, so it alone may go
    # negative (its balance is minus everything that has ever entered the books).
    EXTERNAL = "external", "External"


USER_ACCOUNT_KINDS = (LedgerAccountKind.USER_AVAILABLE, LedgerAccountKind.USER_HELD)


class LedgerTransactionKind(models.TextChoices):
    CREDIT = "credit", "Credit"
    FAUCET = "faucet", "Faucet"
    HOLD = "hold", "Hold"
    RELEASE = "release", "Release"
    CAPTURE = "capture", "Capture"
    TRANSFER = "transfer", "Transfer"
    WITHDRAWAL = "withdrawal", "Withdrawal"
