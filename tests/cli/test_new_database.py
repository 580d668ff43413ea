"""A command that makes a new database says so on stderr, once: a user who ran it in
another folder learns why the tables are empty."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import _clean
from tests.cli.test_cli import EXAMPLES


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadbay", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_default_data_folder_made_here_is_announced_once(tmp_path: Path) -> None:
    env = _clean(tmp_path)
    del env["LOADBAY_DATA_DIR"]  # the default: ./loadbay-data of the working directory
    first = _run(env, tmp_path, "tables", "--json")
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip().splitlines() == [
        "created a new database in ./loadbay-data (LOADBAY_DATA_DIR chooses another folder)"
    ]
    assert json.loads(first.stdout)[0]["name"] == "companies"  # stdout: the one object
    assert (tmp_path / "loadbay-data" / "loadbay.db").is_file()
    again = _run(env, tmp_path, "import", str(EXAMPLES / "companies.csv"), "--json")
    assert again.returncode == 0 and again.stderr == ""
    assert _run(env, tmp_path, "tokens", "list").stderr == ""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tokens = _run(env, elsewhere, "tokens", "list", "--json")  # local_context: the same note
    assert "created a new database in ./loadbay-data" in tokens.stderr
    assert json.loads(tokens.stdout) == []


def test_only_the_command_that_made_the_database_says_so(
    env: dict[str, str], db_url: str, tmp_path: Path
) -> None:
    first = _run(env, tmp_path, "imports", "--json")
    assert first.returncode == 0, first.stderr
    if db_url.startswith("sqlite"):  # a database URL of its own: the file is named
        database = db_url.removeprefix("sqlite:///")
        assert first.stderr.strip() == f"created a new database {database}"
    else:  # a PostgreSQL database is made by its administrator, not by loadbay
        assert first.stderr == ""
    assert json.loads(first.stdout) == []
    again = _run(env, tmp_path, "imports")
    assert again.returncode == 0 and again.stderr == ""
