"""loadbay's own columns in the data tables and their change logs.

They carry the reserved prefix ``loadbay_``, which no column of a schema may start with
(``schema.model.check_identifier``): a user's table may have columns named ``id``,
``tenant_id``, ``created_at``, ``action``, ``import_id``… without meeting them. Records
shown by the API, the CLI and the web pages carry the record's id as ``loadbay_id``
(as HubSpot's ``hs_object_id``). Fixed identifiers: used in SQL as they are, unquoted.
"""

from __future__ import annotations

#: every data table: the record's id, its tenant, when it was made and last written
ID = "loadbay_id"
TENANT = "loadbay_tenant_id"
CREATED = "loadbay_created_at"
UPDATED = "loadbay_updated_at"
#: every change log, beside those (the before-image of a row): the import that changed
#: it and how (``update`` or ``delete``)
IMPORT = "loadbay_import_id"
ACTION = "loadbay_action"

DATA_COLUMNS = (ID, TENANT, CREATED, UPDATED)
CHANGE_COLUMNS = (IMPORT, ACTION, *DATA_COLUMNS)
#: their names before the prefix (the release before migrations), by name now
UNPREFIXED = {name: name.removeprefix("loadbay_") for name in CHANGE_COLUMNS}
