"""``prolong/code-v0`` and ``prolong/code-feedback-v0``."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from prolong.core import ListProblems, Problem, ProblemSource, Reason, Task, Verdict, derive_seed, stamp
from prolong.data import FieldMap, RowArg, row_choice, row_flag, row_number
from prolong.env import TaskEnv
from prolong.envs.code.load import load_code_problems
from prolong.envs.code.verifier import CodeVerifier

__all__ = ["CodeEnv", "CodeFeedbackEnv", "builtin_problems", "code_task", "code_feedback", "code_reference", "PROBLEMS_FILE"]

PROBLEMS_FILE = Path(__file__).with_name("problems.json")


@lru_cache(maxsize=1)
def _builtin_records() -> tuple[dict[str, Any], ...]:
    with open(PROBLEMS_FILE, encoding="utf-8") as f:
        return tuple(json.load(f)["problems"])


def builtin_problems(split: str = "train") -> ListProblems:
    """The problems written for prolong (``problems.json``, built by ``python -m prolong.envs.code.problems``).

    ``split``: ``"train"``, ``"validation"`` (disjoint) or ``"all"``.
    """
    if split not in ("train", "validation", "all"):
        raise ValueError(f"split must be 'train', 'validation' or 'all', got {split!r}")
    problems = [
        Problem(
            id=rec["id"],
            prompt=rec["prompt"],
            answer=rec["tests"],
            domain="code",
            metadata={
                "title": rec["title"],
                "difficulty": rec["difficulty"],
                "mode": rec["mode"],
                "reference": rec["reference"],
                "split": rec["split"],
                "source": "prolong built-in",
            },
        )
        for rec in _builtin_records()
        if split == "all" or rec["split"] == split
    ]
    return ListProblems(problems, domain="code", name=f"code-builtin[{split}]")


class _Shuffled:
    """A source in an order fixed by ``seed``."""

    def __init__(self, source: ProblemSource, seed: int, split: str) -> None:
        self.source = source
        self.order = list(range(len(source)))
        random.Random(derive_seed("code-order", seed, split)).shuffle(self.order)

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int) -> Problem:
        # stamped with this source's task (the env's, with its verifier arguments), so a
        # consumer holding only the problem (the trainer, eval) scores it as env.step does
        return stamp(self.source[self.order[index]], self)


def code_reference(problem: Problem) -> str:
    """A full-marks response: the problem's reference solution in a python fence."""
    ref = problem.metadata.get("reference")
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"problem {problem.id} has no reference solution (a 'solutions' or 'reference' field)")
    return f"```python\n{ref.strip()}\n```"


def code_feedback(problem: Problem, verdict: Verdict) -> str:
    """What the model sees after an attempt that did not pass every test."""
    d = verdict.details
    if verdict.reason in (Reason.NO_ANSWER, Reason.TOO_LONG):
        why = d.get("how") or "no program"
        return f"Your response had no program to run ({why}). Give the complete program in one ```python code block."
    if verdict.reason == Reason.INVALID_ANSWER:
        return "This problem's tests could not be read, so your program was not run. Try again."
    ff = d.get("first_failure") or {}
    parts = [
        f"Your program passed {d.get('passed', 0)} of {d.get('total', '?')} tests. "
        f"It failed test {int(ff.get('index', 0)) + 1}: {ff.get('status', 'wrong answer')}."
    ]
    if ff.get("input") is not None:
        parts.append(f"Input:\n{ff['input']}")
    if ff.get("expected") is not None:
        parts.append(f"Expected output:\n{ff['expected']}")
    if ff.get("got"):
        parts.append(f"Your output:\n{ff['got']}")
    if ff.get("error"):
        parts.append(f"Error:\n{ff['error']}")
    parts.append("Fix the program and answer with the complete corrected program in one ```python code block.")
    return "\n\n".join(parts)


def code_task(
    source: str | os.PathLike[str] | Sequence[Any] | None = None,
    *,
    split: str = "train",
    seed: int = 0,
    fields: FieldMap | None = None,
    limit: int | None = None,
    max_turns: int = 1,
    verifier: CodeVerifier | None = None,
    **verifier_kwargs: Any,
) -> Task:
    """The Task behind both code envs (built-in problems, or ``source`` loaded with ``fields``)."""
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation', got {split!r}")
    problems: ProblemSource
    if source is None:
        problems = builtin_problems(split)
    else:
        problems = load_code_problems(source, split=split, fields=fields, limit=limit)
    verifier = verifier or CodeVerifier(**verifier_kwargs)
    return Task(
        domain="code",
        problems=_Shuffled(problems, seed, split),
        verifier=verifier,
        max_turns=max_turns,
        feedback=code_feedback if max_turns > 1 else None,
        description="programs run in a bubblewrap sandbox against tests; reward = fraction passed",
        reference=code_reference,
    )


