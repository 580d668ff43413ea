"""The web importer in a real browser (Debian's chromium through Playwright) against a real
server: sign in, upload a file with a misspelled column and bad cells, accept and change
suggestions, check, fix, run with live progress, revert; a read token, another tenant.

Every page is checked with axe (no serious or critical violation) and photographed at
1280 px into tests/web/screenshots/. Skips when playwright or chromium is missing; fails
then when CI is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.server import Server, running_server, spawn

CHROMIUM = Path(os.environ.get("LOADBAY_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).parent / "screenshots"
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
#: a misspelled column (E-mail adress), a column to leave out (Company: no such
#: companies), an unknown one (Shoe size), and bad cells (an email, a missing last name)
BAD = (
    "First Name,Last Name,E-mail adress,Title,Company,Shoe size\n"
    "Ada,Lovelace,ada@web.example,Countess,,38\n"
    "Grace,Hopper,grace(at)web.example,Admiral,,39\n"
    "Alan,,alan@web.example,,Nowhere Inc,44\n"
    "Edsger,Dijkstra,edsger@web.example,Professor,,45\n"
)
CHANGED = (
    BAD.replace("grace(at)web.example", "grace@web.example")
    .replace("Alan,,", "Alan,Turing,")
    .replace("Nowhere Inc", "")
)


def _problem() -> str | None:
    try:
        import axe_playwright_python.sync_playwright  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright or axe-playwright-python is not installed: {exc}"
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    problem = _problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as play:
        found = play.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield found
        finally:
            found.close()


class Walk:
    """A signed-in browser tab: screenshots and axe checks of every page it shows."""

    def __init__(self, browser: Any, server: Server, kind: str, token: str) -> None:
        self.context = browser.new_context(viewport=WIDE, base_url=server.url)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.server = server
        self.kind = kind
        self.page.goto("/")
        assert "/signin" in self.page.url
        self.shot("01-sign-in")
        self.page.get_by_label("API token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(server.url + "/")

    def shot(self, name: str, narrow: bool = False) -> None:
        """Axe: no serious or critical violation; then a screenshot."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page)
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")
        ]
        assert not bad, f"{name}: accessibility violations:\n" + "\n".join(bad)
        if narrow:
            self.page.set_viewport_size(NARROW)
            wide = self.page.evaluate("document.documentElement.scrollWidth")
            assert wide <= NARROW["width"], f"{name}: the page is {wide} px wide at 390 px"
        self.page.screenshot(path=str(SHOTS / f"{self.kind}-{name}.png"), full_page=True)
        if narrow:
            self.page.set_viewport_size(WIDE)

    def upload(self, path: Path, table: str = "people") -> None:
        self.page.get_by_label("Table").select_option(table)
        self.page.locator("#files").set_input_files(str(path))
        self.page.get_by_text("✔ uploaded").wait_for()
        self.page.get_by_role("button", name="Next: columns").click()
        self.page.wait_for_url("**/new/columns?**")

    def settled(self, *states: str) -> str:
        """Wait for the import's page to show a settled state (it reloads by itself)."""
        selector = ", ".join(f"#state-line .state-{s}" for s in states)
        self.page.locator(selector).wait_for()
        return self.page.url.rsplit("/", 1)[1].split("?")[0]

    def close(self) -> None:
        self.context.close()


