"""A lean WebSocket client for the live benchmark: thousands of sockets per process.

No Django here, and no WebSocket library: an asyncio Protocol per socket that speaks just enough
RFC 6455 (handshake, unmasked server frames, zero-masked client frames, pings). The client's own
cost per message is a few microseconds, so the figures measure the server, not the harness.

Run by bench/live.py in a child process: `client_main(spec, conn)`.
"""

import asyncio
import base64
import gc
import json
import os
import resource
import struct
import time

ZERO_MASK = b"\x00\x00\x00\x00"


def _frame(text: str, opcode: int = 1) -> bytes:
    data = text.encode()
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + ZERO_MASK + data  # a zero mask leaves the payload as it is


class LiveSocket(asyncio.Protocol):
    def __init__(self, client: "Client", host: str, port: int, key: str, verticals: list[str]):
        self.client, self.host, self.port, self.key, self.verticals = client, host, port, key, verticals
        self.buffer = b""
        self.upgraded = False
        self.transport = None
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        nonce = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET /ws/live/ HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://{self.host}:{self.port}\r\nAuthorization: Api-Key {self.key}\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc):
        self.client.lost += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before ready: {exc}"))

    def send_text(self, text: str) -> None:
        self.transport.write(_frame(text))

    def data_received(self, data: bytes):
        buf = self.buffer + data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.ready.set_exception(ConnectionError(buf[:end].decode(errors="replace")))
                self.transport.close()
                return
            self.upgraded = True
            buf = buf[end + 4 :]
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, start = b1 & 0x7F, pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, start = struct.unpack_from("!H", buf, pos + 2)[0], pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, start = struct.unpack_from("!Q", buf, pos + 2)[0], pos + 10
            if size < start + length:
                break
            self._frame(b0 & 0x0F, buf[start : start + length])
            pos = start + length
        self.buffer = buf[pos:]

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == 1:
            self.client.on_text(self, payload)
        elif opcode == 9:  # ping → pong
            self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + ZERO_MASK + payload)
        elif opcode == 8:
            self.transport.close()


class Client:
    def __init__(self, spec: dict):
        self.spec = spec
        self.samples: dict[int, list[float]] = {}  # event id → latencies (s)
        self.lost = 0
        self.errors: list[str] = []

    def on_text(self, sock: LiveSocket, payload: bytes) -> None:
        now = time.time()
        if b'"bench.event"' in payload:
            message = json.loads(payload)
            self.samples.setdefault(message["id"], []).append(now - message["t"])
        elif not sock.ready.done():
            message = json.loads(payload)
            if message["type"] == "hello":
                sock.send_text(json.dumps({"type": "subscribe", "verticals": sock.verticals}))
            elif message["type"] == "subscribed":
                if sorted(message["verticals"]) == sorted(sock.verticals):
                    sock.ready.set_result(True)
                else:
                    sock.ready.set_exception(ConnectionError(f"subscribed to {message['verticals']}"))

    async def open(self, sockets: list[dict], parallel: int = 100) -> list[LiveSocket]:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(parallel)

        async def one(s):
            async with gate:
                for attempt in range(3):
                    try:
                        _, sock = await loop.create_connection(
                            lambda: LiveSocket(self, s["host"], s["port"], s["key"], s["verticals"]),
                            s["host"],
                            s["port"],
                            local_addr=(s["source"], 0) if s.get("source") else None,
                        )
                        await asyncio.wait_for(sock.ready, 30)
                        return sock
                    except (TimeoutError, OSError, ConnectionError) as exc:
                        if attempt == 2:
                            self.errors.append(f"{type(exc).__name__}: {exc}")
                            return None
                        await asyncio.sleep(0.5)

        return [s for s in await asyncio.gather(*(one(s) for s in sockets)) if s is not None]


def client_main(conn) -> None:
    """Serve the bench's commands until {"stop"}: {"open": [socket specs]} opens more sockets and
    answers how many are ready (and per vertical); {"subscribe": slug} has every socket that is
    not in it yet join one more vertical; {"collect"} answers the samples so far and forgets them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # bench/live.py raised both for 50,000
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    client = Client({})

    async def main():
        loop = asyncio.get_running_loop()
        sockets: list[LiveSocket] = []
        while True:
            command = await loop.run_in_executor(None, conn.recv)
            if command.get("stop"):
                break
            if "open" in command:
                client.errors = []
                opened = await client.open(command["open"])
                sockets.extend(opened)
                per_vertical: dict[str, int] = {}
                for sock in opened:
                    for slug in sock.verticals:
                        per_vertical[slug] = per_vertical.get(slug, 0) + 1
                gc.freeze()  # the sockets live until the end: keep them out of the collector's walks
                conn.send({"ready": len(opened), "errors": client.errors[:5], "verticals": per_vertical})
            elif "subscribe" in command:  # join one more vertical on every socket not in it yet
                slug, joining = command["subscribe"], []
                for sock in sockets:
                    if slug not in sock.verticals:
                        sock.verticals = [*sock.verticals, slug]
                        sock.ready = loop.create_future()
                        sock.send_text(json.dumps({"type": "subscribe", "verticals": [slug]}))
                        joining.append(sock)
                done = await asyncio.gather(*(asyncio.wait_for(s.ready, 120) for s in joining), return_exceptions=True)
                in_group = sum(1 for s in sockets if slug in s.verticals) - sum(1 for d in done if d is not True)
                conn.send({"subscribed": in_group})
            elif command.get("collect"):
                samples, client.samples = client.samples, {}
                conn.send({"samples": samples, "lost": client.lost})
        for sock in sockets:
            sock.transport.close()

    asyncio.run(main())
