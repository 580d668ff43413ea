"""How results look: summary tables, error tables and the ``--json`` payloads.

The one renderer of the command line: it takes the Python client's typed models
(``loadbay.client_models``), which the remote backend gets from the server and the local
one builds from the API's views of the service's records, so both print alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime

from rich.table import Table as RichTable
from rich.text import Text

from loadbay.cli.common import out, show_error
from loadbay.client_models import (
    ErrorGroup,
    Import,
    RevertResult,
    RowError,
    RowResult,
    TableInfo,
    Template,
    Token,
)
from loadbay.errors import Interrupted, speak
from loadbay.times import iso_z, utc_naive

#: a JSON object as ``--json`` prints it
Payload = dict[str, object]


def _iso(moment: datetime | None) -> str | None:
    """A time as the API gives it (``2024-01-15T09:30:00Z``)."""
    return None if moment is None else iso_z(moment)


def _error(found: Import) -> tuple[str | None, str | None]:
    """The code and the message of an import's error (None, None: none)."""
    if not found.error:
        return None, None
    return found.error.get("code"), found.error.get("message") or None


def brief(found: Import) -> Payload:
    """An import's public fields, as ``imports --json`` prints them."""
    code, message = _error(found)
    return {
        "id": found.id,
        "state": found.state,
        "tables": found.tables,
        "mode": found.mode,
        "error_handling": found.error_handling,
        "dry_run": found.dry_run,
        "notes": found.notes,
        "counts": asdict(found.counts),
        "rows_total": found.rows_total,
        "rows_processed": found.rows_processed,
        "created_at": _iso(found.created_at),
        "started_at": _iso(found.started_at),
        "finished_at": _iso(found.finished_at),
        "error_code": code,
        "error": message,
    }


def _change(result: RowResult) -> Payload:
    return {
        "table": result.table,
        "row": result.row,
        "key": result.key,
        "changes": result.changes or {},
    }


def import_payload(
    found: Import,
    errors: list[RowError],
    changes: list[RowResult],
    groups: list[ErrorGroup] | None = None,
) -> Payload:
    """The one object ``import --json`` prints."""
    payload: Payload = {
        "id": found.id,
        "state": found.state,
        "dry_run": found.dry_run,
        "counts": asdict(found.counts),
        "errors": [
            {
                "row": e.row,
                "column": e.column,
                "code": e.code,
                "message": e.message,
                "value": e.value,
                "table": e.table,
            }
            for e in errors
        ],
    }
    code, message = _error(found)
    if message:
        payload["error"] = {"code": code, "message": speak(message, False)}
    if groups:
        payload["error_groups"] = [_group(g) for g in groups]
    if found.warnings:
        payload["warnings"] = [speak(w, False) for w in found.warnings]
    if found.dry_run:
        payload["changes"] = [_change(c) for c in changes]
    return payload


def _group(group: ErrorGroup) -> Payload:
    return {
        "table": group.table,
        "column": group.column,
        "code": group.code,
        "count": group.count,
        "example": group.example,
    }


def show_import(
    found: Import,
    errors: list[RowError],
    changes: list[RowResult],
    as_json: bool,
    groups: list[ErrorGroup] | None = None,
) -> None:
    """A finished import: counts, error, warnings, its errors grouped then the first ones,
    a dry run's first changes, and how long it took."""
    if as_json:
        print(json.dumps(import_payload(found, errors, changes, groups), default=str))
        return
    counts = asdict(found.counts)
    summary = RichTable(title=f"import {found.id}: {found.state}", show_header=True)
    for name in counts:
        summary.add_column(name, justify="right")
    summary.add_row(*(f"{counts[n]:,}" for n in counts))
    out.print(summary)
    took = duration_line(found)
    if took:
        out.print(took)
    code, message = _error(found)
    if message:
        show_error(code or "error", message)
    for warning in found.warnings:
        out.print(Text.assemble(("warning", "yellow"), f": {speak(warning, False)}"))
    if groups:
        group_table(groups)
    if errors:
        error_table(errors)
    if found.dry_run:
        for change in changes[:20]:
            fields = ", ".join(
                f"{k}: {v['old']!r} → {v['new']!r}" for k, v in (change.changes or {}).items()
            )
            out.print(f"row {change.row} ({change.key}): {fields}")


