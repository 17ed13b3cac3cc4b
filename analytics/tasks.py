"""The analytics queue's tasks: thin wrappers over analytics.rollups."""

from analytics.rollups import rollups_refresh
from config.celery import app
from core.pipeline import PipelineTask


@app.task(name="analytics.refresh_rollups", base=PipelineTask)
def refresh_rollups() -> dict | None:
    """The beat (every ANALYTICS_REFRESH_SECONDS): recompute the rollup rows whose facts changed."""
    return rollups_refresh()
