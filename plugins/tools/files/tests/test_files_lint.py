"""The edit linter: it must flag the slips of an edit and never flag correct Python."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parents[1] / "src" / "mlgym_tools_files" / "bundle" / "bin"
_spec = importlib.util.spec_from_file_location("_lint", BIN / "_lint.py")
lint_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lint_module)


def lint(source: str) -> list[str]:
    return [str(p) for p in lint_module.lint(textwrap.dedent(source))]


CORRECT = {
    "closures and nonlocal": """
        def counter():
            count = 0
            def bump():
                nonlocal count
                count += 1
                return count
            return bump
    """,
    "use before definition in functions": """
        def main():
            return helper()
        def helper():
            return CONSTANT
        CONSTANT = 3
    """,
    "comprehensions and walrus": """
        rows = [[1, 2], [3]]
        flat = [x for row in rows for x in row if x]
        table = {k: v for k, v in enumerate(flat)}
        if (n := len(flat)) > 2:
            print(n, table, {y for y in range(n)}, sum(z for z in flat))
        print([w for _ in range(2) if (w := 5)], w)
    """,
    "class bodies": """
        class Model:
            size = 3
            doubled = [size * 2]
            def forward(self, x: "Tensor") -> int:
                return x * self.size + len(__class__.__name__)
            @property
            def name(self):
                return type(self).__qualname__ + __name__
    """,
    "exceptions, with, imports, globals, del": """
        import os.path
        from collections import OrderedDict as OD
        counter = 0
        def f(path):
            global counter, created_later
            counter += 1
            created_later = 1
            try:
                with open(path) as handle, open(os.path.join(path, 'x')) as other:
                    data = handle.read() + other.read()
            except (OSError, ValueError) as error:
                data = str(error)
            del data
            return OD(), __file__, created_later
    """,
    "lambdas, decorators, defaults, star args": """
        import functools
        @functools.lru_cache(maxsize=None)
        def g(a, b=len, *args, c=1, **kwargs):
            return (lambda x, y=a: x + y + c)(b(args), **kwargs)
    """,
    "match statements": """
        def area(shape):
            match shape:
                case {"kind": "square", "side": side}:
                    return side ** 2
                case [first, *rest]:
                    return first + len(rest)
                case Point(x=0) as origin:
                    return origin
                case _:
                    return 0
        class Point:
            x = 0
    """,
    "star imports disable the name check": """
        from math import *
        print(pi, tau)
    """,
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_code_is_not_flagged(name):
    assert lint(CORRECT[name]) == []


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    return undefined_thing\n", ["line 2: undefined name 'undefined_thing'"]),
    ("class A:\n    k = 1\n    def m(self):\n        return k\n", ["line 4: undefined name 'k'"]),
    ("[x for x in range(3)]\nprint(x)\n", ["line 2: undefined name 'x'"]),
    ("import numpy as np\nnumpy.zeros(3)\n", ["line 2: undefined name 'numpy'"]),
    ("def f(:\n    pass\n", ["line 1: SyntaxError: invalid syntax -> def f(:"]),
    ("if True:\nprint(1)\n", ["line 2: IndentationError: expected an indented block after 'if' "
                              "statement on line 1 -> print(1)"]),
    ("def f():\n\tx = 1\n        return x\n", None),  # tabs and spaces mixed
])
def test_slips_are_flagged_with_their_line(source, expected):
    problems = lint(source)
    if expected is None:
        assert len(problems) == 1
        assert "TabError" in problems[0] or "IndentationError" in problems[0]
    else:
        assert problems == expected
