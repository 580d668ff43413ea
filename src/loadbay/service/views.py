"""What the outside sees of loadbay's records: plain JSON values, times in UTC ISO 8601."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict, cast

from loadbay.domain.imports import ACTS, Actor, Import
from loadbay.domain.json import JSON, JSONObject
from loadbay.domain.tokens import Token
from loadbay.domain.uploads import Upload
from loadbay.errors import error_object, speak
from loadbay.times import iso_z

if TYPE_CHECKING:
    from loadbay.service.revert import Reverted


def iso(value: object) -> str | None:
    """A stored (naive UTC) time (or its ISO text) as ``2024-01-15T09:30:00.123456Z``."""
    if value is None:
        return None
    return iso_z(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def upload_view(upload: Upload) -> dict[str, object]:
    """An upload as the API shows it (never its stored path)."""
    return {
        "id": upload.id,
        "filename": upload.filename,
        "size": upload.size,
        "sha256": upload.sha256,
        "format": upload.format,
        "created_at": iso(upload.created_at),
    }


def import_view(record: Import, *, api: bool = True) -> JSONObject:
    """An import as the API, the web pages and webhooks show it (``api``: its messages
    in the API's words, else in the command line's)."""
    error: JSON = None
    if record.error or record.error_code:
        message = speak(record.error or "", api=api)
        error = {"code": record.error_code or "error", "message": message}
    counts: dict[str, JSON] = dict(record.outcome_counts.as_dict())
    return {
        "id": record.id,
        "state": record.state.value,
        "tables": list(record.tables),
        "mode": record.mode,
        "error_handling": record.error_handling,
        "dry_run": record.dry_run,
        "notes": record.notes,
        "template_id": record.template_id,
        "kind": record.kind,
        **{f"{act}_by": actor_view(record.actor(act)) for act in ACTS},
        "counts": counts,
        "rows_total": record.rows_total,
        "rows_processed": record.rows_processed,
        "progress": record.progress,
        "warnings": [speak(w, api=api) for w in record.warnings],
        "created_at": iso(record.created_at),
        "started_at": iso(record.started_at),
        "finished_at": iso(record.finished_at),
        "reverted_at": iso(record.reverted_at),
        "error": error,
    }


def actor_view(actor: Actor | None) -> JSON:
    """Who did something to an import (``{"token_id", "name"}``), or None: not done, or
    done before loadbay kept it."""
    if actor is None:
        return None
    return {"token_id": actor.token_id, "name": actor.name}


class ResultView(TypedDict):
    """One row's outcome as the API shows it."""

    table: str
    file: int
    row: int
    ref: object
    key: object
    outcome: str
    id: int | None
    errors: list[dict[str, object]]
    changes: object


def result_view(row: Mapping[str, object]) -> ResultView:
    """One row's outcome, with its errors (a row of ``imports_sql.page_results``)."""
    record_id = row.get("record_id")
    errors = row.get("errors")
    return {
        "table": str(row["table_name"]),
        "file": _int(row["src"]),
        "row": _int(row["row"]),
        "ref": row.get("ref"),
        "key": row.get("key"),
        "outcome": str(row["outcome"]),
        "id": None if record_id is None else _int(record_id),
        "errors": [
            error_object(e, row["row"])
            for e in (errors if isinstance(errors, list) else [])
            if isinstance(e, Mapping)
        ],
        "changes": _json(row.get("diff")),
    }


def _int(value: object) -> int:
    if isinstance(value, int | str | float):
        return int(value)
    raise TypeError(f"{value!r} is not a number")


def token_view(token: Token) -> dict[str, object]:
    """A token as the API shows it (never its secret, which loadbay does not keep)."""
    return {
        "id": token.id,
        "tenant": token.tenant_id,
        "name": token.name,
        "scope": token.scope,
        "created_at": iso(token.created_at),
        "revoked_at": iso(token.revoked_at),
    }


def revert_view(done: Reverted) -> JSONObject:
    """What a revert did, as the API answers it: the import then, the rows deleted,
    restored and reinserted, the conflicts it overwrote."""
    return {
        "import": import_view(done["import"]),
        "reverted": dict(done["reverted"]),
        "conflicts": cast("list[JSON]", done["conflicts"]),  # rows of plain values
    }
