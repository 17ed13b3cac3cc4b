"""Staff views of settlement: one module per area, registered on import."""

from escrow import admin_funds, admin_settlement  # noqa: F401
