"""Validate a batch: type every cell of the mapped string columns, report every bad one.

``validate(frame, table, catalog, options)`` takes a frame of string columns named
after ``table``'s columns (plus ROW and maybe REF) and returns a :class:`Validated`:
the good rows, typed, and one error row per bad cell. Everything is polars
expressions over the whole batch; see ``engine`` for the shape of the query and
``scalar``, ``numeric`` and ``temporal`` for the rules of each column type.
"""

from loadbay.pipeline.validate.base import Validated, ValidateOptions
from loadbay.pipeline.validate.engine import validate

__all__ = ["ValidateOptions", "Validated", "validate"]
