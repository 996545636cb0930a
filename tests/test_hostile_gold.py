"""Hostile ground truth (security issue 9): gold answers and instruction arguments are
untrusted input like the response, in the math, STEM and IFEval domains.

Every hostile ground truth is verified in a :class:`prolong.pool.WorkerPool` worker
with a killable deadline (:data:`CALL_TIMEOUT_S`), so this file can never hang. For
each one the tests assert that the call did not time out or crash, that it took
under :data:`FAST_S` (measured in the worker, after the domain's imports are warm),
that no payload ran (a canary file that an executed payload would create does not
exist, and a FIFO that an opened ``\\input{...}`` would block on never blocks), and
the verdict's reason and reward. Each is tried on a realistic response of a few KB
and on a 1 MB response.
"""

from __future__ import annotations

import os
import random
import re
import time
from typing import Any

import pytest

import prolong
from prolong import Reason
from prolong.core import Problem
from prolong.envs.ifeval.instructions import INSTRUCTION_IDS, _contains_whole
from prolong.envs.ifeval.verify import IFEvalVerifier
from prolong.envs.math import MathVerifier
from prolong.envs.stem import StemVerifier
from prolong.pool import CallError, CallTimeout, WorkerPool

CALL_TIMEOUT_S = 5.0  # the pool kills a call past this
FAST_S = 1.0  # every hostile ground truth is judged within this, once imports are warm

CANARY = "@CANARY@"  # replaced by a path in a temporary folder: a payload that runs creates it
FIFO = "@FIFO@"  # replaced by a named pipe: anything that opens it for reading blocks

INVALID = Reason.INVALID_ANSWER
ZERO = "reward 0"  # a payload that is valid text: wrong, or a gold the verifier cannot use
ANY = None  # any verdict (only time, crash and canary are checked)

# --------------------------------------------------------------------------- responses

R_MATH = "Let me think step by step.\n" * 150 + "So the answer is $\\boxed{5}$."
R_STEM = "We use v = d / t with the values given.\n" * 100 + "The final answer is \\boxed{5 m}."
R_IFEVAL = (
    "Apples and oranges are both fruit, and this essay compares them carefully.\n\n" * 20
    + "SECTION 1\nApples are crisp.\n\nSECTION 2\nOranges are juicy.\n\nP.S. Thanks for reading."
)
BIG = {  # about 1 MB each
    "math": "Let me think. " * 75_000 + "\\boxed{5}",
    "stem": "We reason carefully. " * 50_000 + "\\boxed{5 m}",
    "ifeval": "word " * 200_000,
}
REALISTIC = {"math": R_MATH, "stem": R_STEM, "ifeval": R_IFEVAL}

# A call of each domain that loads its imports (sympy, latex2sympy, langdetect's profiles).
WARMUP = {
    "math": ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}"),
    "stem": ("\\boxed{5 m/s}", "5 m/s"),
    "ifeval": (
        "Hola amigos, este es un texto escrito en español.",
        {"instruction_id_list": ["language:response_language"], "kwargs": [{"language": "es"}]},
    ),
}


def _deep(depth: int) -> Any:
    value: Any = {"a": 1}
    for _ in range(depth):
        value = {"a": [value]}
    return value


# --------------------------------------------------------------------------- math golds

CODE = f"__import__('os').system('touch {CANARY}')"
OPEN = f"open('{CANARY}', 'w').write('x')"

