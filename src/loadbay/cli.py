"""The ``loadbay`` command line: thin commands over the service layer.

Exit codes: 0 every row applied (or a clean dry run), 3 finished with row errors,
1 fatal error (unreadable file, unknown table, bad option, conflict), 2 usage.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from loadbay.config import Settings
from loadbay.errors import EXIT_ROW_ERRORS, LoadbayError, exit_code_for
from loadbay.pipeline.frames import EmptyPolicy, ErrorHandling, Mode
from loadbay.service import imports as import_service
from loadbay.service import tables as table_service
from loadbay.service.context import Context, open_context
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.service.revert import revert_import

app = typer.Typer(
    help="loadbay: validate, load, report and revert bulk imports into SQLite or PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
imports_app = typer.Typer(help="List imports, or show one.", invoke_without_command=True)
app.add_typer(imports_app, name="imports")

out = Console()
err = Console(stderr=True)

SchemaOpt = Annotated[
    Path | None,
    typer.Option(
        "--schema",
        help="A YAML or JSON schema file with custom tables (default: $LOADBAY_SCHEMA).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]


@contextmanager
def _context(schema: Path | None, as_json: bool = False):  # type: ignore[no-untyped-def]
    """Open the service; turn loadbay errors into a message and an exit code."""
    ctx: Context | None = None
    try:
        ctx = open_context(Settings.from_env(), schema)
        yield ctx
    except LoadbayError as exc:
        _fatal(exc, as_json)
    finally:
        if ctx is not None:
            ctx.close()


def _fatal(exc: LoadbayError, as_json: bool, extra: dict[str, Any] | None = None) -> None:
    if as_json:
        payload = {
            **(extra or {}),
            "error": {"code": exc.code, "message": exc.message, **_jsonable(exc.details)},
        }
        print(json.dumps(payload))
    else:
        err.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
        conflicts = exc.details.get("conflicts")
        for item in conflicts[:50] if isinstance(conflicts, list) else []:
            err.print(f"  {item['table']} id {item['id']}: {item['reason']}", highlight=False)
    raise typer.Exit(exit_code_for(exc))


def _jsonable(details: dict[str, object]) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(json.dumps(details, default=str))
    return loaded


def _pairs(values: list[str], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in values:
        left, sep, right = item.partition("=")
        if not sep or not left.strip():
            raise typer.BadParameter(f"{what} {item!r} is not NAME=VALUE")
        found[left.strip()] = right.strip() if what == "--map" else right
    return found


def _sources(
    files: list[Path],
    tables: list[str],
    fmt: str | None,
    delimiter: str | None,
    encoding: str | None,
    sheet: str | None,
) -> tuple[SourceSpec, ...]:
    if tables and len(tables) not in (1, len(files)):
        raise typer.BadParameter(
            f"give --table once (for every file) or once per file ({len(files)}), "
            f"not {len(tables)} times"
        )
    for path in files:
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}")
    names: list[str | None] = [*tables] if len(tables) == len(files) else [None] * len(files)
    if len(tables) == 1:
        names = [tables[0]] * len(files)
    return tuple(
        SourceSpec(
            path=str(p.resolve()),
            name=p.name,
            table=t,
            format=fmt,
            delimiter=delimiter,
            encoding=encoding,
            sheet=sheet,
        )
        for p, t in zip(files, names, strict=True)
    )


@app.command("import")
def import_(
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
        list[str], typer.Option("--map", help="'File Column=table_column'; repeat for more.")
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
    dry_run: Annotated[
        bool, typer.Option(help="Validate and plan, write nothing; show what would change.")
    ] = False,
    notes: Annotated[str | None, typer.Option(help="A note kept with the import.")] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Write the failed rows, as in the file plus an error column, to this CSV."
        ),
    ] = None,
    format_: Annotated[
        str | None,
        typer.Option("--format", help="Force the file format: csv, tsv, jsonl, json, xml, xlsx."),
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="Force the CSV delimiter.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Force the text encoding.")] = None,
    sheet: Annotated[str | None, typer.Option(help="The .xlsx sheet (default: the first).")] = None,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import files into tables, validating every cell and reporting every row."""
    with _context(schema, as_json) as ctx:
        request = ImportRequest(
            sources=_sources(files, table, format_, delimiter, encoding, sheet),
            mode=mode,
            error_handling=error_handling,
            key=tuple(key),
            mapping=_pairs(map_, "--map"),
            constants=_pairs(set_, "--set"),
            strict_columns=strict_columns,
            require_all_columns=require_all_columns,
            empty=empty,
            date_formats=tuple(date_format),
            decimal_comma=decimal_comma,
            max_errors=max_errors,
            dry_run=dry_run,
            notes=notes,
        )
        import_id = import_service.create_import(ctx, request)
        with _progress(enabled=not as_json and err.is_terminal) as progress:
            record = import_service.run_import(ctx, import_id, progress=progress)
        errors = import_service.first_errors(ctx, import_id)
        if report is not None:
            import_service.write_error_report(ctx, import_id, report)
        _show_import(ctx, record, errors, as_json)
        _exit_for(record, as_json)


