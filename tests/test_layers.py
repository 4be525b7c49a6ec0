"""The layers hold (DESIGN.md, "Layers"): no import cycle, nothing imports upward, and each
outside library stays in its room.

Every `import` in the package counts, at module level or inside a function (a lazy import is
still a dependency); only those under `if TYPE_CHECKING:` are exempt, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"

# outside library -> the only subpackages of reconciler that may import it
ALLOWED = {
    "click": ("cli",),
    "rich": ("cli",),
    "boto3": ("aws", "sandbox"),
    "botocore": ("aws", "sandbox"),
    "moto": ("sandbox",),
    "werkzeug": ("sandbox",),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, package: str) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child, package))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)
        yield from _imports(node, package)


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set(_imports(ast.parse(path.read_text()), package))
        edges[name] = {target for target in found if target in modules and target != name}
        edges[name] |= {f"!{target.split('.')[0]}" for target in found if "." not in target
                        or not target.startswith("reconciler")}  # fmt: skip
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(t for t in edges.get(node, ()) if not t.startswith("!")):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_outside_libraries_stay_in_their_rooms() -> None:
    wrong = []
    for module, targets in sorted(graph().items()):
        room = module.split(".")[1] if "." in module else ""
        for target in sorted(t[1:] for t in targets if t.startswith("!")):
            allowed = ALLOWED.get(target)
            if allowed is not None and room not in allowed:
                wrong.append(f"{module} imports {target} (allowed in {', '.join(allowed)})")
    assert wrong == []


def test_the_core_never_imports_the_cli_or_the_sandbox() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(graph().items())
        if not module.startswith(("reconciler.cli", "reconciler.sandbox", "reconciler.__main__"))
        for target in sorted(targets)
        if target.startswith(("reconciler.cli", "reconciler.sandbox"))
    ]
    assert wrong == []


def test_the_walk_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import click\n"
        "def f():\n    import boto3\n"
    )
    found = set(_imports(ast.parse(source), "reconciler"))
    assert "boto3" in found and "click" not in found


def test_no_cycle_between_packages() -> None:
    """The same, one level up: a room never needs a room that needs it (cli, aws and sandbox
    sit on top and may use any core room; the core rooms form layers)."""
    core: dict[str, set[str]] = {}
    for module, targets in graph().items():
        room = module.split(".")[1] if "." in module else module
        if room in ("cli", "aws", "sandbox", "__main__"):
            continue
        for target in targets:
            if target.startswith("!") or "." not in target:
                continue
            other = target.split(".")[1]
            if other != room:
                core.setdefault(room, set()).add(other)
    cycle = _cycle(core)
    assert cycle is None, " -> ".join(cycle or [])