MATH_GOLDS: dict[str, tuple[Any, Any]] = {  # name: (gold, expected reason)
    "1 MB gold": ("1" * 1_000_000, INVALID),
    "1 MB of nested braces": ("{" * 500_000 + "1" + "}" * 500_000, INVALID),
    "30-deep braces": ("{" * 30 + "1" + "}" * 30, INVALID),
    "40-deep fractions": ("\\frac{1}{" * 40 + "2" + "}" * 40, INVALID),
    "5000-deep parentheses": ("(" * 5000 + "1" + ")" * 5000, INVALID),
    "unbalanced braces": ("\\frac{1}{2", INVALID),
    "tower 9^{9^{9^{9}}}": ("9^{9^{9^{9}}}", INVALID),
    "10^{10^{10}}!": ("10^{10^{10}}!", INVALID),
    "(10^{7})!": ("(10^{7})!", INVALID),
    "2^2^2^2^2^2": ("2^{2^{2^{2^{2^{2}}}}}", INVALID),
    "product over 10^9 terms": ("\\prod_{k=1}^{10^{9}} k", INVALID),
    "1e999999999": ("1e999999999", INVALID),
    "10^{99999}": ("10^{99999}", INVALID),
    "python code": (CODE, ZERO),
    "python code in an expression": (CODE + "+1", ZERO),
    "python open": (OPEN, ZERO),
    "python eval": (f"eval(compile(\"{OPEN}\", 'x', 'exec'))", ZERO),
    "python lambda": ("(lambda: __import__('os').system('touch " + CANARY + "'))()", ZERO),
    "sympy constructor": (f"Integer(5) + S('{CODE}')", ZERO),
    "code in \\text": ("\\text{" + CODE + "}", ZERO),
    "code in a set": ("\\{\\text{" + CODE + "}, 1\\}", ZERO),
    "code as a function name": ("\\operatorname{" + CODE + "}(5)", ZERO),
    "code as a subscript": ("x_{" + CODE + "}", ZERO),
    "\\input a file": ("\\input{" + FIFO + "}", ZERO),
    "\\include a file": ("\\include{" + FIFO + "}", ZERO),
    "\\openin a file": ("\\openin5=" + FIFO + " \\read5 to\\x \\x", ZERO),
    "\\write18": ("\\immediate\\write18{touch " + CANARY + "} 5", ZERO),
    "\\def": ("\\def\\x{5}\\x", INVALID),
    "control characters": ("\x00\x01\x1b[31m" * 500 + "5", INVALID),
    "double-escaped \\\\frac{10}{2}": ("\\\\frac{10}{2}", Reason.CORRECT),
    "double-escaped \\\\sqrt{25}": ("\\\\sqrt{25}", Reason.CORRECT),
    "dict": ({"answer": "5"}, INVALID),
    "deeply nested dict": (_deep(150), INVALID),
    "list of dicts": ([{"a": 5}], INVALID),
    "nested list": ([[5]], INVALID),
    "empty list": ([], INVALID),
    "10^4 items": (list(range(10_000)), INVALID),
    "None": (None, INVALID),
    "True": (True, INVALID),
    "NaN": (float("nan"), INVALID),
    "infinity": (float("inf"), INVALID),
    "integer of 5000 digits": (10**5000, INVALID),
    "negative integer of 100000 digits": (-(10**100_000), INVALID),
    "bytes": (b"5", INVALID),
    "empty string": ("   ", INVALID),
}

# --------------------------------------------------------------------------- STEM golds

