from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import tasks
        from notifications.signals import notification_email_due

        notification_email_due.connect(tasks.notification_email_queue, dispatch_uid="notifications.email")
