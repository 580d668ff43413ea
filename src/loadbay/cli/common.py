"""What every command shares: the consoles, option types, errors as exit codes.

Whatever stops a command is one line on stderr (``--json``: one JSON object on stdout)
and an exit code, never a traceback (``LOADBAY_DEBUG=1`` shows it): a loadbay error as
it is, any other exception translated by ``unexpected``, Ctrl-C exit 130.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.exceptions import TyperException

from loadbay.config import debug_enabled
from loadbay.errors import (
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EncodingError,
    InternalError,
    Interrupted,
    LoadbayError,
    OutOfMemory,
    StoreError,
    SystemFailure,
    exit_code_for,
    speak,
)

# no markup: file names, cells and messages are shown as they are ("[/x].csv")
out = Console(markup=False, highlight=False)
err = Console(stderr=True, markup=False, highlight=False)
#: the longest message shown (a driver's error can quote a whole statement)
_MAX_MESSAGE = 2000

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


def one_line(text: str) -> str:
    """``text`` on one line: every run of whitespace (newlines too) one space."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= _MAX_MESSAGE else flat[: _MAX_MESSAGE - 1] + "…"


def show_error(code: str, message: str) -> None:
    """``error (code): message`` on stderr, on one line however long."""
    line = Text.assemble(("error", "bold red"), f" ({code}): {one_line(speak(message, False))}")
    err.print(line, soft_wrap=True)


def fatal(exc: LoadbayError, as_json: bool, exit_code: int | None = None) -> NoReturn:
    """Print the error (one JSON object with ``--json``) and exit with its code."""
    if as_json:
        error = {"code": exc.code, "message": speak(exc.message, False), **_jsonable(exc.details)}
        print(json.dumps({"error": error}))
    else:
        show_error(exc.code, exc.message)
        conflicts = exc.details.get("conflicts")
        for item in conflicts[:50] if isinstance(conflicts, list) else []:
            err.print(f"  {item['table']} id {item['id']}: {item['reason']}", soft_wrap=True)
    raise typer.Exit(exit_code_for(exc) if exit_code is None else exit_code)


def unexpected(exc: BaseException) -> LoadbayError:
    """An exception that is not a loadbay error, as one: what failed, in one line."""
    if isinstance(exc, LoadbayError):
        return exc
    if isinstance(exc, MemoryError):
        return OutOfMemory("loadbay ran out of memory (a file too big for this machine?)")
    # a command that never loaded sqlalchemy (start-up is lazy) raised none of its errors
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        from loadbay.service.failures import database_error  # translated in store/driver

        return database_error(exc)
    if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
        return StoreError(f"the database failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, UnicodeError):
        return EncodingError(f"text not in the expected encoding: {exc}")
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return SystemFailure(f"{exc.strerror or type(exc).__name__}{where}")
    return InternalError(
        f"internal error: {type(exc).__name__}: {exc} (LOADBAY_DEBUG=1 shows where)"
    )


def stopped(exc: BaseException, as_json: bool) -> NoReturn:
    """End the command that ``exc`` stopped: its one-line error and exit code."""
    if isinstance(exc, BrokenPipeError):  # stdout was closed (``| head``): nothing to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(EXIT_FATAL)
    if isinstance(exc, KeyboardInterrupt):
        fatal(Interrupted("interrupted (Ctrl-C)"), as_json, EXIT_INTERRUPTED)
    fatal(unexpected(exc), as_json)


@contextmanager
def fatal_errors(as_json: bool = False) -> Iterator[None]:
    """Turn whatever is raised inside into its one-line message and exit code (with
    ``LOADBAY_DEBUG=1``, an exception that is not a loadbay error goes through)."""
    try:
        yield
    except LoadbayError as exc:
        fatal(exc, as_json)
    except (typer.Exit, typer.Abort, TyperException):
        raise  # typer's own: an exit code, a usage error
    except BaseException as exc:
        if passes(exc):
            raise
        stopped(exc, as_json)


def passes(exc: BaseException) -> bool:
    """Whether ``exc`` goes through as it is: an exit, or anything with LOADBAY_DEBUG=1."""
    return isinstance(exc, (SystemExit, GeneratorExit)) or debug_enabled()


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
