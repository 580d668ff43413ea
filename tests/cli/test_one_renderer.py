"""One renderer for both paths (issue 15): the same import, read through the local backend
(the service, its records turned into the client's models by the API's views) and through
the remote one (the server's answers, the client's models as they come), prints the same
``import`` summary and the same ``imports show``, as text and as ``--json``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import typer

from loadbay.cli.backend import Backend, LocalBackend, RemoteBackend
from loadbay.cli.imports import _conclude
from loadbay.cli.render import show_record
from loadbay.client import Client
from loadbay.service.context import open_context
from tests.api.server import EXAMPLES, Server, running_server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server whose database the local backend opens too (the tenant ``default``)."""
    with running_server(request.param, tmp_path_factory.mktemp("shared")) as found:
        yield found


def _printed(
    capsys: pytest.CaptureFixture[str], backend: Backend, import_id: str, as_json: bool
) -> tuple[str, int, str]:
    """What ``import`` prints when the import ends (and its exit code), and what
    ``imports show`` prints of it."""
    capsys.readouterr()
    code = 0
    try:
        _conclude(backend, backend.get_import(import_id), as_json)
    except typer.Exit as stop:
        code = stop.exit_code
    summary = capsys.readouterr()
    show_record(backend.get_import(import_id), backend.first_errors(import_id), as_json)
    shown = capsys.readouterr()
    assert not shown.err
    return summary.out + summary.err, code, shown.out


def test_the_local_and_the_remote_path_print_an_import_alike(
    shared: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "companies.csv"
    bad.write_text("name,due_days,default_currency\nAcme,-1,EUR\n=cmd(),5,XXY\nOK,1,USD\n")
    change = tmp_path / "change.csv"
    change.write_text("name,due_days\nGlobex,99\n")
    with Client(shared.url, shared.token("default", "write")) as client:
        made = []
        for path, body in [
            (EXAMPLES / "companies.csv", {}),
            (bad, {"error_handling": "lenient", "notes": "two rows fail"}),
            (change, {"dry_run": True}),
        ]:
            upload = client.upload(path, path.name)
            job = client.create_import(upload_ids=[upload.id], tables=["companies"], **body)
            made.append(client.wait(job.id))
        assert [i.state for i in made] == ["succeeded", "partially_succeeded", "validated"]
        there = RemoteBackend(client)
        seen = {}
        with closing(open_context(shared.settings)) as ctx:
            here = LocalBackend(ctx)
            for found in made:
                for as_json in (False, True):
                    local = _printed(capsys, here, found.id, as_json)
                    assert local == _printed(capsys, there, found.id, as_json)
                    seen[found.state, as_json] = local
    summary, code, shown = seen["partially_succeeded", False]
    assert code == 3 and "2 errors by table, column and code" in summary, summary
    assert "invalid_currency" in summary and "done in " in summary
    assert "notes: two rows fail" in shown and "too_small" in shown, shown
    summary, code, shown = seen["validated", True]
    assert code == 0 and '"changes": [{"table": "companies"' in summary, summary
    assert '"state": "validated"' in shown
