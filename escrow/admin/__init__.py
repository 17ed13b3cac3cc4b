"""Staff views of settlement: one module per area, registered on import."""

from escrow.admin import disputes, funds, settlement  # noqa: F401
