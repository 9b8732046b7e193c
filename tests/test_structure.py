"""The package structure: blueprints import the core and never each other.

What several blueprints need (sign-in and roles, the staff menu, throttling, rates, QR codes)
lives in the core (``survey/*.py``). Only the factory and the command-line registration import
blueprint packages, to register them.
"""

from __future__ import annotations

import ast
from pathlib import Path

SURVEY = Path(__file__).resolve().parent.parent / "survey"
#: Core modules allowed to import blueprint packages: they register them.
REGISTRARS = {"__init__.py", "cli.py"}


def blueprint_packages(root: Path = SURVEY) -> set[str]:
    return {p.parent.name for p in root.glob("*/__init__.py")}


def imported_modules(path: Path, package: str) -> set[str]:
    """Absolute dotted names of every module ``path`` imports (relative imports resolved).

    ``package`` is the dotted package the file lives in (``survey`` or ``survey.staff``).
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # ``from .. import staff`` imports a package by name.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def crossings(root: Path = SURVEY) -> list[str]:
    """Every import from one blueprint package into another, or from the core into a blueprint."""
    blueprints = blueprint_packages(root)
    problems = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        owner = relative.parts[0] if len(relative.parts) > 1 else None
        package = "survey" if owner is None else f"survey.{owner}"
        if owner is None and relative.name in REGISTRARS:
            continue
        for module in imported_modules(path, package):
            parts = module.split(".")
            if len(parts) >= 2 and parts[0] == "survey" and parts[1] in blueprints and parts[1] != owner:
                problems.append(f"survey/{relative} imports survey.{parts[1]}")
    return sorted(set(problems))


def test_blueprints_never_import_each_other():
    assert crossings() == [], "move what several blueprints need into the core (survey/*.py)"


def test_the_check_sees_a_crossing(tmp_path):
    # The check itself can fail: a blueprint reaching into another, by relative and absolute import.
    root = tmp_path / "survey"
    for name in ("staff", "complaints"):
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text("")
    (root / "auth.py").write_text("")
    (root / "complaints" / "routes.py").write_text("from ..staff.auth import roles_required\nfrom ..auth import x\n")
    (root / "complaints" / "other.py").write_text("import survey.staff.menu\nfrom .. import staff\n")
    (root / "export.py").write_text("from .staff import helpers\n")
    assert crossings(root) == [
        "survey/complaints/other.py imports survey.staff",
        "survey/complaints/routes.py imports survey.staff",
        "survey/export.py imports survey.staff",
    ]
    (root / "complaints" / "other.py").write_text("from ..auth import x\n")
    (root / "complaints" / "routes.py").write_text("from . import other\n")
    (root / "export.py").write_text("from .auth import x\n")
    assert crossings(root) == []


def import_graph(root: Path = SURVEY) -> dict[str, set[str]]:
    """Module name -> the survey modules it imports (at any level, including inside functions)."""
    modules = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root.parent).with_suffix("")
        name = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {m for m in imported_modules(path, package) if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules of one package (a package importing its own modules to register
    them, as ``survey/__init__.py`` does, is not counted: packages are left out)."""
    found = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start and len(path) > 1:
                    found.append(path)
                elif nxt not in path and nxt > start:
                    stack.append((nxt, [*path, nxt]))
    return found


def test_no_import_cycles_in_the_staff_console():
    graph = {k: v for k, v in import_graph().items() if k.startswith("survey.staff.")}
    assert cycles(graph) == []


def test_the_cycle_check_sees_a_cycle():
    assert cycles({"a.routes": {"a.invitations"}, "a.invitations": {"a.routes"}}) == [["a.invitations", "a.routes"]]
