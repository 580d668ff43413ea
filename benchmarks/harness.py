"""The measured work, in-process: loadbay's pipeline alone, loadbay imports, the raw path.

Every function here runs in the calling process and returns its own timings; ``worker``
runs them one per fresh process (for a clean heap and a peak RSS of their own), and the
smoke test calls them directly on small files.

The raw bulk path is the database at its best on the same data and the same table:
references are resolved to ids and the rows are shaped beforehand (not timed), then
PostgreSQL gets ``COPY`` into a temporary staging table and one ``INSERT … SELECT … ON
CONFLICT … DO UPDATE … WHERE (…) IS DISTINCT FROM (…)``, SQLite one ``executemany`` of
the same upsert in one transaction (the tuples come from ``DataFrame.iter_rows`` inside
the timing, as a client feeding ``executemany`` from a frame would). No validation, no
row results, no change log.
"""

from __future__ import annotations

import io
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Engine, event

from loadbay.config import Settings
from loadbay.domain.imports import Import
from loadbay.pipeline.frames import Mode
from loadbay.pipeline.map import MappingOptions, apply_map, map_columns
from loadbay.pipeline.read import ReadOptions, read_file
from loadbay.pipeline.validate import ValidateOptions, validate
from loadbay.schema.model import Catalog, Table
from loadbay.service.context import Context, open_context
from loadbay.service.imports import create_import, run_import
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import columns as lb
from loadbay.store.dialect import Postgres, Sqlite, q

TABLE = "projects"


# ---- (a) read + map + validate, no database ----------------------------------------------


@dataclass
class PipelineRun:
    rows: int  # rows read
    good: int  # rows that passed validation
    errors: int  # cell errors (read errors included)
    seconds: float
    batches: int


def pipeline_only(
    path: Path, catalog: Catalog, table: str = TABLE, batch_size: int = 100_000
) -> PipelineRun:
    """Read, map and validate a file batch by batch, as an upsert would; nothing is kept."""
    target = catalog.get(table)
    options = ValidateOptions(mode=Mode.UPSERT, match=target.key)
    rows = good = errors = batches = 0
    cmap = None
    started = time.perf_counter()
    for batch in read_file(path, ReadOptions(batch_size=batch_size)):
        if cmap is None:
            cmap = map_columns(batch.fields, target, MappingOptions())
        checked = validate(apply_map(batch.frame, cmap), target, catalog, options)
        rows += batch.frame.height
        good += checked.good.height
        errors += checked.errors.height + batch.errors.height
        batches += 1
    return PipelineRun(rows, good, errors, time.perf_counter() - started, batches)


# ---- (b), (c), (e) loadbay imports -----------------------------------------------------------


@dataclass
class ImportRun:
    path: str
    rows: int  # rows of the file (rows_total of the import)
    seconds: float  # create_import + run_import, wall clock
    state: str
    counts: dict[str, int]
    timings: dict[str, float]  # the runner's phases (read_validate_stage, plan_write)
    sql: dict[str, float] = field(default_factory=dict)  # seconds per kind of statement

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def import_files(ctx: Context, paths: list[Path], table: str | None = None) -> Import:
    """One loadbay import of ``paths`` (strict, upsert); returns the import's record."""
    sources = tuple(SourceSpec(path=str(p), name=p.name, table=table) for p in paths)
    import_id = create_import(ctx, ImportRequest(sources=sources))
    return run_import(ctx, import_id)


def load_references(settings: Settings, companies: Path, people: Path) -> Import:
    """Companies and people, through loadbay (not timed): what projects refer to."""
    ctx = open_context(settings)
    try:
        record = import_files(ctx, [companies, people])
    finally:
        ctx.close()
    if record.state != "succeeded":
        raise RuntimeError(f"loading companies and people failed: {record}")
    return record


def loadbay_imports(
    settings: Settings,
    paths: list[Path],
    table: str = TABLE,
    sql_profile: bool = False,
    after_each: Any = None,
) -> list[ImportRun]:
    """Import each file in turn into ``table`` in one process, as ``loadbay serve`` would.

    ``after_each(run)`` is called after every import (the worker records its RSS there).
    """
    ctx = open_context(settings)
    runs: list[ImportRun] = []
    try:
        for path in paths:
            with statement_profile(ctx.engine, sql_profile) as sql:
                started = time.perf_counter()
                record = import_files(ctx, [path], table)
                seconds = time.perf_counter() - started
            run = ImportRun(
                str(path),
                record.rows_total,
                seconds,
                str(record.state),
                record.outcome_counts.as_dict(),
                dict(record.timings or {}),
                dict(sql),
            )
            if run.state != "succeeded":
                raise RuntimeError(f"the import of {path} did not succeed: {record}")
            runs.append(run)
            if after_each is not None:
                after_each(run)
    finally:
        ctx.close()
    return runs


_NAMES = re.compile(r"loadbay_(stage|plan)_[a-z0-9]+_(\d+)")


def statement_kind(statement: str) -> str:
    """A statement, shortened into a label shared by every run of it."""
    text = _NAMES.sub(r"<\1>", " ".join(statement.split()))
    return text[:90]


@contextmanager
def statement_profile(engine: Engine, enabled: bool) -> Iterator[dict[str, float]]:
    """Seconds spent per kind of SQL statement sent through SQLAlchemy (COPY and the
    staging ``executemany`` go around it: they are inside read_validate_stage)."""
    totals: dict[str, float] = defaultdict(float)
    if not enabled:
        yield totals
        return
    started: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        begun = started.pop(id(cursor), None)
        if begun is not None:
            totals[statement_kind(statement)] += time.perf_counter() - begun

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield totals
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


