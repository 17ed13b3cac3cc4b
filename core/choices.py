from django.db import models


class DeadLetterStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    REPLAYED = "replayed", "Replayed"
    DISCARDED = "discarded", "Discarded"
