"""The web session: a signed cookie holding a token's id and a CSRF token.

The cookie is signed with a per-install secret kept in the data folder
(``web-secret``, made on first start, mode 0600); it is HttpOnly and SameSite=Lax and
expires after ``MAX_AGE``. It never holds the token's secret. Every POST form carries
the session's CSRF token in a hidden field (XHR: the ``X-CSRF-Token`` header).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from loadbay.errors import Forbidden

COOKIE = "loadbay_session"
SECRET_FILE = "web-secret"
MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def secret(data_dir: Path) -> str:
    """The install's signing secret (made once, readable by its owner only)."""
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


@dataclass
class Session:
    csrf: str
    token_id: str | None = None
    fresh: bool = False  # not in the request's cookie yet: set it on the response


class Signer:
    def __init__(self, key: str) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="loadbay-web-session")

    def load(self, request: Request) -> Session:
        """The request's session, or a new anonymous one (with its own CSRF token)."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data: Any = self._serializer.loads(raw, max_age=MAX_AGE)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                token_id = data.get("t")
                return Session(data["c"], token_id if isinstance(token_id, str) else None)
        return Session(new_csrf(), fresh=True)

    def store(self, response: Response, session: Session, request: Request) -> None:
        value = self._serializer.dumps({"c": session.csrf, "t": session.token_id})
        response.set_cookie(
            COOKIE,
            value,
            max_age=MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )


def signer_of(request: Request) -> Signer:
    found: Signer = request.app.state.web_signer
    return found


def check_csrf(session: Session, sent: str | None) -> None:
    if session.fresh or not sent or not hmac.compare_digest(session.csrf, sent):
        raise Forbidden("the form is stale or was not sent from this site: reload and retry")
