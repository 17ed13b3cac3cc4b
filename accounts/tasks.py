"""Thin tasks: ids in, one service call."""

from accounts import services
from config.celery import app
from core.pipeline import PipelineTask


@app.task(name="notify.send_welcome_email", base=PipelineTask)
def send_welcome_email(*, user_id: int) -> bool:
    return services.user_welcome_email_send(user_id=user_id)


def welcome_email_queue(*, user_id: int, **kwargs) -> None:
    """accounts.signals.user_signed_up (sent on commit): queue the welcome email."""
    send_welcome_email.delay(user_id=user_id)


@app.task(name="notify.send_user_notice", base=PipelineTask)
def send_user_notice(*, user_id: int, subject: str, message: str) -> bool:
    return services.user_notice_send(user_id=user_id, subject=subject, message=message)


@app.task(name="notify.send_verification_email", base=PipelineTask)
def send_verification_email(*, user_id: int) -> bool:
    return services.user_verification_email_send(user_id=user_id)


def verification_email_queue(*, user_id: int, **kwargs) -> None:
    """accounts.signals.email_verification_requested (sent on commit): queue the email."""
    send_verification_email.delay(user_id=user_id)
