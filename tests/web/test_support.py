"""The web importer's own use cases (service/web_support.py), on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from loadbay.errors import InvalidOption, NotFound, Unauthorized
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import auth, uploads, web_support
from loadbay.service.context import Context
from tests.service.helpers import run, write

PEOPLE = (
    "First Name,last_name,E-mail adress,Shoe size\n"
    "Ada,Lovelace,ada@x.example,38\n"
    "Grace,Hopper,grace(at)x.example,39\n"
    "Alan,,alan@x.example,44\n"
)


def test_suggestions_say_how_they_were_found(ctx: Context) -> None:
    found = web_support.suggest(
        ["First Name", "last_name", "E-mail adress", "Shoe size"], ctx.catalog.get("people")
    )
    assert found["last_name"] == ("last_name", "exact", 1.0)
    assert found["First Name"] == ("first_name", "normalised", 0.95)
    column, how, sure = found["E-mail adress"]
    assert (column, how) == ("email", "fuzzy") and 0.6 <= sure < 0.95
    assert "Shoe size" not in found


def test_a_mapping_is_one_file_column_per_table_column(ctx: Context) -> None:
    people = ctx.catalog.get("people")
    pairs = [("E-mail adress", "email"), ("Mail", "email")]
    with pytest.raises(InvalidOption, match="both mapped to 'email'"):
        web_support.mapping_of(pairs, people)
    # a column with a table column's name is left out by an explicit ignore (""); a
    # column no name matches (a fuzzy guess) needs none: it is not read anyway
    chosen = [("First Name", ""), ("last_name", ""), ("E-mail adress", "")]
    assert web_support.mapping_of(chosen, people) == {"First Name": "", "last_name": ""}
    chosen = [("First Name", ""), ("Given", "first_name"), ("E-mail adress", "email")]
    assert web_support.mapping_of(chosen, people) == {
        "First Name": "",
        "Given": "first_name",
        "E-mail adress": "email",
    }


def test_preview_of_uploads(ctx: Context) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield PEOPLE.encode()

    upload, _ = anyio.run(uploads.receive, ctx, ctx.tenant, "people.csv", chunks())
    upload_id = upload["id"]
    preview = web_support.column_preview(ctx, ctx.tenant, [upload_id], "people")
    first = preview["columns"][0]
    assert first["name"] == "First Name" and first["values"] == ["Ada", "Grace", "Alan"]
    assert first["target"] == "first_name"
    assert preview["unmapped_required"] == []
    with pytest.raises(NotFound):
        web_support.column_preview(ctx, "other", [upload_id], "people")


def test_errors_grouped_and_failed_rows_with_their_cells(ctx: Context, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", PEOPLE)
    done = run(
        ctx,
        path,
        table="people",
        mapping={"E-mail adress": "email"},
        error_handling=ErrorHandling.LENIENT,
        dry_run=True,
    )
    groups = web_support.error_groups(ctx, ctx.tenant, done["id"])
    assert [(g["column"], g["code"], g["count"]) for g in groups] == [
        ("email", "invalid_email", 1),
        ("last_name", "required", 1),
    ]
    page = web_support.failed_rows(ctx, ctx.tenant, done["id"], limit=1)
    assert page["headers"] == ["First Name", "last_name", "E-mail adress", "Shoe size"]
    (grace,) = page["rows"]
    assert grace["row"] == 2 and grace["cells"]["E-mail adress"] == "grace(at)x.example"
    assert list(grace["by_header"]) == ["E-mail adress"] and grace["other"] == []
    rest = web_support.failed_rows(ctx, ctx.tenant, done["id"], 10, page["next_cursor"])
    (alan,) = rest["rows"]
    assert list(alan["by_header"]) == ["last_name"]
    assert alan["cells"]["last_name"] is None and rest["next_cursor"] is None
    with pytest.raises(NotFound):
        web_support.failed_rows(ctx, "other", done["id"])
    with pytest.raises(NotFound):
        web_support.error_groups(ctx, "other", done["id"])


def test_a_session_token_stops_working_once_revoked(ctx: Context) -> None:
    record, _ = auth.create_token(ctx, "acme", "write")
    found = web_support.principal_of_token_id(ctx, record["id"])
    assert (found.tenant, found.scope) == ("acme", "write")
    auth.revoke_token(ctx, record["id"])
    with pytest.raises(Unauthorized):
        web_support.principal_of_token_id(ctx, record["id"])
    with pytest.raises(Unauthorized):
        web_support.principal_of_token_id(ctx, "tok_nope")
