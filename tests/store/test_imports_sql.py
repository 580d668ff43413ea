"""The import row's prepared statements: scoped to the tenant, compare-and-set, only the
columns given."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from loadbay.errors import NotFound
from loadbay.service.context import Context
from loadbay.service.imports import record_import
from loadbay.service.requests import ImportRequest, SourceSpec
from loadbay.store import imports_sql, system


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


def test_each_import_is_numbered_after_the_one_before(ctx: Context) -> None:
    """The results' key starts with the import's number: growing, so an import's results
    go at the index's end."""
    first, second = _recorded(ctx), _recorded(ctx)
    with ctx.engine.connect() as conn:
        assert imports_sql.number_of(conn, second) == imports_sql.number_of(conn, first) + 1
        with pytest.raises(NotFound):
            imports_sql.number_of(conn, "imp_nothing")


def test_results_are_read_and_cleared_by_their_import_alone(ctx: Context) -> None:
    ids = [_recorded(ctx), _recorded(ctx)]
    with ctx.engine.begin() as conn:
        for import_id in ids:
            number = imports_sql.number_of(conn, import_id)
            conn.execute(
                sa.insert(system.results),
                [
                    {"import_number": number, "table_name": "companies", "src": 0, "row": row}
                    | {"outcome": "created", "record_id": row, "key": f"{import_id}-{row}"}
                    for row in (1, 2)
                ],
            )
        imports_sql.clear_results(conn, ids[0])
    with ctx.engine.connect() as conn:
        assert imports_sql.count_outcomes(conn, ids[0]).as_dict().get("created", 0) == 0
        assert imports_sql.count_outcomes(conn, ids[1]).as_dict()["created"] == 2
        page = imports_sql.page_results(conn, ids[1], limit=10)
    assert [r["key"] for r in page] == [f"{ids[1]}-1", f"{ids[1]}-2"]
    assert "import_number" not in page[0]  # the reader asked by the import's id
