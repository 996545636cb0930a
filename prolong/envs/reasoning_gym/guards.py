"""Where reasoning-gym's own scorers cannot be trusted with a model's answer, and the fixes.

Found by running every scorer on hostile answers and on other entries' gold answers
(reasoning-gym 0.1.25). Each entry below says what the scorer does with untrusted text.

Guards run *before* the scorer and reject the answer (reward 0) when it is something
the scorer must not see:

* ``eval()`` of the answer (arbitrary code execution): string_insertion, spiral_matrix,
  binary_matrix, n_queens call Python's ``eval`` on the answer to accept a list
  literal. Only answers that are plain literals (or not Python at all) get through.
* ``sympy.parse_expr`` (which ``eval``s too, and computes ``9**9**9**9`` or
  ``99999999!`` without end): puzzle24 and countdown accept plain arithmetic only;
  simple_integration, intermediate_integration and polynomial_multiplication accept
  expressions of numbers, single-letter variables and known math functions, with
  small literal exponents nested at most twice. ``Integral``/``integrate`` are refused
  (``Integral(f, x) + C`` differentiates back to ``f``: a free full mark) unless the gold
  answer itself is an unevaluated ``Integral``.
* ``Fraction("1e999999999")`` never returns: coin_flip refuses exponents of 3+ digits.
* ``[move] * int(count)``: rubiks_cube ("R999999999" allocates gigabytes) and rush_hour
  ("A+999999999" loops a billion times) get small counts only.
* non-finite numbers: complex_arithmetic scores ``nan`` 1.0 (``min(1, exp(-nan))``), so
  ``nan``/``inf`` are refused wherever the gold answer has none.

Fixes run *after* (or instead of) the scorer:

* game_of_life_halting compares ``bool(answer) == bool(gold)``; both are non-empty
  strings, so every answer scored 1.0. Here the answer must equal the gold
  ``True``/``False`` (letter case and a final period aside).
* puzzle24 checks that the expression makes 24 from four numbers in range, not that they
  are the puzzle's numbers (any ``6*4*1*1`` scored 1.0). Here they must be.
* arc_agi and rearc compare the parsed board with ``metadata["output"]`` as tuples; after
  a JSON round trip it is lists and no answer can match, so the boards are turned back
  into tuples before scoring.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

__all__ = ["guard", "fix_entry", "fix_score", "OVERRIDDEN_SCORERS", "answer_limit"]

# --------------------------------------------------------------------------- guards

_PY_EVAL_TASKS = {"string_insertion", "spiral_matrix", "binary_matrix", "n_queens"}
_LITERAL_NODES = (
    ast.Expression, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.UnaryOp, ast.USub, ast.UAdd, ast.Load,
)  # fmt: skip


def _python_literal_only(answer: str, entry: dict[str, Any]) -> str | None:
    try:
        tree = ast.parse(answer.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # not Python: the scorer's eval fails on it harmlessly
    for node in ast.walk(tree):
        if not isinstance(node, _LITERAL_NODES):
            return f"the answer is Python code ({type(node).__name__}), not a literal"
    return None


_ARITH = re.compile(r"[0-9\s+\-*/().]*")


def _arithmetic_only(answer: str, entry: dict[str, Any]) -> str | None:
    if not _ARITH.fullmatch(answer):
        return "only digits, + - * / and parentheses are allowed"
    if "**" in answer:
        return "powers are not allowed"
    if re.search(r"\d{13}", answer):
        return "a number has more than 12 digits"
    return None


_MATH_NAMES = {
    "sin", "cos", "tan", "cot", "sec", "csc", "asin", "acos", "atan", "acot", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "exp", "log", "ln", "sqrt", "pi", "Abs", "abs",
}  # fmt: skip
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*|\.\d+)|([A-Za-z_][A-Za-z_0-9]*)|(\*\*|\^)|([+\-*/(),]))")
_EXPONENT = re.compile(
    r"\s*(?:\(\s*[+-]?\s*(\d{1,3})(?:\.\d{1,3})?(?:\s*/\s*\d{1,3})?\s*\)|[+-]?\s*(\d{1,3})(?:\.\d{1,3})?(?![\d.]))"
)
_MAX_EXPONENT = 100
_MAX_POWER_NESTING = 2


def _bounded_sympy_expr(answer: str, entry: dict[str, Any]) -> str | None:
    gold = entry.get("answer") if isinstance(entry.get("answer"), str) else ""
    allowed = set(_MATH_NAMES)
    if "Integral" in gold:
        allowed.add("Integral")
    pos, n = 0, len(answer)
    # stack of the deepest power nesting inside each open parenthesis
    depth_stack = [0]
    last_group = 0  # nesting of the group just closed (or 0 for an atom)
    after_exponent = False
    while pos < n:
        m = _TOKEN.match(answer, pos)
        if m is None or m.end() == pos:
            if answer[pos:].strip() == "":
                break
            return f"character {answer[pos]!r} is not allowed in an expression"
        number, name, power, op = m.groups()
        pos = m.end()
        if power is not None and after_exponent:
            return "chained powers (a**b**c) are not allowed"
        after_exponent = False
        if number is not None:
            if len(number.replace(".", "")) > 15:
                return "a number has more than 15 digits"
            last_group = 0
        elif name is not None:
            if not (len(name) == 1 or name in allowed):
                known = ", ".join(sorted(allowed))
                return f"name {name!r} is not allowed (variables are single letters; functions: {known})"
            last_group = 0
        elif power is not None:
            e = _EXPONENT.match(answer, pos)
            if e is None:
                return "an exponent must be a small number (like 2, -1 or (3/2))"
            if int(e.group(1) or e.group(2)) > _MAX_EXPONENT:
                return f"an exponent is larger than {_MAX_EXPONENT}"
            nesting = last_group + 1
            if nesting > _MAX_POWER_NESTING:
                return f"powers nested more than {_MAX_POWER_NESTING} deep"
            depth_stack[-1] = max(depth_stack[-1], nesting)
            pos = e.end()
            last_group = 0
            after_exponent = True
        elif op == "(":
            depth_stack.append(0)
            last_group = 0
        elif op == ")":
            if len(depth_stack) == 1:
                return "unbalanced parentheses"
            last_group = depth_stack.pop()
            depth_stack[-1] = max(depth_stack[-1], last_group)
        else:
            last_group = 0
    if len(depth_stack) != 1:
        return "unbalanced parentheses"
    return None


def _no_big_exponent(answer: str, entry: dict[str, Any]) -> str | None:
    if re.search(r"[eE]\s*[+-]?\s*\d{3}", answer):
        return "exponents of 3 or more digits are not allowed"
    return None


def _small_move_counts(max_count: int, pattern: str) -> Callable[[str, dict[str, Any]], str | None]:
    rx = re.compile(pattern)

    def check(answer: str, entry: dict[str, Any]) -> str | None:
        for m in rx.finditer(answer):
            if len(m.group(1)) > len(str(max_count)) or int(m.group(1)) > max_count:
                return f"a move repeats more than {max_count} times"
        return None

    return check


_GUARDS: dict[str, Callable[[str, dict[str, Any]], str | None]] = {
    **{t: _python_literal_only for t in _PY_EVAL_TASKS},
    "puzzle24": _arithmetic_only,
    "countdown": _arithmetic_only,
    "simple_integration": _bounded_sympy_expr,
    "intermediate_integration": _bounded_sympy_expr,
    "polynomial_multiplication": _bounded_sympy_expr,
    "coin_flip": _no_big_exponent,
    "rubiks_cube": _small_move_counts(10, r"(\d+)"),
    "rush_hour": _small_move_counts(10, r"[A-Z][+-](\d+)"),
}

_NONFINITE = re.compile(r"(?i)(?<![a-z])(nan|inf|infinity)(?![a-z])")


def guard(task: str, answer: str, entry: dict[str, Any]) -> str | None:
    """Why ``answer`` must not reach the scorer of ``task`` (None: it may)."""
    gold = entry.get("answer")
    if isinstance(gold, str) and _NONFINITE.search(answer) and not _NONFINITE.search(gold):
        return "nan/inf is not an answer here"
    check = _GUARDS.get(task)
    return check(answer, entry) if check else None


# Answer length bounds. A correct answer is about as long as the gold one; scorers run
# regexes, parsers and simulations over the answer, so the bound is also a time bound.
_NO_GOLD_LIMITS = {"propositional_logic": 2_000, "rush_hour": 5_000, "rubiks_cube": 20_000}
DEFAULT_NO_GOLD_LIMIT = 50_000


# sympy's simplify() on a long expression takes seconds: these get a tighter bound.
_SYMPY_TASKS = {"simple_integration", "intermediate_integration", "polynomial_multiplication", "puzzle24", "countdown"}


def answer_limit(task: str, entry: dict[str, Any]) -> int:
    """The longest answer the scorer of ``task`` is given for ``entry`` (longer: reward 0)."""
    gold = entry.get("answer")
    if isinstance(gold, str):
        if task in _SYMPY_TASKS:
            return max(200, 4 * len(gold) + 100)
        return max(2_000, 4 * len(gold) + 200)
    return _NO_GOLD_LIMITS.get(task, DEFAULT_NO_GOLD_LIMIT)


# --------------------------------------------------------------------------- fixes


def _tuple_board(board: Any) -> Any:
    if isinstance(board, list):
        return tuple(_tuple_board(r) for r in board)
    return board


def fix_entry(task: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as the scorer expects it (``entry`` is a private copy and may be changed)."""
    if task in ("arc_agi", "rearc"):
        md = entry.get("metadata")
        if isinstance(md, dict):
            for k in ("input", "output"):
                if k in md:
                    md[k] = _tuple_board(md[k])
    return entry


def _game_of_life_halting(answer: str, entry: dict[str, Any], raw: Callable[[], float]) -> float:
    def norm(s: Any) -> str:
        return str(s).strip().rstrip(".").strip().casefold()

    return 1.0 if norm(answer) == norm(entry.get("answer")) else 0.0


def _puzzle24(answer: str, entry: dict[str, Any], raw: Callable[[], float]) -> float:
    score = raw()
    numbers = (entry.get("metadata") or {}).get("numbers")
    if score >= 1.0 and isinstance(numbers, list):
        used = sorted(int(x) for x in re.findall(r"\d+", answer))
        if used != sorted(int(x) for x in numbers):
            return 0.01  # the scorer's own score for a wrong expression
    return score


OVERRIDDEN_SCORERS: dict[str, Callable[[str, dict[str, Any], Callable[[], float]], float]] = {
    "game_of_life_halting": _game_of_life_halting,
    "puzzle24": _puzzle24,
}


def fix_score(task: str, answer: str, entry: dict[str, Any], raw: Callable[[], float]) -> float:
    """The score of ``answer``: ``raw()`` (the task's own scorer) unless a fix applies."""
    fix = OVERRIDDEN_SCORERS.get(task)
    return fix(answer, entry, raw) if fix else raw()
