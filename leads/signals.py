"""What leads announce to the apps that build on them, so that the dependency keeps pointing one
way: auctions imports leads, never the reverse."""

from django.dispatch import Signal

# Sent after the transaction that scored a lead at or above its vertical's floor commits,
# kwargs: lead_id. auctions lists it (the auctions.open stage, on its own queue).
lead_scored = Signal()
