"""The service layer knows no async (issue 15): no ``async def``, ``await``, ``async for``
or ``async with`` and no anyio in ``src/loadbay/service/``. Its use cases are plain
functions; the adapters (api/, web/) await the bytes of a request and run the service's
steps in a thread (``run_in_threadpool``)."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "src" / "loadbay" / "service"
ASYNC = (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)


def offenders(folder: Path = SERVICE) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = isinstance(node, ast.Import | ast.ImportFrom) and any(
                (getattr(node, "module", None) or a.name).split(".")[0] == "anyio"
                for a in node.names
            )
            if isinstance(node, ASYNC) or named:
                found.append(f"{path.name}:{getattr(node, 'lineno', 0)} {type(node).__name__}")
    return found


def test_the_service_has_no_async_code() -> None:
    assert offenders() == []


def test_the_check_finds_async_code(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "import anyio.to_thread\nasync def f(xs):\n    async for x in xs:\n        await x\n",
        encoding="utf-8",
    )
    assert len(offenders(tmp_path)) == 4
