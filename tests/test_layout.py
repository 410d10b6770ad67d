"""The layout the README's Layout table describes: one package, its folders listed where setuptools
and the README need them, and no import cycles among its modules."""

from __future__ import annotations

import ast
import itertools
import pathlib
import re
import tomllib

REPO = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGE_DIRS = PYPROJECT["tool"]["setuptools"]["package-dir"]


def _packages_on_disk() -> dict[str, pathlib.Path]:
    """Import name -> folder, for every folder with an __init__.py under the mapped roots."""
    found = {}
    for name, folder in PACKAGE_DIRS.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root)
            found[".".join([name, *rel.parts])] = init.parent
    return found


def _modules() -> dict[str, pathlib.Path]:
    modules = {}
    for package, folder in _packages_on_disk().items():
        for path in folder.glob("*.py"):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def test_setuptools_lists_every_package_folder():
    assert sorted(PYPROJECT["tool"]["setuptools"]["packages"]) == sorted(_packages_on_disk())


def test_the_readme_layout_table_names_every_server_folder():
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Layout") :]
    table = table[: table.index("\n## ", 1)]
    named = set(re.findall(r"`([\w/]+/)`", table))
    folders = {
        f"{p.relative_to(REPO).as_posix()}/"
        for p in (REPO / "server").rglob("*")
        if p.is_dir() and (p / "__init__.py").exists()
    }
    assert folders <= named, sorted(folders - named)


def _top_level_imports(path: pathlib.Path, module: str, known: set[str]) -> set[str]:
    """The apitwin modules a module imports when it is imported (not inside functions)."""
    tree = ast.parse(path.read_text())
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found |= submodules
            if len(submodules) < len(node.names):  # names defined in the module itself
                found.add(base)
    return {name for name in found if name in known and name != module}


def test_no_import_cycles():
    modules = _modules()
    graph = {m: _top_level_imports(p, m, set(modules)) for m, p in modules.items()}
    # Importing a.b.c runs a/__init__ and a/b/__init__ first: a parent that imports its child at
    # the top is fine, a child that imports its parent's names back is the cycle to catch.
    cycles = []

    def visit(node, trail):
        for target in sorted(graph[node]):
            if target in trail:
                cycle = trail[trail.index(target) :] + [target]
                if not _parent_chain(cycle):
                    cycles.append(" -> ".join(cycle))
            elif target not in done:
                visit(target, trail + [target])
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    assert not cycles, cycles


def _parent_chain(cycle: list[str]) -> bool:
    """A 'cycle' made only of a package importing its own submodule and back through itself."""
    return all(b.startswith(a + ".") or a.startswith(b + ".") for a, b in itertools.pairwise(cycle))
