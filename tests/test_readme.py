"""The README's commands are true: CI runs the test command, the start command works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from typer.main import get_command

from loadbay.cli import app
from tests.api.server import start_server

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_two_commands() -> None:
    start, tests = BLOCKS[0].strip(), BLOCKS[1].strip()
    assert README.index("```sh") < README.index("\n\n", README.index("# loadbay") + 10)
    assert "\n" not in start and "\n" not in tests
    assert start.startswith("python3 -m venv .venv && ") and start.endswith("loadbay serve")
    assert tests.startswith("python3 -m venv .venv && ") and "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == BLOCKS[1].strip()


def test_readme_start_command_serves_on_a_fresh_data_folder(tmp_path: Path) -> None:
    command = BLOCKS[0].strip().split(" && ")[-1]
    assert command == ".venv/bin/loadbay serve"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env["LOADBAY_DATA_DIR"] = str(tmp_path / "data")  # nothing else: the embedded default
    server = start_server(env, log=tmp_path / "serve.log")
    try:
        answer = httpx.get(
            f"{server.url}/v1/tables", headers={"Authorization": f"Bearer {server.admin_token}"}
        )
        assert answer.status_code == 200
        names = [t["name"] for t in answer.json()["data"]]
        assert names[:3] == ["companies", "people", "projects"]
        assert (tmp_path / "data" / "loadbay.db").exists()
    finally:
        server.process.stop()


def test_readme_example_import_works(tmp_path: Path) -> None:
    line = next(x for x in BLOCKS[2].splitlines() if "loadbay import" in x)
    args = line.split()[1:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env["LOADBAY_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "loadbay", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout


def test_every_command_is_in_the_readme_and_has_help() -> None:
    group = get_command(app)
    names: list[str] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", {})
        names += [f"{name} {s}" for s in sub] if sub else [name]
        assert command.help, f"loadbay {name} has no help text"
    for name in names:
        assert f"loadbay {name}" in README, f"loadbay {name} is not in the README"
