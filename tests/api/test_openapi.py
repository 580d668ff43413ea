"""The OpenAPI document is complete, and schemathesis finds no 5xx and no off-schema answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.server import Server, running_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROUTES = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/v1/uploads"),
    ("get", "/v1/uploads/{upload_id}"),
    ("post", "/v1/imports"),
    ("get", "/v1/imports"),
    ("get", "/v1/imports/{import_id}"),
    ("patch", "/v1/imports/{import_id}"),
    ("get", "/v1/imports/{import_id}/results"),
    ("get", "/v1/imports/{import_id}/events"),
    ("get", "/v1/imports/{import_id}/errors/summary"),
    ("post", "/v1/imports/{import_id}/start"),
    ("post", "/v1/imports/{import_id}/cancel"),
    ("post", "/v1/imports/{import_id}/revert"),
    ("get", "/v1/tables"),
    ("post", "/v1/tables"),
    ("post", "/v1/tables/infer"),
    ("get", "/v1/tables/{table}"),
    ("patch", "/v1/tables/{table}"),
    ("get", "/v1/tables/{table}/records"),
    ("post", "/v1/tables/{table}/records/bulk"),
    ("post", "/v1/imports/{import_id}/template"),
    ("get", "/v1/templates"),
    ("post", "/v1/templates"),
    ("get", "/v1/templates/{template_id}"),
    ("patch", "/v1/templates/{template_id}"),
    ("delete", "/v1/templates/{template_id}"),
    ("get", "/v1/tokens"),
    ("post", "/v1/tokens"),
    ("delete", "/v1/tokens/{token_id}"),
    ("get", "/v1/webhooks"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks/{webhook_id}"),
    ("delete", "/v1/webhooks/{webhook_id}"),
    ("get", "/v1/webhooks/{webhook_id}/deliveries"),
    ("post", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"),
}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server("sqlite", tmp_path_factory.mktemp("openapi")) as found:
        yield found


@pytest.fixture(scope="module")
def document(fuzzed: Server) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(fuzzed.url + "/openapi.json").json()
    return found


def test_every_route_is_documented_with_models_and_errors(document: dict[str, Any]) -> None:
    routes = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert routes == ROUTES
    schemas = document["components"]["schemas"]
    assert "Problem" in schemas and "HTTPValidationError" not in schemas
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            ok = [c for c in answers if c.startswith("2")]
            assert ok, (method, path)
            assert any("content" in answers[c] for c in ok), (method, path)
            assert "500" in answers
            if path.startswith("/v1"):
                assert {"401", "403", "429"} <= set(answers), (method, path)
                assert operation.get("security"), (method, path)
            for code, answer in answers.items():
                if int(code) >= 400:
                    assert list(answer["content"]) == ["application/problem+json"]
            if method == "post" and "{" not in path:
                assert "requestBody" in operation, (method, path)
    assert "bearer" in str(document["components"]["securitySchemes"]).lower()


def test_the_docs_are_served(fuzzed: Server) -> None:
    page = httpx.get(fuzzed.url + "/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()


def test_schemathesis_finds_no_server_error(fuzzed: Server) -> None:
    """Every operation, a few generated requests each (schemathesis' own pytest plugin
    does not run under pytest 9, so hypothesis drives each operation's strategy here)."""
    loaded = schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")
    headers = {"Authorization": f"Bearer {fuzzed.admin_token}"}
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) == len(ROUTES)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=fuzzed.url, headers=headers, checks=CHECKS)

        check()
