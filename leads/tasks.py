"""Thin tasks for the lead stages: ids in, one service call."""

from config.celery import app
from marketplace.pipeline import PipelineTask


@app.task(name="leads.score_lead", base=PipelineTask)
def score_lead(*, lead_id: int) -> int | None:
    from leads.services import lead_score

    lead = lead_score(lead_id=lead_id)
    return lead.quality_score if lead else None


@app.task(name="leads.import_csv", base=PipelineTask)
def import_csv(*, csv_import_id: int) -> None:
    from leads.imports import csv_import_run

    csv_import_run(csv_import_id=csv_import_id)
