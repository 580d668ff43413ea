"""Names that belong to the user, on the command line: a table named as every column
loadbay uses for itself is imported into, updated, reverted and exported."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.cli.test_cli import as_json, loadbay
from tests.service.test_user_names import FIRST, NAMES_SCHEMA, SECOND, csv_text


def test_a_table_of_loadbays_own_names(path_env: dict[str, str], tmp_path: Path) -> None:
    schema = tmp_path / "names.yaml"
    schema.write_text(NAMES_SCHEMA)
    files = {
        "companies.csv": "name\nAcme\nGlobex\n",
        "first.csv": csv_text(FIRST),
        "second.csv": csv_text(SECOND),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def cli(*args: str) -> dict[str, object]:
        done = loadbay(path_env, *args, "--schema", str(schema), "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        found: dict[str, object] = as_json(done)
        return found

    def export(fmt: str) -> str:
        done = loadbay(path_env, "export", "things", "--format", fmt, "--schema", str(schema))
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("import", str(tmp_path / "companies.csv"))
    created = cli("import", str(tmp_path / "first.csv"), "--table", "things", "--mode", "create")
    assert created["counts"] == {**created["counts"], "created": 2}  # type: ignore[dict-item]
    before = export("csv")
    rows = list(csv.DictReader(io.StringIO(before)))
    assert [r["id"] for r in rows] == ["1", "2"]
    assert (rows[0]["action"], rows[0]["import_id"], rows[0]["tenant_id"]) == (
        "create",
        "imp_theirs",
        "their-tenant",
    )
    assert "loadbay_id" not in rows[0]  # an export is the user's columns only

    change = cli("import", str(tmp_path / "second.csv"), "--table", "things")
    counts = change["counts"]
    assert isinstance(counts, dict) and (counts["created"], counts["updated"]) == (1, 1)
    lines = [json.loads(x) for x in export("jsonl").splitlines()]
    assert {r["id"]: r["action"] for r in lines} == {1: "update", 2: "delete", 3: "insert"}

    reverted = loadbay(path_env, "revert", str(change["id"]), "--schema", str(schema))
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    assert export("csv") == before
