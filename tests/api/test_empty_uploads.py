"""A file of no bytes is refused where it arrives (422 ``unreadable_file``, nothing kept),
whichever way it is sent: a raw upload, a multipart part, ``content_base64`` of an upload
or of an import. It was accepted and the import made of it failed later."""

from __future__ import annotations

from pathlib import Path

from tests.api.helpers import assert_problem
from tests.api.server import Server


def _kept(server: Server) -> list[Path]:
    return list((Path(server.env["LOADBAY_DATA_DIR"]) / "uploads").glob("*"))


def test_an_empty_file_is_refused_as_it_arrives(server: Server) -> None:
    with server.http("empties", "write") as client:
        before = _kept(server)
        answers = [
            client.post("/v1/uploads", params={"filename": "e.csv"}, content=b""),
            client.post("/v1/uploads", files={"file": ("e.csv", b"", "text/csv")}),
            client.post("/v1/uploads", json={"filename": "e.csv", "content_base64": ""}),
            client.post(
                "/v1/imports",
                json={"table": "companies", "filename": "e.csv", "content_base64": ""},
            ),
            client.post(
                "/v1/imports",
                data={"table": "companies"},
                files={"file": ("e.csv", b"", "text/csv")},
            ),
        ]
        for answer in answers:
            problem = assert_problem(answer, 422, "unreadable_file")
            assert "empty" in problem["detail"] and "e.csv" in problem["detail"], problem
        assert _kept(server) == before
        assert client.get("/v1/imports").json()["data"] == []
