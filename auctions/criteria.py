"""The lead-matching criteria autobid rules and bounties share: which fields a buyer may filter on
(biddable, not PII), the operators and how each is written, checking a filter list's definition
(one set of messages), and testing a lead against one filter (with the reason, for traces)."""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from core.money import USDC_DECIMAL_PLACES, USDC_MAX_DIGITS
from verticals.choices import FieldType
from verticals.selectors import vertical_fields_effective

ZIP_RE = re.compile(r"^\d{3}(\d{2})?$")


ORDERED_OPS = {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between"}


OPS_BY_TYPE: dict[str, set[str]] = {
    FieldType.INTEGER: ORDERED_OPS,
    FieldType.DECIMAL: ORDERED_OPS,
    FieldType.DATE: ORDERED_OPS,
    FieldType.TEXT: {"eq", "ne", "in", "not_in", "contains"},
    FieldType.US_ZIP: {"eq", "ne", "in", "not_in", "contains"},
    FieldType.CHOICE: {"eq", "ne", "in", "not_in"},
    FieldType.MULTI_CHOICE: {"in", "not_in", "contains"},  # in = any of, not_in = none of
    FieldType.BOOLEAN: {"eq", "ne"},
}


ALL_OPS = {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains"}


OP_NAMES = ["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "contains"]  # display order


# How the README and the pages write each operator. Rules store the code (eq, gte …); the API and
# the pages take either spelling, plus the ASCII ones (==, !=, >=, <=).
OP_SYMBOLS = {
    "eq": "=",
    "ne": "≠",
    "in": "in",
    "not_in": "not in",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "between": "between",
    "contains": "contains",
}


OP_ALIASES = {
    **{code: code for code in OP_NAMES},
    **{symbol: code for code, symbol in OP_SYMBOLS.items()},
    "==": "eq",
    "!=": "ne",
    ">=": "gte",
    "<=": "lte",
}


OP_SPELLINGS = list(OP_ALIASES)  # every accepted spelling (the API schema's enum)


OP_LABELS = {
    "eq": "= (equals)",
    "ne": "≠ (not equals)",
    "in": "in (any of a list)",
    "not_in": "not in (none of a list)",
    "gt": "> (above)",
    "gte": "≥ (at least)",
    "lt": "< (below)",
    "lte": "≤ (at most)",
    "between": "between (low and high, inclusive)",
    "contains": "contains",
}


def canonical_op(op) -> str | None:
    """The operator's code for any accepted spelling ("=", "≥", ">=", "gte", "Not In" …), else None."""
    if not isinstance(op, str):
        return None
    return OP_ALIASES.get(" ".join(op.replace("_", " ").split()).lower().replace("not in", "not_in"))


def field_filters_normalized(filters):
    """Filters with each operator stored as its code; anything malformed is left for the check to name."""
    if not isinstance(filters, list):
        return filters
    out = []
    for flt in filters:
        if isinstance(flt, dict) and canonical_op(flt.get("op")) is not None:
            flt = {**flt, "op": canonical_op(flt["op"])}
        out.append(flt)
    return out


# Bounds that keep a definition inside its columns (a 400 with a reason, never a database error).
MAX_USDC = Decimal(10) ** (USDC_MAX_DIGITS - USDC_DECIMAL_PLACES)
MAX_LIST = 1000
MAX_FILTERS = 50


# ---------------------------------------------------------------- values


def coerce(ftype: str, value):
    """One filter or lead value in comparable form; raises ValueError when it has the wrong type."""
    if ftype in (FieldType.INTEGER, FieldType.DECIMAL):
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
            raise ValueError("not a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("not a number") from None
        if not number.is_finite():
            raise ValueError("not a number")
        return number
    if ftype == FieldType.DATE:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("not a date (YYYY-MM-DD)") from None
    if ftype == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError("not true or false")
        return value
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError("not text")
    text = str(value)
    return text.casefold() if ftype == FieldType.TEXT else text


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def show(value) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compare(ftype: str, op: str, actual, value) -> bool:
    """actual is the lead's coerced value (a list for multi_choice); value the filter's."""
    if ftype == FieldType.MULTI_CHOICE:
        have = set(actual)
        if op == "contains":
            return value in have
        overlap = bool(have & set(value))
        return overlap if op == "in" else not overlap
    if op == "eq":
        return actual == value
    if op == "ne":
        return actual != value
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    if op == "gt":
        return actual > value
    if op == "gte":
        return actual >= value
    if op == "lt":
        return actual < value
    if op == "lte":
        return actual <= value
    if op == "between":
        return value[0] <= actual <= value[1]
    if op == "contains":
        return value in actual
    raise ValueError(op)


def coerce_filter_value(ftype: str, op: str, value):
    """The filter's value in comparable form (a list for in/not_in, a pair for between)."""
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValueError("give at least one value (a list)")
        return [coerce(FieldType.CHOICE if ftype == FieldType.MULTI_CHOICE else ftype, v) for v in value]
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError("give two values, low and high ([low, high])")
        low, high = coerce(ftype, value[0]), coerce(ftype, value[1])
        if low > high:
            raise ValueError("low is above high")
        return [low, high]
    if ftype == FieldType.MULTI_CHOICE:
        return coerce(FieldType.CHOICE, value)
    return coerce(ftype, value)


# ---------------------------------------------------------------- definition


def filterable_fields_of(schema) -> dict:
    """key -> VerticalField for the fields of an effective schema that rules and bounties may
    filter on: biddable and not PII (what a buyer sees before buying)."""
    return {field.key: field for field in schema if field.biddable and not field.pii}


def filterable_fields(vertical) -> dict:
    """filterable_fields_of the vertical's effective schema (inherited fields included)."""
    return filterable_fields_of(ef.field for ef in vertical_fields_effective(vertical=vertical))


def check_zips(values, name: str, errors: dict) -> None:
    if (
        not isinstance(values, list)
        or len(values) > MAX_LIST
        or any(not isinstance(z, str) or not ZIP_RE.match(z) for z in values)
    ):
        errors.setdefault(name, []).append('A list of 5-digit ZIPs or 3-digit ZIP3 prefixes, e.g. ["94105", "941"].')


def check_usdc(value, name: str, errors: dict, *, positive: bool) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        errors.setdefault(name, []).append("A USDC amount such as 12.50.")
        return
    if value.as_tuple().exponent < -USDC_DECIMAL_PLACES:
        errors.setdefault(name, []).append(f"At most {USDC_DECIMAL_PLACES} decimal places.")
    if value < 0 or (positive and value == 0):
        errors.setdefault(name, []).append("Must be positive." if positive else "Must not be negative.")
    elif value >= MAX_USDC:
        errors.setdefault(name, []).append(f"Must be below {MAX_USDC:,} USDC.")


def check_field_filters(rule, errors: dict) -> None:
    """Check `rule.field_filters` (an autobid rule or a bounty: same shape, same messages) against
    `rule.vertical`'s filterable fields; problems go to errors["field_filters"]."""
    filters = rule.field_filters
    if filters in (None, []):
        return
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        errors["field_filters"] = [f'A list of at most {MAX_FILTERS} {{"field", "op", "value"}}.']
        return
    if rule.vertical_id is None:
        errors["field_filters"] = ["Choose a vertical to filter on its fields."]
        return
    fields = filterable_fields(rule.vertical)
    problems = []
    for i, flt in enumerate(filters, start=1):
        if not isinstance(flt, dict) or set(flt) != {"field", "op", "value"}:
            problems.append(f'Filter {i}: give exactly "field", "op" and "value".')
            continue
        key, op = flt["field"], canonical_op(flt["op"])
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            problems.append(
                f"Filter {i}: {key!r} is not a biddable field of this vertical "
                f"(choose from {', '.join(sorted(fields)) or 'none'})."
            )
            continue
        if op is None:
            problems.append(
                f"Filter {i}: unknown operator {flt['op']!r} (use {', '.join(OP_SYMBOLS[code] for code in OP_NAMES)})."
            )
            continue
        if op not in OPS_BY_TYPE.get(field.type, set()):
            allowed = ", ".join(OP_SYMBOLS[code] for code in OP_NAMES if code in OPS_BY_TYPE.get(field.type, set()))
            problems.append(f"Filter {i}: {OP_SYMBOLS[op]} does not apply to {field.label} ({key}); use {allowed}.")
            continue
        try:
            value = coerce_filter_value(field.type, op, flt["value"])
        except ValueError as exc:
            problems.append(f"Filter {i}: value for {key} {op}: {exc}.")
            continue
        if field.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE) and field.choices:
            unknown = [v for v in (value if isinstance(value, list) else [value]) if v not in field.choices]
            if unknown:
                problems.append(f"Filter {i}: {show(unknown)} not among {key}'s choices {show(field.choices)}.")
    if problems:
        errors["field_filters"] = problems


# ---------------------------------------------------------------- matching


def zip_hit(zip_code: str, patterns: list[str]) -> str | None:
    for pattern in patterns:
        if zip_code == pattern or (len(pattern) == 3 and zip_code.startswith(pattern)):
            return pattern
    return None


def field_check(flt: dict, fields_by_key: dict, lead_fields: dict) -> tuple[bool, str]:
    key, op, raw_value = flt["field"], canonical_op(flt["op"]) or flt["op"], flt["value"]
    label = f"field {key} {op} {show(raw_value)}"
    field = fields_by_key.get(key)
    if field is None:
        return False, f"{label}: not a biddable field of the lead's vertical"
    raw = lead_fields.get(key)
    if raw is None or raw == "" or raw == []:
        return False, f"{label}: lead has no {key}"
    try:
        value = coerce_filter_value(field.type, op, raw_value)
        if field.type == FieldType.MULTI_CHOICE:
            actual = [coerce(FieldType.CHOICE, v) for v in (raw if isinstance(raw, list) else [raw])]
        else:
            actual = coerce(field.type, raw)
        ok = compare(field.type, op, actual, value)
    except (ValueError, TypeError):
        return False, f"{label}: lead value {show(raw)} is not comparable"
    return ok, f"{label}: ok" if ok else f"{label}: lead has {show(raw)}"
