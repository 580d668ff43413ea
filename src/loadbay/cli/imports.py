"""The import commands: ``import``, ``imports`` (list, show, resume), ``revert``,
``export``; each against the local database or a remote server (``backend``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from loadbay.cli import app
from loadbay.cli.backend import Backend, RunInterrupted, open_backend
from loadbay.cli.common import JsonOpt, SchemaOpt, TokenOpt, UrlOpt, err, pairs
from loadbay.cli.progress import Show, live_progress
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
from loadbay.cli.render import (
    show_import,
    show_imports,
    show_interrupted,
    show_record,
    show_revert,
)
from loadbay.cli.tables import define_tables
from loadbay.client_models import Import
from loadbay.config import Settings
from loadbay.errors import (
    EXIT_INTERRUPTED,
    EXIT_ROW_ERRORS,
    LoadbayError,
    UnreadableFile,
    exit_code_for,
)
from loadbay.pipeline.choices import (
    IMPORT_OPTIONS,
    SOURCE_OPTIONS,
    EmptyPolicy,
    ErrorHandling,
    Mode,
)

if TYPE_CHECKING:  # (the service is imported by the commands that use it, when they run)
    from loadbay.service.requests import ImportRequest, SourceSpec

QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress display (the summary still shows).")
]
ErrorsOpt = Annotated[
    int,
    typer.Option(
        "--errors",
        min=0,
        help="How many failed rows to list one by one, after the errors grouped by table, "
        "column and code (0: none).",
    ),
]

imports_app = typer.Typer(help="List imports, or show one.", invoke_without_command=True)
app.add_typer(imports_app, name="imports")


def _sources(files: list[Path], tables: list[str], read: dict[str, Any]) -> tuple[SourceSpec, ...]:
    """One source per file; ``read``: its read options (SOURCE_OPTIONS)."""
    from loadbay.service.requests import SourceSpec

    if tables and len(tables) not in (1, len(files)):
        raise typer.BadParameter(
            f"give --table once (for every file) or once per file ({len(files)}), "
            f"not {len(tables)} times"
        )
    for path in files:
        if path.is_dir():
            raise UnreadableFile(f"{path} is a folder, not a file")
        if not path.is_file():
            raise UnreadableFile(f"no such file: {path}")
    names: list[str | None] = [*tables] if len(tables) == len(files) else [None] * len(files)
    if len(tables) == 1:
        names = [tables[0]] * len(files)
    return tuple(
        SourceSpec(path=str(p.resolve()), name=p.name, table=t, **read)
        for p, t in zip(files, names, strict=True)
    )


@app.command("import")
def import_(
    typer_ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Files to import (CSV, TSV, JSON Lines, JSON, XML, .xlsx; each may be .gz)."
        ),
    ],
    table: Annotated[
        list[str],
        typer.Option(
            "--table",
            "-t",
            help="Target table; once for "
            "all files or once per file. Not needed for a multi-table JSON file or a "
            "file named after its table.",
        ),
    ] = [],  # noqa: B006
    mode: Annotated[
        Mode, typer.Option(help="create, update, upsert, replace, append or delete.")
    ] = Mode.UPSERT,
    error_handling: Annotated[
        ErrorHandling,
        typer.Option(
            help="strict: any row error and nothing is written. lenient: write the valid rows."
        ),
    ] = ErrorHandling.STRICT,
    key: Annotated[
        list[str],
        typer.Option("--key", help="Match rows on this unique column instead of the table's key."),
    ] = [],  # noqa: B006
    map_: Annotated[
        list[str],
        typer.Option(
            "--map",
            help="'File Column=table_column' ('File Column=': leave it out); repeat for more.",
        ),
    ] = [],  # noqa: B006
    set_: Annotated[
        list[str],
        typer.Option(
            "--set", help="'column=value': a constant for a column the file does not have."
        ),
    ] = [],  # noqa: B006
    strict_columns: Annotated[
        bool, typer.Option(help="Refuse files with columns the table does not have.")
    ] = False,
    require_all_columns: Annotated[
        bool, typer.Option(help="Refuse files that lack any column of the table.")
    ] = False,
    empty: Annotated[
        EmptyPolicy,
        typer.Option(
            help="keep: an empty cell leaves the stored value alone; clear: it sets null."
        ),
    ] = EmptyPolicy.KEEP,
    date_format: Annotated[
        list[str],
        typer.Option("--date-format", help="An extra date format, e.g. %d/%m/%Y; repeat for more."),
    ] = [],  # noqa: B006
    decimal_comma: Annotated[bool, typer.Option(help="Read 1.234,56 as 1234.56.")] = False,
    max_errors: Annotated[
        int | None, typer.Option(help="Abort before writing when more rows than this fail.")
    ] = None,
    lock_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds to wait while another import writes the tables, then fail "
            "(locked). Default: wait."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Validate and plan, write nothing; show what would change.")
    ] = False,
    notes: Annotated[str | None, typer.Option(help="A note kept with the import.")] = None,
    template: Annotated[
        str | None,
        typer.Option(
            help="A saved template (name or id): its settings are the defaults, the options "
            "given here override them (--map and --set key by key)."
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write the failed rows, as in the file plus an error column, to this CSV."
        ),
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
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Define the table from the file(s) first (loadbay tables infer: types, "
            "required columns, --key or a unique column as its key), then import.",
        ),
    ] = False,
    alter: Annotated[
        bool,
        typer.Option(
            "--alter",
            help="Add the columns the file(s) bring to a table you defined (none is dropped "
            "or retyped); with --create, the table is created if it does not exist.",
        ),
    ] = False,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    errors: ErrorsOpt = 20,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Import files into tables, validating every cell and reporting every row."""
    options = {
        "format": format_,
        "delimiter": delimiter,
        "encoding": encoding,
        "sheet": sheet,
        "header": header,
        "skip_lines": skip_lines,
        "header_row": header_row,
        "comment": comment,
        "escape": escape,
        "strict_columns": strict_columns,
        "require_all_columns": require_all_columns,
        "empty": empty.value,
        "date_formats": list(date_format),
        "decimal_comma": decimal_comma,
        "max_errors": max_errors,
        "lock_timeout": lock_timeout,
    }
    fields: dict[str, Any] = {
        "tables": list(table),
        "mode": mode.value,
        "error_handling": error_handling.value,
        "key": list(key),
        "mapping": pairs(map_, "--map"),
        "constants": pairs(set_, "--set"),
        "options": options,
    }
    with open_backend(schema, url, token, as_json) as backend:
        template_id = None
        if template is not None:
            from loadbay.service.requests import merge_template

            saved = backend.get_template(template)
            fields = merge_template(asdict(saved), _given(typer_ctx, fields))
            template_id = saved.id
        request = _request(files, fields, dry_run, notes, template_id)
        if create or alter:
            request = define_tables(backend, Settings.from_env(), request, create, alter)
        found = _running(
            backend, as_json or quiet, lambda show: backend.run_import(request, show), as_json
        )
        _conclude(backend, found, as_json, report, errors)


