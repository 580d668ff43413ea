"""XML as exporters write it (issue 16), each document written by lxml: namespaces and
prefixes of every kind, elements that repeat within a record."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from lxml import etree

from loadbay.pipeline.frames import ROW
from loadbay.pipeline.read import ReadOptions, read_file

DATA = "urn:example:data"
META = "urn:example:meta"


def read(path: Path, **options: object) -> tuple[pl.DataFrame, pl.DataFrame]:
    got = list(read_file(path, ReadOptions(**options)))  # type: ignore[arg-type]
    return pl.concat([b.frame for b in got], how="diagonal"), pl.concat([b.errors for b in got])


def save(tmp_path: Path, root: etree._Element, name: str = "d.xml") -> Path:
    path = tmp_path / name
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


def record(parent: etree._Element, tag: str, fields: list[tuple[str, str | None]]) -> None:
    """A record under ``parent``: child elements ``tag``/``name`` may be ``{ns}local``."""
    element = etree.SubElement(parent, tag)
    for name, value in fields:
        etree.SubElement(element, name).text = value


@pytest.mark.parametrize(
    "nsmap",
    [
        {None: DATA, "m": META},  # a default namespace
        {"d": DATA, "m": META},  # prefixed
        {"ns0": DATA, "ns1": META},  # generated prefixes
    ],
)
def test_fields_by_local_name_whatever_the_prefix(
    tmp_path: Path, nsmap: dict[str | None, str]
) -> None:
    root = etree.Element(f"{{{DATA}}}export", nsmap=nsmap)  # type: ignore[arg-type]
    record(root, f"{{{DATA}}}row", [(f"{{{DATA}}}name", "Ann"), (f"{{{META}}}city", "Oslo")])
    record(root, f"{{{DATA}}}row", [(f"{{{META}}}name", "Bob"), (f"{{{DATA}}}city", "Rome")])
    frame, errors = read(save(tmp_path, root))
    assert frame.rows() == [(1, "Ann", "Oslo"), (2, "Bob", "Rome")]
    assert frame.columns == [ROW, "name", "city"] and errors.height == 0


def test_records_whose_prefix_changes_are_one_kind(tmp_path: Path) -> None:
    """Two prefixes for the same namespace (exporters that declare it again)."""
    content = (
        f'<a:rows xmlns:a="{DATA}"><a:row><a:n>1</a:n></a:row>'
        f'<b:row xmlns:b="{DATA}"><b:n>2</b:n></b:row><row><n>3</n></row></a:rows>'
    )
    path = tmp_path / "d.xml"
    path.write_text(content)
    frame, _ = read(path)
    assert frame.rows() == [(1, "1"), (2, "2"), (3, "3")]


@pytest.mark.parametrize("tag", ["row", "d:row", f"{{{DATA}}}row"])
def test_record_tag_by_local_name(tmp_path: Path, tag: str) -> None:
    root = etree.Element(f"{{{DATA}}}export", nsmap={"d": DATA})
    body = etree.SubElement(root, f"{{{DATA}}}body")
    record(body, f"{{{DATA}}}row", [(f"{{{DATA}}}n", "1")])
    record(body, f"{{{DATA}}}row", [(f"{{{DATA}}}n", "2")])
    frame, _ = read(save(tmp_path, root), record_tag=tag)
    assert frame.rows() == [(1, "1"), (2, "2")]


def test_an_element_repeated_empty_keeps_the_record(tmp_path: Path) -> None:
    root = etree.Element("people")
    record(root, "person", [("name", "Ann"), ("phone", "555"), ("phone", None)])
    record(root, "person", [("name", "Bob"), ("phone", None), ("phone", None)])
    record(root, "person", [("name", None), ("name", "Cy"), ("phone", "1"), ("phone", "1")])
    frame, errors = read(save(tmp_path, root))
    assert errors.height == 0
    assert frame.rows() == [(1, "Ann", "555"), (2, "Bob", None), (3, "Cy", "1")]


def test_an_element_repeated_with_different_values_is_a_row_error(tmp_path: Path) -> None:
    root = etree.Element("people", nsmap={"m": META})
    record(root, "person", [("name", "Ann"), ("phone", "555"), ("phone", "556")])
    record(root, "person", [("name", "Bob"), ("phone", "1")])
    record(root, "person", [("name", "Cy"), (f"{{{META}}}name", "Cyril")])
    frame, errors = read(save(tmp_path, root))
    assert frame.rows() == [(2, "Bob", "1")]
    assert errors.select("row", "column", "code").rows() == [
        (1, "phone", "invalid_record"),
        (3, "name", "invalid_record"),
    ]
    assert errors["message"][0] == (
        "element <phone> occurs more than once in the record with different values ('555', '556')"
    )
    assert "><name>Ann</name><phone>555</phone><phone>556</phone></person>" in errors["value"][0]
