"""Signals the chain app sends, so apps above it act without the chain app importing them."""

from django.dispatch import Signal

# Sent after the transaction that linked a user's own wallet commits; kwargs: wallet.
wallet_linked = Signal()
