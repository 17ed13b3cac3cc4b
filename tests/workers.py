"""A real Celery worker process for integration tests, on the suite's test database."""

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from config.celery import app
from config.queues import CELERY_TASK_QUEUES

ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    def __init__(
        self,
        database_name: str,
        log_dir: Path,
        concurrency: int = 2,
        extra_env: dict | None = None,
        control_app=None,
        queues: list[str] | None = None,
    ):
        self.control_app = control_app or app
        self.queues = queues
        self.database_name = database_name
        self.name = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = log_dir / f"{self.name.split('@')[0]}.log"
        self.concurrency = concurrency
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_NAME": self.database_name,
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        }
        queues = ",".join(self.queues or [q.name for q in CELERY_TASK_QUEUES])
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queues,
                "-c",
                str(self.concurrency),
                "-P",
                "prefork",
                "-n",
                self.name,
                "--without-mingle",
                "--without-gossip",
                "-I",
                "tests.pipeline_tasks",
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        from tests.conftest import wait_for

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            return self.control_app.control.ping(destination=[self.name], timeout=1.0)

        wait_for(ready, timeout=timeout, interval=0.2, message=f"worker {self.name} to answer ping")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def json_lines(self) -> list[dict]:
        lines = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return lines
