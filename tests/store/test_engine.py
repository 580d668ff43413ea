"""How loadbay's engines are set up."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbay.config import Settings
from loadbay.errors import InvalidOption
from loadbay.service.context import open_context
from loadbay.store.engine import make_engine
from tests.conftest import pg_schema


def test_postgres_connections_get_the_work_mem_of_the_settings(tmp_path: Path) -> None:
    with pg_schema() as url:
        settings = Settings.from_env(
            {"LOADBAY_DATABASE_URL": url, "LOADBAY_PG_WORK_MEM": "96MB"}, data_dir=tmp_path
        )
        assert settings.pg_work_mem == "96MB"
        ctx = open_context(settings)
        try:
            for _ in range(2):  # a new connection, and one from the pool
                with ctx.engine.connect() as conn:
                    assert conn.exec_driver_sql("SHOW work_mem").scalar_one() == "96MB"
        finally:
            ctx.close()


@pytest.mark.parametrize("value", ["lots", "256", "1TB", "64MB'; DROP TABLE x; --", "0MB"])
def test_a_work_mem_that_is_not_a_size_is_refused_by_name(value: str) -> None:
    with pytest.raises(InvalidOption, match="LOADBAY_PG_WORK_MEM must be a size"):
        make_engine("postgresql://postgres@127.0.0.1:5432/test", value)
