"""``loadbay import --lock-timeout``: a local import that waits longer than that for its
table fails ``locked`` (exit 1) instead of waiting on."""

from __future__ import annotations

from pathlib import Path

from loadbay.config import Settings
from loadbay.service.context import open_context
from loadbay.store.locks import table_locks
from tests.cli.test_cli import loadbay


def test_a_local_import_past_its_lock_timeout_fails_locked(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "companies.csv"
    data.write_text("name\nAcme\n")
    ctx = open_context(Settings.from_env(env))
    try:
        with ctx.engine.connect() as conn, table_locks(conn, ctx.tenant, ["companies"]):
            done = loadbay(env, "import", str(data), "--lock-timeout", "0.1")
    finally:
        ctx.close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "(locked)" in done.stderr + done.stdout
    assert "companies: locked by another import; waited 0.1 s" in done.stderr + done.stdout
