"""The ``templates`` commands: list, show and delete saved import settings (local or remote).

A template is saved from an import (``templates save IMPORT_ID NAME``, or through the
API: ``POST /v1/templates``) and used with ``loadbay import FILE --template NAME``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from loadbay.cli import app
from loadbay.cli.backend import open_backend
from loadbay.cli.common import JsonOpt, SchemaOpt, TokenOpt, UrlOpt
from loadbay.cli.render import show_deleted_template, show_template, show_templates

templates_app = typer.Typer(help="Saved import templates: save, list, show, delete.")
app.add_typer(templates_app, name="templates")

NameArg = Annotated[str, typer.Argument(help="The template's name (or its tpl_ id).")]


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
    show_templates(found, as_json)


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
    show_template(found, as_json)


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
    show_deleted_template(found, as_json)


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
    show_template(found, as_json)
