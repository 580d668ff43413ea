"""A row gets all its errors: a cell that fails validation hides none of the row's other
problems (an unknown reference in another column, a second bad cell, a missing value)."""

from __future__ import annotations

from pathlib import Path

from loadbay.pipeline.frames import ErrorHandling, Mode
from loadbay.service.context import Context
from tests.service.helpers import errors, run, write


def test_a_bad_cell_hides_no_other_error_of_its_row(ctx: Context, tmp_path: Path) -> None:
    run(ctx, write(tmp_path, "companies.csv", "name\nAcme\n"), table="companies")
    data = write(
        tmp_path,
        "projects.csv",
        "external_id,name,customer,budget,start_date\n"
        "P-1,,Nobody Ltd,lots,2024-13-01\n"  # four problems
        "P-2,Fine,Acme,10,2024-01-01\n"
        "P-3,Only ref,Ghost Inc,5,\n",  # one (its own, found by the plan)
    )
    result = run(ctx, data, table="projects", mode=Mode.CREATE)
    assert result.state == "failed" and result.counts.failed == 2
    assert sorted(errors(ctx, result.id)) == [
        (1, "budget", "invalid_decimal"),
        (1, "customer", "reference_not_found"),
        (1, "name", "required"),
        (1, "start_date", "invalid_date"),
        (3, "customer", "reference_not_found"),
    ]


def test_a_reference_created_by_the_same_import_is_not_unknown(
    ctx: Context, tmp_path: Path
) -> None:
    """The referenced row comes from another file of the import: not reported missing."""
    companies = write(tmp_path, "companies.csv", "name\nNew Co\n")
    projects = write(
        tmp_path, "projects.csv", "external_id,name,customer,budget\nP-1,X,New Co,lots\n"
    )
    result = run(ctx, companies, projects, error_handling=ErrorHandling.LENIENT)
    assert errors(ctx, result.id) == [(1, "budget", "invalid_decimal")]


def test_a_bad_reference_cell_is_one_error(ctx: Context, tmp_path: Path) -> None:
    """A reference cell that fails its type is reported once, not also as unknown."""
    data = write(tmp_path, "projects.csv", "external_id,name,contact\nP-1,X,not-an-email\n")
    result = run(ctx, data, table="projects")
    assert errors(ctx, result.id) == [(1, "contact", "invalid_email")]


def test_a_read_only_field_is_a_row_error_and_an_unknown_one_a_warning(
    ctx: Context, tmp_path: Path
) -> None:
    """``id`` (the companies table has no such column) is loadbay's: a record that sets it
    fails; a field that is no column is ignored with a warning."""
    data = write(
        tmp_path,
        "companies.json",
        '[{"name": "Acme", "id": 7, "colour": "red"}, {"name": "Globex", "id": null},'
        ' {"name": "Initech", "loadbay_created_at": "2024-01-01"}]',
    )
    result = run(ctx, data, table="companies", error_handling=ErrorHandling.LENIENT)
    assert errors(ctx, result.id) == [
        (1, "id", "read_only"),
        (3, "loadbay_created_at", "read_only"),
    ]
    assert result.counts.created == 1 and result.counts.failed == 2
    assert list(result.warnings) == [
        "companies.json: column 'colour' is not a column of companies; ignored"
    ]
