"""Running one import: ingest, then plan and write each table in dependency order.

The import's row is the source of truth for its state. STRICT (and every dry run) plans
and writes all tables in one transaction, committed only when no row failed (never for a
dry run). LENIENT plans each table, then writes it in chunks, each chunk committed with
its results and a checkpoint, so a crashed run resumes after the last committed chunk.

Every run ends its import: whatever it raises (a bad file, a database error, a bug, an
interrupt), the import is failed with a code (cancelled, if it was cancelled), through a
fresh connection when the run's may be broken (that one is discarded, never pooled again),
and its scratch goes. Only ``Abandoned`` leaves the import as it is, to whoever took it
over. What committed chunks wrote stays, revertible by the import's write stamp.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field, replace

import polars as pl
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from loadbay.domain.imports import Checkpoint, Counts, Import, State
from loadbay.errors import (
    Abandoned,
    Cancelled,
    Interrupted,
    InvalidInput,
    InvalidState,
    LoadbayError,
    Locked,
    RowsFailed,
    StageLost,
    TooManyErrors,
    option,
)
from loadbay.pipeline.frames import ErrorHandling
from loadbay.pipeline.map import read_only
from loadbay.pipeline.read import READ_AHEAD_FROM, Limits
from loadbay.schema.model import Catalog
from loadbay.service import progress as phases
from loadbay.service import states
from loadbay.service.ingest import Ingest, Part, Progress
from loadbay.service.progress import Listener, Tracker
from loadbay.service.requests import ImportRequest
from loadbay.store import driver, imports_sql, system
from loadbay.store.dialect import dialect_of
from loadbay.store.locks import lock_holder, table_locks
from loadbay.store.plan_sql import Plan, PlanSpec, build_plan
from loadbay.store.scratch import Scratch, attach_scratch
from loadbay.store.staging import is_reused, release_tables, staged_rows
from loadbay.store.write_sql import (
    PlanSummary,
    collect_diffs,
    collect_errors,
    collect_results,
    create_plan_table,
    save_results,
    summarise_plan,
    write_chunk,
)

FINAL_STATES = states.SETTLED

log = logging.getLogger("loadbay.runner")


@dataclass
class RunState:
    parts: list[Part] = field(default_factory=list)
    failed: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    #: the plan tables built, by part: a kept one's name says which query built it
    plans: dict[int, str] = field(default_factory=dict)
    #: the stage tables made so far (by an ingest that may not have finished)
    stages: set[str] = field(default_factory=set)
    #: what the readers said of the files (Batch.warnings), as the ingest collected them
    read_warnings: list[str] = field(default_factory=list)


class ImportRunner:
    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        tenant: str,
        import_id: str,
        batch_size: int = 100_000,
        chunk_size: int = 50_000,
        progress: Progress | None = None,
        small_bytes: int = READ_AHEAD_FROM,
        limits: Limits = Limits(),
        listener: Listener | None = None,
    ) -> None:
        self.engine = engine
        self.catalog = catalog
        self.tenant = tenant
        self.import_id = import_id
        self.batch_size = batch_size
        self.chunk_size = chunk_size
        self.progress = progress
        self.small_bytes = small_bytes  # files together under this size are a small import
        self.limits = limits  # what a file may hold (LOADBAY_MAX_*)
        self.state = RunState()
        self.final: Import | None = None  # the import as this run finished it
        self.scratch: Scratch | None = None  # once attached
        #: what the run publishes of its progress (stored with the import; ``listener``
        #: gets every snapshot, the local command line's display)
        self.tracker = Tracker(engine, tenant, import_id, listener=listener)

    # ---- the whole run ----------------------------------------------------------------
    def run(self, record: Import | None = None) -> Import:
        """Run the import to its end, or to where it is stopped; its record then.
        ``record``: the import as the caller has just read it (not read again).

        Raises what stopped it only when that was a bug (after failing the import) or an
        interrupt (KeyboardInterrupt, SystemExit...: the import is failed first), or
        ``Abandoned``; a bad file or a database error is the import's failure."""
        self.conn = self.engine.connect()
        try:
            if record is None:
                record = self._load(self.conn)
            if record.state in FINAL_STATES:
                return record  # finished already: nothing to do
            self.tracker.go_on_from(record.progress)
            self.request = ImportRequest.from_json(record.request)
            return self._attempt(record.checkpoint or Checkpoint())
        finally:
            self.conn.close()

    def _attempt(self, checkpoint: Checkpoint) -> Import:
        """Run; however that stops, end the import (unless abandoned) and release its
        scratch. The import's record."""
        abandoned = False
        try:
            self.scratch = attach_scratch(self.conn, self.import_id)
            self._run(self.conn, self.request, checkpoint)
        except Abandoned:
            abandoned = True
            raise
        except BaseException as exc:
            self._stopped(exc)
            if not isinstance(exc, (LoadbayError, sa.exc.DBAPIError)):
                raise  # a bug, or an interrupt: the caller's to know
        finally:
            self._release(abandoned)
        return self.final or self._load(self.conn)

    def _stopped(self, exc: BaseException) -> None:
        """End a run that raised ``exc``: cancelled (a cancel, or Ctrl-C: the user stopped
        it), or failed with a code. Unless that was a cancel or bad input, the run's
        connection is discarded (it may be broken, or left in a state nobody should
        inherit) and the import ended on a fresh one."""
        if not isinstance(exc, (Cancelled, InvalidInput)):
            self._discard()
        if isinstance(exc, (Cancelled, KeyboardInterrupt)):
            end = self._stop_cancelled
        else:
            code, message = _failure(exc)
            if not isinstance(exc, LoadbayError):
                log.error("import %s failed: %s", self.import_id, message, exc_info=exc)

            def end(conn: Connection) -> None:
                self._fail(conn, code, message)

        try:
            end(self.conn)
        except Exception:
            log.exception("ending import %s failed; trying a fresh connection", self.import_id)
            self._discard()
            end(self.conn)

    def _discard(self, fresh: bool = True) -> None:
        """Close the run's connection for good (not back into the pool) and take a fresh
        one. SQLite: the files attached to it are closed with it."""
        with contextlib.suppress(Exception):
            self.conn.invalidate()
        with contextlib.suppress(Exception):
            self.conn.close()
        if fresh:
            self.conn = self.engine.connect()

    def _run(self, conn: Connection, request: ImportRequest, checkpoint: Checkpoint) -> None:
        if checkpoint.parts is not None:  # staged before an interruption: go on from there
            parts = [Part.from_json(p, self.catalog) for p in checkpoint.parts]
            stamp = stamp_value(conn, str(checkpoint.stamp))
            # a stage the connection keeps is never the one of an earlier run
            with conn.begin():
                lost = any(
                    is_reused(p.stage) or staged_rows(conn, p.stage) != p.staged for p in parts
                )
            if lost:
                self.tracker.enter(phases.READING)
                self._stage_again(conn, request, parts)
        else:
            parts, ingested = self._ingest(conn, request)
            request = self.request  # (as changed by a PATCH while it was queued)
            stamp = dialect_of(conn).stamp()
            checkpoint = Checkpoint(parts=tuple(p.to_json() for p in parts), stamp=str(stamp))
            self._move(conn, states.RUNNING, checkpoint=checkpoint, **ingested)
        self.state.parts = parts
        self.state.failed = sum(p.failed for p in parts)
        tables = [p.table.name for p in parts]
        with table_locks(conn, self.tenant, tables, timeout=request.lock_timeout) as held:
            if not held:
                raise self._locked(conn, tables, request.lock_timeout)
            if request.dry_run or request.error_handling is ErrorHandling.STRICT:
                self._write_atomic(conn, request, stamp)
            else:
                self._write_lenient(conn, request, stamp, checkpoint)
        self._finish(conn, request, stamp)

    def _locked(self, conn: Connection, tables: list[str], waited: float | None) -> Locked:
        """The error of an import that waited ``lock_timeout`` for its tables in vain."""
        with conn.begin():
            holder = lock_holder(conn, self.tenant, tables, besides=self.import_id)
        names = ", ".join(sorted(set(tables)))
        by = f"import {holder['id']} ({holder['state']})" if holder else "another import"
        return Locked(
            f"{names}: locked by {by}; waited {waited:g} s (lock_timeout): try again later"
        )

    def _ingest(
        self, conn: Connection, request: ImportRequest
    ) -> tuple[list[Part], dict[str, object]]:
        """Read, map, validate and stage every file; record the rows that failed. Returns
        the parts, and what the import's row is to say of them."""
        with conn.begin():
            # queued, it has recorded nothing yet (requeue_dry_run clears a dry run's)
            if not imports_sql.set_state_if(
                conn,
                self.tenant,
                self.import_id,
                [states.QUEUED],
                states.VALIDATING,
                started_at=imports_sql.now(),
            ):
                current = imports_sql.get_state(conn, self.tenant, self.import_id)
                if current == states.CANCELLED:  # before it started
                    raise Cancelled(f"import {self.import_id} was cancelled")
                imports_sql.clear_results(conn, self.import_id)  # a resumed run's
            else:  # what it asks now that no PATCH changes it (one may have, since read)
                request = self.request = ImportRequest.from_json(
                    imports_sql.get_request(conn, self.tenant, self.import_id)
                )
        started = time.perf_counter()
        self.tracker.enter(phases.READING)
        parts = self._stage(conn, request)
        self.state.timings["read_validate_stage"] = time.perf_counter() - started
        warnings = self.state.read_warnings + [
            f"{p.source}: column {u!r} is not a column of {p.table.name}; ignored"
            for p in parts
            for u in p.unknown
            if not read_only(u, p.table)  # a row error of each row that sets it
        ]
        tables = sorted({p.table.name for p in parts})
        return parts, {
            "rows_total": sum(p.rows for p in parts),
            "warnings": warnings,
            "tables": tables,
        }

    def _stage(
        self, conn: Connection, request: ImportRequest, record_failures: bool = True
    ) -> list[Part]:
        """Read, map, validate and stage every file: its parts, in the order of writing."""
        assert self.scratch is not None  # attached before the run
        ingest = Ingest(
            conn,
            self.scratch.prefix,
            self.catalog,
            self.import_id,
            request,
            self.batch_size,
            self.progress,
            check=lambda: self._check_cancelled(conn),
            record_failures=record_failures,
            small_bytes=self.small_bytes,
            made=self.state.stages,
            limits=self.limits,
            tenant=self.tenant,
        )
        ingest.tracker = self.tracker
        parts = ingest.run()
        if record_failures:  # (staging again reads what was said already)
            self.state.read_warnings = ingest.warnings
        self.tracker.enter(phases.STAGING)  # (the ingest entered it once every file was read)
        order = self.catalog.dependency_order([p.table.name for p in parts])
        parts.sort(key=lambda p: (order.index(p.table.name), p.src))
        return parts

    def _stage_again(self, conn: Connection, request: ImportRequest, parts: list[Part]) -> None:
        """Stage again the rows a crash took from the stage tables (PostgreSQL empties
        unlogged tables when it recovers; a SQLite stage file is never synced). The same
        files give the same rows with the same numbers, so the run goes on from its
        checkpoint; the failed rows and the chunks written are recorded already."""
        again = {(p.src, p.table.name): p for p in self._stage(conn, request, False)}
        for part in parts:
            found = again.get((part.src, part.table.name))
            staged = 0 if found is None else found.staged
            if found is None or staged != part.staged or found.stage != part.stage:
                raise StageLost(
                    f"{part.source}: the rows staged for {part.table.name} were lost (the "
                    "database or the machine stopped while the import ran), and the file "
                    f"no longer gives the same rows: {part.staged} staged then, {staged} "
                    "now; what was written before stays (revert the import to undo it): run "
                    "the import again"
                )

    # ---- strict and dry run: one transaction ------------------------------------------
    def _write_atomic(self, conn: Connection, request: ImportRequest, stamp: object) -> None:
        started = time.perf_counter()
        trans = conn.begin()
        try:
            plans: list[tuple[Plan, PlanSummary, int | None, pl.DataFrame | None]] = []
            total, written = sum(p.staged for p in self.state.parts), 0
            self.tracker.update(rows_to_write=total, rows_written=0)
            for part in self.state.parts:
                self.tracker.enter(phases.PLANNING)
                plan = self._plan(conn, part, after=0)
                summary = summarise_plan(conn, plan)
                self.state.failed += summary.failed
                self.tracker.add(errors=summary.failed)
                self.tracker.enter(phases.WRITING)
                # a dry run's diffs are read before its plan is written (and rolled back)
                diffs = collect_diffs(conn, plan) if request.dry_run else None
                base = write_chunk(
                    conn, plan, summary, self.import_id, self.tenant, stamp, summary.lo, summary.hi
                )
                plans.append((plan, summary, base, diffs))
                written += part.staged
                self.tracker.add(rows_written=part.staged)
                if self.progress:
                    self.progress("write", written, total)
            too_many = _too_many(request, self.state.failed)
            keep = not request.dry_run and self.state.failed == 0
            if keep:
                for plan, summary, base, _ in plans:
                    lo, hi = summary.lo, summary.hi
                    save_results(conn, plan, self.import_id, lo, hi, failed=False, base=base)
                trans.commit()
            else:
                kept = [
                    (
                        p,
                        collect_results(conn, p, diffs),
                        collect_errors(conn, p),
                    )
                    for p, _, _, diffs in plans
                ]
                trans.rollback()
                self._save_collected(conn, kept, rolled_back=not request.dry_run)
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
        self.state.timings["plan_write"] = time.perf_counter() - started
        if too_many:
            raise too_many

    def _save_collected(
        self,
        conn: Connection,
        kept: list[tuple[Plan, pl.DataFrame, pl.DataFrame]],
        rolled_back: bool,
    ) -> None:
        """Keep the outcomes and errors of a plan that was rolled back."""
        with conn.begin():
            number = imports_sql.number_of(conn, self.import_id)
            for plan, results, errors in kept:
                table = pl.lit(plan.spec.table.name).alias("table_name")
                if rolled_back:  # nothing was written: rows that did not fail are skipped
                    results = results.with_columns(
                        outcome=pl.when(pl.col("outcome") == "failed")
                        .then(pl.lit("failed"))
                        .otherwise(pl.lit("skipped")),
                        record_id=pl.lit(None, pl.Int64),
                    )
                else:  # a dry run: rows it would create have no id yet
                    results = results.with_columns(
                        record_id=pl.when(pl.col("outcome") == "created")
                        .then(None)
                        .otherwise(pl.col("record_id"))
                    )
                imports_sql.insert_frame(
                    conn,
                    system.results,
                    results.select(
                        pl.lit(number, pl.Int64).alias("import_number"), table, pl.all()
                    ),
                )
                imports_sql.insert_frame(
                    conn,
                    system.errors,
                    errors.select(
                        pl.lit(self.import_id).alias("import_id"),
                        table,
                        *("src", "row", "column", "code", "message", "value"),
                    ),
                )

    # ---- lenient: chunks with a checkpoint ---------------------------------------------
    def _write_lenient(
        self, conn: Connection, request: ImportRequest, stamp: object, checkpoint: Checkpoint
    ) -> None:
        started = time.perf_counter()
        done: list[int] = list(checkpoint.done)
        self.tracker.update(rows_to_write=_to_write(self.state.parts, checkpoint), rows_written=0)
        for part in self.state.parts:
            if part.index in done:
                continue
            after = checkpoint.seq if checkpoint.part == part.index else 0
            self.tracker.enter(phases.PLANNING)
            with conn.begin():
                plan = self._plan(conn, part, after=after)
                summary = summarise_plan(conn, plan)
                plan_failed = summary.failed
                self.state.failed += plan_failed
                lo, hi = summary.lo, summary.hi
                too_many = _too_many(request, self.state.failed)
                if too_many:
                    kept = [(plan, collect_results(conn, plan), collect_errors(conn, plan))]
            if too_many:
                self._save_collected(conn, kept, rolled_back=True)
                raise too_many
            self.tracker.add(errors=plan_failed)
            self.tracker.enter(phases.WRITING)
            for start in range(lo, hi, self.chunk_size):
                end = min(start + self.chunk_size, hi)
                with conn.begin():
                    self._check_cancelled(conn)
                    base = write_chunk(
                        conn, plan, summary, self.import_id, self.tenant, stamp, start, end
                    )
                    save_results(
                        conn, plan, self.import_id, start, end, failed=plan_failed > 0, base=base
                    )
                    # the part's last chunk marks it done in the same commit
                    last = end == hi
                    checkpoint = replace(
                        checkpoint,
                        done=tuple(done + [part.index] * last),
                        part=None if last else part.index,
                        seq=0 if last else end,
                    )
                    imports_sql.update_import(
                        conn, self.tenant, self.import_id, checkpoint=checkpoint
                    )
                self.tracker.add(rows_written=end - start)
                if self.progress:
                    self.progress("write", end, hi)
            done.append(part.index)
            if lo >= hi:  # nothing to write: no chunk marked the part done
                checkpoint = replace(checkpoint, done=tuple(done), part=None, seq=0)
                self._set(conn, checkpoint=checkpoint)
        self.state.timings["plan_write"] = time.perf_counter() - started

    # ---- pieces -------------------------------------------------------------------------
    def _plan(self, conn: Connection, part: Part, after: int) -> Plan:
        spec = PlanSpec(
            table=part.table,
            catalog=self.catalog,
            stage=part.stage,
            plan=part.plan,
            columns=tuple(part.cmap.columns),
            match=part.match,
            mode=part.mode,
            empty=self.request.empty,
            duplicates=part.duplicates,
            rows=part.staged - after,
        )
        plan = build_plan(spec, dialect_of(conn), conn)
        chunked = (  # written in several chunks: each finds its range by an index
            self.request.error_handling is ErrorHandling.LENIENT
            and not self.request.dry_run
            and part.staged - after > self.chunk_size
        )
        create_plan_table(conn, plan, self.tenant, after=after, chunked=chunked)
        self.state.plans[part.index] = plan.spec.plan
        return plan

    def _finish(self, conn: Connection, request: ImportRequest, stamp: object) -> None:
        self.tracker.enter(phases.REPORTING)
        with conn.begin():
            counts = imports_sql.count_outcomes(conn, self.import_id)
            applied = counts.applied
            if request.dry_run:
                strict = request.error_handling is ErrorHandling.STRICT
                failed = strict and counts.failed > 0  # a real run would write nothing
                state = states.VALIDATION_FAILED if failed else states.VALIDATED
            elif counts.failed == 0:
                state = states.SUCCEEDED
            elif request.error_handling is ErrorHandling.LENIENT and applied:
                state = states.PARTIALLY_SUCCEEDED
            else:
                state = states.FAILED
            self._move_in(
                conn,
                state,
                counts=counts,
                rows_processed=counts.total,
                finished_at=imports_sql.now(),
                write_stamp=None if request.dry_run or state == states.FAILED else str(stamp),
                checkpoint=None,
                timings=self.state.timings,
                progress=self.tracker.final(),
                **_rows_failed(request, state, counts.failed),
            )
            assert self.scratch is not None
            self.scratch.drop_with(conn, self._scratch_names())  # in the same commit
            self.final = imports_sql.get_import(conn, self.tenant, self.import_id)
        self.scratch.dropped = True

    def _fail(self, conn: Connection, code: str, message: str) -> None:
        if conn.in_transaction():
            conn.rollback()
        with conn.begin():
            counts = imports_sql.count_outcomes(conn, self.import_id)
            record = imports_sql.get_import(conn, self.tenant, self.import_id)
            if record.state in states.SETTLED:
                return  # cancelled (or finished) by someone else meanwhile
        self._move(
            conn,
            states.FAILED,
            error_code=code,
            error=message,
            counts=counts,
            finished_at=imports_sql.now(),
            timings=self.state.timings,
            write_stamp=written_stamp(record, counts),
            progress=self.tracker.final(),
        )

    def _check_cancelled(self, conn: Connection) -> None:
        if self._state(conn) == "cancelled":
            raise Cancelled(f"import {self.import_id} was cancelled")

    def _stop_cancelled(self, conn: Connection) -> None:
        """Cancelled between batches or chunks: what was committed stays, and can be reverted."""
        if conn.in_transaction():
            conn.rollback()
        with conn.begin():
            counts = imports_sql.count_outcomes(conn, self.import_id)
            record = imports_sql.get_import(conn, self.tenant, self.import_id)
        self._move(
            conn,
            states.CANCELLED,
            counts=counts,
            rows_processed=counts.total,
            checkpoint=None,
            finished_at=imports_sql.now(),
            timings=self.state.timings,
            write_stamp=written_stamp(record, counts),
            progress=self.tracker.final(),
        )

    def _release(self, abandoned: bool) -> None:
        """Drop what the import staged once it is over (an interrupted one keeps it, for
        the run that goes on). A connection that fails at it is discarded, and a fresh one
        does it; if that fails too, what is left stays (logged)."""
        if self.scratch is None:
            return
        stages = sorted({part.stage for part in self.state.parts} | self.state.stages)
        for attempt in range(2):
            try:
                if self.conn.in_transaction():
                    self.conn.rollback()
                finished = not abandoned and self._over()
                names = self.scratch.leftovers(stages, self._plan_names(), finished)
                if names:
                    with self.conn.begin():
                        release_tables(self.conn, names)
                self.scratch.detach(self.conn, finished)  # (SQLite) outside a transaction
                return
            except Exception:
                log.exception("releasing the scratch of import %s failed", self.import_id)
                self._discard(fresh=attempt == 0)
                if attempt:
                    return

    def _over(self) -> bool:
        return (self.final or self._load(self.conn)).state in FINAL_STATES

    def _plan_names(self) -> list[str]:
        """The plan tables of the parts (a kept one only once built: its name is known)."""
        built = self.state.plans
        return [
            built.get(p.index, p.plan)
            for p in self.state.parts
            if p.index in built or not is_reused(p.plan)
        ]

    def _scratch_names(self) -> list[str]:
        return [part.stage for part in self.state.parts] + self._plan_names()

    def _move(self, conn: Connection, new: State, **values: object) -> None:
        """Change the import's state, as states.py allows, with a compare-and-set."""
        with conn.begin():
            self._move_in(conn, new, **values)

    def _move_in(
        self, conn: Connection, new: State, current: State | None = None, /, **values: object
    ) -> None:
        """``_move`` inside the caller's transaction (``current``: the state just read).

        Without ``current``, one compare-and-set from every state ``new`` may follow (or
        ``new`` itself: the values alone change); the state is read only when it fails,
        for the error."""
        if current is None:
            allowed = (*states.sources_of(new), new)
            if imports_sql.set_state_if(conn, self.tenant, self.import_id, allowed, new, **values):
                return
            current = imports_sql.get_state(conn, self.tenant, self.import_id)
            states.check_move(self.import_id, current, new)
            raise InvalidState(f"import {self.import_id} changed state meanwhile")
        if current == new:
            imports_sql.update_import(conn, self.tenant, self.import_id, **values)
            return
        states.check_move(self.import_id, current, new)
        if not imports_sql.set_state_if(
            conn, self.tenant, self.import_id, [current], new, **values
        ):
            raise InvalidState(f"import {self.import_id} changed state meanwhile")

    def _load(self, conn: Connection) -> Import:
        if conn.in_transaction():
            return imports_sql.get_import(conn, self.tenant, self.import_id)
        with conn.begin():
            return imports_sql.get_import(conn, self.tenant, self.import_id)

    def _state(self, conn: Connection) -> State:
        if conn.in_transaction():
            return imports_sql.get_state(conn, self.tenant, self.import_id)
        with conn.begin():
            return imports_sql.get_state(conn, self.tenant, self.import_id)

    def _set(self, conn: Connection, **values: object) -> None:
        with conn.begin():
            imports_sql.update_import(conn, self.tenant, self.import_id, **values)


