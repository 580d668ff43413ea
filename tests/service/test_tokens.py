"""A token is a typed record, built once in the store; the API's view of it is unchanged."""

from __future__ import annotations

import dataclasses

import pytest

from loadbay.domain.tokens import Token
from loadbay.errors import Unauthorized
from loadbay.service import auth
from loadbay.service.context import Context
from loadbay.service.views import iso, token_view


def test_a_token_is_the_same_record_made_listed_and_revoked(ctx: Context) -> None:
    token, secret = auth.create_token(ctx, "acme", "read", "reader")
    assert isinstance(token, Token) and token.revoked_at is None
    assert auth.list_tokens(ctx, "acme") == [token]
    assert auth.authenticate(ctx, secret) == auth.principal_of(token)
    revoked = auth.revoke_token(ctx, token.id, "acme")
    assert revoked.revoked_at is not None
    assert dataclasses.replace(revoked, revoked_at=None) == token
    with pytest.raises(Unauthorized):
        auth.authenticate(ctx, secret)
    assert token_view(revoked) == {
        "id": token.id,
        "tenant": "acme",
        "name": "reader",
        "scope": "read",
        "created_at": iso(token.created_at),
        "revoked_at": iso(revoked.revoked_at),
    }
