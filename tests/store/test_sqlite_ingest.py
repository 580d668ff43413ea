"""Staging through ADBC's bulk ingest stores exactly what ``executemany`` stores.

Every column type the validator produces is staged both ways, from the same validated
frame, into real SQLite files; the values and their storage classes (``typeof``) must match.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from loadbay.errors import StoreError
from loadbay.pipeline.frames import REF, ROW
from loadbay.pipeline.validate import ValidateOptions, validate
from loadbay.schema.model import Catalog, Column, ColumnType, Reference, Table
from loadbay.store.sqlite_ingest import StageWriter
from loadbay.store.staging import Target, add_stage_columns, append_frame, create_stage

THINGS = Table(
    name="things",
    key=("code",),
    columns=(
        Column("code", required=True),
        Column("label"),
        Column("number", ColumnType.INTEGER, unique=True),
        Column("price", ColumnType.DECIMAL, precision=20, scale=4),
        Column("money", ColumnType.DECIMAL, precision=38, scale=0),
        Column("active", ColumnType.BOOLEAN),
        Column("day", ColumnType.DATE, unique=True),
        Column("at", ColumnType.DATETIME),
        Column("size", ColumnType.ENUM, enum=("small", "Medium")),
        Column("email", ColumnType.EMAIL),
        Column("currency", ColumnType.CURRENCY),
        Column("by_number", references=Reference("things", "number")),
        Column("by_day", references=Reference("things", "day")),
        Column("by_code", references=Reference("things", "code")),
        Column("empty"),
    ),
)
CATALOG = Catalog([THINGS])
LONG = " ".join(["ü€𝄞"] * 100_000)  # 1 MB of non-ASCII text, astral plane included

CELLS: dict[str, list[str | None]] = {
    "code": ["a", "b", "c", "d", "e"],
    "label": ["plain", "Ünïcødé — 日本語", LONG, "", None],
    "number": ["0", "-9223372036854775808", "9223372036854775807", "42", None],
    "price": ["1.5", "-0.0001", "1234567890123456.1234", "0", None],
    "money": ["99999999999999999999999999999999999999", "-1", "0", "7", None],
    "active": ["yes", "0", "true", "F", None],
    "day": ["2024-1-2", "1999-12-31", "2000-02-29", "9999-12-31", None],
    "at": [
        "2024-01-02T03:04:05.5Z",
        "2024-01-02 03:04:05",
        "2024-06-30T23:59:59.999999+02:00",
        "1970-01-01T00:00:00",
        None,
    ],
    "size": ["SMALL", "medium", "small", None, None],
    "email": ["a@b.example", "Ü@x.example", None, "x.y+z@q.example", None],
    "currency": ["eur", "USD", None, "jpy", None],
    "by_number": ["5", "-1", "9223372036854775807", None, None],
    "by_day": ["2024-01-02", "1999-12-31", None, None, None],
    "by_code": ["a", "Ü", None, "x" * 5000, None],
    "empty": [None, None, None, None, None],
}


def staged_frame(cells: dict[str, list[str | None]], first_seq: int = 0) -> pl.DataFrame:
    """A validated batch, shaped as ``Ingest`` stages it."""
    height = len(next(iter(cells.values())))
    raw = pl.DataFrame(
        {ROW: list(range(2, height + 2)), REF: [f"r{i}" for i in range(height)], **cells},
        schema={ROW: pl.Int64, REF: pl.String, **{c: pl.String for c in cells}},
    )
    checked = validate(raw, THINGS, CATALOG, ValidateOptions())
    assert checked.errors.is_empty(), checked.errors.to_dicts()
    good = checked.good
    assert good.height == height
    return good.select(
        (pl.int_range(1, good.height + 1, dtype=pl.Int64) + first_seq).alias("_seq"),
        pl.lit(3, pl.Int32).alias("_src"),
        pl.col(ROW).cast(pl.Int64).alias("_row"),
        pl.col(REF).alias("_ref"),
        *[pl.col(c) for c in cells],
    )


def stored(path: Path, table: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every value with its storage class, in ``_seq`` order; the declared columns."""
    conn = sqlite3.connect(path)
    try:
        names = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        cells = ", ".join(f'typeof("{n}"), "{n}"' for n in names)
        rows = conn.execute(f'SELECT {cells} FROM "{table}" ORDER BY _seq').fetchall()
        declared = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    finally:
        conn.close()
    return rows, declared


def _stage(target: Target, name: str, batches: list[pl.DataFrame], late: list[str]) -> None:
    """The same staging steps an ingest takes, through either target."""
    first = [c for c in batches[0].columns if not c.startswith("_")]
    create_stage(target, name, CATALOG, THINGS, first)
    append_frame(target, name, batches[0])
    if late:
        add_stage_columns(target, name, CATALOG, THINGS, late)
    for batch in batches[1:]:
        append_frame(target, name, batch)


def by_executemany(path: Path, batches: list[pl.DataFrame], late: list[str]) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        _stage(conn, "t", batches, late)
    engine.dispose()


