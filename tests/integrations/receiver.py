"""A real HTTP server the suite starts (a thread on a free port of 127.0.0.1) to deliver leads to.

The path says how it answers: /ok → 200; /fail/<n>/<key> → 500 for the first n requests of <key>,
then 200; /status/<code> → that code; /slow/<seconds> → 200 after sleeping; /hang/<key> → holds
the first request of <key> until release() (later ones 200); /redirect → 302 to /ok. Every
request is recorded with its headers, body and whether its signature checks with `secret`."""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    signature_ok: bool | None
    status: int = 0

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str | None = None
    echo: bool = False
    requests: list[Received] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def release(self) -> None:
        self._released.set()

    def to(self, path_prefix: str) -> list[Received]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def verify(self, header: str | None, body: bytes) -> bool | None:
        if self.secret is None or header is None:
            return None
        parts = dict(item.split("=", 1) for item in header.split(","))
        expected = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("v1", ""))

    def _count(self, key: str) -> int:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def answer(self, path: str) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        kind = parts[0]
        if kind == "fail":
            return (500 if self._count(path) <= int(parts[1]) else 200), {}
        if kind == "status":
            return int(parts[1]), {}
        if kind == "slow":
            time.sleep(float(parts[1]))
            return 200, {}
        if kind == "hang":
            if self._count(path) == 1:
                self._released.wait(120)
                return 200, {}
            return 200, {}
        if kind == "redirect":
            return 302, {"Location": self.url("/ok")}
        return 200, {}


def start_receiver(**kwargs) -> Receiver:
    receiver = Receiver(**kwargs)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            record = Received(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                signature_ok=receiver.verify(self.headers.get("LeadEngine-Signature"), body),
            )
            receiver.requests.append(record)
            status, headers = receiver.answer(self.path)
            record.status = status
            if receiver.echo:  # a careless receiver: the contact details back in its answer
                out = json.dumps({"saved": json.loads(body).get("contact")}).encode()
            else:
                out = json.dumps({"received": True}).encode()
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except OSError:
                pass  # the sender gave up (timeout) or died

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.server = server
    threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
    return receiver


def stop_receiver(receiver: Receiver) -> None:
    receiver.release()
    receiver.server.shutdown()
    receiver.server.server_close()
