"""Procedural math problems: eight topics, five difficulty levels, sympy-computed golds.

``generate_problem(rng, level=..., topics=..., split=...)`` is deterministic in the
``random.Random`` it is given (seeded by :class:`prolong.core.GeneratedProblems` from
``(seed, split, index)``). Train and validation never share a problem: a problem
belongs to the validation split exactly when a hash of its text is 0 mod 8, and each
split re-draws until it gets one of its own.

Level 1 is meant for a tiny model trained from scratch: single-digit addition and
subtraction, "x + 3 = 7", the next term of 2, 4, 6, 8, and the like.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import sympy

__all__ = ["TOPICS", "LEVELS", "generate_problem", "latex_of", "PROMPT_TEMPLATE"]

TOPICS: tuple[str, ...] = (
    "arithmetic",
    "fractions",
    "algebra",
    "linear_equations",
    "polynomials",
    "calculus",
    "sequences",
    "counting_probability",
)
LEVELS = (1, 2, 3, 4, 5)
VALIDATION_MODULUS = 8  # 1 problem text in 8 belongs to the validation split
PROMPT_TEMPLATE = "{problem}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."

_x, _y = sympy.symbols("x y")


def latex_of(value: Any) -> str:
    """A gold answer in LaTeX: ``\\frac{3}{4}``, ``-\\frac{1}{2}``, ``x^{2} + 2 x + 1``."""
    v = sympy.sympify(value)
    if v.is_Integer:
        return str(int(v))
    if v.is_Rational:
        sign = "-" if v < 0 else ""
        return f"{sign}\\frac{{{abs(v.p)}}}{{{v.q}}}"
    return sympy.latex(v)


def _nz(rng: random.Random, lo: int, hi: int) -> int:
    """A random non-zero integer in [lo, hi]."""
    while True:
        v = rng.randint(lo, hi)
        if v != 0:
            return v


def _signed(n: int) -> str:
    return f"+ {n}" if n >= 0 else f"- {-n}"


def _term(c: int, var: str) -> str:
    """``3x``, ``-x``, ``x`` (a leading term)."""
    return ("-" if c < 0 else "") + ("" if abs(c) == 1 else str(abs(c))) + var


def _more(c: int, var: str) -> str:
    """``+ 3y``, ``- y`` (a following term)."""
    return ("- " if c < 0 else "+ ") + ("" if abs(c) == 1 else str(abs(c))) + var


def _poly_text(coeffs: Sequence[int], var: str = "x") -> str:
    """``[2, -3, 1]`` -> ``2x^2 - 3x + 1`` (highest power first)."""
    deg = len(coeffs) - 1
    out = ""
    for i, c in enumerate(coeffs):
        p = deg - i
        if c == 0:
            continue
        mag = abs(c)
        body = ("" if mag == 1 and p > 0 else str(mag)) + (var if p >= 1 else "") + (f"^{p}" if p >= 2 else "")
        if not out:
            out = ("-" if c < 0 else "") + body
        else:
            out += (" - " if c < 0 else " + ") + body
    return out or "0"


# --------------------------------------------------------------------------- topics


def _arithmetic(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        if rng.random() < 0.5 or a < b:
            return f"What is {a} + {b}?", a + b
        return f"What is {a} - {b}?", a - b
    if level == 2:
        kind = rng.choice("+-*")
        if kind == "*":
            a, b = rng.randint(2, 9), rng.randint(2, 9)
            return f"What is {a} \\times {b}?", a * b
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        return (f"What is {a} + {b}?", a + b) if kind == "+" else (f"What is {max(a, b)} - {min(a, b)}?", abs(a - b))
    if level == 3:
        a, b, c = rng.randint(2, 30), rng.randint(2, 12), rng.randint(2, 12)
        return f"Compute ${a} + {b} \\times {c}$.", a + b * c
    if level == 4:
        a, b, c, d = (rng.randint(-20, 20) for _ in range(4))
        q = _nz(rng, 2, 9)
        prod = q * rng.randint(-12, 12)
        return f"Compute $({a} - ({b})) \\times ({c}) + ({prod}) \\div {q} - ({d})$.", (a - b) * c + prod // q - d
    a, b, c, m, k = rng.randint(2, 9), rng.randint(2, 4), rng.randint(10, 99), rng.randint(2, 9), rng.randint(1, 50)
    return f"Compute ${a}^{b} - {c} \\times {m} + {k}$.", a**b - c * m + k


def _fractions(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        d = rng.randint(3, 9)
        a, b = rng.randint(1, d - 1), rng.randint(1, d - 1)
        return f"What is $\\frac{{{a}}}{{{d}}} + \\frac{{{b}}}{{{d}}}$? Give your answer as a fraction in lowest terms.", sympy.Rational(a + b, d)
    if level == 2:
        a, b, c, d = rng.randint(1, 9), rng.randint(2, 9), rng.randint(1, 9), rng.randint(2, 9)
        return f"What is $\\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}}$? Simplify.", sympy.Rational(a, b) + sympy.Rational(c, d)
    if level == 3:
        a, b, c, d = rng.randint(1, 12), rng.randint(2, 12), rng.randint(1, 12), rng.randint(2, 12)
        op = rng.choice(["\\times", "\\div", "-"])
        x, y = sympy.Rational(a, b), sympy.Rational(c, d)
        val = x * y if op == "\\times" else (x / y if op == "\\div" else x - y)
        return f"Compute $\\frac{{{a}}}{{{b}}} {op} \\frac{{{c}}}{{{d}}}$ and simplify.", val
    if level == 4:
        w1, w2 = rng.randint(1, 5), rng.randint(1, 5)
        a, b = rng.randint(1, 6), rng.randint(7, 9)
        c, d = rng.randint(1, 4), rng.randint(5, 6)
        val = (w1 + sympy.Rational(a, b)) + (w2 + sympy.Rational(c, d))
        return f"Add the mixed numbers ${w1}\\tfrac{{{a}}}{{{b}}}$ and ${w2}\\tfrac{{{c}}}{{{d}}}$. Give an improper fraction.", val
    a, b, c, d, e, f = (rng.randint(1, 9) for _ in range(6))
    b, d, f = b + 1, d + 1, f + 1
    val = (sympy.Rational(a, b) + sympy.Rational(c, d)) / sympy.Rational(e, f)
    return f"Simplify $\\dfrac{{\\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}}}}{{\\frac{{{e}}}{{{f}}}}}$.", val


def _algebra(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        x, a = rng.randint(0, 9), rng.randint(1, 9)
        return f"If $x = {x}$, what is $x + {a}$?", x + a
    if level == 2:
        x, a, b = rng.randint(-5, 9), rng.randint(2, 9), rng.randint(-9, 9)
        return f"Evaluate ${a}x {_signed(b)}$ when $x = {x}$.", a * x + b
    if level == 3:
        a, b, c, d = (_nz(rng, -9, 9) for _ in range(4))
        expr = sympy.expand(a * _x + b + c * _x + d)
        return f"Simplify ${_term(a, 'x')} {_signed(b)} {_more(c, 'x')} {_signed(d)}$.", expr
    if level == 4:
        a, b = _nz(rng, -6, 6), _nz(rng, -6, 6)
        x, y = rng.randint(-4, 4), rng.randint(-4, 4)
        val = a * x**2 + b * x * y - y**2
        return f"Evaluate ${_term(a, 'x^2')} {_more(b, 'xy')} - y^2$ at $x = {x}$, $y = {y}$.", val
    a, b, c = rng.randint(2, 5), rng.randint(2, 5), rng.randint(1, 4)
    return f"Simplify $\\frac{{x^{{{a + b}}} \\cdot x^{{{c}}}}}{{x^{{{b}}}}}$.", _x ** (a + c)


def _linear(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        x, a = rng.randint(0, 9), rng.randint(1, 9)
        return f"Solve for $x$: $x + {a} = {x + a}$.", x
    if level == 2:
        x, a, b = rng.randint(-9, 9), rng.randint(2, 9), rng.randint(-20, 20)
        return f"Solve for $x$: ${a}x {_signed(b)} = {a * x + b}$.", x
    if level == 3:
        a, c = rng.randint(2, 9), rng.randint(2, 9)
        while c == a:
            c = rng.randint(2, 9)
        b, d = rng.randint(-20, 20), rng.randint(-20, 20)
        sol = sympy.Rational(d - b, a - c)
        return f"Solve for $x$: ${a}x {_signed(b)} = {c}x {_signed(d)}$.", sol
    if level == 4:
        while True:
            a, b, c, d = (_nz(rng, -5, 5) for _ in range(4))
            if a * d - b * c != 0:
                break
        x, y = rng.randint(-6, 6), rng.randint(-6, 6)
        e, f = a * x + b * y, c * x + d * y
        q = (
            f"Solve the system ${_term(a, 'x')} {_more(b, 'y')} = {e}$, ${_term(c, 'x')} {_more(d, 'y')} = {f}$. "
            "Give the ordered pair $(x, y)$."
        )
        return q, ("pair", x, y)
    while True:
        a, b, c, d = (_nz(rng, -7, 7) for _ in range(4))
        if a * d - b * c != 0:
            break
    e, f = rng.randint(-10, 10), rng.randint(-10, 10)
    sol = sympy.solve([a * _x + b * _y - e, c * _x + d * _y - f], [_x, _y], dict=True)[0]
    q = f"Solve the system ${_term(a, 'x')} {_more(b, 'y')} = {e}$, ${_term(c, 'x')} {_more(d, 'y')} = {f}$. Give the ordered pair $(x, y)$."
    return q, ("pair", sol[_x], sol[_y])


def _polynomials(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        x = rng.randint(1, 5)
        return f"What is the value of $x^2$ when $x = {x}$?", x * x
    if level == 2:
        r1, r2 = rng.randint(-9, 9), rng.randint(-9, 9)
        poly = _poly_text([1, -(r1 + r2), r1 * r2])
        return f"Find all roots of ${poly} = 0$. List them separated by commas.", ("roots", r1, r2)
    if level == 3:
        a, b = _nz(rng, -9, 9), _nz(rng, -9, 9)
        return f"Expand $(x {_signed(a)})(x {_signed(b)})$.", sympy.expand((_x + a) * (_x + b))
    if level == 4:
        k = rng.randint(1, 4)
        a, b = _nz(rng, -8, 8), _nz(rng, -8, 8)
        p = sympy.expand(k * (_x + a) * (_x + b))
        return f"Factor completely: ${sympy.latex(p)}$.", sympy.factor(p)
    r1, r2, r3 = rng.randint(-5, 5), rng.randint(-5, 5), rng.randint(-5, 5)
    p = sympy.expand((_x - r1) * (_x - r2) * (_x - r3))
    if rng.random() < 0.5:
        return f"What is the sum of the roots (with multiplicity) of ${sympy.latex(p)} = 0$?", r1 + r2 + r3
    return f"What is the product of the roots (with multiplicity) of ${sympy.latex(p)} = 0$?", r1 * r2 * r3


def _calculus(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        a = rng.randint(1, 9)
        return f"What is the derivative of ${a}x$ with respect to $x$?", a
    if level == 2:
        a, b, c, x0 = rng.randint(1, 6), rng.randint(-9, 9), rng.randint(-9, 9), rng.randint(-3, 3)
        f = a * _x**2 + b * _x + c
        return f"Let $f(x) = {sympy.latex(f)}$. What is $f'({x0})$?", sympy.diff(f, _x).subs(_x, x0)
    if level == 3:
        a, b, lo = rng.randint(1, 6), rng.randint(-5, 5), rng.randint(0, 2)
        hi = lo + rng.randint(1, 3)
        f = a * _x + b
        return f"Compute $\\int_{{{lo}}}^{{{hi}}} \\left({sympy.latex(f)}\\right)\\,dx$.", sympy.integrate(f, (_x, lo, hi))
    if level == 4:
        a, b, c, x0 = rng.randint(1, 4), rng.randint(-5, 5), rng.randint(1, 5), rng.randint(-2, 2)
        f = (a * _x**2 + b) * (_x + c)
        return f"Let $f(x) = ({sympy.latex(a * _x**2 + b)})(x + {c})$. Compute $f'({x0})$.", sympy.diff(f, _x).subs(_x, x0)
    a, b, c, d = rng.randint(1, 4), rng.randint(-3, 3), rng.randint(-3, 3), rng.randint(-3, 3)
    lo, hi = rng.randint(-2, 0), rng.randint(1, 3)
    f = a * _x**3 + b * _x**2 + c * _x + d
    return f"Compute $\\int_{{{lo}}}^{{{hi}}} ({sympy.latex(f)})\\,dx$.", sympy.integrate(f, (_x, lo, hi))


def _sequences(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        a, d = rng.randint(0, 5), rng.randint(1, 3)
        terms = [a + d * i for i in range(4)]
        return f"What is the next number in the sequence {', '.join(map(str, terms))}?", a + 4 * d
    if level == 2:
        a, d, n = rng.randint(-10, 10), _nz(rng, -5, 7), rng.randint(8, 30)
        return f"An arithmetic sequence starts {a}, {a + d}, {a + 2 * d}, ... What is its {n}th term?", a + (n - 1) * d
    if level == 3:
        a, d, n = rng.randint(1, 10), rng.randint(1, 6), rng.randint(10, 40)
        return f"Find the sum of the first {n} terms of the arithmetic sequence {a}, {a + d}, {a + 2 * d}, ...", n * (2 * a + (n - 1) * d) // 2
    if level == 4:
        a, r, n = rng.randint(1, 5), rng.choice([2, 3, -2]), rng.randint(5, 9)
        return f"A geometric sequence starts {a}, {a * r}, {a * r * r}, ... What is its {n}th term?", a * r ** (n - 1)
    a, n = rng.randint(1, 9), rng.randint(3, 7)
    r = sympy.Rational(1, rng.choice([2, 3, 4]))
    total = sum(a * r**i for i in range(n))
    return (
        f"Find the sum of the first {n} terms of the geometric sequence with first term {a} and common ratio "
        f"${latex_of(r)}$. Give an exact fraction.",
        total,
    )


def _counting(rng: random.Random, level: int) -> tuple[str, Any]:
    if level == 1:
        n = rng.randint(2, 9)
        if rng.random() < 0.5:
            return f"A bag has {n} marbles. In how many ways can you pick one marble?", n
        return "A fair coin is flipped once. What is the probability of heads? Give a fraction.", sympy.Rational(1, 2)
    if level == 2:
        n, k = rng.randint(4, 10), rng.randint(2, 3)
        return f"How many ways are there to choose {k} items from {n} distinct items?", sympy.binomial(n, k)
    if level == 3:
        n = rng.randint(3, 7)
        if rng.random() < 0.5:
            return f"In how many ways can {n} people stand in a line?", sympy.factorial(n)
        r, b = rng.randint(1, 9), rng.randint(1, 9)
        return f"A bag has {r} red and {b} blue marbles. One is drawn at random. What is the probability it is red?", sympy.Rational(r, r + b)
    if level == 4:
        s = rng.randint(2, 12)
        ways = sum(1 for i in range(1, 7) for j in range(1, 7) if i + j == s)
        return f"Two fair six-sided dice are rolled. What is the probability that the sum is {s}?", sympy.Rational(ways, 36)
    r, b, k = rng.randint(3, 8), rng.randint(3, 8), 2
    return (
        f"A box has {r} red and {b} blue balls. Two balls are drawn without replacement. "
        f"What is the probability that both are red?",
        sympy.Rational(sympy.binomial(r, k), sympy.binomial(r + b, k)),
    )


_GENERATORS: dict[str, Callable[[random.Random, int], tuple[str, Any]]] = {
    "arithmetic": _arithmetic,
    "fractions": _fractions,
    "algebra": _algebra,
    "linear_equations": _linear,
    "polynomials": _polynomials,
    "calculus": _calculus,
    "sequences": _sequences,
    "counting_probability": _counting,
}


def _gold(value: Any) -> str:
    if isinstance(value, tuple) and value and value[0] == "pair":
        return f"({latex_of(value[1])}, {latex_of(value[2])})"
    if isinstance(value, tuple) and value and value[0] == "roots":
        roots = sorted(set(value[1:]))
        return ", ".join(latex_of(r) for r in roots)
    return latex_of(value)


def check_options(level: int | None, topics: Sequence[str] | None) -> tuple[int | None, tuple[str, ...]]:
    if level is not None and level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS} or None (mixed), got {level!r}")
    if topics is None:
        return level, TOPICS
    if isinstance(topics, str):
        topics = [topics]
    unknown = [t for t in topics if t not in _GENERATORS]
    if unknown or not topics:
        raise ValueError(f"unknown math topic(s) {unknown or topics}; choose from {', '.join(TOPICS)}")
    return level, tuple(topics)


def in_split(question: str, split: str) -> bool:
    """Whether a problem text belongs to ``split`` (validation: 1 in 8 by hash)."""
    is_val = zlib.crc32(question.encode()) % VALIDATION_MODULUS == 0
    return is_val if split == "validation" else not is_val


def generate_problem(
    rng: random.Random,
    *,
    level: int | None = None,
    topics: Sequence[str] | None = None,
    split: str = "train",
    prompt_template: str = PROMPT_TEMPLATE,
) -> dict[str, Any]:
    """One problem dict ``{"prompt", "answer", "metadata"}`` drawn with ``rng``."""
    level, topics = check_options(level, topics)
    for _ in range(200):
        lv = level if level is not None else rng.randint(1, 5)
        topic = rng.choice(topics)
        question, value = _GENERATORS[topic](rng, lv)
        if in_split(question, split):
            break
    gold = _gold(value)
    return {
        "prompt": prompt_template.format(problem=question),
        "answer": gold,
        "metadata": {"topic": topic, "level": lv, "question": question},
    }
