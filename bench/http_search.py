"""Search as people type it, measured over HTTP through `rapport serve`.

    python bench/http_search.py [--contacts 1000000] [--engine postgresql|sqlite|both]
                                [--requests 300] [--workers 2]

bench/run.py measures in-process, with fragments sampled from the data. This one starts
the real server (`rapport serve`: gunicorn, WhiteNoise, the WSGI garbage-collector
tuning) on the benchmark database that bench/run.py loads, and sends it the short,
common fragments people type into a search box — a name start, a particle, an
apostrophe, a mail domain, a top-level domain, a company form, a dialling code, an area
code, a number part, a city. Requests go one at a time over one kept-alive connection
with a bearer token, `GET /api/v1/contacts?q=…` (the first page of 25, as the list and
the API show it); the time is from sending the request to reading the whole body.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from run import BENCH_DIR, RESULTS_DIR, database_url, percentile  # noqa: E402

# (kind, what is typed). Each is its own kind: the slow ones differ by what they are.
FRAGMENTS = (
    ("name start", "smi"),
    ("name with particle", "van d"),
    ("apostrophe", "o'br"),
    ("mail domain", "@gmail"),
    ("top-level domain", ".org"),
    ("company form", "inc"),
    ("company form, German", "gmbh"),
    ("dialling code", "+44 20"),
    ("area code", "(212)"),
    ("number part", "555"),
    ("city", "berlin"),
)
TARGET_P95_MS = 50
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bearer_token(env: dict[str, str]) -> str:
    """A fresh API token of the benchmark's admin user (made by bench/run.py's load)."""
    code = (
        "import django; django.setup()\n"
        "from rapport.access.models import User\n"
        "from rapport.access.services import token_create\n"
        "user, _ = User.objects.get_or_create(username='bench', "
        "defaults={'role': User.Role.ADMIN})\n"
        "print(token_create(user=user, name='http bench')[1])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(BIN / "rapport"), "serve", "--no-worker", "--port", str(port)]
        + ["--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"rapport serve exited with {server.returncode}") from None
            time.sleep(0.3)
    stop_server(server)
    raise RuntimeError("rapport serve did not start listening within 120 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def measure(port: int, token: str, requests: int, seed: int = 7) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Host": "localhost"}

    def get(text: str) -> tuple[float, int]:
        path = "/api/v1/contacts?" + urlencode({"q": text})
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        ms = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {body[:300]!r}")
        return ms, len(json.loads(body)["items"])

    for _ in range(2):  # warm the workers, their caches and the database's buffers
        for _, text in FRAGMENTS:
            get(text)
    order = [FRAGMENTS[i % len(FRAGMENTS)] for i in range(requests)]
    random.Random(seed).shuffle(order)
    timings: dict[str, list[float]] = {kind: [] for kind, _ in FRAGMENTS}
    found: dict[str, int] = {}
    for kind, text in order:
        ms, items = get(text)
        timings[kind].append(ms)
        found[kind] = items
    connection.close()
    every = [ms for values in timings.values() for ms in values]
    results = {
        kind: {
            "typed": dict(FRAGMENTS)[kind],
            "n": len(ms),
            "p50": round(statistics.median(ms), 1),
            "p95": round(percentile(ms, 95), 1),
            "max": round(max(ms), 1),
            "rows": found[kind],
        }
        for kind, ms in timings.items()
    }
    results["all"] = {
        "typed": "",
        "n": len(every),
        "p50": round(statistics.median(every), 1),
        "p95": round(percentile(every, 95), 1),
        "max": round(max(every), 1),
        "rows": 0,
    }
    return results


def run_engine(engine: str, contacts: int, requests: int, workers: int) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": database_url(engine, contacts)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    if engine == "sqlite" and not (BENCH_DIR / f"rapport-{contacts}.sqlite3").exists():
        raise SystemExit(
            f"No benchmark database: run bench/run.py --load-only --contacts {contacts}"
        )
    token = bearer_token(env)
    port = free_port()
    server = start_server(env, port, workers)
    try:
        results = measure(port, token, requests)
    finally:
        stop_server(server)
    load = os.getloadavg()
    return {"engine": engine, "contacts": contacts, "load": load, "results": results}


def report(runs: list[dict[str, Any]]) -> str:
    lines = []
    for run in runs:
        load = ", ".join(f"{x:.1f}" for x in run["load"])
        lines.append(
            f"\n{run['engine']}: {run['contacts']:,} contacts, over HTTP (load average {load})"
        )
        lines.append(f"  {'kind':<24}{'typed':<10}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}  p95")
        for kind, row in run["results"].items():
            mark = "ok" if row["p95"] < TARGET_P95_MS else "MISSED"
            lines.append(
                f"  {kind:<24}{row['typed']:<10}{row['p50']:>8.1f}{row['p95']:>8.1f}"
                f"{row['max']:>8.1f}  <{TARGET_P95_MS} {mark}"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    engines = ["postgresql", "sqlite"] if args.engine == "both" else [args.engine]
    runs = []
    for engine in engines:
        print(f"Serving {engine} with {args.contacts:,} contacts…", file=sys.stderr)
        runs.append(run_engine(engine, args.contacts, args.requests, args.workers))
    print(report(runs))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"{stamp}-{args.contacts}-http.json").write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
