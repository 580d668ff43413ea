"""XML documents, parsed safely and streamed.

The parser never resolves entities, never loads a DTD and never touches the network:
a reference to a custom entity (``&x;``) stays in the value as that literal text, so
neither entity expansion ("billion laughs") nor external entities (file contents)
can get in. Predefined entities and character references are decoded as usual.

Records are the repeated child elements of the root (the first child tag that occurs
twice; a root with one child holds one record), or the elements named
``options.record_tag`` at any depth. Other elements are ignored. Fields are the
record's attributes and its child elements, by local name (namespaces dropped); when
an attribute and a child element share a name, **the child element wins**. A child
with children of its own gives its XML text. A child element that occurs twice in a
record makes that record an ``invalid_record`` row error. A record without child
elements but with text gives one field named after the record element. Elements are
cleared as they are read, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from loadbay.errors import UnreadableFile
from loadbay.pipeline.read.base import Batch, ReadOptions
from loadbay.pipeline.read.records import Cell, RecordBatcher, invalid
from loadbay.pipeline.read.source import open_raw, open_utf8

Element = etree._Element


def read_xml(path: Path, options: ReadOptions) -> Iterator[Batch]:
    batcher = RecordBatcher(options.batch_size)
    # lxml follows the XML declaration (or BOM); a forced encoding is transcoded to UTF-8
    with open_utf8(path, options.encoding) if options.encoding else open_raw(path) as raw:
        try:
            for row, element in enumerate(_records(raw, options), start=1):
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


def _parser_events(raw: Any, options: ReadOptions) -> Any:
    return etree.iterparse(
        raw,
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        encoding="utf-8" if options.encoding else None,
    )


def _records(raw: Any, options: ReadOptions) -> Iterator[Element]:
    if options.record_tag:
        yield from _tagged(_parser_events(raw, options), options.record_tag)
    else:
        yield from _repeated(_parser_events(raw, options))


def _tagged(events: Any, tag: str) -> Iterator[Element]:
    """Elements named ``tag`` at any depth, not nested in another such element."""
    inside = 0
    for event, element in events:
        if _name(element) != tag:
            continue
        if event == "start":
            inside += 1
        else:
            inside -= 1
            if inside == 0:
                yield element


def _repeated(events: Any) -> Iterator[Element]:
    """The children of the root with the first tag that repeats."""
    depth = 0
    tag: str | None = None
    pending: list[Element] = []
    for event, element in events:
        depth += 1 if event == "start" else -1
        if event == "start" or depth != 1:
            continue
        name = _name(element)
        if tag is None and any(_name(p) == name for p in pending):
            tag = name
            yield from (p for p in pending if _name(p) == tag)
            pending = []
        elif tag is None:
            pending.append(element)
            continue
        if name == tag:
            yield element
        else:
            _release(element)
    if tag is None and pending:
        yield pending[0]


def _add(batcher: RecordBatcher, row: int, element: Element) -> Batch | None:
    fields: dict[str, Cell] = {_local(k): v or None for k, v in element.attrib.items()}
    seen: set[str] = set()
    for child in element:
        if not isinstance(child.tag, str):
            continue  # an entity reference directly in the record
        name = _name(child)
        if name in seen:
            raw = etree.tostring(element, encoding="unicode", with_tail=False)
            message = f"element <{name}> occurs more than once in the record"
            return batcher.error(invalid(row, message, raw))
        seen.add(name)
        fields[name] = _value(child)
    if not seen and _text(element).strip():
        fields[_name(element)] = _text(element)
    return batcher.add_cells(row, fields)


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


def _name(element: Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _release(element: Element) -> None:
    """Free a finished record and the siblings before it."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