def duration_line(found: Import) -> str | None:
    """``done in 4.2 s: 1,000,000 rows, 238,095 rows/s`` (None before it ran)."""
    started, finished = found.started_at, found.finished_at
    if not started or not finished:
        return None
    seconds = max((utc_naive(finished) - utc_naive(started)).total_seconds(), 0.0)
    read = (found.progress or {}).get("rows_read")
    rows = int(read or found.rows_processed or 0)
    rate = f", {rows / seconds:,.0f} rows/s" if seconds > 0 and rows else ""
    return f"done in {seconds:,.1f} s: {rows:,} rows{rate}"


def group_table(groups: list[ErrorGroup]) -> None:
    """The errors grouped by table, column and code: how many, and an example value."""
    total = sum(g.count for g in groups)
    grid = RichTable(title=f"{total:,} errors by table, column and code")
    for name in ("table", "column", "code", "count", "example"):
        grid.add_column(name, justify="right" if name == "count" else "left")
    for g in groups:
        example = "" if g.example is None else repr(g.example)
        grid.add_row(g.table, g.column or "", g.code, f"{g.count:,}", example)
    out.print(grid)


def interrupted_message(found: Import) -> str:
    """What became of an import whose run Ctrl-C stopped, and what the user can do."""
    import_id, state = found.id, found.state
    written = found.counts.created + found.counts.updated + found.counts.deleted
    said = f"import {import_id} was interrupted (Ctrl-C)"
    if state in ("queued", "validating", "running"):  # the runner could not end it
        return (
            f"{said} and left {state}: 'loadbay imports resume {import_id}' goes on from "
            "its last committed chunk"
        )
    if not written:
        return f"{said} and is {state}; nothing was written"
    return (
        f"{said} and is {state}; the {written:,} rows its committed chunks wrote stay: "
        f"'loadbay revert {import_id}' undoes them"
    )


def show_interrupted(found: Import, as_json: bool) -> None:
    """An import stopped by Ctrl-C: its one-line error (``--json``: the import's object)."""
    message = interrupted_message(found)
    if as_json:
        payload = import_payload(found, [], [])
        payload["error"] = {"code": Interrupted.code, "message": message}
        print(json.dumps(payload, default=str))
        return
    show_error(Interrupted.code, message)


def error_table(errors: list[RowError]) -> None:
    grid = RichTable(title=f"first {len(errors)} errors", show_lines=False)
    for name in ("table", "row", "column", "code", "message"):
        grid.add_column(name)
    for e in errors:
        grid.add_row(e.table, str(e.row), e.column or "", e.code, e.message)
    out.print(grid)


def show_imports(found: list[Import], as_json: bool) -> None:
    """A list of imports, newest first."""
    if as_json:
        print(json.dumps([brief(r) for r in found], default=str))
        return
    grid = RichTable(title="imports")
    for name in ("id", "state", "tables", "mode", "created", "failed", "created_at"):
        grid.add_column(name)
    for r in found:
        grid.add_row(
            r.id,
            r.state,
            ",".join(r.tables),
            r.mode,
            str(r.counts.created),
            str(r.counts.failed),
            str(utc_naive(r.created_at))[:19],
        )
    out.print(grid)


def _error_object(e: RowError) -> Payload:
    """A row's error as ``imports show --json`` lists it."""
    return {
        "table_name": e.table,
        "src": e.file,
        "row": e.row,
        "column": e.column,
        "code": e.code,
        "message": e.message,
        "value": e.value,
    }


def show_record(found: Import, errors: list[RowError], as_json: bool) -> None:
    """One import's fields and its first errors (``imports show``)."""
    warnings = [speak(w, False) for w in found.warnings]
    if as_json:
        payload = {
            **brief(found),
            "warnings": warnings,
            "errors": [_error_object(e) for e in errors],
        }
        print(json.dumps(payload, default=str))
        return
    for k, v in brief(found).items():
        if v not in (None, ""):
            out.print(Text.assemble((k, "bold"), f": {_readable(v)}"))
    for warning in warnings:
        out.print(Text.assemble(("warning", "yellow"), f": {warning}"))
    if errors:
        error_table(errors)


