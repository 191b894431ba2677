"""The import graph of the package (module-level and function-level imports, not TYPE_CHECKING ones).

Shared by tests/test_layers.py (no cycle, imports only go down the layers) and bench/import_graph.py
(the figures the docs quote).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where each part of the `scanner` package lives in the checkout (pyproject.toml's package-dir).
PACKAGE_DIRS = {"scanner": ROOT / "scanner", "scanner.rules": ROOT / "rules", "scanner.reports": ROOT / "reports"}


@dataclass
class ImportGraph:
    modules: dict[str, Path] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)  # module -> modules it imports (any level)
    function_level: set[tuple[str, str]] = field(default_factory=set)  # edges made only inside functions
    function_imports: int = 0  # import statements inside functions (first-party or not)
    loose_parameters: int = 0  # parameters annotated `object` or `Any`
    where: dict[tuple[str, str], int] = field(default_factory=dict)  # edge -> a line that makes it

    def cycles(self) -> list[list[str]]:
        """The strongly connected components with more than one module (Tarjan, iterative)."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []
        counter = 0
        for start in sorted(self.modules):
            if start in index:
                continue
            work = [(start, iter(sorted(self.edges.get(start, ()))))]
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
                        work.append((child, iter(sorted(self.edges.get(child, ())))))
                    elif child in on_stack:
                        low[node] = min(low[node], index[child])
                    continue
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
        return found


def _module_names(root: Path) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for package, folder in PACKAGE_DIRS.items():
        folder = root / folder.relative_to(ROOT)
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if package == "scanner" and parts and parts[0] in ("rules", "reports"):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names[".".join([package, *parts])] = path
    return names


def _targets(module: str, node: ast.AST, is_package: bool, modules: dict[str, Path]) -> list[str]:
    wanted: list[str] = []
    if isinstance(node, ast.Import):
        wanted = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            if not is_package:
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        wanted = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names]
    out = []
    for name in wanted:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module:
            out.append(name)
    return out


def build(root: Path = ROOT) -> ImportGraph:
    """The graph of the checkout at ``root`` (another checkout gives the figures of another revision)."""
    graph = ImportGraph(_module_names(root))
    for module, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        module_level: set[str] = set()
        inside: set[str] = set()

        def visit(node: ast.AST, in_function: bool) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    arguments = child.args
                    for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]:
                        if argument is not None and argument.annotation is not None:
                            if ast.unparse(argument.annotation).strip("'\"") in ("object", "Any", "typing.Any"):
                                graph.loose_parameters += 1
                    visit(child, True)
                elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue  # annotations only: never executed
                elif isinstance(child, (ast.Import, ast.ImportFrom)):
                    if in_function:
                        graph.function_imports += 1
                    for target in _targets(module, child, is_package, graph.modules):
                        (inside if in_function else module_level).add(target)
                        graph.where.setdefault((module, target), child.lineno)
                else:
                    visit(child, in_function)

        visit(tree, False)
        graph.edges[module] = module_level | inside
        graph.function_level |= {(module, target) for target in inside - module_level}
    return graph
