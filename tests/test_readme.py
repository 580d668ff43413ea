"""The README's commands are true: CI runs the test command, the start command works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from typer.main import get_command

from loadbay.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_two_commands() -> None:
    start, tests = BLOCKS[0].strip(), BLOCKS[1].strip()
    assert README.index("```sh") < README.index("\n\n", README.index("# loadbay") + 10)
    assert "\n" not in start and "\n" not in tests
    assert start.startswith("python3 -m venv .venv && ") and "loadbay import" in start
    assert tests.startswith("python3 -m venv .venv && ") and "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == BLOCKS[1].strip()


def test_readme_start_command_imports_the_examples(tmp_path: Path) -> None:
    command = BLOCKS[0].strip().split(" && ")[-1]
    assert command.startswith(".venv/bin/loadbay ")
    args = command.split()[1:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env["LOADBAY_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run([sys.executable, "-m", "loadbay", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout
    assert (tmp_path / "data" / "loadbay.db").exists()


def test_every_command_is_in_the_readme_and_has_help() -> None:
    group = get_command(app)
    names: list[str] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", {})
        names += [f"{name} {s}" for s in sub] if sub else [name]
        assert command.help, f"loadbay {name} has no help text"
    for name in names:
        assert f"loadbay {name}" in README, f"loadbay {name} is not in the README"
