"""The typed import (domain/imports.py): its states, counts and checkpoint, and the row of
``loadbay_imports`` it is built from, on both databases."""

from __future__ import annotations

from datetime import datetime

import pytest

from loadbay.domain.imports import (
    OUTCOMES,
    Actor,
    Checkpoint,
    Counts,
    Import,
    RevertingFrom,
    State,
)
from loadbay.service import states
from loadbay.service.context import Context
from loadbay.service.imports import record_import
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import imports_sql

#: the states as the database has kept them (service/states.py's strings before State)
STORED = (
    "queued",
    "validating",
    "running",
    "validated",
    "validation_failed",
    "succeeded",
    "partially_succeeded",
    "failed",
    "cancelled",
    "reverting",
    "reverted",
)


def test_the_states_are_the_strings_the_database_keeps() -> None:
    assert [s.value for s in State] == list(STORED)
    assert tuple(State) == states.ALL
    assert all(State(s) == s and str(State(s)) == s and f"{State(s)}" == s for s in STORED)
    assert set(states.TRANSITIONS) == set(State)  # every state has its moves


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError):
        State.of("done")
    row = {**_row(), "state": "done"}
    with pytest.raises(ValueError):
        Import.from_row(row)


def test_counts_of_outcomes() -> None:
    counts = Counts.of({"created": 2, "updated": 1, "failed": 3, "other": 9})
    assert counts.as_dict() == {
        "created": 2,
        "updated": 1,
        "unchanged": 0,
        "deleted": 0,
        "failed": 3,
        "skipped": 0,
    }
    assert tuple(counts.as_dict()) == OUTCOMES
    assert (counts.written, counts.applied, counts.total) == (3, 3, 6)


def test_a_checkpoint_as_the_runner_keeps_it() -> None:
    stored = {
        "parts": [{"src": 0, "table": "companies", "staged": 10}],
        "stamp": "2024-01-15T09:30:00.123456",
        "done": [1],
        "part": 2,
        "seq": 500,
    }
    checkpoint = Checkpoint.of(stored)
    assert (
        checkpoint.staged
        and checkpoint.done == (1,)
        and (checkpoint.part, checkpoint.seq)
        == (
            2,
            500,
        )
    )
    assert checkpoint.to_json() == stored
    # as an older run left it: staged, nothing written yet
    fresh = Checkpoint.of({"parts": [], "stamp": "s", "done": []})
    assert fresh.staged and fresh.part is None and fresh.seq == 0
    assert not Checkpoint().staged


def test_a_reverting_checkpoint_keeps_what_was_before() -> None:
    before = Checkpoint.of({"parts": [], "stamp": "s", "done": [0], "part": None, "seq": 0})
    reverting = Checkpoint(reverting_from=RevertingFrom(State.FAILED, before))
    stored = reverting.to_json()
    assert stored == {"reverting_from": {"state": "failed", "checkpoint": before.to_json()}}
    assert Checkpoint.of(stored) == reverting
    empty = Checkpoint.of({"reverting_from": {"state": "succeeded", "checkpoint": None}})
    assert empty.reverting_from == RevertingFrom(State.SUCCEEDED, None)


def _row() -> dict[str, object]:
    return {
        "id": "imp_1",
        "tenant_id": "acme",
        "state": "succeeded",
        "tables": ["companies"],
        "mode": "upsert",
        "error_handling": "strict",
        "dry_run": False,
        "request": {"sources": []},
        "created_at": datetime(2024, 1, 15, 9, 30),
    }


def test_a_webhook_snapshot_has_its_times_as_text() -> None:
    snapshot = {
        **_row(),
        "created_at": "2024-01-15T09:30:00",
        "counts": '{"created": 1}',
        "request": None,
        "tenant_id": None,
    }
    found = Import.from_row(snapshot)
    assert found.created_at == datetime(2024, 1, 15, 9, 30)
    assert found.counts == Counts(created=1)
    assert (found.kind, found.created_by, found.checkpoint) == ("file", None, None)
    assert Import.from_row({**_row(), "checkpoint": {}}).checkpoint is None  # none kept


def test_row_to_import_and_back(ctx: Context) -> None:
    request = ImportRequest(
        sources=(SourceSpec(path="x.csv", name="x.csv", table="companies"),), notes="n"
    )
    recorded = record_import(ctx, request, "acme", actor=Actor("tok_1", "robot"))
    assert recorded.state is State.QUEUED and recorded.counts == Counts()
    checkpoint = Checkpoint(parts=({"src": 0},), stamp="2024-01-15T09:30:00", done=(0,))
    finished = datetime(2024, 1, 15, 9, 31, 2, 123456)
    with ctx.engine.begin() as conn:
        assert imports_sql.set_state_if(
            conn,
            "acme",
            recorded.id,
            [State.QUEUED],
            State.FAILED,
            counts=Counts(created=3, failed=1),
            checkpoint=checkpoint,
            finished_at=finished,
            warnings=["w"],
            progress={"phase": "writing", "seq": 4},
            error_code="row_errors",
            error="1 row failed",
        )
        found = imports_sql.get_import(conn, "acme", recorded.id)
        state = imports_sql.get_state(conn, "acme", recorded.id)
    assert state is State.FAILED
    assert found.id == recorded.id and found.tenant_id == "acme"
    assert found.state is State.FAILED and found.tables == ("companies",)
    assert (found.mode, found.error_handling, found.dry_run) == ("upsert", "strict", False)
    assert ImportRequest.from_json(found.request) == request
    assert found.counts == Counts(created=3, failed=1)
    assert found.checkpoint == checkpoint
    assert found.finished_at == finished and found.created_at == recorded.created_at
    assert found.started_at is None and found.reverted_at is None
    assert found.warnings == ("w",) and found.progress == {"phase": "writing", "seq": 4}
    assert (found.error_code, found.error, found.notes) == ("row_errors", "1 row failed", "n")
    assert found.created_by == found.started_by == Actor("tok_1", "robot")
    assert found.cancelled_by is None and found.kind == "file"
    assert found == Import.from_row({**_as_row(found)})


def _as_row(found: Import) -> dict[str, object]:
    """The row ``found`` was made from, as the store's reads give it."""
    with_actors: dict[str, object] = {}
    for act in ("created", "started", "cancelled", "reverted"):
        actor = found.actor(act)
        with_actors[f"{act}_by"] = actor.token_id if actor else None
        with_actors[f"{act}_by_name"] = actor.name if actor else None
    return {
        **{k: getattr(found, k) for k in ("id", "tenant_id", "mode", "error_handling")},
        **{k: getattr(found, k) for k in ("dry_run", "request", "notes", "template_id")},
        **{k: getattr(found, k) for k in ("rows_total", "rows_processed", "error_code")},
        **{k: getattr(found, k) for k in ("error", "timings", "write_stamp", "progress")},
        **{k: getattr(found, k) for k in ("created_at", "started_at", "finished_at")},
        "reverted_at": found.reverted_at,
        "kind": found.kind,
        "state": found.state.value,
        "tables": list(found.tables),
        "warnings": list(found.warnings),
        "counts": found.counts.as_dict() if found.counts else None,
        "checkpoint": found.checkpoint.to_json() if found.checkpoint else None,
        **with_actors,
    }