STEM_GOLDS: dict[str, tuple[Any, dict[str, Any], Any]] = {  # name: (gold, metadata, expected reason)
    "1e999999999 m": ("1e999999999 m", {}, INVALID),
    "1e400 m": ("1e400 m", {}, INVALID),
    "1e-400 J": ("1e-400 J", {}, INVALID),
    "5 \\times 10^{99999} J": ("5 \\times 10^{99999} J", {}, INVALID),
    "5/0 m": ("5/0 m", {}, INVALID),
    "10^10^10 J": ("10^10^10 J", {}, Reason.WRONG),
    "10^{10^{10}} J": ("10^{10^{10}} J", {}, Reason.WRONG),
    "1e999999999 m, kind numeric": ("1e999999999 m", {"kind": "numeric"}, INVALID),
    "long unit": ("5 " + "m*" * 900 + "m", {}, Reason.WRONG),
    "nested unit": ("5 " + "(" * 900 + "m" + ")" * 900, {}, Reason.WRONG),
    "nested fractions of units": ("5 " + "\\frac{" * 60 + "m" + "}{s}" * 60, {}, ANY),
    "nested \\mathrm": ("5 " + "\\mathrm{" * 200 + "m" + "}" * 200, {}, ANY),
    "unit exponent 999999999": ("5 m^{999999999}", {}, ANY),
    "unit scale out of range": ("5 Ym^{12}/ym^{12}", {}, ANY),
    "300 prefixes": ("5 " + "k" * 300 + "m", {}, ANY),
    "letter K": ("K", {}, INVALID),
    "letter z": ("z", {}, INVALID),
    "letter (Q)": ("(Q)", {}, INVALID),
    "letter E of 4 options": ("E", {"num_options": 4}, INVALID),
    "1 MB gold": ("5" * 1_000_000, {}, INVALID),
    "1 MB of letters": ("A" * 1_000_000, {}, INVALID),
    "python code": (CODE, {}, ZERO),
    "integer of 5000 digits": (10**5000, {}, INVALID),
    "NaN": (float("nan"), {}, INVALID),
    "infinity": (float("inf"), {}, INVALID),
    "dict": ({"value": 5, "unit": "m"}, {}, INVALID),
    "list": (["5 m"], {}, INVALID),
    "None": (None, {}, INVALID),
    "True": (True, {}, INVALID),
    "empty": ("", {}, INVALID),
    "num_options infinity": ("B", {"num_options": float("inf")}, INVALID),
    "num_options 10^400": ("B", {"num_options": 10**400}, INVALID),
    "kind a list": ("B", {"kind": ["choice"]}, INVALID),
    "options of lists": ("B", {"options": [[1]] * 4}, INVALID),
    "options deeply nested": ("B", {"options": [_deep(150)] * 4}, INVALID),
    "10^6 options": ("B", {"options": ["x"] * 1_000_000}, INVALID),
    "rel_tol 10^400": ("5 m", {"rel_tol": 10**400}, INVALID),
    "rel_tol NaN": ("5 m", {"rel_tol": "nan"}, INVALID),
    "require_units a dict": ("5 m", {"require_units": {"a": 1}}, INVALID),
}

# --------------------------------------------------------------------------- IFEval ground truths


def _one(iid: str, **kwargs: Any) -> dict[str, Any]:
    return {"instruction_id_list": [iid], "kwargs": [kwargs]}


REDOS = ["(a|aa)+$", "(x+x+)+y", "(a*)*b", "(.*a){25}", "^(\\w+\\s?)*$", "(?:a+)+$"]

# every text argument of IFEval, with the other arguments it needs
TEXT_FIELDS: dict[str, tuple[str, dict[str, Any]]] = {
    "keywords": ("keywords:existence", {}),
    "keyword": ("keywords:frequency", {"frequency": 1, "relation": "at least"}),
    "forbidden_words": ("keywords:forbidden_words", {}),
    "postscript_marker": ("detectable_content:postscript", {}),
    "section_spliter": ("detectable_format:multiple_sections", {"num_sections": 1}),
    "end_phrase": ("startend:end_checker", {}),
    "first_word": ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 1, "nth_paragraph": 1}),
    "prompt_to_repeat": ("combination:repeat_prompt", {}),
}


def _text_field(field: str, text: str) -> dict[str, Any]:
    iid, extra = TEXT_FIELDS[field]
    value: Any = [text] if field in ("keywords", "forbidden_words") else text
    return _one(iid, **extra, **{field: value})


