"""One error shape everywhere: every route answers problem documents; auth, scopes, tenants."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_problem, load_examples, run, upload
from tests.api.server import EXAMPLES, Server

IDS = {
    "{import_id}": "imp_0000000000000000",
    "{upload_id}": "upl_0000000000000000",
    "{table}": "no_such_table",
    "{token_id}": "tok_0000000000000000",
}


def _concrete(path: str) -> str:
    for name, value in IDS.items():
        path = path.replace(name, value)
    return path


def _operations(server: Server) -> list[tuple[str, str]]:
    schema = httpx.get(server.url + "/openapi.json").json()
    return [(m.upper(), p) for p, ops in schema["paths"].items() for m in ops]


def test_every_v1_route_refuses_without_a_token_or_scope(server: Server) -> None:
    operations = [(m, p) for m, p in _operations(server) if p.startswith("/v1")]
    assert len(operations) >= 16
    with httpx.Client(base_url=server.url) as anonymous, server.http(scope="read") as reader:
        bad = {"Authorization": "Bearer lb_not-a-token"}
        for method, path in operations:
            url = _concrete(path)
            answer = anonymous.request(method, url)
            assert_problem(answer, 401, "unauthorized")
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert_problem(anonymous.request(method, url, headers=bad), 401, "unauthorized")
            if method != "GET" or path.startswith("/v1/tokens"):
                assert_problem(reader.request(method, url, json={}), 403, "forbidden")


def _valid_body(method: str, path: str) -> dict[str, object]:
    """A body the route would take, so that the answer is about the unknown id."""
    if path.endswith("/bulk"):
        return {"records": [{"name": "x"}]}
    if method.upper() == "PATCH" and "{table}" in path:
        return {"columns": [{"name": "x", "type": "text"}]}
    if method.upper() == "PATCH":
        return {"notes": "x"}
    return {}


def test_every_route_with_an_id_answers_404_for_unknown_ids(server: Server) -> None:
    with server.http() as admin:
        for method, path in _operations(server):
            if "{" not in path:
                continue
            body = _valid_body(method, path)
            answer = admin.request(method, _concrete(path), json=body)
            expected = "unknown_table" if "{table}" in path else "not_found"
            assert_problem(answer, 404, expected)


def test_http_errors_and_bad_bodies_are_problems_too(server: Server) -> None:
    with server.http() as admin:
        assert_problem(admin.get("/v1/nowhere"), 404, "not_found")
        assert_problem(admin.delete("/v1/imports"), 405, "method_not_allowed")
        bad_json = admin.post(
            "/v1/imports", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert_problem(bad_json, 422, "invalid_option")
        wrong = admin.post("/v1/imports", json={"upload_id": 5, "mode": "sideways"})
        body = assert_problem(wrong, 422, "invalid_request")
        assert {e["column"] for e in body["errors"]} >= {"upload_id", "mode"}
        neither = admin.post("/v1/imports", json={"table": "projects"})
        assert_problem(neither, 422, "invalid_option")
        unknown = admin.post("/v1/imports", json={"records": [], "table": "nope"})
        assert_problem(unknown, 404, "unknown_table")
        assert_problem(admin.get("/v1/imports", params={"limit": 500}), 422, "invalid_request")
        assert_problem(admin.get("/v1/imports", params={"cursor": "@@"}), 422, "invalid_option")
        assert_problem(admin.get("/v1/tables/nope"), 404, "unknown_table")
        pdf = admin.post("/v1/uploads", params={"filename": "a.pdf"}, content=b"%PDF-1.4 x")
        assert_problem(pdf, 422, "unsupported_format")


def test_scopes_are_cumulative_and_revoked_tokens_refused(server: Server) -> None:
    with server.http("scopes", "write") as writer, server.http("scopes", "read") as reader:
        assert reader.get("/v1/imports").status_code == 200
        assert writer.get("/v1/imports").status_code == 200
        assert_problem(writer.get("/v1/tokens"), 403, "forbidden")
        with server.http("scopes", "admin") as admin:
            made = admin.post("/v1/tokens", json={"scope": "read", "name": "ci"})
            assert made.status_code == 201, made.text
            secret, token_id = made.json()["token"], made.json()["id"]
            assert token_id in [t["id"] for t in admin.get("/v1/tokens").json()["data"]]
            assert "token" not in admin.get("/v1/tokens").json()["data"][0]
            headers = {"Authorization": f"Bearer {secret}"}
            assert httpx.get(server.url + "/v1/imports", headers=headers).status_code == 200
            assert admin.delete(f"/v1/tokens/{token_id}").json()["revoked_at"]
            refused = httpx.get(server.url + "/v1/imports", headers=headers)
            assert_problem(refused, 401, "unauthorized")
            assert_problem(admin.delete(f"/v1/tokens/{token_id}x"), 404, "not_found")


def test_a_tenant_cannot_see_or_touch_another_tenants_things(server: Server) -> None:
    with server.http("alpha", "admin") as alpha, server.http("beta", "admin") as beta:
        load_examples(server, alpha)
        up = upload(alpha, EXAMPLES / "companies.csv")
        done = run(server, alpha, upload_id=up["id"], table="companies")
        theirs = alpha.get("/v1/tokens").json()["data"][0]["id"]
        assert_problem(beta.get(f"/v1/uploads/{up['id']}"), 404, "not_found")
        assert_problem(beta.get(f"/v1/imports/{done['id']}"), 404, "not_found")
        assert_problem(beta.get(f"/v1/imports/{done['id']}/results"), 404, "not_found")
        for action in ("start", "cancel", "revert"):
            assert_problem(beta.post(f"/v1/imports/{done['id']}/{action}"), 404, "not_found")
        assert_problem(beta.delete(f"/v1/tokens/{theirs}"), 404, "not_found")
        using = beta.post("/v1/imports", json={"upload_id": up["id"], "table": "companies"})
        assert_problem(using, 404, "not_found")
        assert beta.get("/v1/imports").json()["data"] == []
        assert beta.get("/v1/tables/companies/records").json()["data"] == []
        assert len(alpha.get("/v1/tables/companies/records").json()["data"]) == 3


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz").json() == {
        "status": "ok",
        "database": "ok",
        "queue": "ok",
    }
