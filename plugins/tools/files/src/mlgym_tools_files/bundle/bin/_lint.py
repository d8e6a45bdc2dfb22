"""A small Python linter for edits: syntax and indentation errors, and undefined names.

Standard library only (``ast``), so it runs with the agent's own interpreter inside the sandbox.
The undefined-name check ignores the order of statements (a name bound anywhere in a scope counts
as defined in all of it): it never flags correct code, and catches the typical slip of an edit,
a name that is bound nowhere. A module with ``from x import *`` is not checked for names.
"""

from __future__ import annotations

import ast
import builtins

MODULE_NAMES = {"__file__", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__",
                "__package__", "__path__", "__cached__", "__annotations__", "__dict__"}
CLASS_NAMES = {"__module__", "__qualname__", "__class__"}
KNOWN = set(dir(builtins)) | MODULE_NAMES | CLASS_NAMES | {"exit", "quit", "copyright",
                                                           "credits", "license"}


class Problem:
    """One lint error: a line, a message, and whether it is a syntax error."""

    def __init__(self, line: int, message: str, syntax: bool = False):
        self.line, self.message, self.syntax = line, message, syntax

    def __repr__(self) -> str:
        return f"Problem({self.line}, {self.message!r})"

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def lint(source: str, filename: str = "<edit>") -> list[Problem]:
    """The problems of ``source``: its syntax error if any, else its undefined names."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
        kind = type(exc).__name__
        text = (exc.text or "").rstrip("\n")
        detail = f"{kind}: {exc.msg}" + (f" -> {text.strip()}" if text.strip() else "")
        return [Problem(exc.lineno or 1, detail, syntax=True)]
    except ValueError as exc:  # e.g. source with NUL bytes
        return [Problem(1, f"ValueError: {exc}", syntax=True)]
    return undefined_names(tree)


# --- scopes ---------------------------------------------------------------------------------


class Scope:
    def __init__(self, kind: str, parent: Scope | None):
        self.kind, self.parent = kind, parent  # kind: module, function, class, comprehension
        self.bound: set[str] = set()
        self.globals: set[str] = set()
        self.star_import = False

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def non_comprehension(self) -> Scope:
        scope = self
        while scope.kind == "comprehension" and scope.parent is not None:
            scope = scope.parent
        return scope

    def bind(self, name: str) -> None:
        (self.module() if name in self.globals else self).bound.add(name)

    def defines(self, name: str) -> bool:
        """Whether ``name``, read in this scope, resolves to a binding or a builtin."""
        if name in self.globals:
            return name in self.module().bound or name in KNOWN
        scope, first = self, True
        while scope is not None:
            # a class body's names are visible in the body itself, not in nested functions
            if (scope.kind != "class" or first) and name in scope.bound:
                return True
            scope, first = scope.parent, False
        return name in KNOWN


class _Collector(ast.NodeVisitor):
    """Builds the scope tree and records every name read with the scope it is read in."""

    def __init__(self):
        self.scope = Scope("module", None)
        self.reads: list[tuple[Scope, str, int]] = []

    # names
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.reads.append((self.scope, node.id, node.lineno))
        else:
            self.scope.bind(node.id)

    def visit_NamedExpr(self, node) -> None:
        self.visit(node.value)
        self.scope.non_comprehension().bind(node.target.id)

    def visit_Global(self, node: ast.Global) -> None:
        self.scope.globals.update(node.names)
        self.scope.module().bound.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        pass  # the name is bound in an enclosing function, which the lookup walks through

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.scope.bind(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.scope.module().star_import = True
            else:
                self.scope.bind(alias.asname or alias.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.scope.bind(node.name)
        self.generic_visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        # match patterns (MatchAs, MatchStar, MatchMapping.rest) bind plain strings
        for attr in ("name", "rest"):
            value = getattr(node, attr, None)
            if type(node).__name__.startswith("Match") and isinstance(value, str):
                self.scope.bind(value)
        super().generic_visit(node)

    # scopes
    def _in_scope(self, kind: str, nodes, bind=()) -> None:
        outer, self.scope = self.scope, Scope(kind, self.scope)
        for name in bind:
            self.scope.bind(name)
        for node in nodes:
            self.visit(node)
        self.scope = outer

    def _arguments(self, args: ast.arguments) -> list[str]:
        every = list(getattr(args, "posonlyargs", [])) + args.args + args.kwonlyargs
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        for arg in every:
            if arg.annotation is not None:
                self.visit(arg.annotation)
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        return [a.arg for a in every]

    def visit_FunctionDef(self, node) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        params = self._arguments(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self.scope.bind(node.name)
        type_params = [p.name for p in getattr(node, "type_params", [])]
        self._in_scope("function", node.body, params + type_params)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._in_scope("function", [node.body], self._arguments(node.args))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for child in node.decorator_list + node.bases + [k.value for k in node.keywords]:
            self.visit(child)
        self.scope.bind(node.name)
        type_params = [p.name for p in getattr(node, "type_params", [])]
        self._in_scope("class", node.body, type_params)

    def _comprehension(self, node, results) -> None:
        generators = node.generators
        self.visit(generators[0].iter)  # evaluated in the enclosing scope
        outer, self.scope = self.scope, Scope("comprehension", self.scope)
        for i, gen in enumerate(generators):
            if i:
                self.visit(gen.iter)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for result in results:
            self.visit(result)
        self.scope = outer

    def visit_ListComp(self, node) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])


def undefined_names(tree: ast.AST) -> list[Problem]:
    """Names read somewhere but bound in no enclosing scope and not builtins."""
    collector = _Collector()
    collector.visit(tree)
    if collector.scope.star_import:
        return []
    return [Problem(line, f"undefined name {name!r}")
            for scope, name, line in collector.reads if not scope.defines(name)]
