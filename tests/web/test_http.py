"""The web importer's rules over plain HTTP (no browser): sign-in, session, CSRF, scope,
tenant; the progress events of the API and of the web; the local API docs."""

from __future__ import annotations

import itertools
import json
import re

import httpx

from tests.api.server import Server
from tests.web.helpers import csrf_of, signed_in, web_client

BAD_PEOPLE = (
    "First Name,Last Name,E-mail adress,Company\n"
    "Ada,Lovelace,ada@acme.example,\n"
    "Grace,Hopper,not-an-email,\n"
    "Alan,,alan@turing.example,\n"
)


#: the people file's columns and where the tests send them (Company: ignored)
PEOPLE_COLUMNS = [
    ("First Name", "first_name"),
    ("Last Name", "last_name"),
    ("E-mail adress", "email"),
    ("Company", ""),
]


def columns_form(
    csrf: str, table: str, upload_id: str, pairs: list[tuple[str, str]], **fields: str
) -> dict[str, str]:
    """The columns step's form: (file column, target) pairs; upsert, strict, keep."""
    form = {
        "csrf": csrf,
        "table": table,
        "upload": upload_id,
        "columns": str(len(pairs)),
        "mode": "upsert",
        "error_handling": "strict",
        "empty": "keep",
    }
    for i, (name, target) in enumerate(pairs):
        form[f"col-{i}-name"], form[f"col-{i}-target"] = name, target
    return {**form, **fields}


