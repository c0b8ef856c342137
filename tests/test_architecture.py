"""No import cycle among the project's modules, imports inside functions included; no module
over 600 non-blank lines; the rows of kongchuo's subpackages imported from where they live.

import-linter (`make lint`) checks the layering between packages; none of its contract types
says "no cycle between any two modules", so this test builds the same import graph with grimp
(every import statement: module level, inside functions, under TYPE_CHECKING) and looks for
strongly connected components of more than one module.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

PACKAGES = ("kongchuo", "students", "ledgers", "retrieval", "dashboards")

# Cycles that exist today and are being removed (issue 17). Each entry is the exact set of
# modules of one cycle group. The list may only shrink: a new cycle fails the test, and so does
# an entry that no longer matches a cycle (delete it, or narrow it to what is left).
KNOWN_CYCLES: list[frozenset[str]] = [
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def cycle_groups(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(frozenset(group))
    return groups


def describe(graph: grimp.ImportGraph, group: frozenset[str]) -> str:
    """One cycle through the group's first module, each step with the line that imports."""
    start = min(group)
    # Breadth-first inside the group, from start's imports back to start: a shortest cycle.
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier and start not in came_from:
        nxt = []
        for module in frontier:
            for imported in sorted(graph.find_modules_directly_imported_by(module) & group):
                if imported not in came_from:
                    came_from[imported] = module
                    nxt.append(imported)
        frontier = nxt
    path = [start]
    while True:
        path.append(came_from[path[-1]])
        if path[-1] == start:
            break
    path.reverse()
    steps = []
    for importer, imported in zip(path, path[1:], strict=False):
        lines = sorted({d["line_number"] for d in graph.get_import_details(
            importer=importer, imported=imported)})
        steps.append(f"{importer} -> {imported} (l.{', '.join(map(str, lines))})")
    members = ", ".join(sorted(group))
    return f"{{{members}}}:\n      " + "\n      ".join(steps)


def test_no_new_import_cycle(graph: grimp.ImportGraph) -> None:
    found = cycle_groups(graph)
    new = [g for g in found if g not in KNOWN_CYCLES]
    assert not new, "import cycles (a module reaches itself through its imports):\n  " + "\n  ".join(
        describe(graph, g) for g in sorted(new, key=min))


def test_known_cycles_still_exist(graph: grimp.ImportGraph) -> None:
    found = cycle_groups(graph)
    gone = [sorted(g) for g in KNOWN_CYCLES if g not in found]
    assert not gone, f"no longer a cycle: remove from KNOWN_CYCLES (or narrow it): {gone}"


def test_cycle_finder_sees_imports_inside_functions(tmp_path, monkeypatch) -> None:
    """The check is only as good as the graph: an import inside a function closes a cycle."""
    pkg = tmp_path / "cyclepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclepkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from cyclepkg import c\n")
    (pkg / "c.py").write_text("import cyclepkg.a\n")
    (pkg / "d.py").write_text("from cyclepkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("cyclepkg", cache_dir=None)
    assert cycle_groups(graph) == [frozenset({"cyclepkg.a", "cyclepkg.b", "cyclepkg.c"})]
    assert describe(graph, cycle_groups(graph)[0]).endswith(
        "cyclepkg.a -> cyclepkg.b (l.1)\n      cyclepkg.b -> cyclepkg.c (l.2)\n"
        "      cyclepkg.c -> cyclepkg.a (l.1)")


ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def project_modules() -> list[Path]:
    """Every .py file of the project, tests and bench included; not migrations, not the venv."""
    skip = {"migrations", "node_modules", "staticfiles", "__pycache__"}
    return [path for path in sorted(ROOT.rglob("*.py"))
            if not skip & set(path.relative_to(ROOT).parts)
            and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)]


def test_no_module_over_600_non_blank_lines() -> None:
    """A module a reader cannot hold in mind is split by theme (tests too, same assertions)."""
    long = {}
    for path in project_modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        count = sum(1 for line in lines if line.strip())
        if count > MAX_LINES:
            long[path.relative_to(ROOT).as_posix()] = count
    assert long == {}


# Django registers AuditEvent, CalendarDay and SchoolYear under the label kongchuo through
# kongchuo/models.py, which imports them; code imports them from the subpackage that owns them.
IMPORT_FROM_MODELS = re.compile(r"^[ \t]*from kongchuo\.models import (\([^)]*\)|[^\n]*)", re.M)
OWNED_ELSEWHERE = re.compile(r"\b(AuditEvent|CalendarDay|SchoolYear)\b")


def test_owned_rows_are_imported_from_their_subpackage() -> None:
    found = [path.relative_to(ROOT).as_posix() for path in project_modules()
             if path != ROOT / "kongchuo" / "models.py"
             and any(OWNED_ELSEWHERE.search(names.split("#")[0]) for names in
                     IMPORT_FROM_MODELS.findall(path.read_text(encoding="utf-8")))]
    assert found == [], "import AuditEvent from kongchuo.access.models, CalendarDay and SchoolYear " \
        "from kongchuo.calendar.models"
