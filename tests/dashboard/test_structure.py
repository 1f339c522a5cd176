"""The dashboard's shape: it imports the pipeline's artifact contract instead of copying it,
its modules import each other without a circle, and no module or function grows too long.

Read from the source (``ast``), so these run in well under a second and import nothing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "dashboard"
PIPELINE = REPO / "pipeline"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def modules(root: Path) -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(root.rglob("*.py"))}


def constants(tree: ast.Module) -> set[str]:
    """Upper-case names a module assigns at its top level (the contract is made of these)."""
    names: set[str] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.lstrip("_").isupper()}
    return names


def imports(tree: ast.Module, package: str) -> set[str]:
    """Modules of ``package`` that a module imports anywhere (a function-level import too:
    that is how a circle hides)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m == package or m.startswith(package + ".")}


def copied_constants(dashboard: dict[str, ast.Module], pipeline: dict[str, ast.Module]) -> dict:
    """Dashboard constants that a pipeline module already defines, a leading ``_`` aside
    (two private helpers of the same name in both, each its own rule, are no copy)."""
    defined = {n.lstrip("_"): (m, n) for m, t in pipeline.items() for n in constants(t)}
    return {
        f"{m}.{n}": defined[n.lstrip("_")][0]
        for m, t in dashboard.items()
        for n in constants(t)
        if n.lstrip("_") in defined
        and not (n.startswith("_") and defined[n.lstrip("_")][1].startswith("_"))
    }


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for dep in sorted(graph.get(m, ())):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_dashboard_defines_no_name_the_pipeline_defines():
    copies = copied_constants(modules(DASHBOARD), modules(PIPELINE))
    assert not copies, f"import these from the pipeline instead of copying them: {copies}"


def test_a_copied_constant_is_found():
    dash = {"dashboard.x": ast.parse("RELATIONS = ('same',)\nOK = 1\n")}
    pipe = {"pipeline.y": ast.parse("RELATIONS = ('same', 'grew')\n_FLOOR = {}\n")}
    assert copied_constants(dash, pipe) == {"dashboard.x.RELATIONS": "pipeline.y"}
    dash["dashboard.z"] = ast.parse("FLOOR = {}\n")  # a private pipeline name counts too
    assert copied_constants(dash, pipe)["dashboard.z.FLOOR"] == "pipeline.y"
    dash = {"dashboard.w": ast.parse("_FLOOR = {}\n")}  # private in both: each its own
    assert copied_constants(dash, pipe) == {}


def test_dashboard_modules_import_each_other_without_a_circle():
    trees = modules(DASHBOARD)
    graph = {m: imports(t, "dashboard") & set(trees) - {m} for m, t in trees.items()}
    assert cycle(graph) is None, f"import circle: {' -> '.join(cycle(graph) or [])}"


def test_a_circle_is_found():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("path", sorted(DASHBOARD.rglob("*.py")), ids=lambda p: p.name)
def test_modules_and_functions_stay_short(path: Path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: split {long}"


def test_every_declared_page_has_its_script_and_a_heading_rule():
    from dashboard import nav

    assert nav.DEFAULT_PAGE in nav.PAGES
    for name, spec in nav.PAGES.items():
        assert (DASHBOARD / spec.script).is_file(), name
        assert f'ui.page("{name}")' in (DASHBOARD / spec.script).read_text(), name


# Imports each module with no dashboard module loaded before it: a circle that the graph
# test misses (say, through importlib) still fails here. One interpreter for all of them.
IMPORT_ALONE = """
import importlib, sys
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "dashboard" or m.startswith("dashboard.")]:
        del sys.modules[loaded]
    importlib.import_module(name)
"""


def test_each_dashboard_module_imports_alone():
    names = [m for m in modules(DASHBOARD) if not m.startswith("dashboard.app_pages")]
    names.remove("dashboard.streamlit_app")  # the app script itself: it runs, it is not imported
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALONE, *names],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
