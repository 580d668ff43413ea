"""``/v1/tokens`` (admin): the API tokens of the caller's tenant."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from loadbay.api.deps import Admin, Svc
from loadbay.api.openapi import errors
from loadbay.api.schemas import Token, TokenCreate, TokenCreated, TokenList
from loadbay.service import auth
from loadbay.service.views import token_view

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


@router.get("", response_model=TokenList, responses=errors(401, 403, 429))
def list_tokens(principal: Admin, svc: Svc) -> dict[str, Any]:
    """The tenant's tokens (never their secrets)."""
    return {"data": [token_view(t) for t in auth.list_tokens(svc.ctx, principal.tenant)]}


@router.post("", status_code=201, response_model=TokenCreated, responses=errors(401, 403, 422, 429))
async def create_token(body: TokenCreate, principal: Admin, svc: Svc) -> dict[str, Any]:
    """A new token of the tenant; its secret is in this answer only."""
    record, secret = await run_in_threadpool(
        auth.create_token, svc.ctx, principal.tenant, body.scope, body.name
    )
    return {**token_view(record), "token": secret}


@router.delete("/{token_id}", response_model=Token, responses=errors(401, 403, 404, 429))
def revoke_token(token_id: str, principal: Admin, svc: Svc) -> dict[str, Any]:
    """Revoke a token of the tenant: it answers 401 from now on."""
    return token_view(auth.revoke_token(svc.ctx, token_id, principal.tenant))
