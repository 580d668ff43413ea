"""``/healthz`` (the process answers) and ``/readyz`` (database and queue answer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from loadbay.api.deps import Svc
from loadbay.api.openapi import errors
from loadbay.api.schemas import Health, Ready
from loadbay.service import health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses=errors())
def healthz() -> dict[str, Any]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, responses=errors(503))
def readyz(svc: Svc) -> dict[str, Any]:
    """Readiness: the database and the queue answer (503 when one does not)."""
    return {"status": "ok", **health.ready(svc.ctx, svc.jobs.ping)}
