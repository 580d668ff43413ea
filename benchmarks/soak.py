"""Soak: mixed work against one ``loadbay serve`` for a while, then check nothing is stuck.

Opt-in, like the benchmarks (the test suite runs it for a few seconds only):

    .venv/bin/python -m benchmarks.soak --minutes 30              # SQLite, the default
    .venv/bin/python -m benchmarks.soak --minutes 30 --db postgres

Several clients take turns at: imports of small and big files (both import paths: the
big ones are over ``LOADBAY_SMALL_IMPORT_BYTES``), strict and lenient, with and without
bad cells; dry runs then started; cancels of running imports; reverts; bulk requests.
The server's resident memory (its process and its children) is sampled all along.

At the end it waits for the queue to drain and checks: every import is in a final state
(or ``validated``, a dry run nobody started), no scratch or stage file is left in the data
folder, and memory is flat (the mean of the last fifth of the samples against the mean of
the second fifth, after warm-up). It prints the figures and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.api.server import Server, base_env, database, start_server

from loadbay.service import states

FINAL = states.FINAL  # one list: a new final state (validation_failed) is known here too
LEFTOVER = ("*.scratch", "*.stage", "*.scratch-journal", "*.stage-journal")
#: memory is flat when the end's mean is within this factor of the early mean
FLAT = 1.25


@dataclass
class Tally:
    ops: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str) -> None:
        with self.lock:
            self.ops[name] += 1

    def fail(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)

    def track(self, import_id: str) -> None:
        with self.lock:
            self.ids.append(import_id)


def write_companies(path: Path, rows: int, seed: int, bad: int) -> None:
    """A companies CSV: ``rows`` rows, ``bad`` of them with a bad ``due_days``."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["name", "external_id", "default_currency", "description", "due_days"])
        bad_rows = set(rng.sample(range(rows), min(bad, rows)))
        for i in range(rows):
            days = "soon" if i in bad_rows else str(rng.randint(0, 90))
            out.writerow(
                [f"Soak {seed % 7} company {i:07d}", f"S{seed % 7}-{i}", "EUR", "x" * 40, days]
            )


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants (Linux /proc), KiB."""
    total = 0
    for proc in _tree(pid):
        try:
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _tree(pid: int) -> Iterator[int]:
    yield pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return
    for child in children:
        yield from _tree(int(child))


class Soak:
    def __init__(self, server: Server, files: dict[str, Path], seconds: float) -> None:
        self.server = server
        self.files = files
        self.until = time.monotonic() + seconds
        self.tally = Tally()

    def client(self, index: int) -> None:
        rng = random.Random(index)
        work = [self.import_file, self.dry_run_then_start, self.cancel, self.revert, self.bulk]
        with self.server.http() as http:
            while time.monotonic() < self.until:
                step = rng.choice(work)
                try:
                    step(http, rng)
                except Exception as exc:  # a soak records and goes on
                    self.tally.fail(f"{step.__name__}: {type(exc).__name__}: {exc}")
                    time.sleep(0.5)

    def _create(self, http: httpx.Client, rng: random.Random, **body: Any) -> dict[str, Any]:
        name = rng.choice(sorted(self.files))
        with open(self.files[name], "rb") as handle:
            form = {"table": "companies", **{k: str(v).lower() for k, v in body.items()}}
            answer = http.post("/v1/imports", data=form, files={"file": (name, handle)})
        if answer.status_code >= 500:
            raise AssertionError(f"POST /v1/imports answered {answer.status_code}: {answer.text}")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        self.tally.track(found["id"])
        return found

    def _settle(self, http: httpx.Client, import_id: str, seconds: float = 600) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            answer = http.get(f"/v1/imports/{import_id}")
            if answer.status_code >= 500:
                raise AssertionError(f"GET import answered {answer.status_code}: {answer.text}")
            found: dict[str, Any] = answer.json()
            if found["state"] in FINAL or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def import_file(self, http: httpx.Client, rng: random.Random) -> None:
        handling = rng.choice(["strict", "lenient"])
        found = self._create(http, rng, error_handling=handling)
        self._settle(http, found["id"])
        self.tally.count(f"import_{handling}")

    def dry_run_then_start(self, http: httpx.Client, rng: random.Random) -> None:
        found = self._settle(http, self._create(http, rng, dry_run=True)["id"])
        self.tally.count("dry_run")
        if found["state"] == "validated" and rng.random() < 0.5:
            answer = http.post(f"/v1/imports/{found['id']}/start")
            if answer.status_code >= 500:
                raise AssertionError(f"start answered {answer.status_code}")
            self._settle(http, found["id"])
            self.tally.count("start")

    def cancel(self, http: httpx.Client, rng: random.Random) -> None:
        found = self._create(http, rng, error_handling="lenient")
        time.sleep(rng.uniform(0.0, 1.5))
        answer = http.post(f"/v1/imports/{found['id']}/cancel")
        if answer.status_code >= 500:
            raise AssertionError(f"cancel answered {answer.status_code}: {answer.text}")
        self._settle(http, found["id"])
        self.tally.count(f"cancel_{answer.status_code}")

    def revert(self, http: httpx.Client, rng: random.Random) -> None:
        found = self._settle(http, self._create(http, rng, error_handling="lenient")["id"])
        answer = http.post(f"/v1/imports/{found['id']}/revert", json={"force": True})
        if answer.status_code >= 500:
            raise AssertionError(f"revert answered {answer.status_code}: {answer.text}")
        self.tally.count(f"revert_{answer.status_code}")

    def bulk(self, http: httpx.Client, rng: random.Random) -> None:
        base = rng.randint(0, 10_000)
        records = [
            {"name": f"Bulk company {base + i}", "due_days": rng.choice(["7", "x"])}
            for i in range(rng.randint(1, 100))
        ]
        answer = http.post("/v1/tables/companies/records/bulk", json={"records": records})
        if answer.status_code >= 500:
            raise AssertionError(f"bulk answered {answer.status_code}: {answer.text}")
        self.tally.count(f"bulk_{answer.status_code}")


def sample_memory(pid: int, stop: threading.Event, samples: list[int], every: float) -> None:
    while not stop.wait(every):
        samples.append(rss_kib(pid))


def flatness(samples: list[int]) -> tuple[float, float, float]:
    """(early mean MiB, late mean MiB, late / early): early is the second fifth of the
    samples (after warm-up), late the last fifth."""
    if len(samples) < 5:
        return 0.0, 0.0, 1.0
    fifth = len(samples) // 5
    early = sum(samples[fifth : 2 * fifth]) / fifth / 1024
    late = sum(samples[-fifth:]) / fifth / 1024
    return early, late, late / early if early else 1.0


def state_of(http: httpx.Client, import_id: str) -> str:
    """The import's state, or what the server answered instead."""
    try:
        answer = http.get(f"/v1/imports/{import_id}")
    except httpx.HTTPError as exc:
        return f"no answer: {type(exc).__name__}: {exc}"
    if answer.status_code != 200:
        return f"HTTP {answer.status_code}: {answer.text[:200]}"
    return str(answer.json()["state"])