# Arguments for all 25 instructions (a valid ground truth of 64 instructions).
ALL_KWARGS = {
    "keywords": ["apples"], "keyword": "apples", "frequency": 2, "relation": "at least",
    "forbidden_words": ["kiwi"], "letter": "a", "let_frequency": 5, "let_relation": "at least", "language": "en",
    "num_sentences": 5, "num_paragraphs": 2, "num_words": 100, "nth_paragraph": 1, "first_word": "apples",
    "num_placeholders": 0, "postscript_marker": "P.S.", "num_bullets": 0, "num_highlights": 0,
    "section_spliter": "SECTION", "num_sections": 2, "prompt_to_repeat": "Apples", "end_phrase": "reading.",
    "capital_frequency": 1, "capital_relation": "at least",
}  # fmt: skip
MANY = [INSTRUCTION_IDS[i % len(INSTRUCTION_IDS)] for i in range(64)]

IFEVAL_GOLDS: dict[str, tuple[Any, Any]] = {  # name: (ground truth, expected reason)
    "num_words 10**18": (_one("length_constraints:number_words", num_words=10**18, relation="less than"), INVALID),
    "num_words 10**5000": (_one("length_constraints:number_words", num_words=10**5000, relation="at least"), INVALID),
    "num_words -3": (_one("length_constraints:number_words", num_words=-3, relation="at least"), INVALID),
    "num_words -10**5000": (_one("length_constraints:number_words", num_words=-(10**5000), relation="at least"), INVALID),
    "num_words '--5'": (_one("length_constraints:number_words", num_words="--5", relation="at least"), INVALID),
    "num_words '²'": (_one("length_constraints:number_words", num_words="²", relation="at least"), INVALID),
    "num_words of 5000 digits": (_one("length_constraints:number_words", num_words="9" * 5000, relation="at least"), INVALID),
    "num_words a list": (_one("length_constraints:number_words", num_words=[5], relation="at least"), INVALID),
    "num_words a dict": (_one("length_constraints:number_words", num_words={"n": 5}, relation="at least"), INVALID),
    "num_words nested deep": (_one("length_constraints:number_words", num_words=_deep(150), relation="at least"), INVALID),
    "num_words 1e300": (_one("length_constraints:number_words", num_words=1e300, relation="at least"), INVALID),
    "num_words infinity": (_one("length_constraints:number_words", num_words=float("inf"), relation="at least"), INVALID),
    "letter frequency N 10**18": (
        _one("keywords:letter_frequency", letter="a", let_frequency=10**18, let_relation="at least"),
        INVALID,
    ),
    "letter a regex": (_one("keywords:letter_frequency", letter="(a|aa)+", let_frequency=1, let_relation="at least"), INVALID),
    "nth_paragraph 10**18": (
        _one("length_constraints:nth_paragraph_first_word", num_paragraphs=10**18, nth_paragraph=10**18, first_word="a"),
        INVALID,
    ),
    "relation a list": (_one("length_constraints:number_words", num_words=5, relation=["at least"]), INVALID),
    "unknown instruction id": (_one("keywords:nope"), INVALID),
    "instruction id not text": ({"instruction_id_list": [5], "kwargs": [{}]}, INVALID),
    "1 MB instruction id": ({"instruction_id_list": ["x" * 1_000_000], "kwargs": [{}]}, INVALID),
    "5000 instructions": ({"instruction_id_list": ["punctuation:no_comma"] * 5000, "kwargs": [{}] * 5000}, INVALID),
    "64 instructions of every kind": ({"instruction_id_list": MANY, "kwargs": [ALL_KWARGS] * 64}, ANY),
    "1 MB keyword": (_one("keywords:existence", keywords=["a" * 1_000_000]), INVALID),
    "5000 keywords": (_one("keywords:existence", keywords=["apple"] * 5000), INVALID),
    "1 MB forbidden word": (_one("keywords:forbidden_words", forbidden_words=["a" * 1_000_000]), INVALID),
    "1 MB end phrase": (_one("startend:end_checker", end_phrase="a" * 1_000_000), INVALID),
    "1 MB prompt to repeat": (_one("combination:repeat_prompt", prompt_to_repeat="a" * 1_000_000), INVALID),
    "1 MB section splitter": (_one("detectable_format:multiple_sections", section_spliter="S" * 1_000_000, num_sections=1), INVALID),
    "keywords a dict": (_one("keywords:existence", keywords={"a": 1}), INVALID),
    "keywords of numbers": (_one("keywords:existence", keywords=[1, 2]), INVALID),
    "language xx": (_one("language:response_language", language="xx"), INVALID),
    "language English": (_one("language:response_language", language="English"), INVALID),
    "language a regex": (_one("language:response_language", language="(a|aa)+$"), INVALID),
    "language 1 MB": (_one("language:response_language", language="e" * 1_000_000), INVALID),
    "language a list": (_one("language:response_language", language=["en"]), INVALID),
    "kwargs with integer keys": ({"instruction_id_list": ["length_constraints:number_words"], "kwargs": [{1: 2, "a": 3}]}, INVALID),
    "kwargs nested deep": ({"instruction_id_list": ["punctuation:no_comma"], "kwargs": [[_deep(150)]]}, INVALID),
    "answer JSON with a 5000-digit number": (
        '{"instruction_id_list": ["length_constraints:number_words"], "kwargs": [{"num_words": '
        + "9" * 5000
        + ', "relation": "at least"}]}',
        INVALID,
    ),
    "answer JSON nested 10^5 deep": ("[" * 100_000, INVALID),
    "answer 1 MB of text": ("x" * 1_000_000, INVALID),
    "answer None": (None, INVALID),
    "answer a list": ([1, 2], INVALID),
}
for _p in REDOS[:2]:
    for _field in TEXT_FIELDS:  # the literal text is not in the response: a forbidden word is "followed"
        _expected = Reason.CORRECT if _field == "forbidden_words" else Reason.WRONG
        IFEVAL_GOLDS[f"{_field} = {_p}"] = (_text_field(_field, _p), _expected)

