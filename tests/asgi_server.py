"""A real web server in a child process — one of the Procfile's: `ws` (uvicorn, ASGI: WebSockets
and, for a single-port setup, HTTP too) or `web` (gunicorn, WSGI: HTTP) — on the test settings and
the test database, for tests that need the HTTP or socket path end to end across processes.

The tests that use it must be `django_db(transaction=True)`: the server has its own connection and
sees only committed rows.
"""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AsgiServer:
    """Starts the Procfile's `process` line on `port` (a free one if not given) and returns once it
    accepts connections."""

    def __init__(
        self,
        database_name: str,
        log_path: Path,
        port: int | None = None,
        env: dict | None = None,
        process: str = "ws",
    ):
        self.port = port or free_port()
        self.process_name = process
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": database_name,
            **(env or {}),
        }
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            # One ws process per server: the tests start several servers on 2 shared cores.
            self.command(self.port, process, {"WS_WORKERS": "1", **(env or {})}),
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._up, timeout=60, interval=0.2, message=f"the web server on {self.port}")

    @staticmethod
    def command(port: int, process: str = "ws", env: dict | None = None) -> list[str]:
        """The Procfile's `process` line, bound to localhost on `port` (other ${VAR:-default}s from
        `env`, else at their defaults)."""
        line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith(f"{process}:"))
        line = re.sub(r"\$\{(WS_)?PORT:-\d+\}", str(port), line.removeprefix(f"{process}:"))
        line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: (env or {}).get(m[1], m[2]), line)
        line = line.replace("0.0.0.0", "127.0.0.1")
        return [sys.executable, "-m", *line.split()]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the web server exited: {self.log.name}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        self.log.close()
