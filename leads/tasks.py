"""Thin tasks for the lead stages: ids in, one service call. The services announce (leads.signals)
and the receivers below queue the tasks (connected in leads/apps.py)."""

from config.celery import app
from core.pipeline import PipelineTask
from leads.adplatforms.processing import ad_event_process
from leads.imports import csv_import_mark_failed, csv_import_run
from leads.seller_reputation import seller_reputation_refresh
from leads.services import lead_score


def score_lead_queue(*, lead_id: int, **kwargs) -> None:
    """leads.signals.lead_received (sent on commit): the leads.score stage."""
    score_lead.delay(lead_id=lead_id)


def score_leads_queue(*, lead_ids: list[int], **kwargs) -> None:
    """leads.signals.leads_received (a bulk batch, sent on commit): one message for the batch."""
    score_leads.delay(lead_ids=lead_ids)


def import_csv_queue(*, csv_import_id: int, **kwargs) -> None:
    """leads.signals.csv_import_confirmed (sent on commit): the import stage."""
    import_csv.delay(csv_import_id=csv_import_id)


@app.task(name="leads.score_lead", base=PipelineTask)
def score_lead(*, lead_id: int) -> int | None:
    lead = lead_score(lead_id=lead_id, list_now=True)
    return lead.quality_score if lead else None


@app.task(name="leads.score_leads", base=PipelineTask)
def score_leads(*, lead_ids: list[int]) -> None:
    """Fan a bulk batch out into the leads.score stage, a task per lead (each with its own retries
    and dead letter). Run twice, it queues a lead twice: lead_score scores a lead once."""
    for lead_id in lead_ids:
        score_lead.delay(lead_id=lead_id)


class ImportTask(PipelineTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Dead-lettered after its retries (e.g. the database kept timing out): the seller sees
        the import as failed instead of "importing" forever."""
        super().on_failure(exc, task_id, args, kwargs, einfo)
        if (kwargs or {}).get("csv_import_id"):
            try:
                csv_import_mark_failed(csv_import_id=kwargs["csv_import_id"])
            except Exception:  # noqa: BLE001 - the database may be what failed; the dead letter is recorded
                pass


@app.task(name="leads.import_csv", base=ImportTask)
def import_csv(*, csv_import_id: int) -> None:
    csv_import_run(csv_import_id=csv_import_id)


@app.task(name="leads.refresh_seller_reputation", base=PipelineTask)
def refresh_seller_reputation() -> int:
    """The daily beat: scores whose tenure points grew with time alone (idempotent)."""
    return seller_reputation_refresh()


def process_ad_event_queue(*, event_id: int, **kwargs) -> None:
    """leads.signals.ad_event_received (sent on commit): the event's processing on leads.ingest."""
    process_ad_event.delay(event_id=event_id)


@app.task(name="leads.process_ad_event", base=PipelineTask)
def process_ad_event(*, event_id: int) -> str | None:
    event = ad_event_process(event_id=event_id)
    return event.status if event else None
