"""The shape of the house (docs/architecture.md), read from the source with `ast`.

Every import of every production module counts, including imports inside functions: no import
cycle between modules, arrows one way between the top-level packages and between the domain's
contexts, no module over MAX_LINES lines, and no event type written as a bare string outside the
EventType enum.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tracker.audit.types import EventType

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ("tracker", "api", "tasks", "web", "config")
MAX_LINES = 400

# The domain's contexts, bottom first: a context imports only contexts below it (never one beside it).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("audit",),
    ("org",),
    ("assessment",),
    ("notify",),
    # Integrity sits under monitoring: its campaigns are rounds the sweep watches, like cycles (flags,
    # urges and reminders name them), and its checklists are deadlines the sweep chases.
    ("integrity",),
    ("monitoring",),
    ("inspections",),
    ("reporting",),
)
# Shared kernel: importable by every context, imports none.
KERNEL = {"tracker.enqueue", "tracker.errors", "tracker.sql", "tracker.updates"}
# The only places an import may sit inside a function: AppConfig.ready(), which must wait for the models.
IMPORTS_IN_FUNCTIONS_ALLOWED = {"tracker.apps", "tasks.apps", "api.apps"}


# --- Reading the source ------------------------------------------------------------------------------------
@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    lines: int = 0
    imports: set[str] = field(default_factory=set)
    imports_in_functions: set[str] = field(default_factory=set)
    strings: list[tuple[int, str]] = field(default_factory=list)


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def collect_imports(module: Module, tree: ast.AST, known: set[str]) -> None:
    """Every module `module` imports, at any depth of the tree (functions, methods, conditionals)."""

    def visit(node: ast.AST, in_function: bool) -> None:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                targets.append(candidate if candidate in known else base)
        for target in targets:
            module.imports.add(target)
            if in_function:
                module.imports_in_functions.add(target)
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)


def read_modules(root: Path, packages: Iterable[str]) -> dict[str, Module]:
    paths = [path for package in packages if (root / package).is_dir() for path in (root / package).rglob("*.py")]
    modules = {}
    for path in sorted(paths):
        name, is_package = module_name(path, root)
        modules[name] = Module(name, path, is_package)
    known = set(modules)
    for module in modules.values():
        source = module.path.read_text()
        module.lines = len(source.splitlines())
        tree = ast.parse(source)
        collect_imports(module, tree, known)
        module.strings = [
            (node.lineno, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        ]
    return modules


def internal_graph(modules: Mapping[str, Module]) -> dict[str, set[str]]:
    """Module -> the production modules it imports (a package counts as its __init__ module)."""
    return {name: {t for t in m.imports if t in modules and t != name} for name, m in modules.items()}


def strongly_connected_components(graph: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively: every set of nodes that reach each other (size 1 included)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def cycles(graph: Mapping[str, Iterable[str]]) -> list[set[str]]:
    """The import cycles: components of more than one module, or a module importing itself."""
    return [
        c for c in strongly_connected_components(graph) if len(c) > 1 or next(iter(c)) in graph.get(next(iter(c)), ())
    ]


def context_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "tracker" and len(parts) > 1 and any(parts[1] in layer for layer in LAYERS):
        return parts[1]
    return None


def rank(context: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if context in layer)


MODULES = read_modules(ROOT, PRODUCTION)
GRAPH = internal_graph(MODULES)


def top(name: str) -> str:
    return name.split(".")[0]


def edges() -> Iterable[tuple[str, str]]:
    for source, module in MODULES.items():
        for target in module.imports:
            yield source, target


# --- The graph functions can fail ----------------------------------------------------------------------------
def test_the_cycle_finder_finds_a_cycle_in_a_small_graph():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set(), "f": {"f"}}
    assert sorted(map(sorted, cycles(graph))) == [["a", "b", "c"], ["f"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_are_read(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def late():\n    from .a import x\n    return x\n")
    modules = read_modules(tmp_path, ["pkg"])
    assert modules["pkg.b"].imports_in_functions == {"pkg.a"}
    assert cycles(internal_graph(modules)) == [{"pkg.a", "pkg.b"}]


# --- The house ---------------------------------------------------------------------------------------------
def test_the_production_modules_are_read():
    assert {"tracker.audit.events", "tracker.assessment.task_services", "api.views", "tasks.sweep"} <= set(MODULES)


def test_no_import_cycle_between_production_modules():
    assert cycles(GRAPH) == []


def test_no_import_inside_a_function_except_app_ready():
    assert {name for name, m in MODULES.items() if m.imports_in_functions} <= IMPORTS_IN_FUNCTIONS_ALLOWED


def test_the_domain_imports_none_of_api_tasks_web():
    wrong = [(s, t) for s, t in edges() if top(s) == "tracker" and top(t) in {"api", "tasks", "web"}]
    assert wrong == []


def test_api_tasks_and_web_import_none_of_each_other():
    sides = {"api", "tasks", "web"}
    wrong = [(s, t) for s, t in edges() if top(s) in sides and top(t) in sides and top(s) != top(t)]
    assert wrong == []


def test_audit_imports_no_other_part_of_the_domain_but_the_kernel():
    wrong = [
        (s, t)
        for s, t in edges()
        if s.startswith("tracker.audit")
        and top(t) == "tracker"
        and not t.startswith("tracker.audit")
        and t not in KERNEL
    ]
    assert wrong == []


def test_contexts_import_only_contexts_below_them_and_the_kernel():
    wrong = []
    for source, target in edges():
        context = context_of(source)
        if context is None or top(target) != "tracker" or target in KERNEL:
            continue
        other = context_of(target)
        if other == context:
            continue
        if other is None or rank(other) >= rank(context):
            wrong.append((source, target))
    assert wrong == []


def test_the_kernel_imports_no_context():
    wrong = [(s, t) for s, t in edges() if s in KERNEL and top(t) == "tracker" and t not in KERNEL]
    assert wrong == []


def test_no_production_module_is_over_the_line_limit():
    long = {name: m.lines for name, m in MODULES.items() if ".migrations." not in name and m.lines > MAX_LINES}
    assert long == {}


EVENT_TYPE_SHAPE = re.compile(r"[a-z_]+\.[a-z_]+")
EVENT_TYPES = {member.value for member in EventType}


@pytest.mark.parametrize("value", sorted(EVENT_TYPES))
def test_every_event_type_looks_like_one(value):
    assert EVENT_TYPE_SHAPE.fullmatch(value)


def test_no_event_type_is_written_as_a_string_outside_the_enum():
    found = [
        (name, line, value)
        for name, module in MODULES.items()
        if name != "tracker.audit.types"
        for line, value in module.strings
        if EVENT_TYPE_SHAPE.fullmatch(value) and value in EVENT_TYPES
    ]
    assert found == []
