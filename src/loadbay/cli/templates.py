"""The ``templates`` commands: list, show and delete saved import settings (local or remote).

A template is saved from an import (``templates save IMPORT_ID NAME``, or through the
API: ``POST /v1/templates``) and used with ``loadbay import FILE --template NAME``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table as RichTable

from loadbay.cli import app
from loadbay.cli.backend import open_backend
from loadbay.cli.common import JsonOpt, SchemaOpt, TokenOpt, UrlOpt, out

templates_app = typer.Typer(help="Saved import templates: save, list, show, delete.")
app.add_typer(templates_app, name="templates")

NameArg = Annotated[str, typer.Argument(help="The template's name (or its tpl_ id).")]


def _settings(found: dict[str, Any]) -> list[tuple[str, str]]:
    """A template's settings as (name, text) lines, the empty ones left out."""
    lines = [
        ("tables", ", ".join(found["tables"])),
        ("mode", found["mode"] or ""),
        ("error handling", found["error_handling"] or ""),
        ("key", ", ".join(found["key"])),
        ("mapping", ", ".join(f"{k} → {v}" for k, v in found["mapping"].items())),
        ("constants", ", ".join(f"{k}={v}" for k, v in found["constants"].items())),
        ("options", ", ".join(f"{k}={v}" for k, v in found["options"].items())),
        ("notes", found["notes"] or ""),
    ]
    return [(k, v) for k, v in lines if v]


def _show(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(found, default=str))
        return
    grid = RichTable(title=f"{found['name']} ({found['id']})", show_header=False)
    grid.add_column("setting")
    grid.add_column("value")
    for name, value in _settings(found):
        grid.add_row(name, value)
    out.print(grid)


@templates_app.command("list")
def templates_list(
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """List the saved templates, by name."""
    with open_backend(schema, url, token, as_json) as backend:
        found = backend.list_templates()
    if as_json:
        print(json.dumps(found, default=str))
        return
    if not found:
        out.print("no templates")
        return
    grid = RichTable()
    for name in ("name", "id", "tables", "mode", "notes"):
        grid.add_column(name)
    for t in found:
        grid.add_row(t["name"], t["id"], ", ".join(t["tables"]), t["mode"] or "", t["notes"] or "")
    out.print(grid)


@templates_app.command("show")
def templates_show(
    name: NameArg,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show one template's settings."""
    with open_backend(schema, url, token, as_json) as backend:
        found = backend.get_template(name)
    _show(found, as_json)


@templates_app.command("delete")
def templates_delete(
    name: NameArg,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Delete a template (imports made from it keep its id)."""
    with open_backend(schema, url, token, as_json) as backend:
        found = backend.delete_template(name)
    if as_json:
        print(json.dumps(found, default=str))
        return
    out.print(f"deleted template {found['name']} ({found['id']})")


@templates_app.command("save")
def templates_save(
    import_id: Annotated[str, typer.Argument(help="The import whose settings to save.")],
    name: Annotated[str, typer.Argument(help="The new template's name.")],
    notes: Annotated[str | None, typer.Option(help="What the template is for.")] = None,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Save an import's tables, mode, key, mapping, constants and options as a template."""
    with open_backend(schema, url, token, as_json) as backend:
        found = backend.save_template(import_id, name, notes)
    _show(found, as_json)
