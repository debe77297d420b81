"""A safe formula parser for typed datasets: text -> a small tree, never `eval`.

`parse_formula("exp(sin(pi*x_1) + x_2^2)", n_var=2)` returns a `Formula` that evaluates vectorised on a
torch tensor (N, n) -> (N,), builds the matching sympy expression by construction (sympy.sin(...), never
`sympify` of the text) and reports which variables it uses.

Accepted text (everything else is refused with a `FormulaError` saying what and where):

- numbers: ``2``, ``0.5``, ``.5``, ``1e-3`` (finite, |value| <= MAX_NUMBER)
- variables: ``x_1`` .. ``x_n`` (1-based), also ``x1`` .. ``xn``; the aliases ``x``, ``y``, ``z`` mean x_1, x_2, x_3
- constants: ``pi``, ``e``
- operators: ``+ - * /``, powers ``^`` or ``**`` (right-associative, binding tighter than unary minus:
  ``-x^2`` is -(x^2)), unary ``-`` and ``+``, parentheses
- functions (FUNCTIONS): sin cos tan exp log sqrt abs tanh sigmoid sinh cosh arcsin/asin arccos/acos arctan/atan,
  and the two-argument min(a, b), max(a, b)

Limits: MAX_LENGTH characters, MAX_TOKENS tokens, MAX_DEPTH nesting, constant exponents up to MAX_EXPONENT
in magnitude. Multiplication is never implicit (``2x`` is refused: write ``2*x``).
"""
from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch
from torch import Tensor

from kanwidget.core.expression_tree import (
    CONSTANTS,
    FUNCTIONS,
    Binary,
    Call,
    Const,
    Num,
    Unary,
    Var,
)
from kanwidget.core.lazy import LazyModule

sympy = LazyModule("sympy")

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_NUMBER",
    "MAX_TOKENS",
    "MAX_VARIABLE",
    "Formula",
    "FormulaError",
    "parse_formula",
]

MAX_LENGTH = 500
MAX_TOKENS = 300
MAX_DEPTH = 40
MAX_EXPONENT = 100.0
MAX_NUMBER = 1e15
MAX_VARIABLE = 1000


class FormulaError(ValueError):
    """A formula that cannot be parsed or is outside the limits; `position` is the 1-based column (or None)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


_ALIASES = {"x": 1, "y": 2, "z": 3}
_VARIABLE = re.compile(r"x_?([0-9]+)\Z")
_TOKEN = re.compile(r"\s*(?:(?P<num>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>\*\*|[-+*/^(),]))")


@dataclass(frozen=True)
class _Token:
    kind: str      # "num" | "name" | "op" | "end"
    text: str
    column: int    # 1-based


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class Formula:
    """A parsed formula: `text`, its `tree`, the 1-based `variables` it uses; call it on (N, n) tensors."""
    text: str
    tree: Any
    variables: tuple[int, ...]

    @property
    def n_var(self) -> int:
        """The highest variable index used (0 for a constant formula)."""
        return max(self.variables, default=0)

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate on x (N, n) with n >= n_var; returns (N,) in x's dtype."""
        if not isinstance(x, Tensor) or x.dim() != 2:
            raise ValueError(f"x must be a 2-D tensor (N, n), got {getattr(x, 'shape', type(x).__name__)}")
        if x.shape[1] < self.n_var:
            raise ValueError(f"x has {x.shape[1]} columns but the formula uses x_{self.n_var}")
        if not x.is_floating_point():
            x = x.to(torch.get_default_dtype())
        y = self.tree.eval(x)
        return y.expand(x.shape[0]).clone() if y.dim() == 0 else y

    def to_sympy(self, names: Sequence[Any] | None = None) -> Any:
        """The sympy expression, built node by node; `names`: symbols for x_1.. (default Symbol('x_k'))."""
        count = max(self.n_var, len(names) if names is not None else 0)
        symbols = list(names) if names is not None else [sympy.Symbol(f"x_{k + 1}") for k in range(count)]
        if len(symbols) < self.n_var:
            raise ValueError(f"names has {len(symbols)} entries but the formula uses x_{self.n_var}")
        return self.tree.sym(symbols)

    def latex(self) -> str:
        return sympy.latex(self.to_sympy())


