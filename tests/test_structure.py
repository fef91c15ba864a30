"""The shape of the package, read from its source with ``ast``: no import
cycle, click only in the command layer, the terminal only there and in
amicli/output.py, and no module over 500 lines.

Every import counts, those inside functions too.  Imports under ``if
TYPE_CHECKING:`` never run, so they do not count as using click, but they
do count in the import graph: a circle of type hints is a circle to read.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "amicli"

#: Modules left out of these checks (a module name, or a package name
#: standing for everything under it), e.g. while one is redone elsewhere.
EXCLUDED: tuple[str, ...] = ()

#: The command layer: the only modules that may import click.
COMMAND_LAYER = ("amicli.cli", "amicli.commands", "amicli.options", "amicli.context", "amicli.completion_values")
#: The only modules that may write to the terminal (sys.stdout, sys.stderr, print).
TERMINAL = (*COMMAND_LAYER, "amicli.output")

MAX_LINES = 500


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if not _within(name, EXCLUDED):
            out[name] = path
    return out


MODULES = _modules()


@functools.cache  # the checks walk each module's tree several times; none changes it
def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"), str(MODULES[name]))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, *, typing: bool = False):
    """Every node that runs, anywhere in the module (``if TYPE_CHECKING:`` bodies only with ``typing``)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if not typing and isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _imports(name: str, *, typing: bool = False) -> set[str]:
    """The absolute names of every module ``name`` imports (as written, submodules resolved)."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(_tree(name), typing=typing):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from . import protocol`` imports the module ``protocol``;
            # ``from .client import Client`` takes a name from ``client``.
            submodules = {f"{base}.{alias.name}" for alias in node.names} & set(MODULES)
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(base)
    return found


def _graph() -> dict[str, set[str]]:
    return {name: {m for m in _imports(name, typing=True) if m in MODULES and m != name} for name in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_checks_see_the_package() -> None:
    assert {"amicli.cli", "amicli.client", "amicli.events", "amicli.events.pipeline", "amicli.output"} <= set(MODULES)
    assert "amicli.protocol" in _imports("amicli.client")
    assert "amicli.client" in _imports("amicli.events.pipeline")
    assert "amicli.protocol" in _imports("amicli.client")  # from . import protocol


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("name", [n for n in MODULES if not _within(n, COMMAND_LAYER)])
def test_only_the_command_layer_imports_click(name: str) -> None:
    click = sorted(m for m in _imports(name) if m == "click" or m.startswith("click."))
    assert not click, f"{name} imports {click}: only the command layer may"


@pytest.mark.parametrize("name", [n for n in MODULES if not _within(n, TERMINAL)])
def test_only_the_command_layer_and_output_use_the_terminal(name: str) -> None:
    found = []
    for node in _nodes(_tree(name)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"print() on line {node.lineno}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("stdout", "stderr", "__stdout__", "__stderr__")
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append(f"sys.{node.attr} on line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            found += [f"from sys import {a.name}" for a in node.names if a.name in ("stdout", "stderr")]
    assert not found, f"{name}: {', '.join(found)}"


@pytest.mark.parametrize("name", list(MODULES))
def test_no_module_is_over_500_lines(name: str) -> None:
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(PACKAGE.parent)}: {lines} lines"
