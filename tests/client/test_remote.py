"""``loadbay.remote``: the command line's calls against a server give the local shapes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from loadbay.client import ApiError
from loadbay.config import Settings
from loadbay.errors import InvalidOption
from loadbay.pipeline.frames import ErrorHandling
from loadbay.remote import (
    changes,
    connect,
    export,
    first_errors,
    get_import,
    list_imports,
    revert,
    run_import,
    write_error_report,
)
from loadbay.service.requests import ImportRequest, SourceSpec
from tests.api.server import EXAMPLES, Server


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
        seen: list[int] = []
        record = run_import(
            client,
            _request("companies.csv", "people.csv"),
            progress=lambda phase, done, total: seen.append(done),
        )
        assert record["state"] == "succeeded" and record["counts"]["created"] == 6
        assert record["error_code"] is None and seen
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
