"""Thin tasks on the `notify` queue: ids in, one service call."""

from config.celery import app
from core.pipeline import PipelineTask
from notifications import services


@app.task(name="notify.send_email", base=PipelineTask)
def send_notification_email(*, notification_id: int) -> bool:
    return services.notification_email_send(notification_id=notification_id)


def notification_email_queue(*, notification_id: int, **kwargs) -> None:
    """notifications.signals.notification_email_due (sent on commit): queue the email."""
    send_notification_email.delay(notification_id=notification_id)


@app.task(name="notify.send_digests", base=PipelineTask)
def send_digests() -> int:
    return services.digest_send_due()
