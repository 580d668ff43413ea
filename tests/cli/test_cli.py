"""The command line as a user runs it: a real process, real files, a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def loadbay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadbay", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout.count("\n") == 1, result.stdout + result.stderr  # one object only
    return json.loads(result.stdout)


def test_import_examples_then_again_changes_nothing(env: dict[str, str]) -> None:
    files = [str(EXAMPLES / n) for n in ("companies.csv", "people.csv", "projects.csv")]
    first = loadbay(env, "import", *files, "--json")
    assert first.returncode == 0, first.stdout + first.stderr
    body = as_json(first)
    assert body["state"] == "succeeded"
    assert body["counts"]["created"] == 9 and body["errors"] == []
    assert set(body) >= {"id", "state", "dry_run", "counts", "errors"}
    again = as_json(loadbay(env, "import", *files, "--json"))
    assert again["counts"]["unchanged"] == 9


def test_row_errors_exit_3_and_report_file(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "companies.csv"
    bad.write_text("name,due_days,default_currency\nAcme,-1,EUR\n=cmd(),5,XXY\nOK,1,USD\n")
    report = tmp_path / "errors.csv"
    result = loadbay(env, "import", str(bad), "--json", "--report", str(report))
    assert result.returncode == 3
    body = as_json(result)
    assert body["state"] == "failed"
    assert {(e["row"], e["column"], e["code"]) for e in body["errors"]} == {
        (1, "due_days", "too_small"),
        (2, "default_currency", "invalid_currency"),
    }
    lines = report.read_text().splitlines()
    assert lines[0] == "name,due_days,default_currency,error"
    assert lines[2].startswith("'=cmd(),5,XXY,")  # formula neutralised
    assert len(lines) == 3


def test_fatal_errors_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n")
    unknown = loadbay(env, "import", str(data), "--table", "nope", "--json")
    assert unknown.returncode == 1
    assert as_json(unknown)["error"]["code"] == "unknown_table"
    missing = loadbay(env, "import", str(data), "--table", "companies", "--json")
    assert missing.returncode == 1
    assert as_json(missing)["error"]["code"] == "missing_column"


def test_usage_error_exits_2(env: dict[str, str]) -> None:
    assert loadbay(env, "import", "--mode", "sideways", "x.csv").returncode == 2


def test_dry_run_revert_imports_tables_export(env: dict[str, str], tmp_path: Path) -> None:
    first = as_json(loadbay(env, "import", str(EXAMPLES / "companies.csv"), "--json"))
    change = tmp_path / "companies.csv"
    change.write_text("name,due_days\nGlobex,99\n")
    dry = loadbay(env, "import", str(change), "--dry-run", "--json")
    assert dry.returncode == 0
    body = as_json(dry)
    assert body["state"] == "validated" and body["dry_run"] is True
    assert body["changes"][0]["changes"] == {"due_days": {"old": 14, "new": 99}}
    real = as_json(loadbay(env, "import", str(change), "--json", "--notes", "raise terms"))
    listed = as_json(loadbay(env, "imports", "--json"))
    assert [i["id"] for i in listed[:3]] == [real["id"], body["id"], first["id"]]
    shown = as_json(loadbay(env, "imports", "show", real["id"], "--json"))
    assert shown["notes"] == "raise terms"
    reverted = loadbay(env, "revert", real["id"], "--json")
    assert reverted.returncode == 0, reverted.stdout + reverted.stderr
    assert loadbay(env, "revert", real["id"]).returncode == 1
    exported = tmp_path / "out.csv"
    assert loadbay(env, "export", "companies", "--output", str(exported)).returncode == 0
    assert "C-002,Globex,USD,Global exports,14" in exported.read_text()
    again = as_json(loadbay(env, "import", str(exported), "--table", "companies", "--json"))
    assert again["counts"]["unchanged"] == 3
    tables = as_json(loadbay(env, "tables", "--json"))
    assert [t["name"] for t in tables][:3] == ["companies", "people", "projects"]


def test_imports_show_is_readable_and_times_are_the_apis(env: dict[str, str]) -> None:
    made = as_json(loadbay(env, "import", str(EXAMPLES / "companies.csv"), "--json"))
    listed = as_json(loadbay(env, "imports", "--json"))[0]
    shown = as_json(loadbay(env, "imports", "show", made["id"], "--json"))
    for found in (listed, shown):  # ISO 8601 in UTC with Z, as the API gives them
        assert found["created_at"].endswith("Z") and "T" in found["created_at"]
        assert found["finished_at"].endswith("Z")
    text = loadbay(env, "imports", "show", made["id"]).stdout
    assert "tables: companies\n" in text
    assert "dry_run: no\n" in text
    assert "counts: created 3, updated 0" in text
    for python in ("['", "{'", "False", "True", "None"):
        assert python not in text, text
