"""What every command shares: the consoles, option types, errors as exit codes, progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from loadbay.errors import LoadbayError, exit_code_for
from loadbay.service.ingest import Progress as ProgressFn

out = Console()
err = Console(stderr=True)

SchemaOpt = Annotated[
    Path | None,
    typer.Option(
        "--schema",
        help="A YAML or JSON schema file with custom tables (default: $LOADBAY_SCHEMA).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Work against this loadbay server instead of the local database "
        "(default: $LOADBAY_URL).",
        show_default=False,
    ),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="The remote server's bearer token (default: $LOADBAY_TOKEN).",
        show_default=False,
    ),
]


def fatal(exc: LoadbayError, as_json: bool) -> None:
    """Print the error (one JSON object with ``--json``) and exit with its code."""
    if as_json:
        error = {"code": exc.code, "message": exc.message, **_jsonable(exc.details)}
        print(json.dumps({"error": error}))
    else:
        err.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
        conflicts = exc.details.get("conflicts")
        for item in conflicts[:50] if isinstance(conflicts, list) else []:
            err.print(f"  {item['table']} id {item['id']}: {item['reason']}", highlight=False)
    raise typer.Exit(exit_code_for(exc))


@contextmanager
def fatal_errors(as_json: bool = False) -> Iterator[None]:
    """Turn a loadbay error raised inside into its message and exit code."""
    try:
        yield
    except LoadbayError as exc:
        fatal(exc, as_json)


def _jsonable(details: dict[str, object]) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(json.dumps(details, default=str))
    return loaded


def pairs(values: list[str], what: str) -> dict[str, str]:
    """``NAME=VALUE`` options as a dict (``--map`` names and values are stripped)."""
    found: dict[str, str] = {}
    for item in values:
        left, sep, right = item.partition("=")
        if not sep or not left.strip():
            raise typer.BadParameter(f"{what} {item!r} is not NAME=VALUE")
        found[left.strip()] = right.strip() if what == "--map" else right
    return found


@contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressFn | None]:
    """A progress callback drawing on stderr, or None when not shown."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(
                    "reading and validating" if phase == "read" else "writing", total=total
                )
            bar.update(tasks[phase], completed=done, total=total)

        yield report
