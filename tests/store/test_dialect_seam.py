"""One seam per database (issue 15): every difference between SQLite and PostgreSQL is a
named member of ``store/dialect.Dialect``, and each does what it says on both databases.

Outside ``store/dialect.py`` and the engine factory (``store/engine.py``, which picks the
dialect of a URL), no module asks which database it runs on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from loadbay.errors import InvalidOption
from loadbay.schema.model import Column, ColumnType
from loadbay.store.dialect import DIALECTS, Dialect, Postgres, Sqlite, dialect_of, q
from loadbay.store.engine import dialect_for_url, make_engine, statements_alone
from loadbay.store.staging import run_script

SRC = Path(__file__).resolve().parents[2] / "src" / "loadbay"
#: where a database is named: the dialects, and the factory of engines and dialects
SEAM = {SRC / "store" / "dialect.py", SRC / "store" / "engine.py"}
#: a question about which database this is
NAME_CHECK = re.compile(
    r"dialect\.name\b|is_postgres|get_backend_name|drivername"
    r"|[=!]=\s*[\"'](postgresql|postgres|sqlite)[\"']"
    r"|[\"'](postgresql|postgres|sqlite)[\"']\s*[=!]="
    r"|[\"'](postgresql|postgres|sqlite)[^\"']*[\"']\s+(not\s+)?in\b"
    r"|startswith\(\s*[\"'](postgres|sqlite)"
    r"|isinstance\([^)]*\b(Postgres|Sqlite)\b"
)


def test_no_module_outside_the_seam_asks_which_database_it_runs_on() -> None:
    found = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if path not in SEAM
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAME_CHECK.search(line)
    ]
    assert found == [], "ask the Dialect what differs instead:\n" + "\n".join(found)


def test_the_seam_check_sees_each_way_of_asking() -> None:
    for line in [
        'if conn.dialect.name == "postgresql":',
        "postgres = is_postgres(conn)",
        'if url.get_backend_name() == "sqlite":',
        'seq = "x" if kind != "sqlite" else "y"',
        "if isinstance(dialect, Postgres):",
        'postgres = "postgresql" in url',
        'if url.startswith("sqlite:"):',
    ]:
        assert NAME_CHECK.search(line), line
    assert not NAME_CHECK.search("dialect = dialect_of(conn)")


def test_sql_string_literals_are_quoted_in_one_place() -> None:
    quoting = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if 'replace("\'", "\'\'")' in path.read_text(encoding="utf-8")
    ]
    assert quoting == ["store/dialect.py"]


# ---- the factory ---------------------------------------------------------------------------


def test_each_url_gets_the_dialect_of_its_database(tmp_path: Path) -> None:
    assert isinstance(dialect_for_url("postgres://u@h/db"), Postgres)
    assert isinstance(dialect_for_url("postgresql+psycopg://u@h/db"), Postgres)
    assert isinstance(dialect_for_url(f"sqlite:///{tmp_path / 'x.db'}"), Sqlite)
    assert isinstance(dialect_for_url("sqlite://"), Sqlite)
    with pytest.raises(InvalidOption, match="PostgreSQL or SQLite, not 'mysql'"):
        dialect_for_url("mysql://u@h/db")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    try:
        yield made
    finally:
        made.dispose()


def test_a_connection_gets_the_dialect_of_its_url(engine: Engine) -> None:
    with engine.connect() as conn:
        assert dialect_of(conn) is dialect_of(engine)
        assert dialect_of(conn) is dialect_for_url(str(engine.url))
        assert dialect_of(conn) is DIALECTS[dialect_of(conn).name]


# ---- each difference, on both databases ------------------------------------------------------


def _table(engine: Engine, name: str, columns: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {q(name)} ({columns})")


def test_a_write_stamp_kept_as_text_finds_the_rows_it_stamped(engine: Engine) -> None:
    dialect = dialect_of(engine)
    stamp = dialect.stamp(datetime(2026, 12, 6, 10, 30, 1, 250))
    _table(engine, "t_stamp", f"id INTEGER, at {dialect.stamp_type}")
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO t_stamp VALUES (1, :at), (2, :other)"),
            {
                "at": stamp,
                "other": dialect.stamp(datetime(2026, 12, 6, 10, 30, 2)),
            },
        )
        found = (
            conn.execute(
                sa.text("SELECT id FROM t_stamp WHERE at = :at"),
                {"at": dialect.stamp_value(str(stamp))},
            )
            .scalars()
            .all()
        )
    assert found == [1]


def test_a_bound_value_equals_the_stored_value_of_its_type(engine: Engine) -> None:
    dialect = dialect_of(engine)
    types = {
        "d": Column(name="d", type=ColumnType.DECIMAL, precision=10, scale=2),
        "day": Column(name="day", type=ColumnType.DATE),
        "at": Column(name="at", type=ColumnType.DATETIME),
    }
    _table(engine, "t_bind", ", ".join(f"{n} {dialect.value_type(c)}" for n, c in types.items()))
    values = {"d": Decimal("12.5"), "day": date(2026, 1, 2), "at": datetime(2026, 1, 2, 3, 4, 5)}
    stored = {"d": Decimal("12.50"), "day": values["day"], "at": values["at"]}
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO t_bind VALUES (:d, :day, :at)"),
            {n: dialect.bind_value(v, 2) for n, v in stored.items()},
        )
        for name, value in values.items():
            count = conn.execute(
                sa.text(f"SELECT COUNT(*) FROM t_bind WHERE {name} = :v"),
                {"v": dialect.bind_value(value, 2)},
            ).scalar_one()
            assert count == 1, name
    assert dialect.bind_value("text") == "text" and dialect.bind_value(7) == 7


def test_a_long_name_is_kept_as_the_database_keeps_it(engine: Engine) -> None:
    dialect = dialect_of(engine)
    name = "ix_" + "a" * 80
    _table(engine, "t_names", "v INTEGER")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE INDEX {q(name)} ON t_names (v)")
        names = [ix["name"] for ix in sa.inspect(conn).get_indexes("t_names")]
    assert names == [dialect.stored_name(name)]
    assert dialect.stored_name("short") == "short"


def test_created_ids_come_from_the_plan_or_from_the_writer(engine: Engine) -> None:
    """Either the plan draws each created row's id (``next_id``) or the writer numbers them
    after the highest id the table gave (``id_base``): one of the two, never both."""
    dialect = dialect_of(engine)
    _table(engine, "t_ids", f"{dialect.id_column}, v INTEGER")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t_ids (v) VALUES (1), (2), (3)")
        conn.exec_driver_sql("DELETE FROM t_ids WHERE v = 3")  # its id is never given again
        drawn, base = dialect.next_id(conn, "t_ids"), dialect.id_base(conn, "t_ids")
        assert (drawn is None) != (base is None)
        if drawn is not None:
            assert conn.exec_driver_sql(f"SELECT {drawn}").scalar_one() == 4
        else:
            assert base == 3


def test_an_insert_unless_taken_inserts_once(engine: Engine) -> None:
    dialect = dialect_of(engine)
    table = sa.Table(
        "t_keyed",
        sa.MetaData(),
        sa.Column("k", sa.Text, primary_key=True),
        sa.Column("v", sa.Integer),
    )
    table.create(engine)
    stmt = dialect.insert_unless_taken(table)
    with engine.begin() as conn:
        first = conn.execute(stmt, {"k": "a", "v": 1}).all()
        second = conn.execute(stmt, {"k": "a", "v": 2}).all()
        stored = conn.execute(sa.select(table.c.v)).scalars().all()
    assert (first, second, stored) == ([("a",)], [], [1])


def test_rows_read_to_be_changed_are_locked_where_the_database_locks_rows(
    engine: Engine,
) -> None:
    dialect = dialect_of(engine)
    table = sa.Table("t_rows", sa.MetaData(), sa.Column("v", sa.Integer))
    table.create(engine)
    query = dialect.lock_rows(sa.select(table.c.v))
    sql = str(query.compile(dialect=engine.dialect))
    assert ("FOR UPDATE" in sql) == isinstance(dialect, Postgres)
    with engine.begin() as conn:
        assert conn.execute(query).all() == []


def _holding(engine: Engine) -> sa.Connection:
    """A connection in a transaction that holds the write lock of t_busy's row."""
    holder = engine.connect()
    holder.begin()
    holder.exec_driver_sql("UPDATE t_busy SET v = v + 1")
    return holder


