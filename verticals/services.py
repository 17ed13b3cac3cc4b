"""Writes and schema rules for verticals."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from verticals.choices import CHOICE_TYPES, RANGE_TYPES, FieldType, VerticalStatus
from verticals.models import Vertical, VerticalField, field_key
from verticals.selectors import VERTICAL_CACHE

# Contact details never live in the vertical schema: the lead's PII vault holds them.
RESERVED_KEYS = {
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "street_address",
    "address",
    "zip",
    "state",
    "city",
    "country",
    "consent",
}
MAX_CHOICES = 200


def check_field_definition(*, key: str, type: str, choices, min_value, max_value, biddable: bool, pii: bool) -> None:
    """Raise ValidationError (by field name) when a field definition is inconsistent."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    try:
        field_key(key or "")
    except ValidationError as exc:
        add("key", exc.messages[0])
    if key in RESERVED_KEYS:
        add("key", f"'{key}' is a core lead field (contact details and geo are handled by every lead).")
    if type not in FieldType.values:
        add("type", f"Unknown type '{type}'.")
    if choices in (None, ""):
        choices = []
    if not isinstance(choices, list):
        add("choices", "Choices must be a list of strings.")
        choices = []
    if type in CHOICE_TYPES:
        if not choices:
            add("choices", "A choice field needs at least one choice.")
        elif any(not isinstance(c, str) or not c.strip() for c in choices):
            add("choices", "Every choice must be a non-empty string.")
        elif len(set(choices)) != len(choices):
            add("choices", "Choices must be unique.")
        elif len(choices) > MAX_CHOICES:
            add("choices", f"At most {MAX_CHOICES} choices.")
    elif choices:
        add("choices", "Only choice and multi-choice fields have choices.")
    if (min_value is not None or max_value is not None) and type not in RANGE_TYPES:
        add("min_value", "Only integer and decimal fields have a range.")
    if min_value is not None and max_value is not None:
        try:
            if Decimal(min_value) > Decimal(max_value):
                add("max_value", "The maximum must not be below the minimum.")
        except (InvalidOperation, TypeError):
            add("min_value", "The range must be numbers.")
    if type == FieldType.INTEGER:
        for name, value in (("min_value", min_value), ("max_value", max_value)):
            if value is not None and Decimal(value) != Decimal(value).to_integral_value():
                add(name, "An integer field's bound must be a whole number.")
    if pii and biddable:
        add("biddable", "A personal-data field cannot be biddable: buyers never filter on PII.")
    if errors:
        raise ValidationError(errors)


def check_vertical(*, vertical: Vertical) -> None:
    """A vertical's parent chain must not loop and must not hang under a deprecated parent."""
    errors: dict[str, str] = {}
    seen = {vertical.pk} if vertical.pk else set()
    parent = vertical.parent
    depth = 0
    while parent is not None:
        if parent.pk in seen:
            errors["parent"] = "A vertical cannot be its own ancestor."
            break
        seen.add(parent.pk)
        depth += 1
        parent = parent.parent
    if depth > 3 and "parent" not in errors:
        errors["parent"] = "Verticals nest at most four levels deep."
    if (
        vertical.parent is not None
        and vertical.parent.status == VerticalStatus.DEPRECATED
        and vertical.status == VerticalStatus.ACTIVE
    ):
        errors["status"] = "An active vertical cannot sit under a deprecated parent."
    if errors:
        raise ValidationError(errors)


_VERTICAL_DEFAULT_KEYS = (
    "description",
    "status",
    "reserve_price",
    "buy_now_multiplier",
    "auction_duration_seconds",
    "dispute_window_hours",
    "quality_floor",
    "daily_cap_per_seller",
    "dedupe_window_days",
    "brand_color",
    "logo_url",
    "tagline",
    "royalty_bps",
)


@transaction.atomic
def vertical_upsert(
    *, slug: str, name: str, parent: Vertical | None = None, fields: list[dict] | None = None, **attrs
) -> Vertical:
    """Create or update a vertical by slug with its own fields (validated; idempotent)."""
    unknown = set(attrs) - set(_VERTICAL_DEFAULT_KEYS)
    if unknown:
        raise ValueError(f"Unknown vertical attributes: {sorted(unknown)}")
    vertical = Vertical.objects.select_for_update().filter(slug=slug).first() or Vertical(slug=slug)
    vertical.name, vertical.parent = name, parent
    for attr, value in attrs.items():
        setattr(vertical, attr, value)
    vertical.full_clean()
    check_vertical(vertical=vertical)
    vertical.save()
    keep = []
    for position, spec in enumerate(fields or []):
        spec = {
            "choices": [],
            "min_value": None,
            "max_value": None,
            "required": False,
            "biddable": False,
            "pii": False,
            "help_text": "",
            **spec,
        }
        check_field_definition(
            key=spec["key"],
            type=spec["type"],
            choices=spec["choices"],
            min_value=spec["min_value"],
            max_value=spec["max_value"],
            biddable=spec["biddable"],
            pii=spec["pii"],
        )
        VerticalField.objects.update_or_create(
            vertical=vertical,
            key=spec["key"],
            defaults={
                k: spec[k]
                for k in (
                    "label",
                    "type",
                    "required",
                    "choices",
                    "min_value",
                    "max_value",
                    "biddable",
                    "pii",
                    "help_text",
                )
            }
            | {"position": position},
        )
        keep.append(spec["key"])
    VerticalField.objects.filter(vertical=vertical).exclude(key__in=keep).delete()
    return vertical


# A child vertical takes its parent's sale defaults and branding unless it sets its own.
INHERITED_DEFAULTS = (
    "reserve_price",
    "buy_now_multiplier",
    "auction_duration_seconds",
    "dispute_window_hours",
    "quality_floor",
    "daily_cap_per_seller",
    "dedupe_window_days",
    "brand_color",
    "royalty_bps",
)


def vertical_seed_tree(*, tree: list[dict], parent: Vertical | None = None, inherited: dict | None = None) -> int:
    """Upsert a nested seed tree (see verticals/seed_data.py); returns how many verticals."""
    count = 0
    for node in tree:
        node = dict(node)
        children = node.pop("children", [])
        attrs = {**(inherited or {}), **node}
        vertical = vertical_upsert(parent=parent, **attrs)
        passed_down = {key: attrs[key] for key in INHERITED_DEFAULTS if key in attrs}
        count += 1 + vertical_seed_tree(tree=children, parent=vertical, inherited=passed_down)
    return count


def vertical_cache_invalidate(**kwargs) -> None:
    """Receiver of post_save/post_delete of Vertical and VerticalField (verticals.apps)."""
    VERTICAL_CACHE.invalidate()
