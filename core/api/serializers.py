"""Read-side serializers at list speed.

DRF renders each field of each row through `get_attribute` (a walk over `source_attrs` with
exception handling) and `to_representation`, building an OrderedDict per row: on a page of 50
rows of 20 fields that is a third of the request's Python time. `FastReadMixin` plans each field
once per serializer instance (once per class with `fast_read_static`) — a plain attribute getter
for model fields, the `<name>_id` column for primary-key relations, the related object's attribute
for slug relations, ISO 8601 datetimes in a time zone looked up once per row — and renders a row
calling the same `field.to_representation` DRF would. Fields it has no plan for (method fields,
nested serializers, dotted sources) go through DRF's own path, so the output is identical (tests
compare both); the schema is untouched.
"""

from operator import attrgetter

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework.fields import SkipField
from rest_framework.settings import api_settings

_DATETIME = object()  # a render marker: an aware datetime in the current time zone, ISO 8601


def _plan(field):
    if field.source == "*" or "." in field.source:
        return None
    if isinstance(field, relations.PrimaryKeyRelatedField) and field.pk_field is None:
        return attrgetter(f"{field.source}_id"), None
    if isinstance(field, relations.SlugRelatedField) and "." not in field.slug_field:
        related, slug = attrgetter(field.source), attrgetter(field.slug_field)

        def get(instance):
            obj = related(instance)
            return None if obj is None else slug(obj)

        return get, None
    if isinstance(field, (serializers.SerializerMethodField, serializers.BaseSerializer, relations.RelatedField)):
        return None
    if isinstance(field, serializers.ModelField):
        return None
    if (
        type(field) is serializers.DateTimeField
        and settings.USE_TZ
        and not hasattr(field, "timezone")
        and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() == ISO_8601
    ):
        # DRF looks the current time zone up (a context-local read) for every value; a row
        # renderer looks it up once.
        return attrgetter(field.source), _DATETIME
    return attrgetter(field.source), field.to_representation


def _iso(value, tz, field):
    if isinstance(value, str) or timezone.is_naive(value):
        return field.to_representation(value)  # DRF's own path (naive values, odd inputs)
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class FastReadMixin:
    # True on a serializer whose fields do not depend on its context (no fields added or dropped
    # per request): the plan is then made once per class, sparing DRF's per-instance deep copy
    # of the declared fields, and kept only when every field has a plan (nothing reads context).
    fast_read_static = False

    def _read_plan(self):
        plan = self.__dict__.get("_fast_read_plan")
        if plan is None:
            cls = type(self)
            plan = cls.__dict__.get("_fast_read_class_plan") if self.fast_read_static else None
            if plan is None:
                plan = [(field.field_name, field, _plan(field)) for field in self._readable_fields]
                if self.fast_read_static and all(planned is not None for _, _, planned in plan):
                    cls._fast_read_class_plan = plan
            self._fast_read_plan = plan
        return plan

    def to_representation(self, instance):
        row = {}
        tz = None
        for name, field, planned in self._read_plan():
            if planned is None:
                try:
                    attribute = field.get_attribute(instance)
                except SkipField:
                    continue
                check = attribute.pk if isinstance(attribute, relations.PKOnlyObject) else attribute
                row[name] = None if check is None else field.to_representation(attribute)
                continue
            get, render = planned
            value = get(instance)
            if value is None or render is None:
                row[name] = value
            elif render is _DATETIME:
                if tz is None:
                    tz = timezone.get_current_timezone()
                row[name] = _iso(value, tz, field) if value else None
            else:
                row[name] = render(value)
        return row


class QueryParamsSerializer(serializers.Serializer):
    """Query parameters: DRF takes a blank one for an absent one, but the schema says blank is
    invalid (a date, a choice), so a blank parameter is a 400 naming it."""

    def to_internal_value(self, data):
        blank = {name: ["Blank: leave the parameter out instead."] for name in self.fields if data.get(name) == ""}
        if blank:
            raise serializers.ValidationError(blank, code="blank")
        return super().to_internal_value(data)
