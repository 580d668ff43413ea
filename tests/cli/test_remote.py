"""Remote mode: with LOADBAY_URL and LOADBAY_TOKEN (or --url, --token) the commands run
against a real ``loadbay serve`` and print what they print locally, with the same exit codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.api.server import Server, free_port
from tests.cli.test_cli import EXAMPLES, as_json, loadbay

SCHEMA = str(EXAMPLES / "measurements.yaml")  # the server's LOADBAY_SCHEMA
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")  # as the API gives it
DURATION = re.compile(r"done in [\d,.]+ s: ([\d,]+) rows(, [\d,]+ rows/s)?")


class Session:
    """Runs commands and keeps what they answered, with ids and times made comparable."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder = env, folder
        self.ids: dict[str, str] = {}
        self.seen: list[tuple[int, Any]] = []
        folder.mkdir()

    def run(self, *args: str) -> Any:
        result = loadbay(self.env, *args)
        body = as_json(result) if "--json" in args else result.stdout
        self.seen.append((result.returncode, self._plain(body)))
        return result.returncode, body

    def fatal(self, *args: str) -> None:
        """A fatal error: locally a failed import may be shown, remotely none is made."""
        result = loadbay(self.env, *args, "--json")
        self.seen.append((result.returncode, as_json(result)["error"]["code"]))

    def _plain(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) >= {"code", "message", "state"}:  # an error's details: the server's
                value = {k: v for k, v in value.items() if k != "state"}  # revert adds state
            return {k: self._plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._plain(v) for v in value]
        if isinstance(value, str):
            for found in re.findall(r"imp_[0-9a-f]{16}", value):
                value = value.replace(found, self.ids.setdefault(found, f"imp#{len(self.ids)}"))
            value = DURATION.sub(r"done in <seconds>: \1 rows<rate>", value)  # (a clock's)
            return "<time>" if TIME.match(value) else value
        return value


def _scenario(s: Session) -> None:
    """Import, fail rows, dry-run, list, show, revert, export, fail: test_cli.py's tour."""
    files = [str(EXAMPLES / n) for n in ("companies.csv", "people.csv", "projects.csv")]
    code, first = s.run("import", *files, "--json")
    assert code == 0 and first["counts"]["created"] == 9, first
    bad = s.folder / "companies.csv"
    bad.write_text("name,due_days,default_currency\nAcme,-1,EUR\n=cmd(),5,XXY\nOK,1,USD\n")
    report = s.folder / "errors.csv"
    code, failed = s.run("import", str(bad), "--json", "--report", str(report))
    assert code == 3 and [e["code"] for e in failed["errors"]] == ["too_small", "invalid_currency"]
    s.seen.append((0, report.read_text()))
    change = s.folder / "change.csv"
    change.write_text("name,due_days\nGlobex,99\n")
    code, dry = s.run("import", str(change), "--table", "companies", "--dry-run", "--json")
    assert dry["changes"][0]["changes"] == {"due_days": {"old": 14, "new": 99}}
    s.run("import", str(change), "--table", "companies", "--dry-run")  # the text diff
    code, real = s.run("import", str(change), "-t", "companies", "--json", "--notes", "terms")
    listed = [i["id"] for i in s.run("imports", "--json")[1]]
    assert (listed[0], listed[2], listed[-1]) == (real["id"], dry["id"], first["id"])
    assert s.run("imports", "show", real["id"], "--json")[1]["notes"] == "terms"
    s.run("imports", "show", failed["id"], "--json")
    assert s.run("revert", real["id"])[0] == 0
    code, again = s.run("revert", real["id"], "--json")
    assert code == 1 and again["error"]["code"] == "invalid_state"
    s.run("export", "companies")
    s.run("export", "companies", "--format", "jsonl", "--output", str(s.folder / "c.jsonl"))
    s.seen.append((0, (s.folder / "c.jsonl").read_text()))
    s.run("export", "nope")
    s.run("tables", "--json")
    s.fatal("import", str(bad), "--table", "nope")  # locally a failed import, remotely none
    s.fatal("import", str(bad), "--table", "people")


def test_remote_commands_answer_as_local_ones(
    env: dict[str, str], remote_env: dict[str, str], tmp_path: Path
) -> None:
    here = Session({**env, "LOADBAY_SCHEMA": SCHEMA}, tmp_path / "here")
    there = Session(remote_env, tmp_path / "there")
    _scenario(here)
    _scenario(there)
    assert there.seen == here.seen
    assert (1, "unknown_table") in there.seen and (1, "missing_column") in there.seen
    assert not Path(remote_env["LOADBAY_DATA_DIR"]).exists()  # nothing local was opened


def _error(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = loadbay(env, *args, "--json")
    return result.returncode, as_json(result)["error"]["code"]


def test_flags_and_the_errors_of_remote_mode(remote_env: dict[str, str], server: Server) -> None:
    local = {k: v for k, v in remote_env.items() if k not in ("LOADBAY_URL", "LOADBAY_TOKEN")}
    flags = ["--url", remote_env["LOADBAY_URL"], "--token", remote_env["LOADBAY_TOKEN"]]
    done = as_json(loadbay(local, "import", str(EXAMPLES / "companies.csv"), "--json", *flags))
    assert done["counts"]["created"] == 3
    listed = as_json(loadbay(remote_env, "imports", "--json"))  # the same tenant, by the env
    assert [i["id"] for i in listed] == [done["id"]]
    assert not Path(local["LOADBAY_DATA_DIR"]).exists()

    no_token = {**local, "LOADBAY_URL": remote_env["LOADBAY_URL"]}
    assert _error(no_token, "imports") == (1, "invalid_option")
    assert _error({**remote_env, "LOADBAY_TOKEN": "nope"}, "imports") == (1, "unauthorized")
    reader = {**remote_env, "LOADBAY_TOKEN": server.token("default", "read")}
    assert _error(reader, "revert", done["id"]) == (1, "forbidden")
    assert _error(remote_env, "imports", "show", "imp_0") == (1, "not_found")
    assert _error(remote_env, "tables", "--schema", SCHEMA) == (1, "invalid_option")
    assert _error(remote_env, "imports", "resume", done["id"]) == (1, "invalid_option")
    resume = loadbay(remote_env, "imports", "resume", done["id"])
    assert resume.returncode == 1 and "local" in resume.stderr
    gone = {**remote_env, "LOADBAY_URL": f"http://127.0.0.1:{free_port()}"}
    assert _error(gone, "imports") == (1, "unavailable")
