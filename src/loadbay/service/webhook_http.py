"""Webhook URLs and one POST to them, made safe for a server that calls out.

Only ``http`` and ``https``. Unless ``LOADBAY_WEBHOOK_ALLOW_PRIVATE`` is set, a host whose
addresses are not all global (loopback, private, link-local, shared, reserved, multicast…)
is refused, when a subscription is made and again at each delivery, after DNS resolution;
the connection goes to the address that was checked (no second lookup to rebind). A
redirect is not followed (it is an answer like any other), and only the first bytes of
the answer are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from loadbay.errors import InvalidWebhookUrl

#: how much of an answer's body is kept (and read)
EXCERPT_BYTES = 1024
MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


@dataclass(frozen=True)
class Answer:
    status: int | None
    excerpt: str
    duration_ms: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def parse_url(url: str) -> Target:
    """An http(s) URL with a host, or InvalidWebhookUrl saying what is wrong."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookUrl(f"{url!r}: only http and https URLs can receive webhooks")
    if not parts.hostname:
        raise InvalidWebhookUrl(f"{url!r} has no host")
    if parts.username or parts.password:
        raise InvalidWebhookUrl(f"{url!r}: credentials in the URL are not allowed")
    default = 443 if parts.scheme == "https" else 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port or default, path)


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def resolve(target: Target, allow_private: bool) -> str:
    """The address to connect to: every address of the host checked, the first taken."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InvalidWebhookUrl(f"the host {target.host!r} cannot be resolved: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise InvalidWebhookUrl(f"the host {target.host!r} has no address")
    if not allow_private:
        refused = [a for a in addresses if _refused(a)]
        if refused:
            raise InvalidWebhookUrl(
                f"the host {target.host!r} resolves to {refused[0]}, a loopback, private, "
                "link-local or otherwise non-global address (LOADBAY_WEBHOOK_ALLOW_PRIVATE=1 "
                "allows them, for development)"
            )
    return addresses[0]


def check_url(url: str, allow_private: bool) -> Target:
    """A URL a subscription may have (resolved now; again at each delivery)."""
    target = parse_url(url)
    resolve(target, allow_private)
    return target


class _Pinned(http.client.HTTPConnection):
    """HTTP to a checked address; the Host header is the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI and the certificate are checked for the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool
) -> Answer:
    """POST ``body`` once; the answer's status and first bytes, or what went wrong."""
    started = time.perf_counter()

    def answer(status: int | None, excerpt: str = "", error: str | None = None) -> Answer:
        took = int((time.perf_counter() - started) * 1000)
        return Answer(status, excerpt, took, error)

    try:
        target = parse_url(url)
        address = resolve(target, allow_private)
    except InvalidWebhookUrl as exc:
        return answer(None, error=exc.message)
    kind = _PinnedTLS if target.scheme == "https" else _Pinned
    connection = kind(target.host, target.port, address, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        return answer(response.status, excerpt)
    except (OSError, http.client.HTTPException) as exc:
        return answer(None, error=f"{type(exc).__name__}: {exc}"[:EXCERPT_BYTES])
    finally:
        connection.close()
