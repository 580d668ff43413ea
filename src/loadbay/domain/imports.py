"""An import as loadbay keeps it: its state, counts, checkpoint and who did what to it.

``Import.from_row`` builds one from a ``loadbay_imports`` row (``store/imports_sql.py``
does it, once per read); the service passes it on, the adapters render it
(``service/views.import_view`` is its JSON). Plain values only: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from loadbay.domain.json import JSON, JSONObject


class State(StrEnum):
    """Where an import is: queued, validating, running, then succeeded,
    partially_succeeded, failed or cancelled; a dry run ends validated (or
    validation_failed); a finished import can go reverting, then reverted."""

    QUEUED = "queued"
    VALIDATING = "validating"
    RUNNING = "running"
    VALIDATED = "validated"
    VALIDATION_FAILED = "validation_failed"
    SUCCEEDED = "succeeded"
    PARTIALLY_SUCCEEDED = "partially_succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVERTING = "reverting"
    REVERTED = "reverted"

    @classmethod
    def of(cls, value: object) -> State:
        """The state named ``value``; ValueError for a name that is none."""
        return cls(str(value))


#: nothing more happens to an import by itself (a run's outcome; ``GET /v1/imports/{id}``
#: polling, ``Client.wait`` and the event stream stop at these)
SETTLED = frozenset(
    {
        State.VALIDATED,
        State.VALIDATION_FAILED,
        State.SUCCEEDED,
        State.PARTIALLY_SUCCEEDED,
        State.FAILED,
        State.CANCELLED,
        State.REVERTED,
    }
)


@dataclass(frozen=True)
class Counts:
    """How many rows of an import had each outcome."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, data: Mapping[str, object]) -> Counts:
        """From ``{outcome: count}`` (a missing outcome: 0; others ignored)."""
        return cls(**{o: _int(data.get(o)) for o in OUTCOMES})

    def as_dict(self) -> dict[str, int]:
        return {o: getattr(self, o) for o in OUTCOMES}

    @property
    def written(self) -> int:
        """The rows that changed the data (and a revert undoes)."""
        return self.created + self.updated + self.deleted

    @property
    def applied(self) -> int:
        """The rows that went through: written, or found unchanged."""
        return self.written + self.unchanged

    @property
    def total(self) -> int:
        return sum(self.as_dict().values())


#: the outcomes of a row, in the order they are shown
OUTCOMES: tuple[str, ...] = tuple(f.name for f in fields(Counts))


@dataclass(frozen=True)
class Actor:
    """Who did something to an import: a token (its id and its name then), or a local
    command (no token: ``service.auth.CLI``)."""

    token_id: str | None
    name: str | None

    def columns(self, act: str) -> dict[str, str | None]:
        """The columns of an import that keep who did ``act`` (created, started,
        cancelled, reverted: ACTS)."""
        return {f"{act}_by": self.token_id, f"{act}_by_name": self.name}


#: what is done to an import, and who did it kept (columns ``<act>_by``, ``<act>_by_name``)
ACTS = ("created", "started", "cancelled", "reverted")


@dataclass(frozen=True)
class RevertingFrom:
    """The state and checkpoint an import had before it went ``reverting`` (a refused or
    failed revert puts them back)."""

    state: State
    checkpoint: Checkpoint | None


@dataclass(frozen=True)
class Checkpoint:
    """Where a run is, kept with the import so that a run that stops goes on from there:
    the staged parts and the write stamp once ingested; of a lenient run, the parts
    written (``done``) and the part and sequence number its next chunk starts at. A
    reverting import keeps what it had before instead (``reverting_from``)."""

    #: the parts staged (``service.ingest.Part.to_json``); None: nothing staged yet
    parts: tuple[JSONObject, ...] | None = None
    stamp: str | None = None
    done: tuple[int, ...] = ()
    part: int | None = None
    seq: int = 0
    reverting_from: RevertingFrom | None = None

    @property
    def staged(self) -> bool:
        return self.parts is not None

    @classmethod
    def of(cls, data: Mapping[str, object]) -> Checkpoint:
        parts = data.get("parts")
        done = data.get("done")
        before = data.get("reverting_from")
        reverting_from = None
        if isinstance(before, Mapping) and before:
            kept = before.get("checkpoint")
            reverting_from = RevertingFrom(
                State.of(before.get("state")),
                cls.of(kept) if isinstance(kept, Mapping) and kept else None,
            )
        return cls(
            parts=None if parts is None else tuple(_objects(parts)),
            stamp=_text(data.get("stamp")),
            done=tuple(_int(d) for d in done) if isinstance(done, list) else (),
            part=None if data.get("part") is None else _int(data.get("part")),
            seq=_int(data.get("seq")),
            reverting_from=reverting_from,
        )

    def to_json(self) -> JSONObject:
        """As the import's ``checkpoint`` column keeps it."""
        if self.reverting_from is not None:
            before = self.reverting_from
            kept = None if before.checkpoint is None else before.checkpoint.to_json()
            return {"reverting_from": {"state": str(before.state), "checkpoint": kept}}
        data: JSONObject = {}
        if self.parts is not None:
            data["parts"] = list[JSON](self.parts)
        if self.stamp is not None:
            data["stamp"] = self.stamp
        data["done"] = list[JSON](self.done)
        data["part"] = self.part
        data["seq"] = self.seq
        return data


