"""JSON Lines, JSON documents in their three shapes, and inline records."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from loadbay.errors import InvalidInput, UnreadableFile
from loadbay.pipeline.frames import ERROR_SCHEMA, REF, ROW
from loadbay.pipeline.read import Batch, ReadOptions, headers, read_file, read_records


def batches(path: Path, **options: object) -> list[Batch]:
    return list(read_file(path, ReadOptions(**options)))  # type: ignore[arg-type]


def read(path: Path, **options: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    got = batches(path, **options)
    frame = pl.concat([b.frame for b in got], how="diagonal")
    return frame, pl.concat([b.errors for b in got])


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# --- JSON Lines -------------------------------------------------------------------------


def test_jsonl_records(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl", '{"id": 1, "name": "Ann"}\n{"id": 2, "city": "Oslo"}\n')
    frame, errors = read(path)
    assert frame.columns == [ROW, "id", "name", "city"]
    assert frame.rows() == [(1, "1", "Ann", None), (2, "2", None, "Oslo")]
    assert errors.height == 0
    assert frame.schema[ROW] == pl.Int64


def test_jsonl_bad_lines_are_row_errors_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    content = '{"a": 1}\n\n   \nnot json\n[1, 2]\n{"a": 2}\r\n"text"\n'
    frame, errors = read(write(tmp_path, "d.jsonl", content))
    assert frame.rows() == [(1, "1"), (4, "2")]
    assert errors["row"].to_list() == [2, 3, 5]
    assert set(errors["code"]) == {"invalid_record"}
    assert errors["value"].to_list() == ["not json", "[1, 2]", '"text"']
    assert "not valid JSON" in errors["message"][0]
    assert errors["message"][1] == "record is an array, not an object"
    assert dict(errors.schema) == ERROR_SCHEMA


def test_jsonl_batches(tmp_path: Path) -> None:
    content = "".join(json.dumps({"n": i}) + "\n" for i in range(1, 8))
    got = batches(write(tmp_path, "d.ndjson", content), batch_size=3)
    assert [b.frame[ROW].to_list() for b in got] == [[1, 2, 3], [4, 5, 6], [7]]


def test_jsonl_columns_grow_but_never_shrink(tmp_path: Path) -> None:
    content = '{"a": 1}\n{"b": 2}\n{"c": 3}\n'
    got = batches(write(tmp_path, "d.jsonl", content), batch_size=1)
    assert [b.fields for b in got] == [["a"], ["a", "b"], ["a", "b", "c"]]


def test_jsonl_gzip(tmp_path: Path) -> None:
    path = write(tmp_path, "d.jsonl.gz", gzip.compress(b'{"a": "x"}\n{"a": "y"}\n'))
    frame, _ = read(path)
    assert frame.rows() == [(1, "x"), (2, "y")]


# --- values ----------------------------------------------------------------------------


def test_values_become_text(tmp_path: Path) -> None:
    record = (
        '{"int": 12, "dec": 1.50, "exp": 1e3, "neg": -0.0001, "t": true, "f": false,'
        ' "null": null, "empty": "", "space": "  x ", "obj": {"k": [1, 2.50, null]},'
        ' "arr": ["a", {"b": true}], "uni": "Zoë \\u00e9"}'
    )
    frame, _ = read(write(tmp_path, "d.json", f"[{record}]"))
    assert frame.row(0, named=True) == {
        ROW: 1,
        "int": "12",
        "dec": "1.50",
        "exp": "1000",
        "neg": "-0.0001",
        "t": "true",
        "f": "false",
        "null": None,
        "empty": None,
        "space": "  x ",
        "obj": '{"k":[1,2.50,null]}',
        "arr": '["a",{"b":true}]',
        "uni": "Zoë é",
    }


def test_jsonl_values_match_json_values(tmp_path: Path) -> None:
    record = '{"dec": 1.50, "big": 123456789012345678901234567890, "nested": {"x": 0.10}}'
    jsonl, _ = read(write(tmp_path, "d.jsonl", record + "\n" + record + "\n"))
    doc, _ = read(write(tmp_path, "d.json", f"[{record}]"))
    assert jsonl.row(0) == doc.row(0)
    assert doc.row(0, named=True)["big"] == "123456789012345678901234567890"


# --- JSON shapes -----------------------------------------------------------------------


def test_array_of_objects_with_a_bad_element(tmp_path: Path) -> None:
    frame, errors = read(write(tmp_path, "d.json", '[{"a": 1}, 5, null, {"a": 2}]'))
    assert frame.rows() == [(1, "1"), (4, "2")]
    assert errors.select("row", "code", "value").rows() == [
        (2, "invalid_record", "5"),
        (3, "invalid_record", "null"),
    ]


def test_object_of_objects_keyed_by_reference(tmp_path: Path) -> None:
    content = '{"c-1": {"name": "Ann"}, "c-2": {"name": "Bob"}, "c-3": "oops"}'
    got = batches(write(tmp_path, "d.json", content))
    frame = pl.concat([b.frame for b in got])
    assert frame.columns == [ROW, REF, "name"]
    assert frame.rows() == [(1, "c-1", "Ann"), (2, "c-2", "Bob")]
    errors = pl.concat([b.errors for b in got])
    assert errors.select("row", "message").rows() == [
        (3, "record 'c-3' is a string, not an object")
    ]
    assert all(b.table is None for b in got)


@pytest.mark.parametrize("shape", ["array", "refs", "tables"])
def test_the_shape_is_found_past_long_whitespace_and_keys(tmp_path: Path, shape: str) -> None:
    """The shape is read from the first events, over as many small reads as they take."""
    key = "k" * 5000
    value = {"array": [{"name": "Ann"}], "refs": {key: {"name": "Ann"}}}.get(shape)
    document = value if value is not None else {key: [{"name": "Ann"}]}
    got = batches(write(tmp_path, "d.json", " \n" * 3000 + json.dumps(document)))
    assert [b.frame["name"].to_list() for b in got] == [["Ann"]]
    assert got[0].table == (key if shape == "tables" else None)


def test_object_of_arrays_keyed_by_table(tmp_path: Path) -> None:
    content = json.dumps(
        {
            "companies": [{"name": f"Co{i}"} for i in range(1, 6)],
            "people": [{"name": "Ann", "company": "Co1"}, 7, {"name": "Bob"}],
        }
    )
    got = batches(write(tmp_path, "d.json", content), batch_size=2)
    assert [(b.table, b.frame[ROW].to_list()) for b in got] == [
        ("companies", [1, 2]),
        ("companies", [3, 4]),
        ("companies", [5]),
        ("people", [1, 3]),
    ]
    people = got[-1]
    assert people.fields == ["name", "company"]
    assert people.errors.select("row", "code").rows() == [(2, "invalid_record")]


def test_multi_table_with_an_empty_table(tmp_path: Path) -> None:
    got = batches(write(tmp_path, "d.json", '{"a": [], "b": [{"x": "1"}]}'))
    assert [(b.table, b.frame.height) for b in got] == [("a", 0), ("b", 1)]


def test_multi_table_value_that_is_not_an_array(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="value of 'b' is not an array"):
        batches(write(tmp_path, "d.json", '{"a": [{"x": 1}], "b": {"x": 2}}'))


@pytest.mark.parametrize("content", ["[]", "{}", " [ ] "])
def test_empty_document_gives_one_empty_batch(tmp_path: Path, content: str) -> None:
    got = batches(write(tmp_path, "d.json", content))
    assert len(got) == 1 and got[0].frame.height == 0 and got[0].errors.height == 0


@pytest.mark.parametrize("content", ["42", '"text"', '{"a": 1, "b": 2}', "null"])
def test_documents_of_no_known_shape(tmp_path: Path, content: str) -> None:
    with pytest.raises(UnreadableFile, match="expected an array of records"):
        batches(write(tmp_path, "d.json", content))


@pytest.mark.parametrize("content", ['[{"a": 1}, {"a": ', '[{"a": 1} {"b": 2}]', ""])
def test_malformed_json_is_unreadable(tmp_path: Path, content: str) -> None:
    with pytest.raises(UnreadableFile, match=r"d\.json"):
        batches(write(tmp_path, "d.json", content), format="json")


def test_json_in_utf16_and_cp1252(tmp_path: Path) -> None:
    doc = '[{"name": "Café"}]'
    for i, data in enumerate([doc.encode("utf-16"), doc.encode("cp1252")]):
        frame, _ = read(write(tmp_path, f"d{i}.json", data))
        assert frame.rows() == [(1, "Café")]


def test_large_array_streams_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"n": i, "s": "x" * 20} for i in range(30_000)]))
    got = batches(path, batch_size=10_000)
    assert [b.frame.height for b in got] == [10_000, 10_000, 10_000]
    assert got[-1].frame[ROW][-1] == 30_000


def test_gzip_json(tmp_path: Path) -> None:
    path = write(tmp_path, "d.json.gz", gzip.compress(b'{"t": [{"a": 1}]}'))
    assert [(b.table, b.frame.rows()) for b in batches(path)] == [("t", [(1, "1")])]


def test_headers_of_json(tmp_path: Path) -> None:
    path = write(tmp_path, "d.json", '[{"b": 1, "a": 2}, {"c": 3}]')
    assert headers(path) == ["b", "a", "c"]


def test_reserved_field_name_is_a_row_error(tmp_path: Path) -> None:
    frame, errors = read(write(tmp_path, "d.json", '[{"__row__": 1}, {"a": 1}]'))
    assert frame.rows() == [(2, "1")]
    assert errors.select("row", "code").rows() == [(1, "invalid_record")]


# --- inline records ------------------------------------------------------------------


def test_read_records_list() -> None:
    got = list(read_records([{"a": 1.5, "b": True}, {"a": Decimal("2.50")}, "x"], table="t"))
    assert len(got) == 1 and got[0].table == "t"
    assert got[0].frame.rows() == [(1, "1.5", "true"), (2, "2.50", None)]
    assert got[0].errors.select("row", "code").rows() == [(3, "invalid_record")]


def test_read_records_keyed_by_reference() -> None:
    got = list(read_records({"k1": {"a": 1}, "k2": {"a": None}}, table="t"))
    assert got[0].frame.columns == [ROW, REF, "a"]
    assert got[0].frame.rows() == [(1, "k1", "1"), (2, "k2", None)]
    assert got[0].table == "t"


def test_read_records_keyed_by_table() -> None:
    got = list(read_records({"companies": [{"n": "A"}], "people": [{"n": "P"}]}, batch_size=1))
    assert [(b.table, b.frame.rows()) for b in got] == [
        ("companies", [(1, "A")]),
        ("people", [(1, "P")]),
    ]


def test_read_records_batches_and_empty() -> None:
    got = list(read_records([{"a": i} for i in range(5)], batch_size=2))
    assert [b.frame.height for b in got] == [2, 2, 1]
    assert [b.frame.height for b in read_records([])] == [0]
    assert [b.frame.height for b in read_records({})] == [0]


@pytest.mark.parametrize("records", [{"a": 1}, {"t": [{"a": 1}], "u": 5}, "text"])
def test_read_records_of_no_known_shape(records: object) -> None:
    with pytest.raises(InvalidInput, match="records"):
        list(read_records(records))  # type: ignore[arg-type]
