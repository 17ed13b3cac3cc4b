from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import tasks
        from accounts.signals import user_signed_up

        user_signed_up.connect(tasks.welcome_email_queue, dispatch_uid="accounts.welcome_email")
