"""The web importer's own use cases (service/web_support.py), on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbay.errors import InvalidOption, NotFound, Unauthorized, UnknownTable
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service import auth, uploads, web_support
from loadbay.service import imports as import_service
from loadbay.service import tables as table_service
from loadbay.service.context import Context
from loadbay.service.import_requests import ImportSpec
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
    upload, _ = uploads.receive(ctx, ctx.tenant, "people.csv", [PEOPLE.encode()])
    upload_id = upload.id
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
    groups = web_support.error_groups(ctx, ctx.tenant, done.id)
    assert [(g["column"], g["code"], g["count"]) for g in groups] == [
        ("email", "invalid_email", 1),
        ("last_name", "required", 1),
    ]
    page = web_support.failed_rows(ctx, ctx.tenant, done.id, limit=1)
    assert page["headers"] == ["First Name", "last_name", "E-mail adress", "Shoe size"]
    (grace,) = page["rows"]
    assert grace["row"] == 2 and grace["cells"]["E-mail adress"] == "grace(at)x.example"
    assert list(grace["by_header"]) == ["E-mail adress"] and grace["other"] == []
    rest = web_support.failed_rows(ctx, ctx.tenant, done.id, 10, page["next_cursor"])
    (alan,) = rest["rows"]
    assert list(alan["by_header"]) == ["last_name"]
    assert alan["cells"]["last_name"] is None and rest["next_cursor"] is None
    with pytest.raises(NotFound):
        web_support.failed_rows(ctx, "other", done.id)
    with pytest.raises(NotFound):
        web_support.error_groups(ctx, "other", done.id)
    path.unlink()  # grouped from the stored errors (SQL), not by reading the file again
    assert web_support.error_groups(ctx, ctx.tenant, done.id) == groups
    assert groups[0]["value"] == "grace(at)x.example" and groups[0]["table"] == "people"


def test_a_session_token_stops_working_once_revoked(ctx: Context) -> None:
    record, _ = auth.create_token(ctx, "acme", "write")
    found = web_support.principal_of_token_id(ctx, record.id)
    assert (found.tenant, found.scope) == ("acme", "write")
    auth.revoke_token(ctx, record.id)
    with pytest.raises(Unauthorized):
        web_support.principal_of_token_id(ctx, record.id)
    with pytest.raises(Unauthorized):
        web_support.principal_of_token_id(ctx, "tok_nope")


class RunsAtOnce:
    """A dispatcher that runs the import it is given there and then (no queue)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def enqueue_import(self, tenant: str, import_id: str) -> None:
        import_service.run_import(self.ctx, import_id)


def test_cells_fixed_in_the_page_make_a_new_upload(ctx: Context, tmp_path: Path) -> None:
    """The edited cells make a new file (a new upload: the original stays as it was),
    checked again with the import's choices (mapping, options): the check passes."""
    path = write(tmp_path, "people.csv", PEOPLE)
    done = run(
        ctx,
        path,
        table="people",
        mapping={"E-mail adress": "email", "Shoe size": ""},
        decimal_comma=True,
        dry_run=True,
        notes="first try",
    )
    assert done.counts.failed == 2
    edits = {(0, 2, "E-mail adress"): "grace@x.example", (0, 3, "last_name"): "Turing"}
    spec = web_support.fix_cells(ctx, ctx.tenant, done.id, edits)
    assert path.read_text() == PEOPLE  # the original file is untouched
    assert spec.dry_run and spec.tables == ("people",)
    assert spec.mapping == {"E-mail adress": "email", "Shoe size": ""}
    assert spec.options["decimal_comma"] is True and spec.options["format"] == "csv"
    assert spec.options["empty"] == "keep"  # as stored: plain JSON
    assert spec.notes == f"first try · 2 cells fixed in the page from {done.id}"
    (upload_id,) = spec.upload_ids
    fixed = uploads.get_upload(ctx, ctx.tenant, upload_id)
    assert fixed.filename == "people-fixed.csv"
    assert Path(fixed.path).read_text().splitlines() == [
        "First Name,last_name,E-mail adress,Shoe size",
        "Ada,Lovelace,ada@x.example,38",
        "Grace,Hopper,grace@x.example,39",
        "Alan,Turing,alan@x.example,44",
    ]
    again, _ = import_service.submit(ctx, ctx.tenant, spec, RunsAtOnce(ctx), actor=auth.CLI)
    checked = import_service.get_import(ctx, again["id"], ctx.tenant)
    assert checked.state == "validated" and checked.counts.failed == 0
    assert checked.counts.created == 3


