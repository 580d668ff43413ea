"""Mapping file headers onto table columns."""

from __future__ import annotations

import polars as pl
import pytest

from loadbay.errors import InvalidOption, MissingColumn, UnknownColumn
from loadbay.pipeline.frames import ROW, Mode
from loadbay.pipeline.map import MappingOptions, apply_map, check_required, map_columns
from loadbay.schema import load_catalog

PEOPLE = load_catalog(None).get("people")
PROJECTS = load_catalog(None).get("projects")


def test_exact_then_normalised_then_explicit() -> None:
    cmap = map_columns(
        ["First Name", "last_name", "E-Mail", "Employer"],
        PEOPLE,
        MappingOptions(explicit={"Employer": "company"}),
    )
    assert cmap.sources == {
        "company": "Employer",
        "last_name": "last_name",
        "first_name": "First Name",
        "email": "E-Mail",
    }
    assert cmap.unknown == ()


def test_unknown_columns_reported_or_refused() -> None:
    cmap = map_columns(["email", "Shoe Size"], PEOPLE, MappingOptions())
    assert cmap.unknown == ("Shoe Size",)
    with pytest.raises(UnknownColumn, match="'Shoe Size'"):
        map_columns(["email", "Shoe Size"], PEOPLE, MappingOptions(strict_columns=True))


def test_missing_required_column_suggests_closest() -> None:
    headers = ["Extrnal Id", "Name"]
    cmap = map_columns(headers, PROJECTS, MappingOptions())
    with pytest.raises(MissingColumn, match="'external_id' \\(did you mean 'Extrnal Id'\\?\\)"):
        check_required(cmap, PROJECTS, Mode.UPSERT, ("external_id",), headers)
    headers = ["Project Code", "Name"]
    cmap = map_columns(headers, PROJECTS, MappingOptions())
    with pytest.raises(MissingColumn, match="unmapped file columns: 'Project Code'"):
        check_required(cmap, PROJECTS, Mode.UPSERT, ("external_id",), headers)


def test_create_needs_required_columns_upsert_does_not() -> None:
    cmap = map_columns(["email"], PEOPLE, MappingOptions())
    check_required(cmap, PEOPLE, Mode.UPSERT, ("email",), ["email"])
    with pytest.raises(MissingColumn, match="first_name"):
        check_required(cmap, PEOPLE, Mode.CREATE, ("email",), ["email"])


def test_bad_explicit_mapping_and_constant() -> None:
    with pytest.raises(InvalidOption, match="has no column 'nmae'"):
        map_columns(["x"], PEOPLE, MappingOptions(explicit={"x": "nmae"}))
    with pytest.raises(MissingColumn, match="no column 'y'"):
        map_columns(["x"], PEOPLE, MappingOptions(explicit={"y": "title"}))
    with pytest.raises(InvalidOption, match="constant"):
        map_columns(["x"], PEOPLE, MappingOptions(constants={"shoe": "1"}))


def test_apply_map_renames_and_adds_constants() -> None:
    frame = pl.DataFrame({ROW: [1, 2], "Mail": ["a@b.co", "c@d.co"]})
    cmap = map_columns(
        ["Mail"], PEOPLE, MappingOptions(explicit={"Mail": "email"}, constants={"title": "Guest"})
    )
    mapped = apply_map(frame, cmap)
    assert mapped.columns == [ROW, "email", "title"]
    assert mapped["title"].to_list() == ["Guest", "Guest"]


def test_an_explicit_ignore_leaves_out_a_column_of_the_same_name() -> None:
    """``"Company": ""`` in the mapping (``--map Company=``): the file column is left out
    although it has a table column's name (exact or normalised), and is no unknown
    column (no warning, not refused by strict_columns)."""
    headers = ["email", "company", "First Name", "Shoe Size"]
    explicit = {"company": "", "First Name": ""}
    cmap = map_columns(headers, PEOPLE, MappingOptions(explicit=explicit))
    assert cmap.sources == {"email": "email"}
    assert cmap.ignored == ("company", "First Name")
    assert cmap.unknown == ("Shoe Size",)
    strict = MappingOptions(explicit={**explicit, "Shoe Size": ""}, strict_columns=True)
    assert map_columns(headers, PEOPLE, strict).sources == {"email": "email"}
    frame = pl.DataFrame({ROW: [1], "email": ["a@x.example"], "company": ["Acme"]})
    assert apply_map(frame, cmap).columns == [ROW, "email"]


def test_an_ignored_column_frees_its_name_for_another() -> None:
    """Another file column may go to the table column whose namesake is ignored."""
    cmap = map_columns(
        ["company", "Employer"],
        PEOPLE,
        MappingOptions(explicit={"company": "", "Employer": "company"}),
    )
    assert cmap.sources == {"company": "Employer"}
    assert cmap.ignored == ("company",)


def test_ignoring_a_column_the_file_does_not_have_is_refused() -> None:
    """A misspelt ignore would leave the real column in: refused, with the closest name."""
    with pytest.raises(MissingColumn, match=r"ignore 'Compnay'.*no column 'Compnay'.*'company'"):
        map_columns(["email", "company"], PEOPLE, MappingOptions(explicit={"Compnay": ""}))


def test_headers_that_are_not_identifiers_match_the_names_an_inferred_table_gives() -> None:
    from loadbay.pipeline.read.headers import identifier
    from loadbay.schema.model import Column, Table

    headers = ["2024 Sales", "Prénom", "%", "x" * 70]
    table = Table("sales", tuple(Column(identifier(h)) for h in headers))
    cmap = map_columns(headers, table, MappingOptions())
    assert cmap.sources == {identifier(h): h for h in headers}
    assert cmap.sources["c_2024_sales"] == "2024 Sales" and cmap.unknown == ()
