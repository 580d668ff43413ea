"""Where the commands send their calls: the local service, or a remote server.

``open_backend`` picks one from ``--url``/``--token`` or ``LOADBAY_URL``/``LOADBAY_TOKEN``
and turns a loadbay error into its message and exit code; the commands then make the
same calls on either, and get the same answers: the Python client's models
(``loadbay.client_models``), which ``loadbay.cli.render`` prints alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from loadbay.cli.common import err, fatal_errors
from loadbay.cli.lazy import lazy
from loadbay.cli.progress import Show
from loadbay.client_models import (
    ErrorGroup,
    Import,
    RevertResult,
    RowError,
    RowResult,
    TableInfo,
    Template,
    build,
)
from loadbay.config import Settings
from loadbay.domain.tables import table_view
from loadbay.domain.templates import template_view
from loadbay.errors import InvalidOption

if TYPE_CHECKING:
    from loadbay import remote
    from loadbay.client import Client
    from loadbay.service import context as context_service
    from loadbay.service import imports as import_service
    from loadbay.service import pages, views
    from loadbay.service import revert as revert_service
    from loadbay.service import tables as table_service
    from loadbay.service import templates as template_service
    from loadbay.service.context import Context
    from loadbay.service.requests import ImportRequest
else:  # loaded by the first command that uses them: the local service, or the client
    remote = lazy("loadbay.remote")
    context_service = lazy("loadbay.service.context")
    import_service = lazy("loadbay.service.imports")
    pages = lazy("loadbay.service.pages")
    revert_service = lazy("loadbay.service.revert")
    table_service = lazy("loadbay.service.tables")
    template_service = lazy("loadbay.service.templates")
    views = lazy("loadbay.service.views")


class Backend(Protocol):
    """The operations of the import commands; every answer is one of the Python client's
    models (``loadbay.client_models``), which ``loadbay.cli.render`` prints."""

    def run_import(self, request: ImportRequest, progress: Show | None) -> Import:
        """Create the import, run it to its end (or its dry-run plan), return it; show
        its progress objects as they come. Ctrl-C: ``RunInterrupted``."""

    def resume(self, import_id: str, progress: Show | None) -> Import:
        """Go on with an interrupted import from its last committed chunk."""

    def first_errors(self, import_id: str, limit: int = 100) -> list[RowError]:
        """The first ``limit`` errors of the failed rows, in file order."""

    def error_summary(self, import_id: str) -> list[ErrorGroup]:
        """The errors grouped by table, column and code: count and an example value."""

    def changes(self, import_id: str, limit: int) -> list[RowResult]:
        """A dry run's updated rows with their field-level diff (``RowResult.changes``)."""

    def list_imports(self, limit: int) -> list[Import]: ...

    def get_import(self, import_id: str) -> Import: ...

    def revert(self, import_id: str, force: bool) -> RevertResult: ...

    def write_error_report(self, import_id: str, out: Path) -> int: ...

    def export(self, table: str, out: IO[str], fmt: str) -> int: ...

    def tables(self) -> list[TableInfo]: ...

    def create_table(self, definition: Mapping[str, object]) -> TableInfo:
        """Define a table of one's own (as ``service.tables.create_table``)."""

    def alter_table(self, name: str, columns: list[dict[str, object]]) -> TableInfo:
        """Add columns to a table of one's own (as ``service.tables.alter_table``)."""

    def get_template(self, ref: str) -> Template:
        """A saved template by name or id."""

    def list_templates(self) -> list[Template]: ...

    def delete_template(self, ref: str) -> Template: ...

    def save_template(self, import_id: str, name: str, notes: str | None) -> Template:
        """Save an import's settings as a new template ``name``."""


#: the most items the API gives in one page (``service.pages.MAX_LIMIT``)
MAX_PAGE = 200


def paged(fetch: Callable[[str | None], tuple[list[RowResult], str | None]]) -> Iterator[RowResult]:
    """Every row of the pages ``fetch`` gives (its rows and the next page's cursor), in
    order, the next page fetched only when the rows before are used."""
    cursor: str | None = None
    while True:
        rows, cursor = fetch(cursor)
        yield from rows
        if not cursor:
            return


