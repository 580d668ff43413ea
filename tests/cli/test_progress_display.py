"""The live progress and the summary on a real terminal: each command runs under a
pseudo-terminal (``script``) and everything it drew, the cleared frames of the live
display included, is checked: phase names, a percent, rows a second, the duration, the
errors grouped by table, column and code. ``--quiet`` draws no display; ``--json``
prints its object alone, even on a terminal."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import ROOT

PERCENT = re.compile(r"\d+\.\d%")


def on_terminal(env: dict[str, str], tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run ``loadbay args`` on a pseudo-terminal 120 columns wide: its exit code and all
    it wrote there (stdout and stderr), escape sequences and all."""
    log = tmp_path / "terminal.log"
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "loadbay", *args])
    done = subprocess.run(
        ["script", "-q", "-e", "-c", f"stty cols 120 rows 40; {command}", str(log)],
        env={**env, "TERM": "xterm-256color", "COLUMNS": "120"},
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=600,
        check=False,
    )
    lines = log.read_text(errors="replace").splitlines()[1:-1]  # script's own first and last
    return done.returncode, "\n".join(lines)


def projects(tmp_path: Path, rows: int, bad_every: int) -> Path:
    path = tmp_path / "projects.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("external_id,name,budget\n")
        for i in range(rows):
            budget = "lots" if i % bad_every == 0 else str(i)
            name = "" if i % (bad_every * 3) == 1 else f"Project {i}"
            out.write(f"P-{i},{name},{budget}\n")
    return path


def test_a_run_shows_phases_percent_and_the_errors_grouped(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = projects(tmp_path, 200_000, bad_every=1000)
    code, screen = on_terminal(env, tmp_path, "import", str(data), "--error-handling", "lenient")
    assert code == 3, screen  # rows failed
    for phase in ("reading and validating", "writing"):
        assert phase in screen, screen[-3000:]
    assert PERCENT.search(screen), screen[-3000:]
    assert "rows/s" in screen
    assert "267 errors by table, column and code" in screen
    table = screen[screen.index("errors by table, column and code") :]
    assert re.search(r"projects\s*│\s*budget\s*│\s*invalid_decimal\s*│\s*200\s*│\s*'lots'", table)
    assert re.search(r"projects\s*│\s*name\s*│\s*required\s*│\s*67\s*│", table)
    assert re.search(r"done in [\d.,]+ s: 200,000 rows, [\d,]+ rows/s", screen), screen[-3000:]
    assert "first 20 errors" in screen


def test_errors_n_lists_that_many(env: dict[str, str], tmp_path: Path) -> None:
    data = projects(tmp_path, 3_000, bad_every=100)
    code, screen = on_terminal(
        env, tmp_path, "import", str(data), "--error-handling", "lenient", "--errors", "3"
    )
    assert code == 3
    assert "40 errors by table, column and code" in screen and "first 3 errors" in screen
    _, none = on_terminal(
        env, tmp_path, "import", str(data), "--error-handling", "lenient", "--errors", "0"
    )
    assert "errors by table, column and code" in none and "first" not in none


def test_quiet_draws_no_display(env: dict[str, str], tmp_path: Path) -> None:
    data = projects(tmp_path, 100_000, bad_every=1000)
    code, screen = on_terminal(env, tmp_path, "import", str(data), "--quiet", "--mode", "create")
    assert code == 3, screen
    assert "reading and validating" not in screen and not PERCENT.search(screen)
    assert "errors by table, column and code" in screen  # the summary still


def test_json_prints_its_object_alone_on_a_terminal(env: dict[str, str], tmp_path: Path) -> None:
    data = projects(tmp_path, 100_000, bad_every=1000)
    code, screen = on_terminal(env, tmp_path, "import", str(data), "--json", "--errors", "2")
    assert code == 3
    assert "reading and validating" not in screen and not PERCENT.search(screen)
    lines = [line for line in screen.splitlines() if line.strip()]
    if lines[0].startswith("created a new database"):  # SQLite: on stderr, as without --json
        lines.pop(0)
    assert len(lines) == 1, screen
    body = json.loads(lines[0])
    assert body["counts"]["failed"] == 134 and len(body["errors"]) == 2
    assert body["error_groups"] == [
        {
            "table": "projects",
            "column": "budget",
            "code": "invalid_decimal",
            "count": 100,
            "example": "lots",
        },
        {"table": "projects", "column": "name", "code": "required", "count": 34, "example": None},
    ]


@pytest.mark.slow
def test_remote_shows_a_percent_before_the_end(remote_env: dict[str, str], tmp_path: Path) -> None:
    data = projects(tmp_path, 150_000, bad_every=10**9)  # only row 0 fails
    code, screen = on_terminal(remote_env, tmp_path, "import", str(data), "--mode", "create")
    assert code == 3, screen[-3000:]  # strict: row 0 failed, nothing written
    percent = PERCENT.search(screen)
    assert percent, screen[-3000:]
    assert percent.start() < screen.index("errors by table, column and code")
    assert "reading and validating" in screen
    summary = screen.index("errors by table, column and code")
    assert re.search(r"[1-9][\d,]* rows read", screen[:summary])  # not stuck at 0 rows
