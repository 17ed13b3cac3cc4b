"""A JSON-RPC proxy in front of the test node that can hold calls: the node made as slow as a test
needs, without sleeping. `HoldingProxy(upstream).start()`; `hold(predicate)` makes every call whose
JSON body satisfies `predicate` wait (until `release()`); `held` is set once one is waiting."""

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HoldingProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream
        self.held = threading.Event()  # a call is waiting at the proxy
        self._gate = threading.Event()
        self._gate.set()
        self._predicate = None
        self.calls: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._maybe_hold(body)
                request = urllib.request.Request(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=60) as answer:
                    payload = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _maybe_hold(self, body: bytes) -> None:
        try:
            message = json.loads(body)
        except ValueError:
            return
        calls = message if isinstance(message, list) else [message]
        self.calls += [c.get("method", "?") for c in calls if isinstance(c, dict)]
        predicate = self._predicate
        if predicate is not None and any(isinstance(c, dict) and predicate(c) for c in calls):
            self.held.set()
            self._gate.wait(timeout=120)

    def hold(self, predicate) -> None:
        self.held.clear()
        self._predicate = predicate
        self._gate.clear()

    def release(self) -> None:
        self._predicate = None
        self._gate.set()

    def start(self) -> "HoldingProxy":
        threading.Thread(target=self._server.serve_forever, name="rpc-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