def _exit_for(record: dict[str, Any], as_json: bool) -> None:
    if record["state"] == "failed" and record.get("error_code"):
        exc = LoadbayError(record["error"])
        exc.code = record["error_code"]
        raise typer.Exit(exit_code_for(exc))
    counts = record.get("counts") or {}
    if counts.get("failed"):
        raise typer.Exit(EXIT_ROW_ERRORS)


@contextmanager
def _progress(enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(
                    "reading and validating" if phase == "read" else "writing", total=total
                )
            bar.update(tasks[phase], completed=done, total=total)

        yield report


def _show_import(
    ctx: Context, record: dict[str, Any], errors: list[dict[str, Any]], as_json: bool
) -> None:
    counts = record.get("counts") or {}
    if as_json:
        payload: dict[str, Any] = {
            "id": record["id"],
            "state": record["state"],
            "dry_run": bool(record["dry_run"]),
            "counts": counts,
            "errors": [
                {
                    "row": e["row"],
                    "column": e["column"],
                    "code": e["code"],
                    "message": e["message"],
                    "value": e["value"],
                    "table": e["table_name"],
                }
                for e in errors
            ],
        }
        if record.get("error"):
            payload["error"] = {"code": record["error_code"], "message": record["error"]}
        if record.get("warnings"):
            payload["warnings"] = record["warnings"]
        if record["dry_run"]:
            payload["changes"] = _changes(ctx, record["id"], limit=100)
        print(json.dumps(payload, default=str))
        return
    summary = RichTable(title=f"import {record['id']}: {record['state']}", show_header=True)
    for name in counts:
        summary.add_column(name, justify="right")
    summary.add_row(*(f"{counts[n]:,}" for n in counts))
    out.print(summary)
    if record.get("error"):
        out.print(
            f"[bold red]error[/] ({record['error_code']}): {record['error']}", highlight=False
        )
    for warning in record.get("warnings") or []:
        out.print(f"[yellow]warning[/]: {warning}", highlight=False)
    if errors:
        _error_table(errors)
    if record["dry_run"]:
        for change in _changes(ctx, record["id"], limit=20):
            fields = ", ".join(
                f"{k}: {v['old']!r} → {v['new']!r}" for k, v in change["changes"].items()
            )
            out.print(f"row {change['row']} ({change['key']}): {fields}", highlight=False)


def _error_table(errors: list[dict[str, Any]]) -> None:
    grid = RichTable(title=f"first {len(errors)} errors", show_lines=False)
    for name in ("table", "row", "column", "code", "message"):
        grid.add_column(name)
    for e in errors:
        grid.add_row(e["table_name"], str(e["row"]), e["column"] or "", e["code"], e["message"])
    out.print(grid)


def _changes(ctx: Context, import_id: str, limit: int) -> list[dict[str, Any]]:
    found = []
    for result in import_service.iter_results(ctx, import_id, outcomes=["updated"]):
        diff = result.get("diff")
        if isinstance(diff, str):
            diff = json.loads(diff)
        found.append(
            {
                "table": result["table_name"],
                "row": result["row"],
                "key": result["key"],
                "changes": diff or {},
            }
        )
        if len(found) >= limit:
            break
    return found


@imports_app.callback()
def imports_list(
    typer_ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List imports, newest first."""
    if typer_ctx.invoked_subcommand is not None:
        return
    with _context(schema, as_json) as ctx:
        found = import_service.list_imports(ctx, limit=limit)
    if as_json:
        print(json.dumps([_brief(r) for r in found], default=str))
        return
    grid = RichTable(title="imports")
    for name in ("id", "state", "tables", "mode", "created", "failed", "created_at"):
        grid.add_column(name)
    for r in found:
        counts = r.get("counts") or {}
        grid.add_row(
            r["id"],
            r["state"],
            ",".join(r["tables"] or []),
            r["mode"],
            str(counts.get("created", 0)),
            str(counts.get("failed", 0)),
            str(r["created_at"])[:19],
        )
    out.print(grid)


def _brief(record: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "id",
        "state",
        "tables",
        "mode",
        "error_handling",
        "dry_run",
        "notes",
        "counts",
        "rows_total",
        "rows_processed",
        "created_at",
        "started_at",
        "finished_at",
        "error_code",
        "error",
    )
    return {k: record.get(k) for k in keys}


@imports_app.command("show")
def imports_show(
    import_id: Annotated[str, typer.Argument(help="The import's id.")],
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one import: its state, counts and first errors."""
    with _context(schema, as_json) as ctx:
        record = import_service.get_import(ctx, import_id)
        errors = import_service.first_errors(ctx, import_id)
        if as_json:
            print(json.dumps({**_brief(record), "errors": errors}, default=str))
            return
        for k, v in _brief(record).items():
            if v not in (None, ""):
                out.print(f"[bold]{k}[/]: {v}", highlight=False)
        if errors:
            _error_table(errors)


@imports_app.command("resume")
def imports_resume(
    import_id: Annotated[str, typer.Argument(help="The interrupted import's id.")],
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Go on with an import whose process died: from its last committed chunk."""
    with _context(schema, as_json) as ctx:
        with _progress(enabled=not as_json and err.is_terminal) as progress:
            record = import_service.run_import(ctx, import_id, progress=progress)
        errors = import_service.first_errors(ctx, import_id)
        _show_import(ctx, record, errors, as_json)
        _exit_for(record, as_json)


@app.command()
def revert(
    import_id: Annotated[str, typer.Argument(help="The import to undo.")],
    force: Annotated[bool, typer.Option(help="Overwrite rows changed since the import.")] = False,
    schema: SchemaOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo an import: delete what it created, restore what it updated or deleted."""
    with _context(schema, as_json) as ctx:
        result = revert_import(ctx, import_id, force=force)
        if as_json:
            print(
                json.dumps(
                    {
                        "id": import_id,
                        "state": result["import"]["state"],
                        "reverted": result["reverted"],
                        "conflicts": result["conflicts"],
                    },
                    default=str,
                )
            )
            return
        done = result["reverted"]
        out.print(
            f"import {import_id} reverted: {done['deleted']} created rows deleted, "
            f"{done['restored']} rows restored, {done['reinserted']} deleted rows back",
            highlight=False,
        )


@app.command()
def tables(schema: SchemaOpt = None, as_json: JsonOpt = False) -> None:
    """List the tables with their columns, keys and references."""
    with _context(schema, as_json) as ctx:
        found = table_service.list_tables(ctx)
    if as_json:
        print(json.dumps(found))
        return
    for t in found:
        grid = RichTable(title=f"{t['name']} (key: {', '.join(t['key']) or 'none'})")
        for name in ("column", "type", "rules", "references"):
            grid.add_column(name)
        for c in t["columns"]:
            rules = [r for r in ("required", "unique") if c[r]]
            if c["enum"]:
                rules.append("one of " + "|".join(c["enum"]))
            if c["default"] is not None:
                rules.append(f"default {c['default']}")
            if c["min"] is not None:
                rules.append(f">= {c['min']}")
            grid.add_row(c["name"], c["type"], ", ".join(rules), c["references"] or "")
        out.print(grid)


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="The table to export.")],
    format_: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    output: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    schema: SchemaOpt = None,
) -> None:
    """Write a table's rows out, so that importing them again changes nothing."""
    if format_ not in ("csv", "jsonl"):
        raise typer.BadParameter(f"--format {format_!r}: use csv or jsonl")
    with _context(schema) as ctx:
        if output is None:
            table_service.export_table(ctx, table, sys.stdout, format_)
            return
        with open(output, "w", newline="", encoding="utf-8") as handle:
            count = table_service.export_table(ctx, table, handle, format_)
        err.print(f"{count:,} rows of {table} written to {output}", highlight=False)


