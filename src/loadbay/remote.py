"""The command line against a remote loadbay server, through the Python client.

When ``LOADBAY_URL`` and ``LOADBAY_TOKEN`` are set (or ``--url`` / ``--token``), the
``import``, ``imports``, ``revert`` and ``export`` commands call these functions instead of
the local service (``loadbay.cli.backend.RemoteBackend``). Each returns what the local
call returns (the same dict shapes, times as naive UTC datetimes), so the commands print
the same output and exit with the same codes. API errors are
:class:`loadbay.client.ApiError`; inside :func:`api_errors` they, and a server that does
not answer, become the plain ``LoadbayError`` the local service would raise (the problem's
code, message and own details, such as a revert's ``conflicts``).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx

from loadbay.client import ApiError, Client
from loadbay.client_models import Import, RowResult, Template
from loadbay.config import Settings
from loadbay.errors import InvalidOption, LoadbayError, Unavailable
from loadbay.pipeline.choices import SOURCE_OPTIONS
from loadbay.service.requests import ImportRequest
from loadbay.service.views import iso
from loadbay.times import utc_naive

_TIMES = ("created_at", "started_at", "finished_at", "reverted_at")
_PROBLEM = ("type", "status", "instance")


def connect(settings: Settings, url: str | None = None, token: str | None = None) -> Client | None:
    """A client when a remote server is configured (flags first, then the environment)."""
    url, token = url or settings.url, token or settings.token
    if not url:
        return None
    if not token:
        raise InvalidOption("a remote server (LOADBAY_URL / --url) needs LOADBAY_TOKEN or --token")
    return Client(url, token)


@contextmanager
def api_errors() -> Iterator[None]:
    """Raise API errors and network failures inside as the local service's errors."""
    try:
        yield
    except ApiError as exc:
        details = {k: v for k, v in exc.details.items() if k not in _PROBLEM}
        if not details.get("errors"):
            details.pop("errors", None)
        plain = LoadbayError(exc.message, **details)
        plain.code = exc.code
        raise plain from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"no answer from the loadbay server at {_where(exc)}: {exc}") from exc


def _where(exc: httpx.TransportError) -> str:
    try:
        return str(exc.request.url.copy_with(query=None))
    except RuntimeError:  # raised before a request was made
        return "LOADBAY_URL"


def _naive(value: datetime | None) -> datetime | None:
    """A time as the database keeps it: UTC without a zone."""
    return utc_naive(value) if value else value


def record_of(found: Import) -> dict[str, Any]:
    """An import as the local service returns it (``imports_sql`` row keys)."""
    data = asdict(found)
    data.update({k: _naive(data[k]) for k in _TIMES})
    error = data.pop("error") or {}
    data["counts"] = asdict(found.counts)
    data["error_code"] = error.get("code")
    data["error"] = error.get("message")
    return data


def _errors(rows: list[RowResult], limit: int) -> list[dict[str, Any]]:
    found = []
    for row in rows:
        for e in row.errors:
            found.append({"table_name": row.table, "src": row.file, "row": row.row, **e})
    return found[:limit]