#: the option of ``import`` behind each field of a template, and behind each of its options
_FIELD_PARAMS = {
    "tables": "table",
    "mode": "mode",
    "error_handling": "error_handling",
    "key": "key",
    "mapping": "map_",
    "constants": "set_",
}
_OPTION_PARAMS = {
    k: {"format": "format_", "date_formats": "date_format"}.get(k, k)
    for k in (*SOURCE_OPTIONS, *IMPORT_OPTIONS)
}


def _given(typer_ctx: typer.Context, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields (and options) given on the command line, not left at their default."""

    def given(param: str) -> bool:
        source = typer_ctx.get_parameter_source(param)  # (typer may bundle its own click)
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    found = {f: fields[f] for f, param in _FIELD_PARAMS.items() if given(param)}
    options = {k: fields["options"][k] for k, param in _OPTION_PARAMS.items() if given(param)}
    if options:
        found["options"] = options
    return found


def _request(
    files: list[Path],
    fields: dict[str, Any],
    dry_run: bool,
    notes: str | None,
    template_id: str | None,
) -> ImportRequest:
    """The import of ``files`` with ``fields`` (named as a template's: TEMPLATE_FIELDS)."""
    from loadbay.service.requests import ImportRequest, parse_choice

    options = {k: v for k, v in (fields["options"] or {}).items() if v is not None}
    return ImportRequest(
        sources=_sources(
            files,
            list(fields["tables"] or []),
            {k: options[k] for k in SOURCE_OPTIONS if k in options},
        ),
        mode=parse_choice(Mode, fields["mode"] or Mode.UPSERT.value, "mode"),
        error_handling=parse_choice(
            ErrorHandling, fields["error_handling"] or ErrorHandling.STRICT.value, "error_handling"
        ),
        key=tuple(fields["key"] or ()),
        mapping=dict(fields["mapping"] or {}),
        constants={k: str(v) for k, v in (fields["constants"] or {}).items()},
        strict_columns=bool(options.get("strict_columns")),
        require_all_columns=bool(options.get("require_all_columns")),
        empty=parse_choice(EmptyPolicy, options.get("empty", EmptyPolicy.KEEP.value), "empty"),
        date_formats=tuple(options.get("date_formats") or ()),
        decimal_comma=bool(options.get("decimal_comma")),
        max_errors=options.get("max_errors"),
        lock_timeout=options.get("lock_timeout"),
        dry_run=dry_run,
        notes=notes,
        template_id=template_id,
    )


def _running(
    backend: Backend, quiet: bool, run: Callable[[Show | None], Import], as_json: bool
) -> Import:
    """``run`` with its live progress on stderr (a terminal's, unless ``quiet``); on
    Ctrl-C, say what became of the import (exit 130)."""
    try:
        with live_progress(not quiet and err.is_terminal, err) as show:
            return run(show)
    except RunInterrupted as stop:
        show_interrupted(backend.get_import(stop.import_id), as_json)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _conclude(
    backend: Backend,
    found: Import,
    as_json: bool,
    report: Path | None = None,
    first: int = 20,
) -> None:
    """Show a finished import (writing its error report first) and exit with its code:
    its errors grouped (when rows failed), then the ``first`` ones one by one."""
    failed = bool(found.counts.failed)
    errors = backend.first_errors(found.id, first) if first > 0 else []
    groups = backend.error_summary(found.id) if failed else []
    if report is not None:
        backend.write_error_report(found.id, report)
    changes = backend.changes(found.id, limit=100) if found.dry_run else []
    show_import(found, errors, changes, as_json, groups)
    if found.state == "failed" and found.error and found.error.get("code"):
        exc = LoadbayError(found.error.get("message"))
        exc.code = found.error["code"]
        raise typer.Exit(exit_code_for(exc))
    if failed:
        raise typer.Exit(EXIT_ROW_ERRORS)


@imports_app.callback()
def imports_list(
    typer_ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """List imports, newest first."""
    if typer_ctx.invoked_subcommand is not None:
        return
    with open_backend(schema, url, token, as_json) as backend:
        found = backend.list_imports(limit)
    show_imports(found, as_json)


@imports_app.command("show")
def imports_show(
    import_id: Annotated[str, typer.Argument(help="The import's id.")],
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Show one import: its state, counts and first errors."""
    with open_backend(schema, url, token, as_json) as backend:
        found = backend.get_import(import_id)
        errors = backend.first_errors(import_id)
    show_record(found, errors, as_json)


@imports_app.command("resume")
def imports_resume(
    import_id: Annotated[str, typer.Argument(help="The interrupted import's id.")],
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    errors: ErrorsOpt = 20,
) -> None:
    """Go on with an import whose process died: from its last committed chunk.

    Local only: with LOADBAY_URL set it refuses (a server's workers resume its imports).
    """
    with open_backend(schema, as_json=as_json) as backend:
        found = _running(
            backend, as_json or quiet, lambda show: backend.resume(import_id, show), as_json
        )
        _conclude(backend, found, as_json, first=errors)


@app.command()
def revert(
    import_id: Annotated[str, typer.Argument(help="The import to undo.")],
    force: Annotated[bool, typer.Option(help="Overwrite rows changed since the import.")] = False,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Undo an import: delete what it created, restore what it updated or deleted."""
    with open_backend(schema, url, token, as_json) as backend:
        result = backend.revert(import_id, force)
    show_revert(import_id, result, as_json)


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="The table to export.")],
    format_: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    schema: SchemaOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """Write a table's rows out, so that importing them again changes nothing."""
    if format_ not in ("csv", "jsonl"):
        raise typer.BadParameter(f"--format {format_!r}: use csv or jsonl")
    with open_backend(schema, url, token) as backend:
        if output is None:
            backend.export(table, sys.stdout, format_)
            return
        with open(output, "w", newline="", encoding="utf-8") as handle:
            count = backend.export(table, handle, format_)
        err.print(f"{count:,} rows of {table} written to {output}")