#: The verifier arguments a data row may carry (``prolong export``, ``make_dataset``), so an
#: adapter rebuilds the verifier the env scored with. Bounded: rows are untrusted. Not
#: carried: ``sandbox`` (a row never turns the sandbox off), ``processes`` (this machine's
#: workers, not scoring), ``packages`` and ``limits`` (not JSON scalars).
CODE_ROW_KWARGS: dict[str, RowArg] = {
    "timeout": row_number(0.01, 3600, doc="seconds per test"),
    "memory_mb": row_number(16, 16384, integer=True, doc="address-space limit per test"),
    "problem_timeout": row_number(0.01, 86400, optional=True, doc="sandbox seconds for all tests of a response"),
    "output_mb": row_number(0.001, 1024, optional=True, doc="stdout cap per test"),
    "float_tol": row_number(0, 0.999999, doc="tolerance of decimal outputs"),
    "max_tests": row_number(1, 1_000_000, integer=True, optional=True, doc="tests run per problem"),
    "max_program_chars": row_number(1, 10_000_000, integer=True, doc="longest program run"),
    "match": row_choice("lines", "tokens"),
    "float_mode": row_choice("tol", "exact"),
    "judge_preamble": row_flag(),
    "bool_is_int": row_flag(),
    "wrapped_outputs": row_flag(),
    "isolate_tests": row_flag(),
    "load_once": row_flag(),
}


class CodeEnv(TaskEnv):
    """Write a program; it runs in a sandbox against the problem's tests.

    ## Description
    Each episode is one programming problem: built-in (67 problems written for prolong,
    easy to hard, in both test conventions) or loaded from an APPS / TACO / LiveCodeBench /
    Eurus-2-RL style source. The response's program (the last ```` ```python ```` block) runs
    against every test in a bubblewrap sandbox (no network, no host files, read-only
    system, non-root, pid namespace, rlimits, seccomp; see docs/code.md).

    ## Action Space
    :class:`prolong.TextSpace`: the response text; it must contain the program in a fenced
    code block.

    ## Observation Space
    :class:`prolong.TextSpace`: the problem statement with an example and how to answer
    (read stdin and print, or write the function ``fn_name`` and return the answer).

    ## Rewards
    The fraction of tests passed (0 to 1; the paper's continuous code reward). Lost to:
    no program (``no final answer``), wrong output, runtime error, timeout, memory or
    output limit. Outputs compare like APPS/TACO judges: trailing whitespace ignored,
    decimals within 1e-6, call results as JSON values outside the sandbox.

    ## Starting State
    ``reset(seed=s)`` draws a problem with the env's RNG (same seed, same problem);
    ``options={"index": i}`` picks problem i; ``options={"problem": p}`` serves ``p``.

    ## Episode End
    After one step (``CodeFeedbackEnv``: when every test passes or after ``max_turns``).

    ## Info
    ``reset``: ``problem``, ``domain`` (``"code"``), ``index``, ``id``. ``step``:
    ``verdict`` (``details``: per-test status, passed, total, first_failure), ``problem``,
    ``domain``, ``turn``, ``correct``.

    ## Arguments
    ``source``: None (built-in problems), a local .jsonl/.json/.parquet path or a Hugging
    Face dataset name; ``fields``: a field map for it (``{"answer": "reward_model.ground_truth"}``);
    ``split``: ``"train"`` or ``"validation"`` (disjoint); ``seed``: the order of problems;
    ``limit``: read at most this many records; ``timeout``, ``memory_mb``,
    ``problem_timeout``, ``sandbox``, ``processes``, ...: passed to :class:`CodeVerifier`;
    ``verifier``: a ready CodeVerifier; ``render_mode``: ``"ansi"`` or ``"human"``.
    Rows made by ``prolong export`` / ``make_dataset`` carry ``max_turns`` and the
    verifier arguments of :data:`CODE_ROW_KWARGS` (not ``sandbox``, ``processes``,
    ``packages``, ``limits``), so adapters score with the same verifier settings.

    ## Version History
    * v0: first version.
    """

    default_max_turns = 1
    row_kwargs = CODE_ROW_KWARGS

    def __init__(
        self,
        source: str | os.PathLike[str] | Sequence[Any] | None = None,
        *,
        split: str = "train",
        seed: int = 0,
        fields: FieldMap | None = None,
        limit: int | None = None,
        max_turns: int | None = None,
        verifier: CodeVerifier | None = None,
        render_mode: str | None = None,
        **verifier_kwargs: Any,
    ) -> None:
        task = code_task(
            source,
            split=split,
            seed=seed,
            fields=fields,
            limit=limit,
            max_turns=self.default_max_turns if max_turns is None else max_turns,
            verifier=verifier,
            **verifier_kwargs,
        )
        super().__init__(task, render_mode=render_mode)


class CodeFeedbackEnv(CodeEnv):
    """Multi-turn code: after a failed attempt, the observation is the failing test's feedback.

    ## Description
    As ``prolong/code-v0``, but an attempt that does not pass every test is answered with
    feedback on the first failing test (its input, the expected output, the program's
    output and its error), and the model tries again, up to ``max_turns`` attempts.

    ## Action Space
    :class:`prolong.TextSpace`: a response with the complete program in a fenced block.

    ## Observation Space
    :class:`prolong.TextSpace`: first the problem; after a failed attempt the feedback text.

    ## Rewards
    Each step's reward is that attempt's fraction of tests passed.

    ## Starting State
    As ``prolong/code-v0``.

    ## Episode End
    Terminates when an attempt passes every test or after ``max_turns`` attempts (default 3).

    ## Info
    As ``prolong/code-v0``; ``turn`` counts attempts.

    ## Arguments
    As ``prolong/code-v0``, plus ``max_turns`` (default 3).

    ## Version History
    * v0: first version.
    """

    default_max_turns = 3
