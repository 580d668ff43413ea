"""An import's crash never takes down the API: ``loadbay serve`` runs imports in worker
processes it supervises. A killed worker's import is taken up again at once; one that
crashes its worker every time is given up; a cancel is answered truthfully and noticed
by the running import within a second or two.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource
import signal
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from loadbay.config import Settings
from loadbay.jobs import Jobs
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import imports as import_service
from loadbay.service import leases as lease_service
from loadbay.service.context import Context, open_context
from loadbay.service.leases import open_leases
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store.engine import reading
from loadbay.workers import Supervisor, worker_process
from tests.api.helpers import submit
from tests.api.server import Server, base_env, database, start_server

ROWS = 50_000
CRASH = "crash in the reader"  # the notes of an import the test worker aborts on


def write_visits(path: Path, rows: int = ROWS) -> Path:
    with open(path, "w") as handle:
        handle.write("station,visited_on,note\n")
        for i in range(rows):
            handle.write(f"s{i % 7},2024-01-{1 + i % 28:02},n{i}\n")
    return path


@contextlib.contextmanager
def serve(tmp: Path, kind: str) -> Iterator[Server]:
    """``loadbay serve`` with its worker processes; on PostgreSQL, the queue there too.
    Leases of a minute: a dead worker's import is taken up again at once only because
    its supervisor saw it die, and a cancel noticed within seconds is not the lease's."""
    with database(kind, tmp) as db_url:
        queue = {"LOADBAY_QUEUE_URL": db_url} if kind == "postgres" else {}
        env = base_env(
            tmp / "data",
            db_url,
            LOADBAY_LEASE_SECONDS="60",
            LOADBAY_CHUNK_SIZE="50",
            LOADBAY_WORKERS="2",
            **queue,
        )
        server = start_server(env, log=tmp / "server.log")
        try:
            yield server
        finally:
            server.process.stop()


def checkpoint_of(ctx: Context, import_id: str) -> int:
    """How far the import's committed chunks went (0 before its first chunk)."""
    with ctx.engine.connect() as conn:
        point = (
            reading(conn)
            .execute(
                sa.select(sa.column("checkpoint"))
                .select_from(sa.table("loadbay_imports"))
                .where(sa.column("id") == import_id)
            )
            .scalar_one()
        )
    if isinstance(point, str):
        point = json.loads(point)
    return int((point or {}).get("seq") or 0)


def running_import(server: Server, client: httpx.Client, path: Path) -> tuple[str, int]:
    """Submit a big lenient import and wait until it has committed a chunk: its id and
    the pid of the worker process running it."""
    up = client.post("/v1/uploads", params={"filename": path.name}, content=path.read_bytes())
    job = submit(
        client, upload_id=up.json()["id"], table="visits", mode="append", error_handling="lenient"
    )
    ctx, leases = open_context(server.settings), open_leases(server.settings)
    try:
        for _ in range(6000):
            lease = leases.get(job["id"])
            if lease and lease["locked_by"] and checkpoint_of(ctx, job["id"]):
                return job["id"], int(lease["locked_by"].split(":")[1])
            time.sleep(0.01)
    finally:
        ctx.close()
        leases.close()
    raise AssertionError(f"the import was never seen running\n{server.process.output()}")


def visits_and_results(server: Server, import_id: str) -> tuple[int, int, int]:
    ctx = open_context(server.settings)
    try:
        with ctx.engine.connect() as conn:
            rows, notes = conn.execute(
                sa.text("SELECT COUNT(*), COUNT(DISTINCT note) FROM visits")
            ).one()
            results = conn.execute(
                sa.text("SELECT COUNT(DISTINCT row) FROM loadbay_results WHERE import_number = "
                    "(SELECT number FROM loadbay_import_numbers WHERE import_id = :i)"),
                {"i": import_id},
            ).scalar_one()
    finally:
        ctx.close()
    return int(rows), int(notes), int(results)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGABRT])
def test_a_worker_killed_mid_import_leaves_the_api_up_and_its_import_is_taken_up(
    tmp_path: Path, kind: str, how: signal.Signals
) -> None:
    data = write_visits(tmp_path / "visits.csv")
    with serve(tmp_path, kind) as server, server.http("crash", "write") as client:
        import_id, pid = running_import(server, client, data)
        assert pid != server.process.proc.pid, "the import runs in the API's process"
        os.kill(pid, how)
        # the API answers while its worker is dead, and goes on answering
        assert client.get("/healthz").status_code == 200
        assert client.get(f"/v1/imports/{import_id}").json()["state"] == "running"
        done = server.wait(client, import_id)
        assert server.process.proc.poll() is None
        assert done["state"] == "succeeded", (done, server.process.output())
        assert done["counts"]["created"] == ROWS
        assert visits_and_results(server, import_id) == (ROWS, ROWS, ROWS)
        assert f"worker process {pid} was killed by {how.name}" in server.process.log.read_text()


