from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        # Celery signal handlers: correlation ids, primary pinning, dead letters.
        from marketplace import pipeline  # noqa: F401
