"""The Python client of the loadbay API, over httpx.

    from loadbay import Client

    with Client("http://127.0.0.1:8000", token) as lb:
        upload = lb.upload("projects.jsonl")
        job = lb.create_import(upload_id=upload.id, table="projects", mode="replace")
        job = lb.wait(job.id, progress=lambda i: print(i.state, i.rows_processed))
        for row in lb.iter_results(job.id, outcome="failed"):
            print(row.row, row.errors)

Every error answer is raised as :class:`ApiError`, carrying the problem document.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from loadbay.client_models import (
    ApiError,
    BulkResponse,
    BulkResult,
    Import,
    Page,
    RevertResult,
    RowResult,
    TableInfo,
    Template,
    Token,
    Upload,
    build,
)

__all__ = ["ApiError", "Client", "Import", "Page", "RowResult", "Upload"]
CHUNK = 1 << 20


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while data := handle.read(CHUNK):
        yield data


def server_events(lines: Iterator[str]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """(id, data) of each ``progress`` event of a server-sent event stream."""
    number: str | None = None
    event, data = "message", list[str]()
    for line in lines:
        if not line:  # the end of an event
            if data and event == "progress":
                yield number, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                number = value
            elif name == "event":
                event = value
            elif name == "data":
                data.append(value)


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class Client:
    """A loadbay server at ``url``, as the tenant of ``token``."""

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float = 300.0,
        retries_on_429: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries_on_429 = retries_on_429
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "loadbay-client"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- the wire ----------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries_on_429 + 1):
            answer = self._http.request(method, path, **kwargs)
            if answer.status_code != 429 or attempt == self.retries_on_429:
                break
            if "content" in kwargs and not isinstance(kwargs["content"], bytes | str):
                break  # a streamed body cannot be sent twice
            time.sleep(float(answer.headers.get("Retry-After", "1")))
        if answer.status_code >= 400:
            raise self._error(answer)
        return answer

    @staticmethod
    def _error(answer: httpx.Response) -> ApiError:
        try:
            problem = answer.json()
        except ValueError:
            problem = {"detail": answer.text[:500] or answer.reason_phrase}
        if not isinstance(problem, dict):
            problem = {"detail": str(problem)}
        return ApiError(answer.status_code, problem)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._send(method, path, **kwargs).json()

    # ---- uploads -----------------------------------------------------------------------
    def upload(
        self,
        source: str | Path | bytes | IO[bytes],
        filename: str | None = None,
        idempotency_key: str | None = None,
    ) -> Upload:
        """Upload a file (a path, bytes or a binary file object), streamed."""
        headers = {"Content-Type": "application/octet-stream"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if isinstance(source, bytes):
            data = self._json(
                "POST",
                "/v1/uploads",
                params=_compact({"filename": filename}),
                headers=headers,
                content=source,
            )
            return Upload.of(data)
        if isinstance(source, str | Path):
            path = Path(source)
            with open(path, "rb") as handle:
                return self.upload(handle, filename or path.name, idempotency_key)
        data = self._json(
            "POST",
            "/v1/uploads",
            params=_compact({"filename": filename}),
            headers=headers,
            content=_chunks(source),
        )
        return Upload.of(data)

    def get_upload(self, upload_id: str) -> Upload:
        return Upload.of(self._json("GET", f"/v1/uploads/{upload_id}"))

    # ---- imports -----------------------------------------------------------------------
    def create_import(self, idempotency_key: str | None = None, **body: Any) -> Import:
        """Queue an import. ``body``: table or tables, upload_id(s) or records, mode,
        error_handling, key, mapping, constants, options, dry_run, notes, template_id (a
        saved template whose fields are the defaults)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        data = self._json("POST", "/v1/imports", json=_compact(body), headers=headers)
        return Import.of(data)

    def import_files(self, *paths: str | Path, **body: Any) -> Import:
        """Send files and the import's options in one multipart call."""
        form: dict[str, Any] = {}
        for name, value in _compact(body).items():
            if isinstance(value, dict):
                form[name] = json.dumps(value)
            elif isinstance(value, list | tuple):
                form[name] = ",".join(value)
            elif isinstance(value, bool):
                form[name] = "true" if value else "false"
            else:
                form[name] = str(value)
        handles = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed below
        try:
            files = [("file", (Path(p).name, h)) for p, h in zip(paths, handles, strict=True)]
            return Import.of(self._json("POST", "/v1/imports", data=form, files=files))
        finally:
            for handle in handles:
                handle.close()

    def get_import(self, import_id: str) -> Import:
        return Import.of(self._json("GET", f"/v1/imports/{import_id}"))

    def list_imports(
        self, limit: int = 50, cursor: str | None = None, count: bool = False, **filters: Any
    ) -> Page[Import]:
        """A page of imports, newest first; filters: state, table, created_after/before,
        template_id, kind (file or bulk), created_by (a token's id). ``count``: the page
        tells the total (``Page.total_count``)."""
        params = _compact({**filters, "limit": limit, "cursor": cursor})
        if count:
            params["count"] = "true"
        for k in ("created_after", "created_before"):
            if k in params and not isinstance(params[k], str):
                params[k] = params[k].isoformat()
        data = self._json("GET", "/v1/imports", params=params)
        found = [Import.of(d) for d in data["data"]]
        return Page(found, data["next_cursor"], data.get("total_count"))

    def iter_imports(self, **filters: Any) -> Iterator[Import]:
        cursor = None
        while True:
            page = self.list_imports(limit=200, cursor=cursor, **filters)
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def wait(
        self,
        import_id: str,
        progress: Callable[[Import], None] | None = None,
        poll: float = 0.5,
        timeout: float | None = None,
        stream: bool = True,
    ) -> Import:
        """Until the import is finished (or validated): follow its server-sent events
        (``/events``, resumed with ``Last-Event-ID`` when the connection drops), or poll
        every ``poll`` seconds when they cannot be had; call ``progress`` with the import
        at each change (``Import.progress``: phase, percent, rows, ETA…)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if stream:
            found = self._follow(import_id, progress, deadline)
            if found is not None:
                return found
        while True:
            found = self.get_import(import_id)
            if progress is not None:
                progress(found)
            if found.finished:
                return found
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"import {import_id} is still {found.state}")
            time.sleep(poll)

    def _follow(
        self,
        import_id: str,
        progress: Callable[[Import], None] | None,
        deadline: float | None,
        reconnects: int = 5,
    ) -> Import | None:
        """``wait`` over the event stream: the finished import, or None when the stream
        cannot be had (a network failure, a server without it): the caller polls."""
        base = self.get_import(import_id)  # every field; the events change the live ones
        last: str | None = None
        for _ in range(reconnects + 1):
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = last
            left = None if deadline is None else max(deadline - time.monotonic(), 0.1)
            try:
                with self._http.stream(
                    "GET",
                    f"/v1/imports/{import_id}/events",
                    headers=headers,
                    timeout=httpx.Timeout(self._http.timeout.connect, read=left),
                ) as answer:
                    if answer.status_code in (401, 403, 404):
                        answer.read()
                        raise self._error(answer)
                    kind = answer.headers.get("content-type", "")
                    if answer.status_code != 200 or not kind.startswith("text/event-stream"):
                        return None
                    for number, data in server_events(answer.iter_lines()):
                        last = number if number is not None else last
                        base = base.with_live(data)
                        if progress is not None:
                            progress(base)
                        if base.finished:
                            return self.get_import(import_id)
                        if deadline is not None and time.monotonic() > deadline:
                            raise TimeoutError(f"import {import_id} is still {base.state}")
            except httpx.ReadTimeout:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"import {import_id} is still {base.state}") from None
            except httpx.TransportError:
                return None
        return None

    def results(
        self,
        import_id: str,
        outcome: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[RowResult]:
        params = _compact({"outcome": outcome, "limit": limit, "cursor": cursor})
        data = self._json("GET", f"/v1/imports/{import_id}/results", params=params)
        return Page([RowResult.of(d) for d in data["data"]], data["next_cursor"])

    def iter_results(self, import_id: str, outcome: str | None = None) -> Iterator[RowResult]:
        """Every row's outcome, streamed (JSON Lines)."""
        params = _compact({"outcome": outcome})
        headers = {"Accept": "application/x-ndjson"}
        path = f"/v1/imports/{import_id}/results"
        with self._http.stream("GET", path, params=params, headers=headers) as answer:
            if answer.status_code >= 400:
                answer.read()
                raise self._error(answer)
            for line in answer.iter_lines():
                if line.strip():
                    yield RowResult.of(json.loads(line))

    def error_summary(self, import_id: str) -> list[dict[str, Any]]:
        """The import's errors grouped by table, column and code, most frequent first:
        ``table``, ``column``, ``code``, ``count``, ``example`` (a value), ``message``."""
        data = self._json("GET", f"/v1/imports/{import_id}/errors/summary")
        return list(data["data"])

    def error_report(self, import_id: str) -> bytes:
        """The failed rows as in the file, plus an error column (CSV), to fix and send again."""
        answer = self._send(
            "GET", f"/v1/imports/{import_id}/results", headers={"Accept": "text/csv"}
        )
        return answer.content

    def update_import(self, import_id: str, **changes: Any) -> Import:
        """Change a queued or validated import (``mapping``, ``options``, ``notes``): a
        JSON merge patch, mapping and options key by key (None removes a key). A validated
        dry run is checked again (queued)."""
        return Import.of(self._json("PATCH", f"/v1/imports/{import_id}", json=changes))

    def start(self, import_id: str, force: bool = False) -> Import:
        """Run a dry run for real; ``force``: even one that ended validation_failed."""
        body = {"force": True} if force else None
        return Import.of(self._json("POST", f"/v1/imports/{import_id}/start", json=body))

    def cancel(self, import_id: str) -> Import:
        return Import.of(self._json("POST", f"/v1/imports/{import_id}/cancel"))

    def revert(self, import_id: str, force: bool = False) -> RevertResult:
        data = self._json("POST", f"/v1/imports/{import_id}/revert", json={"force": force})
        return RevertResult(Import.of(data["import"]), data["reverted"], data["conflicts"])

    # ---- bulk records, tables, records -------------------------------------------------
    def bulk(
        self,
        table: str,
        records: list[dict[str, Any]] | dict[str, dict[str, Any]],
        mode: str = "upsert",
        return_records: bool = False,
        fields: list[str] | None = None,
        expand: Sequence[str] | None = None,
        error_handling: str = "lenient",
    ) -> BulkResponse:
        """Write up to LOADBAY_BULK_MAX records now; one result per record, in order.
        ``expand`` (with ``return_records``): reference columns given as their records.
        ``error_handling="strict"``: all or nothing (ApiError ``row_errors`` if any fails)."""
        params = _compact(
            {
                "return": "records" if return_records else None,
                "fields": ",".join(fields) if fields else None,
                "expand": ",".join(expand) if expand else None,
            }
        )
        answer = self._send(
            "POST",
            f"/v1/tables/{table}/records/bulk",
            params=params,
            json={"mode": mode, "error_handling": error_handling, "records": records},
        )
        data = answer.json()
        results = [build(BulkResult, r) for r in data["results"]]
        return BulkResponse(answer.status_code, data["import_id"], results, data["warnings"])

    def tables(self) -> list[TableInfo]:
        return [build(TableInfo, t) for t in self._json("GET", "/v1/tables")["data"]]

    def table(self, name: str) -> TableInfo:
        return build(TableInfo, self._json("GET", f"/v1/tables/{name}"))

    def create_table(self, definition: Mapping[str, Any]) -> TableInfo:
        """Define a table of the tenant (name, key, columns: as a schema file's table)."""
        return build(TableInfo, self._json("POST", "/v1/tables", json=dict(definition)))

    def alter_table(self, name: str, columns: Sequence[Mapping[str, Any]]) -> TableInfo:
        """Add ``columns`` to a table the tenant defined (none is dropped or retyped)."""
        body = {"columns": [dict(c) for c in columns]}
        return build(TableInfo, self._json("PATCH", f"/v1/tables/{name}", json=body))

    def infer_table(
        self, upload_id: str, table: str | None = None, key: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """The table an upload would fill: ``{"table", "mapping", "rows", "notes"}``;
        ``options``: format, delimiter, encoding, sheet. Nothing is created."""
        body = _compact({"upload_id": upload_id, "table": table, "key": key})
        if options:
            body["options"] = options
        found: dict[str, Any] = self._json("POST", "/v1/tables/infer", json=body)
        return found

    def records(
        self,
        table: str,
        limit: int = 100,
        cursor: str | None = None,
        expand: Sequence[str] | None = None,
        count: bool = False,
        **filters: Any,
    ) -> Page[dict[str, Any]]:
        """A page of records; ``filters``: column=value; ``expand``: reference columns
        given as the records they name; ``count``: the total (``Page.total_count``)."""
        params = _compact({**filters, "limit": limit, "cursor": cursor})
        if expand:
            params["expand"] = ",".join(expand)
        if count:
            params["count"] = "true"
        data = self._json("GET", f"/v1/tables/{table}/records", params=params)
        return Page(list(data["data"]), data["next_cursor"], data.get("total_count"))

    def iter_records(
        self, table: str, expand: Sequence[str] | None = None, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            page = self.records(table, limit=200, cursor=cursor, expand=expand, **filters)
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def export(self, table: str, out: IO[bytes], fmt: str = "csv") -> int:
        """Write every row of ``table`` (CSV or JSON Lines) to ``out``; returns the bytes."""
        written = 0
        with self._http.stream(
            "GET", f"/v1/tables/{table}/records", params={"format": fmt}
        ) as answer:
            if answer.status_code >= 400:
                answer.read()
                raise self._error(answer)
            for chunk in answer.iter_bytes():
                out.write(chunk)
                written += len(chunk)
        return written

    # ---- templates ---------------------------------------------------------------------
    def create_template(self, name: str, **fields: Any) -> Template:
        """Save import settings as ``name``. ``fields``: table or tables, mode,
        error_handling, key, mapping, constants, options, notes."""
        return Template.of(self._json("POST", "/v1/templates", json={"name": name, **fields}))

    def list_templates(self, limit: int = 50, cursor: str | None = None) -> Page[Template]:
        """A page of the tenant's templates, by name."""
        params = _compact({"limit": limit, "cursor": cursor})
        data = self._json("GET", "/v1/templates", params=params)
        return Page([Template.of(d) for d in data["data"]], data["next_cursor"])

    def iter_templates(self) -> Iterator[Template]:
        cursor = None
        while True:
            page = self.list_templates(limit=200, cursor=cursor)
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get_template(self, template: str) -> Template:
        """A template by id (``tpl_…``) or name."""
        return Template.of(self._json("GET", f"/v1/templates/{quote(template, safe='')}"))

    def update_template(self, template: str, **changes: Any) -> Template:
        """Change the given fields only (None clears one)."""
        path = f"/v1/templates/{quote(template, safe='')}"
        return Template.of(self._json("PATCH", path, json=changes))

    def delete_template(self, template: str) -> Template:
        return Template.of(self._json("DELETE", f"/v1/templates/{quote(template, safe='')}"))

    def save_template(self, import_id: str, name: str, notes: str | None = None) -> Template:
        """Save an import's settings as a new template ``name``."""
        body = _compact({"name": name, "notes": notes})
        return Template.of(self._json("POST", f"/v1/imports/{import_id}/template", json=body))

    # ---- tokens ------------------------------------------------------------------------
    def create_token(self, scope: str, name: str | None = None) -> tuple[Token, str]:
        data = self._json("POST", "/v1/tokens", json=_compact({"scope": scope, "name": name}))
        return Token.of(data), str(data["token"])

    def list_tokens(self) -> list[Token]:
        return [Token.of(t) for t in self._json("GET", "/v1/tokens")["data"]]

    def revoke_token(self, token_id: str) -> Token:
        return Token.of(self._json("DELETE", f"/v1/tokens/{token_id}"))
