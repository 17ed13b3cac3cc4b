from django.db import models


class VerticalStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    INTEGER = "integer", "Integer"
    DECIMAL = "decimal", "Decimal"
    BOOLEAN = "boolean", "Yes / no"
    CHOICE = "choice", "One of a list"
    MULTI_CHOICE = "multi_choice", "Several of a list"
    DATE = "date", "Date"
    US_ZIP = "us_zip", "US ZIP code"


CHOICE_TYPES = {FieldType.CHOICE, FieldType.MULTI_CHOICE}
RANGE_TYPES = {FieldType.INTEGER, FieldType.DECIMAL}
