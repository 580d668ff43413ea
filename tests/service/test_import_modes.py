"""Each mode, strict and lenient, duplicates, references, dry run: on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadbay.errors import MissingColumn
from loadbay.pipeline.frames import EmptyPolicy, ErrorHandling, Mode
from loadbay.service import imports as import_service
from loadbay.service.context import Context
from loadbay.service.revert import revert_import
from tests.service.helpers import by_key, errors, results, rows, run, write

COMPANIES = "name,default_currency,due_days\nAcme,EUR,30\nGlobex,USD,14\n"


def test_create_then_upsert_counts_and_values(ctx: Context, tmp_path: Path) -> None:
    first = run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    assert first.state == "succeeded"
    assert first.counts.created == 2
    second = run(
        ctx,
        write(tmp_path, "c2.csv", "name,due_days\nAcme,45\nGlobex,14\nInitech,7\n"),
        table="companies",
    )
    assert second.counts.as_dict() == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "deleted": 0,
        "failed": 0,
        "skipped": 0,
    }
    stored = by_key(ctx, "companies", "name")
    assert stored["Acme"]["due_days"] == 45
    assert stored["Acme"]["default_currency"] == "EUR"  # not in the file: left alone
    assert stored["Initech"]["due_days"] == 7


def test_create_mode_refuses_existing_key(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    again = run(
        ctx, write(tmp_path, "c2.csv", "name\nAcme\nNew Co\n"), table="companies", mode=Mode.CREATE
    )
    assert again.state == "failed"
    assert errors(ctx, again.id) == [(1, "name", "already_exists")]
    assert "New Co" not in by_key(ctx, "companies", "name")  # strict: nothing written


def test_lenient_writes_valid_rows(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    again = run(
        ctx,
        write(tmp_path, "c2.csv", "name,due_days\nAcme,x\nNew Co,3\n"),
        table="companies",
        mode=Mode.CREATE,
        error_handling=ErrorHandling.LENIENT,
    )
    assert again.state == "partially_succeeded"
    assert again.counts.created == 1 and again.counts.failed == 1
    assert sorted(errors(ctx, again.id)) == [
        (1, "due_days", "invalid_integer"),
        (1, "name", "already_exists"),
    ] or sorted(errors(ctx, again.id)) == [(1, "due_days", "invalid_integer")]
    assert by_key(ctx, "companies", "name")["New Co"]["due_days"] == 3


def test_update_mode_reports_missing_keys(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    result = run(
        ctx,
        write(tmp_path, "u.csv", "name,due_days\nAcme,1\nNobody,2\n"),
        table="companies",
        mode=Mode.UPDATE,
        error_handling=ErrorHandling.LENIENT,
    )
    assert result.counts.updated == 1
    assert errors(ctx, result.id) == [(2, "name", "not_found")]


def test_replace_resets_columns_the_file_lacks(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    result = run(
        ctx,
        write(tmp_path, "r.csv", "name,description\nAcme,Rockets\n"),
        table="companies",
        mode=Mode.REPLACE,
    )
    assert result.counts.updated == 1
    acme = by_key(ctx, "companies", "name")["Acme"]
    assert acme["description"] == "Rockets"
    assert acme["due_days"] is None and acme["default_currency"] is None


def test_require_all_columns_refuses_partial_file(ctx: Context, tmp_path: Path) -> None:
    result = run(
        ctx,
        write(tmp_path, "r.csv", "name\nAcme\n"),
        table="companies",
        mode=Mode.REPLACE,
        require_all_columns=True,
    )
    assert result.state == "failed"
    assert result.error_code == MissingColumn.code
    assert "external_id" in result.error


def test_delete_mode(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    result = run(ctx, write(tmp_path, "d.csv", "name\nAcme\n"), table="companies", mode=Mode.DELETE)
    assert result.counts.deleted == 1
    assert set(by_key(ctx, "companies", "name")) == {"Globex"}


def test_empty_cells_keep_or_clear(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    run(ctx, write(tmp_path, "k.csv", "name,due_days\nAcme,\n"), table="companies")
    assert by_key(ctx, "companies", "name")["Acme"]["due_days"] == 30
    run(
        ctx,
        write(tmp_path, "x.csv", "name,due_days\nAcme,\n"),
        table="companies",
        empty=EmptyPolicy.CLEAR,
    )
    assert by_key(ctx, "companies", "name")["Acme"]["due_days"] is None


def test_duplicate_keys_last_row_wins(ctx: Context, tmp_path: Path) -> None:
    result = run(
        ctx,
        write(tmp_path, "c.csv", "name,due_days\nAcme,1\nGlobex,2\nAcme,3\n"),
        table="companies",
    )
    assert result.counts.created == 2 and result.counts.skipped == 1
    assert by_key(ctx, "companies", "name")["Acme"]["due_days"] == 3
    skipped = [r for r in results(ctx, result.id) if r["outcome"] == "skipped"]
    assert [(r["row"], r["superseded_by"]) for r in skipped] == [(1, 3)]


def test_references_across_tables_in_dependency_order(ctx: Context, tmp_path: Path) -> None:
    people = write(
        tmp_path,
        "people.csv",
        "First Name,Last Name,Email,Company\nAda,Lovelace,ADA@example.com,Acme\n",
    )
    companies = write(tmp_path, "companies.csv", "name\nAcme\n")
    result = run(ctx, people, companies)  # tables from file names, people listed first
    assert result.state == "succeeded", result
    person = rows(ctx, "people")[0]
    assert person["company"] == "Acme"
    assert person["email"] == "ada@example.com"


def test_reference_not_found(ctx: Context, tmp_path: Path) -> None:
    result = run(
        ctx,
        write(tmp_path, "p.csv", "first_name,last_name,email,company\nA,B,a@b.co,Nowhere\n"),
        table="people",
    )
    assert result.state == "failed"
    assert errors(ctx, result.id) == [(1, "company", "reference_not_found")]
    assert rows(ctx, "people") == []


def test_unchanged_rows_are_not_written(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    before = by_key(ctx, "companies", "name")
    again = run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    assert again.counts.unchanged == 2
    assert by_key(ctx, "companies", "name") == before


def test_dry_run_shows_diff_and_writes_nothing(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    result = run(
        ctx,
        write(tmp_path, "u.csv", "name,due_days\nAcme,60\nNew,1\n"),
        table="companies",
        dry_run=True,
    )
    assert result.state == "validated"
    assert result.counts.updated == 1 and result.counts.created == 1
    updated = [r for r in results(ctx, result.id) if r["outcome"] == "updated"]
    diff = updated[0]["diff"]
    diff = diff if isinstance(diff, dict) else __import__("json").loads(diff)
    assert diff == {"due_days": {"old": 30, "new": 60}}
    assert by_key(ctx, "companies", "name")["Acme"]["due_days"] == 30
    assert "New" not in by_key(ctx, "companies", "name")


def test_max_errors_aborts_before_writing(ctx: Context, tmp_path: Path) -> None:
    result = run(
        ctx,
        write(tmp_path, "c.csv", "name,due_days\nA,x\nB,y\nC,1\n"),
        table="companies",
        error_handling=ErrorHandling.LENIENT,
        max_errors=1,
    )
    assert result.state == "failed"
    assert result.error_code == "too_many_errors"
    assert rows(ctx, "companies") == []


def test_lenient_chunks_apply_every_row_once(ctx: Context, tmp_path: Path) -> None:
    body = "".join(f"C{i},{i}\n" for i in range(40))  # chunk size in tests is 7
    result = run(
        ctx,
        write(tmp_path, "c.csv", "name,due_days\n" + body),
        table="companies",
        error_handling=ErrorHandling.LENIENT,
    )
    assert result.counts.created == 40
    assert len(rows(ctx, "companies")) == 40
    assert len({r["record_id"] for r in results(ctx, result.id)}) == 40


@pytest.mark.parametrize("mode", [Mode.CREATE, Mode.UPSERT])
def test_required_columns(ctx: Context, tmp_path: Path, mode: Mode) -> None:
    result = run(
        ctx,
        write(tmp_path, "p.csv", "email,first_name,last_name\na@b.co,,X\n"),
        table="people",
        mode=mode,
    )
    assert result.state == "failed"
    assert errors(ctx, result.id) == [(1, "first_name", "required")]


def test_check_end_before_start(ctx: Context, tmp_path: Path) -> None:
    result = run(
        ctx,
        write(
            tmp_path, "p.csv", "external_id,name,start_date,end_date\nP1,X,2024-02-01,2024-01-01\n"
        ),
        table="projects",
    )
    assert errors(ctx, result.id) == [(1, "end_date", "invalid_range")]


def test_append_into_keyless_custom_table(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    from loadbay.service.context import open_context

    schema = write(
        tmp_path,
        "schema.yaml",
        """
