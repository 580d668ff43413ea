"""How results look: summary tables, error tables and the ``--json`` payloads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.table import Table as RichTable
from rich.text import Text

from loadbay.cli.common import out, show_error
from loadbay.errors import Interrupted, speak
from loadbay.times import utc_naive

_BRIEF = (
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


def brief(record: dict[str, Any]) -> dict[str, Any]:
    """An import's public fields, as ``imports --json`` prints them."""
    return {k: record.get(k) for k in _BRIEF}


def import_payload(
    record: dict[str, Any],
    errors: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    groups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The one object ``import --json`` prints."""
    payload: dict[str, Any] = {
        "id": record["id"],
        "state": record["state"],
        "dry_run": bool(record["dry_run"]),
        "counts": record.get("counts") or {},
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
        payload["error"] = {"code": record["error_code"], "message": speak(record["error"], False)}
    if groups:
        payload["error_groups"] = [_group(g) for g in groups]
    if record.get("warnings"):
        payload["warnings"] = [speak(w, False) for w in record["warnings"]]
    if record["dry_run"]:
        payload["changes"] = changes
    return payload


def _group(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "table": group["table_name"],
        "column": group["column"],
        "code": group["code"],
        "count": int(group["count"]),
        "example": group["example"],
    }


def show_import(
    record: dict[str, Any],
    errors: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    as_json: bool,
    groups: list[dict[str, Any]] | None = None,
) -> None:
    """A finished import: counts, error, warnings, its errors grouped then the first ones,
    a dry run's first changes, and how long it took."""
    if as_json:
        print(json.dumps(import_payload(record, errors, changes, groups), default=str))
        return
    counts = record.get("counts") or {}
    summary = RichTable(title=f"import {record['id']}: {record['state']}", show_header=True)
    for name in counts:
        summary.add_column(name, justify="right")
    summary.add_row(*(f"{counts[n]:,}" for n in counts))
    out.print(summary)
    took = duration_line(record)
    if took:
        out.print(took)
    if record.get("error"):
        show_error(record["error_code"], record["error"])
    for warning in record.get("warnings") or []:
        out.print(Text.assemble(("warning", "yellow"), f": {speak(warning, False)}"))
    if groups:
        group_table(groups)
    if errors:
        error_table(errors)
    if record["dry_run"]:
        for change in changes[:20]:
            fields = ", ".join(
                f"{k}: {v['old']!r} → {v['new']!r}" for k, v in change["changes"].items()
            )
            out.print(f"row {change['row']} ({change['key']}): {fields}")


def duration_line(record: dict[str, Any]) -> str | None:
    """``done in 4.2 s: 1,000,000 rows, 238,095 rows/s`` (None before it ran)."""
    started, finished = record.get("started_at"), record.get("finished_at")
    if not started or not finished:
        return None
    seconds = max((_time(finished) - _time(started)).total_seconds(), 0.0)
    progress = record.get("progress") or {}
    rows = int(progress.get("rows_read") or record.get("rows_processed") or 0)
    rate = f", {rows / seconds:,.0f} rows/s" if seconds > 0 and rows else ""
    return f"done in {seconds:,.1f} s: {rows:,} rows{rate}"


def _time(value: datetime | str) -> datetime:
    return utc_naive(value if isinstance(value, datetime) else datetime.fromisoformat(value))


def group_table(groups: list[dict[str, Any]]) -> None:
    """The errors grouped by table, column and code: how many, and an example value."""
    total = sum(int(g["count"]) for g in groups)
    grid = RichTable(title=f"{total:,} errors by table, column and code")
    for name in ("table", "column", "code", "count", "example"):
        grid.add_column(name, justify="right" if name == "count" else "left")
    for g in groups:
        example = "" if g["example"] is None else repr(g["example"])
        grid.add_row(g["table_name"], g["column"] or "", g["code"], f"{g['count']:,}", example)
    out.print(grid)


def interrupted_message(record: dict[str, Any]) -> str:
    """What became of an import whose run Ctrl-C stopped, and what the user can do."""
    import_id, state = record["id"], record["state"]
    counts = record.get("counts") or {}
    written = sum(counts.get(k) or 0 for k in ("created", "updated", "deleted"))
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


def show_interrupted(record: dict[str, Any], as_json: bool) -> None:
    """An import stopped by Ctrl-C: its one-line error (``--json``: the import's object)."""
    message = interrupted_message(record)
    if as_json:
        payload = import_payload(record, [], [])
        payload["error"] = {"code": Interrupted.code, "message": message}
        print(json.dumps(payload, default=str))
        return
    show_error(Interrupted.code, message)


def error_table(errors: list[dict[str, Any]]) -> None:
    grid = RichTable(title=f"first {len(errors)} errors", show_lines=False)
    for name in ("table", "row", "column", "code", "message"):
        grid.add_column(name)
    for e in errors:
        grid.add_row(e["table_name"], str(e["row"]), e["column"] or "", e["code"], e["message"])
    out.print(grid)


def show_imports(found: list[dict[str, Any]], as_json: bool) -> None:
    """A list of imports, newest first."""
    if as_json:
        print(json.dumps([brief(r) for r in found], default=str))
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


def show_record(record: dict[str, Any], errors: list[dict[str, Any]], as_json: bool) -> None:
    """One import's fields and its first errors (``imports show``)."""
    warnings = [speak(w, False) for w in record.get("warnings") or []]
    if as_json:
        print(json.dumps({**brief(record), "warnings": warnings, "errors": errors}, default=str))
        return
    for k, v in brief(record).items():
        if v not in (None, ""):
            out.print(Text.assemble((k, "bold"), f": {v}"))
    for warning in warnings:
        out.print(Text.assemble(("warning", "yellow"), f": {warning}"))
    if errors:
        error_table(errors)


def show_revert(import_id: str, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        payload = {
            "id": import_id,
            "state": result["import"]["state"],
            "reverted": result["reverted"],
            "conflicts": result["conflicts"],
        }
        print(json.dumps(payload, default=str))
        return
    done = result["reverted"]
    out.print(
        f"import {import_id} reverted: {done['deleted']} created rows deleted, "
        f"{done['restored']} rows restored, {done['reinserted']} deleted rows back"
    )


def show_tables(found: list[dict[str, Any]], as_json: bool) -> None:
    """Tables with their columns, keys and references."""
    if as_json:
        print(json.dumps(found))
        return
    for t in found:
        grid = RichTable(title=f"{t['name']} (key: {', '.join(t['key']) or 'none'})")
        for name in ("column", "type", "rules", "references"):
            grid.add_column(name)
        for c in t["columns"]:
            grid.add_row(c["name"], c["type"], ", ".join(_rules(c)), c["references"] or "")
        out.print(grid)


def _rules(column: dict[str, Any]) -> list[str]:
    rules = [r for r in ("required", "unique") if column[r]]
    if column["enum"]:
        rules.append("one of " + "|".join(column["enum"]))
    if column["default"] is not None:
        rules.append(f"default {column['default']}")
    if column["min"] is not None:
        rules.append(f">= {column['min']}")
    if column.get("format"):
        rules.append(f"format {column['format']}")
    return rules


def show_tokens(found: list[dict[str, Any]], as_json: bool) -> None:
    """Tokens, never their secrets."""
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
