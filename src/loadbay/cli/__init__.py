"""The ``loadbay`` command line: thin commands over the service layer, or a remote server.

Exit codes: 0 every row applied (or a clean dry run), 3 finished with row errors,
1 fatal error (unreadable file, unknown table, bad option, conflict), 2 usage.

``app`` is made here; importing the command modules below registers their commands:
``imports`` (import, imports, revert, tables, export) and ``server`` (serve, worker,
tokens). ``backend`` picks the local service or a remote server, ``render`` prints.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="loadbay: validate, load, report and revert bulk imports into SQLite or PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    app()


from loadbay.cli import imports, server  # noqa: E402  (registers the commands on app)

__all__ = ["app", "imports", "main", "server"]
