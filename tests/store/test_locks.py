"""Table locks belong to one database namespace: installs in other schemas never wait."""

from __future__ import annotations

from loadbay.store.engine import make_engine
from loadbay.store.locks import table_locks
from tests.conftest import pg_schema


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
