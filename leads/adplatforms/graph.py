"""Meta's Graph API, for one thing: a lead by its leadgen_id.

The client is chosen by settings.LEADS_META_GRAPH_BACKEND (a dotted path) and talks to
settings.LEADS_META_GRAPH_URL: graph.facebook.com in production, the local fake Graph server
(leads.adplatforms.fake_graph) in development and the tests, so the same HTTP code runs in both.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from functools import lru_cache

from django.conf import settings
from django.utils.module_loading import import_string

MAX_RESPONSE_BYTES = 256 * 1024
_ID = frozenset("0123456789")


class GraphError(Exception):
    """The lead could not be fetched; the message says why in words (never a token or a value)."""


class HttpGraphClient:
    def __init__(self, *, base_url: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def lead_get(self, *, leadgen_id: str, access_token: str) -> dict:
        """The lead ({id, created_time, form_id, field_data: [{name, values}]}) or GraphError."""
        if not leadgen_id or not set(leadgen_id) <= _ID:
            raise GraphError("The leadgen_id is not a Graph object id.")
        query = urllib.parse.urlencode({"access_token": access_token})
        request = urllib.request.Request(
            f"{self.base_url}/{leadgen_id}?{query}", headers={"Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - https/http base from settings
                body = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise GraphError(f"Meta's Graph API answered {exc.code}: {_graph_message(exc)}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GraphError(f"Meta's Graph API could not be reached ({type(reason).__name__}).") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise GraphError("Meta's Graph API answered with an oversized body.")
        try:
            lead = json.loads(body)
        except ValueError:
            raise GraphError("Meta's Graph API answered with something that is not JSON.") from None
        if not isinstance(lead, dict) or not isinstance(lead.get("field_data"), list):
            raise GraphError("Meta's Graph API answered without the lead's field_data.")
        return lead


def _graph_message(exc: urllib.error.HTTPError) -> str:
    """Graph's own error message (it names the cause: an expired token, a missing permission)."""
    try:
        message = json.loads(exc.read(4096))["error"]["message"]
    except Exception:  # noqa: BLE001 - any other body: the status says enough
        return "no details."
    return str(message)[:200]


@lru_cache(maxsize=4)
def _client(backend: str, base_url: str, timeout: float):
    return import_string(backend)(base_url=base_url, timeout=timeout)


def graph_client():
    return _client(settings.LEADS_META_GRAPH_BACKEND, settings.LEADS_META_GRAPH_URL, settings.LEADS_META_GRAPH_TIMEOUT)
