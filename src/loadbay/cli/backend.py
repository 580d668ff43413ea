"""Where the commands send their calls: the local service, or a remote server.

``open_backend`` picks one from ``--url``/``--token`` or ``LOADBAY_URL``/``LOADBAY_TOKEN``
and turns a loadbay error into its message and exit code; the commands then make the
same calls on either, and render the same shapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from loadbay.cli.common import err, fatal_errors
from loadbay.cli.lazy import lazy
from loadbay.cli.progress import Show
from loadbay.config import Settings
from loadbay.errors import InvalidOption

if TYPE_CHECKING:
    from loadbay import remote
    from loadbay.client import Client
    from loadbay.service import context as context_service
    from loadbay.service import imports as import_service
    from loadbay.service import revert as revert_service
    from loadbay.service import tables as table_service
    from loadbay.service import templates as template_service
    from loadbay.service.context import Context
    from loadbay.service.requests import ImportRequest
else:  # loaded by the first command that uses them: the local service, or the client
    remote = lazy("loadbay.remote")
    context_service = lazy("loadbay.service.context")
    import_service = lazy("loadbay.service.imports")
    revert_service = lazy("loadbay.service.revert")
    table_service = lazy("loadbay.service.tables")
    template_service = lazy("loadbay.service.templates")


class Backend(Protocol):
    """The operations of the import commands; every record is a dict as the service's."""

    def run_import(self, request: ImportRequest, progress: Show | None) -> dict[str, Any]:
        """Create the import, run it to its end (or its dry-run plan), return it; show
        its progress objects as they come. Ctrl-C: ``RunInterrupted``."""

    def resume(self, import_id: str, progress: Show | None) -> dict[str, Any]:
        """Go on with an interrupted import from its last committed chunk."""

    def first_errors(self, import_id: str, limit: int = 100) -> list[dict[str, Any]]: ...

    def error_summary(self, import_id: str) -> list[dict[str, Any]]:
        """The errors grouped by table, column and code: count and an example value."""

    def changes(self, import_id: str, limit: int) -> list[dict[str, Any]]:
        """A dry run's updated rows with their field-level diff."""

    def list_imports(self, limit: int) -> list[dict[str, Any]]: ...

    def get_import(self, import_id: str) -> dict[str, Any]: ...

    def revert(self, import_id: str, force: bool) -> dict[str, Any]: ...

    def write_error_report(self, import_id: str, out: Path) -> int: ...

    def export(self, table: str, out: IO[str], fmt: str) -> int: ...

    def tables(self) -> list[dict[str, Any]]: ...

    def create_table(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Define a table of one's own (as ``service.tables.create_table``)."""

    def alter_table(self, name: str, columns: list[dict[str, Any]]) -> dict[str, Any]:
        """Add columns to a table of one's own (as ``service.tables.alter_table``)."""

    def get_template(self, ref: str) -> dict[str, Any]:
        """A saved template by name or id (as ``service.templates.template_view``)."""

    def list_templates(self) -> list[dict[str, Any]]: ...

    def delete_template(self, ref: str) -> dict[str, Any]: ...

    def save_template(self, import_id: str, name: str, notes: str | None) -> dict[str, Any]:
        """Save an import's settings as a new template ``name``."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run of the import ``import_id`` (which the runner then ended,
    failed, if it could)."""

    def __init__(self, import_id: str) -> None:
        super().__init__(import_id)
        self.import_id = import_id


class LocalBackend:
    """The service layer over this machine's database."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run_import(self, request: ImportRequest, progress: Show | None) -> dict[str, Any]:
        import_id = import_service.create_import(self.ctx, request)
        return self.resume(import_id, progress)

    def resume(self, import_id: str, progress: Show | None) -> dict[str, Any]:
        try:
            return import_service.run_import(self.ctx, import_id, listener=progress)
        except KeyboardInterrupt as exc:
            raise RunInterrupted(import_id) from exc

    def first_errors(self, import_id: str, limit: int = 100) -> list[dict[str, Any]]:
        return import_service.first_errors(self.ctx, import_id, limit=limit)

    def error_summary(self, import_id: str) -> list[dict[str, Any]]:
        return import_service.error_summary(self.ctx, import_id)

    def changes(self, import_id: str, limit: int) -> list[dict[str, Any]]:
        found = []
        for result in import_service.iter_results(self.ctx, import_id, outcomes=["updated"]):
            diff = result.get("diff")
            if isinstance(diff, str):
                diff = json.loads(diff)
            found.append(
                {
                    "table": result["table_name"],
                    "row": result["row"],
                    "key": result["key"],
                    "changes": diff or {},
                }
            )
            if len(found) >= limit:
                break
        return found

    def list_imports(self, limit: int) -> list[dict[str, Any]]:
        return import_service.list_imports(self.ctx, limit=limit)

    def get_import(self, import_id: str) -> dict[str, Any]:
        return import_service.get_import(self.ctx, import_id)

    def revert(self, import_id: str, force: bool) -> dict[str, Any]:
        return revert_service.revert_import(self.ctx, import_id, force=force)

    def write_error_report(self, import_id: str, out: Path) -> int:
        return import_service.write_error_report(self.ctx, import_id, out)

    def export(self, table: str, out: IO[str], fmt: str) -> int:
        return table_service.export_table(self.ctx, table, out, fmt)

    def tables(self) -> list[dict[str, Any]]:
        return table_service.list_tables(self.ctx, self.ctx.tenant)

    def create_table(self, definition: dict[str, Any]) -> dict[str, Any]:
        return table_service.create_table(self.ctx, self.ctx.tenant, definition)

    def alter_table(self, name: str, columns: list[dict[str, Any]]) -> dict[str, Any]:
        return table_service.alter_table(self.ctx, self.ctx.tenant, name, columns)

    def get_template(self, ref: str) -> dict[str, Any]:
        return template_service.get_template(self.ctx, self.ctx.tenant, ref)

    def list_templates(self) -> list[dict[str, Any]]:
        return template_service.all_templates(self.ctx, self.ctx.tenant)

    def delete_template(self, ref: str) -> dict[str, Any]:
        return template_service.delete_template(self.ctx, self.ctx.tenant, ref)

    def save_template(self, import_id: str, name: str, notes: str | None) -> dict[str, Any]:
        return template_service.save_import(self.ctx, self.ctx.tenant, import_id, name, notes)


class RemoteBackend:
    """A loadbay server, through the Python client (``loadbay.remote``)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def run_import(self, request: ImportRequest, progress: Show | None) -> dict[str, Any]:
        """Ctrl-C while the server runs it cancels it there (and says so)."""
        created: list[str] = []
        try:
            return remote.run_import(self.client, request, progress, created.append)
        except KeyboardInterrupt as exc:
            if not created:
                raise
            remote.cancel(self.client, created[0])
            raise RunInterrupted(created[0]) from exc

    def resume(self, import_id: str, progress: Show | None) -> dict[str, Any]:
        raise InvalidOption(
            "imports resume works on this machine's database only: a server's workers take "
            "up its interrupted imports themselves (unset LOADBAY_URL to resume a local one)"
        )

    def first_errors(self, import_id: str, limit: int = 100) -> list[dict[str, Any]]:
        return remote.first_errors(self.client, import_id, limit)

    def error_summary(self, import_id: str) -> list[dict[str, Any]]:
        return remote.error_summary(self.client, import_id)

    def changes(self, import_id: str, limit: int) -> list[dict[str, Any]]:
        return remote.changes(self.client, import_id, limit)

    def list_imports(self, limit: int) -> list[dict[str, Any]]:
        return remote.list_imports(self.client, limit)

    def get_import(self, import_id: str) -> dict[str, Any]:
        return remote.get_import(self.client, import_id)

    def revert(self, import_id: str, force: bool) -> dict[str, Any]:
        return remote.revert(self.client, import_id, force)

    def write_error_report(self, import_id: str, out: Path) -> int:
        return remote.write_error_report(self.client, import_id, out)

    def export(self, table: str, out: IO[str], fmt: str) -> int:
        return remote.export(self.client, table, out, fmt)

    def tables(self) -> list[dict[str, Any]]:
        return remote.tables(self.client)

    def create_table(self, definition: dict[str, Any]) -> dict[str, Any]:
        return asdict(self.client.create_table(definition))

    def alter_table(self, name: str, columns: list[dict[str, Any]]) -> dict[str, Any]:
        return asdict(self.client.alter_table(name, columns))

    def get_template(self, ref: str) -> dict[str, Any]:
        return remote.get_template(self.client, ref)

    def list_templates(self) -> list[dict[str, Any]]:
        return remote.list_templates(self.client)

    def delete_template(self, ref: str) -> dict[str, Any]:
        return remote.delete_template(self.client, ref)

    def save_template(self, import_id: str, name: str, notes: str | None) -> dict[str, Any]:
        return remote.save_template(self.client, import_id, name, notes)


@contextmanager
def open_backend(
    schema: Path | None,
    url: str | None = None,
    token: str | None = None,
    as_json: bool = False,
) -> Iterator[Backend]:
    """The remote server when one is given (flags, then environment), else the local
    database; a loadbay error inside becomes its message and exit code."""
    with fatal_errors(as_json):
        settings = Settings.from_env()
        client = remote.connect(settings, url, token) if url or settings.url else None
        if client is None:
            with closing(context_service.open_context(settings, schema)) as ctx:
                announce(ctx)
                yield LocalBackend(ctx)
            return
        with client, remote.api_errors():
            if schema is not None:
                raise InvalidOption(
                    "--schema is for the local database: a remote server uses its own schema"
                )
            yield RemoteBackend(client)


@contextmanager
def local_context(as_json: bool = False) -> Iterator[Context]:
    """The local service only (server administration: tokens)."""
    with fatal_errors(as_json), closing(context_service.open_context(Settings.from_env())) as ctx:
        announce(ctx)
        yield ctx


def announce(ctx: Context) -> None:
    """Say on stderr that this command made a new, empty database (and where): run in
    another folder, a command finds no ``./loadbay-data`` and starts a new one."""
    if ctx.created is None:
        return
    settings = ctx.settings
    if settings.database_url:  # a SQLite URL of the user's own
        err.print(f"created a new database {ctx.created}", highlight=False, soft_wrap=True)
        return
    folder = str(settings.data_dir)
    if not settings.data_dir.is_absolute() and not folder.startswith("."):
        folder = f"./{folder}"
    err.print(
        f"created a new database in {folder} (LOADBAY_DATA_DIR chooses another folder)",
        highlight=False,
        soft_wrap=True,
    )
