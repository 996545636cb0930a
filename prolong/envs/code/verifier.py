"""CodeVerifier: the fraction of tests a response's program passes, run in the sandbox."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from typing import Any

from prolong.core import Problem, Reason, Verdict
from prolong.envs.code.compare import DEFAULT_FLOAT_TOL, TestSuite, _options, outputs_match, parse_tests, values_match
from prolong.envs.code.extract import extract_program
from prolong.envs.code.sandbox import (
    LOST,
    MEMORY,
    OK,
    OUTPUT,
    RUNTIME,
    SKIPPED,
    TIMEOUT,
    ExecResult,
    Execution,
    Limits,
    SandboxPool,
    get_pool,
)

__all__ = ["CodeVerifier", "PASSED", "WRONG_ANSWER", "TEST_STATUSES"]

PASSED, WRONG_ANSWER = "passed", "wrong answer"
# per-test statuses in Verdict.details["tests"] ("sandbox failure": not the program's doing)
TEST_STATUSES = (PASSED, WRONG_ANSWER, TIMEOUT, RUNTIME, MEMORY, OUTPUT, SKIPPED, LOST)
_REASON = {
    WRONG_ANSWER: Reason.WRONG,
    TIMEOUT: Reason.SANDBOX_LIMIT,
    MEMORY: Reason.SANDBOX_LIMIT,
    OUTPUT: Reason.SANDBOX_LIMIT,
    SKIPPED: Reason.SANDBOX_LIMIT,
    RUNTIME: Reason.RUNTIME_ERROR,
    LOST: Reason.ERROR,
}
_PREVIEW = 1000


def _preview(text: str, n: int = _PREVIEW) -> str:
    return text if len(text) <= n else text[: n // 2] + f"\n... ({len(text) - n} characters cut) ...\n" + text[-n // 2 :]


def _last_lines(text: str, lines: int = 8) -> str:
    return _preview("\n".join(text.rstrip().splitlines()[-lines:]), 1500)


class CodeVerifier:
    """Scores a response by running its program against a problem's tests in the sandbox.

    reward = tests passed / tests; ``Verdict.details``: ``tests`` (per test: ``status``
    one of passed, wrong answer, timeout, runtime error, memory limit, output limit,
    skipped, sandbox failure; ``time``; ``error`` with the last lines of stderr),
    ``passed``, ``total``, ``mode``, ``first_failure`` (index, status, input, expected,
    got, error: what the feedback env shows), ``how`` (which extraction rule found the
    program).

    Two verdicts are not about the program alone:

    * **deadline** (``verify_batch(..., deadline=s)``): tests not finished ``s`` seconds
      after the call are stopped (``timeout``) or not run (``skipped``); the verdict's
      reason is ``verifier timeout``, reward the tests passed before it / all tests, and
      ``details["deadline"]`` says the deadline (``details["deadline_reached"]`` True).
    * **sandbox failure**: a test whose sandbox worker died or missed its own deadline
      (killed from outside, out of memory: a program cannot do that to its worker) is run
      again once; if the item loses a run again, its verdict is ``verifier error``
      (reward 0, not correct) and ``details["error"]`` says which test the sandbox failed,
      never a runtime error charged to the program. One retry per item bounds the cost.

    Concurrent ``verify_batch`` calls (threads) share the sandbox workers fairly: a
    caller's items start as soon as a worker frees, whatever another caller's programs do.

    Args:
        timeout: wall-clock seconds per test: the primary limit (a problem's
            ``options["time_limit"]`` overrides it).
        memory_mb: address-space limit per test.
        problem_timeout: sandbox time (wall-clock seconds, summed over its tests) that one
            response's program may use; a test stopped or not started because it is spent
            is ``skipped`` with the budget named (never a ``timeout``). ``None`` (default):
            (the number of tests + 1) x the per-test limit, so the budget never cuts tests
            that keep to their own limit; a problem's
            ``options["problem_timeout"]`` overrides it.
        judge_preamble: run call-based and assert tests' programs after the judges' common
            preamble (``typing``'s names, ``collections``, ``heapq``, ``bisect``, ``math``,
            ``itertools``, ``functools``, ``string``, ``re`` imported; recursion limit
            100000), as LeetCode, LiveCodeBench and verl's prime_code do. A problem's
            ``options["judge_preamble"]`` overrides it. stdin/stdout programs never get it.
        match, float_mode, bool_is_int, wrapped_outputs: comparison defaults (see
            :mod:`~prolong.envs.code.compare`); a problem's ``options`` override them.
        output_mb: cap on a test's stdout (and a call's result); past it the test fails
            with ``output limit``.
        isolate_tests: assert tests: each test in a fresh fork of the loaded program
            (default); False runs them one after another in the loaded program (faster; a
            test can then see what an earlier one left in the program's state).
        load_once: call-based tests (2 or more): load the program once per problem in the
            sandbox and call it for each test in a fork of the loaded state (default); False
            runs each test as a fresh program (a fork of the sandbox's worker per test).
        processes: sandbox workers (default: the CPUs this process may use).
        sandbox: ``"bwrap"`` (default) or ``"unsafe-rlimits-only"`` (no isolation: an
            explicit opt-in; ``PROLONG_ALLOW_UNSANDBOXED=1`` does the same when bwrap is missing).
        float_tol: relative/absolute tolerance for decimal outputs.
        max_tests: run at most this many tests per problem (the first ones).
        limits: a full :class:`~prolong.envs.code.sandbox.Limits` (overrides timeout and memory_mb).
        packages: installed packages importable inside the sandbox (read-only).
        max_program_chars: a longer program is not run (reason ``response too long``).
    """

    def __init__(
        self,
        *,
        timeout: float = 6.0,
        memory_mb: int = 1024,
        problem_timeout: float | None = None,
        processes: int | None = None,
        sandbox: str | None = None,
        float_tol: float = DEFAULT_FLOAT_TOL,
        max_tests: int | None = None,
        limits: Limits | None = None,
        packages: Sequence[str] = ("numpy",),
        max_program_chars: int = 200_000,
        judge_preamble: bool = True,
        match: str = "lines",
        float_mode: str = "tol",
        bool_is_int: bool = True,
        wrapped_outputs: bool = False,
        output_mb: float | None = None,
        isolate_tests: bool = True,
        load_once: bool = True,
    ) -> None:
        if limits is None:
            limits = Limits(timeout=timeout, memory_mb=memory_mb, **({"output_mb": output_mb} if output_mb else {}))
        elif output_mb:
            limits = dataclasses.replace(limits, output_mb=output_mb)
        self.limits = limits
        self.problem_timeout = None if problem_timeout is None else float(problem_timeout)
        if self.problem_timeout is not None and not self.problem_timeout > 0:
            raise ValueError(f"problem_timeout must be positive seconds or None, got {problem_timeout!r}")
        self.options = _options(
            {"judge_preamble": judge_preamble, "match": match, "float_mode": float_mode, "bool_is_int": bool_is_int,
             "wrapped_outputs": wrapped_outputs, "float_tol": float(float_tol), "isolate_tests": isolate_tests,
             "load_once": load_once}
        )
        self.processes = processes
        self.sandbox = sandbox
        self.float_tol = float(float_tol)
        self.max_tests = max_tests
        self.packages = tuple(packages)
        self.max_program_chars = int(max_program_chars)
        self._pool: SandboxPool | None = None
        from prolong.envs.code.sandbox import resolve_mode

        resolve_mode(sandbox)  # a bad mode name fails here, not on first use

    # pickling (process pools, the mix env): the sandbox pool stays behind
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_pool"] = None
        return state

    @property
    def pool(self) -> SandboxPool:
        if self._pool is None:
            self._pool = get_pool(self.sandbox, processes=self.processes, packages=self.packages)
        return self._pool

    def __call__(self, response: str, answer: Any, problem: Problem | None = None, *, deadline: float | None = None) -> Verdict:
        return self.verify_batch([response], [answer], [problem], deadline=deadline)[0]

    def verify_batch(
        self,
        responses: Sequence[str],
        answers: Sequence[Any],
        problems: Sequence[Problem | None] | None = None,
        *,
        deadline: float | None = None,
    ) -> list[Verdict]:
        """Verdicts for many responses; every test of every response runs in parallel.

        ``deadline``: seconds from this call within which each item must be scored
        (waiting for a free sandbox included); tests not finished by then are stopped or
        not run, and the item's verdict has reason ``verifier timeout`` (see the class
        docstring). None (default): only the per-test and per-problem limits apply.
        """
        start = time.monotonic()
        if deadline is not None:
            deadline = float(deadline)
            if math.isnan(deadline) or deadline <= 0:
                raise ValueError(f"verify_batch: deadline must be a positive number of seconds or None, got {deadline!r}")
        if len(responses) != len(answers):
            raise ValueError(f"verify_batch: {len(responses)} responses but {len(answers)} answers")
        verdicts: list[Verdict | None] = [None] * len(responses)
        plans: list[tuple[int, str, TestSuite, str]] = []
        executions: list[Execution] = []
        for k, (response, answer) in enumerate(zip(responses, answers)):
            if not isinstance(response, str):
                verdicts[k] = Verdict.wrong(Reason.NO_ANSWER, error=f"the response is a {type(response).__name__}, not text; no program")
                continue
            found = extract_program(response)
            if found.program is None:
                verdicts[k] = Verdict.wrong(Reason.NO_ANSWER, how=found.how)
                continue
            if len(found.program) > self.max_program_chars:
                verdicts[k] = Verdict.wrong(
                    Reason.TOO_LONG,
                    how=f"the program has {len(found.program)} characters, more than {self.max_program_chars}",
                )
                continue
            try:
                suite = parse_tests(answer)
            except ValueError as e:
                pid = problems[k].id if problems is not None and problems[k] is not None else f"#{k}"
                verdicts[k] = Verdict(0.0, False, found.program, Reason.INVALID_ANSWER, {"error": f"problem {pid}: {e}"})
                continue
            if self.max_tests is not None:
                suite = suite.head(self.max_tests)
            plans.append((k, found.program, suite, found.how))
            executions.extend(self._executions(found.program, suite, k))
        left = None if deadline is None or math.isinf(deadline) else deadline - (time.monotonic() - start)
        results = self.pool.run(executions, self.limits, deadline=left) if executions else []
        at = 0
        for k, program, suite, how in plans:
            n = 1 if self._one_run(suite) else len(suite)
            mine = results[at : at + n]
            at += n
            if self._one_run(suite):
                mine = self._assert_results(suite, mine[0])
            verdicts[k] = self._verdict(program, suite, mine, how, deadline)
        return [v for v in verdicts if v is not None]

    def option(self, suite: TestSuite, name: str) -> Any:
        return suite.options.get(name, self.options.get(name))

    def _one_run(self, suite: TestSuite) -> bool:
        """All tests in one sandbox run (the program loaded once)?"""
        return suite.mode == "assert" or (suite.mode == "call" and len(suite) > 1 and bool(self.option(suite, "load_once")))

    def _executions(self, program: str, suite: TestSuite, group: Any) -> list[Execution]:
        """The sandbox runs of one problem: one per test, or one for all assert tests (the
        program loads once, each test runs in a fork of the loaded program)."""
        per_test = float(self.option(suite, "time_limit") or self.limits.timeout)
        budget = self.option(suite, "problem_timeout") or self.problem_timeout
        preamble = bool(self.option(suite, "judge_preamble")) and suite.mode != "stdio"
        if suite.mode == "call" and self._one_run(suite):
            # the program loads once; each test calls it in a fork of the loaded program (the
            # judge only calls and hands the value back: the comparison stays here)
            budget = float(budget) if budget else per_test * (len(suite) + 1)
            total = min(budget, per_test * (len(suite) + 1))
            spec = {"tests": ["call"] * len(suite), "calls": [list(a) for a in suite.inputs], "entry_point": suite.fn_name,
                    "names": [], "setup": "", "prelude": "", "isolate": bool(self.option(suite, "isolate_tests"))}
            return [Execution(program, spec, "assert", suite.fn_name, group=group, timeout=total,
                              test_timeout=per_test, budget=budget, preamble=preamble)]
        if suite.mode == "assert":
            budget = float(budget) if budget else per_test * (len(suite) + 1)
            total = min(budget, per_test * (len(suite) + 1))
            spec = dict(suite.spec(), isolate=bool(self.option(suite, "isolate_tests")))
            return [Execution(program, spec, "assert", suite.fn_name, group=group, timeout=total,
                              test_timeout=per_test, budget=budget, preamble=preamble)]
        # default: every test may use its whole limit (plus one limit of slack for the
        # moments spent killing tests that ran past theirs)
        budget = float(budget) if budget else per_test * (len(suite) + 1)
        return [
            Execution(program, inp, suite.mode, suite.fn_name, group=group, timeout=per_test, test_timeout=per_test,
                      budget=budget, preamble=preamble)
            for inp in suite.inputs
        ]

    def _assert_results(self, suite: TestSuite, r: ExecResult) -> list[ExecResult]:
        """Per-test results of an assert run, from the verdict lines its judge wrote."""
        verdicts: dict[int, dict[str, Any]] = {}
        for line in (r.result or b"").split(b"\n"):
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if isinstance(v, dict) and isinstance(v.get("i"), int) and 0 <= v["i"] < len(suite) and v["i"] not in verdicts:
                verdicts[v["i"]] = v
        out: list[ExecResult] = []
        stderr = r.stderr
        for i in range(len(suite)):
            v = verdicts.get(i)
            if v is None:  # the run ended before this test had a verdict
                if r.status == OK:
                    status, note = SKIPPED, "not run: the time of the problem's run was spent"
                elif r.status == RUNTIME:
                    status, note = RUNTIME, "no verdict: the tests' judge ended before this test (" + (r.note or "killed") + ")"
                else:
                    status, note = r.status, r.note
                out.append(ExecResult(status, stderr=stderr, wall=0.0, note=note, extra=dict(r.extra)))
                continue
            s = str(v.get("s"))
            status = {"passed": OK, "returned": OK, "timeout": TIMEOUT, "runtime error": RUNTIME, "memory limit": MEMORY}.get(s, WRONG_ANSWER)
            if suite.mode == "call" and s == "passed":
                status = RUNTIME  # a call-based test's verdict carries the value; without it, nothing to compare
            res = ExecResult(status, wall=float(v.get("t") or 0.0), note=str(v.get("e") or "")[-2000:], stderr="")
            if suite.mode == "call" and s == "returned":
                res.result = str(v.get("v") or "").encode()
            elif status == RUNTIME and not res.note:
                res.note = "runtime error"
            res.extra["assert"] = s
            out.append(res)
        return out

    def run_program(self, program: str, answer: Any, *, deadline: float | None = None) -> list[ExecResult]:
        """Run a bare program on every test (no extraction, no scoring): raw results
        (assert tests: one result per test, from the judge's verdicts)."""
        suite = parse_tests(answer)
        results = self.pool.run(self._executions(program, suite, 0), self.limits, deadline=deadline)
        return self._assert_results(suite, results[0]) if self._one_run(suite) else results

    # ------------------------------------------------------------------ scoring
    def _judge(self, suite: TestSuite, i: int, r: ExecResult) -> tuple[str, str]:
        """(status, what the program gave) of test i."""
        if suite.mode == "assert":
            return (PASSED if r.status == OK else r.status), ""
        if r.status != OK:
            return r.status, r.stdout.decode("utf-8", "replace") if suite.mode == "stdio" else ""
        tol = float(self.option(suite, "float_tol"))
        if suite.mode == "stdio":
            got = r.stdout.decode("utf-8", "replace")
            ok = outputs_match(got, suite.outputs[i], tol, match=self.option(suite, "match"), float_mode=self.option(suite, "float_mode"))
            return (PASSED if ok else WRONG_ANSWER), got
        raw = r.result or b""
        if not raw:
            return WRONG_ANSWER, "(no return value)"
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            return WRONG_ANSWER, "(a return value that is not JSON)"
        ok = values_match(
            value,
            suite.outputs[i],
            tol,
            wrapped_outputs=bool(self.option(suite, "wrapped_outputs")),
            bool_is_int=bool(self.option(suite, "bool_is_int")),
            float_mode=self.option(suite, "float_mode"),
        )
        return (PASSED if ok else WRONG_ANSWER), raw.decode("utf-8", "replace")

    def _verdict(
        self, program: str, suite: TestSuite, results: Sequence[ExecResult], how: str, deadline: float | None = None
    ) -> Verdict:
        tests: list[dict[str, Any]] = []
        first_failure: dict[str, Any] | None = None
        passed = 0
        for i, r in enumerate(results):
            status, got = self._judge(suite, i, r)
            entry: dict[str, Any] = {"status": status, "time": round(r.wall, 4)}
            error = ""
            if status in (RUNTIME, MEMORY, TIMEOUT, OUTPUT, SKIPPED, LOST) or (suite.mode == "assert" and status != PASSED):
                error = "\n".join(x for x in (r.note, _last_lines(r.stderr) if r.stderr.strip() else "") if x)
                entry["error"] = error
            tests.append(entry)
            if status == PASSED:
                passed += 1
            elif first_failure is None:
                if suite.mode == "assert":
                    shown_in, shown_out = suite.inputs[i], "(the test's assertions)"
                elif suite.mode == "stdio":
                    shown_in, shown_out = suite.inputs[i], suite.outputs[i]
                else:
                    shown_in = f"{suite.fn_name}(" + ", ".join(json.dumps(a) for a in suite.inputs[i]) + ")"
                    shown_out = json.dumps(suite.outputs[i])
                first_failure = {
                    "index": i,
                    "status": status,
                    "input": _preview(shown_in),
                    "expected": _preview(shown_out),
                    "got": _preview(got),
                    "error": error,
                }
        total = len(results)
        details = {
            "tests": tests,
            "passed": passed,
            "total": total,
            "mode": suite.mode,
            "first_failure": first_failure,
            "how": how,
        }
        lost = next((i for i, r in enumerate(results) if r.status == LOST), None)
        if lost is not None:  # the sandbox failed (twice): no verdict on the program
            details["error"] = (
                f"the sandbox failed on test {lost} (its worker died or missed its own deadline, "
                f"after the item's one retry; not the program's doing): {results[lost].note}"
            )
            details["sandbox_failure"] = lost
            return Verdict(0.0, False, program, Reason.ERROR, details)
        if passed == total:
            return Verdict(1.0, True, program, Reason.CORRECT, details)
        if any(r.extra.get("deadline") for r in results):
            details["deadline"] = deadline
            details["deadline_reached"] = True
            return Verdict(passed / total, False, program, Reason.TIMEOUT, details)
        reward = passed / total
        reason = Reason.PARTIAL if passed else _REASON.get(first_failure["status"] if first_failure else WRONG_ANSWER, Reason.WRONG)
        return Verdict(reward, False, program, reason, details)