def test_a_short_transaction_gives_up_on_a_lock_held_elsewhere(engine: Engine) -> None:
    dialect = dialect_of(engine)
    _table(engine, "t_busy", "v INTEGER")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t_busy VALUES (1)")
    wait = _lock_wait(engine)
    holder = _holding(engine)
    try:
        with (
            pytest.raises(sa.exc.OperationalError),
            dialect.short_transaction(engine, 50) as conn,
        ):
            conn.exec_driver_sql("UPDATE t_busy SET v = 0")
    finally:
        holder.rollback()
        holder.close()
    with dialect.short_transaction(engine, 50) as conn:
        conn.exec_driver_sql("UPDATE t_busy SET v = 5")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM t_busy").scalar_one() == 5
    assert _lock_wait(engine) == wait  # the wait applied to that transaction only


def _lock_wait(engine: Engine) -> object:
    """How long a connection of ``engine`` waits for a lock, as the database says it."""
    with engine.connect() as conn:
        if isinstance(dialect_of(engine), Postgres):
            return conn.exec_driver_sql("SHOW lock_timeout").scalar_one()
        return conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()


def test_a_transaction_lock_is_held_until_the_transaction_ends(engine: Engine) -> None:
    """PostgreSQL: an advisory lock of the transaction; SQLite: the write lock that
    ``BEGIN IMMEDIATE`` took already (nothing more to take)."""
    dialect = dialect_of(engine)
    held = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    with engine.connect() as conn:
        with conn.begin():
            dialect.transaction_lock(conn, "loadbay:test")
            if isinstance(dialect, Postgres):
                assert conn.exec_driver_sql(held).scalar_one() == 1
        if isinstance(dialect, Postgres):
            with conn.begin():
                assert conn.exec_driver_sql(held).scalar_one() == 0