# --------------------------------------------------------------------------- the runs


def _verify_timed(domain: str, response: str, answer: Any, metadata: dict[str, Any] | None) -> tuple[float, dict]:
    """In a pool worker: warm the domain's imports, then time one verify call."""
    warm_response, warm_answer = WARMUP[domain]
    prolong.verify(domain, response=warm_response, answer=warm_answer)
    if domain == "math":  # a form the fast LaTeX path declines: loads latex2sympy2's parser too
        prolong.verify(domain, response="\\boxed{\\sum_{k=1}^{3} k}", answer="6")
    problem = None
    if metadata is not None:
        problem = Problem(id="hostile", prompt="q", answer=answer, domain=domain, metadata=metadata)
    start = time.perf_counter()
    verdict = prolong.verify(domain, response=response, answer=answer, problem=problem)
    return time.perf_counter() - start, verdict.to_dict()


def _substitute(value: Any, canary: str, fifo: str) -> Any:
    if isinstance(value, str):
        return value.replace(CANARY, canary).replace(FIFO, fifo)
    if isinstance(value, list) and len(value) < 100 and all(isinstance(v, str) for v in value):
        return [_substitute(v, canary, fifo) for v in value]
    if isinstance(value, dict) and "instruction_id_list" in value:
        return {k: _substitute(v, canary, fifo) for k, v in value.items()}
    if isinstance(value, list) and len(value) < 100 and all(isinstance(v, dict) for v in value):
        return [{k: _substitute(v, canary, fifo) for k, v in d.items()} for d in value]
    return value


