from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from marketplace import tasks
        from marketplace.signals import user_signed_up

        user_signed_up.connect(tasks.welcome_email_queue, dispatch_uid="marketplace.welcome_email")
