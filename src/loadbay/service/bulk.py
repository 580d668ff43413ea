"""Use case: synchronous bulk records — at most ``LOADBAY_BULK_MAX`` records, one result each.

No second write path: the records become a lenient import of an inline JSON upload, run
at once in the caller's thread (under a lease, so a crash is resumed by a worker), and
its row results are the answer, in request order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from loadbay.errors import (
    InvalidOption,
    LoadbayError,
    PayloadTooLarge,
    RowsFailed,
    error_from,
    error_object,
)
from loadbay.pipeline.frames import ErrorHandling, Mode
from loadbay.schema.model import Column, Table
from loadbay.service.auth import CLI, Actor
from loadbay.service.context import Context
from loadbay.service.imports import record_import
from loadbay.service.leases import Leases, run_leased
from loadbay.service.requests import ImportRequest, parse_choice
from loadbay.service.uploads import saving_records, source_of
from loadbay.store import imports_sql
from loadbay.store.columns import ID as RECORD_ID
from loadbay.store.engine import reading, statements_alone
from loadbay.store.records_sql import expansions, records_by_ids

APPLIED = ("created", "updated", "unchanged", "deleted")


@dataclass(frozen=True)
class BulkAnswer:
    """What a bulk request did: its import, one result per record in request order
    (``ref``, ``row``, ``outcome``, ``id``, ``errors``; ``record`` when asked for), and
    the warnings of reading them. The adapter says it its own way (the API: 200, or 207
    when ``failed``)."""

    import_id: str
    results: list[dict[str, object]]
    warnings: list[str]

    @property
    def failed(self) -> bool:
        """Whether some record failed (was neither written nor found unchanged)."""
        return any(r["outcome"] not in APPLIED for r in self.results)

    def as_json(self) -> dict[str, object]:
        return {"import_id": self.import_id, "results": self.results, "warnings": self.warnings}


def _check(
    ctx: Context, tenant: str, table: str, records: object, fields: list[str] | None
) -> Table:
    """The table ``records`` go to, once they and ``fields`` are fit for it."""
    if not isinstance(records, list | dict):
        raise InvalidOption("records must be a list of objects or an object keyed by reference")
    count = len(records)
    limit = ctx.settings.bulk_max
    if count > limit:
        raise PayloadTooLarge(
            f"bulk limit reached: sent {count} records, {limit} allowed", sent=count, limit=limit
        )
    if count == 0:
        raise InvalidOption("records is empty")
    values = records.values() if isinstance(records, dict) else records
    if not all(isinstance(v, dict) for v in values):
        raise InvalidOption("every record must be an object")
    described = ctx.catalog_for(tenant).get(table)
    for name in fields or []:
        if name != RECORD_ID and not described.has_column(name):
            raise InvalidOption(f"fields: {table} has no column {name!r}")
    return described


def bulk_records(
    ctx: Context,
    leases: Leases,
    tenant: str,
    table: str,
    records: object,
    mode: str = "upsert",
    return_records: bool = False,
    fields: list[str] | None = None,
    error_handling: str = "lenient",
    lock_timeout: float | None = None,
    expand: Sequence[str] = (),
    actor: Actor = CLI,
) -> BulkAnswer:
    """Each record's result (``BulkAnswer``). Strict (all or nothing): any failed record
    writes none, and the answer is the ``row_errors`` problem (RowsFailed) with every
    error and result."""
    described = _check(ctx, tenant, table, records, fields)
    write_mode = parse_choice(Mode, mode, "mode")
    handling = parse_choice(ErrorHandling, error_handling, "error_handling")
    expanded = expansions(described, expand)  # before any write
    with saving_records(ctx, tenant, records) as (conn, upload):  # one commit for both
        source = dataclasses.replace(source_of(upload, table), format="json")
        request = ImportRequest(
            sources=(source,),
            mode=write_mode,
            error_handling=handling,
            lock_timeout=lock_timeout,
            notes="bulk records",
        )
        recorded = record_import(ctx, request, tenant, conn, actor=actor, kind="bulk")
    import_id = recorded.id
    record = run_leased(ctx, leases, tenant, import_id, recorded=recorded)
    if record is None:
        raise LoadbayError("the bulk import could not be run")
    code = record.error_code if record.state == "failed" else None
    if code and code != RowsFailed.code:  # the whole request failed, not some records
        raise error_from(code, record.error, import_id=import_id)
    # the tenant's (it ran it), and finished: its outcomes and errors change no more
    with ctx.engine.connect() as conn, statements_alone(reading(conn)).begin():
        rows = list(imports_sql.iter_results(conn, import_id, stream=False))  # bulk_max at most
    results = [_result(r) for r in sorted(rows, key=lambda r: int(r["row"]))]
    answer = BulkAnswer(import_id, results, list(record.warnings))
    if code == RowsFailed.code and handling is ErrorHandling.STRICT:  # nothing was written
        raise RowsFailed(
            str(record.error),
            errors=[e for r in answer.results for e in _listed(r["errors"])],
            **answer.as_json(),
        )
    if return_records:
        _attach_records(ctx, tenant, table, answer.results, fields, expanded)
    return answer


def _result(row: Mapping[str, object]) -> dict[str, object]:
    """A row of ``imports_sql.iter_results`` as the answer gives it."""
    number, record_id, errors = _int(row["row"]), row.get("record_id"), row.get("errors")
    return {
        "ref": row.get("ref"),
        "row": number,
        "outcome": row["outcome"],
        "id": None if record_id is None else _int(record_id),
        "errors": [error_object(e, number) for e in _listed(errors) if isinstance(e, Mapping)],
    }


def _int(value: object) -> int:
    return value if isinstance(value, int) else int(str(value))


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _attach_records(
    ctx: Context,
    tenant: str,
    table: str,
    results: list[dict[str, object]],
    fields: list[str] | None,
    expand: Sequence[Column] = (),
) -> None:
    ids = [i for r in results if isinstance(i := r["id"], int) and r["outcome"] != "deleted"]
    catalog = ctx.catalog_for(tenant)
    with ctx.engine.connect() as conn, reading(conn).begin():
        found = records_by_ids(conn, catalog, catalog.get(table), tenant, ids, expand)
    for result in results:
        stored = found.get(result["id"]) if isinstance(result["id"], int) else None
        if stored is not None and fields:
            stored = {k: stored[k] for k in [RECORD_ID, *fields] if k in stored}
        result["record"] = stored
