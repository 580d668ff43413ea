"""The small parts under the API: states, storage, rate limit, cursors, CLI token commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from loadbay.api.ratelimit import RateLimiter
from loadbay.errors import InvalidOption, InvalidState, PayloadTooLarge, RateLimited
from loadbay.service import states
from loadbay.service.pages import decode_cursor, encode_cursor
from loadbay.storage import Storage
from tests.api.server import ROOT, Server

ORDER = [states.QUEUED, states.VALIDATING, states.RUNNING]


def test_states_only_move_forward() -> None:
    for state, targets in states.TRANSITIONS.items():
        for target in targets:
            if state in ORDER and target in ORDER:
                assert ORDER.index(target) > ORDER.index(state), (state, target)
    assert states.TRANSITIONS[states.REVERTED] == frozenset()
    # a lenient run cancelled, or failed, after some chunks can only be reverted
    for stopped in (states.CANCELLED, states.FAILED):
        assert states.TRANSITIONS[stopped] == {states.REVERTING, states.REVERTED}
    assert states.can_move(states.VALIDATED, states.QUEUED)  # start a dry run
    with pytest.raises(InvalidState, match="reverted already"):
        states.check_move("imp_x", states.REVERTED, states.REVERTED)
    with pytest.raises(InvalidState, match="cannot be cancelled"):
        states.check_move("imp_x", states.SUCCEEDED, states.CANCELLED)


def test_storage_hashes_and_stops_at_the_limit(tmp_path: Path) -> None:
    store = Storage(tmp_path, limit=10)
    writer = store.writer()
    writer.write(b"hello")
    kept = writer.commit("upl_1.csv")
    assert kept.size == 5 and kept.path.read_bytes() == b"hello"
    assert kept.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    writer = store.writer()
    writer.write(b"123456")
    with pytest.raises(PayloadTooLarge):
        writer.write(b"78901")
    assert sorted(p.name for p in store.folder.iterdir()) == ["upl_1.csv"]


def test_rate_limiter_per_tenant() -> None:
    limiter = RateLimiter(2)
    limiter.hit("a")
    limiter.hit("a")
    with pytest.raises(RateLimited) as caught:
        limiter.hit("a")
    assert float(str(caught.value.details["retry_after"])) > 0
    limiter.hit("b")
    RateLimiter(0).hit("a")  # 0: no limit


def test_cursors_round_trip_and_refuse_garbage() -> None:
    assert decode_cursor(encode_cursor(["2024-01-01T00:00:00", "imp_1"]), 2) == [
        "2024-01-01T00:00:00",
        "imp_1",
    ]
    for bad in ("!!", encode_cursor([1]), encode_cursor({"a": 1})):  # type: ignore[list-item]
        with pytest.raises(InvalidOption):
            decode_cursor(bad, 2)


def _cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadbay", *args],
        env=server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_token_commands(server: Server) -> None:
    made = _cli(server, "tokens", "create", "--tenant", "cli-made", "--scope", "write")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and token.startswith("lb_")  # alone, on stdout
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(server.url + "/v1/imports", headers=headers).status_code == 200
    listed = json.loads(_cli(server, "tokens", "list", "--tenant", "cli-made", "--json").stdout)
    assert [(t["tenant"], t["scope"]) for t in listed] == [("cli-made", "write")]
    assert token not in json.dumps(listed)
    assert _cli(server, "tokens", "revoke", listed[0]["id"]).returncode == 0
    assert httpx.get(server.url + "/v1/imports", headers=headers).status_code == 401
    bad = _cli(server, "tokens", "create", "--tenant", "x", "--scope", "root")
    assert bad.returncode == 1 and "scope" in bad.stderr
    stored = (Path(server.env["LOADBAY_DATA_DIR"]) / "admin-token").read_text().strip()
    assert stored == server.admin_token