def run_import(
    client: Client,
    request: ImportRequest,
    progress: Callable[[dict[str, Any]], None] | None = None,
    created: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Upload the request's files, import them remotely, wait (following its events);
    the finished import. ``progress`` gets each progress object (with the import's
    ``state``), ``created`` the import's id once the server has it."""
    uploads = [client.upload(Path(s.path), s.name).id for s in request.sources]
    tables = [s.table for s in request.sources]
    first = request.sources[0]
    options = {
        **{k: getattr(first, k) for k in SOURCE_OPTIONS},
        "strict_columns": request.strict_columns,
        "require_all_columns": request.require_all_columns,
        "empty": request.empty.value,
        "date_formats": list(request.date_formats),
        "decimal_comma": request.decimal_comma,
        "max_errors": request.max_errors,
    }
    job = client.create_import(
        upload_ids=uploads,
        tables=tables if any(tables) else None,
        mode=request.mode.value,
        error_handling=request.error_handling.value,
        key=list(request.key) or None,
        mapping=request.mapping,
        constants=request.constants,
        options={k: v for k, v in options.items() if v not in (None, [])},
        dry_run=request.dry_run,
        notes=request.notes,
        template_id=request.template_id,
    )

    if created is not None:
        created(job.id)

    def report(found: Import) -> None:
        if progress is not None:
            progress({**(found.progress or {}), "state": found.state})

    return record_of(client.wait(job.id, progress=report))


def cancel(client: Client, import_id: str) -> dict[str, Any]:
    """Cancel an import on the server (one that finished meanwhile stays as it is)."""
    try:
        return record_of(client.cancel(import_id))
    except ApiError as exc:
        if exc.status != 409:
            raise
        return get_import(client, import_id)


def error_summary(client: Client, import_id: str) -> list[dict[str, Any]]:
    """The errors grouped by table, column and code (``service.imports.error_summary``)."""
    return [
        {"table_name": g["table"], **{k: v for k, v in g.items() if k != "table"}}
        for g in client.error_summary(import_id)
    ]


def first_errors(client: Client, import_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The first row errors, shaped as ``service.imports.first_errors``."""
    page = client.results(import_id, outcome="failed", limit=min(limit, 200))
    return _errors(page.data, limit)


def changes(client: Client, import_id: str, limit: int) -> list[dict[str, Any]]:
    """A dry run's updated rows and their field-level diff (as cli's ``_changes``)."""
    page = client.results(import_id, outcome="updated", limit=min(limit, 200))
    return [
        {"table": r.table, "row": r.row, "key": r.key, "changes": r.changes or {}}
        for r in page.data
    ]


def list_imports(client: Client, limit: int = 20) -> list[dict[str, Any]]:
    return [record_of(i) for i in client.list_imports(limit=min(limit, 200)).data]


def get_import(client: Client, import_id: str) -> dict[str, Any]:
    return record_of(client.get_import(import_id))


def revert(client: Client, import_id: str, force: bool = False) -> dict[str, Any]:
    """As ``service.revert.revert_import``: the import, what was reverted, the conflicts."""
    done = client.revert(import_id, force=force)
    return {
        "import": record_of(done.import_),
        "reverted": done.reverted,
        "conflicts": done.conflicts,
    }


def write_error_report(client: Client, import_id: str, out: Path) -> int:
    """The error file, as ``service.imports.write_error_report``; returns its row count."""
    data = client.error_report(import_id)
    out.write_bytes(data)
    return max(data.count(b"\n") - 1, 0)


def tables(client: Client) -> list[dict[str, Any]]:
    """The server's tables, shaped as ``service.tables.list_tables``."""
    return [asdict(t) for t in client.tables()]


def _template(found: Template) -> dict[str, Any]:
    """A template as the local service shows it (``service.templates.template_view``)."""
    data = asdict(found)
    data.update({k: iso(_naive(data[k])) for k in ("created_at", "updated_at")})
    return data


def get_template(client: Client, ref: str) -> dict[str, Any]:
    return _template(client.get_template(ref))


def list_templates(client: Client) -> list[dict[str, Any]]:
    return [_template(t) for t in client.iter_templates()]


def delete_template(client: Client, ref: str) -> dict[str, Any]:
    return _template(client.delete_template(ref))


def save_template(
    client: Client, import_id: str, name: str, notes: str | None = None
) -> dict[str, Any]:
    return _template(client.save_template(import_id, name, notes))


class _Text:
    """A binary sink that decodes UTF-8 into a text stream as the bytes arrive, counting
    the lines; with ``quoted`` (CSV) a line break inside a quoted cell is not counted."""

    def __init__(self, out: IO[str], quoted: bool) -> None:
        self.out = out
        self.quoted = quoted
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.lines = 0
        self.quotes = 0

    def write(self, data: bytes) -> int:
        text = self.decoder.decode(data)
        if self.quoted:  # outside a quoted cell after an even number of quotes
            parts = text.split('"')
            self.lines += sum(
                p.count("\n") for i, p in enumerate(parts) if (self.quotes + i) % 2 == 0
            )
            self.quotes += len(parts) - 1
        else:
            self.lines += text.count("\n")
        self.out.write(text)
        return len(data)


def export(client: Client, table: str, out: IO[str], fmt: str = "csv") -> int:
    """Write every row of a remote table to a text stream; returns the number of records
    (a CSV's header is not counted)."""
    sink = _Text(out, quoted=fmt == "csv")
    client.export(table, sink, fmt)  # type: ignore[arg-type]
    return sink.lines - 1 if fmt == "csv" and sink.lines else sink.lines
