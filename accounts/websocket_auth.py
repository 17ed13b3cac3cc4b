"""WebSocket authentication by API key (`?api_key=` is not accepted: keys stay out of URLs).

Integrators send `Authorization: Api-Key <key>` on the upgrade request; browsers use their
session through AuthMiddlewareStack.
"""

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware

from accounts.services import api_key_authenticate


@database_sync_to_async
def _user_for_key(raw: str):
    api_key = api_key_authenticate(raw=raw)
    return (api_key.user, api_key) if api_key else (None, None)


class ApiKeyWebsocketMiddleware(BaseMiddleware):
    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.startswith("Api-Key "):
            user, api_key = await _user_for_key(auth.removeprefix("Api-Key ").strip())
            if user is not None:
                scope = dict(scope, user=user, api_key=api_key)
        return await super().__call__(scope, receive, send)
