"""The import row's prepared statements: scoped to the tenant, compare-and-set, only the
columns given."""

from __future__ import annotations

import pytest

from loadbay.errors import NotFound
from loadbay.service.context import Context
from loadbay.service.imports import record_import
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import imports_sql


def _recorded(ctx: Context) -> str:
    request = ImportRequest(sources=(SourceSpec(path="x.csv", name="x.csv", table="companies"),))
    return str(record_import(ctx, request, "acme").id)


def test_set_state_if_moves_only_from_the_states_given(ctx: Context) -> None:
    import_id = _recorded(ctx)
    with ctx.engine.begin() as conn:
        assert not imports_sql.set_state_if(conn, "acme", import_id, ["running"], "succeeded")
        assert imports_sql.get_state(conn, "acme", import_id) == "queued"
        assert imports_sql.set_state_if(
            conn, "acme", import_id, ["validated", "queued"], "validating", rows_total=5
        )
        record = imports_sql.get_import(conn, "acme", import_id)
    assert (record.state, record.rows_total) == ("validating", 5)
    assert record.mode == "upsert"  # the columns not given keep their values


def test_every_statement_is_scoped_to_the_tenant(ctx: Context) -> None:
    import_id = _recorded(ctx)
    with ctx.engine.begin() as conn:
        assert not imports_sql.set_state_if(conn, "other", import_id, ["queued"], "validating")
        imports_sql.update_import(conn, "other", import_id, notes="not mine")
        with pytest.raises(NotFound):
            imports_sql.get_state(conn, "other", import_id)
        with pytest.raises(NotFound):
            imports_sql.get_import(conn, "other", import_id)
        record = imports_sql.get_import(conn, "acme", import_id)
    assert (record.state, record.notes) == ("queued", None)


def test_an_unknown_column_is_refused_by_name(ctx: Context) -> None:
    import_id = _recorded(ctx)
    with ctx.engine.begin() as conn:
        with pytest.raises(ValueError, match=r"no column\(s\) bogus"):
            imports_sql.update_import(conn, "acme", import_id, bogus=1)
        with pytest.raises(ValueError, match=r"no column\(s\) bogus"):
            imports_sql.set_state_if(conn, "acme", import_id, ["queued"], "validating", bogus=1)
