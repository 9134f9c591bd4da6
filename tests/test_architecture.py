"""The import arrows run one way: each layer imports only the layers below it.

docs/architecture.md draws the layers; this test is what keeps the drawing true.
It reads the imports of every module (top-level and lazy ones inside functions)
with ``ast``, so it fails the moment a module reaches up or sideways.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "modelreg"

#: each top-level part of the package and its layer: a module may import its own part and
#: parts of a lower layer; parts on the same layer are independent of each other
LAYERS = {
    "errors": 0,
    "_version": 0,  # written by hatch-vcs at build and install (pyproject.toml), git-ignored
    "formats": 1,
    "edges": 2,
    "read": 3,
    "policies": 4, "cards": 4,
    "approvals": 5,
    "checks": 6,
    "write": 7,
    "deploy": 8, "imports": 8,
    "api": 9,
    "site": 10, "serve": 10,
    "integrations": 11,  # what other tools call (the MLflow plugin) and load_model: above api and serve
    "cli": 11,
    "__init__": 12, "__main__": 12,  # the package's lazy facade (modelreg.Registry) and `python -m`
}
#: imports between two parts of the same layer, each documented in docs/architecture.md
ALLOWED = {("policies", "cards")}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (annotations only: no arrow at run time)."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("modelreg")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "modelreg":  # ``from modelreg import __version__`` (or the lazy facade)
                found |= {f"modelreg.{a.name}" for a in node.names}
            elif target.startswith("modelreg"):
                found.add(target)
                found |= {f"{target}.{a.name}" for a in node.names}
    return found


MODULES = _modules()
EDGES = {(m, i) for m, p in MODULES.items() for i in _imports(m, p) if i in MODULES and i != "modelreg"}


def test_every_part_has_a_layer() -> None:
    assert {_part(m) for m in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_layers(module: str) -> None:
    mine = _part(module)
    wrong = sorted(i for m, i in EDGES if m == module and _part(i) != mine
                   and (mine, _part(i)) not in ALLOWED and LAYERS[_part(i)] >= LAYERS[mine])
    assert not wrong, f"{module} imports {wrong}: see docs/architecture.md for what each layer may import"


def test_no_gate_imports_another_and_nothing_else_imports_a_gate() -> None:
    gates = {m for m in MODULES if m.startswith("modelreg.checks.")}
    shared = {"modelreg.checks.results", "modelreg.checks.context", "modelreg.checks.report"}
    gate_modules = gates - shared
    for importer, imported in EDGES:
        if imported in gate_modules:
            assert importer == "modelreg.checks", f"{importer} imports the gate {imported}"


def test_deploy_targets_load_neither_gates_nor_pydantic() -> None:
    for module, path in MODULES.items():
        if module.startswith("modelreg.deploy.targets"):
            text = path.read_text()
            assert "pydantic" not in text
            assert not [i for m, i in EDGES if m == module and i.startswith("modelreg.checks")]
