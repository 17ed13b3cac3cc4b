"""What the accounts side announces; receivers are connected in AccountsConfig.ready, so the
services never import the tasks that act on them (no services ↔ tasks cycle)."""

from django.dispatch import Signal

# Sent after the transaction that created the account commits, kwargs: user_id.
user_signed_up = Signal()
# Sent after the transaction that asked for a new confirmation link commits, kwargs: user_id.
email_verification_requested = Signal()
