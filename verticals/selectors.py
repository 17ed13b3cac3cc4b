"""Reads for verticals. Lists may come from the replica; they are reference data."""

import copy
import time
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from core.localcache import LocalCache
from verticals.choices import VerticalStatus
from verticals.models import Vertical, VerticalField


def vertical_list(*, status: str | None = None, parent_slug: str | None = None, top_level: bool = False) -> QuerySet:
    qs = Vertical.objects.select_related("parent").annotate(children_count=Count("children", distinct=True))
    if status:
        qs = qs.filter(status=status)
    if parent_slug:
        qs = qs.filter(parent__slug=parent_slug)
    if top_level:
        qs = qs.filter(parent__isnull=True)
    return qs.order_by("slug")


def vertical_tree() -> list[tuple[Vertical, list[Vertical]]]:
    """Top-level verticals with their children, for the list page (2 queries)."""
    verticals = list(
        Vertical.objects.exclude(status=VerticalStatus.DEPRECATED).select_related("parent").order_by("name")
    )
    children: dict[int, list[Vertical]] = {}
    for vertical in verticals:
        if vertical.parent_id:
            children.setdefault(vertical.parent_id, []).append(vertical)
    return [(v, children.get(v.pk, [])) for v in verticals if v.parent_id is None]


def vertical_get(*, slug: str) -> Vertical:
    return (
        Vertical.objects.select_related("parent__parent__parent")
        .prefetch_related(Prefetch("fields", queryset=VerticalField.objects.order_by("position", "id")))
        .get(slug=slug)
    )


def vertical_ancestors(*, vertical: Vertical) -> list[Vertical]:
    """Root first, the vertical itself last."""
    chain = []
    node = vertical
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


@dataclass(frozen=True)
class EffectiveField:
    field: VerticalField
    inherited_from: Vertical | None  # None when the vertical defines it itself


def vertical_fields_effective(*, vertical: Vertical) -> list[EffectiveField]:
    """A vertical's schema: its ancestors' fields, overridden by key by nearer definitions, each
    with the ancestor it is inherited from (None for the vertical's own)."""
    chain = vertical_ancestors(vertical=vertical)
    by_id = {node.pk: node for node in chain}
    merged = _merged_fields([node.pk for node in chain], _fields_by_vertical([node.pk for node in chain]))
    return [
        EffectiveField(
            field=field, inherited_from=None if field.vertical_id == vertical.pk else by_id[field.vertical_id]
        )
        for field in merged
    ]


# Verticals by slug and effective schemas by vertical id, memoised per process for the intake
# path (every submitted lead needs both). Emptied in every process within a second when a vertical
# or a field is saved or deleted (verticals.apps connects verticals.services.vertical_cache_invalidate).
VERTICAL_CACHE = LocalCache("verticals.schemas")


def vertical_by_slug_cached(*, slug: str) -> Vertical | None:
    """The vertical with this slug (a private copy), or None; no query while memoised."""
    vertical = VERTICAL_CACHE.get(("slug", slug), lambda: Vertical.objects.filter(slug=slug).first())
    return copy.copy(vertical) if vertical is not None else None


def vertical_tree_cached() -> list[tuple[Vertical, list[Vertical]]]:
    """vertical_tree, memoised (shared, read-only instances): the seller's lead page offers it as
    a filter on every request."""
    return VERTICAL_CACHE.get(("tree",), vertical_tree)


def verticals_by_id_cached(*, vertical_ids) -> dict[int, Vertical]:
    """Verticals by id, memoised (shared, read-only instances); one query for those not yet held."""
    found, missing = {}, []
    for vertical_id in set(vertical_ids):
        vertical = VERTICAL_CACHE.get(("id", vertical_id), lambda: None)
        if vertical is None:
            missing.append(vertical_id)
        else:
            found[vertical_id] = vertical
    if missing:
        for vertical in Vertical.objects.filter(pk__in=missing):
            found[vertical.pk] = VERTICAL_CACHE.get(("id", vertical.pk), lambda v=vertical: v)
    return found


def vertical_schema_cached(*, vertical_id: int) -> list[VerticalField]:
    """vertical_fields_effective's fields for one vertical, memoised (read-only: do not mutate)."""
    return VERTICAL_CACHE.get(
        ("schema", vertical_id), lambda: vertical_schemas(vertical_ids=[vertical_id])[vertical_id]
    )


