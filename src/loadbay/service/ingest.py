"""Read → map → validate → stage, for every file of an import, batch by batch.

Bad rows are recorded as they are found (their errors and a ``failed`` result are
committed with the batch), good rows go to the staging table of their (file, table) part:
through the import's connection, or on SQLite with a database file into the import's stage
file through its own writer, attached to the connection once the ingest is over
(``scratch.stage_file``, a session context manager the ingest enters outside any
transaction). Each batch is staged in a transaction of the ingest's own. Memory holds two
batches at a time: one being written while the next is read and validated (``Stager``).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NotRequired, TypedDict, cast

import polars as pl
from sqlalchemy.engine import Connection

from loadbay.domain.json import JSONObject
from loadbay.errors import Code, InvalidOption, option
from loadbay.pipeline.frames import REF, ROW, Mode, empty_errors
from loadbay.pipeline.map import (
    ColumnMap,
    MappingOptions,
    apply_map,
    check_required,
    map_columns,
    read_only,
)
from loadbay.pipeline.read import READ_AHEAD_FROM, Batch, Limits, read_file, small_files
from loadbay.pipeline.read.source import ByteCount
from loadbay.pipeline.validate import ValidateOptions, validate
from loadbay.schema.model import Catalog, Reference, Table
from loadbay.service.progress import STAGING, Tracker
from loadbay.service.repeats import RepeatedKeys
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import system
from loadbay.store.dialect import dialect_of
from loadbay.store.imports_sql import insert_frame, number_of
from loadbay.store.references import missing_values, reference_words
from loadbay.store.scratch import stage_file
from loadbay.store.staging import (
    Target,
    add_stage_columns,
    append_frame,
    create_stage,
    is_reused,
    plan_table_name,
    reused_plan_base,
    reused_stage_name,
    stage_table_name,
)

Progress = Callable[[str, int, int | None], None]


class PartJson(TypedDict):
    """A part as the import's checkpoint keeps it (``Part.to_json``)."""

    index: int
    src: int
    source: str
    table: str
    mode: str
    match: list[str]
    sources: dict[str, str]
    constants: dict[str, str]
    stage: str
    plan: str
    rows: int
    failed: int
    staged: int
    unknown: list[str]
    duplicates: NotRequired[bool]  # not kept by the checkpoints of older releases


@dataclass
class Part:
    """The rows of one table from one file: staged together, planned together."""

    index: int
    src: int
    source: str
    table: Table
    mode: Mode
    match: tuple[str, ...]
    cmap: ColumnMap
    stage: str
    plan: str
    rows: int = 0
    failed: int = 0
    staged: int = 0
    unknown: tuple[str, ...] = field(default=())
    duplicates: bool = True  # may a key appear twice among the staged rows? (known once staged)
    repeats: RepeatedKeys | None = field(default=None, repr=False)  # keys staged so far
    #: the references of its rows that failed validation, checked once every file is staged
    rejected: list[pl.DataFrame] = field(default_factory=list, repr=False)

    def to_json(self) -> JSONObject:
        """The part as the import's checkpoint keeps it (see ``PartJson``)."""
        return {
            "index": self.index,
            "src": self.src,
            "source": self.source,
            "table": self.table.name,
            "mode": self.mode.value,
            "match": [*self.match],
            "sources": {**self.cmap.sources},
            "constants": {**self.cmap.constants},
            "stage": self.stage,
            "plan": self.plan,
            "rows": self.rows,
            "failed": self.failed,
            "staged": self.staged,
            "unknown": [*self.unknown],
            "duplicates": self.duplicates,
        }

    @classmethod
    def from_json(cls, json: JSONObject, catalog: Catalog) -> Part:
        data = cast(PartJson, json)  # as to_json wrote it
        table = catalog.get(data["table"])
        cmap = ColumnMap(
            table.name, dict(data["sources"]), dict(data["constants"]), tuple(data["unknown"])
        )
        return cls(
            data["index"],
            data["src"],
            data["source"],
            table,
            Mode(data["mode"]),
            tuple(data["match"]),
            cmap,
            data["stage"],
            data["plan"],
            data["rows"],
            data["failed"],
            data["staged"],
            tuple(data["unknown"]),
            bool(data.get("duplicates", True)),  # unknown: dedupe, which is always right
        )