def by_adbc(path: Path, batches: list[pl.DataFrame], late: list[str]) -> None:
    writer = StageWriter(path)
    try:
        _stage(writer, "stage.t", batches, late)
    finally:
        writer.close()


def test_the_validated_frame_has_the_dtypes_this_test_means_to_cover() -> None:
    frame = staged_frame(CELLS)
    assert frame.schema["price"] == pl.String  # decimals leave validation as text
    assert frame.schema["money"] == pl.String
    assert frame.schema["number"] == pl.Int64
    assert frame.schema["active"] == pl.Boolean
    assert frame.schema["day"] == pl.Date
    assert frame.schema["at"] == pl.Datetime("us")
    assert frame.schema["by_number"] == pl.String  # references are text, typed by SQLite


def test_every_type_is_stored_as_executemany_stores_it(tmp_path: Path) -> None:
    batches = [staged_frame(CELLS)]
    by_executemany(tmp_path / "a.db", batches, [])
    by_adbc(tmp_path / "b.stage", batches, [])
    old, new = stored(tmp_path / "a.db", "t"), stored(tmp_path / "b.stage", "t")
    assert new == old
    rows = old[0]
    assert len(rows) == len(CELLS["code"])
    # what today's path stores, spelled out once (pairs of typeof and value)
    names = ["_seq", "_src", "_row", "_ref", *CELLS]
    first = {name: rows[0][2 * i : 2 * i + 2] for i, name in enumerate(names)}
    assert first["_src"] == ("integer", 3)
    assert first["number"] == ("integer", 0)
    assert first["price"] == ("text", "1.5000")
    assert first["active"] == ("integer", 1)
    assert first["day"] == ("text", "2024-01-02")
    assert first["at"] == ("text", "2024-01-02 03:04:05.500000")
    assert first["by_number"] == ("integer", 5)  # text into an INTEGER column: affinity
    assert first["empty"] == ("null", None)
    assert rows[2][2 * names.index("label") + 1] == LONG


def test_columns_added_after_the_first_batch_hold_null_before(tmp_path: Path) -> None:
    head = {c: v[:2] for c, v in CELLS.items() if c not in ("price", "active")}
    tail = {c: v[2:] for c, v in CELLS.items()}
    batches = [staged_frame(head), staged_frame(tail, first_seq=2)]
    by_executemany(tmp_path / "a.db", batches, ["price", "active"])
    by_adbc(tmp_path / "b.stage", batches, ["price", "active"])
    old, new = stored(tmp_path / "a.db", "t"), stored(tmp_path / "b.stage", "t")
    assert new == old
    assert len(old[0]) == len(CELLS["code"])


@pytest.mark.parametrize("height", [1, 1024, 1025, 12_345])
def test_every_row_is_staged_once_in_order(tmp_path: Path, height: int) -> None:
    frame = pl.DataFrame(
        {f"c{j}": [f"r{i}c{j}" if (i + j) % 7 else None for i in range(height)] for j in range(5)}
    ).with_columns(pl.int_range(0, height, dtype=pl.Int64).alias("c0"))
    writer = StageWriter(tmp_path / "s.stage")
    try:
        writer.execute('CREATE TABLE stage.t ("c0", "c1", "c2", "c3", "c4")')
        append_frame(writer, "stage.t", frame.slice(0, height // 2))
        append_frame(writer, "stage.t", frame.slice(height // 2))
    finally:
        writer.close()
    conn = sqlite3.connect(tmp_path / "s.stage")
    assert conn.execute("SELECT * FROM t ORDER BY rowid").fetchall() == frame.rows()
    conn.close()


def test_a_column_of_polars_null_dtype_is_stored_as_null(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": [None, None]})
    assert frame.schema["b"] == pl.Null
    writer = StageWriter(tmp_path / "s.stage")
    try:
        writer.execute("CREATE TABLE stage.t (a INTEGER, b TEXT)")
        append_frame(writer, "stage.t", frame)
    finally:
        writer.close()
    conn = sqlite3.connect(tmp_path / "s.stage")
    assert conn.execute("SELECT a, typeof(b) FROM t").fetchall() == [(1, "null"), (2, "null")]
    conn.close()


def test_the_stage_file_keeps_no_journal_and_skips_fsync(tmp_path: Path) -> None:
    writer = StageWriter(tmp_path / "s.stage")
    try:
        assert writer.pragma("journal_mode") == "off"
        assert writer.pragma("synchronous") == 0
    finally:
        writer.close()


def test_a_failing_statement_is_a_store_error(tmp_path: Path) -> None:
    writer = StageWriter(tmp_path / "s.stage")
    try:
        writer.execute("CREATE TABLE stage.t (a INTEGER PRIMARY KEY)")
        frame = pl.DataFrame({"a": [1, 1]})
        with pytest.raises(StoreError, match="UNIQUE"):
            append_frame(writer, "stage.t", frame)
        with pytest.raises(StoreError, match="no such table"):
            append_frame(writer, "stage.nope", frame)
    finally:
        writer.close()
    writer.close()  # twice: nothing happens