@dataclass(frozen=True)
class Import:
    """One import, as its row in ``loadbay_imports`` says."""

    id: str
    tenant_id: str
    state: State
    tables: tuple[str, ...]
    mode: str
    error_handling: str
    dry_run: bool
    #: what it asks (``service.requests.ImportRequest.to_json``)
    request: JSONObject
    created_at: datetime
    kind: str = "file"  # or "bulk": a synchronous bulk request
    notes: str | None = None
    template_id: str | None = None
    counts: Counts | None = None
    rows_total: int = 0
    rows_processed: int = 0
    error_code: str | None = None
    error: str | None = None
    timings: JSONObject | None = None
    warnings: tuple[str, ...] = ()
    write_stamp: str | None = None
    checkpoint: Checkpoint | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reverted_at: datetime | None = None
    #: the progress of its run (service/progress.py): phase, rows, bytes, rate, ETA
    progress: JSONObject | None = None
    created_by: Actor | None = None
    started_by: Actor | None = None
    cancelled_by: Actor | None = None
    reverted_by: Actor | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, object]) -> Import:
        """From a row of ``loadbay_imports`` (or a webhook event's snapshot of one: its
        times as ISO 8601 text, without request, checkpoint, timings, write stamp or
        tenant). ValueError for a state that is none."""
        counts = _json(row.get("counts"))
        checkpoint = _json(row.get("checkpoint"))
        created_at = _time(row.get("created_at"))
        if created_at is None:
            raise ValueError(f"import {row.get('id')!r} has no created_at")
        return cls(
            id=str(row["id"]),
            tenant_id=str(row.get("tenant_id") or ""),
            state=State.of(row["state"]),
            tables=tuple(str(t) for t in _list(row.get("tables"))),
            mode=str(row["mode"]),
            error_handling=str(row["error_handling"]),
            dry_run=bool(row["dry_run"]),
            request=_object(row.get("request")) or {},
            created_at=created_at,
            kind=_text(row.get("kind")) or "file",
            notes=_text(row.get("notes")),
            template_id=_text(row.get("template_id")),
            counts=Counts.of(counts) if isinstance(counts, dict) else None,
            rows_total=_int(row.get("rows_total")),
            rows_processed=_int(row.get("rows_processed")),
            error_code=_text(row.get("error_code")),
            error=_text(row.get("error")),
            timings=_object(row.get("timings")),
            warnings=tuple(str(w) for w in _list(row.get("warnings"))),
            write_stamp=_text(row.get("write_stamp")),
            # an empty one ({}) is none: nothing to go on from
            checkpoint=Checkpoint.of(checkpoint)
            if isinstance(checkpoint, dict) and checkpoint
            else None,
            started_at=_time(row.get("started_at")),
            finished_at=_time(row.get("finished_at")),
            reverted_at=_time(row.get("reverted_at")),
            progress=_object(row.get("progress")),
            **{f"{act}_by": _actor(row, act) for act in ACTS},
        )

    def actor(self, act: str) -> Actor | None:
        """Who did ``act`` (one of ACTS), or None: not done, or done before it was kept."""
        found: Actor | None = getattr(self, f"{act}_by")
        return found

    @property
    def outcome_counts(self) -> Counts:
        """Its counts (none kept yet: every one 0)."""
        return self.counts or Counts()


def _actor(row: Mapping[str, object], act: str) -> Actor | None:
    token_id, name = _text(row.get(f"{act}_by")), _text(row.get(f"{act}_by_name"))
    if token_id is None and name is None:
        return None
    return Actor(token_id, name)


def _json(value: object) -> object:
    """A JSON column's value (a driver may hand it over as text)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _object(value: object) -> JSONObject | None:
    found = _json(value)
    return dict(found) if isinstance(found, dict) else None


def _objects(value: object) -> list[JSONObject]:
    return [dict(v) for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _list(value: object) -> list[object]:
    found = _json(value)
    return list(found) if isinstance(found, list | tuple) else []


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int | float | str):
        return int(value)
    raise ValueError(f"{value!r} is not a count")


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
