"""The use case owns the transaction: no store function commits, rolls back, begins,
attaches or detaches behind its caller's back (DESIGN.md, issue 15).

Every ``.commit(``, ``.rollback(`` and ``.begin(`` call, every ``ATTACH``/``DETACH`` and
``BEGIN``/``COMMIT``/``ROLLBACK`` statement and every switch of a driver connection's
``autocommit`` in ``src/loadbay/store`` must sit in a function of the allow-list below: the
session context managers and session operations a service enters or calls by name (their
docstrings say which connection or transaction they own), and engine setup. A savepoint
(``begin_nested``) is allowed anywhere: it never ends the caller's transaction.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

STORE = Path(__file__).resolve().parents[2] / "src" / "loadbay" / "store"

#: (module under store/, function's qualified name) -> why it may
ALLOWED: dict[tuple[str, str], str] = {
    ("engine.py", "make_engine._on_connect"): (
        "engine setup: a new PostgreSQL connection's SET work_mem, committed before any "
        "caller has the connection"
    ),
    ("migrations/__init__.py", "upgrade"): (
        "the migrations runner: one transaction of its own per step, under the schema lock"
    ),
    ("dialect.py", "Postgres.short_transaction"): (
        "session context manager the progress tracker enters by name: a connection and one "
        "short transaction of its own, waiting a bounded time for a lock"
    ),
    ("dialect.py", "Sqlite.short_transaction"): (
        "session context manager the progress tracker enters by name: a connection and one "
        "short transaction of its own, waiting a bounded time for the write lock"
    ),
    ("scratch.py", "_attach"): (
        "SQLite ATTACH, called only by the session operations attach_scratch and stage_file "
        "(outside any transaction, which they check, never end)"
    ),
    ("scratch.py", "_detach"): (
        "SQLite DETACH, called only by the session operations attach_scratch, stage_file "
        "and Scratch.detach (outside any transaction, which they check, never end)"
    ),
    ("engine.py", "_sqlite_engine._on_begin"): (
        "engine setup: the BEGIN (IMMEDIATE) of a transaction SQLAlchemy begins at its "
        "owner's request"
    ),
    ("locks.py", "_outside_transaction"): (
        "table_locks (a session context manager): its lock statements in autocommit, "
        "outside any transaction (checked), the connection put back in transactions after"
    ),
    ("locks.py", "_after_interrupt"): (
        "table_locks: the connection put back in transactions after an interrupted lock "
        "statement (or thrown away)"
    ),
    ("sqlite_ingest.py", "StageWriter.__init__"): (
        "the stage writer's own ADBC connection (its main database in memory), never a "
        "caller's: the stage file attached to it"
    ),
}

#: the private helpers of the allow-list, and the only functions that may call them
CALLERS: dict[tuple[str, str], set[str]] = {
    ("scratch.py", "_attach"): {"attach_scratch", "stage_file"},
    ("scratch.py", "_detach"): {"attach_scratch", "stage_file", "Scratch.detach"},
}

_ENDS = {"commit", "rollback", "begin"}
_ATTACH = re.compile(r"(?i)(^|;)\s*(attach|detach)\b")
_CONTROL = re.compile(r"(?i)^\s*(begin|commit|rollback|end|start\s+transaction)\b")


def _modules() -> list[Path]:
    return sorted(STORE.rglob("*.py"))


def _functions(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """Every node of the module with the qualified name of the function it is in ("" at
    module level, ``Class.method``, ``outer.inner``)."""
    found: list[tuple[str, ast.AST]] = []

    def walk(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{name}.{child.name}" if name else child.name
                found.append((inner, child))
                walk(child, inner)
            else:
                found.append((name, child))
                walk(child, name)

    walk(tree, "")
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    """The constants that are not SQL of their own: docstrings, and the pieces of an
    f-string (read as the whole string)."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            ids.update(id(v) for v in node.values)
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            ids.add(id(body[0].value))
    return ids


def _sql_text(node: ast.AST, docs: set[int]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


def _violations(path: Path) -> list[tuple[str, int, str]]:
    """(function, line, what) of every transaction end or attachment in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    found = []
    for where, node in _functions(tree):
        call = node.func if isinstance(node, ast.Call) else None
        if isinstance(call, ast.Attribute) and call.attr in _ENDS:
            found.append((where, call.lineno, f".{call.attr}("))
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "autocommit" for t in node.targets
        ):
            found.append((where, node.lineno, ".autocommit ="))
        text = _sql_text(node, docs)
        if text is not None and (_ATTACH.search(text) or _CONTROL.search(text)):
            found.append((where, getattr(node, "lineno", 0), text.strip().split()[0].upper()))
    return found


def _name(path: Path) -> str:
    return path.relative_to(STORE).as_posix()


def test_no_store_function_ends_or_begins_its_callers_transaction() -> None:
    wrong = [
        f"store/{_name(path)}:{line} {what} in {where or 'module level'}"
        for path in _modules()
        for where, line, what in _violations(path)
        if (_name(path), where) not in ALLOWED
    ]
    assert wrong == [], "a store helper ends, begins or attaches behind its caller: " + str(wrong)


def test_every_allowed_place_still_needs_it_and_gives_a_reason() -> None:
    used = {(_name(path), where) for path in _modules() for where, _, _ in _violations(path)}
    assert set(ALLOWED) <= used, f"allowed but no longer needed: {set(ALLOWED) - used}"
    assert all(len(reason) > 20 for reason in ALLOWED.values())


def test_the_private_helpers_are_called_only_by_their_session_operations() -> None:
    for (module, helper), callers in CALLERS.items():
        tree = ast.parse((STORE / module).read_text(encoding="utf-8"))
        calling = {
            where
            for where, node in _functions(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == helper
        }
        assert calling <= callers, f"{module}: {helper} called by {calling - callers}"


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        '"""ATTACH in a docstring is prose."""\n'
        "def helper(conn, raw, name):\n"
        "    conn.commit()\n"
        "    with conn.begin():\n"
        "        pass\n"
        "    with conn.begin_nested():\n"  # a savepoint: allowed
        "        pass\n"
        '    raw.execute(f"DETACH DATABASE {name}")\n'
        '    raw.execute("ATTACH DATABASE ? AS x")\n'
        "    conn.rollback()\n"
        "    raw.autocommit = True\n"
        '    conn.exec_driver_sql("COMMIT")\n'
        '    conn.exec_driver_sql("DO $$BEGIN IF x THEN DELETE FROM t; END IF; END$$")\n',
        encoding="utf-8",
    )
    found = [(where, what) for where, _, what in _violations(probe)]
    assert found == [
        ("helper", ".commit("),
        ("helper", ".begin("),
        ("helper", "DETACH"),
        ("helper", "ATTACH"),
        ("helper", ".rollback("),
        ("helper", ".autocommit ="),
        ("helper", "COMMIT"),
    ]
