"""The service layer's signatures are typed: no ``Any`` in a parameter or a return type of
a function or method in ``src/loadbay/service/`` (issue 15). ``Any`` may remain inside a
body where a library forces it; what crosses the layer is a typed record, a JSON alias,
``object`` or a ``Mapping[str, object]``."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[1] / "src" / "loadbay" / "service"


def _mentions_any(node: ast.expr | None) -> bool:
    if node is None:
        return False
    for part in ast.walk(node):
        if isinstance(part, ast.Name) and part.id == "Any":
            return True
        if isinstance(part, ast.Attribute) and part.attr == "Any":
            return True
        if isinstance(part, ast.Constant) and isinstance(part.value, str) and "Any" in part.value:
            # a string annotation ("dict[str, Any]") under from __future__ import annotations
            try:
                inner = ast.parse(part.value, mode="eval").body
            except SyntaxError:
                continue
            if _mentions_any(inner):
                return True
    return False


def _signature_uses_any(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = func.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    return any(_mentions_any(a.annotation) for a in every) or _mentions_any(func.returns)


def offenders(folder: Path = SERVICE) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _signature_uses_any(
                node
            ):
                found.append(f"{path.relative_to(folder.parent)}:{node.lineno} {node.name}")
    return found


def test_the_check_sees_any() -> None:
    tree = ast.parse("def f(a: dict[str, Any]) -> int: ...\ndef g(a: int) -> 'list[Any]': ...")
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert [_signature_uses_any(f) for f in funcs] == [True, True]
    clean = ast.parse("def h(a: Mapping[str, object]) -> Anything: ...").body[0]
    assert isinstance(clean, ast.FunctionDef)
    assert not _signature_uses_any(clean)


def test_no_any_in_service_signatures() -> None:
    found = offenders()
    assert not found, "Any in the service layer's signatures:\n" + "\n".join(found)