def effective_mode(mode: Mode, table: Table) -> Mode:
    """Append into a keyed table creates rows (an existing key is an error)."""
    if not table.key and mode is not Mode.APPEND:
        raise InvalidOption(
            f"table {table.name!r} has no key: only mode 'append' can import into it, "
            f"not {mode.value!r}"
        )
    if mode is Mode.APPEND and table.key:
        return Mode.CREATE
    return mode


def table_for(source: SourceSpec, batch: Batch, catalog: Catalog) -> Table:
    name = batch.table or source.table
    if name is None:
        stem = Path(source.name).name.split(".")[0].lower()
        if stem in catalog:
            name = stem
    if name is None:
        raise InvalidOption(
            f"which table should {source.name!r} go to? Give {option('table')} (tables: "
            f"{', '.join(catalog.names())})"
        )
    return catalog.get(name)


class Ingest:
    def __init__(
        self,
        conn: Connection,
        prefix: str,
        catalog: Catalog,
        import_id: str,
        request: ImportRequest,
        batch_size: int,
        progress: Progress | None = None,
        check: Callable[[], None] | None = None,
        record_failures: bool = True,
        small_bytes: int = READ_AHEAD_FROM,
        made: set[str] | None = None,
        limits: Limits = Limits(),
        tenant: str | None = None,
    ) -> None:
        self.conn = conn
        self.tenant = tenant  # whose rows references are looked up in (None: not looked up)
        self.prefix = prefix  # where plan tables go: "" or "scratch." (store/scratch.py)
        self.target: Target = conn  # what stage tables are written through (run())
        self.stage_prefix = prefix  # where they go: that, or "stage." (the stage file)
        self.catalog = catalog
        self.import_id = import_id
        self.request = request
        self.batch_size = batch_size
        self.progress = progress
        self.check = check  # raises to stop between batches (a cancelled import)
        #: False when staging again what a crash lost: the failed rows are recorded already
        self.record_failures = record_failures
        self.parts: dict[tuple[int, str], Part] = {}
        #: stage tables made (by the first batch of their part), known to the caller even
        #: when the ingest stops half-way (their rows go with the import's end)
        self.made: set[str] = set() if made is None else made
        #: what the readers said of the files (a guessed encoding, renamed headers…)
        self.warnings: list[str] = []
        self.stager: Stager  # while run() runs
        self.small_bytes = small_bytes  # files together under this size are small
        self.limits = limits  # what a file may hold (LOADBAY_MAX_*)
        self.small = False  # are the files small (known once run() runs)?
        self.rows_read = 0
        self.tracker: Tracker | None = None  # told the rows and bytes read, if given
        self.bytes_before = 0  # the bytes of the files read before this one
        self.count = ByteCount()  # of the file being read
        self.number: int | None = None  # the import's (its results' key), once read

    def run(self) -> list[Part]:
        """Stage every file; the parts. Called outside a transaction (the stage file is
        attached to the connection between two)."""
        with stage_file(self.conn, self.import_id) as writer:
            if writer is not None:  # attached once closed: the ingest's end
                self.target, self.stage_prefix = writer, writer.prefix
            self._stage_all()
        if self.record_failures and self.tenant is not None:
            self._check_rejected(self.tenant)
        for part in self.parts.values():
            if part.repeats is not None:
                part.duplicates, part.repeats = part.repeats.found(), None
        return list(self.parts.values())

    def _stage_all(self) -> None:
        # small files are one batch or a few: nothing to overlap, a thread would cost more
        paths = [Path(source.path) for source in self.request.sources]
        self.small = small_files(*paths, below=self.small_bytes)
        self.stager = Stager(threaded=not self.small)
        try:
            sizes = _sizes(paths)
            if self.tracker is not None:
                self.tracker.update(bytes_total=sum(sizes))
            for src, source in enumerate(self.request.sources):
                self.count, self.bytes_before = ByteCount(), sum(sizes[:src])
                options = source.read_options(self.batch_size, self.limits)
                options = replace(options, count=self.count)
                for batch in read_file(paths[src], options, self.small_bytes):
                    self.warnings += batch.warnings  # what reading the file changed or guessed
                    self._batch(src, source, batch)
                if self.tracker is not None:  # a format that is not counted: at its end
                    self.tracker.update(bytes_read=sum(sizes[: src + 1]))
            if self.tracker is not None:  # what is left: the last batch's write and checks
                self.tracker.enter(STAGING)
            self.stager.wait()
        finally:
            self.stager.close()  # the connection is this thread's again

    def _part(self, src: int, source: SourceSpec, batch: Batch) -> Part:
        table = table_for(source, batch, self.catalog)
        headers = [c for c in batch.frame.columns if c not in (ROW, REF)]
        found = self.parts.get((src, table.name))
        if found is not None:
            self._widen(found, batch, headers)
            return found
        req = self.request
        mode = effective_mode(req.mode, table)
        match = () if mode is Mode.APPEND else table.match_columns(req.key)
        cmap = self._map(table, batch, headers)
        check_required(cmap, table, mode, match, headers, req.require_all_columns)
        index = len(self.parts)
        part = Part(
            index,
            src,
            source.name,
            table,
            mode,
            match,
            cmap,
            *self._names(table, index),
            unknown=cmap.unknown,
            repeats=RepeatedKeys(match),
        )
        self.parts[(src, table.name)] = part  # its stage is made with its first batch
        return part

    def _names(self, table: Table, index: int) -> tuple[str, str]:
        """The stage and plan (base) tables of part ``index``: for a small import on
        PostgreSQL, those the connection keeps for its small imports; else the import's
        own."""
        dialect = dialect_of(self.conn)
        if self.small and self.target is self.conn and dialect.reuses_small_tables:
            stage = reused_stage_name(dialect, self.catalog, table, index)
            return stage, reused_plan_base(index)
        return (
            self.stage_prefix + stage_table_name(self.import_id, index),
            self.prefix + plan_table_name(self.import_id, index),
        )

    def _map(self, table: Table, batch: Batch, headers: list[str]) -> ColumnMap:
        req = self.request
        mapping, constants = dict(req.mapping), dict(req.constants)
        if batch.table is not None:  # several tables in one file: each takes what is its own
            mapping = {  # an ignore (no target) holds for every table
                f: c for f, c in mapping.items() if f in headers and (not c or table.has_column(c))
            }
            constants = {c: v for c, v in constants.items() if table.has_column(c)}
        return map_columns(headers, table, MappingOptions(mapping, constants, req.strict_columns))

    def _widen(self, part: Part, batch: Batch, headers: list[str]) -> None:
        """A field first seen in a later batch (JSON, XML: records need not share their
        fields) is mapped like the first ones, and its column added to the stage (NULL for
        the rows before, which did not have it) — never dropped unseen."""
        known = set(part.cmap.sources.values()) | set(part.cmap.unknown)
        if all(h in known for h in headers):
            return
        cmap = self._map(part.table, batch, headers)
        moved = [c for c, f in part.cmap.sources.items() if cmap.sources.get(c) != f]
        if moved:
            late = [h for h in headers if h not in known]
            raise InvalidOption(
                f"{part.source}: field(s) {', '.join(map(repr, late))} first appear after "
                f"row {part.rows} and would change which field fills column(s) "
                f"{', '.join(map(repr, moved))}; give the mapping explicitly "
                f"({option('mapping')})"
            )
        added = [c for c in cmap.columns if c not in part.cmap.columns]
        self.stager.wait()  # the connection (and writer) is the stager's while it writes
        if added and not is_reused(part.stage):  # a kept stage has every column
            with self.conn.begin() if self.target is self.conn else contextlib.nullcontext():
                add_stage_columns(self.target, part.stage, self.catalog, part.table, added)
        part.cmap, part.unknown = cmap, cmap.unknown

    def _batch(self, src: int, source: SourceSpec, batch: Batch) -> None:
        part = self._part(src, source, batch)
        mapped = apply_map(batch.frame, part.cmap)
        checked = validate(
            mapped,
            part.table,
            self.catalog,
            ValidateOptions(
                mode=part.mode,
                empty=self.request.empty,
                date_formats=self.request.date_formats,
                decimal_comma=self.request.decimal_comma,
                match=part.match,
            ),
        )
        good, written = checked.good, _read_only_errors(batch.frame, part)
        if written.height:  # rows that set a read-only field fail, whatever else they hold
            good = good.filter(~pl.col(ROW).cast(pl.Int64).is_in(written["row"].implode()))
        staged = good.select(
            (pl.int_range(1, good.height + 1, dtype=pl.Int64) + part.staged).alias("_seq"),
            pl.lit(src, pl.Int32).alias("_src"),
            pl.col(ROW).cast(pl.Int64).alias("_row"),
            (pl.col(REF) if REF in good.columns else pl.lit(None, pl.String)).alias("_ref"),
            *[pl.col(c) for c in part.cmap.columns],
        )
        errors = _joined(_joined(batch.errors, checked.errors), written)

        between = bool(self.made)  # not the first batch (the runner has just read the state)
        made = part.stage in self.made
        self.made.add(part.stage)
        columns = list(part.cmap.columns)

        def stage() -> None:
            with self.conn.begin():
                if self.check and between:
                    self.check()
                if not made:
                    create_stage(self.target, part.stage, self.catalog, part.table, columns)
                append_frame(self.target, part.stage, staged)
                if self.record_failures:
                    self._record_failures(part, mapped, errors)
            if self.tracker is not None:  # now, when this connection holds no lock (SQLite)
                self.tracker.publish()

        self.stager.submit(stage)
        if part.repeats is not None:
            part.repeats.add(good)
        if checked.rejected is not None and checked.rejected.height:
            part.rejected.append(checked.rejected.with_columns(pl.lit(src, pl.Int64).alias("_src")))
        part.staged += staged.height
        part.rows += batch.frame.height + _distinct_rows(batch.errors)
        part.failed += _distinct_rows(errors)
        self.rows_read += batch.frame.height + _distinct_rows(batch.errors)
        if self.tracker is not None:  # published by the batch's staging, once committed
            count = self.tracker.count
            self.tracker.set(
                rows_read=self.rows_read,
                rows_validated=count.rows_validated + staged.height,
                errors=count.errors + _distinct_rows(errors),
                bytes_read=self.bytes_before + self.count.value,
            )
        if self.progress:
            self.progress("read", self.rows_read, None)

    def _check_rejected(self, tenant: str) -> None:
        """The unknown references of the rows that failed validation, as more errors of
        those rows (a bad cell hides no other problem of its row). Rows the import stages
        for the referenced table count as found, as they do for the staged rows' plan."""
        with self.conn.begin():
            for part in self.parts.values():
                if not part.rejected:
                    continue
                rows, part.rejected = pl.concat(part.rejected, how="vertical_relaxed"), []
                for name in [c for c in rows.columns if c not in (ROW, "_src")]:
                    ref = part.table.column(name).references
                    assert ref is not None
                    stages = [
                        p.stage
                        for p in self.parts.values()
                        if p.table.name == ref.table
                        and ref.column in p.cmap.columns
                        and p.stage in self.made
                    ]
                    values = rows.get_column(name).drop_nulls().unique().to_list()
                    missing = missing_values(self.conn, ref, tenant, values, stages)
                    if missing:
                        self._record_unknown(part, rows, name, ref, missing)

    def _record_unknown(
        self, part: Part, rows: pl.DataFrame, name: str, ref: Reference, missing: set[object]
    ) -> None:
        before, after = reference_words(ref)
        value = pl.col(name).cast(pl.String)
        bad = rows.filter(pl.col(name).is_in(list(missing), nulls_equal=False))
        insert_frame(
            self.conn,
            system.errors,
            bad.select(
                pl.lit(self.import_id).alias("import_id"),
                pl.lit(part.table.name).alias("table_name"),
                pl.col("_src").alias("src"),
                pl.col(ROW).alias("row"),
                pl.lit(name).alias("column"),
                pl.lit(Code.REFERENCE_NOT_FOUND.value).alias("code"),
                pl.concat_str(pl.lit(before), value, pl.lit(after)).alias("message"),
                value.alias("value"),
            ),
        )

    def _record_failures(self, part: Part, mapped: pl.DataFrame, errors: pl.DataFrame) -> None:
        if errors.height == 0:
            return
        ids = {"import_id": self.import_id, "table_name": part.table.name, "src": part.src}
        insert_frame(
            self.conn,
            system.errors,
            errors.select(
                *[pl.lit(v).alias(k) for k, v in ids.items()],
                pl.col("row").cast(pl.Int64),
                "column",
                "code",
                "message",
                "value",
            ),
        )
        rows = errors.select(pl.col("row").cast(pl.Int64).unique())
        keys = mapped.select(
            pl.col(ROW).cast(pl.Int64).alias("row"),
            _no_nul(pl.col(REF) if REF in mapped.columns else pl.lit(None, pl.String)).alias("ref"),
            _key_text(part, mapped).alias("key"),
        )
        failed = rows.join(keys, on="row", how="left")
        if self.number is None:
            self.number = number_of(self.conn, self.import_id)
        insert_frame(
            self.conn,
            system.results,
            failed.select(
                pl.lit(self.number, pl.Int64).alias("import_number"),
                pl.lit(part.table.name).alias("table_name"),
                pl.lit(part.src).alias("src"),
                "row",
                "ref",
                "key",
                pl.lit("failed").alias("outcome"),
            ),
        )


