"""A fast converter from the common LaTeX answer forms to sympy, ahead of latex2sympy2_extended.

Most answers that reach the sympy stage are short expressions: ``\\frac{\\sqrt{2}}{2}``,
``2\\sqrt{3}``, ``(x+1)^2``, ``3+4i``, ``\\frac{1}{2004!}``, ``\\sin(45\\cdot\\frac{\\pi}{180})``,
``\\log_2 8``. latex2sympy2_extended parses them with an ANTLR parser written in Python,
whose first parses in a process are slow: importing it and filling its prediction cache
costs about half a second, and each new shape of expression tens of milliseconds more,
in every process that parses (the verifier's workers included). :func:`convert` is a
hand-written recursive-descent parser for a bounded subset of that grammar (integers,
``+ - * / \\cdot \\times \\div ^ !``, implicit multiplication, ``( )`` and ``{ }``
groups, ``\\frac``, ``\\sqrt``, ``\\sqrt[n]``, letters, Greek letters, ``\\pi``, ``e``,
``\\infty``, ``\\sin``-family, ``\\ln``, ``\\log_b``, ``\\exp``) that builds the very sympy
tree latex2sympy2_extended builds for the same text: the same classes, arguments and
argument order, with ``evaluate=False`` where it uses it, including its quirks (``2 3``
and ``2\\frac{1}{2}`` are mixed numbers, ``1/2x`` is ``1/(2x)``, ``\\sin x y`` is
``\\sin(xy)``, ``\\sin(x) y`` is ``\\sin(x) y``). Anything outside the subset, or any
text whose tokens latex2sympy's lexer would read differently (``dx``, ``tr``, ``E``,
``x^T``, ``f(2)``, subscripts, commas, relations, sets), is declined (None) and
latex2sympy2_extended parses it as before, so the fast path changes speed, never
results. tests/test_math_fast_latex.py checks this tree-for-tree on every answer of the
benchmark corpus and the answer-form tests and on thousands of random expressions of
the subset. Input is bounded (:data:`MAX_CHARS`, :data:`MAX_DEPTH`); nothing here
evaluates a power or a factorial (the size guard in :mod:`prolong.envs.math.parse` runs
on the result as before).
"""

from __future__ import annotations

import re
from typing import Any

import sympy
from sympy.functions.elementary import hyperbolic as _hyperbolic
from sympy.functions.elementary import trigonometric as _trig

__all__ = ["convert", "MAX_CHARS", "MAX_DEPTH"]

MAX_CHARS = 1_000  # longer text is left to latex2sympy2_extended
MAX_DEPTH = 40  # nested groups, fractions, roots, functions and signs
MAX_DIGITS = 5_000  # as parse.MAX_DIGITS: longer digit strings go the library's way
MAX_ROOT = 1_000  # \sqrt[n]{...} with a positive integer n up to this


class _Decline(Exception):
    """The text is outside the subset: latex2sympy2_extended parses it."""


# --------------------------------------------------------------------------- lexer

# token kinds
NUM, LETTER, GREEK, INFTY, EXP_E = "num", "letter", "greek", "infty", "e"
FRAC, SQRT, FUNC = "frac", "sqrt", "func"
ADD, SUB, MUL, DIV, CARET, UNDER, BANG = "+", "-", "*", "/", "^", "_", "!"
LPAREN, RPAREN, LBRACE, RBRACE, LBRACKET, RBRACKET = "(", ")", "{", "}", "[", "]"
END = "end"

_SCAN = re.compile(r"[ \t\r\n]+|[0-9]+|\\[a-zA-Z]+|\\[,;:!]|[a-zA-Z]+|[-+*/^_(){}\[\]!]")

# letter sequences the library's lexer reads as one token (its function and matrix
# names): a run of letters containing one is declined
_KEYWORDS = re.compile(
    r"arsinh|arcsinh|arcosh|arccosh|artanh|arctanh|gcd|lcm|floor|ceil|eye|zeros|ones|cols|rows|"
    r"diag|norm|rank|tr|rref|hstack|vstack|nullspace|orth|eig|svd|SVD"
)
_GREEK = frozenset(
    "alpha beta delta Delta epsilon varepsilon zeta eta theta Theta vartheta iota kappa lambda "
    "Lambda mu nu xi Xi omicron pi Pi varpi rho varrho sigma Sigma varsigma tau upsilon Upsilon "
    "phi Phi varphi chi psi Psi omega Omega".split()
)
_TRIG = frozenset(("sin", "cos", "tan", "csc", "sec", "cot"))
_ARC = frozenset(("arcsin", "arccos", "arctan", "arccsc", "arcsec", "arccot"))
_HYPERBOLIC = frozenset(("sinh", "cosh", "tanh"))
_FUNCS = _TRIG | _ARC | _HYPERBOLIC | {"ln", "log", "exp"}
_COMMANDS = {"frac": FRAC, "dfrac": FRAC, "tfrac": FRAC, "cfrac": FRAC, "sqrt": SQRT,
             "cdot": MUL, "times": MUL, "div": DIV, "infty": INFTY}
