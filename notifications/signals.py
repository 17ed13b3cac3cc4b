"""Signals services send so that tasks (which import the services) can be queued without a cycle."""

from django.dispatch import Signal

# Sent on commit with notification_id: an email for it is due (notifications.tasks queues it).
notification_email_due = Signal()
