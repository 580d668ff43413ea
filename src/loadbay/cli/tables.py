"""The ``tables`` commands: list the tables (``loadbay tables``), and infer one from files
(``loadbay tables infer``); and what ``import --create``/``--alter`` do before the import:
define the table from the files, or add the columns they bring."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loadbay.cli import app
from loadbay.cli.backend import Backend, open_backend
from loadbay.cli.common import JsonOpt, SchemaOpt, TokenOpt, UrlOpt, err, fatal_errors
from loadbay.cli.read_options import (
    CommentOpt,
    DelimiterOpt,
    EncodingOpt,
    EscapeOpt,
    FormatOpt,
    HeaderOpt,
    HeaderRowOpt,
    SheetOpt,
    SkipLinesOpt,
)
from loadbay.cli.render import show_tables
from loadbay.config import Settings
from loadbay.errors import Conflict, InvalidOption, UnknownTable, UnreadableFile

if TYPE_CHECKING:  # (the service and the engine are imported when a command runs)
    from loadbay.service.requests import ImportRequest
    from loadbay.service.tables import Suggestion

tables_app = typer.Typer(
    help="The tables: list them, or infer one from files.", invoke_without_command=True
)
app.add_typer(tables_app, name="tables")


@tables_app.callback()
def tables_list(
    typer_ctx: typer.Context,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """List the tables with their columns, keys and references."""
    if typer_ctx.invoked_subcommand is not None:
        return
    with open_backend(schema, url, token, as_json) as backend:
        found = backend.tables()
    show_tables(found, as_json)


@tables_app.command("infer")
def tables_infer(
    files: Annotated[list[Path], typer.Argument(help="The files to infer the table(s) from.")],
    table: Annotated[
        str | None,
        typer.Option("--table", "-t", help="One table for every file (default: each file's name)."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(help="The key column (default: the first unique column with every value)."),
    ] = None,
    format_: FormatOpt = None,
    delimiter: DelimiterOpt = None,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    header: HeaderOpt = True,
    skip_lines: SkipLinesOpt = None,
    header_row: HeaderRowOpt = None,
    comment: CommentOpt = None,
    escape: EscapeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the table definition the files call for, as a --schema file (YAML): each
    column's type (with a decimal's precision and scale, a date's format), required where
    no cell is empty, and a key. Reads every row once; creates nothing."""
    import yaml

    from loadbay.schema.loader import table_spec
    from loadbay.service.requests import SourceSpec
    from loadbay.service.tables import infer_sources

    with fatal_errors(as_json):
        sources = [
            SourceSpec(
                path=_checked(path),
                name=path.name,
                table=table,
                format=format_,
                delimiter=delimiter,
                encoding=encoding,
                sheet=sheet,
                header=header,
                skip_lines=skip_lines,
                header_row=header_row,
                comment=comment,
                escape=escape,
            )
            for path in files
        ]
        found = infer_sources(Settings.from_env(), sources, key)
    if as_json:
        print(json.dumps({"tables": [s.view() for s in found]}, ensure_ascii=False))
        return
    for suggestion in found:
        for note in suggestion.notes:
            err.print(f"note: {note}", soft_wrap=True)
    comments = "".join(_comment(s) for s in found)
    body = {"tables": [table_spec(s.table) for s in found]}
    text = yaml.safe_dump(
        body, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    print(comments + text, end="")


def _comment(found: Suggestion) -> str:
    """What the YAML cannot say: the rows read, and which header each column comes from."""
    text = f"{found.table.name}: {found.rows:,} rows read"
    if found.mapping:
        text += "; columns of headers: " + ", ".join(
            f"{h!r} -> {c}" for h, c in found.mapping.items()
        )
    return "".join(f"# {line}\n" for line in textwrap.wrap(text, 98))


def _checked(path: Path) -> str:
    """The path of a file to read, resolved (UnreadableFile: not a file)."""
    if path.is_dir():
        raise UnreadableFile(f"{path} is a folder, not a file")
    if not path.is_file():
        raise UnreadableFile(f"no such file: {path}")
    return str(path.resolve())


def define_tables(
    backend: Backend, settings: Settings, request: ImportRequest, create: bool, alter: bool
) -> ImportRequest:
    """``import --create``/``--alter``: the files' table defined from them (``--create``:
    a new table, with ``--key`` as its key) or given the columns they bring (``--alter``:
    a table you defined), then the import of them into it, its headers mapped to the
    columns the definition named (``--map`` wins)."""
    from loadbay.pipeline.frames import Mode
    from loadbay.pipeline.infer import table_name_of
    from loadbay.schema.loader import table_spec
    from loadbay.service import tables as table_service

    if request.dry_run:
        raise InvalidOption(
            "--dry-run writes nothing, and --create or --alter would change a table: see the "
            "table with 'loadbay tables infer', or import without --dry-run"
        )
    names = {s.table or table_name_of(s.name) for s in request.sources}
    if len(names) != 1:
        raise InvalidOption(
            "--create and --alter define one table at a time: give --table, or import the "
            f"files one by one (these go to {', '.join(sorted(names))})"
        )
    (name,) = names
    sources = tuple(dataclasses.replace(s, table=name) for s in request.sources)
    key = request.key[0] if create and len(request.key) == 1 else None
    found = table_service.infer_sources(settings, sources, key)
    if len(found) != 1:  # a JSON file of several tables names its own
        raise InvalidOption(
            "--create and --alter define one table at a time, and the file holds several "
            f"({', '.join(s.table.name for s in found)})"
        )
    (suggested,) = found
    existing = {t.name: t for t in backend.tables()}
    if name not in existing:
        if not create:
            raise UnknownTable(f"unknown table {name!r}: --create defines it from the file")
        backend.create_table(table_spec(suggested.table))
        err.print(f"created table {name} ({len(suggested.table.columns)} columns)")
    elif not alter:
        raise Conflict(
            f"table {name!r} exists already: import without --create, or with --alter to "
            "add the columns the file brings"
        )
    else:
        have = [str(c["name"]) for c in existing[name].columns]
        added = table_service.new_columns(have, suggested.table)
        if added:
            backend.alter_table(name, added)
            err.print(f"added to table {name}: {', '.join(str(c['name']) for c in added)}")
    changes: dict[str, Any] = {
        "sources": sources,
        "mapping": {**suggested.mapping, **request.mapping},
    }
    if key is not None:  # --key named the new key, maybe by its header
        changes["key"] = suggested.table.key
    if create and not suggested.table.key and request.mode is Mode.UPSERT:
        changes["mode"] = Mode.APPEND  # a table without a key takes rows by appending
    return dataclasses.replace(request, **changes)
