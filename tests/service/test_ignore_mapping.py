"""An explicit ignore in the mapping (``{"company": ""}``) through a whole import, on
both databases and both import paths: the column is not read, no warning, strict_columns
does not refuse it."""

from __future__ import annotations

from pathlib import Path

from loadbay.pipeline.frames import ErrorHandling
from loadbay.service.context import Context
from tests.service.helpers import by_key, run, write

CSV = (
    "email,first_name,last_name,company,Shoe size\n"
    "ada@ignore.example,Ada,Lovelace,Nowhere Inc,38\n"
    "grace@ignore.example,Grace,Hopper,Nowhere Inc,39\n"
)


def test_an_ignored_column_is_not_read(ctx: Context, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", CSV)
    done = run(
        ctx, path, table="people", mapping={"company": "", "Shoe size": ""}, strict_columns=True
    )
    assert done.state == "succeeded", done
    assert done.counts.created == 2
    assert list(done.warnings) == []  # an ignored column is no unknown column
    people = by_key(ctx, "people", "email")
    assert people["ada@ignore.example"]["company"] is None  # "Nowhere Inc" not looked up


def test_without_the_ignore_the_column_is_read(ctx: Context, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", CSV)
    done = run(
        ctx, path, table="people", mapping={"Shoe size": ""}, error_handling=ErrorHandling.LENIENT
    )
    assert done.counts.failed == 2  # no company named Nowhere Inc


def test_a_misspelt_ignore_fails_the_import(ctx: Context, tmp_path: Path) -> None:
    path = write(tmp_path, "people.csv", CSV)
    done = run(ctx, path, table="people", mapping={"Compnay": ""})
    assert done.state == "failed"
    assert done.error_code == "missing_column"
    assert "ignore 'Compnay'" in done.error and "did you mean 'company'" in done.error


def test_an_ignore_holds_in_a_file_of_several_tables(ctx: Context, tmp_path: Path) -> None:
    """A JSON document with a list per table: each table takes the mapping entries that
    are its own, and an ignore (no target) stays an ignore for every table."""
    doc = (
        '{"companies": [{"name": "Ignore Co", "Shoe size": 1}],'
        ' "people": [{"email": "ada@ignore.example", "first_name": "Ada",'
        ' "last_name": "Lovelace", "Shoe size": 38}]}'
    )
    path = write(tmp_path, "both.json", doc)
    done = run(ctx, path, mapping={"Shoe size": ""}, strict_columns=True)
    assert done.state == "succeeded", (done.error_code, done.error)
    assert done.counts.created == 2
    assert list(done.warnings) == []
