"""Every kind of bad input gets its own error code, and changes nothing it should not."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadbay.errors import InvalidOption
from loadbay.pipeline.frames import ErrorHandling
from loadbay.service.context import Context
from loadbay.service.requests import ImportRequest, SourceSpec
from tests.service.helpers import by_key, errors, run, write


def test_wrong_field_count_is_a_row_error(ctx: Context, tmp_path: Path) -> None:
    """A longer record is an error; a shorter one is padded (issue 16), with a warning."""
    data = write(tmp_path, "c.csv", "name,due_days\nA,1\nB,2,extra\nC\nD,4\nE,5,\n")
    result = run(ctx, data, table="companies", error_handling=ErrorHandling.LENIENT)
    assert errors(ctx, result.id) == [(2, None, "wrong_field_count")]
    assert set(by_key(ctx, "companies", "name")) == {"A", "C", "D", "E"}
    assert any("1 record(s) shorter than the header" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("content", "options", "code"),
    [
        (b"\x00\x01\x02\x03garbage\xff\xfe", {"format": "xlsx"}, "unreadable_file"),
        ("name\nCafé\n".encode("cp1252"), {"encoding": "utf-8"}, "invalid_encoding"),
        (b"nom,jours\nA,1\n", {}, "missing_column"),
        (b"name,shoe_size\nA,1\n", {"strict_columns": True}, "unknown_column"),
        (b"<a><b>1</b", {"format": "xml"}, "unreadable_file"),
    ],
)
def test_bad_files_fail_the_import_with_a_code(
    ctx: Context, tmp_path: Path, content: bytes, options: dict[str, object], code: str
) -> None:
    path = tmp_path / "companies.data"
    path.write_bytes(content)
    result = run(ctx, path, table="companies", **options)
    assert result.state == "failed"
    assert result.error_code == code, result.error
    assert by_key(ctx, "companies", "name") == {}


def test_unknown_table_and_bad_options(ctx: Context, tmp_path: Path) -> None:
    data = write(tmp_path, "c.csv", "name\nA\n")
    assert run(ctx, data, table="nope").error_code == "unknown_table"
    assert run(ctx, data, table="companies", key=("description",)).error_code == ("invalid_option")
    with pytest.raises(InvalidOption, match="strftime"):
        ImportRequest(sources=(SourceSpec(str(data), "c.csv"),), date_formats=("dd/mm/yyyy",))


def test_cell_errors_name_row_column_value_and_why(ctx: Context, tmp_path: Path) -> None:
    data = write(
        tmp_path,
        "projects.csv",
        "external_id,name,status,budget,currency,start_date\nP1,X,paused,12.345,EURO,2024-02-30\n",
    )
    result = run(ctx, data)
    found = {(e[1], e[2]) for e in errors(ctx, result.id)}
    assert found == {
        ("status", "invalid_enum"),
        ("budget", "invalid_decimal"),
        ("currency", "invalid_currency"),
        ("start_date", "invalid_date"),
    }
