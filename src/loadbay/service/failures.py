"""Failures of the system as loadbay errors, for the adapters (which never import
``store/``): a database driver's error is translated by ``store.driver``, its one place."""

from __future__ import annotations

from loadbay.store.driver import translate as database_error

__all__ = ["database_error"]
