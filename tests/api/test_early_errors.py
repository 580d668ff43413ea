"""Everything knowable before the rows are read is refused at once with a 422 problem
(not accepted with 202 and failed later); unknown query parameters too, on every route."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_problem
from tests.api.server import Server


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (  # measurements has no key: only append
            {"table": "visits", "mode": "upsert", "records": [{"station": "a"}]},
            "table 'visits' has no key",
        ),
        (
            {"records": {"companies": [{"name": "A"}], "planets": [{"name": "Mars"}]}},
            "planets",
        ),
        ({"table": "companies", "records": []}, "records is empty"),
        ({"records": {"companies": []}}, "records is empty"),
        (
            {
                "table": "companies",
                "records": [{"name": "A"}],
                "options": {"require_all_columns": True},
            },
            "no file column maps to",
        ),
        ({"table": "companies", "records": [{"name": "A"}], "options": {"colour": 1}}, "colour"),
    ],
)
def test_what_is_known_before_reading_is_a_422_at_once(
    server: Server, body: dict[str, object], words: str
) -> None:
    with server.http("early", "write") as client:
        refused = client.post("/v1/imports", json=body)
        problem = assert_problem(refused, 422)
        assert words in problem["detail"] + str(problem["errors"]), problem
        assert client.get("/v1/imports").json()["data"] == []  # nothing was queued


@pytest.mark.parametrize(
    "path",
    [
        "/v1/imports",
        "/v1/imports/imp_x/results",
        "/v1/tables",
        "/v1/tables/companies",
        "/v1/templates",
    ],
)
def test_an_unknown_query_parameter_is_a_422_naming_the_known_ones(
    server: Server, path: str
) -> None:
    with server.http("early", "write") as client:
        problem = assert_problem(client.get(path, params={"limt": "5"}), 422, "invalid_request")
        assert "unknown query parameter 'limt'" in problem["detail"]
        assert problem["errors"][0]["column"] == "query.limt"


def test_record_filters_are_the_table_s_columns(server: Server) -> None:
    """``GET /v1/tables/{t}/records`` takes its columns as filters: any other name is a
    422 too, naming them."""
    with server.http("early", "write") as client:
        problem = assert_problem(
            client.get("/v1/tables/companies/records", params={"colour": "red"}), 422
        )
        assert "colour" in problem["detail"]
        fine = client.get("/v1/tables/companies/records", params={"name": "A", "limit": 5})
        assert fine.status_code == 200, fine.text