def _failure(exc: BaseException) -> tuple[str, str]:
    """The code and message of the failure of a run that raised ``exc``."""
    if isinstance(exc, LoadbayError):
        return exc.code, exc.message
    if isinstance(exc, sa.exc.DBAPIError):
        error = driver.translate(exc)
        return error.code, error.message
    if isinstance(exc, Exception):
        return "internal_error", f"internal error: {type(exc).__name__}: {exc}"
    what = type(exc).__name__
    return Interrupted.code, f"the import was interrupted ({what}) before it finished"


def _rows_failed(request: ImportRequest, state: State, failed: int) -> dict[str, str]:
    """The error of an import that wrote nothing because rows failed: a strict one with
    any failed row, a lenient one whose every row failed (a strict dry run: would write
    nothing). None for a lenient one that wrote rows: its failed rows are its outcome."""
    if not failed:
        return {}
    rows = f"{failed} row{'s' * (failed != 1)} failed"
    if state == states.FAILED:
        return {"error_code": RowsFailed.code, "error": f"{rows}; nothing was written"}
    if state == states.VALIDATION_FAILED:
        return {"error_code": RowsFailed.code, "error": f"{rows}; a real run would write nothing"}
    return {}


def _to_write(parts: list[Part], checkpoint: Checkpoint) -> int:
    """The rows a lenient run has still to write (after its checkpoint, when resumed)."""
    done, at, after = checkpoint.done, checkpoint.part, checkpoint.seq
    return sum(p.staged - (after if p.index == at else 0) for p in parts if p.index not in done)


def _too_many(request: ImportRequest, failed: int) -> TooManyErrors | None:
    if request.max_errors is not None and failed > request.max_errors:
        return TooManyErrors(
            f"{failed} rows failed, more than the {request.max_errors} allowed "
            f"({option('max_errors')}): nothing was written"
        )
    return None


def written_stamp(record: Import, counts: Counts) -> str | None:
    """The write stamp of a run that stopped early, if its committed chunks wrote rows
    (they stay, and a revert finds them by it); None if nothing was written."""
    stamp = record.checkpoint.stamp if record.checkpoint else None
    return stamp if stamp and counts.written else None


def stamp_value(conn: Connection, stored: str) -> object:
    """The write stamp of an import as the database compares it."""
    return dialect_of(conn).stamp_value(stored)
