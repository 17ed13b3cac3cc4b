"""A local fake of Meta's Graph API (GET /<version>/<leadgen_id>?access_token=…) for development
and the tests: it serves the canned leads it was given and can be told to fail. Run it with
`manage.py fake_graph` (development) or start FakeGraphServer() in a test; point
LEADS_META_GRAPH_URL at its base_url.
"""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_PATH = re.compile(r"^/v[0-9.]+/([0-9]+)$")


class FakeGraphServer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, version: str = "v21.0"):
        self.leads: dict[str, dict] = {}
        self.tokens: set[str] = set()  # when not empty, only these access tokens are accepted
        self.fail_next = 0  # answer this many requests with a 500 first
        self.requests: list[str] = []  # the leadgen ids asked for, in order
        self.version = version
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                server._answer(self)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="fake-graph")

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/{self.version}"

    def add_lead(self, *, leadgen_id: str, field_data: list[dict], created_time: str, form_id: str = "") -> None:
        self.leads[leadgen_id] = {
            "id": leadgen_id,
            "created_time": created_time,
            "form_id": form_id,
            "field_data": field_data,
        }

    def start(self) -> "FakeGraphServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        match = _PATH.match(url.path)
        token = parse_qs(url.query).get("access_token", [""])[0]
        if match:
            self.requests.append(match.group(1))
        if self.fail_next > 0:
            self.fail_next -= 1
            return _send(handler, 500, _error("An unexpected error has occurred. Please retry your request later.", 2))
        if not token or (self.tokens and token not in self.tokens):
            return _send(handler, 400, _error("Invalid OAuth access token - Cannot parse access token", 190))
        if not match or match.group(1) not in self.leads:
            return _send(handler, 400, _error("Unsupported get request. Object does not exist.", 100))
        return _send(handler, 200, self.leads[match.group(1)])


def _error(message: str, code: int) -> dict:
    return {"error": {"message": message, "type": "GraphMethodException", "code": code}}


def _send(handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