def _upload(client: httpx.Client, csrf: str, body: str, name: str = "people.csv") -> str:
    answer = client.post(
        f"/upload?filename={name}",
        content=body.encode(),
        headers={"X-CSRF-Token": csrf, "Accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _events(client: httpx.Client, path: str) -> list[dict[str, object]]:
    found = []
    with client.stream("GET", path) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        event = ""
        for line in answer.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                assert event == "progress"
                found.append(json.loads(line[len("data: ") :]))
    return found


def test_pages_need_a_session(server: Server) -> None:
    client = web_client(server)
    for path in ("/", "/tables", "/new", "/imports/imp_0000000000000000"):
        answer = client.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/signin?next=")
    assert client.post("/imports/imp_0000000000000000/start").status_code == 401


def test_sign_in_needs_csrf_and_a_valid_token(server: Server) -> None:
    client = web_client(server)
    page = client.get("/signin")
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    token = server.token("default", "write")
    refused = client.post("/signin", data={"token": token, "next": "/"})
    assert refused.status_code == 403 and "<h1>Not allowed</h1>" in refused.text
    wrong = client.post("/signin", data={"csrf": csrf_of(page), "token": "lb_nope", "next": "/"})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    assert token not in page.headers["set-cookie"]
    # an offsite next is not followed
    good = client.post(
        "/signin", data={"csrf": csrf_of(page), "token": token, "next": "//evil.example/"}
    )
    assert good.status_code == 303 and good.headers["location"] == "/"
    assert token not in good.headers["set-cookie"]


def test_a_tampered_cookie_is_no_session(server: Server) -> None:
    client, _ = signed_in(server, server.token("default", "write"))
    value = client.cookies["loadbay_session"]
    client.cookies.set("loadbay_session", value[:-3] + ("aaa" if value[-3:] != "aaa" else "bbb"))
    assert client.get("/").status_code == 303


def test_posts_need_the_csrf_token(server: Server) -> None:
    client, csrf = signed_in(server, server.token("default", "write"))
    assert client.post("/upload?filename=a.csv", content=b"a\n1\n").status_code == 403
    forged = client.post("/signout", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert _upload(client, csrf, "a\n1\n", "a.csv").startswith("upl_")


def test_a_read_token_sees_but_changes_nothing(server: Server) -> None:
    writer = server.http("default", "write")
    created = writer.post(
        "/v1/imports",
        json={"table": "companies", "records": [{"name": "Read Co"}], "dry_run": True},
    ).json()
    server.wait(writer, created["id"])
    client, csrf = signed_in(server, server.token("default", "read"))
    home = client.get("/")
    assert created["id"] in home.text
    assert 'href="/new"' not in home.text
    # who started it: the name of the writer's token ("test")
    assert re.search(rf"{created['id']}</a>.*?<td class=\"by\">test</td>", home.text, re.S)
    page = client.get(f"/imports/{created['id']}")
    assert page.status_code == 200
    assert " UTC by test</p>" in page.text
    assert "/start" not in page.text and "Cancel" not in page.text
    for path in (f"/imports/{created['id']}/start", f"/imports/{created['id']}/cancel"):
        refused = client.post(path, data={"csrf": csrf})
        assert refused.status_code == 403 and "write" in refused.text
    assert client.get("/new").status_code == 403
    assert client.get("/tokens").status_code == 403
    assert writer.get(f"/v1/imports/{created['id']}").json()["state"] == "validated"


def test_another_tenants_import_is_not_found(server: Server) -> None:
    other = server.http("acme", "write")
    created = other.post(
        "/v1/imports", json={"table": "companies", "records": [{"name": "Acme"}]}
    ).json()
    client, csrf = signed_in(server, server.token("default", "admin"))
    page = client.get(f"/imports/{created['id']}")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert client.get(f"/imports/{created['id']}/events").status_code == 404
    assert client.post(f"/imports/{created['id']}/revert", data={"csrf": csrf}).status_code == 404
    assert (
        server.http("default", "read").get(f"/v1/imports/{created['id']}/events").status_code == 404
    )


def test_a_revoked_token_ends_the_session(server: Server) -> None:
    admin, csrf = signed_in(server, server.token("default", "admin"))
    created = admin.post("/tokens", data={"csrf": csrf, "name": "short", "scope": "write"})
    assert created.status_code == 201
    secret = created.text.split('id="new-token" readonly value="')[1].split('"')[0]
    client, _ = signed_in(server, secret)
    token_id = created.text.split("Token ")[1].split(" ")[0]
    assert admin.post(f"/tokens/{token_id}/revoke", data={"csrf": csrf}).status_code == 303
    assert client.get("/").status_code == 303


def test_check_run_and_events(server: Server) -> None:
    client, csrf = signed_in(server, server.token("default", "write"))
    upload_id = _upload(client, csrf, BAD_PEOPLE)
    columns = client.get(f"/new/columns?table=people&upload={upload_id}")
    assert columns.status_code == 200, columns.text
    assert re.search(
        r"E-mail adress</th>.*?fuzzy 62%.*?value=\"email\" selected", columns.text, re.S
    )
    assert re.search(r"First Name</th>.*?normalised 95%", columns.text, re.S)
    pairs = [*PEOPLE_COLUMNS[:3], ("Company", "company")]
    form = columns_form(csrf, "people", upload_id, pairs, error_handling="lenient")
    twice = client.post("/new/check", data={**form, "col-0-target": "email"})
    assert twice.status_code == 422 and "both mapped to &#39;email&#39;" in twice.text
    check = client.post("/new/check", data=form)
    assert check.status_code == 303, check.text
    import_id = check.headers["location"].rsplit("/", 1)[1]
    events = _events(client, f"/imports/{import_id}/events")
    assert events[-1]["state"] == "validated"
    assert events[-1]["counts"] == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "failed": 2,
        "skipped": 0,
    }
    page = client.get(f"/imports/{import_id}")
    assert "cell-bad" in page.text and "not-an-email" in page.text
    assert "errors by column" in page.text
    start = client.post(f"/imports/{import_id}/start", data={"csrf": csrf})
    assert start.status_code == 303
    api = server.http("default", "read")
    done = _events(api, f"/v1/imports/{import_id}/events")
    assert done[-1]["state"] == "partially_succeeded"
    assert all(a != b for a, b in itertools.pairwise(done))  # sent on change only
    report = client.get(f"/imports/{import_id}/errors.csv")
    assert report.status_code == 200 and "error" in report.text.splitlines()[0]
    records = api.get("/v1/tables/people/records", params={"email": "ada@acme.example"}).json()
    assert len(records["data"]) == 1


def _checked(client: httpx.Client, csrf: str, body: str, **fields: str) -> str:
    """A dry run of ``body`` into people (columns as suggested), settled: its id."""
    upload_id = _upload(client, csrf, body)
    form = columns_form(csrf, "people", upload_id, PEOPLE_COLUMNS, **fields)
    check = client.post("/new/check", data=form)
    assert check.status_code == 303, check.text
    import_id = check.headers["location"].rsplit("/", 1)[1]
    _events(client, f"/imports/{import_id}/events")  # until it settles
    return import_id


def test_cells_fixed_in_the_page_are_checked_again(server: Server) -> None:
    """The edited cells make a new upload and a new dry run with the same choices (the
    ignored Company column stays ignored); the original import and file are unchanged."""
    client, csrf = signed_in(server, server.token("default", "write"))
    body = BAD_PEOPLE.replace("acme.example", "fix.example").replace("turing.ex", "fix.ex")
    first = _checked(client, csrf, body, notes="web fix")
    page = client.get(f"/imports/{first}")
    assert 'name="fix:0:2:E-mail adress" value="not-an-email"' in page.text
    assert 'aria-label="Row 3, Last Name"' in page.text
    fixes = {"fix:0:2:E-mail adress": "grace@fix.example", "fix:0:3:Last Name": "Turing"}
    refused = client.post(f"/imports/{first}/fix", data=fixes)
    assert refused.status_code == 403  # no CSRF token
    none = client.post(f"/imports/{first}/fix", data={"csrf": csrf})
    assert none.status_code == 422 and "no cell was changed" in none.text
    fixed = client.post(f"/imports/{first}/fix", data={"csrf": csrf, **fixes})
    assert fixed.status_code == 303, fixed.text
    again = fixed.headers["location"].rsplit("/", 1)[1]
    assert again != first
    done = _events(client, f"/imports/{again}/events")[-1]
    assert done["state"] == "validated" and done["counts"]["failed"] == 0
    assert done["counts"]["created"] == 3
    api = server.http("default", "read")
    assert api.get(f"/v1/imports/{first}").json()["counts"]["failed"] == 2
    assert (
        f"2 cells fixed in the page from {first}" in api.get(f"/v1/imports/{again}").json()["notes"]
    )
    reader, read_csrf = signed_in(server, server.token("default", "read"))
    assert 'name="fix:' not in reader.get(f"/imports/{first}").text
    answer = reader.post(f"/imports/{first}/fix", data={"csrf": read_csrf, **fixes})
    assert answer.status_code == 403
    other, other_csrf = signed_in(server, server.token("acme", "write"))
    answer = other.post(f"/imports/{first}/fix", data={"csrf": other_csrf, **fixes})
    assert answer.status_code == 404


def test_events_need_a_token(server: Server) -> None:
    assert httpx.get(server.url + "/v1/imports/imp_0000000000000000/events").status_code == 401


def test_docs_are_served_from_local_assets(server: Server) -> None:
    page = httpx.get(server.url + "/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert httpx.get(server.url + "/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert httpx.get(server.url + "/docs-assets/swagger-ui.css").status_code == 200
    assert httpx.get(server.url + "/static/style.css").status_code == 200


def test_the_list_filters_and_pages(server: Server) -> None:
    writer = server.http("lister", "write")
    made = []
    for name in ("One", "Two", "Three"):
        body = {"table": "companies", "records": [{"name": name}], "dry_run": True}
        made.append(writer.post("/v1/imports", json=body).json()["id"])
    for import_id in made:
        server.wait(writer, import_id)
    writer.post(f"/v1/imports/{made[0]}/cancel")
    client, _ = signed_in(server, server.token("lister", "read"))
    cancelled = client.get("/?state=cancelled").text
    assert made[0] in cancelled and made[1] not in cancelled and made[2] not in cancelled
    assert "No imports match these filters" in client.get("/?table=people").text
    seen = []
    page = client.get("/?limit=1").text
    for _ in range(3):
        seen += [i for i in made if i in page]
        found = re.search(r'href="(/\?[^"]*cursor=[^"]+)">Next page', page)
        if not found:
            break
        page = client.get(found.group(1).replace("&amp;", "&")).text
    assert seen == made[::-1]  # newest first, one a page


def test_file_content_is_escaped(server: Server) -> None:
    client, csrf = signed_in(server, server.token("default", "write"))
    upload_id = _upload(
        client, csrf, "Name <script>x()</script>,email\nAl<img src=x>,a@b.example\n"
    )
    page = client.get(f"/new/columns?table=people&upload={upload_id}").text
    assert "<script>x()</script>" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page and "&lt;img src=x&gt;" in page


def test_sign_out_ends_the_session(server: Server) -> None:
    client, csrf = signed_in(server, server.token("default", "read"))
    before = client.cookies["loadbay_session"]
    out = client.post("/signout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/").status_code == 303
    # the old cookie, replayed, still names the token until it expires (signed, not
    # stored): it is the token's revocation that ends every session
    replay = web_client(server)
    replay.cookies.set("loadbay_session", before)
    assert replay.get("/").status_code == 200


def test_columns_saved_as_a_template_then_applied(server: Server) -> None:
    """Save as template (the form's mapping, ignores and options); the columns page then
    starts from it, and the check records the template on its import."""
    client, csrf = signed_in(server, server.token("default", "write"))
    upload_id = _upload(client, csrf, BAD_PEOPLE.replace("acme.example", "tpl.example"))
    empty = client.get(f"/new/columns?table=people&upload={upload_id}")
    assert "none saved yet" in empty.text
    form = columns_form(
        csrf,
        "people",
        upload_id,
        PEOPLE_COLUMNS,
        error_handling="lenient",
        empty="clear",
        template_name="web people",
    )
    nameless = client.post("/new/template", data={**form, "template_name": ""})
    assert nameless.status_code == 422 and "needs a name" in nameless.text
    saved = client.post("/new/template", data=form)
    assert saved.status_code == 303, saved.text
    page = client.get(saved.headers["location"])
    assert "Template <strong>web people</strong> saved" in page.text
    assert re.search(r"Company</th>.*?ignored, from the template", page.text, re.S)
    assert re.search(r'value="lenient" checked', page.text)
    assert re.search(r'value="clear" checked', page.text)
    template_id = re.search(r'name="template_id" value="(tpl_[0-9a-f]+)"', page.text)
    assert template_id
    api = server.http("default", "read")
    stored = api.get(f"/v1/templates/{template_id.group(1)}").json()
    assert stored["mapping"]["Company"] == "" and stored["tables"] == ["people"]
    again = client.post("/new/check", data={**form, "template_id": template_id.group(1)})
    assert again.status_code == 303
    import_id = again.headers["location"].rsplit("/", 1)[1]
    assert api.get(f"/v1/imports/{import_id}").json()["template_id"] == template_id.group(1)
    taken = client.post("/new/template", data=form)
    assert taken.status_code == 409  # the name is taken


GADGETS = "Serial No,Name,Price (€),Bought\nA1,Widget,3.50,2024-01-02\nA2,Gizmo,4,2024-02-03\n"


def test_a_table_made_from_the_file(server: Server) -> None:
    """Step 1's other way: the inferred table, edited (a column renamed, a type changed),
    created for the tenant; the columns step maps the file onto it and the check passes."""
    client, csrf = signed_in(server, server.token("default", "write"))
    upload_id = _upload(client, csrf, GADGETS, "gadgets.csv")
    page = client.get(f"/new/table?upload={upload_id}")
    assert page.status_code == 200, page.text
    assert 'name="name" value="gadgets"' in page.text
    assert re.search(r'Price \(€\).*?name="c-2-name" value="price"', page.text, re.S)
    assert re.search(r'name="c-2-type".*?<option selected>decimal</option>', page.text, re.S)
    form = {
        "csrf": csrf,
        "upload": upload_id,
        "columns": "4",
        "name": "gadgets_web",
        "key": "0",
        **{f"c-{i}-header": h for i, h in enumerate(["Serial No", "Name", "Price (€)", "Bought"])},
        **{f"c-{i}-inferred": t for i, t in enumerate(["text", "text", "decimal", "date"])},
        "c-0-name": "serial_no",
        "c-0-type": "text",
        "c-0-required": "1",
        "c-1-name": "name",
        "c-1-type": "text",
        "c-2-name": "unit_price",  # renamed
        "c-2-type": "decimal",
        "c-2-extra": '{"precision": 18, "scale": 2}',
        "c-3-name": "bought",
        "c-3-type": "text",  # changed: its inferred extras do not apply
        "c-3-extra": '{"format": "%Y-%m-%d"}',
    }
    bad = client.post("/new/table", data={**form, "c-1-name": "no spaces please"})
    assert bad.status_code == 422
    created = client.post("/new/table", data=form)
    assert created.status_code == 303, created.text
    assert created.headers["location"].startswith("/new/columns?table=gadgets_web&upload=")
    columns = client.get(created.headers["location"])
    assert re.search(
        r'Price \(€\)</th>.*?made from it.*?value="unit_price" selected', columns.text, re.S
    )
    api = server.http("default", "read")
    info = api.get("/v1/tables/gadgets_web").json()
    assert info["key"] == ["serial_no"]
    assert {c["name"]: c["type"] for c in info["columns"]}["bought"] == "text"
    assert server.http("acme", "read").get("/v1/tables/gadgets_web").status_code == 404
    headers = ["Serial No", "Name", "Price (€)", "Bought"]
    targets = ["serial_no", "name", "unit_price", "bought"]
    pairs = list(zip(headers, targets, strict=True))
    check = client.post("/new/check", data=columns_form(csrf, "gadgets_web", upload_id, pairs))
    assert check.status_code == 303, check.text
    import_id = check.headers["location"].rsplit("/", 1)[1]
    done = _events(client, f"/imports/{import_id}/events")[-1]
    assert done["state"] == "validated" and done["counts"]["created"] == 2
    taken = client.post("/new/table", data=form)
    assert taken.status_code == 409
    # the tables pages show it to its tenant only
    assert 'href="/tables/gadgets_web"' in client.get("/tables").text
    described = client.get("/tables/gadgets_web")
    assert described.status_code == 200 and "Records of <code>gadgets_web</code>" in described.text
    other, _ = signed_in(server, server.token("acme", "read"))
    assert "gadgets_web" not in other.get("/tables").text
    assert other.get("/tables/gadgets_web").status_code == 404