class Stager:
    """Runs the staging writes on a second thread, one batch behind: writing batch n to the
    database (round trips; SQLite: ADBC's ingest, which releases the GIL, or Python rows)
    overlaps reading and validating batch n + 1 (polars, which releases the GIL). Two
    batches at most are held, so memory stays bounded. The connection belongs to the stager
    between ``submit`` and ``wait``; its first error stops the jobs after it and is raised in
    the caller's thread. Not ``threaded``, each job runs in ``submit`` (small files)."""

    def __init__(self, threaded: bool = True) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if threaded:  # else each job runs at once, in the caller's thread
            self._thread = threading.Thread(target=self._work, name="loadbay-stager", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    job()
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc
            finally:
                self._jobs.task_done()

    def submit(self, job: Callable[[], None]) -> None:
        """Hand over a job once the previous one is done (so two batches at most are held)."""
        self.wait()
        if self._thread is None:
            job()
            return
        self._jobs.put(job)

    def wait(self) -> None:
        """Until every submitted job is done; raises the first error of one."""
        self._jobs.join()
        self._raise()

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def _key_text(part: Part, mapped: pl.DataFrame) -> pl.Expr:
    cols = [c for c in part.match if c in mapped.columns]
    if not cols:
        return pl.lit(None, pl.String)
    return _no_nul(
        pl.concat_str(
            [pl.col(c).cast(pl.String).str.strip_chars().fill_null("") for c in cols],
            separator="|",
        )
    )


def _no_nul(text: pl.Expr) -> pl.Expr:
    """A failed row's key or ref as kept: NUL (a row error, no database keeps it) shown."""
    return text.str.replace_all("\x00", "\\x00", literal=True)


def _sizes(paths: list[Path]) -> list[int]:
    """The sizes of the files (0 for one that is missing: its reader says what is wrong)."""
    found = []
    for path in paths:
        try:
            found.append(path.stat().st_size)
        except OSError:
            found.append(0)
    return found


def _read_only_errors(frame: pl.DataFrame, part: Part) -> pl.DataFrame:
    """A ``read_only`` error for each non-empty cell of a field loadbay sets
    (``map.read_only``): never written, it would be silently dropped."""
    pieces = [
        frame.filter(pl.col(name).is_not_null() & (pl.col(name).cast(pl.String) != "")).select(
            pl.col(ROW).cast(pl.Int64).alias("row"),
            pl.lit(name).alias("column"),
            pl.lit(Code.READ_ONLY.value).alias("code"),
            pl.lit("is set by loadbay and cannot be written").alias("message"),
            pl.col(name).cast(pl.String).alias("value"),
        )
        for name in part.unknown
        if read_only(name, part.table)
    ]
    if not pieces:
        return empty_errors()
    return pl.concat(pieces).sort("row", maintain_order=True)


def _distinct_rows(errors: pl.DataFrame) -> int:
    return int(errors["row"].n_unique()) if errors.height else 0


def _joined(first: pl.DataFrame, then: pl.DataFrame) -> pl.DataFrame:
    """Two errors frames as one (most batches have none: no concat for them)."""
    if then.is_empty():
        return first
    if first.is_empty():
        return then
    return pl.concat([first, then], how="vertical_relaxed")
