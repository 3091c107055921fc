"""`rapport serve`: the web keeps serving when its background worker dies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live child processes of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode()
        except (OSError, IndexError):
            continue
        if stat[1] == str(pid) and stat[0] != "Z":
            found.append((int(entry.name), command))
    return found


def _workers(serve: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid, command in _children(serve.pid) if command.rstrip().endswith(" worker")]


def _wait(condition, seconds: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_that_dies_is_started_again_while_the_web_keeps_serving(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_TASKS_BACKEND": "database",
    }
    rapport = str(Path(sys.executable).parent / "rapport")
    subprocess.run(
        [rapport, "setup", "--no-demo"],
        env={**env, "RAPPORT_ADMIN_PASSWORD": "x" * 12},
        check=True,
        capture_output=True,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = subprocess.Popen(
        [rapport, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        first = _wait(lambda: _workers(serve))
        assert first, "serve should start a background worker"
        os.kill(first[0], signal.SIGKILL)
        again = _wait(lambda: [pid for pid in _workers(serve) if pid != first[0]])
        assert again, "the worker should be started again"

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        assert _wait(healthy)
        assert serve.poll() is None
    finally:
        serve.terminate()
        _, stderr = serve.communicate(timeout=60)
    assert b"The background worker stopped" in stderr
