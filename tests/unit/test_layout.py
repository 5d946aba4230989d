"""The house shows the flow: each folder of `gateway/` imports only the floors below it
(runtime imports; `if TYPE_CHECKING:` blocks aside), so the folder graph has no cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"

GROUND = {"mail", "problems", "processes", "reload"}
#: folder (or top-level module) -> what it may import; README, Development, shows the map.
ALLOWED: dict[str, set[str]] = {
    "mail": set(),
    "problems": set(),
    "processes": set(),
    "reload": set(),
    "yamlsource": {"problems"},
    "config": {"mail", "yamlsource", "problems"},
    "record": {"mail", "config"},
    "signatures": GROUND | {"config", "record"},
    "analysis": GROUND | {"config", "record", "signatures"},
    "auth": GROUND | {"config", "record"},
    "policy": GROUND | {"yamlsource", "analysis", "signatures", "auth"},
    "deciding": GROUND | {"config", "record", "analysis", "signatures", "auth", "policy"},
    "outbound": GROUND | {"config", "record"},
    "quarantine": GROUND | {"config", "record", "outbound", "analysis", "policy"},
    "actions": GROUND | {"config", "record", "outbound", "quarantine", "analysis", "policy",
                         "deciding"},
    "smtp": GROUND | {"config", "record", "policy", "deciding", "outbound"},
    "service": GROUND | {"config", "record", "signatures", "analysis", "auth", "policy",
                         "deciding", "outbound", "quarantine", "actions", "smtp"},
    "cli": GROUND | {"config", "record", "yamlsource", "signatures", "analysis", "auth",
                     "policy", "deciding", "outbound", "quarantine", "actions", "smtp",
                     "service"},
}


def _floor(path: Path) -> str:
    parts = path.relative_to(GATEWAY).parts
    return parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")


def _runtime_imports(path: Path) -> Iterator[str]:
    """Absolute module names `path` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for block in ast.walk(tree)
               if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
               for node in ast.walk(block)}
    package = ["gateway", *path.relative_to(GATEWAY).parts[:-1]]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _floor_imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in sorted(GATEWAY.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == GATEWAY:
            continue
        source = _floor(path)
        targets = edges.setdefault(source, set())
        for module in _runtime_imports(path):
            parts = module.split(".")
            if parts[0] == "gateway" and len(parts) > 1 and parts[1] != source \
                    and ((GATEWAY / parts[1]).is_dir() or (GATEWAY / f"{parts[1]}.py").is_file()):
                targets.add(parts[1])
    return edges


def test_every_floor_is_on_the_map() -> None:
    assert set(_floor_imports()) == set(ALLOWED)


@pytest.mark.parametrize("floor", sorted(ALLOWED))
def test_a_floor_imports_only_the_floors_below(floor: str) -> None:
    extra = _floor_imports().get(floor, set()) - ALLOWED[floor]
    assert not extra, f"gateway/{floor} imports {sorted(extra)}"


def test_the_map_has_no_cycle() -> None:
    done: set[str] = set()

    def visit(floor: str, path: tuple[str, ...]) -> None:
        assert floor not in path, " -> ".join((*path, floor))
        if floor in done:
            return
        for below in ALLOWED[floor]:
            visit(below, (*path, floor))
        done.add(floor)

    for floor in ALLOWED:
        visit(floor, ())


MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    """Small modules: a file that grows past the limit is split by what its parts do."""
    long = {str(path.relative_to(GATEWAY)): count for path in GATEWAY.rglob("*.py")
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
