"""`make fuzz`: schemathesis over the whole OpenAPI document against a live `rapport serve`.

Makes a fresh installation in a temporary folder (SQLite, a little demo data, an admin
API token), serves it, and runs schemathesis with the checks that matter to clients: no
5xx, and every response matches the documented status codes' schemas and media types.
Prints schemathesis' summary; the exit status is schemathesis'. Options after `--` go to
`schemathesis run` (for example `-- --max-examples 100`).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The server did not answer {url} within {seconds:.0f} s.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=60, help="Cases per operation.")
    parser.add_argument("--workers", default="2", help="Concurrent schemathesis workers.")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("extra", nargs="*", help="More options for `schemathesis run`.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rapport-fuzz-") as data_dir:
        env = {
            **os.environ,
            "RAPPORT_DATA_DIR": data_dir,
            "DATABASE_URL": f"sqlite:///{Path(data_dir) / 'fuzz.sqlite3'}",
            "RAPPORT_ADMIN_PASSWORD": secrets.token_urlsafe(16),
            "RAPPORT_TASKS_BACKEND": "database",
            # The fuzzer sends many requests from one address; nothing here is guessing.
            "RAPPORT_TOKEN_FAILURE_LIMIT": "1000000",
            "LOG_LEVEL": "ERROR",
        }
        rapport = str(BIN / "rapport")
        subprocess.run([rapport, "setup", "--no-demo"], env=env, check=True, capture_output=True)
        subprocess.run(
            [rapport, "demo", "--contacts", "60", "--organizations", "12", "--no-progress"],
            env=env,
            check=True,
            capture_output=True,
        )
        token = subprocess.run(
            [rapport, "token", "create", "admin", "--name", "fuzz"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            # Background jobs are queued and left: the fuzzer tests the requests.
            [rapport, "serve", "--port", str(port), "--workers", "2", "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(Path(data_dir) / "serve.log").open("w"),  # noqa: SIM115
        )
        try:
            _wait_until_up(f"{base}/healthz")
            command = [
                str(BIN / "schemathesis"),
                "run",
                f"{base}/api/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--max-examples",
                str(args.max_examples),
                "--workers",
                args.workers,
                "--phases",
                "examples,coverage,fuzzing",
                "--continue-on-failure",
                "--request-timeout",
                "30",
                "--suppress-health-check",
                "all",
                *(["--seed", str(args.seed)] if args.seed is not None else []),
                *args.extra,
            ]
            started = time.monotonic()
            result = subprocess.run(command, env=env, check=False)
            print(f"Fuzzing took {time.monotonic() - started:.0f} s.")
            server_errors = [
                line
                for line in (Path(data_dir) / "serve.log").read_text().splitlines()
                if line.startswith("Internal Server Error")
                or re.match(r"^[\w.]+(Error|Exception)\b", line)
            ]
            print(f"The server logged {len(server_errors)} error lines.")
            print("\n".join(server_errors[:50]))
            return result.returncode
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
