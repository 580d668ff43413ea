"""Ctrl-C during ``loadbay import``: the import ends cancelled, the command says so and
what to do next, exits 130, and shows no traceback."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from loadbay.store.engine import make_engine, reading
from tests.api.server import Server
from tests.cli.test_cli import ROOT, as_json, loadbay

ROWS = 300_000
FINAL = {"cancelled"}


def _big(tmp_path: Path) -> Path:
    data = tmp_path / "companies.csv"
    with open(data, "w") as handle:
        handle.write("name,external_id,due_days\n")
        handle.writelines(f"Company {i},X{i},{i % 90}\n" for i in range(ROWS))
    return data


def _seen(engine: sa.Engine) -> tuple[str, str, bool] | None:
    """The import's id, state, and whether it has committed a chunk (a reader: on SQLite
    a writer would compete with the import for the lock)."""
    with contextlib.suppress(sa.exc.DBAPIError), engine.connect() as conn:  # no tables yet
        query = sa.text("SELECT id, state, checkpoint FROM loadbay_imports")
        row = reading(conn).execute(query).first()
        if row is not None:
            point = row[2] if isinstance(row[2], dict) or not row[2] else json.loads(row[2])
            return row[0], row[1], bool(point and point.get("seq"))
    return None


def _interrupt_when(
    env: dict[str, str], db_url: str, data: Path, *options: str, committed: bool
) -> tuple[str, subprocess.CompletedProcess[str]]:
    """Start the import, wait until it runs (and, if asked, has committed a chunk), then
    send SIGINT as Ctrl-C does; the import's id and the finished process."""
    command = [sys.executable, "-m", "loadbay", "import", str(data), *options]
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    engine = make_engine(db_url)
    try:
        seen = None
        while proc.poll() is None:
            seen = _seen(engine)
            if seen is not None and seen[1] == "running" and (seen[2] or not committed):
                break
            time.sleep(0.01)
        if proc.poll() is not None or seen is None:
            out, err = proc.communicate()
            pytest.fail(f"it ended before it could be stopped: {proc.returncode} {out} {err}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.dispose()
    return seen[0], subprocess.CompletedProcess(command, proc.returncode, out, err)


def _shown(env: dict[str, str], import_id: str) -> dict[str, object]:
    shown = loadbay(env, "imports", "show", import_id, "--json")
    assert shown.returncode == 0, shown.stderr
    body: dict[str, object] = as_json(shown)
    return body


@pytest.mark.parametrize("as_json_flag", [False, True])
def test_ctrl_c_ends_a_strict_import(
    env: dict[str, str], db_url: str, tmp_path: Path, as_json_flag: bool
) -> None:
    options = ["--json"] if as_json_flag else []
    import_id, result = _interrupt_when(env, db_url, _big(tmp_path), *options, committed=False)
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    shown = _shown(env, import_id)
    assert shown["state"] in FINAL and shown["finished_at"], shown
    if as_json_flag:
        body = as_json(result)
        assert body["id"] == import_id and body["state"] == shown["state"]
        message = body["error"]["message"]
        assert body["error"]["code"] == "interrupted"
    else:
        assert len(result.stderr.splitlines()) == 1, result.stderr
        message = result.stderr
        assert message.startswith("error (interrupted): ")
    assert f"import {import_id} was interrupted (Ctrl-C)" in message
    assert "nothing was written" in message  # strict: one transaction, rolled back
    assert loadbay(env, "export", "companies").stdout.count("\n") == 1  # the header only


def test_ctrl_c_after_committed_chunks_says_how_to_revert(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    env = {**env, "LOADBAY_CHUNK_SIZE": "1000"}
    data = _big(tmp_path)
    import_id, result = _interrupt_when(
        env, db_url, data, "--error-handling", "lenient", committed=True
    )
    assert result.returncode == 130, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert f"'loadbay revert {import_id}' undoes them" in result.stderr
    shown = _shown(env, import_id)
    assert shown["state"] in FINAL, shown
    counts = shown["counts"]
    assert isinstance(counts, dict) and 0 < counts["created"] < ROWS
    assert shown["rows_processed"] == counts["created"]  # the rows whose outcome is known
    assert f"the {counts['created']:,} rows" in result.stderr
    reverted = loadbay(env, "revert", import_id, "--json")  # as the message says
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    assert loadbay(env, "export", "companies").stdout.count("\n") == 1


def test_ctrl_c_cancels_a_remote_import_on_the_server(
    remote_env: dict[str, str], server: Server, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "loadbay", "import", str(_big(tmp_path))]
    proc = subprocess.Popen(
        command, env=remote_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    token = remote_env["LOADBAY_TOKEN"]
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    try:
        running = None
        while proc.poll() is None and running is None:
            found = api.get("/v1/imports").json()["data"]
            running = next((i for i in found if i["state"] in ("validating", "running")), None)
            time.sleep(0.02)
        if running is None:
            out, err = proc.communicate()
            pytest.fail(f"it ended before it could be stopped: {proc.returncode} {out} {err}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err, err
    assert f"import {running['id']} was interrupted (Ctrl-C) and is cancelled" in err
    assert api.get(f"/v1/imports/{running['id']}").json()["state"] == "cancelled"
    done = server.wait(api, running["id"])  # its worker stops: nothing written
    assert done["state"] == "cancelled" and done["counts"]["created"] == 0
