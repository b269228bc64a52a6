"""The package layout docs/architecture.md draws, enforced: dependencies point one way, no
module imports itself back through others (TYPE_CHECKING and function-level imports count),
and modules and folders stay small."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("servicekit", "exporter", "spc_rules", "llmscope_stack")
MAX_LINES = 300
MAX_MODULES_PER_FOLDER = 10  # "about eight": the largest is providers (7 wire formats + 3)
LONG_REASON = "Longer than 300 lines because"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for package in (*SHIPPED, "testkit")
        for p in (ROOT / package).rglob("*.py")
    }


def imported(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Project modules that ``path`` imports, wherever the import statement stands."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from pkg import mod" imports pkg.mod when that is a module, else pkg
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                for a in node.names
            ]
        else:
            continue
        for name in names:
            if name in modules:
                yield name


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: set(imported(path, modules)) for name, path in modules.items()}


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def forbidden(edges: dict[str, set[str]], source: str, *targets: str) -> list[str]:
    return sorted(
        f"{a} imports {b}"
        for a, deps in edges.items()
        if in_package(a, source)
        for b in deps
        if any(in_package(b, t) for t in targets)
    )


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_servicekit_imports_neither_service() -> None:
    assert forbidden(graph(), "servicekit", "exporter", "spc_rules", "testkit") == []


def test_spc_rules_never_imports_the_exporter() -> None:
    assert forbidden(graph(), "spc_rules", "exporter", "testkit") == []


def test_the_launcher_runs_the_services_as_processes_and_imports_neither() -> None:
    # llmscope_stack starts `python -m exporter` and `python -m spc_rules`; importing them
    # would tie the launcher to their internals. Shared plumbing comes from servicekit.
    assert forbidden(graph(), "llmscope_stack", "exporter", "spc_rules", "testkit") == []


def test_no_service_imports_the_launcher() -> None:
    assert forbidden(graph(), "servicekit", "llmscope_stack") == []
    assert forbidden(graph(), "exporter", "llmscope_stack") == []
    assert forbidden(graph(), "spc_rules", "llmscope_stack") == []


def test_the_exporters_config_imports_neither_providers_nor_canaries() -> None:
    # Providers and canaries read the config's types; the loader is handed the provider
    # table (exporter.configfile binds it), so the arrows point one way.
    assert forbidden(graph(), "exporter.config", "exporter.providers", "exporter.canary") == []


def test_exporter_never_imports_spc_rules() -> None:
    assert forbidden(graph(), "exporter", "spc_rules", "testkit") == []


@pytest.mark.parametrize("engine", ["spc_rules.engine", "spc_rules.detectors"])
def test_the_engine_imports_nothing_of_the_project_but_itself(engine: str) -> None:
    edges = graph()
    allowed = ("spc_rules.engine", "spc_rules.detectors")
    leaks = sorted(
        f"{a} imports {b}"
        for a, deps in edges.items()
        if in_package(a, engine)
        for b in deps
        if not any(in_package(b, ok) for ok in allowed)
    )
    assert leaks == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_cycle_finder_sees_a_cycle() -> None:
    # the test above is only as good as this
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_forbidden_import_finder_sees_a_forbidden_import() -> None:
    edges = {"spc_rules.cli": {"exporter.config.loader"}, "exporter.cli": {"servicekit.cli"}}
    assert forbidden(edges, "spc_rules", "exporter") == [
        "spc_rules.cli imports exporter.config.loader"
    ]


def test_modules_are_short_or_say_why() -> None:
    long = [
        f"{name}: {len(path.read_text().splitlines())} lines"
        for name, path in project_modules().items()
        if len(path.read_text().splitlines()) > MAX_LINES and LONG_REASON not in path.read_text()
    ]
    assert long == []


def test_folders_hold_a_handful_of_modules() -> None:
    crowded = []
    for package in SHIPPED:
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            if len(modules) > MAX_MODULES_PER_FOLDER:
                crowded.append(f"{folder.relative_to(ROOT)}: {len(modules)} modules")
    assert crowded == []
