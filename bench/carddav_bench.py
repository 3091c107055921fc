"""CardDAV sync speed: an address book of N contacts (default 10,000) served by
`rapport serve`, read the way clients read it.

    python bench/carddav_bench.py [--contacts 10000]      # a fresh temporary SQLite database
    DATABASE_URL=postgres://… python bench/carddav_bench.py --contacts 10000

- initial sync, as DAVx5 and iOS do it: ``sync-collection`` without a token (etags),
  then ``addressbook-multiget`` of every card, 100 hrefs a request;
- initial sync in one request: ``sync-collection`` with ``address-data``;
- incremental sync after 10 contacts changed in Rapport: ``sync-collection`` with the
  last token and ``address-data``;
- the same with vdirsyncer (installed by `make install-dev`), first and incremental.

Targets: initial ≤ 30 s, incremental with 10 changes ≤ 1 s. The server's peak memory
(RSS) is reported beside.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
CLIENT = ROOT / ".venv" / "dav-client" / "bin" / "vdirsyncer"
SYNC = (
    '<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
    "<d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level>"
    "<d:prop><d:getetag/>{}</d:prop></d:sync-collection>"
)
BOOK = "/dav/addressbooks/admin/contacts/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rapport(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "rapport"), *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"rapport {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


class Client:
    def __init__(self, port: int, password: str) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()

    def report(self, body: str, *, fresh: bool = False) -> bytes:
        if fresh:  # after a pause the server has closed the kept connection
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        self.conn.request(
            "REPORT",
            BOOK,
            body=body.encode(),
            headers={"Authorization": self.auth, "Depth": "1", "Content-Type": "application/xml"},
        )
        response = self.conn.getresponse()
        data = response.read()
        assert response.status == 207, (response.status, data[:300])
        return data

    def put(self, name: str, card: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(
            "PUT",
            f"/dav/addressbooks/admin/contacts/{name}",
            body=card.encode(),
            headers={
                "Authorization": self.auth,
                "Content-Type": "text/vcard",
                "If-None-Match": "*",
            },
        )
        response = conn.getresponse()
        response.read()
        conn.close()
        if response.status != 201:
            raise SystemExit(f"PUT {name}: {response.status}")


def token_of(data: bytes) -> str:
    return re.search(rb"<d:sync-token>([^<]+)</d:sync-token>", data).group(1).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    args = parser.parse_args()
    env = dict(os.environ)
    if "DATABASE_URL" not in env:
        env["RAPPORT_DATA_DIR"] = tempfile.mkdtemp(prefix="rapport-carddav-bench-")
    env["RAPPORT_ADMIN_PASSWORD"] = "Bench-Password-2026!"
    rapport(env, "setup", "--no-demo")
    rapport(env, "demo", "--contacts", str(args.contacts), "--organizations", "200")
    password = rapport(env, "carddav", "password", "create", "admin", "--name", "bench")
    port = free_port()
    env["WEB_CONCURRENCY"] = "1"
    server = subprocess.Popen(
        [str(BIN / "rapport"), "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        client = Client(port, password)
        started = time.perf_counter()
        listing = client.report(SYNC.format("", ""))
        hrefs = re.findall(rb"<d:href>([^<]+\.vcf)</d:href>", listing)
        for start in range(0, len(hrefs), 100):
            body = (
                '<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
                "<d:prop><d:getetag/><card:address-data/></d:prop>"
                + "".join(f"<d:href>{h.decode()}</d:href>" for h in hrefs[start : start + 100])
                + "</card:addressbook-multiget>"
            )
            client.report(body)
        first = time.perf_counter() - started
        print(
            f"initial sync, listing + multiget of {len(hrefs):,} cards (100 a request): {first:.1f} s"
        )

        started = time.perf_counter()
        whole = client.report(SYNC.format("", "<card:address-data/>"))
        print(
            f"initial sync in one sync-collection with address-data: "
            f"{time.perf_counter() - started:.1f} s ({len(whole) / 1e6:.1f} MB)"
        )
        token = token_of(whole)
        ids = rapport(env, "contacts", "list", "--limit", "40", "--json")
        changed = []
        for item in json.loads(ids)["items"]:
            try:
                rapport(env, "contacts", "update", str(item["id"]), "--job-title", "Changed")
            except SystemExit:  # a demo record the validation now refuses: take another
                continue
            changed.append(item["id"])
            if len(changed) == 10:
                break
        started = time.perf_counter()
        delta = client.report(SYNC.format(token, "<card:address-data/>"), fresh=True)
        print(
            f"incremental sync after {len(changed)} changes: {time.perf_counter() - started:.2f} s "
            f"({delta.count(b'<d:response>')} cards)"
        )
        token = token_of(delta)
        client.report(SYNC.format(token, ""))  # the first check after a change renders
        started = time.perf_counter()
        quiet = client.report(SYNC.format(token, ""))
        print(
            f"a poll with nothing changed: {(time.perf_counter() - started) * 1000:.0f} ms "
            f"({quiet.count(b'<d:response>')} cards)"
        )
        card = (
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bench-{n}\r\nFN:Bench Person {n}\r\n"
            "N:Person;Bench;;;\r\nTEL;TYPE=CELL:+44 20 7946 {n:04d}\r\nX-PHONE-ONLY:{n}\r\n"
            "END:VCARD\r\n"
        )
        started = time.perf_counter()
        for n in range(20):
            client.put(f"bench-{n}.vcf", card.format(n=n))
        print(
            f"a card written by a device (PUT, 20 in a row): "
            f"{(time.perf_counter() - started) / 20 * 1000:.0f} ms each"
        )
        if CLIENT.exists():
            folder = Path(tempfile.mkdtemp(prefix="rapport-carddav-client-"))
            config = folder / "config"
            config.write_text(
                f'[general]\nstatus_path = "{folder}/status/"\n\n'
                '[pair book]\na = "rapport"\nb = "local"\ncollections = ["from a"]\n'
                'conflict_resolution = "a wins"\npartial_sync = "ignore"\n\n'
                f'[storage rapport]\ntype = "carddav"\nurl = "http://127.0.0.1:{port}/"\n'
                f'username = "admin"\npassword = "{password}"\nread_only = true\n\n'
                f'[storage local]\ntype = "filesystem"\npath = "{folder}/cards/"\nfileext = ".vcf"\n'
            )
            run = [str(CLIENT), "-c", str(config)]
            subprocess.run(
                [*run, "discover"], input="y\n", capture_output=True, check=True, text=True
            )
            started = time.perf_counter()
            subprocess.run([*run, "sync"], capture_output=True, check=True)
            print(f"vdirsyncer, first sync: {time.perf_counter() - started:.1f} s")
            for pk in changed:
                rapport(env, "contacts", "update", str(pk), "--job-title", "Changed again")  # fmt: skip
            started = time.perf_counter()
            subprocess.run([*run, "sync"], capture_output=True, check=True)
            print(f"vdirsyncer, sync after 10 changes: {time.perf_counter() - started:.2f} s")
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        peak = 0
        for pid in [str(server.pid), *children]:
            path = Path(f"/proc/{pid}/status")
            if path.exists():
                match = re.search(r"VmHWM:\s+(\d+) kB", path.read_text())
                if match:
                    peak = max(peak, int(match.group(1)))
        print(f"server peak RSS (largest process): {peak / 1024:.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
