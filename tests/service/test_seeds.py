"""The seed documents' scenarios (shared/reference/seeds), run as loadbay imports."""

from __future__ import annotations

import json
from pathlib import Path

from loadbay.pipeline.frames import ErrorHandling, Mode
from loadbay.service.context import Context, open_context
from loadbay.service.imports import iter_results
from loadbay.service.revert import revert_import
from tests.service.helpers import by_key, errors, results, run, write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _setup(ctx: Context) -> None:
    run(ctx, EXAMPLES / "companies.csv", EXAMPLES / "people.csv")


def test_keyed_json_with_a_record_missing_a_required_field(ctx: Context) -> None:
    """Seed 002: records keyed by client references; one lacks a required field."""
    _setup(ctx)
    result = run(
        ctx,
        EXAMPLES / "projects-keyed.json",
        table="projects",
        mode=Mode.CREATE,
        error_handling=ErrorHandling.LENIENT,
    )
    assert result.state == "partially_succeeded"
    outcomes = {r["ref"]: (r["outcome"], r["errors"]) for r in results(ctx, result.id)}
    assert outcomes["1"][0] == "created"
    assert outcomes["2"][0] == "failed"
    assert [(e["column"], e["code"]) for e in outcomes["2"][1]] == [("name", "required")]
    stored = by_key(ctx, "projects", "external_id")["P-400"]
    assert stored["customer"] == "Acme Corporation" and stored["budget"] == "500000.00"


def test_companies_and_people_with_blank_first_name(ctx: Context, tmp_path: Path) -> None:
    """Seed 004: one import of companies and people; people point at companies by name."""
    doc = {
        "companies": [{"name": "Import"}],
        "people": [
            {"Company": "Import", "First Name": "", "Last Name": "", "Email": "john@mail.example"}
        ],
    }
    bad = write(tmp_path, "import.json", json.dumps(doc))
    checked = run(ctx, bad, dry_run=True)
    assert checked.state == "validation_failed"
    assert errors(ctx, checked.id) == [
        (1, "first_name", "required"),
        (1, "last_name", "required"),
    ]
    assert [e["table"] for e in _first(ctx, checked.id)] == ["people", "people"]
    doc["people"][0].update({"First Name": "John", "Last Name": "Doe"})
    good = run(ctx, write(tmp_path, "import2.json", json.dumps(doc)))
    assert good.state == "succeeded" and good.counts.created == 2
    assert by_key(ctx, "people", "email")["john@mail.example"]["company"] == "Import"
    revert_import(ctx, good.id)
    assert "Import" not in by_key(ctx, "companies", "name")
    assert by_key(ctx, "people", "email").get("john@mail.example") is None


def _first(ctx: Context, import_id: str) -> list[dict[str, object]]:
    return [{"table": r["table_name"]} for r in iter_results(ctx, import_id) for _ in r["errors"]]


def test_semicolon_csv_into_custom_tables_with_and_without_key(
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """Seed 003: `;` CSV, mapping with constants, date formats; upsert on key, else append."""
    ctx = open_context(settings, EXAMPLES / "measurements.yaml")
    try:
        opts = {
            "mapping": {"Time": "taken_at", "Temp": "temperature"},
            "constants": {"kind": "manual"},
            "decimal_comma": True,
        }
        first = run(ctx, EXAMPLES / "measurements.csv", table="measurements", **opts)
        assert first.counts.created == 3
        again = run(ctx, EXAMPLES / "measurements.csv", table="measurements", **opts)
        assert again.counts.unchanged == 3
        stored = by_key(ctx, "measurements", "temperature")
        assert set(stored) == {"-3.50", "-1.25", "4.00"}
        assert stored["-1.25"]["taken_at"] == "2024-01-15T09:30:00.250000Z"
        visits = {
            "mapping": {"Day": "visited_on"},
            "date_formats": ("%d/%m/%Y",),
            "mode": Mode.APPEND,
        }
        run(ctx, EXAMPLES / "visits.csv", table="visits", **visits)
        twice = run(ctx, EXAMPLES / "visits.csv", table="visits", **visits)
        assert twice.counts.created == 3
        assert len(list(by_key(ctx, "visits", "loadbay_id"))) == 6
    finally:
        ctx.close()


def test_xml_projects_with_a_note(ctx: Context) -> None:
    """Seed 001: an XML file of several projects, with a note and per-row results."""
    _setup(ctx)
    result = run(ctx, EXAMPLES / "projects.xml", table="projects", notes="Import on 2023-01-01")
    assert result.notes == "Import on 2023-01-01"
    assert [(r["row"], r["key"], r["outcome"]) for r in results(ctx, result.id)] == [
        (1, "P-300", "created"),
        (2, "P-301", "created"),
    ]
    stored = by_key(ctx, "projects", "external_id")
    assert stored["P-300"]["start_date"] == "2024-05-01"
    assert stored["P-301"]["status"] == "planned"  # the default


def test_jsonl_upsert_partial_and_full(ctx: Context) -> None:
    """Seed 000: a JSON Lines file, partial update (upsert) and full update (replace)."""
    _setup(ctx)
    run(ctx, EXAMPLES / "projects.csv", table="projects")
    partial = run(ctx, EXAMPLES / "projects.jsonl", table="projects")
    assert partial.counts.as_dict() == {
        "created": 1,
        "updated": 2,
        "unchanged": 0,
        "deleted": 0,
        "failed": 0,
        "skipped": 0,
    }
    p100 = by_key(ctx, "projects", "external_id")["P-100"]
    assert p100["budget"] == "550000.00" and p100["name"] == "Hardware deployment"
    full = run(ctx, EXAMPLES / "projects.jsonl", table="projects", mode=Mode.REPLACE)
    assert full.state == "failed"  # strict: a full update lacking required names
    assert errors(ctx, full.id) == [(1, "name", "required"), (2, "name", "required")]
    lenient = run(
        ctx,
        EXAMPLES / "projects.jsonl",
        table="projects",
        mode=Mode.REPLACE,
        error_handling=ErrorHandling.LENIENT,
    )
    assert lenient.counts.unchanged == 1 and lenient.counts.failed == 2
