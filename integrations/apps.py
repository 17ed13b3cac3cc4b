from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (lead delivery)"

    def ready(self) -> None:
        # Escrow says when a purchase's contact details became readable (escrow.signals); it
        # imports nothing of ours.
        from escrow.signals import purchase_ready
        from integrations.tasks import on_purchase_ready

        purchase_ready.connect(on_purchase_ready, dispatch_uid="integrations.deliver_on_ready")
