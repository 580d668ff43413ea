"""The options of how to read a file, shared by ``import`` and ``tables infer`` (one
declaration, one help text each)."""

from __future__ import annotations

from typing import Annotated

import typer

FormatOpt = Annotated[
    str | None,
    typer.Option("--format", help="Force the file format: csv, tsv, jsonl, json, xml, xlsx."),
]
DelimiterOpt = Annotated[str | None, typer.Option(help="Force the CSV delimiter.")]
EncodingOpt = Annotated[
    str | None,
    typer.Option(
        help="The text encoding (e.g. cp1252, latin-1, cp1251). Default: detected; a "
        "guess is said in a warning."
    ),
]
SheetOpt = Annotated[str | None, typer.Option(help="The .xlsx sheet (default: the first).")]
HeaderOpt = Annotated[
    bool,
    typer.Option(
        "--header/--no-header",
        help="--no-header: the first line is a record; the columns are column_1, "
        "column_2… (map them with --map column_1=name).",
    ),
]
SkipLinesOpt = Annotated[
    int | None,
    typer.Option(min=0, help="Skip this many lines before the header (a title, notes)."),
]
HeaderRowOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="The line of the header (1 = the first); lines above it are skipped. A "
        "sheet's row (default: the first row about as wide as the table, warned).",
    ),
]
CommentOpt = Annotated[
    str | None,
    typer.Option(help="Skip lines starting with this character, e.g. '#'."),
]
EscapeOpt = Annotated[
    str | None,
    typer.Option(
        help="The character that escapes a quote or delimiter inside a value, e.g. '\\' "
        "(default: detected)."
    ),
]
