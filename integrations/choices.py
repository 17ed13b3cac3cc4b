from django.db import models


class DestinationKind(models.TextChoices):
    WEBHOOK = "webhook", "HTTPS webhook (signed JSON)"
    EMAIL = "email", "Email"
    CRM = "crm", "CRM (field mapping)"


class DestinationScope(models.TextChoices):
    ALL = "all", "Every purchase"
    VERTICAL = "vertical", "Purchases in one vertical"
    RULE = "rule", "Purchases won by one autobid rule"


class CrmPreset(models.TextChoices):
    FORM = "form", "Generic form POST"
    HUBSPOT = "hubspot", "HubSpot contact create"
    SALESFORCE = "salesforce", "Salesforce Web-to-Lead"


class BodyFormat(models.TextChoices):
    FORM = "form", "Form-encoded (application/x-www-form-urlencoded)"
    JSON = "json", "JSON"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Waiting to retry"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead-lettered (gave up)"
    CANCELLED = "cancelled", "Cancelled"


OPEN_DELIVERY_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.RETRYING)


class AttemptOutcome(models.TextChoices):
    SENDING = "sending", "Sending (no answer recorded yet)"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    REFUSED = "refused", "Refused before sending (address or URL not allowed)"
    INTERRUPTED = "interrupted", "Interrupted (the worker stopped mid-send; outcome unknown)"