def aborting_worker(settings: Settings, stop: Connection) -> None:
    """A worker process as ``loadbay serve`` starts them, whose run of an import noted
    ``CRASH`` aborts the process, as a native crash in a reader does (a test-only entry
    point: nothing a user sends reaches it)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    run = lease_service.run_import

    def crashing(ctx: Context, import_id: str, tenant: str, **kwargs: Any) -> dict[str, Any]:
        record = kwargs.get("record")
        if record is not None and record.notes == CRASH:
            os.abort()
        return run(ctx, import_id, tenant, **kwargs)

    lease_service.run_import = crashing  # type: ignore[assignment]
    worker_process(settings, stop)


def wait_settled(ctx: Context, import_id: str) -> dict[str, Any]:
    for _ in range(1200):
        record = import_service.get_import(ctx, import_id)
        if record.state in ("succeeded", "failed", "cancelled"):
            return record
        time.sleep(0.05)
    raise AssertionError(f"import {import_id} did not finish: {record}")


def test_an_import_that_crashes_its_worker_every_time_is_given_up(
    settings: Settings, tmp_path: Path
) -> None:
    # on PostgreSQL the queue is there too
    queue = settings.database_url if settings.database_url.startswith("postgres") else None
    settings = Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        queue_url=queue,
        lease_seconds=60,
        max_attempts=3,
    )
    jobs = Jobs(settings)
    ctx = jobs.context()
    workers = Supervisor(jobs, 2, target=aborting_worker)
    workers.start()
    try:
        path = tmp_path / "c.csv"
        path.write_text("name\nAcme\nGlobex\n")
        source = SourceSpec(path=str(path), name=path.name, table="companies")
        request = ImportRequest(sources=(source,), error_handling=ErrorHandling.LENIENT)
        crashing = import_service.create_import(ctx, dataclasses.replace(request, notes=CRASH))
        jobs.enqueue_import(ctx.tenant, crashing)
        given_up = wait_settled(ctx, crashing)
        # the supervisor (this process, alive) saw them die, and started new workers
        assert workers.died == ["was killed by SIGABRT"] * 3
        fine = import_service.create_import(ctx, request)
        jobs.enqueue_import(ctx.tenant, fine)
        assert wait_settled(ctx, fine).state == "succeeded"
    finally:
        workers.stop()
        jobs.close()
        ctx.close()
    assert (given_up.state, given_up.error_code) == ("failed", "worker_crashed")
    assert given_up.error.startswith("the import stopped its worker 3 times (last: worker ")
    assert given_up.error.endswith(" was killed by SIGABRT); given up")
    assert not any(w.process.is_alive() for w in workers.children)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_cancelled_import_ends_cancelled_and_its_worker_stops_promptly(
    tmp_path: Path, kind: str
) -> None:
    data = write_visits(tmp_path / "visits.csv")
    with serve(tmp_path, kind) as server, server.http("cancel", "write") as client:
        import_id, _ = running_import(server, client, data)
        answer = client.post(f"/v1/imports/{import_id}/cancel")
        assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
        # its worker stops at its next chunk and records what it wrote: seen within a
        # bounded number of polls (a lease of a minute: not the lease's renewal)
        leases = open_leases(server.settings)
        try:
            for _ in range(100):
                if leases.get(import_id) is None:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"the worker did not stop\n{server.process.output()}")
        finally:
            leases.close()
        done = client.get(f"/v1/imports/{import_id}").json()
        written = visits_and_results(server, import_id)
        assert done["state"] == "cancelled"
        assert 0 < done["counts"]["created"] < ROWS
        assert written == (done["counts"]["created"],) * 3
        time.sleep(1)  # nothing more is written after that
        assert visits_and_results(server, import_id) == written
        again = client.post(f"/v1/imports/{import_id}/cancel")
        assert again.status_code == 409 and again.json()["state"] == "cancelled"


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux: /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_stopping_the_server_stops_its_workers_and_hands_back_a_running_import(
    tmp_path: Path, kind: str
) -> None:
    rows = 4 * ROWS  # still running when its worker's 5 seconds to finish are over
    data = write_visits(tmp_path / "visits.csv", rows)
    with serve(tmp_path, kind) as server:
        with server.http("stop", "write") as client:
            import_id, pid = running_import(server, client, data)
        workers = children_of(server.process.proc.pid)
        assert pid in workers
        server.process.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert server.process.proc.wait(timeout=60) in (0, 130)  # 130: stopped by SIGINT
        # the workers have stopped (and multiprocessing's resource tracker, a moment later)
        for _ in range(100):
            left = [w for w in workers if Path(f"/proc/{w}").exists()]
            if not left:
                break
            time.sleep(0.05)
        assert not left, f"orphaned processes: {left}"
        leases = open_leases(server.settings)
        try:
            lease = leases.get(import_id)
        finally:
            leases.close()
        # handed back: free for the next worker at once, and this attempt not counted (on a
        # machine fast enough to finish the import within its worker's grace period there
        # is nothing to hand back: the lease is gone and the import succeeded, as below)
        if lease is not None:
            assert lease["locked_by"] is None and lease["attempts"] == 0
        again = start_server(server.env, log=tmp_path / "again.log")
        try:
            with again.http("stop", "write") as client:
                done = again.wait(client, import_id)
            assert done["state"] == "succeeded" and done["counts"]["created"] == rows
            assert visits_and_results(again, import_id) == (rows, rows, rows)
        finally:
            again.process.stop()
