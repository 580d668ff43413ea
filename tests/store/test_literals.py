"""The SQL spellings loadbay keeps in one place (issue 15): a text literal, and the words of
a boolean, read alike by the records filters and SQLite's literals on both databases."""

from __future__ import annotations

import pytest

from loadbay.errors import InvalidOption
from loadbay.schema.model import BOOLEAN_WORDS, Column, ColumnType
from loadbay.store.dialect import Sqlite, text_literal
from loadbay.store.engine import make_engine
from loadbay.store.records_sql import filter_value

TEXTS = ["", "it's", "''", "a\\b", "O'Brien'); DROP TABLE x; --", "Prénom ☃", "two\nlines\t"]


def test_a_text_literal_reads_back_as_its_value(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            for value in TEXTS:
                assert conn.exec_driver_sql(f"SELECT {text_literal(value)}").scalar_one() == value
    finally:
        engine.dispose()


def test_every_boolean_word_means_the_same_to_the_filters_and_the_literals(
    db_url: str,
) -> None:
    flag = Column(name="flag", type=ColumnType.BOOLEAN)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            for word, meaning in BOOLEAN_WORDS.items():
                for spelled in (word, word.upper(), f" {word} "):
                    assert filter_value(conn, flag, spelled) is meaning
                    assert Sqlite().literal(flag, spelled) == ("1" if meaning else "0")
            with pytest.raises(InvalidOption, match="not a valid boolean"):
                filter_value(conn, flag, "maybe")
    finally:
        engine.dispose()
