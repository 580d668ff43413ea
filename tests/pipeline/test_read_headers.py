"""Header names: identifier() gives names the schema accepts; dedupe() keeps repeats apart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadbay.pipeline.read.headers import dedupe, identifier
from loadbay.schema.model import check_identifier


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("amount", "amount"),
        ("First Name", "first_name"),
        ("E-Mail", "e_mail"),
        ("Prénom", "prenom"),
        ("  Total (EUR)  ", "total_eur"),
        ("2024 Sales", "c_2024_sales"),
        ("_id", "id"),
        ("loadbay_x", "c_loadbay_x"),
        ("Straße", "strasse"),
    ],
)
def test_identifier_examples(name: str, expected: str) -> None:
    assert identifier(name) == expected


def test_punctuation_only_and_other_scripts_get_a_stable_hashed_name() -> None:
    names = ["%", "#", "Имя", "---"]
    got = [identifier(n) for n in names]
    assert all(g.startswith("c_") and len(g) == 10 for g in got)
    assert len(set(got)) == len(got)
    assert got == [identifier(n) for n in names]  # deterministic


def test_long_names_are_cut_but_kept_apart() -> None:
    a = "a" * 70 + " one"
    b = "a" * 70 + " two"
    assert len(identifier(a)) <= 63
    assert identifier(a) != identifier(b)
    assert identifier(a).startswith("a" * 50)
    assert identifier("x" * 63) == "x" * 63


@given(st.text(max_size=120))
def test_property_every_name_becomes_a_valid_identifier(name: str) -> None:
    result = identifier(name)
    assert check_identifier(result) == result
    assert identifier(name) == result


def test_dedupe_keeps_repeats_apart_with_a_warning() -> None:
    names, warnings = dedupe(["id", "amount", "note", "amount", "amount"])
    assert names == ["id", "amount", "note", "amount_2", "amount_3"]
    assert warnings == [
        "the header repeats the column name 'amount' (columns 2, 4, 5): "
        "read as 'amount', 'amount_2', 'amount_3'"
    ]


def test_dedupe_skips_names_the_header_already_has() -> None:
    names, warnings = dedupe(["a", "a", "a_2"])
    assert names == ["a", "a_3", "a_2"]
    assert len(warnings) == 1


def test_dedupe_without_repeats() -> None:
    assert dedupe(["a", "b"]) == (["a", "b"], [])


def test_dedupe_keeps_identifiers_valid_at_the_length_limit() -> None:
    long = "x" * 63
    names, _ = dedupe([long, long])
    assert names[1] != long
    assert check_identifier(names[1]) == names[1]


@given(st.lists(st.sampled_from(["a", "a_2", "b", "a_3", "c"]), max_size=8))
def test_property_dedupe_is_unique_and_keeps_first_occurrences(names: list[str]) -> None:
    out, _ = dedupe(names)
    assert len(set(out)) == len(out) == len(names)
    for i, name in enumerate(names):
        if name not in names[:i]:
            assert out[i] == name
