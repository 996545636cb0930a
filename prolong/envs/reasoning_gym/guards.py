"""What reasoning-gym's scorers must not see, from the answer and from the ground truth.

Guards run *before* the scorer. Ground truth (the entry's ``answer`` and ``metadata``, and
a problem's config) is untrusted like the model's answer: it arrives from HTTP clients,
data files and TRL/verl rows. :func:`gold_problem` says why an entry cannot be scored
(the verifier's verdict is then ``Reason.INVALID_ANSWER``); :func:`guard` says why an
answer must not reach the scorer (reward 0). Under both, :mod:`.safety` replaces
``eval``/``exec``/``compile`` and sympy's parsers inside every reasoning-gym module, so
a field that no check below knows about still cannot run code.

Audit of reasoning-gym 0.1.25 (every ``eval``, ``exec``, ``compile``, ``sympify``,
``parse_expr``, ``S(...)``, ``literal_eval``, ``open``, ``pickle``, ``__import__`` and
``getattr`` in the package, and every scorer run on hostile values of each answer and
metadata field):

Reached by ``score_answer`` from entry data (scorer / field / mechanism / what we do):

* number_sorting / ``answer`` / ``json.loads``, and ``eval()`` when that fails (every
  generated gold, ``"['1.5', '-3']"``, has single quotes, so ``eval`` is the normal
  path): code execution, ``9**9**9**9`` never returns / the gold must be a literal
  (:func:`~.safety.check_python_expr`); ``eval`` is the safe evaluator.
* bitwise_arithmetic / ``metadata.problem`` / ``eval()`` in ``verify_solution`` (and at
  generation) / the problem must be bounded integer arithmetic; ``eval`` is the safe
  evaluator (same values, ints up to 65,536 bits).
* polynomial_multiplication / ``answer`` / ``sp.parse_expr`` (``sp`` is sympy) / the gold
  must pass :func:`~.safety.sympy_text_problem`; ``sp`` is a guarded proxy.
* simple_integration, intermediate_integration / ``metadata.integrand`` /
  ``sympy.parse_expr(integrand, local_dict={variable: x})``, then
  ``sympy.simplify(d/dx answer - integrand)`` (minutes on a 27-character integrand);
  ``metadata.variable`` is a ``Symbol`` name and a ``local_dict`` key / the integrand
  must pass the sympy text check (at most 2,000 characters), the variable must be a
  short identifier; ``sympy`` is a guarded proxy, and the scorer is replaced by a
  numeric check (see the fixes below).
* string_insertion, spiral_matrix, binary_matrix, n_queens / the *answer* only /
  ``eval(answer)`` to accept a list literal / answers must be plain literals; ``eval``
  is the safe evaluator.
* puzzle24, countdown / the *answer* only / ``parse_expr`` (imported by name) / plain
  arithmetic answers only; the name is the guarded parser. ``metadata.numbers`` and
  ``target`` are only compared as numbers.
* coin_flip / ``answer`` / ``Fraction(gold)``: not eval, but ``Fraction("1e999999999")``
  never returns / no exponents of 3+ digits in the gold (nor in the answer).
* rubiks_cube / ``metadata.cube_size`` / ``Cube(n)`` (``10**9`` allocates until killed);
  ``metadata.scramble_moves`` / ``Cube.rotate`` repeats a move by its count / cube size
  2 to 10, move counts at most 10.
* tower_of_hanoi / ``metadata.num_disks``, ``num_pegs`` / ``range()`` loops that build
  the pegs (``10**9`` never finishes) / at most 1,000 each, pegs in range.
* propositional_logic / ``metadata.premises`` / a recursive parser, quadratic in the
  length (1 MB: 8 s), and a truth table over every distinct atom of the premises and
  the answer (``2**n`` assignments built as a list) / at most 16 variables, premises of
  at most 2,000 characters whose atoms are variables; an answer's atoms must be
  variables too.
* rush_hour / ``metadata.board_config`` / ``Board(...)`` (and the reference answer's
  search) / 36 letters or dots.
* quantum_lock / ``metadata.buttons[].value`` / multiplied into the state on each press of
  the answer (a 100-digit value pressed 2,000 times: seconds) / at most 26 buttons, values
  at most 10**6.
* every task / any field / recursion (``json_safe``, ARC board conversion), size / at
  most 32 levels of nesting, 200,000 values, strings of at most 2,000,000 characters
  (tower_of_hanoi's gold at its hardest is 500,000), integers below ``10**100``; the
  gold answer must be text (or None where the task has none).

The other scorers compare text or parse it with ``json.loads``, ``int``, ``float``,
``Decimal``, ``Fraction`` (gold checked above), ``complex``, regexes and
``numpy.loadtxt`` over in-memory lines, or simulate moves bounded by the answer's length:
none evaluates entry text. No scorer uses ``pickle``, ``literal_eval``, ``__import__``,
``open`` or ``getattr`` on entry data (``getattr`` appears only on generator modules'
own names).

Reached by dataset construction from config values (see
:func:`~prolong.envs.reasoning_gym.datasets.check_config`, applied to every config that
arrives inside a problem):

* spell_backward / ``data_file`` / ``importlib.resources.files(...).joinpath(data_file)
  .read_text()``: an absolute path replaces the package folder, so any readable file is
  opened (``/etc/passwd``; ``/dev/zero`` reads until memory runs out) / keys naming a
  file, path, folder or URL and path-like strings are refused.
* figlet_font / ``static_font`` / pyfiglet opens ``<font>.flf`` from the package, ``./``
  and a shared folder (reasoning-gym's ``validate()`` limits it to its font list) /
  path-like strings refused anyway.
* polynomial_multiplication ``variables``, simple/intermediate_integration ``symbols`` /
  ``sympy.symbols``/``Symbol`` at generation: ``"x:999999999"`` makes a billion symbols /
  strings are letters, digits and ``_ -+*=,`` only.
* codeio / none / ``exec`` of code snippets from its own bundled data file when
  *generating* (``difficulty`` only filters them) / left as is.
* bitwise_arithmetic, basic_arithmetic, gsm_symbolic / none / ``eval`` of expressions
  they generated themselves / the safe evaluator gives the same values.
* every task / numbers / loops and allocations sized by config numbers / numbers bounded
  per field (from its default and its curriculum's range); ``seed`` and ``size`` bounded.
* composite / ``open`` of a YAML path / not servable here (``UNBUILDABLE``).

Answer guards (found by running every scorer on hostile answers):

* ``eval()`` of the answer: string_insertion, spiral_matrix, binary_matrix, n_queens
  accept plain literals only (and ``eval`` is the safe evaluator anyway).
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
* propositional_logic: every atom of the answer must be one of the entry's variables
  (each distinct atom doubles the truth table).
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
* simple_integration and intermediate_integration test
  ``sympy.simplify(d/dx answer - integrand) == 0``, which takes seconds to minutes on
  short expressions from either side (``sin(x + 8)**9*cos(x + 8)**7``: over 20 s). Here
  the difference is evaluated at five points with 30 digits instead (0 when it does not
  vanish at each point where it is defined).
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from prolong.envs.reasoning_gym import safety

__all__ = ["guard", "gold_problem", "fix_entry", "fix_score", "OVERRIDDEN_SCORERS", "answer_limit"]

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
    "asinh", "acosh", "atanh", "exp", "log", "ln", "sqrt", "pi", "E", "I", "Abs", "abs",
}  # fmt: skip
def _bounded_sympy_expr(answer: str, entry: dict[str, Any]) -> str | None:
    gold = entry.get("answer") if isinstance(entry.get("answer"), str) else ""
    allowed = set(_MATH_NAMES) | ({"Integral"} if "Integral" in gold else set())
    return safety.sympy_text_problem(answer, functions=allowed, max_digits=15, single_letter_variables=True, variable_exponents=False)


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


_LOGIC_SPLIT = re.compile(r"[()\s∧∨¬→↔]+")


def _logic_atoms(text: str) -> set[str]:
    return {a for a in _LOGIC_SPLIT.split(text) if a}


def _atoms_are_variables(answer: str, entry: dict[str, Any]) -> str | None:
    variables = (entry.get("metadata") or {}).get("variables")
    if not isinstance(variables, list):
        return None
    known = {v for v in variables if isinstance(v, str)}
    unknown = sorted(_logic_atoms(answer) - known)
    if unknown:
        return f"{unknown[0][:20]!r} is not one of the variables {', '.join(sorted(known))}"
    return None


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
    "propositional_logic": _atoms_are_variables,
}

_NONFINITE = re.compile(r"(?i)(?<![a-z])(nan|inf|infinity)(?![a-z])")


def guard(task: str, answer: str, entry: dict[str, Any]) -> str | None:
    """Why ``answer`` must not reach the scorer of ``task`` (None: it may)."""
    gold = entry.get("answer")
    if isinstance(gold, str) and _NONFINITE.search(answer) and not _NONFINITE.search(gold):
        return "nan/inf is not an answer here"
    check = _GUARDS.get(task)
    return check(answer, entry) if check else None


# --------------------------------------------------------------------------- ground truth

MAX_GOLD_DEPTH = 32
MAX_GOLD_VALUES = 200_000
MAX_GOLD_CHARS = 2_000_000
MAX_GOLD_INT = 10**100

Check = Callable[[Any, dict[str, Any]], "str | None"]


def _text(max_chars: int) -> Check:
    def check(v: Any, entry: dict[str, Any]) -> str | None:
        if not isinstance(v, str):
            return f"must be text, got {type(v).__name__}"
        if len(v) > max_chars:
            return f"is longer than {max_chars} characters"
        return None

    return check


def _all(*checks: Check) -> Check:
    def check(v: Any, entry: dict[str, Any]) -> str | None:
        for c in checks:
            why = c(v, entry)
            if why is not None:
                return why
        return None

    return check


def _python_literal_gold(v: Any, entry: dict[str, Any]) -> str | None:
    return safety.check_python_expr(v)


def _sympy_gold(v: Any, entry: dict[str, Any]) -> str | None:
    md = entry.get("metadata") or {}
    names = {"C"}
    if isinstance(md.get("variable"), str):
        names.add(md["variable"])
    if isinstance(md.get("variables"), list):
        names.update(x for x in md["variables"] if isinstance(x, str))
    return safety.sympy_text_problem(v, names)


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")


def _identifier(v: Any, entry: dict[str, Any]) -> str | None:
    if not isinstance(v, str) or not _IDENTIFIER.fullmatch(v) or "__" in v or keyword.iskeyword(v):
        return "must be a variable name (a letter, then up to 15 letters, digits or _)"
    return None


def _int_in(lo: int, hi: int | str) -> Check:
    def check(v: Any, entry: dict[str, Any]) -> str | None:
        top = hi if isinstance(hi, int) else (entry.get("metadata") or {}).get(hi)
        top = top if isinstance(top, int) and not isinstance(top, bool) else lo
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= top:
            return f"must be an integer from {lo} to {top}"
        return None

    return check


def _no_big_exponent_gold(v: Any, entry: dict[str, Any]) -> str | None:
    return _no_big_exponent(v, entry) if isinstance(v, str) else None


_CUBE_MOVE = re.compile(r"[A-Za-z0-9']{1,8}")


def _move_counts_gold(v: Any, entry: dict[str, Any]) -> str | None:
    if not all(_CUBE_MOVE.fullmatch(m) for m in v.split()):
        return "moves are letters, digits and ' only (like R U' 2F)"
    return _small_move_counts(10, r"(\d+)")(v, entry)


_MAX_LOGIC_VARIABLES = 16


def _logic_variables(v: Any, entry: dict[str, Any]) -> str | None:
    if not isinstance(v, list) or len(v) > _MAX_LOGIC_VARIABLES:
        return f"must be a list of at most {_MAX_LOGIC_VARIABLES} variable names"
    for x in v:
        why = _identifier(x, entry)
        if why is not None:
            return f"has an item that {why}"
    return None


def _logic_premise(v: Any, entry: dict[str, Any]) -> str | None:
    if not isinstance(v, str) or len(v) > 2_000:
        return "must be text of at most 2000 characters"
    return _atoms_are_variables(v, entry)


def _list_of(check: Check, max_items: int) -> Check:
    def each(v: Any, entry: dict[str, Any]) -> str | None:
        if not isinstance(v, list) or len(v) > max_items:
            return f"must be a list of at most {max_items} items"
        for i, x in enumerate(v):
            why = check(x, entry)
            if why is not None:
                return f"[{i}] {why}"
        return None

    return each


def _button(v: Any, entry: dict[str, Any]) -> str | None:
    value = v.get("value") if isinstance(v, Mapping) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not abs(value) <= 1_000_000:
        return "must be a button whose value is a number from -1000000 to 1000000"
    return None


_RUSH_HOUR_BOARD = re.compile(r"[A-Za-z.]{36}")


def _rush_hour_board(v: Any, entry: dict[str, Any]) -> str | None:
    if not isinstance(v, str) or not _RUSH_HOUR_BOARD.fullmatch(v):
        return "must be 36 letters or dots (a 6x6 board)"
    return None


# Fields that reach a dangerous sink (see the audit above); paths are dotted from the entry.
_GOLD_FIELDS: dict[str, list[tuple[str, Check]]] = {
    "number_sorting": [("answer", _all(_text(100_000), _python_literal_gold))],
    "bitwise_arithmetic": [("metadata.problem", _all(_text(100_000), _python_literal_gold))],
    "polynomial_multiplication": [("answer", _all(_text(safety.MAX_SYMPY_CHARS), _sympy_gold))],
    "simple_integration": [
        ("metadata.variable", _identifier),
        ("metadata.integrand", _all(_text(2_000), _sympy_gold)),
    ],
    "intermediate_integration": [
        ("metadata.variable", _identifier),
        ("metadata.integrand", _all(_text(2_000), _sympy_gold)),
    ],
    "coin_flip": [("answer", _all(_text(1_000), _no_big_exponent_gold))],
    "rubiks_cube": [
        ("metadata.cube_size", _int_in(2, 10)),
        ("metadata.scramble_moves", _all(_text(20_000), _move_counts_gold)),
    ],
    "tower_of_hanoi": [
        ("metadata.num_disks", _int_in(1, 1_000)),
        ("metadata.num_pegs", _int_in(3, 1_000)),
        ("metadata.start_peg", _int_in(1, "num_pegs")),
        ("metadata.target_peg", _int_in(1, "num_pegs")),
    ],
    "propositional_logic": [
        ("metadata.variables", _logic_variables),
        ("metadata.premises", _list_of(_logic_premise, 64)),
    ],
    "rush_hour": [("metadata.board_config", _rush_hour_board)],
    "quantum_lock": [("metadata.buttons", _list_of(_button, 26))],
}


def _field(entry: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = entry
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _where(item: tuple[Any, ...] | None) -> str:
    parts: list[str] = []
    while item is not None and item[3] is not None:
        key = item[3]
        parts.append(f"[{key}]" if isinstance(key, int) else f".{str(key)[:40]}")
        item = item[2]
    where = "".join(reversed(parts)).lstrip(".") or "entry"
    return where if len(where) <= 120 else where[:117] + "..."


def _scalar_problem(node: Any) -> str | None:
    if isinstance(node, str):
        if len(node) > MAX_GOLD_CHARS:
            return f"is longer than {MAX_GOLD_CHARS} characters"
    elif isinstance(node, int) and not isinstance(node, bool):
        if not -MAX_GOLD_INT < node < MAX_GOLD_INT:
            return "is an integer of more than 100 digits"
    return None


def _shape_problem(entry: Any) -> str | None:
    """Why the entry is too deep, too big or holds values no entry has (None: fine)."""
    # containers only go on the stack: (node, depth, parent item, key in parent); scalars
    # are checked where they are met, and a path is spelled out only on error
    stack: list[tuple[Any, int, Any, Any]] = [(entry, 0, None, None)]
    count = 0
    while stack:
        item = stack.pop()
        node, depth = item[0], item[1]
        if depth > MAX_GOLD_DEPTH:
            return f"{_where(item)} is nested more than {MAX_GOLD_DEPTH} levels deep"
        if isinstance(node, Mapping):
            pairs: Any = node.items()
        elif isinstance(node, (list, tuple)):
            pairs = enumerate(node)
        elif isinstance(node, (set, frozenset)):
            pairs = enumerate(list(node))
        else:
            why = _scalar_problem(node)
            if why is not None:
                return f"{_where(item)} {why}"
            continue
        count += len(node)
        if count > MAX_GOLD_VALUES:
            return f"the entry has more than {MAX_GOLD_VALUES} values"
        for k, v in pairs:
            if isinstance(k, str) and len(k) > 1_000:
                return f"{_where(item)} has a key longer than 1000 characters"
            if isinstance(v, (Mapping, list, tuple, set, frozenset)):
                stack.append((v, depth + 1, item, k))
            else:
                why = _scalar_problem(v)
                if why is not None:
                    return f"{_where((v, depth + 1, item, k))} {why}"
    return None


def gold_problem(task: str, entry: Mapping[str, Any]) -> str | None:
    """Why the ground truth ``entry`` of ``task`` cannot be scored safely (None: it can).

    The answer names the field and what is wrong with it. Checked: the entry's size and
    nesting, that the gold answer is text (or None), and each field that reaches a
    dangerous sink of the task's scorer (see the audit above).
    """
    why = _shape_problem(entry)
    if why is not None:
        return why
    gold = entry.get("answer")
    if gold is not None and not isinstance(gold, (str, int, float)) or isinstance(gold, bool):
        return f"answer: must be text, got {type(gold).__name__}"
    if entry.get("metadata") is not None and not isinstance(entry.get("metadata"), Mapping):
        return f"metadata: must be a mapping, got {type(entry.get('metadata')).__name__}"
    for path, check in _GOLD_FIELDS.get(task, ()):
        present, value = _field(entry, path)
        if not present:
            continue  # the scorer fails on a missing field by itself, harmlessly
        why = check(value, entry)  # type: ignore[arg-type]
        if why is not None:
            return f"{path}: {why}"
    return None


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


# Points in (0, 1) where an antiderivative's derivative and the integrand are compared:
# away from 0, 1 and simple fractions, where different forms of one function could hit a
# pole or a branch cut together.
_PROBE_POINTS = (0.1373, 0.2918, 0.4531, 0.6187, 0.7809)
_PROBE_DIGITS = 30


def _antiderivative(answer: str, entry: dict[str, Any], raw: Callable[[], float]) -> float:
    """reasoning-gym's test, ``simplify(d/dx answer - integrand) == 0``, done numerically.

    ``simplify`` takes seconds to minutes on short expressions
    (``sin(x + 8)**9*cos(x + 8)**7``: over 20 s) whether they come from the answer or
    from the gold integrand. Here the difference is evaluated at five points with 30
    digits instead (other free symbols get fixed values too): full marks when it
    vanishes at every point where both sides are defined (at least three), else 0.
    """
    import sympy
    from sympy.parsing.sympy_parser import parse_expr

    md = entry.get("metadata") or {}
    var, integrand_text = md.get("variable"), md.get("integrand")
    if not isinstance(var, str) or not isinstance(integrand_text, str) or not isinstance(answer, str):
        return 0.0
    try:
        safety.check_sympy_text(answer, (var, "C"), kind="sympy.parse_expr")
        safety.check_sympy_text(integrand_text, (var,), kind="sympy.parse_expr")
        x = sympy.Symbol(var)
        user = parse_expr(answer, local_dict={var: x, "C": sympy.Symbol("C")})
        integrand = parse_expr(integrand_text, local_dict={var: x})
        difference = sympy.diff(user, x) - integrand
    except safety.UnsafeInput:
        raise
    except Exception:  # noqa: BLE001 - what reasoning-gym's scorer does with anything it cannot parse
        return 0.0
    others = sorted((difference.free_symbols | integrand.free_symbols) - {x}, key=str)
    defined = 0
    for k, point in enumerate(_PROBE_POINTS):
        subs = {x: point, **{s: _PROBE_POINTS[(k + i + 1) % len(_PROBE_POINTS)] + 1 for i, s in enumerate(others)}}
        try:
            d = complex(difference.evalf(_PROBE_DIGITS, subs=subs))
            scale = complex(integrand.evalf(_PROBE_DIGITS, subs=subs))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue  # not a number here (a pole, or a symbol left over): no evidence either way
        if not (math.isfinite(abs(d)) and math.isfinite(abs(scale))):
            continue
        defined += 1
        if abs(d) > 1e-12 * (1.0 + abs(scale)):
            return 0.0
    return 1.0 if defined >= 3 else 0.0


OVERRIDDEN_SCORERS: dict[str, Callable[[str, dict[str, Any], Callable[[], float]], float]] = {
    "game_of_life_halting": _game_of_life_halting,
    "puzzle24": _puzzle24,
    "simple_integration": _antiderivative,
    "intermediate_integration": _antiderivative,
}


def fix_score(task: str, answer: str, entry: dict[str, Any], raw: Callable[[], float]) -> float:
    """The score of ``answer``: ``raw()`` (the task's own scorer) unless a fix applies."""
    fix = OVERRIDDEN_SCORERS.get(task)
    return fix(answer, entry, raw) if fix else raw()
