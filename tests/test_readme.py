"""The README's commands are true: CI runs the test command, the start command works."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.main import get_command

from loadbay.cli import app

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
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env["LOADBAY_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "loadbay", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        _wait_healthy(port, proc)
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        answer = httpx.get(f"http://127.0.0.1:{port}/v1/tables",
                           headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert [t["name"] for t in answer.json()["data"]][:3] == ["companies", "people",
                                                                  "projects"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_readme_example_import_works(tmp_path: Path) -> None:
    line = next(x for x in BLOCKS[2].splitlines() if "loadbay import" in x)
    args = line.split()[1:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOADBAY_")}
    env["LOADBAY_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run([sys.executable, "-m", "loadbay", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "succeeded" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(port: int, proc: subprocess.Popen[str]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve did not answer /healthz within 60 s")


def test_every_command_is_in_the_readme_and_has_help() -> None:
    group = get_command(app)
    names: list[str] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", {})
        names += [f"{name} {s}" for s in sub] if sub else [name]
        assert command.help, f"loadbay {name} has no help text"
    for name in names:
        assert f"loadbay {name}" in README, f"loadbay {name} is not in the README"