def test_setup_warnings_are_a_list_of_sentences(engine: Engine) -> None:
    warnings = dialect_of(engine).setup_warnings(engine)
    assert all(w.endswith("regularly") for w in warnings)
    if isinstance(dialect_of(engine), Sqlite):
        assert warnings == []


def test_side_files_lie_beside_a_database_file(tmp_path: Path) -> None:
    file_url = make_url(f"sqlite:///{tmp_path / 'main.db'}")
    sqlite, postgres = DIALECTS["sqlite"], DIALECTS["postgresql"]
    assert sqlite.database_file(file_url) == tmp_path / "main.db"
    assert sqlite.side_file(file_url, ".leases") == tmp_path / "main.db.leases"
    assert sqlite.side_file(make_url("sqlite://"), ".leases") is None
    assert sqlite.side_file(make_url("sqlite:///:memory:"), ".locks") is None
    assert postgres.database_file(make_url("postgresql+psycopg://u@h/db")) is None
    assert postgres.side_file(make_url("postgresql+psycopg://u@h/db"), ".locks") is None


def test_a_script_runs_its_statements_in_order(engine: Engine) -> None:
    with engine.begin() as conn:
        run_script(
            conn,
            ["CREATE TABLE t_script (v INTEGER)", "INSERT INTO t_script VALUES (1)"],
        )
        assert conn.exec_driver_sql("SELECT v FROM t_script").scalar_one() == 1


def test_lone_statements_run_in_the_isolation_the_dialect_names(engine: Engine) -> None:
    level = dialect_of(engine).lone_statement_isolation
    with engine.connect() as conn:
        alone = statements_alone(conn)
        assert alone.get_execution_options().get("isolation_level") == level
        with alone.begin():
            assert alone.exec_driver_sql("SELECT 1").scalar_one() == 1


def test_a_stage_seq_column_is_a_column_definition(engine: Engine) -> None:
    dialect = dialect_of(engine)
    _table(engine, "t_stage", f"{dialect.stage_seq_column}, v INTEGER")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t_stage (_seq, v) VALUES (1, 10), (2, 20)")
        assert conn.exec_driver_sql("SELECT SUM(_seq) FROM t_stage").scalar_one() == 3


def test_every_dialect_fills_in_what_the_base_leaves_open() -> None:
    for name, dialect in DIALECTS.items():
        assert dialect.name == name and dialect.id_column
        for member in ("value_type", "insert_unless_taken", "short_transaction"):
            assert getattr(type(dialect), member) is not getattr(Dialect, member), member


def test_a_kept_temporary_table_is_found_and_emptied_where_tables_are_kept(
    engine: Engine,
) -> None:
    dialect = dialect_of(engine)
    if not dialect.reuses_small_tables:  # the connection keeps no tables: never asked
        with pytest.raises(NotImplementedError):
            dialect.empty_temporary_table("t_kept")
        return
    with engine.begin() as conn:
        assert not dialect.temporary_table_exists(conn, "t_kept")
        conn.exec_driver_sql(dialect.empty_temporary_table("t_kept"))  # not there: nothing
        conn.exec_driver_sql("CREATE TEMPORARY TABLE t_kept (v INTEGER)")
        conn.exec_driver_sql("INSERT INTO t_kept VALUES (1), (2)")
        assert dialect.temporary_table_exists(conn, "t_kept")
        conn.exec_driver_sql(dialect.empty_temporary_table("t_kept"))
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM t_kept").scalar_one() == 0


def test_a_kept_table_is_refilled_in_one_statement_where_tables_are_kept(
    engine: Engine,
) -> None:
    dialect = dialect_of(engine)
    select = "SELECT v * 10 FROM t_source"
    if not dialect.reuses_small_tables:
        with pytest.raises(NotImplementedError):
            dialect.refill_statement("t_refill", select)
        return
    _table(engine, "t_source", "v INTEGER")
    _table(engine, "t_refill", "v INTEGER")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t_source VALUES (1), (2)")
        conn.exec_driver_sql("INSERT INTO t_refill VALUES (7)")
        conn.exec_driver_sql(dialect.refill_statement("t_refill", select))
        found = conn.exec_driver_sql("SELECT v FROM t_refill ORDER BY v").scalars().all()
    assert found == [10, 20]
