"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.embedded")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

if settings.CELERY_TASK_ALWAYS_EAGER:
    # The embedded profile has no Celery beat: a thread in this process closes auctions on time.
    from auctions.clock import start_embedded_sweeper  # noqa: E402

    start_embedded_sweeper()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from marketplace.consumers_auth import ApiKeyWebsocketMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(ApiKeyWebsocketMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
