"""Hostile files, options and settings: exit 1 with one line on stderr, never a traceback;
with ``--json``, exactly one JSON object on stdout."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.api.server import free_port
from tests.cli.test_cli import EXAMPLES, loadbay

#: a case: the arguments of the command, given the test's folder
Case = Callable[[Path], list[str]]


def _random(path: Path) -> Path:
    path.write_bytes(os.urandom(4096) + b"\x00" * 64 + os.urandom(4096))
    return path


def _truncated_gzip(path: Path) -> Path:
    body = gzip.compress(b"name,due_days\n" + b"".join(b"C%d,1\n" % i for i in range(5000)))
    path.write_bytes(body[: len(body) // 2])
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


CASES: dict[str, Case] = {
    "corrupt xlsx": lambda d: ["import", str(_random(d / "companies.xlsx"))],
    "truncated gzip": lambda d: ["import", str(_truncated_gzip(d / "companies.csv.gz"))],
    "binary named csv": lambda d: ["import", str(_random(d / "companies.csv"))],
    "unknown encoding": lambda d: ["import", str(EXAMPLES / "companies.csv"), "--encoding", "nope"],
    "directory": lambda d: ["import", str(_directory(d / "companies.csv")), "-t", "companies"],
    "no such file": lambda d: ["import", str(d / "nothere.csv"), "--table", "companies"],
    "markup in a name": lambda d: ["import", str(d / "[/bold]x.csv"), "--table", "companies"],
    "report into no folder": lambda d: [
        "import",
        str(_random(d / "companies.csv")),
        "--report",
        str(d / "no" / "such" / "folder" / "errors.csv"),
    ],
    "no such schema": lambda d: ["tables", "--schema", str(d / "nothere.yaml")],
    "unknown import": lambda d: ["imports", "show", "imp_0000000000000000"],
}


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error ("), result.stderr
    return lines[0]


@pytest.fixture
def made(env: dict[str, str]) -> dict[str, str]:
    """The environment, with its database made already (no note of a new one)."""
    assert loadbay(env, "tables", "--json").returncode == 0
    return env


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_one_line_and_exit_1(
    made: dict[str, str], tmp_path: Path, case: str
) -> None:
    args = CASES[case](tmp_path)
    _one_line_error(loadbay(made, *args))
    as_json = loadbay(made, *args, "--json")
    assert as_json.returncode == 1 and "Traceback" not in as_json.stderr, as_json.stderr
    assert as_json.stdout.count("\n") == 1, as_json.stdout
    body = json.loads(as_json.stdout)
    error = body["error"]
    assert error["code"] and error["message"], body


def test_a_name_with_markup_is_shown_as_it_is(made: dict[str, str], tmp_path: Path) -> None:
    line = _one_line_error(loadbay(made, *CASES["markup in a name"](tmp_path)))
    assert "[/bold]x.csv" in line


def test_a_long_message_stays_on_one_line(made: dict[str, str], tmp_path: Path) -> None:
    long = tmp_path / ("a-very-long-folder-name-" * 8) / "companies.csv"
    line = _one_line_error(loadbay(made, "import", str(long)))
    assert str(long) in line


def test_settings_that_do_not_work(tmp_path: Path, made: dict[str, str]) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    for url in (nowhere, "nope://what", "sqlite:////proc/no/such/folder/x.db"):
        broken = {**made, "LOADBAY_DATABASE_URL": url}
        _one_line_error(loadbay(broken, "imports"))
        result = loadbay(broken, "imports", "--json")
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert json.loads(result.stdout)["error"]["code"]
    bad_export = loadbay(made, "export", "companies", "--output", str(tmp_path))
    _one_line_error(bad_export)
