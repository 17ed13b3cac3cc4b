"""Reads of the pipeline's records."""

from django.db.models import QuerySet

from core.choices import DeadLetterStatus
from core.models import DeadLetter


def dead_letter_list(*, status: str | None = DeadLetterStatus.PENDING) -> QuerySet:
    qs = DeadLetter.objects.all()
    return qs.filter(status=status) if status else qs
