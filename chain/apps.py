from django.apps import AppConfig


class ChainConfig(AppConfig):
    name = "chain"

    def ready(self):
        # /healthz reports the node; readiness does not depend on it (settlement retries while the
        # node is away, and the marketplace keeps serving meanwhile).
        from django.conf import settings

        from chain.client import chain_health
        from core.health import health_check_register

        health_check_register(
            name="chain",
            check=chain_health,
            required=False,
            enabled=lambda: bool(settings.CHAIN_RPC_URL and settings.CHAIN_HEALTHCHECK),
        )
