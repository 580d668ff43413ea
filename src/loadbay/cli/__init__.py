"""The ``loadbay`` command line: thin commands over the service layer, or a remote server.

Exit codes: 0 every row applied (or a clean dry run), 3 finished with row errors,
1 fatal error (unreadable file, unknown table, bad option, conflict), 2 usage.

``app`` is made here; importing the command modules below registers their commands:
``imports`` (import, imports, revert, export), ``tables`` (tables, tables infer),
``server`` (serve, worker, tokens) and ``templates``. ``backend`` picks the local service
or a remote server, ``render`` prints.
"""

from __future__ import annotations

import logging
import sys

import typer

app = typer.Typer(
    help="loadbay: validate, load, report and revert bulk imports into SQLite or PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Run the command line; what escaped a command's own handling (its output, say) is
    still one line and an exit code, not a traceback."""
    if not debug_enabled():
        # serve and worker set up logging; other commands report what went wrong
        # themselves, and loadbay's log records (tracebacks among them) are not shown
        logging.lastResort = logging.NullHandler()
    try:
        app()
    except BaseException as exc:
        if passes(exc):
            raise
        try:
            stopped(exc, "--json" in sys.argv[1:])
        except typer.Exit as done:
            sys.exit(done.exit_code)


from loadbay.cli import imports, server, tables, templates  # noqa: E402  (registers the commands)
from loadbay.cli.common import passes, stopped  # noqa: E402
from loadbay.config import debug_enabled  # noqa: E402

__all__ = ["app", "imports", "main", "server", "tables", "templates"]
