"""The format of an upload is detected once, when it is received, and kept with it: an
import of the upload reads it as that format, without detecting it again. A file given
by its path (a local import) is still detected when it is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from loadbay.domain.uploads import Upload
from loadbay.pipeline.read import detect
from loadbay.service import imports as import_service
from loadbay.service import uploads
from loadbay.service.context import Context
from loadbay.service.import_requests import ImportSpec, build_request
from loadbay.store import system
from tests.service.helpers import by_key, run

RECORDS = [{"name": "Acme", "due_days": 30}, {"name": "Globex", "due_days": 14}]
TSV = b"name\tdue_days\r\nAcme\t30\r\nGlobex\t14\r\n"


def _receive(ctx: Context, filename: str, data: bytes) -> Upload:
    upload, _ = uploads.receive(ctx, ctx.tenant, filename, [data])
    return upload


def _import_upload(ctx: Context, upload_id: str, **options: object) -> None:
    spec = ImportSpec(table="companies", upload_ids=(upload_id,), options=options)
    request = build_request(ctx, ctx.tenant, spec)
    import_service.run_import(ctx, import_service.create_import(ctx, request))


def _no_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    def detected_again(*args: object) -> None:
        raise AssertionError("the format was detected again")

    monkeypatch.setattr(detect, "_from_content", detected_again)
    monkeypatch.setattr(detect, "from_extension", detected_again)


def test_an_upload_keeps_the_format_found_when_it_came(ctx: Context) -> None:
    upload = _receive(ctx, "rows.json", json.dumps(RECORDS).encode())
    assert upload.format == "json"
    assert uploads.get_upload(ctx, ctx.tenant, upload.id) == upload


def test_an_import_of_an_upload_reads_it_as_its_stored_format(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = _receive(ctx, "rows.json", json.dumps(RECORDS).encode())
    _no_detection(monkeypatch)
    _import_upload(ctx, upload.id)
    assert {k: r["due_days"] for k, r in by_key(ctx, "companies", "name").items()} == {
        "Acme": 30,
        "Globex": 14,
    }


def test_the_stored_format_is_the_one_read(ctx: Context) -> None:
    # tab-separated text named .csv: found CSV by its name; stored as TSV, it is read as TSV
    upload = _receive(ctx, "rows.csv", TSV)
    assert upload.format == "csv"
    with ctx.engine.begin() as conn:
        conn.execute(
            sa.update(system.uploads).where(system.uploads.c.id == upload.id).values(format="tsv")
        )
    _import_upload(ctx, upload.id)
    assert sorted(by_key(ctx, "companies", "name")) == ["Acme", "Globex"]


def test_a_format_the_request_names_wins_over_the_stored_one(ctx: Context) -> None:
    upload = _receive(ctx, "rows.csv", TSV)
    _import_upload(ctx, upload.id, format="tsv")
    assert sorted(by_key(ctx, "companies", "name")) == ["Acme", "Globex"]


def test_a_file_given_by_its_path_is_detected_when_read(ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "rows.txt"
    path.write_text(json.dumps(RECORDS), encoding="utf-8")
    run(ctx, path, table="companies")
    assert sorted(by_key(ctx, "companies", "name")) == ["Acme", "Globex"]
