"""validate(): date cells (pl.Date) and datetime cells (naive pl.Datetime("us") in UTC)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import pytest

from loadbay.pipeline.frames import ROW
from loadbay.pipeline.validate import Validated, ValidateOptions, validate
from loadbay.schema.model import Catalog, Column, ColumnType, Table

EVENTS = Table(
    name="events",
    key=("title",),
    columns=(
        Column("title"),
        Column("day", ColumnType.DATE),
        Column("at", ColumnType.DATETIME),
    ),
)
CATALOG = Catalog([EVENTS])
DATETIME_ACCEPTED = (
    "yyyy-MM-dd, yyyy-MM-dd HH:mm[:ss[.ffffff]] (T or a space between), with Z or ±hh:mm"
)


def run(column: str, values: list[Any], **options: Any) -> Validated:
    frame = pl.DataFrame(
        {ROW: list(range(1, len(values) + 1)), column: values},
        schema={ROW: pl.Int64, column: pl.String},
    )
    return validate(frame, EVENTS, CATALOG, ValidateOptions(**options))


def accepted(result: Validated, column: str) -> list[Any]:
    assert result.errors.is_empty(), result.errors.to_dicts()
    return result.good[column].to_list()


def messages(result: Validated) -> list[tuple[str, str]]:
    return [(r["code"], r["message"]) for r in result.errors.iter_rows(named=True)]


# --- date ----------------------------------------------------------------------------------


def test_iso_dates() -> None:
    result = run("day", ["2024-01-05", "2024-02-29", "1999-12-31", "2024-1-5", None])
    assert accepted(result, "day") == [
        date(2024, 1, 5),
        date(2024, 2, 29),
        date(1999, 12, 31),
        date(2024, 1, 5),
        None,
    ]
    assert result.good.schema["day"] == pl.Date


@pytest.mark.parametrize(
    "value",
    ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-01-00"],
)
def test_impossible_dates_are_invalid_never_guessed(value: str) -> None:
    assert messages(run("day", [value])) == [
        ("invalid_date", f"'{value}' is not a valid date (accepted: yyyy-MM-dd)")
    ]


@pytest.mark.parametrize(
    "value",
    ["05/01/2024", "2024/01/05", "20240105", "+2024-01-05", "-001-01-01", "12024-01-05", "today"],
)
def test_other_forms_are_invalid_date(value: str) -> None:
    assert [m[0] for m in messages(run("day", [value]))] == ["invalid_date"]


def test_the_message_lists_the_users_formats() -> None:
    result = run("day", ["2024-02-30"], date_formats=("%d/%m/%Y",))
    assert messages(result) == [
        ("invalid_date", "'2024-02-30' is not a valid date (accepted: yyyy-MM-dd, %d/%m/%Y)")
    ]


def test_user_date_formats_are_tried_after_iso_in_order() -> None:
    result = run(
        "day",
        ["2024-01-05", "05/01/2024", "5/1/2024", "31.12.2023", "01/13/2024"],
        date_formats=("%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y"),
    )
    assert accepted(result, "day") == [
        date(2024, 1, 5),
        date(2024, 1, 5),
        date(2024, 1, 5),
        date(2023, 12, 31),
        date(2024, 1, 13),
    ]


def test_user_formats_refuse_impossible_dates_too() -> None:
    result = run("day", ["31/02/2024"], date_formats=("%d/%m/%Y",))
    assert [m[0] for m in messages(result)] == ["invalid_date"]


def test_a_two_digit_year_read_with_a_four_digit_directive_is_refused() -> None:
    # chrono would read "24" as the year 24
    result = run("day", ["5/1/24"], date_formats=("%d/%m/%Y",))
    assert [m[0] for m in messages(result)] == ["invalid_date"]
    assert accepted(run("day", ["5/1/24"], date_formats=("%d/%m/%y",)), "day") == [date(2024, 1, 5)]


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-05 00:00",
        "2024-01-05T00:00",
        "2024-01-05 00:00:00",
        "2024-01-05T00:00:00",
        "2024-01-05 00:00:00.0",
        "2024-01-05T00:00:00.000",
        "2024-01-05T00:00:00.000000",
        "2024-01-05T00:00:00Z",
        "2024-01-05T00:00:00+02:00",
    ],
)
def test_a_datetime_at_midnight_is_its_date(value: str) -> None:
    assert accepted(run("day", [value]), "day") == [date(2024, 1, 5)]


def test_a_user_datetime_format_at_midnight_is_its_date() -> None:
    result = run("day", ["05/01/2024 00:00", "05/01/2024 09:30"], date_formats=("%d/%m/%Y %H:%M",))
    assert result.good["day"].to_list() == [date(2024, 1, 5)]
    assert result.errors["code"].to_list() == ["invalid_date"]


@pytest.mark.parametrize(
    "value", ["2024-01-05 10:30", "2024-01-05T00:00:01", "2024-01-05T00:00:00.001"]
)
def test_a_datetime_with_a_time_of_day_is_not_a_date(value: str) -> None:
    assert messages(run("day", [value])) == [
        (
            "invalid_date",
            f"'{value}' has a time of day, but a date is expected (accepted: yyyy-MM-dd)",
        )
    ]


# --- datetime ------------------------------------------------------------------------------

D = datetime(2024, 1, 5, 13, 45)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-05", datetime(2024, 1, 5)),
        ("2024-01-05 13:45", D),
        ("2024-01-05T13:45", D),
        ("2024-01-05 13:45:30", D.replace(second=30)),
        ("2024-01-05T13:45:30", D.replace(second=30)),
        ("2024-01-05 13:45:30.1", D.replace(second=30, microsecond=100_000)),
        ("2024-01-05 13:45:30.12", D.replace(second=30, microsecond=120_000)),
        ("2024-01-05 13:45:30.123", D.replace(second=30, microsecond=123_000)),
        ("2024-01-05T13:45:30.1", D.replace(second=30, microsecond=100_000)),
        ("2024-01-05T13:45:30.12", D.replace(second=30, microsecond=120_000)),
        ("2024-01-05T13:45:30.123", D.replace(second=30, microsecond=123_000)),
        ("2024-01-05T13:45:30Z", D.replace(second=30)),
        ("2024-01-05T13:45:30.123456Z", D.replace(second=30, microsecond=123_456)),
        ("2024-01-05T13:45:30.1234", D.replace(second=30, microsecond=123_400)),
        ("2024-01-05T13:45:30.12345", D.replace(second=30, microsecond=123_450)),
        ("2024-01-05T13:45:30.123456", D.replace(second=30, microsecond=123_456)),
        ("2024-01-05T14:45:30+01:00", D.replace(second=30)),
        ("2024-01-05T14:45:30.5+01:00", D.replace(second=30, microsecond=500_000)),
        ("2024-01-05T08:15:30-05:30", D.replace(second=30)),
        ("2024-01-05T14:45:30+0100", D.replace(second=30)),
        ("2024-01-05T14:45:30+01", D.replace(second=30)),
        ("2024-01-05T13:45:30+00:00", D.replace(second=30)),
        ("2024-01-05 14:45+01:00", D),
        ("2024-01-05T13:45Z", D),
        ("2024-01-05t13:45:30z", D.replace(second=30)),
        ("2024-01-06T00:15:00+10:30", D),
        ("2024-01-04T23:45:00-14:00", D),
        ("2024-1-5 13:45", D),
    ],
)
def test_datetime_forms(value: str, expected: datetime) -> None:
    result = run("at", [value])
    assert accepted(result, "at") == [expected]
    assert result.good.schema["at"] == pl.Datetime("us")


def test_offsets_can_cross_the_day_and_year() -> None:
    result = run("at", ["2024-01-01T00:30:00+01:00", "2023-12-31T23:30:00-01:00"])
    assert accepted(result, "at") == [datetime(2023, 12, 31, 23, 30), datetime(2024, 1, 1, 0, 30)]


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30 10:00",
        "2023-02-29T00:00:00Z",
        "2024-01-05 24:00",
        "2024-01-05 23:60",
        "2024-01-05 23:59:60",
        "2024-01-05T13:45:30.1234567",
        "2024-01-05T13:45:30+24:00",
        "2024-01-05T13:45:30+01:60",
        "2024-01-05T13:45:30 +01:00",
        "2024-01-05T13",
        "2024-01-05 1:45",
        "2024-01-05Z",
        "05/01/2024 13:45",
        "13:45",
        "2024-01-05T13:45:30.Z",
        "yesterday",
    ],
)
def test_invalid_datetimes(value: str) -> None:
    assert messages(run("at", [value])) == [
        (
            "invalid_datetime",
            f"'{value}' is not a valid date and time (accepted: {DATETIME_ACCEPTED})",
        )
    ]


def test_user_formats_for_datetimes() -> None:
    result = run(
        "at",
        ["05/01/2024 13:45", "05/01/2024", "2024-01-05 13:45", "05/01/2024 14:45 +0100"],
        date_formats=("%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%Y %H:%M %z"),
    )
    assert accepted(result, "at") == [D, datetime(2024, 1, 5), D, D]
    assert result.good.schema["at"] == pl.Datetime("us")


def test_the_datetime_message_lists_the_users_formats() -> None:
    result = run("at", ["5 Jan"], date_formats=("%d/%m/%Y %H:%M",))
    assert messages(result) == [
        (
            "invalid_datetime",
            f"'5 Jan' is not a valid date and time (accepted: {DATETIME_ACCEPTED}, %d/%m/%Y %H:%M)",
        )
    ]


def test_many_rows_of_mixed_forms() -> None:
    values = ["2024-01-05T13:45:00Z", "2024-01-05 14:45:00+01:00", "bad", None] * 1000
    result = run("at", values)
    assert result.good.height == 3000
    assert set(result.good["at"].drop_nulls()) == {D}
    assert result.failed_rows == 1000
    assert result.errors["row"].to_list() == list(range(3, 4001, 4))
