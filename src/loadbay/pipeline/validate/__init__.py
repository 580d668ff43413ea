"""Validate a batch: type every cell of the mapped string columns, report every bad one.

``validate(frame, table, catalog, options)`` takes a frame of string columns named
after ``table``'s columns (plus ROW and maybe REF) and returns a :class:`Validated`:
the good rows, typed, and one error row per bad cell. Everything is polars
expressions over the whole batch; ``engine`` holds the shape of the query and
``scalar``, ``numeric`` and ``temporal`` the rules of each column type.

Decisions worth knowing:

* a cell has at most one error: an empty cell is ``missing_key`` (a match column,
  any mode but append) or ``required``; a non-empty cell is checked by its type;
  a cell both matched on and required is reported as ``missing_key`` only;
* ``required`` applies in create, append and replace, and in update and upsert
  with the CLEAR empty policy; not in delete (the row goes away);
* decimals accept ``.5`` and ``-.5`` but not ``5.``, exponents or (without
  ``decimal_comma``) thousands separators; with ``decimal_comma`` a ``.`` must sit
  between groups of three digits (``1.5`` is refused rather than read as 15); a
  decimal with more decimals than the scale is refused unless they are zeros;
* dates accept ``yyyy-MM-dd`` (month and day may have one digit), any built-in
  datetime form at exactly 00:00 (its wall-clock date: an offset is ignored), then
  the user's formats; a user format giving a year before 1000 is refused;
* datetimes with ``Z`` or an offset (``+01:00``, ``+0100``, ``+01``) are moved to
  UTC; fractions have at most 6 digits; ``T``/``Z`` may be lowercase;
* a reference is checked by the column it references (followed transitively)
  but required by its own column, and comes out as text (dates as ``yyyy-MM-dd``);
* messages quote the stripped value (shortened past 60 characters); the error's
  ``value`` is the cell exactly as given.
"""

from loadbay.pipeline.validate.base import Validated, ValidateOptions
from loadbay.pipeline.validate.engine import validate

__all__ = ["ValidateOptions", "Validated", "validate"]
