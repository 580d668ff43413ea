"""loadbay: a self-hosted bulk import service."""

__version__ = "0.1.0"

from typing import Any


def __getattr__(name: str) -> Any:
    """``loadbay.Client``: the Python client, imported only when used."""
    if name == "Client":
        from loadbay.client import Client

        return Client
    raise AttributeError(f"module 'loadbay' has no attribute {name!r}")
