"""XML documents, parsed safely and streamed.

The parser never resolves entities, never loads a DTD and never touches the network:
a reference to a custom entity (``&x;``) stays in the value as that literal text, so
neither entity expansion ("billion laughs") nor external entities (file contents)
can get in (libxml2 >= 2.11 even refuses a document whose entity declarations
amplify: UnreadableFile). Predefined entities and character references are decoded.

Records are the repeated child elements of the root (the first child tag that occurs
twice; a root with one child holds one record), or the elements named
``options.record_tag`` at any depth. Elements are matched by local name, whatever
their namespace or prefix (``record_tag`` ``d:row`` or ``{urn}row`` is ``row``).
Other elements are ignored. Fields are the record's attributes and its child
elements, by local name (namespaces dropped); when an attribute and a child element
share a name, **the child element wins**. A child with children of its own gives its
XML text. A child element that occurs again in a record empty, or with the same
value, adds nothing; with another value, it makes that record an ``invalid_record``
row error naming the field and both values. A record without child
elements but with text gives one field named after the record element. Elements are
cleared as they are read, so memory stays bounded; a record that holds more than
100 elements per column allowed (``limits.columns``) raises LimitExceeded while lxml
builds it (``Tags`` counts the tags it is given).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

from lxml import etree

from loadbay.errors import RowError, UnreadableFile
from loadbay.pipeline.read.base import Batch, ReadOptions, clip
from loadbay.pipeline.read.limits import over
from loadbay.pipeline.read.records import Cell, RecordBatcher, invalid
from loadbay.pipeline.read.source import open_raw, open_utf8

Element = etree._Element
Event = Literal["start", "end"]


def read_xml(path: Path, options: ReadOptions) -> Iterator[Batch]:
    batcher = RecordBatcher(options.batch_size, limits=options.limits, source=path.name)
    try:
        tag = options.record_tag or _repeated_tag(path, options)
        if tag is not None:
            for row, element in enumerate(_records(path, options, tag), start=1):
                batch = _add(batcher, row, element)
                _release(element)
                if batch is not None:
                    yield batch
    except etree.XMLSyntaxError as exc:
        raise UnreadableFile(
            f"{path.name}: malformed XML at line {exc.lineno}: {exc.msg}",
            file=path.name,
            line=exc.lineno,
        ) from exc
    yield from batcher.finish()


def _open(path: Path, options: ReadOptions) -> Tags:
    """lxml follows the XML declaration (or BOM); a forced encoding is made UTF-8 first."""
    expanded = options.limits.expanded_bytes
    if options.encoding:
        raw: BinaryIO = open_utf8(path, options.encoding, expanded, options.count)
    else:
        raw = open_raw(path, expanded, options.count)
    return Tags(raw, ELEMENTS_PER_COLUMN * options.limits.columns, path.name)


#: elements a record (with what precedes it) may hold, per column allowed: lxml takes
#: ~120 bytes an element, and builds a record whole before it is read
ELEMENTS_PER_COLUMN = 100
#: tags lxml may have read past the record it is building (it reads 32 KiB at a time)
_READ_AHEAD = 64 * 1024


class Tags:
    """The bytes of an XML file, for lxml, with their tags counted since the last
    ``mark`` (a record read): too many raise LimitExceeded while lxml builds them."""

    def __init__(self, raw: BinaryIO, limit: int, source: str) -> None:
        self._raw = raw
        self._limit = limit
        self._source = source
        self._tags = 0

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._raw.read(size)
        self._tags += data.count(b"<") - data.count(b"</")  # elements: start tags
        if self._tags > self._limit + _READ_AHEAD:
            per = ELEMENTS_PER_COLUMN
            what = f"a record holds more than {self._limit:,} elements ({per} per column)"
            raise over(self._source, what, "columns", self._limit // per)
        return data

    def mark(self) -> None:
        self._tags = 0

    def __enter__(self) -> Tags:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()


def _events(source: Any, options: ReadOptions, events: tuple[Event, ...], tag: str | None) -> Any:
    return etree.iterparse(
        source,
        events=events,
        tag=tag,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8" if options.encoding else None,
    )


def _repeated_tag(path: Path, options: ReadOptions) -> str | None:
    """The first tag that repeats among the root's children, read from the start only."""
    depth = 0
    seen: list[str] = []
    with _open(path, options) as source:
        for event, element in _events(source, options, ("start", "end"), None):
            depth += 1 if event == "start" else -1
            if event == "end" and depth == 1:
                name = _local(element.tag)
                if name in seen:
                    return name
                seen.append(name)
                element.clear()
                source.mark()
    return seen[0] if seen else None  # no tag repeats: the first child is the one record


def _records(path: Path, options: ReadOptions, tag: str) -> Iterator[Element]:
    """Elements named ``tag``: children of the root, or at any depth for ``record_tag``."""
    anywhere = options.record_tag is not None
    tag = _local(tag).rpartition(":")[2]  # by local name: d:row and {urn}row are row
    with _open(path, options) as source:
        for _, element in _events(source, options, ("end",), f"{{*}}{tag}"):
            if anywhere:
                if next(element.iterancestors(f"{{*}}{tag}"), None) is None:
                    yield element
                    source.mark()
            else:
                parent = element.getparent()
                if parent is not None and parent.getparent() is None:
                    yield element
                    source.mark()


def _add(batcher: RecordBatcher, row: int, element: Element) -> Batch | None:
    fields: dict[str, Cell] = {_local(k): v or None for k, v in element.attrib.items()}
    seen: set[str] = set()
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # an entity reference directly in the record
        name = _local(tag)
        value = (child.text or None) if len(child) == 0 else _value(child)
        if name in seen:  # again: an empty one or the same value adds nothing
            if value is None or value == fields[name]:
                continue
            if fields[name] is not None:
                return batcher.error(_repeated(row, element, name, fields[name], value))
        seen.add(name)
        fields[name] = value
    if not seen and _text(element).strip():
        fields[_local(str(element.tag))] = _text(element)
    return batcher.add_cells(row, fields)


def _repeated(row: int, element: Element, name: str, first: Cell, then: Cell) -> RowError:
    """The row error of a record where element ``name`` has two different values."""
    raw = etree.tostring(element, encoding="unicode", with_tail=False)
    values = f"({clip(str(first))!r}, {clip(str(then))!r})"
    message = f"element <{name}> occurs more than once in the record with different values "
    return replace(invalid(row, message + values, raw), column=name)


def _value(element: Element) -> Cell:
    if any(isinstance(c.tag, str) for c in element):
        return etree.tostring(element, encoding="unicode", with_tail=False)
    return _text(element) or None


def _text(element: Element) -> str:
    """The text of a leaf, entity references kept as literal ``&name;``."""
    parts = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str):
            parts.append(child.text or "")  # an _Entity: its text is "&name;"
        parts.append(child.tail or "")
    return "".join(parts)


def _local(name: str) -> str:
    """A tag or attribute name without its namespace."""
    return name.rpartition("}")[2]


def _release(element: Element) -> None:
    """Free a finished record and the siblings before it."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
