"""CodeVerifier: the fraction of tests a response's program passes, run in the sandbox."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from prolong.core import Problem, Reason, Verdict
from prolong.envs.code.compare import DEFAULT_FLOAT_TOL, TestSuite, outputs_match, parse_tests, values_match
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
        timeout: wall-clock seconds per test.
        memory_mb: address-space limit per test.
        problem_timeout: sandbox time (wall-clock seconds, summed over its tests) that one
            response's program may use; tests not started when it is spent are
            ``skipped`` (failed), so one slow program cannot stall a batch.
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
        problem_timeout: float = 60.0,
        processes: int | None = None,
        sandbox: str | None = None,
        float_tol: float = DEFAULT_FLOAT_TOL,
        max_tests: int | None = None,
        limits: Limits | None = None,
        packages: Sequence[str] = ("numpy",),
        max_program_chars: int = 200_000,
    ) -> None:
        self.limits = limits or Limits(timeout=timeout, memory_mb=memory_mb)
        self.problem_timeout = float(problem_timeout)
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
                suite = TestSuite(suite.mode, suite.inputs[: self.max_tests], suite.outputs[: self.max_tests], suite.fn_name)
            plans.append((k, found.program, suite, found.how))
            for inp in suite.inputs:
                executions.append(Execution(found.program, inp, suite.mode, suite.fn_name, group=k))
        left = None if deadline is None or math.isinf(deadline) else deadline - (time.monotonic() - start)
        results = self.pool.run(executions, self.limits, group_budget=self.problem_timeout, deadline=left) if executions else []
        at = 0
        for k, program, suite, how in plans:
            mine = results[at : at + len(suite)]
            at += len(suite)
            verdicts[k] = self._verdict(program, suite, mine, how, deadline)
        return [v for v in verdicts if v is not None]

    def run_program(self, program: str, answer: Any, *, deadline: float | None = None) -> list[ExecResult]:
        """Run a bare program on every test (no extraction, no scoring): raw results."""
        suite = parse_tests(answer)
        executions = [Execution(program, inp, suite.mode, suite.fn_name, group=0) for inp in suite.inputs]
        return self.pool.run(executions, self.limits, group_budget=self.problem_timeout, deadline=deadline)

    # ------------------------------------------------------------------ scoring
    def _judge(self, suite: TestSuite, i: int, r: ExecResult) -> tuple[str, str]:
        """(status, what the program gave) of test i."""
        if r.status != OK:
            return r.status, r.stdout.decode("utf-8", "replace") if suite.mode == "stdio" else ""
        if suite.mode == "stdio":
            got = r.stdout.decode("utf-8", "replace")
            return (PASSED if outputs_match(got, suite.outputs[i], self.float_tol) else WRONG_ANSWER), got
        raw = r.result or b""
        if not raw:
            return WRONG_ANSWER, "(no return value)"
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            return WRONG_ANSWER, "(a return value that is not JSON)"
        return (PASSED if values_match(value, suite.outputs[i], self.float_tol) else WRONG_ANSWER), raw.decode("utf-8", "replace")

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
            if status in (RUNTIME, MEMORY, TIMEOUT, OUTPUT, SKIPPED, LOST):
                error = "\n".join(x for x in (r.note, _last_lines(r.stderr) if r.stderr.strip() else "") if x)
                entry["error"] = error
            tests.append(entry)
            if status == PASSED:
                passed += 1
            elif first_failure is None:
                if suite.mode == "stdio":
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

