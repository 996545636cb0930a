"""Test suites in the APPS / TACO / LiveCodeBench ``input_output`` shape, and output comparison.

Comparison rules (as those benchmarks' judges do it, without their loopholes):

* stdin/stdout: trailing whitespace of every line and trailing blank lines are ignored
  (``\\r\\n`` is ``\\n``); failing that, the whitespace-separated tokens must match one by
  one, where a token of the expected output written as a decimal (``0.5``, ``1e-3``) matches
  a number within ``float_tol`` (relative or absolute) and an integer token matches only
  the same integer (``2`` and ``2.0`` agree; ``1000000`` and ``1000000.4`` do not). No set
  or sorted comparison, no case folding, no prefix match: extra or missing tokens fail.
* call-based: the JSON value of the return value, read by the host outside the sandbox,
  is compared structurally with the expected value (tuples are lists in JSON; numbers
  compare by value with ``float_tol`` for non-integers; ``True`` is not ``1``). As in TACO,
  an expected output ``[v]`` also accepts the bare ``v`` (APPS wraps return values in a list).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TestSuite", "parse_tests", "outputs_match", "values_match", "normalize_output", "DEFAULT_FLOAT_TOL"]

DEFAULT_FLOAT_TOL = 1e-6
_FLOAT_TOKEN = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_INT_TOKEN = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class TestSuite:
    """Tests of one problem. ``mode`` is ``"stdio"`` (inputs/outputs are text) or ``"call"``
    (inputs are argument lists, outputs JSON values, ``fn_name`` the function to call)."""

    mode: str
    inputs: tuple[Any, ...]
    outputs: tuple[Any, ...]
    fn_name: str | None = None

    def __len__(self) -> int:
        return len(self.inputs)


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
    or a list of ``{"input", "output"}`` dicts (LiveCodeBench's test-case lists).

    Raises ValueError naming what is wrong.
    """
    if isinstance(answer, (bytes, bytearray)):
        answer = answer.decode("utf-8", "replace")
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError as e:
            raise ValueError(f"the tests are a string but not JSON ({e})") from None
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
        return TestSuite("call", tuple(args), tuple(outs), fn_name)
    ins = tuple(_as_text(x, f"test {i} input") for i, x in enumerate(inputs))
    outs = tuple(_as_text(x, f"test {i} output") for i, x in enumerate(outputs))
    return TestSuite("stdio", ins, outs, None)


# --------------------------------------------------------------------------- stdio


def normalize_output(text: str) -> list[str]:
    """Lines without trailing whitespace, trailing blank lines dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _tokens_match(got: str, expected: str, tol: float) -> bool:
    if got == expected:
        return True
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


def outputs_match(got: str, expected: str, float_tol: float = DEFAULT_FLOAT_TOL) -> bool:
    """Does a program's stdout match the expected output? (rules in the module docstring)"""
    g, e = normalize_output(got), normalize_output(expected)
    if g == e:
        return True
    gt, et = got.split(), expected.split()
    if len(gt) != len(et):
        return False
    return all(_tokens_match(a, b, float_tol) for a, b in zip(gt, et))


# --------------------------------------------------------------------------- call-based


def values_match(got: Any, expected: Any, float_tol: float = DEFAULT_FLOAT_TOL) -> bool:
    """Structural equality of JSON values (a call's return value against the expected one)."""
    if _value_eq(got, expected, float_tol):
        return True
    # APPS and TACO store a call's expected output wrapped in a one-element list.
    return isinstance(expected, list) and len(expected) == 1 and _value_eq(got, expected[0], float_tol)


def _value_eq(a: Any, b: Any, tol: float, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
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
        return len(a) == len(b) and all(_value_eq(x, y, tol, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, Mapping):
        return set(a) == set(map(str, b)) and all(_value_eq(a[str(k)], v, tol, depth + 1) for k, v in b.items())
    return False
