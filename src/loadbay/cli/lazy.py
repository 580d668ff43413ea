"""Modules loaded when first used, so that a command pays at start-up only for what it
runs (``loadbay --help`` loads neither polars, nor sqlalchemy, nor httpx)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class Lazy:
    """Stands for the module ``name``, imported at the first attribute asked of it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


def lazy(name: str) -> Any:
    """The module ``name``, imported when first used (typed as the module it stands for
    under ``TYPE_CHECKING``: import it there)."""
    return Lazy(name)
