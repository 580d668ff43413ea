"""Deterministic benchmark files: companies, people, and projects (fresh, update, variant).

Every value is a function of the row's index and a fixed salt, computed with polars
expressions over whole chunks (no Python loop per row), so the same ``rows`` always give
the same bytes on any machine — the pseudo-random numbers come from an integer hash
written here, not from a library's generator whose stream may change between versions.

- ``companies.csv``: 1,000 companies (unique names; the key projects refer to).
- ``people.csv``: 2,000 people, each with a unique email at a company's domain.
- ``projects-N.csv``: N projects, every column of the built-in ``projects`` table filled
  (owner empty in 5 % of rows, end date in 20 %, notes in 40 %; descriptions with commas
  and double quotes).
- ``projects-N-update.csv``: the same N projects, 30 % of them changed (budget always;
  status, end date and notes on some), plus N/10 new ones: 1.1 x N rows.
- ``projects-N-variant.csv``: the update file with another 30 % of its rows changed, in
  columns that are never empty (budget, status, end date when set). Upserting the update
  file and the variant one after the other changes the same rows every time (no cell goes
  from a value to empty, which an upsert that keeps stored values on empty cells would
  not undo), so repeated imports in one process do equal work.

A manifest (``manifest-N.json``) holds the exact counts the imports must report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import IO

import polars as pl

#: bump when the generated values change: cached files of another version are rebuilt
GENERATOR_VERSION = 1
SEED = 4  # the issue number: every salt is derived from it
COMPANIES = 1_000
PEOPLE = 2_000
CHANGED_PERCENT = 30
NEW_DIVISOR = 10  # the update file adds rows // 10 new projects
CHUNK = 500_000
DEFAULT_DIR = Path(__file__).resolve().parent / "data"

_ADJECTIVES = tuple(
    "Acme Northwind Blue Silver Granite Harbor Summit Cedar Aurora Pioneer Atlas Beacon "
    "Crescent Delta Evergreen Falcon Golden Horizon Ivory Juniper Keystone Lumen Maple Nimbus "
    "Orchid Polar Quantum Redwood Sterling Tidal Umbra Vertex Willow Xenon Yellow Zenith Coral "
    "Ember Frost Onyx".split()
)  # 40
_NOUNS = tuple(
    "Logistics Systems Dynamics Foods Energy Analytics Robotics Media Health Freight Capital "
    "Textiles Motors Labs Networks Pharma Studios Builders Mining Retail Aerospace Insurance "
    "Chemicals Software Telecom".split()
)  # 25: 40 x 25 = 1,000 distinct name stems
_SUFFIXES = tuple("GmbH Ltd Inc. AG S.A. B.V. Oy LLC".split())
_FIRST = tuple(
    "ada grace alan edsger barbara donald margaret linus guido anita ken dennis frances john "
    "radia tim katherine niklaus leslie sophie marie emil ines lars yuki omar priya chen lucia "
    "mateo".split()
)
_LAST = tuple(
    "lovelace hopper turing dijkstra liskov knuth hamilton torvalds rossum borg thompson ritchie "
    "allen backus perlman berners johnson wirth lamport wilson curie noether meyer larsen tanaka "
    "haddad patel wei garcia rossi novak kowalski nielsen jensen dubois moreau silva costa weber "
    "fischer".split()
)
_TITLES = tuple(
    "Project Manager|Account Director|CTO|Head of Operations|Consultant|Engineer|Controller|"
    "Procurement Lead".split("|")
)
_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "SEK", "JPY")
_STATUSES = ("planned", "active", "on_hold", "done", "cancelled")
_AREAS = tuple(
    "ERP|CRM|Data platform|Warehouse|Website|Mobile app|Payroll|Network|Cloud|Security|"
    "Reporting|Billing|Logistics|HR portal|Analytics|E-commerce|Intranet|Telephony|Archive|"
    "Identity".split("|")
)
_KINDS = tuple(
    "migration rollout relaunch upgrade audit integration redesign consolidation pilot "
    "hardening automation replacement".split()
)
_DELIVERABLES = tuple(
    "go-live checklist|data mapping|cut-over plan|user training|runbook|test report|"
    "design system|SLA review".split("|")
)
_EXTRAS = tuple(
    "hypercare|two site visits|a 6-week pilot|on-call support|documentation|"
    "weekly status calls".split("|")
)
_NOTES = (
    "Kick-off held; steering committee monthly",
    'Customer asked for "fixed price", see offer',
    "Waiting for PO, invoicing on milestones",
    "Risk: key user on leave in Q3",
    "Scope change approved by sponsor",
    "Travel billed at cost, max. 2 trips",
)
_EPOCH = date(2019, 1, 1)


@dataclass(frozen=True)
class Manifest:
    """What the files hold, and what imports of them must report."""

    version: int
    seed: int
    rows: int  # projects in the fresh file
    new: int  # new projects in the update file
    changed: int  # projects of the fresh file changed in the update file
    update_rows: int  # rows of the update file (rows + new)
    variant_changed: int  # rows of the update file changed in the variant
    companies: int
    people: int


@dataclass(frozen=True)
class DataFiles:
    folder: Path
    manifest: Manifest

    @property
    def companies(self) -> Path:
        return self.folder / "companies.csv"

    @property
    def people(self) -> Path:
        return self.folder / "people.csv"

    @property
    def fresh(self) -> Path:
        return self.folder / f"projects-{self.manifest.rows}.csv"

    @property
    def update(self) -> Path:
        return self.folder / f"projects-{self.manifest.rows}-update.csv"

    @property
    def variant(self) -> Path:
        return self.folder / f"projects-{self.manifest.rows}-variant.csv"


# ---- pseudo-random numbers ----------------------------------------------------------------


def mix(index: pl.Expr, salt: int) -> pl.Expr:
    """A well-mixed non-negative 32-bit integer from ``index`` and ``salt`` (Int64 math)."""
    h = (index * 2_654_435_761 + (SEED * 7_919 + salt) * 40_503 + 1_013_904_223) % 2**32
    h = ((h ^ (h // 65_536)) * 73_244_475) % 2**32
    h = ((h ^ (h // 65_536)) * 73_244_475) % 2**32
    return h ^ (h // 65_536)


def pick(values: tuple[str, ...] | pl.Series, index: pl.Expr) -> pl.Expr:
    """``values[index]`` for every row."""
    series = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return pl.lit(series).gather(index)


def _zfill(expr: pl.Expr, width: int) -> pl.Expr:
    return expr.cast(pl.String).str.zfill(width)


# ---- companies and people ---------------------------------------------------------------


def companies_frame() -> pl.DataFrame:
    i = pl.int_range(0, COMPANIES, dtype=pl.Int64)
    adjective, noun = pick(_ADJECTIVES, i % 40), pick(_NOUNS, i // 40)
    return pl.select(
        pl.concat_str(adjective, noun, pick(_SUFFIXES, mix(i, 1) % 8), separator=" ").alias("name"),
        pl.format("C-{}", _zfill(i + 1, 4)).alias("external_id"),
        pick(_CURRENCIES, mix(i, 2) % len(_CURRENCIES)).alias("default_currency"),
        pl.format('{} and {}, "key account"', noun, pick(_KINDS, mix(i, 3) % len(_KINDS))).alias(
            "description"
        ),
        (pl.lit(14, pl.Int64) + (mix(i, 4) % 4) * 15).alias("due_days"),
    )


def _domains() -> pl.Series:
    """``adjective-noun.example`` of every company, in company order."""
    i = pl.int_range(0, COMPANIES, dtype=pl.Int64)
    return pl.select(
        pl.concat_str(pick(_ADJECTIVES, i % 40), pick(_NOUNS, i // 40), separator="-")
        .str.to_lowercase()
        .add(".example")
    ).to_series()


def people_frame(companies: pl.DataFrame) -> pl.DataFrame:
    i = pl.int_range(0, PEOPLE, dtype=pl.Int64)
    first, last = pick(_FIRST, mix(i, 21) % len(_FIRST)), pick(_LAST, mix(i, 22) % len(_LAST))
    company = mix(i, 23) % COMPANIES
    return pl.select(
        pl.format("E-{}", _zfill(i + 1, 5)).alias("external_id"),
        first.str.to_titlecase().alias("first_name"),
        last.str.to_titlecase().alias("last_name"),
        pl.format("{}.{}.{}@{}", first, last, i + 1, pick(_domains(), company)).alias("email"),
        pick(_TITLES, mix(i, 24) % len(_TITLES)).alias("title"),
        pick(companies["name"], company).alias("company"),
    )


# ---- projects ------------------------------------------------------------------------------


def projects_typed(lo: int, hi: int) -> pl.DataFrame:
    """Projects ``lo`` to ``hi - 1`` as numbers and indexes (rendered by ``render``)."""
    i = pl.int_range(lo, hi, dtype=pl.Int64)
    owner = mix(i, 6) % PEOPLE
    end = 14 + mix(i, 12) % 900
    area, kind = pick(_AREAS, mix(i, 1) % len(_AREAS)), pick(_KINDS, mix(i, 2) % len(_KINDS))
    return pl.select(
        i.alias("i"),
        pl.format("{} {}, wave {}", area, kind, mix(i, 3) % 9 + 1).alias("name"),
        (mix(i, 4) % COMPANIES).alias("customer_ix"),
        (mix(i, 5) % PEOPLE).alias("contact_ix"),
        pl.when(mix(i, 7) % 100 >= 5).then(owner).alias("owner_ix"),
        (mix(i, 8) % len(_STATUSES)).alias("status_ix"),
        (500_000 + mix(i, 9) % 250_000_000).alias("cents"),
        (mix(i, 10) % len(_CURRENCIES)).alias("currency_ix"),
        (mix(i, 11) % 2_200).alias("start_day"),
        pl.when(mix(i, 13) % 100 >= 20).then(end).alias("days"),
        pl.format(
            '{} {} for customer #{}, incl. "{}", training and {}',
            area,
            kind,
            mix(i, 4) % COMPANIES + 1,
            pick(_DELIVERABLES, mix(i, 14) % len(_DELIVERABLES)),
            pick(_EXTRAS, mix(i, 15) % len(_EXTRAS)),
        ).alias("description"),
        pl.when(mix(i, 16) % 100 >= 40)
        .then(pl.format("{}; ticket #{}", pick(_NOTES, mix(i, 17) % len(_NOTES)), i + 1))
        .alias("notes"),
    )


def change(frame: pl.DataFrame, salt: int, notes: bool, limit: int | None = None) -> pl.DataFrame:
    """Change ``CHANGED_PERCENT`` % of the rows (those with ``i < limit``); add ``changed``.

    The budget of a changed row always grows, so the row always differs; the status, the
    end date (when there is one) and, with ``notes``, the notes change on some of them.
    No cell goes from a value to empty.
    """
    i = pl.col("i")
    changed = mix(i, salt) % 100 < CHANGED_PERCENT
    if limit is not None:
        changed = changed & (i < limit)
    rotate = (pl.col("status_ix") + 1 + mix(i, salt + 2) % 4) % len(_STATUSES)
    revised = pl.format("Revised {}: budget {}", mix(i, salt + 6) % 90 + 10, pl.col("cents"))
    frame = frame.with_columns(changed.alias("changed"))
    notes_change = (
        pl.when(changed & (mix(i, salt + 5) % 3 == 0)).then(revised).otherwise("notes")
        if notes
        else pl.col("notes")
    )
    return frame.with_columns(
        pl.when(changed)
        .then(pl.col("cents") + 100 + mix(i, salt + 1) % 500_000)
        .otherwise(pl.col("cents"))
        .alias("cents"),
        pl.when(changed & (mix(i, salt + 3) % 2 == 0))
        .then(rotate)
        .otherwise(pl.col("status_ix"))
        .alias("status_ix"),
        pl.when(changed & (mix(i, salt + 4) % 2 == 0))
        .then(pl.col("days") + 30)
        .otherwise(pl.col("days"))
        .alias("days"),
        notes_change.alias("notes"),
    )


def render(frame: pl.DataFrame, companies: pl.Series, emails: pl.Series) -> pl.DataFrame:
    """The projects as the CSV has them: strings in the table's columns (null = empty)."""
    start = pl.lit(_EPOCH) + pl.duration(days=pl.col("start_day"))
    cents = pl.col("cents")
    return frame.select(
        pl.format("P-{}", _zfill(pl.col("i") + 1, 7)).alias("external_id"),
        "name",
        pick(companies, pl.col("customer_ix")).alias("customer"),
        pick(emails, pl.col("contact_ix")).alias("contact"),
        pl.when(pl.col("owner_ix").is_not_null())
        .then(pick(emails, pl.col("owner_ix").fill_null(0)))
        .alias("owner"),
        pick(_STATUSES, pl.col("status_ix")).alias("status"),
        pl.format("{}.{}", cents // 100, _zfill(cents % 100, 2)).alias("budget"),
        pick(_CURRENCIES, pl.col("currency_ix")).alias("currency"),
        start.cast(pl.String).alias("start_date"),
        (start + pl.duration(days=pl.col("days"))).cast(pl.String).alias("end_date"),
        "description",
        "notes",
    )


# ---- files -----------------------------------------------------------------------------------


def generate(rows: int, folder: Path = DEFAULT_DIR, force: bool = False) -> DataFiles:
    """The files for ``rows`` projects, written unless the same version is there already."""
    if rows < NEW_DIVISOR:
        raise ValueError(f"rows must be at least {NEW_DIVISOR}")
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / f"manifest-{rows}.json"
    if not force and manifest_path.exists():
        cached = Manifest(**json.loads(manifest_path.read_text()))
        files = DataFiles(folder, cached)
        paths = (files.companies, files.people, files.fresh, files.update, files.variant)
        if cached.version == GENERATOR_VERSION and all(p.exists() for p in paths):
            return files
    companies = companies_frame()
    people = people_frame(companies)
    companies.write_csv(folder / "companies.csv")
    people.write_csv(folder / "people.csv")
    manifest = _write_projects(folder, rows, companies["name"], people["email"])
    manifest_path.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return DataFiles(folder, manifest)


def _write_projects(folder: Path, rows: int, companies: pl.Series, emails: pl.Series) -> Manifest:
    new = rows // NEW_DIVISOR
    total = rows + new
    changed = variant_changed = 0
    names = (f"projects-{rows}.csv", f"projects-{rows}-update.csv", f"projects-{rows}-variant.csv")
    with (
        open(folder / names[0], "wb") as fresh_out,
        open(folder / names[1], "wb") as update_out,
        open(folder / names[2], "wb") as variant_out,
    ):
        for lo in range(0, total, CHUNK):
            hi = min(lo + CHUNK, total)
            base = projects_typed(lo, hi)
            if lo < rows:
                _write(render(base.filter(pl.col("i") < rows), companies, emails), fresh_out)
            update = change(base, salt=101, notes=True, limit=rows)
            changed += int(update["changed"].sum())
            variant = change(update, salt=202, notes=False)
            variant_changed += int(variant["changed"].sum())
            _write(render(update, companies, emails), update_out)
            _write(render(variant, companies, emails), variant_out)
    return Manifest(
        GENERATOR_VERSION, SEED, rows, new, changed, total, variant_changed, COMPANIES, PEOPLE
    )


def _write(frame: pl.DataFrame, out: IO[bytes]) -> None:
    frame.write_csv(out, include_header=out.tell() == 0)
