"""The command line starts fast: importing it loads none of the engine (polars,
sqlalchemy), the API (fastapi) or the HTTP client (httpx); each command imports what it
needs when it runs, and ``imports`` and ``tables`` on the local database load no polars."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.test_cli import ROOT

HEAVY = ("polars", "sqlalchemy", "fastapi", "httpx", "starlette", "pyarrow")

_RUN = """
import json, sys
from loadbay.cli import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass  # every command ends so
print(json.dumps([m for m in {heavy!r} if m in sys.modules]), file=sys.__stderr__)
"""


def _loaded(env: dict[str, str], *args: str) -> list[str]:
    """The heavy modules loaded once ``loadbay args`` has run."""
    code = _RUN.format(heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return found


def test_importing_the_command_line_loads_nothing_heavy() -> None:
    code = f"import sys, loadbay.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_help_loads_nothing_heavy(env: dict[str, str]) -> None:
    assert _loaded(env, "--help") == []
    assert _loaded(env, "import", "--help") == []


def test_listing_imports_and_tables_loads_no_engine(env: dict[str, str]) -> None:
    for command in ("imports", "tables"):
        loaded = _loaded(env, command)
        assert "polars" not in loaded and "fastapi" not in loaded and "httpx" not in loaded
        assert "sqlalchemy" in loaded  # the local database: it is read
