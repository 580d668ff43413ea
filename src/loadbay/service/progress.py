"""An import's progress as it runs: phase, rows, bytes, rate, ETA, errors so far.

The runner keeps a :class:`Tracker` and tells it what it did (rows read, written…). The
tracker keeps the ``progress`` object of the import (``snapshot``) and stores it with the
import (column ``loadbay_imports.progress``) so that every API process and worker sees it:

- at a bounded rate: at most one write every ``interval`` seconds whatever the file size,
  plus one when a phase starts, which also carries the final numbers of the phase before
  (kept in ``phases``: a client that looks less often than phases last still sees every
  phase, in order). One write per phase, not one at its end and one at the next start,
  and none in a run's first ``interval``: a bulk request of 100 records wrote its progress
  9 times, each its own commit, where its final object, stored with its end, says it all;
- each write on its own short transaction through its own connection, waiting at most a
  few milliseconds for a lock (``Tracker.save``, through the dialect's
  ``short_transaction``): a busy database skips the write (the next one carries the
  numbers) and a failing one is logged, never the import's failure. The final object
  goes with the import's last state change instead, in the runner's own transaction.

``seq`` numbers the writes of an import and the ends of its phases (it goes on from the
stored one when a run resumes): the server-sent events of ``GET /v1/imports/{id}/events``
take their ids from it, a phase's end an id of its own below its next phase's.
``listener`` (the local command line) gets every snapshot, unthrottled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Engine

from loadbay.store import imports_sql
from loadbay.store.dialect import dialect_of

log = logging.getLogger("loadbay.progress")

READING = "reading and validating"
STAGING = "staging"
PLANNING = "planning"
WRITING = "writing"
REPORTING = "reporting"
#: the phases of a run, in order (a resumed run starts at planning)
PHASES = (READING, STAGING, PLANNING, WRITING, REPORTING)

#: seconds between two writes of the progress (besides those at the end of a phase)
INTERVAL = 0.5
#: milliseconds a write of the progress waits for a lock before it is skipped
WAIT_MS = 50

#: the ``progress`` object of an import (see ``snapshot``), as JSON keeps it
Snapshot = dict[str, object]
Listener = Callable[[Snapshot], None]


@dataclass
class Counters:
    """What the run has done so far (the tracker's numbers)."""

    rows_read: int = 0
    rows_validated: int = 0  # rows that passed validation
    rows_written: int = 0
    rows_to_write: int | None = None  # known once every file is read
    bytes_read: int = 0
    bytes_total: int = 0
    errors: int = 0  # rows that failed so far
    #: the last snapshot of each finished phase (without ``phases``), with ``seconds``
    phases: list[Snapshot] = field(default_factory=list)


class Tracker:
    """The progress of one run of an import (see the module's docstring)."""

    def __init__(
        self,
        engine: Engine | None,
        tenant: str,
        import_id: str,
        stored: Mapping[str, object] | None = None,
        listener: Listener | None = None,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine  # None: not stored (tests of the numbers)
        self.tenant = tenant
        self.import_id = import_id
        self.listener = listener
        self.interval = interval
        self.clock = clock
        self.seq = _seq_of(stored)
        self.count = Counters()
        self.phase: str | None = None
        self.started = self.phase_started = clock()
        self.last_write = self.started  # the first write comes one interval in
        self.closed = False
        self.lock = threading.RLock()

    # ---- what the runner says --------------------------------------------------------
    def go_on_from(self, stored: Mapping[str, object] | None) -> None:
        """Number the writes after those of an earlier run (``stored``: its progress)."""
        self.seq = max(self.seq, _seq_of(stored))

    def enter(self, phase: str) -> None:
        """The run is at ``phase``; phases only go forward (a later table's planning,
        once writing started, is part of writing). The phase before ends: its numbers go
        with the new phase's first write."""
        with self.lock:
            if self.phase is not None and PHASES.index(phase) <= PHASES.index(self.phase):
                return
            if self.phase is not None:  # its end is written with the next phase's start
                self._end_phase()
                self.seq += 1  # ... under a number of its own (the events' id)
            self.phase, self.phase_started = phase, self.clock()
            # written at once, unless the run is younger than an interval: a short run
            # (a bulk request) writes none, its final object carries every phase
            self.publish(force=self.phase_started - self.started >= self.interval)

    def update(self, **values: int | None) -> None:
        """Set counters (``rows_read=…``, ``bytes_read=…``) and publish when due."""
        self.set(**values)
        self.publish()

    def set(self, **values: int | None) -> None:
        """Set counters, publishing nothing (the caller publishes when it suits)."""
        for name, value in values.items():
            if not hasattr(self.count, name):
                raise AttributeError(f"no progress counter {name!r}")
            setattr(self.count, name, value)

    def add(self, **values: int) -> None:
        """Add to counters (``rows_written=n``) and publish when due."""
        for name, value in values.items():
            setattr(self.count, name, int(getattr(self.count, name) or 0) + value)
        self.publish()

    def final(self) -> Snapshot:
        """The last object of the run (its phase ended), for the runner to store with the
        import's final state in its own transaction; nothing is written after it."""
        with self.lock:
            if self.phase is not None and not self.closed:
                self._end_phase()
            self.closed = True
            self.seq += 1
            return self.snapshot()

    # ---- the object ------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        c, now = self.count, self.clock()
        elapsed = max(now - self.phase_started, 1e-9)
        done, total, rate = self._measure(elapsed)
        percent = None if total is None else min(100.0, 100.0 * done / total) if total else 100.0
        eta = None
        if total is not None and rate > 0 and self.phase in (READING, WRITING):
            eta = round(max(total - done, 0) / rate, 1)
        rows_done = c.rows_written if self.phase == WRITING else c.rows_read
        measured = self.phase in (READING, WRITING)  # the others move no rows
        return {
            "seq": self.seq,
            "phase": self.phase,
            "rows_read": c.rows_read,
            "rows_validated": c.rows_validated,
            "rows_written": c.rows_written,
            "rows_to_write": c.rows_to_write,
            "bytes_read": c.bytes_read,
            "bytes_total": c.bytes_total,
            "errors": c.errors,
            "percent": None if percent is None else round(percent, 1),
            "rows_per_second": round(rows_done / elapsed, 1) if measured else 0.0,
            "eta_seconds": eta,
            "elapsed_seconds": round(now - self.started, 3),
            "phases": [dict(p) for p in c.phases],
        }

    def _measure(self, elapsed: float) -> tuple[float, float | None, float]:
        """The current phase's work done, its total (None: unknown) and rate a second:
        bytes while reading (rows are not known before the end), rows while writing."""
        c = self.count
        if self.phase == READING:
            total = c.bytes_total or None
            return c.bytes_read, total, c.bytes_read / elapsed
        if self.phase == WRITING:
            return c.rows_written, c.rows_to_write, c.rows_written / elapsed
        if self.phase == REPORTING:
            return 1, 1, 0.0
        return 0, None, 0.0

    # ---- storing it ------------------------------------------------------------------
    def publish(self, force: bool = False) -> None:
        """Tell the listener; store the object when ``force`` or ``interval`` has passed.
        (The ingest publishes from its staging thread, the runner from its own.)"""
        with self.lock:
            self._publish(force)

    def _publish(self, force: bool) -> None:
        if self.closed:
            return
        if self.listener is not None:
            self.listener(self.snapshot())
        now = self.clock()
        if self.engine is None or (not force and now - self.last_write < self.interval):
            return
        self.seq += 1
        snap = self.snapshot()
        if self.save(snap):
            self.last_write = now
        else:  # busy or failing: the next publish carries it (never the import's error)
            self.last_write = now - self.interval / 2

    def save(self, snap: Snapshot) -> bool:
        """Store ``snap`` on a connection and short transaction of its own (the import's
        run holds its own connection in a long one), waiting at most ``WAIT_MS`` for a
        lock: False, and nothing written, when the row or the database was busy or the
        write failed (logged). Progress never holds up nor fails the import it reports."""
        assert self.engine is not None
        try:
            with dialect_of(self.engine).short_transaction(self.engine, WAIT_MS) as conn:
                imports_sql.save_progress(conn, self.tenant, self.import_id, snap)
            return True
        except sa.exc.OperationalError as exc:  # locked, busy: the next write carries it
            log.debug("progress of %s not stored now: %s", self.import_id, exc)
        except Exception:
            log.warning("storing the progress of %s failed", self.import_id, exc_info=True)
        return False

    def _end_phase(self) -> None:
        """Keep the phase's last numbers (and how long it took) in ``phases``, numbered
        ``seq + 1`` (the caller takes the number)."""
        self.seq += 1
        last = {k: v for k, v in self.snapshot().items() if k != "phases"}
        last["seconds"] = round(self.clock() - self.phase_started, 3)
        self.count.phases.append(last)
        self.seq -= 1


def _seq_of(stored: Mapping[str, object] | None) -> int:
    """The ``seq`` of a stored progress object (0 when there is none)."""
    seq = (stored or {}).get("seq")
    return seq if isinstance(seq, int) else 0
