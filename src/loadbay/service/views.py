"""What the outside sees of loadbay's records: plain JSON values, times in UTC ISO 8601."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from loadbay.domain.tokens import Token
from loadbay.domain.uploads import Upload
from loadbay.errors import error_object, speak
from loadbay.store.imports_sql import OUTCOMES
from loadbay.times import iso_z


def iso(value: datetime | str | None) -> str | None:
    """A stored (naive UTC) time as ``2024-01-15T09:30:00.123456Z``."""
    if value is None:
        return None
    return iso_z(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _json(value: Any) -> Any:
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


def import_view(record: dict[str, Any], *, api: bool = True) -> dict[str, Any]:
    """An import as the API shows it; ``api=False``: its messages in the command line's
    words (``errors.speak``), as the local CLI shows them."""
    counts = _json(record.get("counts")) or {}
    error = None
    if record.get("error") or record.get("error_code"):
        message = speak(record.get("error") or "", api=api)
        error = {"code": record.get("error_code") or "error", "message": message}
    return {
        "id": record["id"],
        "state": record["state"],
        "tables": list(_json(record.get("tables")) or []),
        "mode": record["mode"],
        "error_handling": record["error_handling"],
        "dry_run": bool(record["dry_run"]),
        "notes": record.get("notes"),
        "template_id": record.get("template_id"),
        "kind": record.get("kind") or "file",
        **{f"{act}_by": actor_view(record, act) for act in ACTS},
        "counts": {k: int(counts.get(k, 0)) for k in OUTCOMES},
        "rows_total": int(record.get("rows_total") or 0),
        "rows_processed": int(record.get("rows_processed") or 0),
        "progress": _json(record.get("progress")),
        "warnings": [speak(w, api=api) for w in _json(record.get("warnings")) or []],
        "created_at": iso(record["created_at"]),
        "started_at": iso(record.get("started_at")),
        "finished_at": iso(record.get("finished_at")),
        "reverted_at": iso(record.get("reverted_at")),
        "error": error,
    }


#: what is done to an import, and who did it kept (columns ``<act>_by``, ``<act>_by_name``)
ACTS = ("created", "started", "cancelled", "reverted")


def actor_view(record: dict[str, Any], act: str) -> dict[str, Any] | None:
    """Who did ``act`` to an import (``{"token_id", "name"}``), or None: not done, or done
    before loadbay kept it."""
    token_id, name = record.get(f"{act}_by"), record.get(f"{act}_by_name")
    if token_id is None and name is None:
        return None
    return {"token_id": token_id, "name": name}


def result_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "table": row["table_name"],
        "file": int(row["src"]),
        "row": int(row["row"]),
        "ref": row.get("ref"),
        "key": row.get("key"),
        "outcome": row["outcome"],
        "id": None if row.get("record_id") is None else int(row["record_id"]),
        "errors": [error_object(e, row["row"]) for e in row.get("errors") or []],
        "changes": _json(row.get("diff")),
    }


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