# ---- (d) the database's own bulk path -----------------------------------------------------------


@dataclass
class RawRun:
    path: str
    rows: int
    seconds: float  # the timed load only
    affected: int  # rows inserted or updated (unchanged rows are skipped by the guard)
    prepare_seconds: float  # reading and resolving the file, not timed
    copy_seconds: float = 0.0  # PostgreSQL: of ``seconds``, the COPY into the stage (the
    # rest is the one upsert and its commit); SQLite: 0 (one executemany)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def resolve(
    engine: Engine, catalog: Catalog, tenant: str, path: Path, table: str = TABLE
) -> pl.DataFrame:
    """The file as the table stores it: its columns in table order, references as ids."""
    target = catalog.get(table)
    frame = pl.read_csv(path, infer_schema=False).select(target.column_names)
    with engine.connect() as conn:
        for col in target.references:
            ref = col.references
            assert ref is not None
            pairs = conn.execute(
                # identifiers from the schema, quoted by q()
                sa.text(
                    f"SELECT {q(ref.column)}, {lb.ID} FROM {q(ref.table)} WHERE {lb.TENANT} = :t"  # noqa: S608
                ),
                {"t": tenant},
            ).all()
            keys = pl.Series([k for k, _ in pairs], dtype=pl.String)
            ids = pl.Series([i for _, i in pairs], dtype=pl.Int64)
            frame = frame.with_columns(
                pl.col(col.name).replace_strict(keys, ids, default=None, return_dtype=pl.Int64)
            )
    return frame


def upsert_sql(table: Table, dialect: str, source: str) -> str:
    """The one upsert of the raw path: insert new keys, update changed rows, skip the rest."""
    cols = table.column_names
    sets = [c for c in cols if c not in table.key]
    names = ", ".join(q(c) for c in cols)
    key = ", ".join([lb.TENANT, *(q(c) for c in table.key)])
    assign = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in sets)
    old = ", ".join(f"{q(table.name)}.{q(c)}" for c in sets)
    new = ", ".join(f"excluded.{q(c)}" for c in sets)
    differs = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return (
        f"INSERT INTO {q(table.name)} ({lb.TENANT}, {lb.CREATED}, {lb.UPDATED}, {names}) {source} "
        f"ON CONFLICT ({key}) DO UPDATE SET {assign}, {lb.UPDATED} = excluded.{lb.UPDATED} "
        f"WHERE ({old}) {differs} ({new})"
    )


def raw_load(settings: Settings, path: Path, table: str = TABLE) -> RawRun:
    """Load ``path`` into ``table`` the database's own fastest way (only the load timed)."""
    ctx = open_context(settings)
    try:
        started = time.perf_counter()
        frame = resolve(ctx.engine, ctx.catalog, settings.tenant, path, table)
        target = ctx.catalog.get(table)
        if ctx.engine.dialect.name == "postgresql":
            prepared = _postgres_prepare(frame)
            prepare_seconds = time.perf_counter() - started
            seconds, affected, copy_seconds = _postgres_load(
                ctx.engine, target, settings.tenant, prepared
            )
        else:
            prepared_frame = _sqlite_prepare(frame, settings.tenant)
            prepare_seconds = time.perf_counter() - started
            seconds, affected = _sqlite_load(ctx.engine, target, prepared_frame)
            copy_seconds = 0.0
    finally:
        ctx.close()
    return RawRun(str(path), frame.height, seconds, affected, prepare_seconds, copy_seconds)


def _postgres_prepare(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, null_value="")
    return buf.getvalue()


def _postgres_load(
    engine: Engine, table: Table, tenant: str, data: bytes
) -> tuple[float, int, float]:
    dialect = Postgres()
    cols = ", ".join(f"{q(c.name)} {dialect.storage_type(c)}" for c in table.columns)
    names = ", ".join(q(c) for c in table.column_names)
    select = f"SELECT %(tenant)s, %(stamp)s, %(stamp)s, {names} FROM raw_stage"  # noqa: S608
    upsert = upsert_sql(table, "postgresql", select)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        started = time.perf_counter()
        with conn.begin():
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE raw_stage ({cols}) ON COMMIT DROP")
            copy_sql = f"COPY raw_stage ({names}) FROM STDIN (FORMAT csv)"
            with raw.cursor() as cur, cur.copy(copy_sql) as copy:  # type: ignore[attr-defined]
                view = memoryview(data)
                for start in range(0, len(view), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
            copied = time.perf_counter() - started
            result = conn.exec_driver_sql(upsert, {"tenant": tenant, "stamp": Postgres().stamp()})
            affected = int(result.rowcount)
        return time.perf_counter() - started, affected, copied


def _sqlite_prepare(frame: pl.DataFrame, tenant: str) -> pl.DataFrame:
    stamp = Sqlite().stamp()
    return frame.select(
        pl.lit(tenant).alias(lb.TENANT),
        pl.lit(stamp).alias(lb.CREATED),
        pl.lit(stamp).alias(lb.UPDATED),
        pl.all(),
    )


def _sqlite_load(engine: Engine, table: Table, frame: pl.DataFrame) -> tuple[float, int]:
    marks = ", ".join("?" for _ in frame.columns)
    upsert = upsert_sql(table, "sqlite", f"VALUES ({marks})")
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        started = time.perf_counter()
        with conn.begin():  # BEGIN IMMEDIATE, as loadbay's engine begins every write
            cur = raw.cursor()
            try:
                before = raw.total_changes
                cur.executemany(upsert, frame.iter_rows())  # type: ignore[arg-type]
                affected = int(raw.total_changes) - int(before)
            finally:
                cur.close()
        return time.perf_counter() - started, affected
