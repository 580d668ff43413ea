"""loadbay's own tables (prefixed ``loadbay_``): imports, row results, row errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loadbay.errors import NotFound

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

metadata = sa.MetaData()
R = TypeVar("R", bound="DataclassInstance")


def record_of(kind: type[R], row: Mapping[Any, Any], **given: object) -> R:
    """The typed record (a ``domain/`` dataclass) a row holds: each field the column of its
    name, unless ``given`` (a value the row keeps in another form)."""
    names = [f.name for f in dataclasses.fields(kind)]
    return kind(**{name: given[name] if name in given else row[name] for name in names})


def known_values(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the parameters of a statement built once for ``table``, whose
    columns they name: SQLAlchemy would drop an unknown name silently."""
    unknown = values.keys() - table.c.keys()
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(sorted(unknown))}")
    return values


def tenant_row(
    conn: Connection, table: sa.Table, tenant: str, row_id: str, what: str
) -> dict[str, Any]:
    """The row ``row_id`` of ``table`` if it is ``tenant``'s; NotFound (``no what 'id'``)
    otherwise: another tenant's row is as unknown as a missing one."""
    query = sa.select(table).where(table.c.id == row_id, table.c.tenant_id == tenant)
    row = conn.execute(query).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no {what} {row_id!r}")
    return dict(row)


def newest_first(
    query: sa.Select[Any],
    moment: sa.ColumnElement[Any],
    ident: sa.ColumnElement[Any],
    after: tuple[Any, str] | None,
    limit: int,
) -> sa.Select[Any]:
    """``query`` newest first, keyset-paginated on (``moment``, ``ident``) after the last
    row of the previous page; ``limit`` + 1 rows tell whether there are more."""
    if after is not None:
        at, last = after
        query = query.where(sa.or_(moment < at, sa.and_(moment == at, ident < last)))
    return query.order_by(moment.desc(), ident.desc()).limit(limit + 1)