def _cases() -> dict[str, tuple[str, str, Any, dict[str, Any] | None, Any]]:
    """name -> (domain, response kind, ground truth, metadata, expected reason)."""
    out: dict[str, tuple[str, str, Any, dict[str, Any] | None, Any]] = {}
    for size in ("realistic", "1 MB"):
        for name, (gold, expected) in MATH_GOLDS.items():
            out[f"math: {name} / {size} response"] = ("math", size, gold, None, expected)
        for name, (gold, metadata, expected) in STEM_GOLDS.items():
            out[f"stem: {name} / {size} response"] = ("stem", size, gold, metadata or None, expected)
        for name, (gold, expected) in IFEVAL_GOLDS.items():
            if size == "1 MB" and expected not in (INVALID, ANY, ZERO):
                expected = Reason.TOO_LONG  # over the verifier's 100k-character bound
            out[f"ifeval: {name} / {size} response"] = ("ifeval", size, gold, None, expected)
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("hostile")
    canary, fifo = str(folder / "PWNED"), str(folder / "fifo")
    os.mkfifo(fifo)
    jobs = []
    for domain, size, gold, metadata, _ in CASES.values():
        response = REALISTIC[domain] if size == "realistic" else BIG[domain]
        jobs.append((domain, response, _substitute(gold, canary, fifo), metadata))
    with WorkerPool(2) as pool:
        out = pool.map(_verify_timed, jobs, timeout=CALL_TIMEOUT_S)
    return {"results": dict(zip(CASES, out)), "canary": canary, "folder": folder}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_ground_truth_gives_a_clear_verdict_quickly(hostile_runs, name):
    domain, size, gold, metadata, expected = CASES[name]
    result = hostile_runs["results"][name]
    assert not isinstance(result, CallTimeout), f"{name}: no verdict within {CALL_TIMEOUT_S} s"
    assert not isinstance(result, CallError), f"{name}: the worker failed: {result.message}"
    elapsed, verdict = result
    assert elapsed < FAST_S, f"{name} took {elapsed:.2f} s"
    if expected == ZERO:
        assert verdict["reason"] in (Reason.WRONG, INVALID), f"{name}: {verdict}"
    elif expected is not ANY:
        assert verdict["reason"] == expected, f"{name}: {verdict}"
    if expected not in (ANY, Reason.CORRECT):
        assert verdict["reward"] == 0.0, f"{name}: {verdict}"
    if expected == INVALID:  # the verdict says what is wrong with the ground truth
        message = " ".join(str(v) for v in verdict["details"].values())
        assert len(message) > 10 and "Traceback" not in message, verdict


def test_no_hostile_payload_ran_or_opened_a_file(hostile_runs):
    assert not os.path.exists(hostile_runs["canary"])
    assert sorted(p.name for p in hostile_runs["folder"].iterdir()) == ["fifo"]
    results = hostile_runs["results"]
    for name in CASES:
        if "\\input" in name or "\\include" in name or "\\openin" in name:
            assert isinstance(results[name], tuple), f"{name}: {results[name]}"  # a read of the FIFO would block


def test_invalid_ground_truth_names_what_is_wrong(hostile_runs):
    def message(name: str) -> str:
        return " ".join(str(v) for v in hostile_runs["results"][name][1]["details"].values())

    assert "num_words" in message("ifeval: num_words 10**18 / realistic response")
    assert "keywords" in message("ifeval: 1 MB keyword / realistic response")
    assert "language" in message("ifeval: language xx / realistic response")
    assert "keywords:nope" in message("ifeval: unknown instruction id / realistic response")
    assert "at most 64" in message("ifeval: 5000 instructions / realistic response")
    assert "dict" in message("math: dict / realistic response")
    assert "too large" in message("math: tower 9^{9^{9^{9}}} / realistic response")
    assert "2000 digits" in message("math: integer of 5000 digits / realistic response")
    assert "outside" in message("stem: letter K / realistic response")
    assert "exponent out of range" in message("stem: 1e999999999 m / realistic response")
    assert "num_options" in message("stem: num_options infinity / realistic response")


# --------------------------------------------------------------------------- ReDoS


REDOS_RESPONSES = {"30 a's": "a" * 30 + "!", "5000 a's": "a" * 5000 + "!", "5000 x's": "x" * 5000}
REDOS_CASES = {
    f"{field} = {pattern!r} on {label}": (field, pattern, response)
    for field in TEXT_FIELDS
    for pattern in REDOS
    for label, response in REDOS_RESPONSES.items()
}