def vertical_schemas(*, vertical_ids) -> dict[int, list[VerticalField]]:
    """The effective schema (as vertical_fields_effective, fields only) of several verticals in
    two queries, whatever their number: for pages that show many leads' fields at once."""
    wanted = set(vertical_ids)
    if not wanted:
        return {}
    parents = dict(Vertical.objects.values_list("id", "parent_id"))
    chains: dict[int, list[int]] = {}
    for vertical_id in wanted:
        chain, node, seen = [], vertical_id, set()
        while node is not None and node not in seen:  # root first, the vertical itself last
            seen.add(node)
            chain.insert(0, node)
            node = parents.get(node)
        chains[vertical_id] = chain
    by_vertical = _fields_by_vertical({v for chain in chains.values() for v in chain})
    return {vertical_id: _merged_fields(chain, by_vertical) for vertical_id, chain in chains.items()}


def _fields_by_vertical(ids) -> dict[int, list[VerticalField]]:
    by_vertical: dict[int, list[VerticalField]] = {}
    for field in VerticalField.objects.filter(vertical_id__in=ids).order_by("position", "id"):
        by_vertical.setdefault(field.vertical_id, []).append(field)
    return by_vertical


def _merged_fields(chain: list[int], by_vertical: dict) -> list[VerticalField]:
    """The one ancestor merge: down the chain of vertical ids (root first), a nearer definition of
    a key replaces the farther one and takes its place at the end."""
    merged: dict[str, VerticalField] = {}
    for node in chain:
        for field in by_vertical.get(node, []):
            merged.pop(field.key, None)
            merged[field.key] = field
    return list(merged.values())


# ---------------------------------------------------------------- exclusive verticals: the one rule


def vertical_open_to_q(*, vertical, user_id) -> Q:
    """The exclusive-vertical rule as a filter: a vertical with no buyer list is open to everyone,
    one with a list only to its listed buyers. `vertical` is a vertical id or an expression naming
    it in the outer query (OuterRef("vertical_id")); `user_id` is a user id, an expression
    (OuterRef("buyer_id")), or None for nobody in particular (open verticals only). Every reader —
    vertical_admits_buyer, who may watch a vertical, who sees an auction or a buy-now listing
    (auctions.selectors.auction_visible_q), which autobid rules may bid — builds on this."""
    listed = Vertical.exclusive_buyers.through.objects.filter(vertical_id=vertical)
    if user_id is None:
        return ~Exists(listed)
    return ~Exists(listed) | Exists(listed.filter(user_id=user_id))


def vertical_admits_buyer(*, vertical: Vertical, user) -> bool:
    """An exclusive vertical (non-empty buyer list) admits only its listed buyers. One query."""
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    return (
        Vertical.objects.filter(pk=vertical.pk)
        .filter(vertical_open_to_q(vertical=OuterRef("pk"), user_id=user_id))
        .exists()
    )


def vertical_watchable_q(*, user) -> Q:
    """Verticals whose live group (every auction in it) `user` may follow: open to them, or any
    for staff. Callers add the status they need."""
    if getattr(user, "is_staff", False) and user.is_active:
        return Q()
    user_id = user.pk if getattr(user, "is_authenticated", False) else None
    return vertical_open_to_q(vertical=OuterRef("pk"), user_id=user_id)


def vertical_slugs_watchable(*, slugs: list[str], user) -> list[str]:
    """Of `slugs`, the active verticals `user` may follow (vertical_watchable_q). One query."""
    return list(
        Vertical.objects.filter(slug__in=slugs, status=VerticalStatus.ACTIVE)
        .filter(vertical_watchable_q(user=user))
        .values_list("slug", flat=True)
    )


_PUBLIC_SLUGS: tuple[float, frozenset[str]] = (float("-inf"), frozenset())
PUBLIC_SLUGS_TTL = 10.0


def vertical_public_slugs_cached() -> frozenset[str] | None:
    """The set vertical_public_slugs last read, if still fresh; None if it must be read again.
    No database access, so async code can call it without a thread hop."""
    fetched_at, slugs = _PUBLIC_SLUGS
    return slugs if time.monotonic() - fetched_at <= PUBLIC_SLUGS_TTL else None


def vertical_public_slugs() -> frozenset[str]:
    """Slugs of active verticals open to every buyer (no exclusive list), kept in process memory
    for PUBLIC_SLUGS_TTL seconds: thousands of sockets reconnecting after a deploy each ask.
    A vertical made exclusive or inactive drops out within that time; anything not in this set
    is checked against the database by the caller."""
    global _PUBLIC_SLUGS
    slugs = vertical_public_slugs_cached()
    if slugs is None:
        slugs = frozenset(
            Vertical.objects.filter(status=VerticalStatus.ACTIVE)
            .filter(vertical_open_to_q(vertical=OuterRef("pk"), user_id=None))
            .values_list("slug", flat=True)
        )
        _PUBLIC_SLUGS = (time.monotonic(), slugs)
    return slugs