tables:
  - name: readings
    columns:
      - {name: station, required: true}
      - {name: value, type: decimal, precision: 10, scale: 3}
""",
    )
    context = open_context(settings, schema)
    try:
        data = write(tmp_path, "r.csv", "station,value\nA,1.5\nA,1.5\n")
        first = run(context, data, table="readings", mode=Mode.APPEND)
        second = run(context, data, table="readings", mode=Mode.APPEND)
        assert first.counts.created == 2 and second.counts.created == 2
        assert [r["value"] for r in rows(context, "readings")] == ["1.500"] * 4
        refused = run(context, data, table="readings", mode=Mode.UPSERT)
        assert refused.state == "failed" and refused.error_code == "invalid_option"
    finally:
        context.close()


def test_match_on_another_unique_column(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "c.csv", "name,external_id\nAcme,C1\nGlobex,C2\n"), table="companies")
    renamed = run(
        ctx,
        write(tmp_path, "r.csv", "external_id,name\nC1,Acme Inc\n"),
        table="companies",
        key=("external_id",),
    )
    assert renamed.counts.updated == 1
    assert set(by_key(ctx, "companies", "name")) == {"Acme Inc", "Globex"}
    clash = run(
        ctx,
        write(tmp_path, "x.csv", "external_id,name\nC1,Globex\n"),
        table="companies",
        key=("external_id",),
    )
    assert errors(ctx, clash.id) == [(1, "name", "duplicate_value")]


def test_unique_column_clash_within_the_file(ctx: Context, tmp_path: Path) -> None:
    result = run(ctx, write(tmp_path, "c.csv", "name,external_id\nA,X1\nB,X1\n"), table="companies")
    assert result.state == "failed"
    assert errors(ctx, result.id) == [
        (1, "external_id", "duplicate_value"),
        (2, "external_id", "duplicate_value"),
    ]


def test_a_dry_run_is_started_for_real(ctx: Context, tmp_path: Path) -> None:
    from loadbay.errors import InvalidState
    from loadbay.service.imports import start_import

    dry = run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies", dry_run=True)
    assert rows(ctx, "companies") == []
    real = start_import(ctx, dry.id)
    assert real.state == "succeeded" and not real.dry_run
    assert real.counts.created == 2 and len(rows(ctx, "companies")) == 2
    with pytest.raises(InvalidState):
        start_import(ctx, dry.id)


def test_a_requeued_dry_run_keeps_no_results_of_the_dry_run(ctx: Context, tmp_path: Path) -> None:
    """Queued for real, a dry run's results and errors go (they were of a plan that will be
    made again): a queued import has none, so its run has nothing to clear."""
    from loadbay.service.imports import first_errors, requeue_dry_run

    text = "name,due_days\nAcme,10\nGlobex,soon\n"
    dry = run(
        ctx,
        write(tmp_path, "c.csv", text),
        table="companies",
        dry_run=True,
        error_handling=ErrorHandling.LENIENT,
    )
    assert [r["outcome"] for r in results(ctx, dry.id)] == ["created", "failed"]
    requeue_dry_run(ctx, dry.id)
    assert results(ctx, dry.id) == [] and first_errors(ctx, dry.id) == []
    real = import_service.run_import(ctx, dry.id)
    assert real.state == "partially_succeeded"
    assert [(r["row"], r["outcome"]) for r in results(ctx, dry.id)] == [
        (1, "created"),
        (2, "failed"),
    ]
    [error] = first_errors(ctx, dry.id)
    assert (error["row"], error["column"]) == (2, "due_days")


def test_nothing_staged_is_left_behind(ctx: Context, tmp_path: Path) -> None:
    import sqlalchemy as sa

    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    run(ctx, write(tmp_path, "d.csv", "name,due_days\nA,x\n"), table="companies")  # fails
    with ctx.engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
    assert not [n for n in names if n.startswith(("loadbay_stage_", "loadbay_plan_"))]
    database = ctx.engine.url.database
    if ctx.engine.dialect.name == "sqlite" and database:
        assert not list(Path(database).parent.glob("*.scratch"))


PEOPLE = (
    "email,first_name,last_name,title,company,external_id\n"
    "a@x.example,Ann,One,CEO,Acme,E1\n"
    "b@x.example,Bob,Two,CTO,Acme,E2\n"
    "c@x.example,Cid,Three,CFO,Globex,E3\n"
    "d@x.example,Dee,Four,COO,Globex,E4\n"
)


def test_updates_of_indexed_and_plain_columns(ctx: Context, tmp_path: Path) -> None:
    """An update writes indexed columns (references, unique ones) apart from plain ones on
    SQLite, and only where they change: every combination lands, and revert undoes it."""
    run(ctx, write(tmp_path, "c.csv", COMPANIES), table="companies")
    run(ctx, write(tmp_path, "p.csv", PEOPLE), table="people")
    before = by_key(ctx, "people", "email")
    update = (
        "email,first_name,last_name,title,company,external_id\n"
        "a@x.example,Ann,One,Chair,Acme,E1\n"  # a plain column only
        "b@x.example,Bob,Two,CTO,Globex,E2\n"  # a reference only
        "c@x.example,Cid,Three,CEO,Acme,E9\n"  # plain, reference and unique column
        "d@x.example,Dee,Four,COO,Globex,E4\n"  # nothing
    )
    dry = run(ctx, write(tmp_path, "p1.csv", update), table="people", dry_run=True)
    diffs = {
        r["key"]: json.loads(r["diff"]) if isinstance(r["diff"], str) else r["diff"]
        for r in results(ctx, dry.id)
        if r["outcome"] == "updated"
    }
    assert diffs == {
        "a@x.example": {"title": {"old": "CEO", "new": "Chair"}},
        "b@x.example": {"company": {"old": "Acme", "new": "Globex"}},
        "c@x.example": {
            "title": {"old": "CFO", "new": "CEO"},
            "company": {"old": "Globex", "new": "Acme"},
            "external_id": {"old": "E3", "new": "E9"},
        },
    }
    assert by_key(ctx, "people", "email") == before
    second = run(ctx, write(tmp_path, "p2.csv", update), table="people")
    assert second.counts.updated == 3 and second.counts.unchanged == 1
    after = by_key(ctx, "people", "email")
    companies = {r["name"]: r for r in rows(ctx, "companies")}
    assert {k: (v["title"], v["company"], v["external_id"]) for k, v in after.items()} == {
        "a@x.example": ("Chair", "Acme", "E1"),
        "b@x.example": ("CTO", "Globex", "E2"),
        "c@x.example": ("CEO", "Acme", "E9"),
        "d@x.example": ("COO", "Globex", "E4"),
    }
    assert set(companies) == {"Acme", "Globex"}
    revert_import(ctx, second.id)
    assert by_key(ctx, "people", "email") == before
