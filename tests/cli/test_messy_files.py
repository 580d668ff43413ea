"""Messy files through the command line (issue 16): a real process, files written by real
writers, SQLite and PostgreSQL (the ``env`` fixture)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.cli.test_cli import as_json, loadbay


def _csv(path: Path, rows: list[list[str]], **dialect: object) -> Path:
    out = io.StringIO()
    csv.writer(out, **dialect).writerows(rows)  # type: ignore[arg-type]
    path.write_bytes(out.getvalue().encode())
    return path


def _dump(env: dict[str, str]) -> str:
    result = loadbay(env, "export", "companies", "--format", "csv")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_latin1_file_reads_right_and_says_its_encoding(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_bytes("name,due_days\nCafé © Zoë,30\nRené,14\n".encode("latin-1"))
    result = loadbay(env, "import", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    shown = " ".join(result.stdout.split())  # (the terminal may wrap it)
    assert "read as cp1252 text, a guess" in shown and "--encoding" in shown
    body = as_json(loadbay(env, "import", str(path), "--json"))
    assert any("--encoding" in w for w in body["warnings"])
    again = as_json(loadbay(env, "imports", "show", body["id"], "--json"))
    assert again["warnings"] == body["warnings"]
    assert "Café © Zoë" in _dump(env)
    exact = as_json(loadbay(env, "import", str(path), "--encoding", "latin-1", "--json"))
    assert "warnings" not in exact and exact["counts"]["unchanged"] == 2


def test_trailing_delimiter_no_header_duplicates_and_nul(
    env: dict[str, str], tmp_path: Path
) -> None:
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("name,due_days,\nAcme,30,\nGlobex,14,\n")
    result = loadbay(env, "import", str(trailing), "--table", "companies", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert as_json(result)["counts"]["created"] == 2

    bare = _csv(tmp_path / "bare.csv", [["Initech", "45"], ["Umbrella", "7"]])
    result = loadbay(
        env, "import", str(bare), "--table", "companies", "--no-header",
        "--map", "column_1=name", "--map", "column_2=due_days", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert as_json(result)["counts"]["created"] == 2

    twice = _csv(tmp_path / "twice.csv", [["name", "due_days", "due_days"], ["Hooli", "5", "6"]])
    body = as_json(loadbay(env, "import", str(twice), "--table", "companies", "--json"))
    assert body["state"] == "succeeded"
    assert any("'due_days_2'" in w for w in body["warnings"])

    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"name,due_days\nVande\x00lay,3\n")
    body = as_json(loadbay(env, "import", str(nul), "--table", "companies", "--json"))
    assert body["state"] == "succeeded", body
    assert any("NUL" in w for w in body["warnings"])
    assert "Vandelay" in _dump(env)


def test_junk_first_line_error_names_the_option(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text("Companies, as of today\nname;due_days\nAcme;30\nGlobex;14\n".replace(",", ""))
    result = loadbay(env, "import", str(path))
    assert result.returncode == 1
    assert "--header-row 2" in result.stdout + result.stderr
    result = loadbay(env, "import", str(path), "--header-row", "2", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert as_json(result)["counts"]["created"] == 2


def test_import_help_lists_the_read_options(env: dict[str, str]) -> None:
    result = loadbay(env, "import", "--help")
    for option in ("--no-header", "--skip-lines", "--header-row", "--comment", "--escape"):
        assert option in result.stdout


def test_read_options_reach_a_remote_server(remote_env: dict[str, str], tmp_path: Path) -> None:
    """Against a server, the read options go with the import (not only the local ones)."""
    bare = tmp_path / "bare.csv"
    bare.write_text("# exported\nAcme,30\nGlobex,14\n")
    result = loadbay(
        remote_env, "import", str(bare), "--table", "companies", "--no-header",
        "--comment", "#", "--map", "column_1=name", "--map", "column_2=due_days", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert as_json(result)["counts"]["created"] == 2
