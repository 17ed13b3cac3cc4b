"""Staff views of auctions: one module per area, registered on import (admin autodiscovery imports
this package)."""

from auctions.admin import auctions, bounties, outcomes  # noqa: F401
