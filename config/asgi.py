"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import gc
import os
import resource

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.embedded")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402

if settings.CELERY_TASK_ALWAYS_EAGER:
    # The embedded profile has no Celery beat: a thread in this process closes auctions on time,
    # runs the settlement, delivery and analytics beats and, with DEMO_LEADS, the demo seller's submissions.
    from analytics.clock import analytics_tick  # noqa: E402
    from auctions.clock import start_embedded_sweeper  # noqa: E402
    from escrow.clock import settlement_tick  # noqa: E402
    from integrations.clock import delivery_tick  # noqa: E402
    from leads.demo import demo_lead_tick  # noqa: E402

    start_embedded_sweeper(ticks=(settlement_tick, delivery_tick, demo_lead_tick, analytics_tick))

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.websocket_auth import ApiKeyWebsocketMiddleware  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402

# Thousands of long-lived sockets make Python's cyclic garbage collector walk a large heap
# often: its pauses, not our code, dominated delivery latency at 10,000 sockets. Objects that
# exist after start-up are frozen out of collection and the young generation is collected less
# often (ASGI_GC_THRESHOLD, "0" keeps Python's defaults; docs/operations.md "Live updates").
_gc_threshold = settings.ASGI_GC_THRESHOLD
if _gc_threshold:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_gc_threshold)

# Every socket is a file descriptor: take all the service manager allows (the hard limit; systemd
# LimitNOFILE=, docker --ulimit nofile=; docs/operations.md "Live updates", file limits).
_nofile_soft, _nofile_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _nofile_soft != _nofile_hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_nofile_hard, _nofile_hard))

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(ApiKeyWebsocketMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