def check_end(server: Server, tally: Tally, data_dir: Path) -> list[str]:
    """What is wrong once the work has drained: stuck imports, files left over."""
    problems: list[str] = []
    with server.http() as http:
        deadline = time.monotonic() + 300
        pending = list(dict.fromkeys(tally.ids))
        while pending and time.monotonic() < deadline:
            states = {i: state_of(http, i) for i in pending}
            pending = [i for i, s in states.items() if s not in FINAL]
            if pending:
                time.sleep(1)
        for import_id in pending:
            problems.append(f"import {import_id} is stuck: {state_of(http, import_id)}")
    for pattern in LEFTOVER:
        for path in data_dir.rglob(pattern):
            problems.append(f"left over: {path.name} ({path.stat().st_size:,} bytes)")
    return problems


@contextmanager
def soak_server(kind: str, folder: Path, small_bytes: int) -> Iterator[Server]:
    with database(kind, folder) as url:
        env = base_env(
            folder / "data",
            url,
            LOADBAY_SMALL_IMPORT_BYTES=str(small_bytes),
            LOADBAY_CHUNK_SIZE="5000",
            LOADBAY_LEASE_SECONDS="6",
        )
        env.pop("LOADBAY_SCHEMA", None)
        server = start_server(env, log=folder / "server.log")
        try:
            yield server
        finally:
            server.process.stop()


def run(kind: str, seconds: float, clients: int, big_rows: int, folder: Path) -> dict[str, Any]:
    files = {}
    for name, rows, bad in (("small.csv", 200, 0), ("small-bad.csv", 200, 3)):
        files[name] = folder / name
        write_companies(files[name], rows, len(files), bad)
    for name, bad in (("big.csv", 0), ("big-bad.csv", 5)):
        files[name] = folder / name
        write_companies(files[name], big_rows, len(files), bad)
    small_bytes = files["small.csv"].stat().st_size * 4  # the big files take the big path
    with soak_server(kind, folder, small_bytes) as server:
        soak = Soak(server, files, seconds)
        samples: list[int] = []
        stop = threading.Event()
        sampler = threading.Thread(
            target=sample_memory,
            args=(server.process.proc.pid, stop, samples, max(seconds / 200, 0.5)),
            daemon=True,
        )
        sampler.start()
        started = time.monotonic()
        threads = [threading.Thread(target=soak.client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        problems = check_end(server, soak.tally, Path(server.env["LOADBAY_DATA_DIR"]))
        stop.set()
        sampler.join()
        alive = server.process.proc.poll() is None
    early, late, ratio = flatness(samples)
    if not alive:
        problems.append("the server stopped during the soak")
    if ratio > FLAT:
        problems.append(f"memory grew {ratio:.2f}x ({early:.0f} → {late:.0f} MiB)")
    return {
        "db": kind,
        "seconds": round(time.monotonic() - started, 1),
        "operations": dict(sorted(soak.tally.ops.items())),
        "imports": len(set(soak.tally.ids)),
        "client_errors": soak.tally.errors[:20],
        "client_error_count": len(soak.tally.errors),
        "rss_mib": {
            "early": round(early),
            "late": round(late),
            "ratio": round(ratio, 2),
            "max": round(max(samples, default=0) / 1024),
        },
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--big-rows", type=int, default=30_000, help="rows of the big files")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="loadbay-soak-"))
    try:
        report = run(args.db, args.minutes * 60, args.clients, args.big_rows, folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))
    failed = report["problems"] or report["client_error_count"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