def first_errors(rows: Iterable[RowResult], limit: int) -> list[RowError]:
    """The first ``limit`` errors of ``rows`` (failed rows, in file order)."""
    found: list[RowError] = []
    for row in rows:
        found.extend(row.row_errors)
        if len(found) >= limit:
            break
    return found[:limit]


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run of the import ``import_id`` (which the runner then ended,
    failed, if it could)."""

    def __init__(self, import_id: str) -> None:
        super().__init__(import_id)
        self.import_id = import_id


class LocalBackend:
    """The service layer over this machine's database; what it returns is turned into the
    client's models through the API's views (``service.views``), as a server would answer,
    its messages in the command line's words."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run_import(self, request: ImportRequest, progress: Show | None) -> Import:
        import_id = import_service.create_import(self.ctx, request)
        return self.resume(import_id, progress)

    def resume(self, import_id: str, progress: Show | None) -> Import:
        try:
            found = import_service.run_import(self.ctx, import_id, listener=progress)
        except KeyboardInterrupt as exc:
            raise RunInterrupted(import_id) from exc
        return Import.of(views.import_view(found, api=False))

    def _results(self, import_id: str, outcome: str, limit: int) -> Iterator[RowResult]:
        """The rows of ``outcome`` page by page, as the API's ``/results`` gives them."""

        def fetch(cursor: str | None) -> tuple[list[RowResult], str | None]:
            page = pages.results_page(
                self.ctx, self.ctx.tenant, import_id, min(limit, MAX_PAGE), cursor, outcome
            )
            return [RowResult.of(r) for r in page["data"]], page["next_cursor"]

        return paged(fetch)

    def first_errors(self, import_id: str, limit: int = 100) -> list[RowError]:
        return first_errors(self._results(import_id, "failed", limit), limit)

    def error_summary(self, import_id: str) -> list[ErrorGroup]:
        found = import_service.error_summary(self.ctx, import_id)
        return [ErrorGroup.of({**g, "table": g["table_name"]}) for g in found]

    def changes(self, import_id: str, limit: int) -> list[RowResult]:
        return list(islice(self._results(import_id, "updated", limit), limit))

    def list_imports(self, limit: int) -> list[Import]:
        found = import_service.list_imports(self.ctx, limit=limit)
        return [Import.of(views.import_view(r, api=False)) for r in found]

    def get_import(self, import_id: str) -> Import:
        found = import_service.get_import(self.ctx, import_id)
        return Import.of(views.import_view(found, api=False))

    def revert(self, import_id: str, force: bool) -> RevertResult:
        done = revert_service.revert_import(self.ctx, import_id, force=force)
        found = Import.of(views.import_view(done["import"], api=False))
        return RevertResult(found, done["reverted"], done["conflicts"])

    def write_error_report(self, import_id: str, out: Path) -> int:
        return import_service.write_error_report(self.ctx, import_id, out)

    def export(self, table: str, out: IO[str], fmt: str) -> int:
        return table_service.export_table(self.ctx, table, out, fmt)

    def tables(self) -> list[TableInfo]:
        found = table_service.list_tables(self.ctx, self.ctx.tenant)
        return [build(TableInfo, table_view(t)) for t in found]

    def create_table(self, definition: Mapping[str, object]) -> TableInfo:
        found = table_service.create_table(self.ctx, self.ctx.tenant, definition)
        return build(TableInfo, table_view(found))

    def alter_table(self, name: str, columns: list[dict[str, object]]) -> TableInfo:
        found = table_service.alter_table(self.ctx, self.ctx.tenant, name, columns)
        return build(TableInfo, table_view(found))

    def get_template(self, ref: str) -> Template:
        found = template_service.get_template(self.ctx, self.ctx.tenant, ref)
        return Template.of(template_view(found))

    def list_templates(self) -> list[Template]:
        found = template_service.all_templates(self.ctx, self.ctx.tenant)
        return [Template.of(template_view(t)) for t in found]

    def delete_template(self, ref: str) -> Template:
        found = template_service.delete_template(self.ctx, self.ctx.tenant, ref)
        return Template.of(template_view(found))

    def save_template(self, import_id: str, name: str, notes: str | None) -> Template:
        found = template_service.save_import(self.ctx, self.ctx.tenant, import_id, name, notes)
        return Template.of(template_view(found))


class RemoteBackend:
    """A loadbay server, through the Python client (``loadbay.remote``): its models as the
    server answered them."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def run_import(self, request: ImportRequest, progress: Show | None) -> Import:
        """Ctrl-C while the server runs it cancels it there (and says so)."""
        created: list[str] = []
        try:
            return remote.run_import(self.client, request, progress, created.append)
        except KeyboardInterrupt as exc:
            if not created:
                raise
            remote.cancel(self.client, created[0])
            raise RunInterrupted(created[0]) from exc

    def resume(self, import_id: str, progress: Show | None) -> Import:
        raise InvalidOption(
            "imports resume works on this machine's database only: a server's workers take "
            "up its interrupted imports themselves (unset LOADBAY_URL to resume a local one)"
        )

    def _results(self, import_id: str, outcome: str, limit: int) -> Iterator[RowResult]:
        def fetch(cursor: str | None) -> tuple[list[RowResult], str | None]:
            page = self.client.results(import_id, outcome, min(limit, MAX_PAGE), cursor)
            return page.data, page.next_cursor

        return paged(fetch)

    def first_errors(self, import_id: str, limit: int = 100) -> list[RowError]:
        return first_errors(self._results(import_id, "failed", limit), limit)

    def error_summary(self, import_id: str) -> list[ErrorGroup]:
        return [ErrorGroup.of(g) for g in self.client.error_summary(import_id)]

    def changes(self, import_id: str, limit: int) -> list[RowResult]:
        return list(islice(self._results(import_id, "updated", limit), limit))

    def list_imports(self, limit: int) -> list[Import]:
        return self.client.list_imports(limit=min(limit, MAX_PAGE)).data

    def get_import(self, import_id: str) -> Import:
        return self.client.get_import(import_id)

    def revert(self, import_id: str, force: bool) -> RevertResult:
        return self.client.revert(import_id, force=force)

    def write_error_report(self, import_id: str, out: Path) -> int:
        return remote.write_error_report(self.client, import_id, out)

    def export(self, table: str, out: IO[str], fmt: str) -> int:
        return remote.export(self.client, table, out, fmt)

    def tables(self) -> list[TableInfo]:
        return self.client.tables()

    def create_table(self, definition: Mapping[str, object]) -> TableInfo:
        return self.client.create_table(definition)

    def alter_table(self, name: str, columns: list[dict[str, object]]) -> TableInfo:
        return self.client.alter_table(name, columns)

    def get_template(self, ref: str) -> Template:
        return self.client.get_template(ref)

    def list_templates(self) -> list[Template]:
        return list(self.client.iter_templates())

    def delete_template(self, ref: str) -> Template:
        return self.client.delete_template(ref)

    def save_template(self, import_id: str, name: str, notes: str | None) -> Template:
        return self.client.save_template(import_id, name, notes)


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