# ---- the server, its workers, and API tokens ------------------------------------------
tokens_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    worker: Annotated[
        bool, typer.Option(help="Run import workers in this process (--no-worker: API only).")
    ] = True,
) -> None:
    """Serve the HTTP API (docs at /docs) and run imports; sets up a fresh install."""
    from loadbay import server

    try:
        server.serve(Settings.from_env(), host, port, sys.stdout, with_workers=worker)
    except LoadbayError as exc:
        _fatal(exc, False)


@app.command()
def worker(
    workers: Annotated[
        int | None, typer.Option(help="Worker threads (default: $LOADBAY_WORKERS or 2).")
    ] = None,
) -> None:
    """Run import workers only (PostgreSQL + LOADBAY_QUEUE_URL deployments); any number."""
    from loadbay import server

    settings = Settings.from_env()
    try:
        server.worker(settings, workers or settings.workers)
    except LoadbayError as exc:
        _fatal(exc, False)


@tokens_app.command("create")
def tokens_create(
    tenant: Annotated[str, typer.Option(help="The tenant (created if new).")],
    scope: Annotated[str, typer.Option(help="read, write or admin.")],
    name: Annotated[str | None, typer.Option(help="A label for the token.")] = None,
) -> None:
    """Make a token and print it, alone, once (only its hash is kept)."""
    from loadbay.service import auth

    with _context(None) as ctx:
        _, secret = auth.create_token(ctx, tenant, scope, name)
    print(secret)


@tokens_app.command("list")
def tokens_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's tokens.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List tokens (never their secrets)."""
    from loadbay.service import auth
    from loadbay.service.views import token_view

    with _context(None, as_json) as ctx:
        found = [token_view(t) for t in auth.list_tokens(ctx, tenant)]
    if as_json:
        print(json.dumps(found))
        return
    grid = RichTable(title="tokens")
    for col in ("id", "tenant", "scope", "name", "created_at", "revoked_at"):
        grid.add_column(col)
    for t in found:
        grid.add_row(
            *(str(t[c] or "") for c in ("id", "tenant", "scope", "name")),
            str(t["created_at"])[:19],
            str(t["revoked_at"] or "")[:19],
        )
    out.print(grid)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (tok_…).")]) -> None:
    """Revoke a token: it is refused from now on."""
    from loadbay.service import auth

    with _context(None) as ctx:
        auth.revoke_token(ctx, token_id)
    err.print(f"token {token_id} revoked", highlight=False)


def main() -> None:
    app()
