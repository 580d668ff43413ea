"""Step 5, fix: the failed cells edited in the page make a new upload of the import's
files, checked again with its choices (a new dry run; the original file is never
changed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from loadbay.errors import InvalidOption
from loadbay.service import imports as import_service
from loadbay.service import web_support
from loadbay.web.common import WebRoute, Writer, see_other

router = APIRouter(route_class=WebRoute, include_in_schema=False)
#: a cell's input: ``fix:<file position>:<row>:<file column>``
PREFIX = "fix:"


def edits_of(form: FormData) -> dict[tuple[int, int, str], str]:
    """The cells of the form, by (file position, row, file column)."""
    found: dict[tuple[int, int, str], str] = {}
    for name, value in form.multi_items():
        if not name.startswith(PREFIX):
            continue
        parts = name[len(PREFIX) :].split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise InvalidOption(f"form field {name!r} is not fix:<file>:<row>:<column>")
        found[(int(parts[0]), int(parts[1]), parts[2])] = str(value)
    return found


@router.post("/imports/{import_id}/fix")
async def import_fix(request: Request, import_id: str, user: Writer) -> Response:
    edits = edits_of(await request.form())
    ctx = user.svc.ctx
    spec = await run_in_threadpool(web_support.fix_cells, ctx, user.tenant, import_id, edits)
    found, _ = await run_in_threadpool(
        lambda: import_service.submit(
            user.svc.ctx, user.tenant, spec, user.svc.jobs, actor=user.principal.actor
        )
    )
    return see_other(f"/imports/{found['id']}")
