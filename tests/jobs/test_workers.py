"""Workers apart from the API: PostgreSQL, huey on Redis or PostgreSQL, two worker processes.

A worker killed in the middle of an import: another takes it up from its checkpoint, and
every row is applied exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from loadbay.store.engine import make_engine
from tests.api.helpers import assert_problem, run, submit
from tests.api.server import Process, Server, base_env, pg_schema, spawn, start_server
from tests.jobs.conftest import REDIS_URL, require_redis

ROWS = 20_000


@contextlib.contextmanager
def deployment(tmp: Path, queue: str) -> Iterator[tuple[Server, list[Process], str]]:
    """An API-only server and two worker processes, sharing PostgreSQL and a queue."""
    with pg_schema() as db_url:
        queue_url = REDIS_URL if queue == "redis" else db_url
        env = base_env(
            tmp / "data",
            db_url,
            LOADBAY_QUEUE_URL=queue_url,
            LOADBAY_LEASE_SECONDS="2",
            LOADBAY_CHUNK_SIZE="200",
            LOADBAY_WORKERS="1",
        )
        server = start_server(env, "--no-worker", log=tmp / "server.log")
        workers = [spawn(env, "worker", log=tmp / f"worker{n}.log") for n in (1, 2)]
        try:
            yield server, workers, db_url
        finally:
            for process in [server.process, *workers]:
                process.stop()


def _lease_and_checkpoint(engine: sa.Engine, import_id: str) -> tuple[str, int] | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT l.locked_by, i.checkpoint, i.state FROM loadbay_leases l "
                "JOIN loadbay_imports i ON i.id = l.import_id WHERE l.import_id = :i"
            ),
            {"i": import_id},
        ).first()
    if row is None or not row[0] or not row[1] or row[2] != "running":
        return None
    point = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    seq = int(point.get("seq") or 0)
    return (str(row[0]), seq) if seq else None


@pytest.mark.postgres
def test_a_killed_worker_is_replaced_and_every_row_applied_once(tmp_path: Path) -> None:
    require_redis()
    data = tmp_path / "visits.csv"
    with open(data, "w") as handle:
        handle.write("station,visited_on,note\n")
        for i in range(ROWS):
            handle.write(f"s{i % 7},2024-01-{1 + i % 28:02},n{i}\n")
    with deployment(tmp_path, "redis") as (server, workers, db_url):
        engine = make_engine(db_url)
        try:
            with server.http("death", "write") as client:
                up = client.post(
                    "/v1/uploads", params={"filename": "v.csv"}, content=data.read_bytes()
                )
                job = submit(
                    client,
                    upload_id=up.json()["id"],
                    table="visits",
                    mode="append",
                    error_handling="lenient",
                )
                found = None
                for _ in range(6000):
                    with contextlib.suppress(sa.exc.DBAPIError):
                        found = _lease_and_checkpoint(engine, job["id"])
                    if found:
                        break
                    time.sleep(0.01)
                assert found is not None, "the import was never seen running"
                holder, seq = found
                pid = int(holder.split(":")[1])
                victim = next(w for w in workers if w.proc.pid == pid)
                os.kill(pid, signal.SIGKILL)
                victim.proc.wait()
                assert seq < ROWS, "the import finished before its worker could be killed"
                done = server.wait(client, job["id"])
                assert done["state"] == "succeeded", (done, [w.output() for w in workers])
                assert done["counts"]["created"] == ROWS
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT COUNT(*), COUNT(DISTINCT note) FROM visits "
                        "WHERE loadbay_tenant_id = 'death'"
                    )
                ).one()
                outcomes = conn.execute(
                    sa.text(
                        "SELECT COUNT(*), COUNT(DISTINCT row) FROM loadbay_results "
                        "WHERE import_number = "
                        "(SELECT number FROM loadbay_import_numbers WHERE import_id = :i)"
                    ),
                    {"i": job["id"]},
                ).one()
            assert tuple(rows) == (ROWS, ROWS)
            assert tuple(outcomes) == (ROWS, ROWS)
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_workers_on_a_postgresql_queue_and_an_api_without_workers(tmp_path: Path) -> None:
    with (
        deployment(tmp_path, "postgres") as (server, _, _),
        server.http("pgq", "write") as client,
    ):
        assert client.get("/readyz").json()["queue"] == "ok"
        jobs = [
            submit(client, records=[{"name": f"Co {i}"}], table="companies")["id"] for i in range(4)
        ]
        for import_id in jobs:
            assert server.wait(client, import_id)["state"] == "succeeded"
        done = run(server, client, records={"companies": [{"name": "Last"}]})
        assert done["counts"]["created"] == 1
        assert_problem(client.post(f"/v1/imports/{done['id']}/cancel"), 409, "invalid_state")
