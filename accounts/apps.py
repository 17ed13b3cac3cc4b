from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from accounts import tasks
        from accounts.models import ApiKey, User
        from accounts.services import api_key_cache_invalidate
        from accounts.signals import email_verification_requested, user_signed_up

        user_signed_up.connect(tasks.welcome_email_queue, dispatch_uid="accounts.welcome_email")
        email_verification_requested.connect(tasks.verification_email_queue, dispatch_uid="accounts.verification_email")
        for model in (ApiKey, User):
            for signal in (post_save, post_delete):
                signal.connect(
                    api_key_cache_invalidate, sender=model, dispatch_uid=f"accounts.api_keys.{model.__name__}"
                )
