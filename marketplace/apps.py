from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from accounts.panels import account_panel_register
        from marketplace.views import first_run_panel

        account_panel_register(name="marketplace.first_run", render=first_run_panel)
