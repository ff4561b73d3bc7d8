"""The package's layers, checked from the source: what each layer may import, that the core
never needs Textual (design principle 3), and that no module imports another in a cycle.

Imports are read with ``ast`` from every module under ``src/gilviz``, those inside functions
included (a lazy import is still a dependency); imports under ``if TYPE_CHECKING:`` are left
out, being for type checkers only.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import gilviz

SRC = Path(gilviz.__file__).parent
STDLIB = set(sys.stdlib_module_names)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), TYPE_CHECKING blocks left out."""
    tree = ast.parse(path.read_text(), str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from gilviz.core import model` imports the module gilviz.core.model
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if (SRC.parent / Path(*full.split("."))).with_suffix(".py").exists() or (
                    SRC.parent / Path(*full.split(".")) / "__init__.py"
                ).exists():
                    found.add(full)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


MODULES = {_module_name(p): p for p in SRC.rglob("*.py")}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _ours(imported: set[str]) -> set[str]:
    return {m for m in imported if m in MODULES}


def _third_party(imported: set[str]) -> set[str]:
    return {m for m in imported if m.split(".")[0] not in STDLIB | {"gilviz"}}


def _under(prefix: str) -> list[str]:
    return [m for m in MODULES if m == prefix or m.startswith(prefix + ".")]


def test_the_layers_are_packages():
    for layer in ("running", "measuring", "teaching", "recording"):
        assert f"gilviz.core.{layer}" in MODULES, layer
    assert "gilviz.core.protocol" in MODULES


def test_nothing_under_core_imports_textual_or_rich():
    offenders = {
        m: sorted(i for i in GRAPH[m] if i.split(".")[0] in ("textual", "rich"))
        for m in _under("gilviz.core")
    }
    assert {m: v for m, v in offenders.items() if v} == {}


def test_importing_all_of_core_loads_no_textual():
    modules = sorted(_under("gilviz.core"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('textual', 'rich')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# What the runner process imports runs under every interpreter --python supports: the
# standard library and these modules only (and their packages' __init__, checked with them).
RUNNER_SIDE = (
    "gilviz",
    "gilviz.core",
    "gilviz.core.protocol",
    "gilviz.core.running",
    "gilviz.core.running.runner",
    "gilviz.core.running.interp_task",
    "gilviz.core.running.workloads",
    "gilviz.core.running.heartbeat",
)


def test_the_runner_and_the_protocol_import_only_the_stdlib():
    for name in RUNNER_SIDE:
        assert _third_party(GRAPH[name]) == set(), name
        assert _ours(GRAPH[name]) <= set(RUNNER_SIDE), (name, _ours(GRAPH[name]))


def test_the_runner_side_runs_on_the_oldest_supported_python():
    # Parsed with the grammar of 3.10, the oldest Python the runner is started under.
    for name in RUNNER_SIDE:
        ast.parse(MODULES[name].read_text(), str(MODULES[name]), feature_version=(3, 10))


def test_measuring_imports_nothing_from_teaching_recording_running_or_above():
    banned = ("gilviz.core.teaching", "gilviz.core.recording", "gilviz.core.running",
              "gilviz.core.model", "gilviz.core.report", "gilviz.tui", "gilviz.cli")  # fmt: skip
    for name in _under("gilviz.core.measuring"):
        bad = [i for i in _ours(GRAPH[name]) if i.startswith(banned)]
        assert bad == [], name


def test_the_model_and_report_know_no_runs_presets_or_recordings():
    banned = ("gilviz.core.teaching", "gilviz.core.recording", "gilviz.core.running.session",
              "gilviz.tui", "gilviz.cli")  # fmt: skip
    for name in ("gilviz.core.model", "gilviz.core.report"):
        bad = [i for i in _ours(GRAPH[name]) if i.startswith(banned)]
        assert bad == [], name


def test_core_never_imports_the_tui_or_the_cli():
    for name in _under("gilviz.core"):
        bad = [i for i in _ours(GRAPH[name]) if i.startswith(("gilviz.tui", "gilviz.cli"))]
        assert bad == [], name


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every back edge of a depth-first walk, as the loop it closes."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return cycles


def test_the_cycle_finder_finds_loops():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles():
    # A package's __init__ runs with any of its modules; counting that edge would make
    # every `from pkg import mod` inside pkg look like a loop, so modules only.
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    edges = {m: {i for i in _ours(GRAPH[m]) if i != m and i not in packages} for m in MODULES}
    assert _cycles(edges) == []
