"""The template use cases beneath every adapter: checks, and the one merge."""

from __future__ import annotations

import pytest

from loadbay.errors import InvalidOption
from loadbay.service import templates
from loadbay.service.context import Context
from loadbay.service.requests import merge_template


def test_a_name_too_long_for_its_column_is_refused(ctx: Context) -> None:
    """The command line reaches the service without the API's schema in front."""
    with pytest.raises(InvalidOption, match="200 characters at most"):
        templates.create_template(ctx, "t", {"name": "x" * 201})
    assert templates.create_template(ctx, "t", {"name": "x" * 200}).name == "x" * 200


def test_the_given_fields_win_and_maps_merge_key_by_key() -> None:
    template = {
        "tables": ["companies"],
        "mode": "upsert",
        "key": ["external_id"],
        "mapping": {"A": "name", "B": "external_id"},
        "constants": {"description": "t"},
        "options": {"delimiter": ";", "decimal_comma": True},
        "notes": "not copied",
    }
    given = {"mode": "create", "mapping": {"A": "description"}, "options": {"delimiter": ","}}
    merged = merge_template(template, given)
    assert merged == {
        "tables": ["companies"],
        "mode": "create",
        "error_handling": None,
        "key": ["external_id"],
        "mapping": {"A": "description", "B": "external_id"},
        "constants": {"description": "t"},
        "options": {"delimiter": ",", "decimal_comma": True},
    }
    with pytest.raises(ValueError):
        merge_template(template, {"notes": "x"})
