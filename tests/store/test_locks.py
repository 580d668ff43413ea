"""Table locks belong to one database namespace: installs in other schemas never wait."""

from __future__ import annotations

import signal

import pytest
import sqlalchemy as sa

from loadbay.store.engine import make_engine
from loadbay.store.locks import _schema, lock_key, table_locks
from loadbay.store.session import TransactionOpen
from tests.conftest import pg_schema


def test_a_held_table_is_locked_for_others_and_freed_after() -> None:
    with pg_schema() as url:
        engine = make_engine(url)
        try:
            with engine.connect() as holder, engine.connect() as other:
                key = lock_key(_schema(holder), "default", "projects")
                free = sa.text("SELECT pg_try_advisory_lock(:k)")
                with table_locks(holder, "default", ["projects"]):
                    assert other.execute(free, {"k": key}).scalar_one() is False
                    other.rollback()
                assert other.execute(free, {"k": key}).scalar_one() is True
                other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                other.rollback()
                # the holder is back in transactions: what it rolls back is gone
                holder.exec_driver_sql("CREATE TABLE t (a INT)")
                holder.commit()
                with table_locks(holder, "default", ["projects"]), holder.begin() as tx:
                    holder.exec_driver_sql("INSERT INTO t VALUES (1)")
                    tx.rollback()
                assert holder.exec_driver_sql("SELECT COUNT(*) FROM t").scalar_one() == 0
        finally:
            engine.dispose()


def test_the_same_table_and_tenant_in_another_schema_is_not_locked() -> None:
    with pg_schema() as first_url, pg_schema() as second_url:
        first, second = make_engine(first_url), make_engine(second_url)
        try:
            with first.connect() as holder, second.connect() as other:
                other.exec_driver_sql("SET lock_timeout = '5s'")  # fails, not hangs, if shared
                other.commit()
                with (
                    table_locks(holder, "default", ["projects"]),
                    table_locks(other, "default", ["projects"]),
                ):
                    pass
        finally:
            first.dispose()
            second.dispose()


def test_without_waiting_a_held_table_is_not_taken(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as holder, engine.connect() as other:
            with table_locks(holder, "default", ["companies", "projects"]):
                with table_locks(other, "default", ["people", "projects"], wait=False) as held:
                    assert held is False
                # what the refused one took before the held table is free again
                with table_locks(other, "default", ["people"], wait=False) as held:
                    assert held is True
            with table_locks(other, "default", ["people", "projects"], wait=False) as held:
                assert held is True
                with table_locks(holder, "default", ["projects"], wait=False) as taken:
                    assert taken is False
    finally:
        engine.dispose()


def test_a_lost_connection_frees_its_locks_and_keeps_the_error(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with engine.connect() as holder, engine.connect() as other:
            # the error raised is the caller's, not the failure of the unlock
            with pytest.raises(ZeroDivisionError), table_locks(holder, "default", ["projects"]):
                holder.connection.dbapi_connection.close()  # type: ignore[union-attr]
                raise ZeroDivisionError
            with table_locks(other, "default", ["projects"], wait=False) as held:
                assert held is True
    finally:
        engine.dispose()


def test_ctrl_c_while_waiting_for_a_lock_stays_a_ctrl_c(pg_url: str) -> None:
    """An interrupt that lands while the lock statement runs leaves the connection busy:
    it is thrown away (its session's locks end with it), and the interrupt is what the
    caller sees, not a driver error from putting the connection back in transactions."""
    engine = make_engine(pg_url)

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with engine.connect() as holder, engine.connect() as waiter:
            key = lock_key(_schema(holder), "default", "projects")
            _schema(waiter)
            holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            holder.commit()
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(KeyboardInterrupt), table_locks(waiter, "default", ["projects"]):
                pass  # never reached: the lock is held
            signal.setitimer(signal.ITIMER_REAL, 0)
            assert waiter.invalidated or not waiter.closed
            holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            holder.commit()
        with engine.connect() as again, table_locks(again, "default", ["projects"]):
            pass  # the pool gives a working connection, and the lock is free
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        engine.dispose()


def test_the_locks_never_end_the_callers_transaction(db_url: str) -> None:
    """Taken in a transaction they would have to commit it (PostgreSQL sends the lock
    statements in autocommit): they refuse instead, and what the caller had not finished
    is still its to roll back."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            with conn.begin():
                conn.exec_driver_sql("CREATE TABLE t (a INT)")
            trans = conn.begin()
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            with pytest.raises(TransactionOpen), table_locks(conn, "default", ["projects"]):
                pass
            assert trans.is_active
            trans.rollback()
            with conn.begin():
                assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar_one() == 0
            # the block's own transactions are its own: committed as it commits them
            with table_locks(conn, "default", ["projects"]), conn.begin():
                conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            with conn.begin():
                assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar_one() == 1
    finally:
        engine.dispose()


def test_a_block_that_leaves_a_transaction_open_loses_its_session(pg_url: str) -> None:
    """Its locks cannot be let go without ending that transaction: the connection is
    invalidated (the session, its locks and the transaction end together), and the bug is
    raised; the locks are free for the next one."""
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn, engine.connect() as other:
            with pytest.raises(TransactionOpen), table_locks(conn, "default", ["projects"]):
                conn.begin()
                conn.exec_driver_sql("SELECT 1")
            assert conn.invalidated
            with table_locks(other, "default", ["projects"], wait=False) as held:
                assert held is True
    finally:
        engine.dispose()
