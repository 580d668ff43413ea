"""The states of an import and the moves between them, in one place.

``queued → validating → running → succeeded | partially_succeeded | failed | cancelled``;
a dry run stops at ``validated`` and goes back to ``queued`` when started for real (a strict
dry run with failed rows stops at ``validation_failed`` instead, which a real run would
fail as a whole: it is started again only when the caller insists, ``force``); a
finished import goes ``reverting → reverted`` (a failed or cancelled one too: what its
committed chunks wrote stays, and a revert finds it by its write stamp). A state never
moves backwards: every change of state is checked here, and written with a
compare-and-set on the old state.
"""

from __future__ import annotations

from loadbay.domain import imports
from loadbay.domain.imports import State
from loadbay.errors import InvalidState

QUEUED = State.QUEUED
VALIDATING = State.VALIDATING
RUNNING = State.RUNNING
VALIDATED = State.VALIDATED
VALIDATION_FAILED = State.VALIDATION_FAILED
SUCCEEDED = State.SUCCEEDED
PARTIALLY_SUCCEEDED = State.PARTIALLY_SUCCEEDED
FAILED = State.FAILED
CANCELLED = State.CANCELLED
REVERTING = State.REVERTING
REVERTED = State.REVERTED

ALL: tuple[State, ...] = tuple(State)

#: the states a state may move to
TRANSITIONS: dict[State, frozenset[State]] = {
    QUEUED: frozenset({VALIDATING, CANCELLED, FAILED}),
    VALIDATING: frozenset({RUNNING, VALIDATED, FAILED, CANCELLED}),
    RUNNING: frozenset(
        {SUCCEEDED, PARTIALLY_SUCCEEDED, FAILED, CANCELLED, VALIDATED, VALIDATION_FAILED}
    ),
    VALIDATED: frozenset({QUEUED, CANCELLED}),
    VALIDATION_FAILED: frozenset({QUEUED, CANCELLED}),
    SUCCEEDED: frozenset({REVERTING, REVERTED}),
    PARTIALLY_SUCCEEDED: frozenset({REVERTING, REVERTED}),
    # a refused or failed revert goes back to the state it left
    REVERTING: frozenset({REVERTED, SUCCEEDED, PARTIALLY_SUCCEEDED, CANCELLED, FAILED}),
    # a lenient run stopped (or failed) after some chunks: what they wrote can be undone
    FAILED: frozenset({REVERTING, REVERTED}),
    CANCELLED: frozenset({REVERTING, REVERTED}),
    REVERTED: frozenset(),
}

#: its mapping, options and notes may still be changed (PATCH /v1/imports/{id})
CHANGEABLE = frozenset({QUEUED, VALIDATED, VALIDATION_FAILED})
#: a worker is (or was, if it died) working on it
ACTIVE = frozenset({VALIDATING, RUNNING})
#: nothing more happens to it by itself
SETTLED = imports.SETTLED
#: a dry run that ended: it may be started for real (VALIDATION_FAILED only if forced)
DRY_RUN_ENDS = (VALIDATED, VALIDATION_FAILED)
#: the outcomes of a run; ``GET /v1/imports/{id}`` polling stops at these
FINAL = SETTLED

_VERBS = {
    QUEUED: "started",
    CANCELLED: "cancelled",
    REVERTING: "reverted",
    REVERTED: "reverted",
}


def can_move(current: State, new: State) -> bool:
    return new in TRANSITIONS[current]


def sources_of(new: State) -> tuple[State, ...]:
    """Every state from which ``new`` may be reached (for a compare-and-set)."""
    return tuple(s for s in ALL if new in TRANSITIONS[s])


def check_move(import_id: str, current: State, new: State) -> None:
    """Raise InvalidState (409) unless ``current → new`` is allowed."""
    if can_move(current, new):
        return
    verb = _VERBS.get(new, f"moved to {new.value!r}")
    if current == REVERTED and new in (REVERTING, REVERTED):
        raise InvalidState(f"import {import_id} was reverted already", state=current.value)
    raise InvalidState(
        f"import {import_id} is {current.value!r} and cannot be {verb}", state=current.value
    )
