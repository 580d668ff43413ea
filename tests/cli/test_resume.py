"""A process killed in the middle of a lenient import: resumed, every row applied once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from loadbay.store.engine import make_engine, reading
from tests.cli.test_cli import ROOT, as_json, loadbay

ROWS = 60_000


def _checkpoint(engine: sa.Engine) -> tuple[str, dict[str, object]] | None:
    # a reader: on SQLite a writer's lock would compete with the import's chunks, and SQLite's
    # busy handler lets the import re-take the lock until it has finished (a flaky miss)
    with engine.connect() as conn:
        query = sa.text("SELECT id, state, checkpoint FROM loadbay_imports")
        row = reading(conn).execute(query).first()
    if row is None or not row[2]:
        return None
    point = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    return (row[0], point) if point and point.get("seq") else None


def test_killed_import_resumes_from_its_checkpoint(
    path_env: dict[str, str], tmp_path: Path, db_url: str
) -> None:
    data = tmp_path / "companies.csv"
    with open(data, "w") as handle:
        handle.write("name,external_id,due_days\n")
        for i in range(ROWS):
            handle.write(f"Company {i},X{i},{i % 90}\n")
    env = {**path_env, "LOADBAY_CHUNK_SIZE": "100"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadbay",
            "import",
            str(data),
            "--error-handling",
            "lenient",
            "--json",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = make_engine(db_url)
    found = None
    try:
        while found is None and proc.poll() is None:
            with contextlib.suppress(sa.exc.DBAPIError):  # the tables may not exist yet
                found = _checkpoint(engine)
            time.sleep(0.01)
        assert found is not None, "the import finished before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        import_id = found[0]
        with engine.connect() as conn:
            state = conn.execute(sa.text("SELECT state FROM loadbay_imports")).scalar_one()
            written = conn.execute(sa.text("SELECT COUNT(*) FROM companies")).scalar_one()
        assert state == "running"
        assert 0 < written < ROWS
        resumed = loadbay(env, "imports", "resume", import_id, "--json")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        body = as_json(resumed)
        assert body["state"] == "succeeded"
        assert body["counts"]["created"] == ROWS
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT COUNT(*), COUNT(DISTINCT name) FROM companies")
            ).one()
            results = conn.execute(
                sa.text("SELECT COUNT(*), COUNT(DISTINCT row) FROM loadbay_results")
            ).one()
        assert tuple(rows) == (ROWS, ROWS)
        assert tuple(results) == (ROWS, ROWS)
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.dispose()