# ------------------------------------------------------------------ parsing
def _show(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup is None:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            ch = text[col - 1]
            why = {".": " (attribute access is not allowed)", "'": " (strings are not allowed)",
                   '"': " (strings are not allowed)", ":": " (lambda and slices are not allowed)",
                   "[": " (indexing is not allowed)", "=": " (assignment and comparison are not allowed)"}.get(ch, "")
            raise FormulaError(f"formula (column {col}): unexpected character {ch!r}{why}", col)
        kind = m.lastgroup
        tokens.append(_Token(kind, m.group(kind), m.start(kind) + 1))
        if len(tokens) > MAX_TOKENS:
            raise FormulaError(f"formula (column {m.start(kind) + 1}): too many tokens (more than {MAX_TOKENS}); "
                               "write a shorter formula", m.start(kind) + 1)
        pos = m.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent: expr := term (+|- term)*; term := unary (*|/ unary)*; unary := (-|+) unary | power;
    power := atom ((^|**) unary)?; atom := number | name | name '(' args ')' | '(' expr ')'."""

    def __init__(self, text: str, n_var: int | None) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0
        self.n_var = n_var
        self.used: set[int] = set()

    @property
    def tok(self) -> _Token:
        return self.tokens[self.at]

    def fail(self, message: str, tok: _Token | None = None) -> FormulaError:
        tok = tok or self.tok
        where = "at the end" if tok.kind == "end" else f"column {tok.column}"
        return FormulaError(f"formula ({where}): {message}", tok.column)

    def take(self, text: str) -> bool:
        if self.tok.kind == "op" and self.tok.text == text:
            self.at += 1
            return True
        return False

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels")

    def parse(self) -> Any:
        if self.tok.kind == "end":
            raise FormulaError("formula is empty: type an expression in x_1, x_2, ... such as sin(pi*x_1)", None)
        tree = self.expr()
        if self.tok.kind != "end":
            if self.tok.text == ")":
                raise self.fail("unbalanced ')': no '(' to close")
            raise self.fail(f"expected an operator before {self.tok.text!r} (multiplication is never implicit: "
                            "write 2*x, not 2x)")
        return tree

    def expr(self) -> Any:
        self.enter()
        left = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.tok.text
            self.at += 1
            left = Binary(op, left, self.term())
        self.depth -= 1
        return left

    def term(self) -> Any:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op = self.tok.text
            self.at += 1
            left = Binary(op, left, self.unary())
        return left

    def unary(self) -> Any:
        if self.tok.kind == "op" and self.tok.text in "+-":
            negate = self.tok.text == "-"
            self.at += 1
            self.enter()
            inner = self.unary()
            self.depth -= 1
            return Unary(inner) if negate else inner
        return self.power()

    def power(self) -> Any:
        base = self.atom()
        if self.tok.kind == "op" and self.tok.text in ("^", "**"):
            tok = self.tok
            self.at += 1
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            value = exponent.const()
            if value is not None and not (abs(value) <= MAX_EXPONENT):
                raise FormulaError(f"formula (column {tok.column}): the exponent after {tok.text!r} is "
                                   f"{value:g}; exponents are limited to magnitude {MAX_EXPONENT:g}", tok.column)
            _check_constant_power(base.const(), value, tok)
            return Binary("^", base, exponent)
        return base

    def atom(self) -> Any:
        tok = self.tok
        if tok.kind == "num":
            self.at += 1
            return _number(tok)
        if tok.kind == "name":
            self.at += 1
            return self.name(tok)
        if self.take("("):
            inner = self.expr()
            if not self.take(")"):
                raise self.fail(f"unbalanced '(' (opened at column {tok.column}): expected ')'")
            return inner
        if tok.kind == "end":
            raise self.fail("the formula ends early: expected a number, variable, function or '('")
        raise self.fail(f"unexpected {tok.text!r}: expected a number, variable, function or '('")

    def name(self, tok: _Token) -> Any:
        name = tok.text
        call = self.tok.kind == "op" and self.tok.text == "("
        if name in FUNCTIONS:
            if not call:
                raise self.fail(f"function {name!r} needs parentheses, as in {name}(x_1)", tok)
            return self.call(tok)
        if call:
            raise self.fail(f"unknown function {name!r}{_suggest(name, FUNCTIONS)}; allowed: "
                            f"{', '.join(FUNCTIONS)}", tok)
        if name in CONSTANTS:
            return Const(name)
        index = _variable_index(name)
        if index is None:
            raise self.fail(f"unknown name {name!r}{_suggest(name, [*CONSTANTS, *_ALIASES, 'x_1', 'x_2'])}; "
                            "variables are x_1 .. x_n (or x, y, z), constants pi and e", tok)
        if index < 1:
            raise self.fail(f"variable {name!r}: variables are numbered from 1 (x_1, x_2, ...)", tok)
        if self.n_var is not None and index > self.n_var:
            raise self.fail(f"variable {name!r} is beyond x_{self.n_var}: the data has {self.n_var} input"
                            f"{'s' if self.n_var != 1 else ''}", tok)
        if index > MAX_VARIABLE:
            raise self.fail(f"variable {name!r} is beyond x_{MAX_VARIABLE}, the largest index allowed", tok)
        self.used.add(index)
        return Var(index)

    def call(self, tok: _Token) -> Any:
        spec = FUNCTIONS[tok.text]
        self.at += 1                   # "("
        self.enter()
        args = [self.expr()]
        while self.take(","):
            args.append(self.expr())
        if not self.take(")"):
            raise self.fail(f"unbalanced '(' of {tok.text}( at column {tok.column}: expected ')' or ','")
        self.depth -= 1
        if len(args) != spec.arity:
            raise self.fail(f"{tok.text} takes {spec.arity} argument{'s' if spec.arity != 1 else ''}, "
                            f"got {len(args)}", tok)
        return Call(tok.text, tuple(args))


def _check_constant_power(base: float | None, exponent: float | None, tok: _Token) -> None:
    """A power of constants must stay within the float range (its exact sympy value is built later)."""
    if base is None or exponent is None:
        return
    try:
        math.pow(base, exponent)
    except OverflowError:
        raise FormulaError(f"formula (column {tok.column}): the power {base:g}{tok.text}{exponent:g} is beyond "
                           "the float range", tok.column) from None
    except ValueError:          # a complex or undefined value: left to evaluation (NaN), no size risk
        pass


def _suggest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name.lower(), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _variable_index(name: str) -> int | None:
    if name in _ALIASES:
        return _ALIASES[name]
    m = _VARIABLE.match(name)
    if m is None or len(m.group(1)) > 6:
        return None
    return int(m.group(1))


def _number(tok: _Token) -> Num:
    mantissa, _, power = tok.text.lower().partition("e")
    digits = mantissa.replace(".", "").lstrip("0")
    shift = int(power) if power and len(power.lstrip("+-")) <= 6 else (10 ** 7 if power else 0)
    if power.startswith("-"):
        shift = -abs(shift)
    if digits and shift > 400:
        raise FormulaError(f"formula (column {tok.column}): the number {_show(tok.text)} is too large "
                           f"(limit {MAX_NUMBER:g})", tok.column)
    if digits and shift < -400:
        raise FormulaError(f"formula (column {tok.column}): the number {_show(tok.text)} is too small "
                           "(it rounds to 0)", tok.column)
    exact = Fraction(mantissa) * Fraction(10) ** shift if digits else Fraction(0)   # the text is digits only
    if exact.numerator.bit_length() - exact.denominator.bit_length() > 60 or float(exact) > MAX_NUMBER:
        raise FormulaError(f"formula (column {tok.column}): the number {_show(tok.text)} is too large "
                           f"(limit {MAX_NUMBER:g})", tok.column)
    value = float(exact)
    if value == 0.0 and exact != 0:
        raise FormulaError(f"formula (column {tok.column}): the number {_show(tok.text)} is too small "
                           "(it rounds to 0)", tok.column)
    return Num(value, exact)


def parse_formula(text: Any, n_var: int | None = None) -> Formula:
    """Parse `text` into a Formula; `n_var` bounds the variables (x_1..x_n_var). Raises FormulaError."""
    if not isinstance(text, str):
        raise FormulaError(f"formula must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is too long: {len(text)} characters (the limit is {MAX_LENGTH})")
    if n_var is not None and (isinstance(n_var, bool) or not isinstance(n_var, int) or n_var < 1):
        raise FormulaError(f"n_var must be a positive integer, got {n_var!r}")
    parser = _Parser(text, n_var)
    tree = parser.parse()
    return Formula(text, tree, tuple(sorted(parser.used)))
