"""Where each chain follower (the vault indexer, LeadNFT transfers) has read up to."""

from escrow.models import ChainCursor


def cursor_lock(*, chain_id: int, start: int, name: str) -> ChainCursor:
    """The follower cursor `name` of `chain_id`, created at `start` on first use, locked
    (select_for_update). Must run inside transaction.atomic()."""
    ChainCursor.objects.get_or_create(name=name, chain_id=chain_id, defaults={"block": start})
    return ChainCursor.objects.select_for_update().get(name=name, chain_id=chain_id)
