"""Math answer equivalence and :class:`MathVerifier`.

A response is scored in two stages:

1. **In process, no sympy** (microseconds): extract the final answer, normalise both
   sides, compare strings, multiple-choice letters, text, structure (tuples, sets,
   intervals, matrices, equations) and exact numbers (integers, decimals, fractions,
   mixed numbers, percentages, scientific notation). Most responses are decided here.
2. **sympy** (milliseconds) for what is left (radicals, pi, symbolic expressions,
   equations): both sides are parsed (common forms by :mod:`prolong.envs.math.fast_latex`,
   the rest by latex2sympy2_extended, to the same trees) behind size guards and
   compared exactly (rationals), to 45 significant digits (constants) or at random
   points plus exact cancellation (expressions). This stage runs in a worker process
   of :class:`prolong.pool.WorkerPool` with a killable deadline of
   :data:`SYMPY_DEADLINE` seconds, or directly when already inside a pool worker.

Tolerance policy (also in docs/math.md):

* exact values are compared exactly: ``0.5 == 1/2``, but ``0.333 != 1/3`` and
  ``0.142857 != 1/7``; ``1/2004!`` is not ``1/2006!``;
* a gold written as a decimal is taken as rounded: an answer within half a unit of
  its last digit is right (gold ``0.33`` accepts ``1/3``, ``0.333`` and ``0.334``, not
  ``0.34`` or ``0.3``);
* ``%`` is an optional unit: gold ``50\\%`` accepts ``50\\%``, ``50`` and ``0.5``;
  gold ``0.5`` accepts ``50\\%``;
* ``^\\circ`` is an optional unit: gold ``30^\\circ`` accepts ``30`` and ``\\pi/6``
  (radians, exactly); gold ``\\pi/6`` accepts ``30^\\circ`` but not ``30``.

The gold answer is untrusted input like the response (HTTP clients, data files, other
RL stacks): it is never evaluated as code and never names a file. latex2sympy2_extended
parses LaTeX with an ANTLR grammar; the only strings it hands to sympy's ``sympify``
(which evaluates Python) are the texts of its number tokens (digits, separators,
``e`` notation). A gold that cannot be used gives reward 0 with reason
``invalid ground truth`` (:data:`prolong.core.Reason.INVALID_ANSWER`) and a note saying
what is wrong: not text or a number (dict, None, nested list, NaN), an integer of
more than :data:`MAX_GOLD_CHARS` digits, text longer than :data:`MAX_GOLD_CHARS`
(compared as text only), unbalanced or nested deeper than the parser's bound, not
parseable by sympy, or too large to evaluate (``9^{9^{9^{9}}}``, ``10^{10^{10}}!``).
A gold whose backslashes are all doubled (``\\\\frac{1}{2}``, JSON escaped twice) is
read with single backslashes.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import numbers
import random
import re
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from prolong.core import Problem, Reason, Verdict
from prolong.envs.math.extract import (
    Extraction,
    clean_text,
    extract_answer,
    extract_boxed,
    joined_gold_boxes,
    undouble_backslashes,
)
from prolong.envs.math.parse import (
    MAX_ITEMS,
    Equation,
    Matrix,
    Node,
    Number,
    Relation,
    Scalar,
    Seq,
    Text,
    TooLarge,
    Union,
    Unparseable,
    has_variables,
    is_simple_lhs,
    normalize,
    parse_choice,
    parse_choices,
    parse_choice_with_value,
    parse_number,
    parse_structure,
    squash,
    text_words,
    to_sympy,
)
from prolong.pool import CallError, CallTimeout, WorkerPool, cpu_count, in_worker

__all__ = [
    "MathVerifier",
    "Judgement",
    "judge",
    "answers_match",
    "SYMPY_DEADLINE",
    "STARTUP_ALLOWANCE",
    "MAX_GOLD_CHARS",
    "InvalidGold",
    "parse_gold",
    "gold_text",
]

SYMPY_DEADLINE = 3.0  # seconds for the sympy stage of one comparison (a killable worker call)
STARTUP_ALLOWANCE = 1.0  # extra seconds for a worker's first call (forked: already warm)
STARTUP_ALLOWANCE_SPAWN = 8.0  # where workers cannot be forked and import sympy themselves
MAX_GOLD_CHARS = 2_000
WORKER_MEMORY_MB = 2_048  # address space a worker may add to what it starts with
_REL_TOL_DIGITS = 45  # constants agree to 45 significant digits (evaluated at 60)


@dataclass(frozen=True)
class Judgement:
    """The outcome of comparing one answer with one gold.

    ``correct`` is None when the in-process stage could not decide (sympy needed).
    """

    correct: bool | None
    path: str
    note: str | None = None
    reason: str | None = None

    def as_tuple(self) -> tuple:
        return (self.correct, self.path, self.note, self.reason)


class _NeedSympy(Exception):
    pass


class _Ctx:
    __slots__ = ("sympy", "path")

    def __init__(self, use_sympy: bool) -> None:
        self.sympy = use_sympy
        self.path = "structure"

    def used(self, path: str) -> None:
        order = ("string", "structure", "choice", "text", "numeric", "sympy")
        if order.index(path) > order.index(self.path):
            self.path = path


# --------------------------------------------------------------------------- numbers


def _number_candidates(n: Number, percent: bool) -> list[tuple[Any, Any]]:
    out = [(n.value, n.tol)]
    if percent:
        out.append((n.value / 100, n.tol / 100 if n.tol is not None else None))
    return out


def _numbers_equal(g: Number, gp: bool, a: Number, ap: bool, atol: Any = None) -> bool:
    answers = [v for v, _ in _number_candidates(a, ap)]
    for gv, tol in _number_candidates(g, gp):
        for av in answers:
            if av == gv or (tol is not None and abs(av - gv) <= tol):
                return True
    return atol is not None and not gp and not ap and abs(a.value - g.value) <= atol


FLOAT_DIGITS = 10  # a decimal answer with 10 to 20 significant digits is a float rendering
FLOAT_DIGITS_MAX = 20
_PLAIN_DECIMAL = re.compile(r"[+-]?(\d*)\.(\d+)")


def _float_tol(text: str, num: Number | None) -> Any:
    """One unit of the last digit of a decimal answer of at least FLOAT_DIGITS significant
    digits (``0.0833333333333333`` for 1/12, ``1.4142135624`` for \\sqrt2: rounded or cut
    off), else None: ``0.333`` is not 1/3, and ``0.30000000000000004`` is not 3/10."""
    if num is None or num.tol is None:
        return None
    m = _PLAIN_DECIMAL.fullmatch(text.strip())
    if not m or not FLOAT_DIGITS <= len((m.group(1) + m.group(2)).lstrip("0")) <= FLOAT_DIGITS_MAX:
        return None
    return 2 * num.tol


# --------------------------------------------------------------------------- sympy compare


def _is_number(x: Any) -> bool:
    import sympy

    return isinstance(x, sympy.Number) and x.is_finite is not False


def _evalf(e: Any, prec: int = 60) -> tuple[Any, Any] | None:
    """(re, im) of a constant at ``prec`` digits, or None if it is not a finite number."""
    import sympy

    try:
        v = sympy.N(e, prec)
    except Exception:  # noqa: BLE001
        return None
    if v.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo) or v.free_symbols:
        return None
    re_, im_ = v.as_real_imag()
    if not (_is_number(re_) or re_ == 0) or not (_is_number(im_) or im_ == 0):
        return None
    return sympy.Float(re_, prec), sympy.Float(im_, prec)


def _const_equal(g: Any, a: Any, tol: Any) -> bool:
    """Two constants: exact when both are rational, else agreement to 45 digits; a
    decimal gold (``tol``) accepts anything within half a unit of its last digit."""
    import sympy

    try:
        g2, a2 = g.doit(), a.doit()
    except Exception:  # noqa: BLE001
        g2, a2 = g, a
    if g2.has(sympy.zoo, sympy.nan) or a2.has(sympy.zoo, sympy.nan):
        return False  # 1/0 is not an answer, and two undefined values are not equal
    if g2 == a2:
        return True
    if g2.is_Rational and a2.is_Rational:
        return tol is not None and abs(a2 - g2) <= sympy.Rational(tol.numerator, tol.denominator)
    if g2.has(sympy.oo, -sympy.oo, sympy.zoo) or a2.has(sympy.oo, -sympy.oo, sympy.zoo):
        return bool(g2 == a2)
    vg, va = _evalf(g2), _evalf(a2)
    if vg is None or va is None:
        return False
    dre, dim = abs(vg[0] - va[0]), abs(vg[1] - va[1])
    if tol is not None:
        t = sympy.Float(sympy.Rational(tol.numerator, tol.denominator), 60)
        return bool(dim <= t * sympy.Float("1e-30") + sympy.Float("1e-50") and dre <= t * (1 + sympy.Float("1e-30")))
    scale = max(abs(vg[0]), abs(vg[1]), abs(va[0]), abs(va[1]))
    if scale == 0:
        return True
    if not bool(max(dre, dim) <= scale * sympy.Float(10) ** (-_REL_TOL_DIGITS)):
        return False
    return not _provably_nonzero(g2 - a2)


def _provably_nonzero(d: Any) -> bool:
    """``d`` evaluates to a nonzero number with real significant digits (sympy's adaptive
    evalf raises its working precision where terms cancel): ``\\sqrt2 + 10^{-100}`` is
    not ``\\sqrt2``, though the two agree to 45 digits. A difference that is exactly zero
    but not simplified evaluates to ``0.e-120`` (no significant digit)."""
    import sympy

    if d == 0:
        return False
    try:
        v = sympy.N(d, 15, maxn=400)
    except Exception:  # noqa: BLE001
        return False
    for part in v.as_real_imag():
        if isinstance(part, sympy.Float) and part != 0 and getattr(part, "_prec", 0) > 8:
            return True
        if part.is_Rational and part != 0:
            return True
    return False


_INTEGER_NAMES = {"n", "k", "m", "j", "N", "K", "M"}


def _points(symbols: list[Any], count: int) -> list[dict[Any, Any]]:
    import sympy

    rng = random.Random(20260101)
    pts = []
    for k in range(count):
        p = {}
        for s in symbols:
            if str(s) in _INTEGER_NAMES:
                p[s] = sympy.Integer(rng.randint(2, 9))
            else:  # 60-digit floats: x^(10^5) or x^x^x at a point cannot blow up like exact rationals
                sign = 1 if k < count // 2 else rng.choice((1, -1))  # positive points first, then mixed
                v = sympy.Rational(sign * rng.randint(11, 97), rng.randint(3, 17))
                p[s] = sympy.Float(v, 60)
        pts.append(p)
    return pts


def _is_rational_function(e: Any) -> bool:
    import sympy

    for node in sympy.preorder_traversal(e):
        if isinstance(node, sympy.Function) or isinstance(node, (sympy.Float,)):
            return False
        if isinstance(node, sympy.Pow) and not (node.exp.is_Integer and abs(int(node.exp)) <= 50):
            return False
        if node.is_Number and not node.is_Rational:
            return False
        if isinstance(node, sympy.NumberSymbol) or node is sympy.I:
            return False
    return True


def _is_polynomial(e: Any) -> bool:
    """No division by anything but numbers (called on rational functions only)."""
    import sympy

    for node in sympy.preorder_traversal(e):
        if isinstance(node, sympy.Pow) and node.exp.is_negative and node.base.free_symbols:
            return False
    return True


def _values_at(e: Any, pts: list[dict[Any, Any]]) -> list[tuple[Any, Any] | None]:
    out = []
    for p in pts:
        try:
            out.append(_evalf(e.xreplace(p), 50))
        except Exception:  # noqa: BLE001
            out.append(None)
    return out


def _close(x: tuple[Any, Any], y: tuple[Any, Any], digits: int = 30) -> bool:
    import sympy

    scale = max(abs(x[0]), abs(x[1]), abs(y[0]), abs(y[1]))
    if scale == 0:
        return True
    return bool(max(abs(x[0] - y[0]), abs(x[1] - y[1])) <= scale * sympy.Float(10) ** (-digits))


def _expr_equal(g: Any, a: Any) -> bool:
    """Two expressions with free symbols: exact cancellation for rational functions,
    else agreement at random points (rational points; integers for n, k, m)."""
    import sympy

    if g == a:
        return True
    if _is_rational_function(g) and _is_rational_function(a):
        try:
            if _is_polynomial(g) and _is_polynomial(a):
                return sympy.expand(g - a) == 0  # canonical: zero exactly when equal
            return sympy.cancel(sympy.together(g - a)) == 0
        except Exception:  # noqa: BLE001
            pass
    symbols = sorted(g.free_symbols | a.free_symbols, key=str)
    pts = _points(symbols, 6)
    vg, va = _values_at(g, pts), _values_at(a, pts)
    agree = 0
    for x, y in zip(vg, va):
        if x is None and y is None:
            continue
        if x is None or y is None:
            return False
        if not _close(x, y):
            return False
        agree += 1
    if agree >= 3:
        return True
    try:
        return sympy.simplify(g - a) == 0
    except Exception:  # noqa: BLE001
        return False


def _proportional(d1: Any, d2: Any) -> bool:
    """``d1 = k * d2`` for a constant k != 0 (equations ``d1 = 0`` and ``d2 = 0`` agree)."""
    import sympy

    if d1 == d2 or d1 == -d2:
        return True
    if d1 == 0 or d2 == 0:
        return d1 == d2
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=str)
    if not symbols:
        return False
    if _is_rational_function(d1) and _is_rational_function(d2):
        try:
            k = sympy.cancel(sympy.together(d1 / d2))
            return not k.free_symbols and k != 0
        except Exception:  # noqa: BLE001
            pass
    pts = _points(symbols, 6)
    v1, v2 = _values_at(d1, pts), _values_at(d2, pts)
    ratio = None
    seen = 0
    for x, y in zip(v1, v2):
        if x is None or y is None:
            continue
        if not (y[0] or y[1]) or not (x[0] or x[1]):  # a zero (sympy Floats never == 0)
            if (y[0] or y[1]) or (x[0] or x[1]):
                return False
            continue
        r = complex(x[0], x[1]) / complex(y[0], y[1])
        if ratio is None:
            ratio = r
        elif abs(r - ratio) > 1e-9 * max(1.0, abs(ratio)):
            return False
        seen += 1
    return seen >= 3


def _sympy_scalar_equal(g: Scalar, a: Scalar, gnum: Number | None) -> bool:
    import sympy

    ge = _explicit_matrix(_gold_to_sympy(g.text))
    ae = _explicit_matrix(to_sympy(a.text))
    if isinstance(ge, sympy.MatrixBase) or isinstance(ae, sympy.MatrixBase):
        if not (isinstance(ge, sympy.MatrixBase) and isinstance(ae, sympy.MatrixBase)) or ge.shape != ae.shape:
            return False
        return all(_sympy_value_equal(x, y, None) for x, y in zip(ge, ae))
    # degrees and percent are optional units (see the module docstring)
    tol = gnum.tol if gnum is not None else None
    if tol is None and not ge.free_symbols:
        atol = _float_tol(a.text, parse_number(a.text))  # 1.4142135624 for \sqrt2
        if atol is not None:
            tol = atol
    golds: list[tuple[Any, Any]] = [(ge, tol)]
    answers = [ae]
    if g.percent:
        golds.append((ge / 100, tol / 100 if tol is not None else None))
    if a.percent:
        answers.append(ae / 100)
    if g.degree and not a.degree and ae.has(sympy.pi):
        golds.append((ge * sympy.pi / 180, None))
    if a.degree and not g.degree and ge.has(sympy.pi):
        answers = [ae * sympy.pi / 180]
    return any(_sympy_value_equal(x, y, t) for x, t in golds for y in answers)


_MAX_MATRIX_CELLS = MAX_ITEMS


def _explicit_matrix(e: Any) -> Any:
    """``A + B``, ``A B``, ``2A`` of explicit matrices (unevaluated sympy matrix
    expressions) as one explicit matrix; anything else as it is."""
    import sympy

    if isinstance(e, sympy.MatrixExpr) and not isinstance(e, sympy.MatrixBase):
        if any(m.shape[0] * m.shape[1] > _MAX_MATRIX_CELLS for m in e.atoms(sympy.MatrixBase)):
            raise TooLarge("matrix too large")
        return sympy.Matrix(e.doit())
    return e


def _matrix_vs_expression(m: Matrix, text: str, gold_is_matrix: bool) -> bool:
    """A matrix against an expression of matrices (``\\begin{pmatrix}..\\end{pmatrix} +
    \\begin{pmatrix}..\\end{pmatrix}``), entry by entry."""
    import sympy

    e = _explicit_matrix(_gold_to_sympy(text) if not gold_is_matrix else to_sympy(text))
    if not isinstance(e, sympy.MatrixBase) or e.shape != (len(m.rows), len(m.rows[0])):
        return False
    if any(len(r) != len(m.rows[0]) for r in m.rows):
        return False
    for cell, value in zip((c for r in m.rows for c in r), e):
        if not isinstance(cell, Scalar):
            return False
        ce = _gold_to_sympy(cell.text) if gold_is_matrix else to_sympy(cell.text)
        if not (_sympy_value_equal(ce, value, None) if gold_is_matrix else _sympy_value_equal(value, ce, None)):
            return False
    return True


def _sympy_value_equal(g: Any, a: Any, tol: Any) -> bool:
    if not g.free_symbols and not a.free_symbols:
        return _const_equal(g, a, tol)
    if tol is not None:
        return False
    return _expr_equal(g, a)


class _GoldUnusable(Exception):
    """The gold answer cannot be compared (message: why); the verdict is "invalid ground truth"."""


def _gold_to_sympy(text: str) -> Any:
    try:
        return to_sympy(text)
    except TooLarge as e:
        raise _GoldUnusable(f"the gold answer is too large to evaluate ({e}): {text[:80]!r}") from None
    except Unparseable:
        raise _GoldUnusable(f"the gold answer cannot be parsed by sympy: {text[:80]!r}") from None


# --------------------------------------------------------------------------- structure compare


def _tri_all(results: list[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    if all(r is True for r in results):
        return True
    return None


def _unordered(gs: Sequence[Node], as_: Sequence[Node], ctx: _Ctx) -> bool | None:
    """Set equality of two collections (duplicates ignored)."""
    if not gs and not as_:
        return True
    if not gs or not as_:
        return False
    table = [[_cmp(g, a, ctx) for a in as_] for g in gs]
    undecided = False
    for row in table:  # every gold element is among the answers
        if any(r is True for r in row):
            continue
        if all(r is False for r in row):
            return False
        undecided = True
    for j in range(len(as_)):  # and every answer element among the golds
        col = [table[i][j] for i in range(len(gs))]
        if any(r is True for r in col):
            continue
        if all(r is False for r in col):
            return False
        undecided = True
    return None if undecided else True


def _ordered(gs: Sequence[Node], as_: Sequence[Node], ctx: _Ctx) -> bool | None:
    if len(gs) != len(as_):
        return False
    results = []
    for g, a in zip(gs, as_):
        r = _cmp(g, a, ctx)
        if r is False:
            return False
        results.append(r)
    return _tri_all(results)


def _is_interval(n: Node) -> bool:
    return isinstance(n, Seq) and n.kind == "tuple" and len(n.items) == 2


def _vector(m: Matrix) -> tuple | None:
    if len(m.rows) == 1:
        return m.rows[0]
    if all(len(r) == 1 for r in m.rows):
        return tuple(r[0] for r in m.rows)
    return None


_NAME = r"(?:[a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+(?:_\{?\w+\}?)?)"
_TUPLE_LHS = re.compile(r"^\(\s*" + _NAME + r"(?:\s*,\s*" + _NAME + r")+\s*\)$")
_CAP_NAME = r"(?:[A-Z]{1,4}(?:_\{?\w+\}?)?)"
_LABEL_LHS = re.compile(
    r"^(?:m\s*)?(?:\\angle\s*)?(?:[A-Z]{1,4}|\\overline\{[A-Z]{2,4}\})$|^[A-Z]{2,4}$|^\|[A-Z]{2,4}\|$"
    r"|^" + _NAME + r"(?:\s*\+\s*" + _NAME + r")+$"  # m + n
    r"|^" + _CAP_NAME + r"(?:\s*:\s*" + _CAP_NAME + r")+$"  # V_1 : V_2 (a ratio)
    r"|^\\frac\{\s*" + _CAP_NAME + r"\s*\}\{\s*" + _CAP_NAME + r"\s*\}$"  # \frac{NO}{BO}
    r"|^[A-Z]_\{?\w+\}?$"  # S_{ABC}
)


def _value_lhs(lhs: str, rhs: str) -> bool:
    """``(a, b) = (5, 1)``, ``PQ = 7``, ``m + n = 17``, ``\\angle ABC = 30^\\circ``: a label
    whose equation states a value (the right side has no variables)."""
    lhs = lhs.strip()
    if not (_TUPLE_LHS.match(lhs) or _LABEL_LHS.match(lhs)):
        return False
    return has_variables(rhs) is False


def _labels_match(gl: str, al: str) -> bool:
    if squash(gl) == squash(al):
        return True
    return bool(_TUPLE_LHS.match(gl.strip()) and _TUPLE_LHS.match(al.strip()) and gl.count(",") == al.count(","))


def _is_relational(n: Node) -> bool:
    return isinstance(n, Relation) or (_is_interval(n) and n.brackets[0] in "([" and n.brackets[1] in ")]")


_SINGLE_LETTER_NAME = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?$")


def _assignments_as_tuples(n: Node) -> Node | None:
    """``p=5, q=2`` -> the tuple ``(5, 2)``; ``p=5,q=2; p=7,q=2`` -> two tuples. Values are
    ordered by name when every name is one letter (``y=2, x=5`` is ``(5, 2)``), else as
    written (``r=2, \\theta=\\pi``). None unless ``n`` is a list of assignments of constants
    to at least two names."""
    if not (isinstance(n, Seq) and n.kind == "list" and 2 <= len(n.items)):
        return None
    groups: list[list[tuple[str, str]]] = [[]]
    for it in n.items:
        if not isinstance(it, Equation) or not is_simple_lhs(it.lhs) or "(" in it.lhs:
            return None
        name = squash(it.lhs)
        if has_variables(it.rhs) is not False:
            return None
        if any(name == k for k, _ in groups[-1]):
            groups.append([])
        groups[-1].append((name, it.rhs))
    names = [k for k, _ in groups[0]]
    if len(names) < 2 or any(sorted(k for k, _ in g) != sorted(names) for g in groups):
        return None
    ordered = all(_SINGLE_LETTER_NAME.match(k) for k in names)
    tuples = []
    for g in groups:
        pairs = sorted(g) if ordered else g
        tuples.append(Seq("tuple", tuple(parse_structure(v, 1) for _, v in pairs), "()"))
    return tuples[0] if len(tuples) == 1 else Seq("list", tuple(tuples))


def _tuple_shaped(n: Node) -> bool:
    """A tuple, or a collection of tuples (``(5,2), (7,2)``)."""
    if isinstance(n, Seq) and n.kind == "tuple":
        return True
    return isinstance(n, Seq) and bool(n.items) and all(isinstance(x, Seq) and x.kind == "tuple" for x in n.items)


def _value_side(e: Equation) -> Node | None:
    """The value an equation states when compared with a plain value: ``x = 2`` -> 2,
    ``PQ = 7`` -> 7, ``3 \times 4 = 12`` -> 12 (a computation: the last side),
    ``5 = x`` -> 5; None for a relation such as ``x + y = 3``."""
    if is_simple_lhs(e.lhs) or _value_lhs(e.lhs, e.rhs):
        return parse_structure(e.rhs, 1)
    if has_variables(e.lhs) is False:
        if is_simple_lhs(e.rhs) and has_variables(e.rhs):
            return parse_structure(e.lhs, 1)
        if has_variables(e.rhs) is False:
            return parse_structure(e.rhs, 1)
    return None


def _cmp(g: Node, a: Node, ctx: _Ctx) -> bool | None:
    """Is answer node ``a`` equivalent to gold node ``g``? None: undecided without sympy."""
    if isinstance(g, Relation) or isinstance(a, Relation):
        if isinstance(g, Relation) and isinstance(a, Relation) and g.text == a.text:
            return True
        if not (_set_like(g) and _set_like(a)):
            return False
        if not ctx.sympy:
            raise _NeedSympy
        ctx.used("sympy")
        return _relations_equal(g, a)
    if isinstance(g, Text):
        ctx.used("text")
        if isinstance(a, Text):
            return g.words == a.words
        if isinstance(a, Scalar):
            w = text_words(a.text)
            return w == g.words if w else False
        return False
    if _tuple_shaped(g) and not _tuple_shaped(a):  # (5, 2) ~ "p = 5, q = 2"
        a = _assignments_as_tuples(a) or a
    elif _tuple_shaped(a) and not _tuple_shaped(g):
        g = _assignments_as_tuples(g) or g
    if isinstance(a, Equation) and not isinstance(g, Equation):
        value = _value_side(a)
        if value is None:
            return False
        a = value
    if isinstance(g, Equation):
        if isinstance(a, Equation):
            return _cmp_equation(g, a, ctx)
        value = _value_side(g)
        return _cmp(value, a, ctx) if value is not None else False
    if isinstance(g, Matrix):
        if isinstance(a, Matrix):
            if len(g.rows) != len(a.rows) or any(len(x) != len(y) for x, y in zip(g.rows, a.rows)):
                return False
            return _ordered([c for r in g.rows for c in r], [c for r in a.rows for c in r], ctx)
        v = _vector(g)
        if v is not None and isinstance(a, Seq) and a.kind != "set":
            return _ordered(v, a.items, ctx)
        if isinstance(a, Scalar) and "\\begin" in a.text:  # A + B, A B
            if not ctx.sympy:
                raise _NeedSympy
            ctx.used("sympy")
            return _matrix_vs_expression(g, a.text, gold_is_matrix=True)
        return False
    if isinstance(g, Union) or (isinstance(a, Union) and _is_interval(g)):
        r = _cmp_interval_sets(g, a, ctx)
        if r is not None:
            return r
    if isinstance(g, Union):
        if isinstance(a, Union):
            return _unordered(g.items, a.items, ctx)
        if isinstance(a, Seq) and a.kind == "list" and all(_is_interval(x) for x in a.items):
            return _unordered(g.items, a.items, ctx)  # "x < -1 or x > 1"
        if len(g.items) == 1:
            return _cmp(g.items[0], a, ctx)
        return False
    if isinstance(g, Seq):
        if isinstance(a, Matrix):
            v = _vector(a)
            return _ordered(g.items, v, ctx) if v is not None and g.kind == "tuple" else False
        if isinstance(a, Union):
            return _cmp(g, a.items[0], ctx) if len(a.items) == 1 else False
        if not isinstance(a, Seq):
            if len(g.items) == 1:
                return _cmp(g.items[0], a, ctx)
            return False
        if g.kind == "tuple":
            if a.kind == "set":  # {1,3} with plain braces is rendered "1,3": ordered
                return _ordered(g.items, a.items, ctx) if a.brackets == "{}" and g.brackets == "()" else False
            if a.kind == "tuple" and len(g.items) == 2 and a.brackets != g.brackets:
                return False  # (1, 2] is not [1, 2]; (1, 2) is not [1, 2]
            return _ordered(g.items, a.items, ctx)
        if a.kind == "tuple" and a.brackets not in ("()", "[]"):
            return False  # an interval is not a list of roots
        return _unordered(g.items, a.items, ctx)
    if isinstance(g, Scalar):
        if isinstance(a, Seq) and len(a.items) == 1:
            a = a.items[0]
        if isinstance(a, Union) and len(a.items) == 1:
            a = a.items[0]
        if isinstance(a, Scalar):
            return _cmp_scalar(g, a, ctx)
        if isinstance(a, Matrix) and "\\begin" in g.text:
            if not ctx.sympy:
                raise _NeedSympy
            ctx.used("sympy")
            return _matrix_vs_expression(a, g.text, gold_is_matrix=False)
        return False
    return False


# functions whose identities can make an expression in variables a constant (sin^2 x + cos^2 x)
_IDENTITY_FUNCS = re.compile(r"\\(?:sin|cos|tan|sec|csc|cot|log|ln|exp|arcsin|arccos|arctan)(?![a-zA-Z])|e\^")


def _cmp_scalar(g: Scalar, a: Scalar, ctx: _Ctx) -> bool | None:
    if squash(g.text) == squash(a.text):
        ctx.used("string")
        return True
    if ":" in g.text or ":" in a.text:  # times and ratios (12:00, 2:1) compare as written
        return False
    try:
        gnum = parse_number(g.text)
    except Unparseable as e:  # 1e999999999: a number no one can compare with
        raise _GoldUnusable(f"the gold answer cannot be used ({e}): {g.text[:80]!r}") from None
    anum = parse_number(a.text)
    if gnum is not None and anum is not None:
        ctx.used("numeric")
        atol = _float_tol(a.text, anum) if gnum.tol is None else None
        if _numbers_equal(gnum, g.percent, anum, a.percent, atol):
            return True
        if (g.degree or a.degree) and "\\pi" not in g.text + a.text:
            return False
        return False
    # a number never equals an expression in variables (x^2 + 1 is not 5)
    gv, av = has_variables(g.text), has_variables(a.text)
    if gv is not None and av is not None and gv != av and not _IDENTITY_FUNCS.search(g.text if gv else a.text):
        ctx.used("structure")
        return False
    if not ctx.sympy:
        raise _NeedSympy
    ctx.used("sympy")
    return _sympy_scalar_equal(g, a, gnum)


def _cmp_equation(g: Equation, a: Equation, ctx: _Ctx) -> bool | None:
    gl, gr, al, ar = squash(g.lhs), squash(g.rhs), squash(a.lhs), squash(a.rhs)
    if (gl, gr) == (al, ar) or (gl, gr) == (ar, al):
        ctx.used("string")
        return True
    if is_simple_lhs(g.lhs) and is_simple_lhs(a.lhs) and gl == al:
        return _cmp(parse_structure(g.rhs, 1), parse_structure(a.rhs, 1), ctx)
    g_value, a_value = _value_lhs(g.lhs, g.rhs), _value_lhs(a.lhs, a.rhs)
    if g_value or a_value:
        if g_value and a_value and not _labels_match(g.lhs, a.lhs):
            return False  # PQ = 7 is not RS = 7
        if (g_value or is_simple_lhs(g.lhs)) and (a_value or is_simple_lhs(a.lhs)):
            if g_value != a_value:
                return False  # x = 7 is not PQ = 7
            return _cmp(parse_structure(g.rhs, 1), parse_structure(a.rhs, 1), ctx)
    if not ctx.sympy:
        raise _NeedSympy
    ctx.used("sympy")

    d1 = _gold_to_sympy(g.lhs) - _gold_to_sympy(g.rhs)
    d2 = to_sympy(a.lhs) - to_sympy(a.rhs)
    return _proportional(d1, d2)


# --------------------------------------------------------------------------- intervals, relations

_INF = float("inf")


def _endpoint(n: Node) -> Any:
    """An interval endpoint as an exact Fraction or +-inf; None when it needs sympy."""
    if not isinstance(n, Scalar) or n.percent or n.degree:
        return None
    t = n.text.replace(" ", "")
    if t in ("\\infty", "+\\infty", "\\infinity", "\\inf"):
        return _INF
    if t in ("-\\infty", "-\\infinity", "-\\inf"):
        return -_INF
    try:
        num = parse_number(n.text)
    except Unparseable:
        return None
    return num.value if num is not None else None


def _interval_list(n: Node) -> list[tuple[Any, Any, bool, bool]] | None:
    items = n.items if isinstance(n, Union) else (n,)
    out = []
    for it in items:
        if not (_is_interval(it) and it.brackets[0] in "([" and it.brackets[1] in ")]"):
            return None
        lo, hi = _endpoint(it.items[0]), _endpoint(it.items[1])
        if lo is None or hi is None:
            return None
        out.append((lo, hi, it.brackets[0] == "[", it.brackets[1] == "]"))
    return out


def _merge(ivs: list[tuple[Any, Any, bool, bool]]) -> list[tuple[Any, Any, bool, bool]]:
    """The disjoint union of intervals, sorted; empty intervals dropped."""
    ivs = [iv for iv in ivs if iv[0] < iv[1] or (iv[0] == iv[1] and iv[2] and iv[3])]
    ivs.sort(key=lambda iv: (iv[0], not iv[2]))
    out: list[tuple[Any, Any, bool, bool]] = []
    for lo, hi, lc, hc in ivs:
        if out:
            plo, phi, plc, phc = out[-1]
            if lo < phi or (lo == phi and (phc or lc)):
                if hi > phi or (hi == phi and hc):
                    out[-1] = (plo, hi, plc, hc if hi > phi else (phc or hc))
                continue
        out.append((lo, hi, lc, hc))
    return out


def _cmp_interval_sets(g: Node, a: Node, ctx: _Ctx) -> bool | None:
    """Unions of intervals as sets of numbers: ``[-2, 1) \\cup [1, 5]`` is ``[-2, 5]``.
    None when the sides are not both unions of intervals with plain-number endpoints."""
    if not ((isinstance(g, Union) or _is_interval(g)) and (isinstance(a, Union) or _is_interval(a))):
        return None
    if isinstance(g, Seq) and isinstance(a, Seq):
        return None  # two plain intervals (or points): the usual comparison
    gi, ai = _interval_list(g), _interval_list(a)
    if gi is None or ai is None:
        if not all(_is_interval(x) for x in (g.items if isinstance(g, Union) else (g,))) or not all(
            _is_interval(x) for x in (a.items if isinstance(a, Union) else (a,))
        ):
            return None
        if not ctx.sympy:
            raise _NeedSympy
        ctx.used("sympy")
        return _sympy_sets_equal(g, a)
    ctx.used("structure")
    return _merge(gi) == _merge(ai)


def _intervals_as_set(n: Node) -> Any:
    """An interval or a union of intervals (constant endpoints) as a sympy set."""
    import sympy

    parts = []
    for it in n.items if isinstance(n, Union) else (n,):
        if not _is_interval(it) or it.brackets[0] not in "([" or it.brackets[1] not in ")]":
            raise Unparseable("not an interval")
        lo, hi, lc, hc = _interval_bounds(it)
        if lo.free_symbols or hi.free_symbols:
            raise Unparseable("an interval with variables")
        parts.append(sympy.Interval(lo, hi, not lc, not hc))
    return sympy.Union(*parts)


def _sets_equal(sg: Any, sa: Any) -> bool:
    import sympy

    if sg == sa:
        return True
    try:
        return bool(sympy.Complement(sg, sa) == sympy.S.EmptySet and sympy.Complement(sa, sg) == sympy.S.EmptySet)
    except Exception:  # noqa: BLE001
        return False


def _sympy_sets_equal(g: Node, a: Node) -> bool | None:
    """Unions of intervals with endpoints such as ``\\sqrt2``, as sympy sets."""
    try:
        sg, sa = _intervals_as_set(g), _intervals_as_set(a)
    except Unparseable:
        return None
    return _sets_equal(sg, sa)


MAX_INEQUALITY_OPS = 30  # an inequality solved for its set: at most this many operations,
MAX_INEQUALITY_DEGREE = 6  # degree at most 6, in factors over Q of degree at most 2,
MAX_INEQUALITY_ABS = 2  # and at most 2 absolute values (each doubles the cases)


def _solvable(e: Any, v: Any) -> bool:
    """Small enough to hand to sympy's inequality solver: a rational function of ``v``
    (absolute values allowed) of bounded size and degree."""
    import sympy

    if sympy.count_ops(e) > MAX_INEQUALITY_OPS or len(e.atoms(sympy.Abs)) > MAX_INEQUALITY_ABS:
        return False
    for node in sympy.preorder_traversal(e):
        if isinstance(node, sympy.Function) and not isinstance(node, sympy.Abs):
            return False
        if isinstance(node, sympy.Pow) and node.base.has(v) and not (node.exp.is_Integer and abs(int(node.exp)) <= MAX_INEQUALITY_DEGREE):
            return False
        if isinstance(node, sympy.Float) or (node.is_Number and not node.is_Rational):
            return False
    num, den = sympy.fraction(sympy.together(e.replace(sympy.Abs, lambda x: x)))
    for part in (num, den):
        if part.has(v):
            try:
                if sympy.Poly(part, v).degree() > MAX_INEQUALITY_DEGREE:
                    return False
                if any(sympy.degree(f, v) > 2 for f, _ in sympy.factor_list(part, v)[1]):
                    return False  # roots of an irreducible cubic: no competition answer, slow to solve
            except Exception:  # noqa: BLE001
                return False
    return True


def _relation_set(n: Relation) -> Any:
    """The real solutions of an inequality in one variable (``x^2 < 4``,
    ``1 \\le |z| \\le \\frac32``, a chain) as a sympy set; None when it has several
    variables or is too large to solve (see _solvable)."""
    import sympy

    text = n.raw or n.text
    if len(text) > 200:
        return None
    parts = [p.strip() for p in _REL_SPLIT.split(text)]
    if len(parts) < 3 or len(parts) % 2 == 0 or len(parts) > 7 or not all(parts[::2]):
        return None
    exprs = [to_sympy(p) for p in parts[::2]]
    syms = set().union(*(e.free_symbols for e in exprs))
    if len(syms) != 1:
        return None
    (v,) = syms
    ops = {"<": sympy.Lt, "\\le": sympy.Le, ">": sympy.Gt, "\\ge": sympy.Ge}
    out = sympy.S.Reals
    for i, op in enumerate(parts[1::2]):
        d = exprs[i] - exprs[i + 1]
        if not _solvable(d, v):
            return None
        sol = sympy.solveset(ops[op](d, 0), v, sympy.S.Reals)
        if isinstance(sol, sympy.ConditionSet):
            return None
        out = sympy.Intersection(out, sol)
    return out


def _node_as_set(n: Node) -> Any:
    """A relation, an interval, a union of intervals or a list of them (``x < -1 or x > 1``)
    as a sympy set of real numbers; None when it is not one."""
    import sympy

    try:
        if isinstance(n, Relation):
            return _relation_set(n)
        if isinstance(n, Seq) and n.kind == "list" and n.items and all(_is_relational(x) for x in n.items):
            sets = [_node_as_set(x) for x in n.items]
            return None if any(x is None for x in sets) else sympy.Union(*sets)
        return _intervals_as_set(n)
    except Unparseable:
        return None


def _set_like(n: Node) -> bool:
    """A relation, an interval, or a union/list of them."""
    if _is_relational(n):
        return True
    if isinstance(n, Union):
        return all(_is_interval(x) for x in n.items)
    return isinstance(n, Seq) and n.kind == "list" and bool(n.items) and all(_is_relational(x) for x in n.items)


_REL_SPLIT = re.compile(r"(\\le|\\ge|<|>)(?![a-zA-Z])")


def _relation_sympy(n: Node) -> tuple[Any, bool] | None:
    """``lhs < rhs`` as (d, strict) meaning d > 0 (or d >= 0); None if not one relation."""
    parts = [p.strip() for p in _REL_SPLIT.split(n.raw or n.text)]
    if len(parts) != 3 or not parts[0] or not parts[2]:
        return None
    left, op, right = parts
    lhs, rhs = to_sympy(left), to_sympy(right)
    d = rhs - lhs if op in ("<", "\\le") else lhs - rhs
    return d, op in ("<", ">")


def _interval_bounds(n: Node) -> tuple[Any, Any, bool, bool]:
    import sympy

    def side(x: Node) -> Any:
        if not isinstance(x, Scalar):
            raise Unparseable("not an interval")
        t = x.text.replace(" ", "")
        if t in ("\\infty", "+\\infty"):
            return sympy.oo
        if t == "-\\infty":
            return -sympy.oo
        return to_sympy(x.text)

    return side(n.items[0]), side(n.items[1]), n.brackets[0] == "[", n.brackets[1] == "]"


def _relation_as_interval(n: Relation) -> tuple[Any, Any, bool, bool] | None:
    """A relation linear in one variable as an interval: ``-2y < 4`` is ``(-2, \\infty)``."""
    import sympy

    rel = _relation_sympy(n)
    if rel is None:
        return None
    d, strict = rel
    syms = d.free_symbols
    if len(syms) != 1:
        return None
    (v,) = syms
    poly = sympy.Poly(sympy.expand(d), v) if sympy.expand(d).is_polynomial(v) else None
    if poly is None or poly.degree() != 1:
        return None
    c, k = poly.all_coeffs()
    if c.free_symbols or k.free_symbols or c == 0 or not c.is_real:
        return None
    root = -k / c
    if c > 0:  # v > root
        return root, sympy.oo, not strict, False
    return -sympy.oo, root, False, not strict


def _positive_multiple(d1: Any, d2: Any) -> bool:
    """``d1 = k * d2`` for a constant k > 0."""
    import sympy

    if d1 == d2:
        return True
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=str)
    if not symbols:
        return False
    pts = _points(symbols, 6)
    v1, v2 = _values_at(d1, pts), _values_at(d2, pts)
    ratio = None
    seen = 0
    for x, y in zip(v1, v2):
        if x is None or y is None or x[1] or y[1]:
            return False
        if not x[0] or not y[0]:
            if x[0] or y[0]:
                return False
            continue
        r = x[0] / y[0]
        if ratio is None:
            ratio = r
        elif abs(r - ratio) > sympy.Float("1e-20") * max(1, abs(ratio)):
            return False
        seen += 1
    return seen >= 3 and ratio is not None and ratio > 0


def _relations_equal(g: Node, a: Node) -> bool:
    """Inequalities equal after rearranging or multiplying by a negative number, and a
    one-variable linear inequality against the interval it describes."""
    if isinstance(g, Relation) and isinstance(a, Relation):
        rg, ra = _relation_sympy(g), _relation_sympy(a)
        if rg is not None and ra is not None:
            if rg[1] != ra[1]:
                return False
            if _positive_multiple(rg[0], ra[0]):
                return True
    if _is_relational(g) and _is_relational(a):
        gi = _relation_as_interval(g) if isinstance(g, Relation) else _interval_bounds(g)
        ai = _relation_as_interval(a) if isinstance(a, Relation) else _interval_bounds(a)
        if gi is not None and ai is not None:
            return gi[2:] == ai[2:] and all(_bound_equal(x, y) for x, y in zip(gi[:2], ai[:2]))
    # nonlinear, chained or piecewise: x^2 < 4 ~ -2 < x < 2; 1 \le |z| \le 2 ~ [-2,-1] \cup [1,2]
    sg, sa = _node_as_set(g), _node_as_set(a)
    if sg is None or sa is None:
        return False
    return _sets_equal(sg, sa)


def _bound_equal(x: Any, y: Any) -> bool:
    import sympy

    if x == y:
        return True
    if x.has(sympy.oo, -sympy.oo) or y.has(sympy.oo, -sympy.oo):
        return False
    return _const_equal(x, y, None)


# --------------------------------------------------------------------------- judge


class InvalidGold(ValueError):
    """A gold answer that cannot be used (the message says why)."""


_MAX_GOLD_INT_BITS = int(MAX_GOLD_CHARS * 3.3219)  # an integer of about MAX_GOLD_CHARS digits
_DOUBLED_COMMAND = re.compile(r"\\\\[a-zA-Z]")


def parse_gold(answer: Any) -> str:
    """The gold answer as text, or :class:`InvalidGold` saying why it cannot be used.

    Text as it is (a solution's last ``\\boxed{}``; doubled backslashes undone), numbers
    written out, a list of texts/numbers joined with ``", "``.
    """
    if answer is None:
        raise InvalidGold("there is no gold answer (None)")
    if isinstance(answer, bool):
        raise InvalidGold(f"a boolean ({answer}) is not a gold answer")
    if isinstance(answer, numbers.Integral):
        n = int(answer)
        if n.bit_length() > _MAX_GOLD_INT_BITS:
            raise InvalidGold(f"the gold answer is an integer of more than {MAX_GOLD_CHARS} digits")
        return str(n)
    if isinstance(answer, float):
        if not math.isfinite(answer):
            raise InvalidGold(f"the gold answer is not a finite number ({answer!r})")
        return repr(answer) if not answer.is_integer() else str(int(answer))
    if isinstance(answer, numbers.Rational):  # fractions.Fraction
        return parse_gold(int(answer)) if answer.denominator == 1 else f"{parse_gold(answer.numerator)}/{answer.denominator}"
    if isinstance(answer, (list, tuple)):
        if not answer:
            raise InvalidGold("the gold answer is an empty list")
        if len(answer) > MAX_ITEMS:
            raise InvalidGold(f"the gold answer is a list of {len(answer)} items (at most {MAX_ITEMS})")
        parts = []
        for i, item in enumerate(answer):
            if isinstance(item, (list, tuple, dict)) or not isinstance(item, (str, numbers.Number)):
                raise InvalidGold(f"item {i} of the gold list is a {type(item).__name__}, not text or a number")
            try:
                parts.append(parse_gold(item))
            except InvalidGold as e:
                raise InvalidGold(f"item {i} of the gold list: {e}") from None
        return ", ".join(parts)
    if not isinstance(answer, str):
        raise InvalidGold(f"the gold answer must be text or a number, got {type(answer).__name__}")
    s = answer.strip()
    if not s:
        raise InvalidGold("the gold answer is empty")
    s = undouble_backslashes(s)
    if "\\boxed" in s or "\\fbox" in s:  # a solution, or "\boxed{1}\boxed{2}"
        text = clean_text(s)
        joined = joined_gold_boxes(text)
        if joined:
            return joined  # a gold of several boxes: "\boxed{1} papers and \boxed{2} bins"
        boxed = extract_boxed(text).answer
        if boxed:
            s = boxed
    elif 200 < len(s) <= 10 * MAX_GOLD_CHARS and len(_GOLD_WORD.findall(s, 0, 2000)) >= 8:
        stated = extract_answer(s).answer  # a worked solution as the gold: its "Final Answer: ..." line
        if stated:
            s = stated
    return s


_GOLD_WORD = re.compile(r"\b[A-Za-z]{3,}\b")  # linear: a 100k-letter "word" is one match


def gold_text(answer: Any) -> str | None:
    """:func:`parse_gold`, or None when the gold cannot be used."""
    try:
        return parse_gold(answer)
    except InvalidGold:
        return None


_DOUBLED_NOTE = (
    "the {side} has doubled backslashes ({example}): LaTeX escaped twice on its way here? "
    "undo the extra escaping (json.loads once more) before scoring"
)


def _loud_doubling(j: Judgement, gold: str, answer: str) -> Judgement:
    """A wrong verdict on text that still has ``\\\\frac``-style doubled commands says so."""
    if j.correct is not False:
        return j
    for side, text in (("answer", answer), ("gold answer", gold)):
        m = _DOUBLED_COMMAND.search(text)
        if m and not re.match(r"\\\\(?:hline|begin|end)", text[m.start() :]):
            note = _DOUBLED_NOTE.format(side=side, example=text[m.start() : m.start() + 8])
            return Judgement(False, j.path, f"{note}; {j.note}" if j.note else note, j.reason)
    return j


def judge(gold: str, answer: str, *, use_sympy: bool = True) -> Judgement:
    """Compare an extracted answer with a gold answer (both strings).

    With ``use_sympy=False`` the result may be undecided (``correct is None``): the
    caller then runs the sympy stage (in a worker, see :class:`MathVerifier`).
    Never raises: an unexpected error is a wrong answer with reason ``verifier error``.
    """
    try:
        return _loud_doubling(_judge(gold, answer, use_sympy), gold, answer)
    except RecursionError:
        return Judgement(False, "parse", "answer nested too deeply", Reason.UNPARSEABLE)
    except Exception as e:  # noqa: BLE001 - hostile text must not crash the caller
        return Judgement(False, "parse", f"{type(e).__name__}: {str(e)[:200]}", Reason.ERROR)


_DIGITS = re.compile(r"[+-]?\d+")


def _judge(gold: str, answer: str, use_sympy: bool) -> Judgement:
    if len(gold) > MAX_GOLD_CHARS:
        if gold == answer:
            return Judgement(True, "string", "the gold is too long to parse; compared as a string")
        return Judgement(
            False,
            "string",
            f"the gold answer is {len(gold)} characters long (more than {MAX_GOLD_CHARS}): only the identical text matches it",
            Reason.INVALID_ANSWER,
        )
    g0, a0 = gold.strip(), answer.strip()
    if _DIGITS.fullmatch(g0) and _DIGITS.fullmatch(a0):  # integers, however long: compare the digits
        gneg, aneg = g0.startswith("-"), a0.startswith("-")
        gd, ad = g0.lstrip("+-").lstrip("0") or "0", a0.lstrip("+-").lstrip("0") or "0"
        return Judgement(gd == ad and (gneg == aneg or gd == "0"), "numeric")
    try:
        g = normalize(gold)
    except Exception as e:  # noqa: BLE001 - never crash on hostile text
        return Judgement(False, "parse", f"the gold answer could not be normalised: {type(e).__name__}", Reason.INVALID_ANSWER)
    answer = undouble_backslashes(answer)
    gold = undouble_backslashes(gold)
    try:
        a = normalize(answer)
    except Exception as e:  # noqa: BLE001 - never crash on hostile text
        return Judgement(False, "parse", f"could not normalise: {type(e).__name__}", Reason.UNPARSEABLE)
    if squash(g) == squash(a) and g:
        return Judgement(True, "string")
    letter = parse_choice(g, gold=True)
    if letter is not None:
        return Judgement(parse_choice(a, gold=False) == letter, "choice")
    letters = parse_choices(g)
    if letters is not None:  # several letters: "AC" ~ "A, C" ~ "(A) and (C)"
        said = parse_choices(a)
        if said is not None or not re.fullmatch(r"[A-J]{2,5}", g.strip()):  # "AB" may name a segment
            return Judgement(said == letters, "choice")
    lettered = parse_choice_with_value(g)
    if lettered is not None:  # "(A) 5": the letter, or the value itself
        said = parse_choice(a, gold=False)
        if said is not None:
            return Judgement(said == lettered[0], "choice")
        return _judge(lettered[1], answer, use_sympy)
    try:
        gn = parse_structure(g)
    except Unparseable as e:
        return Judgement(False, "string", f"the gold answer cannot be parsed ({e})", Reason.INVALID_ANSWER)
    except RecursionError:
        return Judgement(False, "string", "the gold answer is nested too deeply", Reason.INVALID_ANSWER)
    try:
        an = parse_structure(a)
    except Unparseable as e:
        return Judgement(False, "parse", str(e), Reason.UNPARSEABLE)
    except RecursionError:
        return Judgement(False, "parse", "answer nested too deeply", Reason.UNPARSEABLE)
    gn, an = _decimal_commas(g, gn, a, an)
    ctx = _Ctx(use_sympy)
    try:
        r = _cmp(gn, an, ctx)
    except _NeedSympy:
        return Judgement(None, "sympy")
    except _GoldUnusable as e:
        return Judgement(False, ctx.path, str(e), Reason.INVALID_ANSWER)
    except TooLarge as e:
        return Judgement(False, ctx.path, str(e), Reason.UNPARSEABLE)
    except Unparseable as e:
        return Judgement(False, ctx.path, str(e), Reason.WRONG)
    except RecursionError:
        return Judgement(False, ctx.path, "expression nested too deeply", Reason.UNPARSEABLE)
    except Exception as e:  # noqa: BLE001 - a sympy internal error is a wrong answer, not a crash
        return Judgement(False, ctx.path, f"sympy failed: {type(e).__name__}: {str(e)[:120]}", Reason.WRONG)
    if r is None:  # only possible without sympy
        return Judgement(None, "sympy")
    return Judgement(bool(r), ctx.path)


_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")


def _number_node(n: Node) -> bool:
    try:
        return isinstance(n, Scalar) and parse_number(n.text) is not None
    except Unparseable:
        return False


def _decimal_commas(g: str, gn: Node, a: str, an: Node) -> tuple[Node, Node]:
    """``3,5`` / ``3{,}5`` written as a decimal comma: read as 3.5 when the other side is one
    number (a list ``3, 5`` has a space; ``1,000`` is a thousand; ``0,111`` is a decimal)."""

    def as_decimal(text: str, node: Node) -> Node | None:
        if isinstance(node, Seq) and node.kind == "list" and len(node.items) == 2:
            t = text.strip().rstrip("%").strip()
            if _DECIMAL_COMMA.fullmatch(t):
                return _scalar_node(text.replace(",", "."))
        return None

    if _number_node(gn):
        alt = as_decimal(a, an)
        return gn, alt if alt is not None else an
    if _number_node(an):
        alt = as_decimal(g, gn)
        return alt if alt is not None else gn, an
    return gn, an


def _scalar_node(text: str) -> Node | None:
    try:
        return parse_structure(text)
    except Unparseable:
        return None


def answers_match(gold: str, answer: str) -> bool:
    """True when ``answer`` (already extracted) is equivalent to ``gold``; runs sympy in-process."""
    return bool(judge(gold, answer, use_sympy=True).correct)


def _judge_in_worker(gold: str, answer: str) -> tuple:
    return judge(gold, answer, use_sympy=True).as_tuple()


# Two comparisons that every forked worker inherits the imports of: sympy itself, the
# modules sympy loads on its first symbolic subtraction (about 0.2 s) and its evalf path.
# Answers of common shapes are read by prolong.envs.math.fast_latex, so the ANTLR parser of
# latex2sympy2_extended is neither loaded nor warmed here: a worker that meets a rarer
# form loads it then (about 0.5 s, within the worker's deadline).
_PRIME_PAIRS = (
    ("x^2+1", "1+x^2"),
    ("\\frac{\\sqrt{3}}{2}", "\\sqrt{3}/2"),
)


def _prime() -> None:
    """Import sympy and run the comparisons of :data:`_PRIME_PAIRS` (before workers are
    forked, so that they start warm)."""
    for g, a in _PRIME_PAIRS:
        try:
            judge(g, a, use_sympy=True)
        except Exception:  # noqa: BLE001
            pass


# Workers are forked on Linux: the caller's script is not imported again in a
# forkserver (a training script without a ``__main__`` guard would run twice), and a
# forked worker starts in milliseconds with sympy already imported by :func:`_prime`.
# The cost of fork (a lock held by another thread at fork time) is bounded: such a
# worker misses its deadline, is killed, and is replaced.
_FORK = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _memory_limit_mb() -> int:
    """RLIMIT_AS for a worker: a forked worker starts with its parent's address space (a
    trainer with torch maps gigabytes), so the limit is that plus WORKER_MEMORY_MB."""
    base = 0
    if _FORK:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        base = int(line.split()[1]) // 1024
                        break
        except (OSError, ValueError):
            return 0  # unknown: no limit rather than a worker that cannot allocate
    return base + WORKER_MEMORY_MB


class _SympyRunner:
    """Single-worker WorkerPools for the sympy stage, one per concurrent call.

    A pool's worker is "cold" until it has answered once: a call sent to a cold worker
    gets ``startup`` extra seconds. A worker killed at its deadline is replaced by a cold one.
    """

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max(1, int(max_workers))
        self.startup = STARTUP_ALLOWANCE if _FORK else STARTUP_ALLOWANCE_SPAWN
        self._cond = threading.Condition()
        self._idle: list[WorkerPool] = []
        self._all: list[WorkerPool] = []
        self._warm: set[int] = set()
        atexit.register(self.close)

    def _new_pool(self) -> WorkerPool:
        return WorkerPool(
            1,
            memory_limit_mb=_memory_limit_mb() or None,
            context="fork" if _FORK else None,
            initializer=None if _FORK else _prime,
        )

    def _acquire(self, wait: float) -> WorkerPool | None:
        end = time.monotonic() + wait
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if len(self._all) < self.max_workers:
                    pool = self._new_pool()
                    self._all.append(pool)
                    return pool
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def _release(self, pool: WorkerPool) -> None:
        with self._cond:
            self._idle.append(pool)
            self._cond.notify()

    def run(self, gold: str, answer: str, deadline: float) -> Judgement:
        pool = self._acquire(deadline + self.startup)
        if pool is None:
            return Judgement(False, "sympy", "all sympy workers were busy past the deadline", Reason.TIMEOUT)
        try:
            cold = id(pool) not in self._warm
            timeout = deadline + (self.startup if cold else 0.0)
            out = pool.map(_judge_in_worker, [(gold, answer)], timeout=timeout)[0]
        except Exception as e:  # noqa: BLE001 - a closed pool at interpreter exit, a pickling error
            return Judgement(False, "sympy", f"sympy stage failed: {type(e).__name__}: {e}", Reason.ERROR)
        finally:
            self._release(pool)
        if isinstance(out, CallTimeout):
            self._warm.discard(id(pool))
            return Judgement(False, "sympy", f"the sympy comparison ran past {out.seconds:.1f} s", Reason.TIMEOUT)
        if isinstance(out, CallError):
            self._warm.discard(id(pool))
            return Judgement(False, "sympy", f"the sympy worker failed: {out.message[-300:]}", Reason.ERROR)
        self._warm.add(id(pool))
        return Judgement(*out)

    def close(self) -> None:
        with self._cond:
            pools, self._all, self._idle = self._all, [], []
        for p in pools:
            try:
                p.close()
            except Exception:  # noqa: BLE001
                pass


_RUNNER: _SympyRunner | None = None
_RUNNER_LOCK = threading.Lock()


def _runner() -> _SympyRunner:
    global _RUNNER
    with _RUNNER_LOCK:
        if _RUNNER is None:
            if _FORK:
                _prime()  # once per process: forked workers inherit warm imports
            _RUNNER = _SympyRunner(max(2, cpu_count()))
        return _RUNNER


# --------------------------------------------------------------------------- the verifier


class MathVerifier:
    """Scores a math response against a gold answer (``prolong.verify("math", ...)``).

    ``__call__(response, answer, problem=None) -> Verdict``: reward 1 when the final
    answer of ``response`` (see :mod:`prolong.envs.math.extract`) is equivalent to
    ``answer`` (see this module's docstring for the policy), else 0 with a reason:
    ``no final answer``, ``wrong answer``, ``unparseable answer`` (too long, too deep,
    too large to evaluate), ``verifier timeout`` (the sympy stage ran past its deadline),
    ``invalid ground truth`` (the gold cannot be used: see the module docstring).
    ``details`` carry ``path`` (which stage decided: string, choice, text, numeric,
    structure, sympy), ``method`` (how the answer was found) and ``note``.

    Time bound: extraction and the in-process stage are linear in the (capped) input
    (milliseconds even for a 1 MB response); the sympy stage runs in a killable worker
    with a :data:`SYMPY_DEADLINE` (3 s) deadline, plus :data:`STARTUP_ALLOWANCE` (1 s)
    on a worker's first call. The first call of a process that needs sympy also imports
    it (about 1 s). So a call returns within 3 s once warm and about 5 s at worst.
    Inside another pool's worker (``prolong.pool.in_worker()``) the sympy stage runs
    directly and that pool's deadline is the bound.

    Args:
        sympy_deadline: seconds allowed for one sympy comparison.
    """

    def __init__(self, sympy_deadline: float = SYMPY_DEADLINE) -> None:
        self.sympy_deadline = float(sympy_deadline)

    def __getstate__(self) -> dict[str, Any]:
        return {"sympy_deadline": self.sympy_deadline}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.sympy_deadline = float(state.get("sympy_deadline", SYMPY_DEADLINE))

    # the in-process stage ------------------------------------------------------
    def _first_stage(self, response: Any, answer: Any) -> tuple[Verdict | None, str | None, Extraction | None, str | None]:
        try:
            return self._first_stage_unguarded(response, answer)
        except Exception as e:  # noqa: BLE001 - hostile text must not crash the caller
            return Verdict.wrong(Reason.ERROR, None, note=f"{type(e).__name__}: {str(e)[:200]}"), None, None, None

    def _first_stage_unguarded(
        self, response: Any, answer: Any
    ) -> tuple[Verdict | None, str | None, Extraction | None, str | None]:
        try:
            gold = parse_gold(answer)
        except InvalidGold as e:
            return Verdict.wrong(Reason.INVALID_ANSWER, None, note=f"invalid gold answer: {e}"), None, None, None
        if not isinstance(response, str):
            return Verdict.wrong(Reason.NO_ANSWER, None, note=f"the response is not text ({type(response).__name__})"), None, None, None
        ex = extract_answer(response)
        if ex.answer is None:
            reason = Reason.UNPARSEABLE if ex.too_long else Reason.NO_ANSWER
            return Verdict.wrong(reason, None, method=ex.method, note=ex.problem), None, None, None
        j = judge(gold, ex.answer, use_sympy=False)
        if j.correct is None:
            return None, gold, ex, ex.answer
        return self._verdict(j, ex), None, None, None

    @staticmethod
    def _verdict(j: Judgement, ex: Extraction) -> Verdict:
        extracted = ex.answer if ex.answer is None or len(ex.answer) <= 300 else ex.answer[:300] + "..."
        details: dict[str, Any] = {"path": j.path, "method": ex.method}
        if j.note:
            details["note"] = j.note
        if j.correct:
            return Verdict.right(extracted, **details)
        return Verdict.wrong(j.reason or Reason.WRONG, extracted, **details)

    def _second_stage(self, gold: str, answer: str) -> Judgement:
        if in_worker():
            try:
                return judge(gold, answer, use_sympy=True)
            except Exception as e:  # noqa: BLE001
                return Judgement(False, "sympy", f"{type(e).__name__}: {e}", Reason.ERROR)
        return _runner().run(gold, answer, self.sympy_deadline)

    # public API -----------------------------------------------------------------
    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        verdict, gold, ex, extracted = self._first_stage(response, answer)
        if verdict is not None:
            return verdict
        assert gold is not None and ex is not None and extracted is not None
        return self._verdict(self._second_stage(gold, extracted), ex)

    def verify_batch(
        self, responses: Sequence[str], answers: Sequence[Any], problems: Sequence[Problem | None] | None = None
    ) -> list[Verdict]:
        """Score many responses: the in-process stage here, the sympy stage in parallel
        over up to one worker per CPU, each call with its own deadline."""
        if len(responses) != len(answers):
            raise ValueError(f"verify_batch: {len(responses)} responses but {len(answers)} answers")
        out: list[Verdict | None] = [None] * len(responses)
        pending: list[tuple[int, str, Extraction, str]] = []
        for i, (r, a) in enumerate(zip(responses, answers)):
            verdict, gold, ex, extracted = self._first_stage(r, a)
            if verdict is not None:
                out[i] = verdict
            else:
                pending.append((i, gold, ex, extracted))  # type: ignore[arg-type]
        if pending:
            # one sympy comparison per distinct (gold, answer): a group of samples often
            # repeats an answer (GRPO draws 16 per prompt), and the judgement is a
            # function of the two texts alone
            keys = list(dict.fromkeys((gold, extracted) for _, gold, _, extracted in pending))
            workers = min(len(keys), _runner().max_workers)
            if workers <= 1 or in_worker():
                js = [self._second_stage(gold, extracted) for gold, extracted in keys]
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prolong-math") as tp:
                    js = list(tp.map(lambda k: self._second_stage(*k), keys))
            judged = dict(zip(keys, js))
            for i, gold, ex, extracted in pending:
                out[i] = self._verdict(judged[(gold, extracted)], ex)
        return [v for v in out if v is not None]
