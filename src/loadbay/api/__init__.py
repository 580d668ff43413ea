"""The HTTP API: ``create_app(settings)`` builds it; ``loadbay serve`` runs it."""

from loadbay.api.app import create_app

__all__ = ["create_app"]
