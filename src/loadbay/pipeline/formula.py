"""Formula neutralisation of text cells, both ways: written by the report, undone by map.

A spreadsheet runs a cell that starts with ``=`` ``+`` ``-`` ``@``, a tab or a carriage
return as a formula (CSV injection). The error report writes such a cell with a leading
apostrophe, as a spreadsheet shows text typed as ``'=…``; every file loadbay reads takes
that apostrophe off again (``map.apply_map``), so a report fixed and imported again
gives the values of the original file.

* A number is not a formula and is written as it is: an optional sign, then digits with
  ``.`` or ``,`` between them (a decimal comma, thousands separators), then an optional
  exponent: ``-5``, ``+3.5``, ``-.5``, ``-1e3``, ``-1,5``, ``-1.234,56``. Nothing made of
  those characters can call a function or refer to a cell (``-5-3`` is neutralised).
* Reading, a cell that is one or more apostrophes and then one of those characters
  loses its first apostrophe; like a spreadsheet, loadbay imports ``'=x`` from any file
  as ``=x`` and ``'-5`` as ``-5``. A cell that begins with an apostrophe and such a
  character gets one more apostrophe when written, so ``'=x`` itself survives the round
  trip (written ``''=x``, read back as ``'=x``).

All three are polars expressions over whole columns; ``neutralised_text`` is the first
for one text (the export of a table, written row by row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

_STARTS = r"=+\-@\t\r"
#: a cell a spreadsheet could run, behind any apostrophes already there
_RUNNABLE = rf"^'*[{_STARTS}]"
#: a number: written as it is although it may start with + or -
_NUMBER = r"^[+-]?(?:[0-9]|[.,][0-9])[0-9.,]*(?:[eE][+-]?[0-9]+)?$"
#: a neutralised cell: its first apostrophe, and what follows it (kept)
_NEUTRALISED = rf"^'('*[{_STARTS}])"


def neutralised(cell: pl.Expr) -> pl.Expr:
    """The cell with an apostrophe in front when a spreadsheet could run it (null stays)."""
    harmless = ~cell.str.contains(_RUNNABLE) | cell.str.contains(_NUMBER)
    # ``then(cell)`` first: the result keeps the cell's name
    return pl.when(harmless | cell.is_null()).then(cell).otherwise(pl.concat_str(pl.lit("'"), cell))


def neutralised_text(cell: str) -> str:
    """One text as ``neutralised`` writes it in a column."""
    runnable = re.match(_RUNNABLE, cell) and not re.fullmatch(_NUMBER, cell)
    return "'" + cell if runnable else cell


def restored(cell: pl.Expr) -> pl.Expr:
    """The cell with the apostrophe of a neutralised one taken off."""
    return cell.str.replace(_NEUTRALISED, "$1")


def quoted_columns(frame: pl.DataFrame, columns: Iterable[str]) -> set[str]:
    """The ``columns`` of ``frame`` with a cell that begins with an apostrophe: the only
    ones ``restored`` can change. A quick test (few files have any such cell, and
    rewriting a column costs ~15 times the test): a cell begins with ``'`` (0x27) when it
    sorts between ``'`` and ``(`` (0x28), which polars tells from the prefix a string
    view keeps inline, without reading the string."""
    names = list(dict.fromkeys(columns))
    if not names:
        return set()
    found = frame.select([_quoted(pl.col(c).cast(pl.String)).any() for c in names])
    return {name for name, hit in zip(names, found.row(0), strict=True) if hit}


def _quoted(cell: pl.Expr) -> pl.Expr:
    return (cell >= "'") & (cell < "(")