def test_the_whole_walk(browser: Any, server: Server, tmp_path: Path) -> None:
    kind = "pg" if "postgresql" in server.env["LOADBAY_DATABASE_URL"] else "sqlite"
    walk = Walk(browser, server, kind, server.token("default", "write"))
    page = walk.page
    walk.shot("02-imports")

    # 1 File
    page.get_by_role("link", name="New import").first.click()
    bad = tmp_path / "people.csv"
    bad.write_text(BAD)
    walk.shot("03-new")
    limit = page.locator("#upload-form").get_attribute("data-max-bytes")
    assert f"Up to {int(limit or 0):,} bytes each" in page.content()  # stated
    page.locator("#upload-form").evaluate("form => form.dataset.maxBytes = '100'")
    page.locator("#files").set_input_files(str(bad))
    refused = page.get_by_role("alert").inner_text()
    assert f"people.csv is {len(BAD)} bytes: the limit is 100 bytes" in refused
    page.locator("#upload-form").evaluate(f"form => form.dataset.maxBytes = '{limit}'")
    walk.upload(bad)

    # 2 Columns: a fuzzy suggestion for the misspelled column, accepted; Shoe size (no
    # suggestion) changed to go to external_id
    row = page.locator("tr", has_text="E-mail adress")
    assert "fuzzy" in row.inner_text()
    assert page.get_by_label("Column for E-mail adress").input_value() == "email"
    assert page.get_by_label("Column for First Name").input_value() == "first_name"
    assert page.get_by_label("Column for Shoe size").input_value() == ""
    page.get_by_label("Column for Shoe size").select_option("external_id")
    page.get_by_label("Column for Last Name").select_option("")
    assert "last_name" in page.locator("#required").inner_text()  # flagged as it changes
    page.get_by_label("Column for Last Name").select_option("last_name")
    assert "last_name" not in page.locator("#required").inner_text()
    walk.shot("04-columns")
    walk.shot("04-columns-390", narrow=True)
    # the choices saved as a template, which the page then applies
    page.get_by_label("Save these columns and options as a template").fill(f"walk {kind}")
    page.get_by_role("button", name="Save as template").click()
    page.get_by_text("saved, and applied below").wait_for()
    assert page.get_by_label("Column for Shoe size").input_value() == "external_id"
    assert page.get_by_label("Template", exact=True).input_value().startswith("tpl_")
    walk.shot("04-template")

    # 3 Options, 4 Check
    page.get_by_role("button", name="Check: dry run of the whole file").click()
    first = walk.settled("validation_failed")  # strict, rows failing
    assert page.get_by_role("button", name="Start the import").count() == 0  # strict, failing
    assert "errors by column" in page.content()
    groups = page.locator("table", has_text="For example").inner_text()
    assert "email" in groups and "last_name" in groups and "company" in groups
    bad_cells = page.locator("td.cell-bad")
    assert bad_cells.count() == 3  # grace's email; alan's last name and company
    assert "grace(at)web.example" in bad_cells.first.inner_text()
    assert "Error:" in bad_cells.first.text_content()  # not by colour alone
    walk.shot("05-check")
    walk.shot("05-check-390", narrow=True)

    # 5 Fix: the error file; then the failed cells corrected in the grid, with the
    # keyboard (each cell labelled with its row and column), and checked again
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the failed rows").click()
    report = Path(download.value.path()).read_text()
    assert "grace(at)web.example" in report and report.splitlines()[0].endswith(",error")
    email = page.get_by_label("Row 2, E-mail adress")
    assert email.get_attribute("aria-invalid") == "true"
    email.fill("grace@web.example")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Row 3, Last Name"
    page.keyboard.type("Turing")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")  # Row 3, Company: Nowhere Inc is no company
    walk.shot("05-fix")
    page.keyboard.press("Enter")
    second = walk.settled("validated")
    assert second != first
    assert page.locator("td.cell-bad").count() == 0
    assert page.locator('[data-count="failed"]').inner_text() == "0"
    assert f"3 cells fixed in the page from {first}" in page.content()

    # 6 Run: live progress to the end
    page.get_by_role("button", name="Start the import").click()
    walk.settled("succeeded")
    assert page.locator('[data-count="created"]').inner_text() == "4"
    walk.shot("06-result")
    walk.shot("06-result-390", narrow=True)
    api = server.http("default", "read")
    emails = {r["email"] for r in api.get("/v1/tables/people/records").json()["data"]}
    assert {"ada@web.example", "grace@web.example", "alan@web.example"} <= emails

    # a dry run that updates a row shows it as a diff (old → new); then it is cancelled
    changed = tmp_path / "people-changed.csv"
    changed.write_text(CHANGED.replace("Countess", "Mathematician"))
    page.goto(f"/new?after={second}")
    walk.upload(changed)
    assert page.get_by_label("Column for Shoe size").input_value() == "external_id"  # kept
    page.get_by_role("button", name="Check: dry run of the whole file").click()
    walk.settled("validated")
    diff = page.locator("table", has_text="old value to new value").inner_text()
    assert "title" in diff and "Countess" in diff and "Mathematician" in diff
    walk.shot("06-diff")
    page.get_by_role("button", name="Cancel").click()
    walk.settled("cancelled")

    # 7 Result: revert; a row changed since is a conflict, listed, reverted anyway
    changed_since = server.http("default", "write").post(
        "/v1/tables/people/records/bulk",
        json={"records": [{"email": "edsger@web.example", "title": "Turing Award"}]},
    )
    assert changed_since.status_code == 200, changed_since.text
    page.goto(f"/imports/{second}")
    page.get_by_role("button", name="Revert this import").click()
    page.get_by_text("Not reverted:").wait_for()
    conflicts = page.get_by_role("table", name="Rows changed since the import").inner_text()
    assert "people" in conflicts and "changed since" in conflicts
    walk.shot("07-revert-conflicts")
    page.get_by_role("button", name="Revert anyway").click()
    page.get_by_text("Reverted:").wait_for()
    walk.shot("07-reverted")
    emails = {r["email"] for r in api.get("/v1/tables/people/records").json()["data"]}
    assert not emails & {"ada@web.example", "grace@web.example"}

    page.goto("/")
    walk.shot("15-imports")

    # tables and records
    page.get_by_role("link", name="Tables").click()
    walk.shot("08-tables")
    page.goto("/tables/people")
    walk.shot("09-records")
    walk.close()


