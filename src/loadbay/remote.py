"""The command line against a remote loadbay server, through the Python client.

When ``LOADBAY_URL`` and ``LOADBAY_TOKEN`` are set (or ``--url`` / ``--token``), the
commands call the server instead of the local service (``loadbay.cli.backend.RemoteBackend``):
most straight through the client, which answers with its models
(``loadbay.client_models``), and the ones below that take more than one call (an import
from files, an error report, an export). The local backend answers
with the same models, so the one renderer prints the same output and the commands exit
with the same codes. API errors are :class:`loadbay.client.ApiError`; inside
:func:`api_errors` they, and a server that does not answer, become the plain
``LoadbayError`` the local service would raise (the problem's code, message and own
details, such as a revert's ``conflicts``).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from loadbay.client import ApiError, Client
from loadbay.client_models import Import
from loadbay.config import Settings
from loadbay.errors import InvalidOption, LoadbayError, Unavailable
from loadbay.pipeline.choices import SOURCE_OPTIONS
from loadbay.service.requests import ImportRequest

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


def run_import(
    client: Client,
    request: ImportRequest,
    progress: Callable[[Mapping[str, object]], None] | None = None,
    created: Callable[[str], None] | None = None,
) -> Import:
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

    return client.wait(job.id, progress=report)


def cancel(client: Client, import_id: str) -> Import:
    """Cancel an import on the server (one that finished meanwhile stays as it is)."""
    try:
        return client.cancel(import_id)
    except ApiError as exc:
        if exc.status != 409:
            raise
        return client.get_import(import_id)


def write_error_report(client: Client, import_id: str, out: Path) -> int:
    """The error file, as ``service.imports.write_error_report``; returns its row count."""
    data = client.error_report(import_id)
    out.write_bytes(data)
    return max(data.count(b"\n") - 1, 0)


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
