"""The server commands: ``serve``, ``worker`` and ``tokens`` (create, list, revoke).

They act on this machine's database and queue only, whatever ``LOADBAY_URL`` says.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from loadbay.cli import app
from loadbay.cli.backend import local_context
from loadbay.cli.common import JsonOpt, SchemaOpt, err, fatal_errors
from loadbay.cli.render import show_tokens
from loadbay.config import Settings

tokens_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    worker: Annotated[
        bool,
        typer.Option(help="Run import workers, as child processes (--no-worker: API only)."),
    ] = True,
) -> None:
    """Serve the HTTP API (docs at /docs) and run imports; sets up a fresh install."""
    from loadbay import server

    with fatal_errors():
        server.serve(Settings.from_env(), host, port, sys.stdout, with_workers=worker)


@app.command()
def worker(
    workers: Annotated[
        int | None, typer.Option(help="Worker threads (default: $LOADBAY_WORKERS or 2).")
    ] = None,
) -> None:
    """Run import workers only (PostgreSQL + LOADBAY_QUEUE_URL deployments); any number."""
    from loadbay import server

    settings = Settings.from_env()
    with fatal_errors():
        server.worker(settings, workers or settings.workers)


@app.command()
def migrate(schema: SchemaOpt = None) -> None:
    """Bring the database to this loadbay's schema: numbered steps for loadbay's own
    tables, then the data tables to the schema file (new tables, columns and indexes).
    Safe to run again, and beside a running server (serve and worker also run it at
    start, under a lock). Prints each change, or that the database is current."""
    from loadbay.service.context import migrate as run

    with fatal_errors():
        done = run(Settings.from_env(), schema)
    for line in done:
        print(line)
    if not done:
        err.print("the database is current", highlight=False)


@tokens_app.command("create")
def tokens_create(
    tenant: Annotated[str, typer.Option(help="The tenant (created if new).")],
    scope: Annotated[str, typer.Option(help="read, write or admin.")],
    name: Annotated[str | None, typer.Option(help="A label for the token.")] = None,
) -> None:
    """Make a token and print it, alone, once (only its hash is kept)."""
    from loadbay.service import auth

    with local_context() as ctx:
        _, secret = auth.create_token(ctx, tenant, scope, name)
    print(secret)


@tokens_app.command("list")
def tokens_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's tokens.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List tokens (never their secrets)."""
    from loadbay.client_models import Token
    from loadbay.service import auth
    from loadbay.service.views import token_view

    with local_context(as_json) as ctx:
        found = [Token.of(token_view(t)) for t in auth.list_tokens(ctx, tenant)]
    show_tokens(found, as_json)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(help="The token's id (tok_…).")]) -> None:
    """Revoke a token: it is refused from now on."""
    from loadbay.service import auth

    with local_context() as ctx:
        auth.revoke_token(ctx, token_id)
    err.print(f"token {token_id} revoked", highlight=False)
