"""Signing in to the web importer with httpx, as a browser would (cookie and CSRF token)."""

from __future__ import annotations

import re

import httpx

from tests.api.server import Server

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token in the page:\n{page.text[:500]}"
    return found.group(1)


def web_client(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=60, follow_redirects=False)


def signed_in(server: Server, token: str) -> tuple[httpx.Client, str]:
    """A client signed in with ``token``, and its session's CSRF token."""
    client = web_client(server)
    csrf = csrf_of(client.get("/signin"))
    answer = client.post("/signin", data={"csrf": csrf, "token": token, "next": "/"})
    assert answer.status_code == 303, answer.text[:500]
    home = client.get("/")
    assert home.status_code == 200, home.text[:500]
    return client, csrf_of(home)