@pytest.fixture(scope="module")
def redos_runs() -> dict[str, Any]:
    jobs = [("ifeval", response, _text_field(field, pattern), None) for field, pattern, response in REDOS_CASES.values()]
    with WorkerPool(2) as pool:
        return dict(zip(REDOS_CASES, pool.map(_verify_timed, jobs, timeout=CALL_TIMEOUT_S)))


@pytest.mark.parametrize("name", list(REDOS_CASES))
def test_regex_in_ground_truth_is_literal_text_and_fast(redos_runs, name):
    result = redos_runs[name]
    assert not isinstance(result, (CallTimeout, CallError)), f"{name}: {result}"
    elapsed, verdict = result
    assert elapsed < 0.25, f"{name} took {elapsed:.2f} s"  # (a|aa)+$ took 54 s before the fix
    if name.startswith("forbidden_words"):  # the literal text is absent: the instruction is followed
        assert verdict["reason"] == Reason.CORRECT and verdict["reward"] == 1.0, verdict
    else:
        assert verdict["reason"] == Reason.WRONG and verdict["reward"] == 0.0, verdict


def test_a_keyword_with_regex_syntax_matches_its_own_text():
    v = IFEvalVerifier()
    text = "Write C++ code, use (a|aa)+$ as the pattern, and visit the U.S. Section* 1 here. P.S.* end"
    assert v(text, _one("keywords:existence", keywords=["c++", "(A|AA)+$", "u.s."])).correct
    assert not v("Visit the UxSx today.", _one("keywords:existence", keywords=["U.S."])).correct
    assert v(text, _one("keywords:frequency", keyword="(a|aa)+$", frequency=1, relation="at least")).correct
    assert not v(text, _one("keywords:forbidden_words", forbidden_words=["u.s"])).correct
    assert v("the UxS team", _one("keywords:forbidden_words", forbidden_words=["U.S"])).correct  # "." is a dot
    assert v("nothing to see", _one("keywords:forbidden_words", forbidden_words=["(a|aa)+$", ".*", "\\w+"])).correct
    assert v(text, _one("detectable_content:postscript", postscript_marker="P.S.*")).correct
    assert v(text, _one("detectable_format:multiple_sections", section_spliter="Section*", num_sections=1)).correct
    assert not v("Section 1", _one("detectable_format:multiple_sections", section_spliter="S.ction", num_sections=1)).correct


# --------------------------------------------------------------------------- normal keywords: unchanged


def test_keyword_semantics_for_normal_words_are_the_references():
    v = IFEvalVerifier()
    assert v("The Planetarium was fun.", _one("keywords:existence", keywords=["planet", "FUN"])).correct
    assert not v("The moon was fun.", _one("keywords:existence", keywords=["planet"])).correct
    assert v("cat catalog Cat", _one("keywords:frequency", keyword=" cat ", frequency=3, relation="at least")).correct
    assert v("aaaa", _one("keywords:frequency", keyword="aa", frequency=2, relation="at least")).correct  # non-overlapping
    assert not v("aaaa", _one("keywords:frequency", keyword="aa", frequency=3, relation="at least")).correct
    forbid = ["cat"]
    for allowed in ("The catalog is here.", "A bobcat.", "cat_like", "cats", "Scatter"):
        assert v(allowed, _one("keywords:forbidden_words", forbidden_words=forbid)).correct, allowed
    for banned in ("The CAT is here.", "cat", "(cat)", "cat's toy", "cat-like", "a\ncat\n", "Cat!"):
        assert not v(banned, _one("keywords:forbidden_words", forbidden_words=forbid)).correct, banned
    assert not v("I like Ice Cream!", _one("keywords:forbidden_words", forbidden_words=["ice cream"])).correct
    assert v("an ice creamery", _one("keywords:forbidden_words", forbidden_words=["ice cream"])).correct
    assert v("Bye.\nNote: more", _one("detectable_content:postscript", postscript_marker="NOTE")).correct
    sections = "SECTION 1\nfoo\nSECTION 2\nbar"
    assert v(sections, _one("detectable_format:multiple_sections", section_spliter="SECTION", num_sections=2)).correct
    assert not v(sections, _one("detectable_format:multiple_sections", section_spliter="Section", num_sections=1)).correct


