"""The plan table's columns, declared once: what the planner (``plan_sql``) writes and
the writer (``write_sql``) reads.

A plan table has one row per staged row. Its columns are of two sorts:

- fixed ones, named by the constants below (``SEQ``, ``TARGET``, ``OUTCOME``…);
- one per table column and kind of value (:class:`Value`): the file's raw value
  (``f_<col>``), a resolved reference (``r_<col>``), the id of another row holding a
  unique value (``u_<col>``), the value the row will have once written (``n_<col>``),
  the stored one (``o_<col>``), the count of the file's rows giving a unique value
  (``d_<col>``); and one 0/1 flag per row check (:func:`flag`).

Where the dialect fences the outcome (PostgreSQL), a value is kept only for the
outcomes that read it (:data:`NEEDED_BY`) and NULL for the rest.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Final

#: from the stage: the row's place in the staged order, its file (part) and line, and
#: the caller's reference of a bulk record
SEQ: Final = "_seq"
SRC: Final = "_src"
ROW: Final = "_row"
REF: Final = "_ref"
#: the match key as text (for messages), the id of the matched target row (NULL: none)
KEY: Final = "_key"
TARGET: Final = "_target"
#: the last staged row of the same key, which wins; earlier ones are skipped
LAST_SEQ: Final = "_last_seq"
LAST_ROW: Final = "_last_row"
#: the matched row's stamps (before-image for the change log)
OLD_CREATED: Final = "_o_created_at"
OLD_UPDATED: Final = "_o_updated_at"
#: what becomes of the row (:class:`Outcome`) and its record id (PostgreSQL: drawn from
#: the sequence for created rows; SQLite numbers created rows when writing)
OUTCOME: Final = "_outcome"
RECORD_ID: Final = "_id"
#: inner columns of the plan's query, not kept in the table
FAILED: Final = "_failed"
CHANGED: Final = "_changed"


class Outcome(StrEnum):
    """A row's outcome, as the plan's ``_outcome`` and the results hold it."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def sql(self) -> str:
        """The outcome as a SQL literal."""
        return f"'{self.value}'"


def among(*outcomes: Outcome) -> str:
    """``'a', 'b'``: the outcomes as a SQL list (for ``IN (…)``)."""
    return ", ".join(o.sql for o in outcomes)


class Value(Enum):
    """A per-column value of the plan: ``<prefix>_<column>``."""

    FILE = "f"  # the file's value as staged
    REF = "r"  # the id a reference resolves to
    UNIQUE = "u"  # the id of a stored row that already has the (unique) value
    NEW = "n"  # the value once written
    OLD = "o"  # the stored value of the matched row
    DUPS = "d"  # how many winning rows of the file give the (unique) value

    def name_of(self, column: str) -> str:
        """The plan column's name, unquoted."""
        return f"{self.value}_{column}"

    def of(self, column: str) -> str:
        """The plan column's name, quoted for SQL."""
        return f'"{self.value}_{column}"'


def flag(n: int) -> str:
    """The 0/1 column of the plan's ``n``-th row check (1: the row fails it)."""
    return f"e_{n}"


#: the outcomes whose rows read each kind of kept value: new values for rows created,
#: updated or failed (error messages quote them), old ones for rows updated or deleted
#: (the change log, diffs), the file's raw values for failed rows (error values)
NEEDED_BY: Final[dict[Value, tuple[Outcome, ...]]] = {
    Value.NEW: (Outcome.CREATED, Outcome.UPDATED, Outcome.FAILED),
    Value.OLD: (Outcome.UPDATED, Outcome.DELETED),
    Value.FILE: (Outcome.FAILED,),
}

#: the fixed columns every plan table keeps, first
FIXED: Final = (SEQ, SRC, ROW, REF, KEY, TARGET, LAST_SEQ, LAST_ROW)
