"""What the accounts side announces; receivers are connected in MarketplaceConfig.ready, so the
services never import the tasks that act on them (no services ↔ tasks cycle)."""

from django.dispatch import Signal

# Sent after the transaction that created the account commits, kwargs: user_id.
user_signed_up = Signal()
