"""``loadbay.remote``: the command line's calls against a server give the local shapes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from loadbay.client import ApiError, Client
from loadbay.config import Settings
from loadbay.domain.tables import table_view
from loadbay.errors import InvalidOption, LoadbayError, Unavailable
from loadbay.pipeline.frames import ErrorHandling
from loadbay.remote import (
    api_errors,
    changes,
    connect,
    export,
    first_errors,
    get_import,
    list_imports,
    revert,
    run_import,
    tables,
    write_error_report,
)
from loadbay.service import tables as table_service
from loadbay.service.context import open_context
from loadbay.service.requests import ImportRequest, SourceSpec
from tests.api.server import EXAMPLES, Server, free_port


def _request(*names: str, **options: object) -> ImportRequest:
    sources = tuple(SourceSpec(path=str(EXAMPLES / n), name=n) for n in names)
    return ImportRequest(sources=sources, **options)  # type: ignore[arg-type]


def test_connect_needs_a_token_with_a_url() -> None:
    assert connect(Settings()) is None
    with pytest.raises(InvalidOption):
        connect(Settings(url="http://127.0.0.1:1"))


def test_import_show_list_revert_export_remotely(server: Server, tmp_path: Path) -> None:
    settings = Settings(url=server.url, token=server.token("remote", "write"))
    client = connect(settings)
    assert client is not None
    with client:
        seen: list[dict[str, Any]] = []
        record = run_import(client, _request("companies.csv", "people.csv"), progress=seen.append)
        assert record["state"] == "succeeded" and record["counts"]["created"] == 6
        assert record["error_code"] is None
        assert seen[-1]["state"] == "succeeded" and seen[-1]["phase"] == "reporting"
        assert seen[-1]["rows_read"] == 6 and record["progress"]["rows_written"] == 6
        bad = tmp_path / "people.csv"
        bad.write_text("First Name,Last Name,Email\nA,B,not-an-email\n")
        failed = run_import(
            client,
            ImportRequest(
                sources=(SourceSpec(path=str(bad), name="people.csv", table="people"),),
                error_handling=ErrorHandling.LENIENT,
            ),
        )
        assert failed["counts"]["failed"] == 1
        errors = first_errors(client, failed["id"])
        assert (errors[0]["table_name"], errors[0]["row"], errors[0]["column"]) == (
            "people",
            1,
            "email",
        )
        assert write_error_report(client, failed["id"], tmp_path / "e.csv") == 1
        dry = run_import(client, _request("companies.csv", dry_run=True))
        assert dry["state"] == "validated" and changes(client, dry["id"], 10) == []
        assert next(r["id"] for r in list_imports(client, 3)) == dry["id"]
        assert get_import(client, record["id"])["counts"] == record["counts"]
        out = io.StringIO()
        assert export(client, "companies", out) == 3
        with pytest.raises(ApiError) as caught:
            revert(client, record["id"])  # the later dry run changed nothing: no conflict
            revert(client, record["id"])
        assert caught.value.code == "invalid_state"


def test_errors_inside_api_errors_are_the_local_service_errors(server: Server) -> None:
    client = connect(Settings(url=server.url, token=server.token("remote-errors", "read")))
    assert client is not None
    with client, pytest.raises(LoadbayError) as caught, api_errors():
        get_import(client, "imp_0")
    assert type(caught.value) is LoadbayError  # not an ApiError: no problem-document fields
    assert (caught.value.code, caught.value.message, caught.value.details) == (
        "not_found",
        "no import 'imp_0'",
        {},
    )
    gone = Client(f"http://127.0.0.1:{free_port()}", "x")
    answer = "no answer from the loadbay server at http"
    with gone, pytest.raises(Unavailable, match=answer), api_errors():
        list_imports(gone)


def test_tables_times_and_an_export_with_line_breaks_in_cells(
    server: Server, tmp_path: Path
) -> None:
    client = connect(Settings(url=server.url, token=server.token("remote-shapes", "write")))
    assert client is not None
    ctx = open_context(server.settings)
    try:
        assert tables(client) == [table_view(t) for t in table_service.list_tables(ctx)]
    finally:
        ctx.close()
    data = tmp_path / "companies.csv"
    data.write_text('name,description\nA,"two\nlines"\nB,"""quoted""\n\nthree"\nC,plain\n')
    with client:
        record = run_import(client, ImportRequest(sources=(SourceSpec(str(data), data.name),)))
        assert record["counts"]["created"] == 3
        assert record["created_at"].tzinfo is None  # naive UTC, as the database keeps it
        assert record["created_at"] == get_import(client, record["id"])["created_at"]
        out = io.StringIO()
        assert export(client, "companies", out) == 3  # records, not lines
        assert out.getvalue().count("\n") == 7
        assert export(client, "companies", io.StringIO(), "jsonl") == 3