imports = sa.Table(
    "loadbay_imports",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False, index=True),
    sa.Column("state", sa.String(30), nullable=False),
    sa.Column("tables", sa.JSON, nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("error_handling", sa.String(20), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("counts", sa.JSON),
    sa.Column("rows_total", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_processed", sa.BigInteger, nullable=False, default=0),
    sa.Column("error_code", sa.String(60)),
    sa.Column("error", sa.Text),
    sa.Column("timings", sa.JSON),
    sa.Column("warnings", sa.JSON),
    sa.Column("write_stamp", sa.String(40)),
    sa.Column("checkpoint", sa.JSON),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("started_at", sa.DateTime),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("reverted_at", sa.DateTime),
    #: the saved template (``tpl_…``) the import was made from, if any
    sa.Column("template_id", sa.String(40)),
    #: the progress of its run (service/progress.py): phase, rows, bytes, rate, ETA
    sa.Column("progress", sa.JSON),
    #: ``file`` (an import of files or inline records) or ``bulk`` (a synchronous bulk
    #: request of /v1/tables/{table}/records/bulk)
    sa.Column("kind", sa.String(10), nullable=False, server_default="file"),
    #: who created, started, cancelled and reverted it: the token's id and its name then
    #: (a command-line import: no token, the name ``cli``)
    sa.Column("created_by", sa.String(40)),
    sa.Column("created_by_name", sa.String(200)),
    sa.Column("started_by", sa.String(40)),
    sa.Column("started_by_name", sa.String(200)),
    sa.Column("cancelled_by", sa.String(40)),
    sa.Column("cancelled_by_name", sa.String(200)),
    sa.Column("reverted_by", sa.String(40)),
    sa.Column("reverted_by_name", sa.String(200)),
    sa.Index("loadbay_imports_tenant_created", "tenant_id", "created_at"),
    # the list's filters by kind and by creator, newest first
    sa.Index("loadbay_imports_tenant_kind", "tenant_id", "kind", "created_at"),
    sa.Index("loadbay_imports_tenant_creator", "tenant_id", "created_by", "created_at"),
)

#: each import's number: the short, ever-growing key its row results are kept under
#: (an import id is 40 characters of random text; as the results' key it made every
#: result row's index entry wide and landed it anywhere in the index, not at its end)
import_numbers = sa.Table(
    "loadbay_import_numbers",
    metadata,
    sa.Column(
        "number",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),  # SQLite: the rowid, numbered
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("import_id", sa.String(40), nullable=False, unique=True),
)

results = sa.Table(
    "loadbay_results",
    metadata,
    sa.Column("import_number", sa.BigInteger, nullable=False),  # loadbay_import_numbers'
    sa.Column("table_name", sa.String(63), nullable=False),
    sa.Column("src", sa.Integer, nullable=False),
    sa.Column("row", sa.BigInteger, nullable=False),
    sa.Column("ref", sa.Text),
    sa.Column("key", sa.Text),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("superseded_by", sa.BigInteger),
    sa.Column("diff", sa.JSON),
    # one row per row of a file and table: the key is the order results are read in, and
    # on SQLite the table itself (no rowid table beside an index: an import of a million
    # rows writes one b-tree, not two). It starts with the import's number, so an import's
    # results go at the index's end, one after the other.
    sa.PrimaryKeyConstraint("import_number", "table_name", "src", "row", name="loadbay_results_pk"),
    sqlite_with_rowid=False,
)


def import_number(import_id: str | sa.BindParameter[str]) -> sa.ScalarSelect[Any]:
    """The number of import ``import_id`` (a subquery: the results' key from its id)."""
    n = import_numbers
    return sa.select(n.c.number).where(n.c.import_id == import_id).scalar_subquery()


#: the same in SQL text, the import's id bound as ``:imp``
IMPORT_NUMBER_SQL = "(SELECT number FROM loadbay_import_numbers WHERE import_id = :imp)"


errors = sa.Table(
    "loadbay_errors",
    metadata,
    sa.Column("import_id", sa.String(40), nullable=False),
    sa.Column("table_name", sa.String(63), nullable=False),
    sa.Column("src", sa.Integer, nullable=False),
    sa.Column("row", sa.BigInteger, nullable=False),
    sa.Column("column", sa.String(200)),
    sa.Column("code", sa.String(60), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("value", sa.Text),
    sa.Index("loadbay_errors_import", "import_id", "table_name", "src", "row"),
)


# ---- the service: tenants, tokens, uploads, idempotency keys, worker leases ----------
tenants = sa.Table(
    "loadbay_tenants",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

tokens = sa.Table(
    "loadbay_tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False, index=True),
    sa.Column("name", sa.String(200)),
    sa.Column("scope", sa.String(20), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime),
)

uploads = sa.Table(
    "loadbay_uploads",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False, index=True),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("format", sa.String(20)),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

idempotency_keys = sa.Table(
    "loadbay_idempotency_keys",
    metadata,
    sa.Column("tenant_id", sa.String(100), primary_key=True),
    sa.Column("endpoint", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
)

#: a worker's hold on an import it runs; renewed while it lives, taken over when expired.
#: On SQLite this table lives in a database file of its own (see store/leases_sql.py).
leases = sa.Table(
    "loadbay_leases",
    metadata,
    sa.Column("import_id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("locked_by", sa.String(200)),
    sa.Column("lease_until", sa.DateTime, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    #: why its last worker stopped, when its supervisor saw it die (``killed by SIGABRT``)
    sa.Column("last_error", sa.Text),
)

#: a tenant's saved import settings (``tpl_…``), named uniquely within the tenant
templates = sa.Table(
    "loadbay_templates",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("tables", sa.JSON, nullable=False),
    sa.Column("mode", sa.String(20)),
    sa.Column("error_handling", sa.String(20)),
    sa.Column("key", sa.JSON, nullable=False),
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("constants", sa.JSON, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("tenant_id", "name", name="loadbay_templates_tenant_name"),
)

# ---- webhooks: subscriptions, the outbox of events, and delivery attempts -------------
#: a tenant's subscription; ``secret`` is kept as given (``whsec_…``): it signs deliveries
webhooks = sa.Table(
    "loadbay_webhooks",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False, index=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("failing_since", sa.DateTime),
    sa.Column("disabled_at", sa.DateTime),
    sa.Column("disabled_reason", sa.Text),
)

#: the outbox: written in the transaction of the state change that causes the event
webhook_events = sa.Table(
    "loadbay_webhook_events",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("type", sa.String(60), nullable=False),
    sa.Column("import_id", sa.String(40), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

#: one row per attempt (made, or planned: status ``pending``) to deliver an event
webhook_deliveries = sa.Table(
    "loadbay_webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("webhook_id", sa.String(40), nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("scheduled_at", sa.DateTime, nullable=False),
    sa.Column("claimed_until", sa.DateTime),
    sa.Column("attempted_at", sa.DateTime),
    sa.Column("response_status", sa.Integer),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("response_excerpt", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("next_attempt_at", sa.DateTime),
    sa.Index("loadbay_webhook_deliveries_due", "status", "scheduled_at"),
    sa.Index("loadbay_webhook_deliveries_webhook", "webhook_id", "scheduled_at"),
)


#: the migration steps applied to this database (store/migrations): its version is the
#: highest; made by the first migration of a database of the release before them
migrations = sa.Table(
    "loadbay_migrations",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

#: the tables tenants defined (``POST /v1/tables``, ``import --create``): the definition as
#: a schema file writes it; the name is the data table's, so unique across tenants
custom_tables = sa.Table(
    "loadbay_custom_tables",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("tenant_id", sa.String(100), nullable=False, index=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
