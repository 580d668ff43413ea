"""(f) The synchronous bulk endpoint, timed from a client: a real ``loadbay serve``.

Issue #4 asks for "a synchronous bulk request of 100 records answered in under 50 ms at
the median". ``measure`` starts ``python -m loadbay serve`` (uvicorn, embedded workers,
the defaults a user gets; only the rate limit is off) on a free loopback port over a
database that already holds the companies and people of a tenant of its own
(``own_tenant``), makes that tenant a write token through the service layer, and sends
``POST /v1/tables/projects/records/bulk`` with httpx, one request after the other: the
first ``warmup`` are not counted, the rest are.

The requests come in pairs (values from ``benchmarks.generate``, references by name to
the loaded companies and people): the first of a pair upserts ``size`` new projects
(``created``), the second the same projects with about 30 % of them changed (``updated``
and ``unchanged``), as a client syncing its records would. Bodies are serialised before
the timing; a request's time is from sending it to having read the whole answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from benchmarks import generate
from benchmarks.databases import Database
from benchmarks.harness import TABLE
from loadbay.service import auth
from loadbay.service.context import open_context

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT = f"/v1/tables/{TABLE}/records/bulk"
REQUESTS = 200  # timed requests
SIZE = 100  # records per request (LOADBAY_BULK_MAX)
WARMUP = 20  # requests sent first and not counted
#: the first project index of the records sent (far from the benchmark files' projects)
FIRST_PROJECT = 9_000_000
STARTUP_TRIES = 1_200  # /healthz polls, 50 ms apart, before the server counts as broken


def request_frames(count: int, size: int = SIZE) -> list[pl.DataFrame]:
    """The records of ``count`` requests in sending order, as the table's columns spell
    them: pairs of new projects, then the same projects with ~30 % changed."""
    companies = generate.companies_frame()
    emails = generate.people_frame(companies)["email"]
    frames: list[pl.DataFrame] = []
    for pair in range((count + 1) // 2):
        lo = FIRST_PROJECT + pair * size
        fresh = generate.projects_typed(lo, lo + size)
        changed = generate.change(fresh, salt=101, notes=True)
        for typed in (fresh, changed)[: count - len(frames)]:
            frames.append(generate.render(typed, companies["name"], emails))
    return frames


def body(frame: pl.DataFrame) -> bytes:
    return json.dumps({"mode": "upsert", "records": frame.to_dicts()}).encode("utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(db: Database) -> dict[str, str]:
    """This environment without LOADBAY_* settings, plus the database and no rate limit
    (600 requests a minute per tenant would throttle the benchmark, not measure it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env.update(
        LOADBAY_DATA_DIR=str(db.data_dir),
        LOADBAY_DATABASE_URL=db.url,
        LOADBAY_RATE_LIMIT="0",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextlib.contextmanager
def served(db: Database, log: Path) -> Iterator[str]:
    """``loadbay serve`` on ``db``; yields its base URL once /healthz answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loadbay", "serve", "--port", str(port)],
            env=server_env(db),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(proc, url, log)
        yield url
    finally:
        _stop(proc)


def _wait_until_up(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    for _ in range(STARTUP_TRIES):
        if proc.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"loadbay serve did not start on {url}:\n{tail}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def own_tenant() -> str:
    """A new tenant name for (f): PostgreSQL's advisory locks of an import (one per tenant
    and table) are server-wide, whatever the schema, so with the usual ``default`` an
    import of another benchmark run on the same server would stall the requests for its
    whole length."""
    return f"bulk-{uuid.uuid4().hex[:8]}"


def write_token(db: Database, tenant: str) -> str:
    ctx = open_context(db.settings(tenant))
    try:
        _, secret = auth.create_token(ctx, tenant, "write", "benchmark (f)")
    finally:
        ctx.close()
    return secret


def send(client: httpx.Client, payload: bytes) -> tuple[float, Counter[str]]:
    """One bulk request: its seconds, and the outcomes it reports (all must be applied)."""
    started = time.perf_counter()
    answer = client.post(ENDPOINT, content=payload)
    seconds = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"bulk request answered {answer.status_code}: {answer.text[:2000]}")
    return seconds, Counter(r["outcome"] for r in answer.json()["results"])


def percentile(values: list[float], pct: int) -> float:
    """The ``pct``-th percentile (inclusive method: within the values)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def summary(seconds: list[float], kinds: list[str], size: int) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    total = sum(seconds)
    by_kind = {
        kind: statistics.median(m for m, k in zip(ms, kinds, strict=True) if k == kind)
        for kind in sorted(set(kinds))
    }
    return {
        "requests": len(ms),
        "records_per_request": size,
        "rows": len(ms) * size,
        "seconds": total,
        "rows_per_s": len(ms) * size / total if total else 0.0,
        "median_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 95),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "median_ms_by_kind": by_kind,
        "latencies_ms": [round(m, 2) for m in ms],
    }


def measure(
    db: Database,
    tenant: str,
    requests: int = REQUESTS,
    warmup: int = WARMUP,
    size: int = SIZE,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """(f) on ``db`` (companies and people of ``tenant`` loaded): ``warmup`` + ``requests``
    bulk requests of ``size`` records, one after the other; latency figures of the timed
    ones."""
    frames = request_frames(warmup + requests, size)
    payloads = [body(f) for f in frames]
    kinds = ["create" if i % 2 == 0 else "update" for i in range(len(frames))]
    headers = {
        "Authorization": f"Bearer {write_token(db, tenant)}",
        "Content-Type": "application/json",
    }
    counts: Counter[str] = Counter()
    seconds: list[float] = []
    with (
        served(db, db.data_dir / "server.log") as url,
        httpx.Client(base_url=url, headers=headers, timeout=120) as client,
    ):
        if progress is not None:
            progress(f"{warmup} warm-up and {requests} timed requests of {size} records")
        for i, payload in enumerate(payloads):
            took, outcomes = send(client, payload)
            if i >= warmup:
                seconds.append(took)
                counts.update(outcomes)
    found = summary(seconds, kinds[warmup:], size)
    found.update(warmup=warmup, counts=dict(sorted(counts.items())))
    return found
