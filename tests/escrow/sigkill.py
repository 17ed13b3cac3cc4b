"""Child worker processes for the SIGKILL tests: start one of this folder's *_child.py scripts
on the test database, wait for the marker it prints where it stops, and kill it there (a real
SIGKILL: its PostgreSQL session dies with whatever transaction it had open)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def child_start(script: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_NAME": connection.settings_dict["NAME"],
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name(script)), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def child_kill_at(child: subprocess.Popen, marker: str) -> None:
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.startswith(f"AT {marker}"):
            break
    else:
        child.wait(timeout=10)
        raise AssertionError("the child never reached " + marker + ":\n" + "".join(lines)[-3000:])
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
