"""``loadbay templates`` and ``import --template``: locally (both databases) and remotely."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import as_json, loadbay

FIRST = "Company;Ref;Currency\nInitech;T-001;EUR\nHooli;T-002;USD\n"
SECOND = "Company;Ref;Currency\nInitech;T-001;GBP\nUmbrella;T-003;EUR\n"
SETTINGS = (
    "--table",
    "companies",
    "--map",
    "Company=name",
    "--map",
    "Ref=external_id",
    "--map",
    "Currency=default_currency",
    "--set",
    "description=feed",
    "--set",
    "due_days=30",
    "--delimiter",
    ";",
    "--key",
    "external_id",
    "--error-handling",
    "lenient",
)


def _files(tmp_path: Path) -> tuple[str, str]:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST)
    second.write_text(SECOND)
    return str(first), str(second)


def _rows(env: dict[str, str]) -> dict[str, dict[str, object]]:
    done = loadbay(env, "export", "companies", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    return {r["external_id"]: r for r in map(json.loads, done.stdout.splitlines())}


def _save_then_import(env: dict[str, str], tmp_path: Path) -> dict[str, object]:
    first, second = _files(tmp_path)
    made = as_json(loadbay(env, "import", first, *SETTINGS, "--json"))
    assert made["state"] == "succeeded" and made["counts"]["created"] == 2, made
    saved = as_json(loadbay(env, "templates", "save", made["id"], "feed", "--json"))
    assert saved["id"].startswith("tpl_") and saved["tables"] == ["companies"]
    assert saved["options"]["delimiter"] == ";" and saved["key"] == ["external_id"]
    assert saved["error_handling"] == "lenient"

    # the template's settings, with a --set of the command line winning over its own
    used = loadbay(env, "import", second, "--template", "feed", "--set", "description=x", "--json")
    body = as_json(used)
    assert body["state"] == "succeeded", used.stdout + used.stderr
    assert (body["counts"]["created"], body["counts"]["updated"]) == (1, 1), body
    rows = _rows(env)
    assert rows["T-001"]["default_currency"] == "GBP" and rows["T-003"]["name"] == "Umbrella"
    assert rows["T-003"]["description"] == "x" and rows["T-003"]["due_days"] == 30
    assert rows["T-002"]["description"] == "feed"
    return saved


def test_import_with_a_template_list_show_delete(env: dict[str, str], tmp_path: Path) -> None:
    saved = _save_then_import(env, tmp_path)
    listed = as_json(loadbay(env, "templates", "list", "--json"))
    assert [t["name"] for t in listed] == ["feed"] and listed[0]["id"] == saved["id"]
    shown = loadbay(env, "templates", "show", "feed")
    assert shown.returncode == 0 and "Company → name" in shown.stdout, shown.stdout
    assert as_json(loadbay(env, "templates", "show", saved["id"], "--json")) == saved
    again = loadbay(env, "templates", "save", "imp_0000000000000000", "feed")
    assert again.returncode == 1 and "not_found" in again.stderr, again.stderr

    deleted = as_json(loadbay(env, "templates", "delete", "feed", "--json"))
    assert deleted["id"] == saved["id"]
    assert as_json(loadbay(env, "templates", "list", "--json")) == []
    gone = loadbay(env, "templates", "show", "feed")
    assert gone.returncode == 1 and gone.stderr.count("\n") == 1, gone.stderr
    assert "not_found" in gone.stderr and "Traceback" not in gone.stderr
    first, _ = _files(tmp_path)
    unknown = loadbay(env, "import", first, "--template", "feed")
    assert unknown.returncode == 1 and "no template 'feed'" in unknown.stderr, unknown.stderr


def test_templates_against_a_server(remote_env: dict[str, str], tmp_path: Path) -> None:
    saved = _save_then_import(remote_env, tmp_path)
    listed = as_json(loadbay(remote_env, "templates", "list", "--json"))
    assert [t["id"] for t in listed] == [saved["id"]]
    duplicate = loadbay(remote_env, "templates", "save", "imp_0000000000000000", "feed")
    assert duplicate.returncode == 1, duplicate.stderr
    deleted = as_json(loadbay(remote_env, "templates", "delete", "feed", "--json"))
    assert deleted["name"] == "feed"