_OPS = {"+": ADD, "-": SUB, "*": MUL, "/": DIV, "^": CARET, "_": UNDER, "!": BANG,
        "(": LPAREN, ")": RPAREN, "{": LBRACE, "}": RBRACE, "[": LBRACKET, "]": RBRACKET}
_WS = " \t\r\n"


def _is_letter(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    n = len(text)
    i = 0
    while i < n:
        m = _SCAN.match(text, i)
        if m is None:
            raise _Decline  # anything else: . , | = < > ' % & ; : \{ unicode ...
        s = m.group()
        j = m.end()
        c = s[0]
        if c in _WS:
            pass
        elif c.isdigit():
            if len(s) > MAX_DIGITS:
                raise _Decline
            out.append((NUM, s))
        elif c == "\\":
            name = s[1:]
            if name in (",", ";", ":", "!", "quad", "qquad"):
                pass  # spacing: the library's lexer skips it
            elif name in _COMMANDS:
                out.append((_COMMANDS[name], name))
            elif name in _FUNCS:
                out.append((FUNC, name))
            elif name in _GREEK:
                out.append((GREEK, name))
            else:
                raise _Decline
        elif _is_letter(c):
            if len(s) > 1 and _KEYWORDS.search(s):
                raise _Decline
            for k, ch in enumerate(s):
                if ch == "E":
                    raise _Decline  # scientific notation / the symbol E
                if ch == "e":
                    out.append((EXP_E, ch))
                    continue
                if ch == "d":  # "dx", "d \pi": the library's DIFFERENTIAL token
                    p = i + k + 1
                    while p < n and text[p] in _WS:
                        p += 1
                    if p < n and (_is_letter(text[p]) or (text[p] == "\\" and p + 1 < n and _is_letter(text[p + 1]))):
                        raise _Decline
                out.append((LETTER, ch))
        else:
            if c == "^" and text.startswith("T", j):  # x^T is a transpose
                raise _Decline
            out.append((_OPS[c], c))
        i = j
    out.append((END, ""))
    return out


def _check_tokens(toks: list[tuple[str, str]]) -> None:
    """Decline token patterns the library reads another way: ``f(2)`` / ``x^2(3)`` apply a
    function, ``{x}`` alone is a set, subscripts other than ``\\log_b``, ``x^{T}``."""
    n = len(toks) - 1
    if n == 0:
        raise _Decline
    close = _closing(toks)
    a, b = 0, n - 1
    while toks[a][0] == LPAREN and close[a] == b:  # "(...)" alone is a tuple of its elements
        a, b = a + 1, b - 1
    if toks[a][0] == LBRACE and close[a] == b:
        raise _Decline  # "{x+1}", "({x})": a one-element set
    toks = toks + [(END, "")] * 4  # room to look ahead
    for k in range(n):
        kind = toks[k][0]
        if kind == UNDER and not (k > 0 and toks[k - 1][0] == FUNC and toks[k - 1][1] in ("log", "ln")):
            raise _Decline
        if kind == LBRACKET and not (k > 0 and toks[k - 1][0] == SQRT):
            raise _Decline
        if kind == CARET and toks[k + 1][0] == LBRACE and toks[k + 2] == (LETTER, "T") and toks[k + 3][0] == RBRACE:
            raise _Decline
        if kind in (LETTER, GREEK):
            j = k + 1
            if toks[j][0] == CARET:  # x^2(3) applies x to 3, squared
                j += 1
                j = close[j] + 1 if toks[j][0] == LBRACE else j + 1
            if toks[j][0] == LBRACE and toks[j + 1][0] == LPAREN:
                raise _Decline
            if toks[j][0] == LPAREN and _atom_like(toks, j + 1, close[j], close):
                raise _Decline


def _closing(toks: list[tuple[str, str]]) -> list[int]:
    """For each opening bracket, the index of the one closing it (-1 elsewhere); declines
    unbalanced or too deeply nested brackets."""
    close = [-1] * len(toks)
    stack: list[int] = []
    for j, (kind, _) in enumerate(toks):
        if kind in (LPAREN, LBRACE, LBRACKET):
            stack.append(j)
            if len(stack) > MAX_DEPTH:
                raise _Decline
        elif kind in (RPAREN, RBRACE, RBRACKET):
            if not stack:
                raise _Decline
            close[stack.pop()] = j
    if stack:
        raise _Decline
    return close


def _atom_like(toks: list[tuple[str, str]], a: int, b: int, close: list[int]) -> bool:
    """``toks[a:b]`` might be one atom of the library's grammar (``2``, ``y``, ``\\pi``,
    ``y^2``, ``y^{n+1}``): then ``x(...)`` is a function application there."""
    if b - a < 1 or toks[a][0] not in (NUM, LETTER, GREEK, INFTY):
        return False
    if b - a == 1:
        return True
    if toks[a + 1][0] != CARET:
        return False
    if b - a == 3:
        return True
    return toks[a + 2][0] == LBRACE and close[a + 2] == b - 1


# --------------------------------------------------------------------------- tree building
# The same constructors, in the same order, as latex2sympy2_extended's converter.


def _add_flat(lh: Any, rh: Any) -> Any:
    if lh.is_Add or rh.is_Add:
        args = list(lh.args) if lh.is_Add else [lh]
        args += list(rh.args) if rh.is_Add else [rh]
        return sympy.Add(*args, evaluate=False)
    return sympy.Add(lh, rh, evaluate=False)


def _mul_flat(lh: Any, rh: Any) -> Any:
    lm = getattr(lh, "is_Mul", False)
    rm = getattr(rh, "is_Mul", False)
    if lm or rm:
        args = list(lh.args) if lm else [lh]
        args += list(rh.args) if rm else [rh]
        return sympy.Mul(*args, evaluate=False)
    return sympy.Mul(lh, rh, evaluate=False)


def _minus(e: Any) -> Any:
    """The right side of ``a - b``."""
    return -e if e.func.is_Number else _mul_flat(-1, e)


def _negate(e: Any) -> Any:
    """``-b``."""
    return -e if e.func.is_Number or e.is_Number else _mul_flat(-1, e)


def _divide(lh: Any, rh: Any) -> Any:
    if lh.is_Integer and rh.is_Integer:
        return sympy.Rational(lh, rh)
    return sympy.Mul(lh, sympy.Pow(rh, -1, evaluate=False), evaluate=False)


def _implicit_product(items: list[Any]) -> Any:
    """``2x``, ``2\\frac{1}{2}`` (a mixed number), ``(x+1)(x-1)``: right to left."""
    rh = items[-1]
    for res in reversed(items[:-1]):
        if res.is_Integer and rh.is_Rational and rh.p > 0 and rh.q > 0:
            rh = sympy.Rational(res * rh.q - rh.p, rh.q) if res < 0 else sympy.Rational(res * rh.q + rh.p, rh.q)
        else:
            rh = _mul_flat(res, rh)
    return rh


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks = toks
        self.i = 0
        self.depth = 0

    def kind(self, k: int = 0) -> str:
        return self.toks[self.i + k][0]

    def take(self, kind: str) -> str:
        t = self.toks[self.i]
        if t[0] != kind:
            raise _Decline
        self.i += 1
        return t[1]

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Decline

    def parse(self) -> Any:
        e = self.additive()
        if self.kind() != END:
            raise _Decline
        return e

    def additive(self) -> Any:
        lh = self.mp(False)
        while self.kind() in (ADD, SUB):
            op = self.kind()
            self.i += 1
            rh = self.mp(False)
            lh = _add_flat(lh, rh if op == ADD else _minus(rh))
        return lh

    def group(self, open_: str, close: str) -> Any:
        self.take(open_)
        self.enter()
        e = self.additive()
        self.depth -= 1
        self.take(close)
        return e

    def mp(self, nofunc: bool) -> Any:
        lh = self.unary(nofunc)
        while self.kind() in (MUL, DIV):
            op = self.kind()
            self.i += 1
            rh = self.unary(nofunc)
            lh = _mul_flat(lh, rh) if op == MUL else _divide(lh, rh)
        return lh

    def unary(self, nofunc: bool) -> Any:
        k = self.kind()
        if k in (ADD, SUB):
            self.i += 1
            self.enter()
            v = self.unary(nofunc)
            self.depth -= 1
            return v if k == ADD else _negate(v)
        items = [self.postfix(True)]
        while self.starts_postfix(nofunc):
            items.append(self.postfix(not nofunc))
        return items[0] if len(items) == 1 else _implicit_product(items)

    def starts_postfix(self, nofunc: bool) -> bool:
        k = self.kind()
        if k in (NUM, LETTER, GREEK, INFTY, FRAC, LPAREN, LBRACE):
            return True
        return not nofunc and k in (SQRT, EXP_E, FUNC)

    def postfix(self, allow_func: bool) -> Any:
        e = self.exp(allow_func)
        while self.kind() == BANG:
            self.i += 1
            e = sympy.factorial(e, evaluate=False)
        return e

    def exp(self, allow_func: bool) -> Any:
        base = self.comp(allow_func)
        if self.kind() == CARET:
            base = sympy.Pow(base, self.sup(), evaluate=False)
            if self.kind() in (CARET, UNDER):
                raise _Decline
        return base

    def sup(self) -> Any:
        """``^2``, ``^x``, ``^\\pi``, ``^{...}``: the exponent (an atom or a braced expression)."""
        self.i += 1
        if self.kind() == LBRACE:
            return self.group(LBRACE, RBRACE)
        e = self.atom()
        if self.kind() in (CARET, UNDER):
            raise _Decline  # x^y^z: the atom would take its own exponent
        return e

    def atom(self) -> Any:
        kind, value = self.toks[self.i]
        if kind == NUM:
            self.i += 1
            return sympy.Integer(int(value))
        if kind == LETTER:
            self.i += 1
            if value == "I":
                if self.kind() in (CARET, UNDER):
                    raise _Decline  # the library drops the exponent of I
                return sympy.I
            return sympy.Symbol(value)
        if kind == GREEK:
            self.i += 1
            return sympy.pi if value == "pi" else sympy.Symbol(value)
        if kind == INFTY:
            self.i += 1
            return sympy.oo
        raise _Decline

    def comp(self, allow_func: bool) -> Any:
        k = self.kind()
        if k == LPAREN:
            return self.group(LPAREN, RPAREN)
        if k == LBRACE:
            return self.group(LBRACE, RBRACE)
        if k == FRAC:
            self.i += 1
            top = self.group(LBRACE, RBRACE)
            bottom = self.group(LBRACE, RBRACE)
            return _divide(top, bottom)
        if k in (NUM, LETTER, GREEK, INFTY):
            return self.atom()
        if not allow_func:
            raise _Decline
        if k == SQRT:
            return self.sqrt()
        if k == EXP_E:
            self.i += 1
            if self.kind() != CARET:
                return sympy.exp(1)
            power = self.sup()
            _guard(power)
            return sympy.exp(power)
        if k == FUNC:
            return self.func()
        raise _Decline

    def sqrt(self) -> Any:
        self.i += 1
        root = None
        if self.kind() == LBRACKET:
            root = self.group(LBRACKET, RBRACKET)
            if not (root.is_Integer and 0 < root <= MAX_ROOT):
                raise _Decline
        base = self.group(LBRACE, RBRACE)
        return sympy.Pow(base, 1 / root if root is not None else sympy.S.Half, evaluate=False)

    def func(self) -> Any:
        name = self.take(FUNC)
        self.enter()
        sub = power = None
        if self.kind() == UNDER:
            self.i += 1
            sub = self.group(LBRACE, RBRACE) if self.kind() == LBRACE else self.atom()
            if self.kind() == CARET:
                raise _Decline
        elif self.kind() == CARET:
            power = self.sup()
            if self.kind() == UNDER:
                raise _Decline
        if self.kind() == LPAREN:
            arg = self.group(LPAREN, RPAREN)
        else:
            arg = self.mp(True)
        self.depth -= 1
        if name in ("ln", "log"):
            base = sub if sub is not None else (10 if name == "log" else sympy.E)
            expr = sympy.log(arg, base, evaluate=False)
        elif name == "exp":
            expr = sympy.exp(arg, evaluate=False)
        elif name in _ARC:
            expr = getattr(_trig, "a" + name[3:])(arg, evaluate=False)
        else:
            module = _trig if name in _TRIG else _hyperbolic
            if power == -1:
                name = "a" + name
                power = None
            expr = getattr(module, name)(arg, evaluate=False)
        if power:
            expr = sympy.Pow(expr, power, evaluate=False)
        return expr


def _guard(e: Any) -> None:
    """``e^{...}`` is evaluated (sympy.exp): decline exponents too large to look at."""
    from prolong.envs.math.parse import Unparseable, guard_size

    try:
        guard_size(e)
    except Unparseable:
        raise _Decline from None


def convert(text: str) -> Any | None:
    """The sympy expression latex2sympy2_extended would build for ``text``, or None when
    ``text`` is outside the subset this module reads (see the module docstring)."""
    if len(text) > MAX_CHARS:
        return None
    try:
        toks = _tokens(text)
        _check_tokens(toks)
        return _Parser(toks).parse()
    except (_Decline, RecursionError):
        return None