def test_a_read_token_and_another_tenant(browser: Any, server: Server) -> None:
    kind = "pg" if "postgresql" in server.env["LOADBAY_DATABASE_URL"] else "sqlite"
    writer = server.http("default", "write")
    created = writer.post(
        "/v1/imports",
        json={"table": "companies", "records": [{"name": "Web Co"}], "dry_run": True},
    ).json()
    server.wait(writer, created["id"])
    other = server.http("acme", "write").post(
        "/v1/imports", json={"table": "companies", "records": [{"name": "Acme"}]}
    )
    walk = Walk(browser, server, kind, server.token("default", "read"))
    page = walk.page
    assert page.get_by_role("link", name="New import").count() == 0
    page.goto(f"/imports/{created['id']}")
    assert page.get_by_role("button", name="Start the import").count() == 0
    walk.shot("10-read-only")
    answer = page.goto("/new")
    assert answer is not None and answer.status == 403
    walk.shot("11-forbidden")
    answer = page.goto(f"/imports/{other.json()['id']}")
    assert answer is not None and answer.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    walk.shot("12-other-tenant")
    walk.close()


def test_admin_pages_and_docs(browser: Any, server: Server) -> None:
    kind = "pg" if "postgresql" in server.env["LOADBAY_DATABASE_URL"] else "sqlite"
    walk = Walk(browser, server, kind, server.token("default", "admin"))
    page = walk.page
    page.get_by_role("link", name="Tokens").click()
    page.get_by_label("Name").fill("browser")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create").click()
    secret = page.get_by_label("New token").input_value()
    assert secret.startswith("lb_")
    walk.shot("13-tokens")
    page.goto("/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "loadbay" in page.locator(".swagger-ui .info .title").inner_text()
    page.screenshot(path=str(SHOTS / f"{kind}-14-docs.png"))
    walk.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_live_progress_is_pushed(browser: Any, kind: str, tmp_path: Path) -> None:
    """With no worker, imports wait in queued: the page shows it with a Cancel button;
    once a worker starts, the server pushes the progress and the page reaches the end by
    itself (no reload by the test)."""
    with running_server(kind, tmp_path, "--no-worker") as server:
        writer = server.http("default", "write")
        records = [{"name": f"Live {n}", "due_days": n} for n in range(300)]
        waiting = writer.post("/v1/imports", json={"table": "companies", "records": records})
        dropped = writer.post("/v1/imports", json={"table": "companies", "records": records})
        walk = Walk(browser, server, f"{kind}-live", server.token("default", "write"))
        page = walk.page
        page.goto(f"/imports/{dropped.json()['id']}")
        page.get_by_role("button", name="Cancel").click()
        walk.settled("cancelled")
        # every text of the phase line, kept in the tab's sessionStorage across its reload
        page.add_init_script(
            "addEventListener('DOMContentLoaded', () => { const line ="
            " document.getElementById('phase-line'); if (line) new MutationObserver(() =>"
            " sessionStorage.setItem('seen', (sessionStorage.getItem('seen') || '') + '\\n'"
            " + line.textContent)).observe(line, {childList: true, subtree: true,"
            " characterData: true}); });"
        )
        page.goto(f"/imports/{waiting.json()['id']}")
        assert page.locator("#state-line .state-queued").is_visible()
        assert page.locator("#bar").is_visible()
        assert page.locator("#phase-line").inner_text() == "waiting for a worker"
        walk.shot("16-queued")
        worker = spawn(server.env, "worker", log=tmp_path / "worker.log")
        try:
            walk.settled("succeeded")
        finally:
            worker.stop()
        assert page.locator('[data-count="created"]').inner_text() == "300"
        seen = str(page.evaluate("sessionStorage.getItem('seen')")).splitlines()
        # the run's phase, pushed while it ran; then each phase's numbers once it settled
        assert any(t.startswith("reading and validating · ") and "rows read" in t for t in seen)
        phases = page.get_by_role("table", name="Phases of the run").inner_text()
        assert "writing" in phases and "300" in phases
        walk.shot("17-done")
        walk.close()


def test_a_table_made_from_the_file(browser: Any, server: Server, tmp_path: Path) -> None:
    """Step 1's other way: the table inferred from the file, edited, created; the file then
    maps onto it and its check passes."""
    kind = "pg" if "postgresql" in server.env["LOADBAY_DATABASE_URL"] else "sqlite"
    walk = Walk(browser, server, kind, server.token("default", "write"))
    page = walk.page
    gadgets = tmp_path / "gadgets.csv"
    gadgets.write_text("Serial No,Name,Price (€),Bought\nA1,Widget,3.50,2024-01-02\nA2,Gizmo,4,\n")
    page.goto("/new")
    page.locator("#files").set_input_files(str(gadgets))
    page.get_by_text("✔ uploaded").wait_for()
    page.get_by_role("button", name="Or create a new table from the file").click()
    page.wait_for_url("**/new/table?**")
    assert page.get_by_label("Type of Price (€)").input_value() == "decimal"
    assert page.get_by_label("Bought is required").is_checked() is False  # one row has none
    page.get_by_label("Table name").fill(f"gadgets_{kind}")
    page.get_by_label("Column name for Price (€)").fill("unit_price")
    walk.shot("03-new-table")
    walk.shot("03-new-table-390", narrow=True)
    page.get_by_role("button", name="Create the table, then map the columns").click()
    page.wait_for_url("**/new/columns?**")
    assert page.get_by_label("Column for Price (€)").input_value() == "unit_price"
    page.get_by_role("button", name="Check: dry run of the whole file").click()
    walk.settled("validated")
    assert page.locator('[data-count="created"]').inner_text() == "2"
    walk.close()
