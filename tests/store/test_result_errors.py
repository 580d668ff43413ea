"""A row's errors are attached in one place and one order (issue 15): the JSON page of
results and the NDJSON stream give them alike — errors of the whole row (no column) first,
then by column, code and message — on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from loadbay.service.context import Context
from loadbay.store import imports_sql, system

# written in an order that is none of the orders read
ERRORS = [
    ("companies", 2, "name", "too_long", "is too long"),
    ("companies", 2, "budget", "invalid_decimal", "is not a decimal"),
    ("companies", 2, None, "wrong_field_count", "has 3 fields, not 2"),
    ("companies", 2, "budget", "too_large", "is too large"),
    ("companies", 3, "name", "required", "is required"),
    ("people", 1, "company", "reference_not_found", "no companies row has name 'x'"),
    ("people", 1, "age", "invalid_integer", "is not an integer"),
]
ORDER = {
    ("companies", 2): ["wrong_field_count", "invalid_decimal", "too_large", "too_long"],
    ("companies", 3): ["required"],
    ("people", 1): ["invalid_integer", "reference_not_found"],
}


def test_the_page_and_the_stream_give_a_rows_errors_in_one_order(ctx: Context) -> None:
    import_id = "imp_result_errors"
    results = [("companies", 1, "created"), ("companies", 2, "failed")]
    results += [("companies", 3, "failed"), ("people", 1, "failed")]
    with ctx.engine.begin() as conn:
        conn.execute(sa.insert(system.import_numbers), {"import_id": import_id})
        number = imports_sql.number_of(conn, import_id)
        conn.execute(
            sa.insert(system.results),
            [
                {"import_number": number, "table_name": t, "src": 0, "row": r, "outcome": o}
                for t, r, o in results
            ],
        )
        conn.execute(
            sa.insert(system.errors),
            [
                {"import_id": import_id, "table_name": t, "src": 0, "row": r, "column": c}
                | {"code": code, "message": m, "value": "v"}
                for t, r, c, code, m in ERRORS
            ],
        )
    with ctx.engine.connect() as conn:
        page = imports_sql.page_results(conn, import_id, limit=10)
        streamed = list(imports_sql.iter_results(conn, import_id, batch=2))
        unstreamed = list(imports_sql.iter_results(conn, import_id, stream=False))
    assert page == streamed == unstreamed
    for row in page:
        codes = [e["code"] for e in row["errors"]]
        assert codes == ORDER.get((row["table_name"], row["row"]), []), row
        for error in row["errors"]:
            assert set(error) == {"column", "code", "message", "value"}
