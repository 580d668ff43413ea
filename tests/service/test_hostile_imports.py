"""Hostile files through the service and the command line: the import ends ``failed``
with ``limit_exceeded`` (or ``unreadable_file``), on both databases and both paths.

The bombs come from tests/pipeline/test_hostile_files.py. They are read in this
process, so its address space is capped while they are (``capped``): a reader that
ran away would fail here instead of taking the machine down. The command line runs
in a child process with the same cap.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from loadbay.config import Settings
from loadbay.service.context import Context
from tests.api.helpers import assert_problem, upload
from tests.api.helpers import run as run_api
from tests.api.server import Server, running_server
from tests.pipeline.test_hostile_files import GB, MB, gzip_bomb, sheet, two_cells, workbook_zip
from tests.service.helpers import by_key, run

ROOT = Path(__file__).resolve().parents[2]
#: how much the test process may grow while it reads a bomb
GROWTH = 3 << 30


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A 1 MiB upload limit: compressed files expand to 10 MiB at most."""
    return dataclasses.replace(
        settings, max_upload_bytes=MB, max_line_bytes=4 * MB, max_field_bytes=MB
    )


@pytest.fixture
def capped() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    size = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    cap = size + GROWTH if hard == resource.RLIM_INFINITY else min(size + GROWTH, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def far_cell(tmp: Path) -> Path:
    return workbook_zip(tmp / "companies.xlsx", sheet(two_cells("XFD1048576", 1048576)))


def spaces_line(tmp: Path) -> Path:
    return gzip_bomb(tmp / "companies.jsonl.gz", b"", b" ", 10 * GB)


def csv_lines(tmp: Path) -> Path:
    line = b"Acme," + b"a long description, " * 50 + b"\n"
    return gzip_bomb(tmp / "companies.csv.gz", b"name,description\n", line, 10 * GB)


def zeros(tmp: Path) -> Path:
    return gzip_bomb(tmp / "companies.xlsx.gz", b"PK\x03\x04", b"\x00", GB // 2)


def deep_json(tmp: Path) -> Path:
    path = tmp / "companies.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def deep_first_line(tmp: Path) -> Path:
    path = tmp / "companies.jsonl"
    path.write_text('{"name": ' + "[" * 50_000 + "]" * 50_000 + '}\n{"name": "A"}\n')
    return path


def long_line(tmp: Path) -> Path:
    path = tmp / "companies.jsonl"
    path.write_bytes(b'{"name": "A"}\n{"name": "B"' + b" " * (5 * MB) + b"}\n")
    return path


def long_field(tmp: Path) -> Path:
    path = tmp / "companies.csv"
    path.write_bytes(b"name,description\nA,x\nB," + b"y" * (2 * MB) + b"\n")
    return path


def wide(tmp: Path) -> Path:
    path = tmp / "companies.csv"
    path.write_text(",".join(["name", *(f"c{i}" for i in range(20_000))]) + "\nA\n")
    return path


BOMBS: dict[str, tuple[Callable[[Path], Path], str, str]] = {
    "xlsx cell at XFD1048576": (far_cell, "limit_exceeded", "max_sheet_cells"),
    # the gzip trailer of each says so: refused before a byte is expanded
    "gzip jsonl of 10 GB of spaces": (spaces_line, "limit_exceeded", "max_expanded_bytes"),
    "gzip csv of 10 GB of lines": (csv_lines, "limit_exceeded", "max_expanded_bytes"),
    "gzip of PK and zeros": (zeros, "limit_exceeded", "max_expanded_bytes"),
    "json nested 100,000 deep": (deep_json, "limit_exceeded", "max_json_depth"),
    "jsonl whose first line nests deeply": (deep_first_line, "limit_exceeded", "max_json_depth"),
    "jsonl with a 5 MB line": (long_line, "limit_exceeded", "max_line_bytes"),
    "csv with a long field": (long_field, "limit_exceeded", "max_field_bytes"),
    "csv with 20,001 columns": (wide, "limit_exceeded", "max_columns"),
}


@pytest.mark.parametrize("kind", list(BOMBS))
def test_a_hostile_file_fails_the_import_with_a_code(
    ctx: Context, tmp_path: Path, capped: None, kind: str
) -> None:
    build, code, limit = BOMBS[kind]
    result = run(ctx, build(tmp_path), table="companies")
    assert result.state == "failed"
    assert result.error_code == code, result.error
    assert limit in result.error
    assert by_key(ctx, "companies", "name") == {}


def _loadbay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``loadbay`` in a child process whose address space is capped."""
    start = (
        "import resource, runpy, sys; "
        f"resource.setrlimit(resource.RLIMIT_AS, ({GROWTH + GB}, {GROWTH + GB})); "
        "sys.argv[0] = 'loadbay'; runpy.run_module('loadbay', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", start, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_the_command_line_refuses_a_gzip_bomb(db_url: str, tmp_path: Path) -> None:
    bomb = gzip_bomb(tmp_path / "bomb.jsonl.gz", b'{"name": "A"}\n', b" ", 10 * GB)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env.update(LOADBAY_DATA_DIR=str(tmp_path / "data"), LOADBAY_DATABASE_URL=db_url)
    env["LOADBAY_MAX_UPLOAD_BYTES"] = str(MB)  # expands to 10 MiB at most
    plain = _loadbay(env, "import", str(bomb), "--table", "companies")
    assert plain.returncode == 1, plain.stderr
    assert "Traceback" not in plain.stderr, plain.stderr
    # one line of error (a first run may also say it made the database)
    (line,) = [x for x in plain.stderr.splitlines() if x.startswith("error")]
    assert line.startswith("error (limit_exceeded): bomb.jsonl.gz: "), line
    assert "max_expanded_bytes" in line
    as_json = _loadbay(env, "import", str(bomb), "--table", "companies", "--json")
    assert as_json.returncode == 1, as_json.stderr
    assert as_json.stdout.count("\n") == 1, as_json.stdout  # one object
    error = json.loads(as_json.stdout)["error"]
    assert error["code"] == "limit_exceeded", error
    assert "max_expanded_bytes" in error["message"], error


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server whose uploads may be 1 MiB (compressed files: 10 MiB expanded)."""
    folder = tmp_path_factory.mktemp("hostile-api")
    with running_server("sqlite", folder, LOADBAY_MAX_UPLOAD_BYTES=str(MB)) as found:
        yield found


def test_through_the_api_422_at_upload_and_failed_imports(api: Server, tmp_path: Path) -> None:
    with api.http("hostile", "write") as client:
        deep = deep_first_line(tmp_path).read_bytes()  # found by the format detection
        answer = client.post("/v1/uploads", params={"filename": "deep.jsonl"}, content=deep)
        assert "max_json_depth" in assert_problem(answer, 422, "limit_exceeded")["detail"]
        # a gzip bomb is found by the format detection too (the gzip trailer's size)
        bomb = zeros(tmp_path)
        answer = client.post(
            "/v1/uploads", params={"filename": bomb.name}, content=bomb.read_bytes()
        )
        assert "max_expanded_bytes" in assert_problem(answer, 422, "limit_exceeded")["detail"]
        up = upload(client, far_cell(tmp_path))  # measured when the import reads it
        done = run_api(api, client, upload_id=up["id"], table="companies")
        assert done["state"] == "failed", done
        assert done["error"]["code"] == "limit_exceeded", done
        assert "max_sheet_cells" in done["error"]["message"]


def test_an_upload_is_checked_against_the_limits_of_the_settings(
    settings: Settings, tmp_path: Path
) -> None:
    """The format detection at upload reads with the settings' limits, not the defaults:
    a JSON Lines file nested deeper than LOADBAY_MAX_JSON_DEPTH is refused at once, and
    neither its file nor an upload row stays."""
    from loadbay.errors import LimitExceeded
    from loadbay.service import uploads
    from loadbay.service.context import open_context

    tight = dataclasses.replace(settings, max_json_depth=8)
    ctx = open_context(tight)
    try:
        nested = b'{"name": ' + b'{"a": ' * 20 + b"1" + b"}" * 20 + b"}\n"
        with pytest.raises(LimitExceeded, match="max_json_depth"):
            uploads.receive(ctx, "default", "nested.jsonl", [nested])
        stored = [p for p in uploads.storage(ctx).folder.rglob("*") if p.is_file()]
        assert stored == []
    finally:
        ctx.close()
