"""Thin dispute tasks: ids in, one service call. Routes: config/queues.py."""

from django.core.exceptions import ValidationError

from chain.client import ChainUnavailable
from config.celery import app
from core.pipeline import PipelineTask, TransientError
from escrow.services.disputes import dispute_outcome_apply


def dispute_apply_queue(sender, *, dispute_id: int, **kwargs) -> None:
    """escrow.signals.dispute_refund_decided (sent on commit): queue the refund."""
    dispute_apply.delay(dispute_id=dispute_id)


@app.task(name="escrow.dispute_apply", base=PipelineTask)
def dispute_apply(*, dispute_id: int) -> str:
    """Move a decided dispute's refund (idempotent; escrow.advance finishes what this starts and
    retries what could not start yet, e.g. a deal still minting)."""
    try:
        return dispute_outcome_apply(dispute_id=dispute_id)
    except ChainUnavailable as exc:
        raise TransientError(f"chain unavailable: {exc}") from exc
    except ValidationError:
        return "waiting"
