"""Thin tasks for the lead stages: ids in, one service call."""

from config.celery import app
from core.pipeline import PipelineTask


@app.task(name="leads.score_lead", base=PipelineTask)
def score_lead(*, lead_id: int) -> int | None:
    from leads.services import lead_score

    lead = lead_score(lead_id=lead_id)
    return lead.quality_score if lead else None


class ImportTask(PipelineTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Dead-lettered after its retries (e.g. the database kept timing out): the seller sees
        the import as failed instead of "importing" forever."""
        super().on_failure(exc, task_id, args, kwargs, einfo)
        from leads.imports import csv_import_mark_failed

        if (kwargs or {}).get("csv_import_id"):
            try:
                csv_import_mark_failed(csv_import_id=kwargs["csv_import_id"])
            except Exception:  # noqa: BLE001 - the database may be what failed; the dead letter is recorded
                pass


@app.task(name="leads.import_csv", base=ImportTask)
def import_csv(*, csv_import_id: int) -> None:
    from leads.imports import csv_import_run

    csv_import_run(csv_import_id=csv_import_id)