def test_fixes_that_do_not_fit_are_refused(ctx: Context, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", PEOPLE)
    done = run(ctx, path, table="people", mapping={"E-mail adress": "email"}, dry_run=True)
    for edits, message in [
        ({(0, 2, "Phone"): "1"}, "file 1 has no column 'Phone'"),
        ({(0, 9, "last_name"): "x"}, "file 1 has no row 9"),
        ({(1, 2, "last_name"): "x"}, "the import has no file 2"),
        ({}, "no cell was changed"),
        ({(0, 1, "last_name"): "Lovelace"}, "no cell was changed"),
    ]:
        with pytest.raises(InvalidOption, match=message):
            web_support.fix_cells(ctx, ctx.tenant, done.id, edits)
    with pytest.raises(NotFound):
        web_support.fix_cells(ctx, "other", done.id, {(0, 2, "last_name"): "x"})
    many = write(tmp_path, "many.csv", "name\n" + "".join(f"C{n}\n" for n in range(12)))
    big = run(ctx, many, table="companies", dry_run=True)
    with pytest.raises(
        InvalidOption, match="12 rows: fixing cells in the page is for files of up to 10"
    ):
        web_support.fix_cells(ctx, ctx.tenant, big.id, {(0, 1, "name"): "x"}, 10)


def test_the_columns_choices_saved_as_a_template_and_applied(ctx: Context) -> None:
    """The choices of the columns step (as the check would submit them) saved as a
    template; a template read back as the choices the page starts from."""

    upload, _ = uploads.receive(ctx, ctx.tenant, "people.csv", [PEOPLE.encode()])
    spec = ImportSpec(
        table="people",
        upload_ids=(upload.id,),
        mode="create",
        error_handling="lenient",
        mapping={"E-mail adress": "email", "last_name": ""},
        constants={"title": "Guest"},
        options={"empty": "clear", "decimal_comma": True, "date_formats": ["%d/%m/%Y"]},
        dry_run=True,
    )
    saved = web_support.save_template(ctx, ctx.tenant, spec, "  people, lenient ")
    assert saved.name == "people, lenient" and saved.tables == ("people",)
    assert saved.mapping == {"E-mail adress": "email", "last_name": ""}
    assert saved.options["empty"] == "clear" and saved.options["decimal_comma"] is True
    choices = web_support.choices_of_template(ctx, ctx.tenant, saved.id)
    assert choices["mode"] == "create" and choices["error_handling"] == "lenient"
    assert choices["mapping"] == {"E-mail adress": "email", "last_name": ""}
    assert choices["constants"] == {"title": "Guest"}
    assert choices["empty"] == "clear" and choices["date_formats"] == ["%d/%m/%Y"]
    assert [t.name for t in web_support.templates_for(ctx, ctx.tenant, "people")] == [
        "people, lenient"
    ]
    assert web_support.templates_for(ctx, ctx.tenant, "companies") == []
    with pytest.raises(InvalidOption, match="needs a name"):
        web_support.save_template(ctx, ctx.tenant, spec, " ")
    with pytest.raises(NotFound):
        web_support.choices_of_template(ctx, "other", saved.id)


def test_a_tenants_own_table_is_previewed_and_its_errors_placed(
    ctx: Context, tmp_path: Path
) -> None:
    """The columns step and the failed rows see the tenant's own tables (and only its)."""
    definition = {
        "name": "gadgets_web",
        "key": ["serial"],
        "columns": [
            {"name": "serial", "type": "text", "required": True},
            {"name": "price", "type": "decimal"},
        ],
    }
    table_service.create_table(ctx, ctx.tenant, definition)

    upload, _ = uploads.receive(
        ctx, ctx.tenant, "gadgets.csv", [b"Serial,Price\nA1,3.5\nA2,lots\n"]
    )
    preview = web_support.column_preview(ctx, ctx.tenant, [upload.id], "gadgets_web")
    assert [(c["name"], c["target"]) for c in preview["columns"]] == [
        ("Serial", "serial"),
        ("Price", "price"),
    ]
    with pytest.raises(UnknownTable):
        web_support.column_preview(ctx, "other", [upload.id], "gadgets_web")
    path = Path(uploads.get_upload(ctx, ctx.tenant, upload.id).path)
    done = run(ctx, path, table="gadgets_web", error_handling=ErrorHandling.LENIENT, dry_run=True)
    (row,) = web_support.failed_rows(ctx, ctx.tenant, done.id)["rows"]
    assert list(row["by_header"]) == ["Price"]
