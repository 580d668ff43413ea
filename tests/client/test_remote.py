"""``loadbay.remote`` and ``cli.backend.RemoteBackend``: the command line's calls against a
server give the client's models, as the local backend does (tests/cli/test_one_renderer.py
prints both)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pytest

from loadbay.cli.backend import LocalBackend, RemoteBackend
from loadbay.client import ApiError, Client
from loadbay.config import Settings
from loadbay.errors import InvalidOption, LoadbayError, Unavailable
from loadbay.pipeline.frames import ErrorHandling
from loadbay.remote import api_errors, connect, export, run_import, write_error_report
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
        backend = RemoteBackend(client)
        seen: list[Mapping[str, object]] = []
        record = run_import(client, _request("companies.csv", "people.csv"), progress=seen.append)
        assert record.state == "succeeded" and record.counts.created == 6
        assert record.error is None
        assert seen[-1]["state"] == "succeeded" and seen[-1]["phase"] == "reporting"
        assert seen[-1]["rows_read"] == 6 and (record.progress or {})["rows_written"] == 6
        bad = tmp_path / "people.csv"
        bad.write_text("First Name,Last Name,Email\nA,B,not-an-email\n")
        failed = run_import(
            client,
            ImportRequest(
                sources=(SourceSpec(path=str(bad), name="people.csv", table="people"),),
                error_handling=ErrorHandling.LENIENT,
            ),
        )
        assert failed.counts.failed == 1
        errors = backend.first_errors(failed.id)
        assert (errors[0].table, errors[0].row, errors[0].column) == ("people", 1, "email")
        assert write_error_report(client, failed.id, tmp_path / "e.csv") == 1
        dry = run_import(client, _request("companies.csv", dry_run=True))
        assert dry.state == "validated" and backend.changes(dry.id, 10) == []
        assert backend.list_imports(3)[0].id == dry.id
        assert backend.get_import(record.id).counts == record.counts
        out = io.StringIO()
        assert export(client, "companies", out) == 3
        with pytest.raises(ApiError) as caught:
            backend.revert(record.id, False)  # the later dry run changed nothing: no conflict
            backend.revert(record.id, False)
        assert caught.value.code == "invalid_state"


def test_errors_inside_api_errors_are_the_local_service_errors(server: Server) -> None:
    client = connect(Settings(url=server.url, token=server.token("remote-errors", "read")))
    assert client is not None
    with client, pytest.raises(LoadbayError) as caught, api_errors():
        RemoteBackend(client).get_import("imp_0")
    assert type(caught.value) is LoadbayError  # not an ApiError: no problem-document fields
    assert (caught.value.code, caught.value.message, caught.value.details) == (
        "not_found",
        "no import 'imp_0'",
        {},
    )
    gone = Client(f"http://127.0.0.1:{free_port()}", "x")
    answer = "no answer from the loadbay server at http"
    with gone, pytest.raises(Unavailable, match=answer), api_errors():
        RemoteBackend(gone).list_imports(20)


def test_tables_times_and_an_export_with_line_breaks_in_cells(
    server: Server, tmp_path: Path
) -> None:
    client = connect(Settings(url=server.url, token=server.token("remote-shapes", "write")))
    assert client is not None
    ctx = open_context(server.settings)
    try:
        assert RemoteBackend(client).tables() == LocalBackend(ctx).tables()
    finally:
        ctx.close()
    data = tmp_path / "companies.csv"
    data.write_text('name,description\nA,"two\nlines"\nB,"""quoted""\n\nthree"\nC,plain\n')
    with client:
        record = run_import(client, ImportRequest(sources=(SourceSpec(str(data), data.name),)))
        assert record.counts.created == 3
        assert record.created_at == RemoteBackend(client).get_import(record.id).created_at
        out = io.StringIO()
        assert export(client, "companies", out) == 3  # records, not lines
        assert out.getvalue().count("\n") == 7
        assert export(client, "companies", io.StringIO(), "jsonl") == 3