def _readable(value: object) -> str:
    """A field as a person reads it: a list joined, counts named, yes or no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_readable(v)}" for k, v in value.items())
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def show_revert(import_id: str, result: RevertResult, as_json: bool) -> None:
    if as_json:
        payload = {
            "id": import_id,
            "state": result.import_.state,
            "reverted": result.reverted,
            "conflicts": result.conflicts,
        }
        print(json.dumps(payload, default=str))
        return
    done = result.reverted
    out.print(
        f"import {import_id} reverted: {done['deleted']} created rows deleted, "
        f"{done['restored']} rows restored, {done['reinserted']} deleted rows back"
    )


def show_tables(found: list[TableInfo], as_json: bool) -> None:
    """Tables with their columns, keys and references."""
    if as_json:
        print(json.dumps([asdict(t) for t in found]))
        return
    for t in found:
        grid = RichTable(title=f"{t.name} (key: {', '.join(t.key) or 'none'})")
        for name in ("column", "type", "rules", "references"):
            grid.add_column(name)
        for c in t.columns:
            grid.add_row(
                str(c["name"]), str(c["type"]), ", ".join(_rules(c)), str(c["references"] or "")
            )
        out.print(grid)


def _rules(column: Mapping[str, object]) -> list[str]:
    rules = [r for r in ("required", "unique") if column[r]]
    enum = column["enum"]
    if isinstance(enum, list) and enum:
        rules.append("one of " + "|".join(str(v) for v in enum))
    if column["default"] is not None:
        rules.append(f"default {column['default']}")
    if column["min"] is not None:
        rules.append(f">= {column['min']}")
    if column.get("format"):
        rules.append(f"format {column['format']}")
    return rules


def token_payload(found: Token) -> Payload:
    """A token as the API shows it (``service.views.token_view``), never its secret."""
    return {
        **asdict(found),
        "created_at": _iso(found.created_at),
        "revoked_at": _iso(found.revoked_at),
    }


def show_tokens(found: list[Token], as_json: bool) -> None:
    """Tokens, never their secrets."""
    if as_json:
        print(json.dumps([token_payload(t) for t in found]))
        return
    grid = RichTable(title="tokens")
    for col in ("id", "tenant", "scope", "name", "created_at", "revoked_at"):
        grid.add_column(col)
    for t in found:
        grid.add_row(
            t.id,
            t.tenant,
            t.scope,
            t.name or "",
            (_iso(t.created_at) or "")[:19],
            (_iso(t.revoked_at) or "")[:19],
        )
    out.print(grid)


def template_payload(found: Template) -> Payload:
    """A template as the API shows it (``domain.templates.template_view``)."""
    return {
        **asdict(found),
        "created_at": _iso(found.created_at),
        "updated_at": _iso(found.updated_at),
    }


def _settings(found: Template) -> list[tuple[str, str]]:
    """A template's settings as (name, text) lines, the empty ones left out."""
    lines = [
        ("tables", ", ".join(found.tables)),
        ("mode", found.mode or ""),
        ("error handling", found.error_handling or ""),
        ("key", ", ".join(found.key)),
        ("mapping", ", ".join(f"{k} → {v}" for k, v in found.mapping.items())),
        ("constants", ", ".join(f"{k}={v}" for k, v in found.constants.items())),
        ("options", ", ".join(f"{k}={v}" for k, v in found.options.items())),
        ("notes", found.notes or ""),
    ]
    return [(k, v) for k, v in lines if v]


def show_template(found: Template, as_json: bool) -> None:
    """One template's settings (``templates show``, ``templates save``)."""
    if as_json:
        print(json.dumps(template_payload(found), default=str))
        return
    grid = RichTable(title=f"{found.name} ({found.id})", show_header=False)
    grid.add_column("setting")
    grid.add_column("value")
    for name, value in _settings(found):
        grid.add_row(name, value)
    out.print(grid)


def show_templates(found: list[Template], as_json: bool) -> None:
    """The saved templates, by name."""
    if as_json:
        print(json.dumps([template_payload(t) for t in found], default=str))
        return
    if not found:
        out.print("no templates")
        return
    grid = RichTable()
    for name in ("name", "id", "tables", "mode", "notes"):
        grid.add_column(name)
    for t in found:
        grid.add_row(t.name, t.id, ", ".join(t.tables), t.mode or "", t.notes or "")
    out.print(grid)


def show_deleted_template(found: Template, as_json: bool) -> None:
    if as_json:
        print(json.dumps(template_payload(found), default=str))
        return
    out.print(f"deleted template {found.name} ({found.id})")
