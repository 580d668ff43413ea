"""A big dry run and a strict import whose rows fail, from the command line: each ends,
with its exit code and no traceback, leaves no scratch behind, and the next command works.
On both import paths (LOADBAY_SMALL_IMPORT_BYTES) and both databases."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import as_json, loadbay

ROWS = 400
PAD = "x" * 8000  # a plan of ~3 MiB: more than SQLite's cache of an attached file holds


def companies(tmp_path: Path, bad_rows: int = 0) -> Path:
    path = tmp_path / "companies.csv"
    lines = [f"Company {i:04d} {PAD},{'soon' if i < bad_rows else 1}" for i in range(ROWS)]
    path.write_text("name,due_days\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def scratch_files(tmp_path: Path) -> list[str]:
    found = (tmp_path / "data").glob("*")
    return [p.name for p in found if p.suffix in (".scratch", ".stage")]


def no_import_left_unfinished(env: dict[str, str]) -> None:
    listed = loadbay(env, "imports", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    states = {i["state"] for i in as_json(listed)}
    assert not states & {"queued", "validating", "running", "reverting"}, states


def test_a_big_dry_run_exits_0_and_writes_nothing(path_env: dict[str, str], tmp_path: Path) -> None:
    dry = loadbay(path_env, "import", str(companies(tmp_path)), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Traceback" not in dry.stderr
    body = as_json(dry)
    assert (body["state"], body["counts"]["created"]) == ("validated", ROWS)
    assert scratch_files(tmp_path) == []
    no_import_left_unfinished(path_env)


def test_a_big_strict_import_with_failed_rows_exits_3(
    path_env: dict[str, str], tmp_path: Path
) -> None:
    done = loadbay(path_env, "import", str(companies(tmp_path, bad_rows=12)))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "error (row_errors): 12 rows failed; nothing was written" in done.stderr
    assert scratch_files(tmp_path) == []
    no_import_left_unfinished(path_env)
