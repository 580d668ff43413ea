"""JSON values as loadbay keeps and answers them (the columns of type JSON, API bodies)."""

from __future__ import annotations

from typing import TypeAlias

#: any JSON value, as ``json.loads`` gives it
JSON: TypeAlias = str | int | float | bool | list["JSON"] | dict[str, "JSON"] | None
#: a JSON object
JSONObject: TypeAlias = dict[str, JSON]