def test_literal_matching_agrees_with_the_reference_regex_on_words_without_metacharacters():
    """A differential check against the reference's own regular expressions (``re.escape``
    is a no-op on such words): existence, frequency, forbidden words, sections."""
    rng = random.Random(9)
    alphabet = list("abAB1_ -'\n\t,!éÉß")
    ifeval = IFEvalVerifier()

    def text(n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    for _ in range(1500):
        response, word = "z" + text(rng.randint(1, 30)), text(rng.randint(1, 4))
        if not word.strip():
            continue
        pattern = re.escape(word)
        assert _contains_whole(response, word) == bool(re.search(r"\b" + pattern + r"\b", response, re.IGNORECASE)), (
            response,
            word,
        )
        found = bool(re.search(pattern, response, re.IGNORECASE))
        assert ifeval(response, _one("keywords:existence", keywords=[word])).correct == found, (response, word)
        count = len(re.findall(re.escape(word.strip()), response, re.IGNORECASE))
        gt = _one("keywords:frequency", keyword=word, frequency=max(count, 1), relation="at least")
        assert ifeval(response, gt).correct == (count >= max(count, 1)), (response, word)
        splits = len(re.split(r"\s?" + re.escape(word.strip()) + r"\s?\d+\s?", response)) - 1
        gt = _one("detectable_format:multiple_sections", section_spliter=word, num_sections=max(splits, 1))
        assert ifeval(response, gt).correct == (splits >= 1), (response, word)


# --------------------------------------------------------------------------- in process, no pool


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_ground_truth_nested_too_deep_to_pickle_is_invalid_not_a_crash(depth):
    deep: Any = 5
    for _ in range(depth):
        deep = [deep]
    start = time.monotonic()
    assert MathVerifier()("\\boxed{5}", {"a": deep}).reason == INVALID
    assert MathVerifier()("\\boxed{5}", [deep]).reason == INVALID
    assert StemVerifier()("\\boxed{5}", {"a": deep}).reason == INVALID
    problem = Problem(id="p", prompt="q", answer="B", domain="stem", metadata={"options": [deep] * 4})
    assert StemVerifier()("\\boxed{B}", "B", problem).reason == INVALID
    ifeval = IFEvalVerifier()
    assert ifeval("hi", {"instruction_id_list": ["punctuation:no_comma"], "kwargs": deep}).reason == INVALID
    assert ifeval("hi", _one("length_constraints:number_words", num_words=deep, relation="at least")).reason == INVALID
    assert ifeval("hi", _one("keywords:existence", keywords=[deep])).reason == INVALID
    assert time.monotonic() - start < 2.0


def test_math_gold_with_doubled_backslashes_only_where_every_one_is_doubled():
    v = MathVerifier()
    assert v("\\boxed{\\frac{1}{2}}", "\\\\frac{1}{2}").correct
    assert v("\\boxed{0.5}", "\\\\dfrac{1}{2}").correct
    matrix = "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"  # \\ is a row break: left alone
    assert v(f"\\boxed{{{matrix}}}", matrix).correct


def test_language_codes_are_the_ones_langdetect_can_answer_with():
    import langdetect

    from prolong.envs.ifeval.instructions import DETECTABLE_LANGUAGES, LANGUAGE_CODES

    profiles = os.path.join(os.path.dirname(langdetect.__file__), "profiles")
    assert DETECTABLE_LANGUAGES == frozenset(os.listdir(profiles))
    assert set(LANGUAGE_CODES) <= DETECTABLE_LANGUAGES
    v = IFEvalVerifier()
    spanish = "Hola amigos. Este es un texto escrito completamente en español para la prueba."
    assert v(spanish, _one("language:response_language", language=" ES ")).correct  # any case and spacing
