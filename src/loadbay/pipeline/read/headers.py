"""Header names: valid column names for any header, and repeated names kept apart.

``identifier`` turns any header into a name that passes the schema's identifier check
(``schema.model.IDENTIFIER``: lowercase letters, digits and ``_``, starting with a
letter, at most 63 characters; not the reserved prefix), the same way every time:
accents dropped (``Prénom`` → ``prenom``), other characters runs of ``_``
(``First Name`` → ``first_name``), ``c_`` before a name that does not start with a
letter (``2024 Sales`` → ``c_2024_sales``), a long name cut with a short hash of the
whole name (two long names that share their start stay apart), and ``c_`` plus a hash
for a name with no letter or digit at all (``%``, ``Имя``). ``dedupe`` keeps repeated
header names apart (``amount``, ``amount_2``) and says so in a warning.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict

from loadbay.schema.model import IDENTIFIER

#: the longest identifier the schema accepts
MAX_LENGTH = 63
#: what the schema keeps for loadbay's own names (``check_identifier``)
_RESERVED_PREFIX = "loadbay_"
_PREFIX = "c_"
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(name: str) -> str:
    """``First Name`` → ``first_name``; ``E-Mail`` → ``e_mail`` (how the mapping matches a
    header to a column, and the base of ``identifier``)."""
    return _NON_ALNUM.sub("_", name.strip().lower()).strip("_")


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]


def _ascii(name: str) -> str:
    """Without accents: ``é`` → ``e`` (letters of other scripts are dropped by normalise)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())  # ß → ss
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def identifier(name: str) -> str:
    """A valid column name for the header ``name``, deterministically."""
    if IDENTIFIER.match(name) and not name.startswith(_RESERVED_PREFIX):
        return name
    base = normalise(_ascii(name))
    if not base:
        return _PREFIX + _digest(name)
    if not base[0].isalpha() or base.startswith(_RESERVED_PREFIX):
        base = _PREFIX + base
    if len(base) > MAX_LENGTH:
        base = base[: MAX_LENGTH - 9].rstrip("_") + "_" + _digest(name)
    return base


def _suffixed(name: str, n: int) -> str:
    suffix = f"_{n}"
    if len(name) <= MAX_LENGTH < len(name) + len(suffix):  # stay a valid length
        return name[: MAX_LENGTH - len(suffix)] + suffix
    return name + suffix


def dedupe(names: list[str]) -> tuple[list[str], list[str]]:
    """The names made unique (a repeat gets ``_2``, ``_3``… after the first, skipping
    names the list holds already), and a warning for each repeated name."""
    taken = set(names)
    seen: set[str] = set()
    out: list[str] = []
    repeats: dict[str, list[int]] = defaultdict(list)
    for position, name in enumerate(names, start=1):
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        n = 2
        while _suffixed(name, n) in seen or _suffixed(name, n) in taken:
            n += 1
        new = _suffixed(name, n)
        seen.add(new)
        out.append(new)
        repeats[name].append(position)
    warnings = []
    for name, positions in repeats.items():
        first = names.index(name) + 1
        renamed = ", ".join(repr(out[p - 1]) for p in positions)
        where = ", ".join(str(p) for p in [first, *positions])
        warnings.append(
            f"the header repeats the column name {name!r} (columns {where}): "
            f"read as {name!r}, {renamed}"
        )
    return out, warnings
