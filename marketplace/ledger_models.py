"""The double-entry USDC ledger (being built for the auctions issue)."""

__all__: list[str] = []
