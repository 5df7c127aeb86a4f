"""The import graph is one-way: no module imports a higher layer (docs: README "Architecture").

Every import of an mfv2bench module is read with ``ast`` (module level, inside functions, under
``TYPE_CHECKING``, relative and absolute) and mapped to its layer. A lower layer importing a
higher one, even lazily inside a function, fails with the offending edges as ``file:line``.
Also: no function-level import of our own modules is left (they hid cycles), and no generic
code compares a tracker's ``.kind`` with a string (it asks the kind object).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mfv2bench"

# Lowest first; an import may only go to the same or a lower layer (README "Architecture").
LAYERS = ["core", "results", "datasets", "trackers", "runner", "training", "metrics", "speed",
          "leaderboard", "report", "submit", "app", "commands"]
RANK = {name: i for i, name in enumerate(LAYERS)}
CORE_MODULES = {"__init__", "errors", "hashing", "threads", "logs", "provenance", "devices",
                "workspace"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def layer_of(module: str) -> str | None:
    """The layer of a dotted mfv2bench module name (None: not ours)."""
    parts = module.split(".")
    if parts[0] != "mfv2bench":
        return None
    if len(parts) == 1:
        return "core"
    top = parts[1]
    if top == "cli":
        return "commands"
    if top in RANK:
        return top
    if top in CORE_MODULES:
        return "core"
    raise AssertionError(f"module {module} belongs to no layer: add it to ARCH/README and here")


def _exists(module: str) -> bool:
    base = PACKAGE.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _function_level(tree: ast.AST) -> set[int]:
    """ids of the import nodes that sit inside a function (lazy imports)."""
    inside: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside |= {id(n) for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return inside


def imports_of(path: Path, lazy_only: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import of an mfv2bench module in ``path`` (with
    ``lazy_only``: only those inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path).split(".")
    package = here if _is_package(path) else here[:-1]
    lazy = _function_level(tree) if lazy_only else None
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if lazy is not None and id(node) not in lazy:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "mfv2bench"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "mfv2bench":
                continue
            for alias in node.names:  # `from mfv2bench import app` imports the submodule app
                sub = f"{module}.{alias.name}"
                found.append((node.lineno, sub if _exists(sub) else module))
    return found


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer():
    for path in _sources():
        assert layer_of(_module_name(path)) is not None


def test_no_import_goes_up_a_layer():
    bad = []
    for path in _sources():
        own = layer_of(_module_name(path))
        for line, module in imports_of(path):
            target = layer_of(module)
            if RANK[target] > RANK[own]:
                rel = path.relative_to(PACKAGE.parent)
                bad.append(f"{rel}:{line}: {own} -> {target} ({module})")
    assert not bad, "imports from a lower layer to a higher one:\n" + "\n".join(dict.fromkeys(bad))


# Function-level imports of our own modules, each for a reason other than a cycle (file: module).
LAZY_ALLOWED = {
    # torch is imported by the tracker module: OpenCV-only runs must never load it
    ("mfv2bench/trackers/mixformerv2/kind.py", "mfv2bench.trackers.mixformerv2.tracker"),
}


def test_no_function_level_import_of_our_modules():
    """Lazy imports hid the cycles; with the layers one-way there is no reason left for them,
    except a heavy optional dependency behind the imported module (LAZY_ALLOWED, with why)."""
    bad = []
    for path in _sources():
        rel = path.relative_to(PACKAGE.parent).as_posix()
        for line, module in imports_of(path, lazy_only=True):
            if (rel, module) not in LAZY_ALLOWED:
                bad.append(f"{rel}:{line}: {module}")
    assert not bad, ("function-level imports of mfv2bench modules (make them top-level, or list "
                     "them in LAZY_ALLOWED with the reason):\n" + "\n".join(dict.fromkeys(bad)))


def _is_kind(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "kind"


def _is_str(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(_is_str(e) for e in node.elts)


def test_no_kind_string_branches_outside_trackers():
    bad = []
    for path in _sources():
        rel = path.relative_to(PACKAGE.parent)
        if rel.parts[1] == "trackers":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            if any(_is_kind(s) for s in sides) and any(_is_str(s) for s in sides):
                bad.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, ("generic code compares a tracker kind with a string (ask the kind object, "
                     "mfv2bench.trackers.kinds):\n" + "\n".join(bad))


def test_checker_sees_relative_function_level_and_from_package_imports():
    """The checker itself: relative imports resolve, lazy ones are told apart, every name has a
    layer."""
    evaluate = {m for _, m in imports_of(PACKAGE / "runner" / "evaluate.py")}
    assert {"mfv2bench.devices", "mfv2bench.runner.backends"} <= evaluate
    lazy = {m for _, m in imports_of(PACKAGE / "trackers" / "mixformerv2" / "kind.py", lazy_only=True)}
    assert lazy == {"mfv2bench.trackers.mixformerv2.tracker"}
    commands = {m for _, m in imports_of(PACKAGE / "commands" / "analyze.py")}
    assert "mfv2bench.app" in commands  # `from .. import app` is the subpackage
    assert layer_of("mfv2bench.cli") == "commands" and layer_of("mfv2bench") == "core"
    assert layer_of("mfv2bench.app.demo") == "app" and layer_of("mfv2bench.devices") == "core"
