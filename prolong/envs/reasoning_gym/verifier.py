"""The reasoning-gym verifier: extract the answer, guard the scorer, score, close the
partial-credit hole."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from typing import Any

from prolong.core import Problem, Reason, Verdict
from prolong.envs.reasoning_gym import safety
from prolong.envs.reasoning_gym.datasets import _check_name, check_config, get_scorer_dataset, json_safe
from prolong.envs.reasoning_gym.extract import extract_answer
from prolong.envs.reasoning_gym.guards import answer_limit, fix_entry, fix_score, gold_problem, guard

__all__ = ["ReasoningGymVerifier", "entry_task", "normalize_answer", "task_score"]


def normalize_answer(text: str) -> str:
    """Whitespace-insensitive form: each line stripped with inner runs of spaces collapsed."""
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines())


class _Undecodable(ValueError):
    """Ground-truth JSON text that cannot be decoded safely (nested too deeply)."""


def _as_entry(answer: Any) -> dict[str, Any]:
    if isinstance(answer, str):  # a ground-truth column stored as JSON text
        try:
            answer = json.loads(answer)
        except RecursionError:
            raise _Undecodable("the ground truth's JSON text is nested too deeply") from None
        except json.JSONDecodeError:
            raise ValueError(
                "a reasoning-gym answer must be the dataset entry {'question', 'answer', 'metadata'} "
                f"(a dict or its JSON text), got the string {answer[:80]!r}"
            ) from None
    if not isinstance(answer, Mapping) or "answer" not in answer:
        raise ValueError(
            "a reasoning-gym answer must be the dataset entry {'question', 'answer', 'metadata'}, "
            f"got {type(answer).__name__}: {str(answer)[:80]!r}"
        )
    return answer  # type: ignore[return-value]


def entry_task(entry: Mapping[str, Any], problem: Problem | None = None) -> str:
    """The reasoning-gym dataset name of an entry (``problem.metadata["task"]`` first)."""
    if problem is not None and isinstance(problem.metadata.get("task"), str):
        return problem.metadata["task"]
    md = entry.get("metadata")
    name = md.get("source_dataset") if isinstance(md, Mapping) else None
    if not isinstance(name, str):
        raise ValueError(
            "the reasoning-gym entry has no metadata['source_dataset'] naming its task, and no problem "
            "with metadata['task'] was given"
        )
    return name


def task_score(task: str, answer: str, entry: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> float:
    """The task's own score of ``answer`` (with the fixes of :mod:`.guards`; no guards, no strictness).

    Raises whatever the scorer raises. ``entry`` is copied first: scorers may change it.
    The entry is not checked (:func:`~.guards.gold_problem`), but ``eval`` and sympy's
    parsers inside reasoning-gym are still the guarded ones, and ``config`` must pass
    :func:`~.datasets.check_config`.
    """
    private = json_safe(entry)
    if not isinstance(private.get("metadata"), dict):
        private["metadata"] = {}
    return _score_private(task, answer, private, config)


def _score_private(task: str, answer: str, private: dict[str, Any], config: Mapping[str, Any] | None) -> float:
    fix_entry(task, private)
    dataset = get_scorer_dataset(task, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fix_score(task, answer, private, lambda: dataset.score_answer(answer, private)))


def _from_answer(text: str, answer: str) -> bool:
    t = text.strip()
    return bool(t) and t in answer


def _invalid_ground_truth(
    task: str,
    entry: Mapping[str, Any],
    config: Any,
    extracted: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Verdict | None:
    """An ``invalid ground truth`` verdict when the entry or the problem's config cannot be scored safely."""
    details = dict(details or {"task": task})
    why = gold_problem(task, entry)
    if why is not None:
        return Verdict.wrong(Reason.INVALID_ANSWER, extracted, invalid_ground_truth=safety.scrub(why), **details)
    if config is not None:
        try:
            check_config(task, config)
        except ValueError as e:
            return Verdict.wrong(Reason.INVALID_ANSWER, extracted, invalid_config=safety.scrub(str(e)), **details)
    return None


class ReasoningGymVerifier:
    """Scores a response against a reasoning-gym entry with the task's own scorer.

    The answer is read as :func:`~prolong.envs.reasoning_gym.extract.extract_answer`
    does (last ``<answer>...</answer>`` block, then ``\\boxed{}``, then an
    ``Answer:`` line), checked against the guards of
    :mod:`~prolong.envs.reasoning_gym.guards` (answers that would run code or hang a
    scorer, and answers longer than :func:`~prolong.envs.reasoning_gym.guards.answer_limit`,
    get 0), then scored by the dataset's ``score_answer`` (rebuilt once per process from
    the entry's ``metadata["source_dataset"]``; from ``problem.metadata["config"]`` when
    the env made the problem, else the dataset's default config). An answer equal to the
    gold one up to whitespace always gets full marks.

    Args:
        strict: True (default): reward is 1 for full marks and 0 otherwise. reasoning-gym
            scorers give partial credit, and the default one gives
            ``len(gold) / len(answer)`` when the gold answer is a substring of the answer:
            "42" scores 0.25 for "1 42 73 99", so listing candidates pays. Strict mode
            closes that and every other partial credit (format rewards of 0.01/0.05 for
            wrong answers, closeness credit). False: the scorer's own score, as
            reasoning-gym gives it (guards and fixes still apply).
        max_answer_chars: a fixed bound on the extracted answer's length instead of the
            per-task default.

    Ground truth is untrusted too: an entry whose fields would reach ``eval``, sympy's
    parser or an unbounded loop of its scorer, or whose size or nesting is out of bounds
    (:func:`~prolong.envs.reasoning_gym.guards.gold_problem`), and a
    ``problem.metadata["config"]`` that fails
    :func:`~prolong.envs.reasoning_gym.datasets.check_config` or does not build, give
    ``Reason.INVALID_ANSWER`` ("invalid ground truth") with ``details["invalid_ground_truth"]``
    or ``details["invalid_config"]`` naming the field and what is wrong. Inside
    reasoning-gym, ``eval``/``exec`` and sympy's parsers are guarded for every field
    (:mod:`~prolong.envs.reasoning_gym.safety`); a refusal there is reported the same way
    (or as a rejected answer when the refused text is the answer's). Error text in
    verdicts has host paths replaced by ``<path>``.

    Time: guards and length bounds keep every scorer we know of fast on hostile input,
    but a single call has no deadline of its own; ``prolong.verify_batch`` runs calls in
    worker processes with a killable per-call deadline.
    """

    def __init__(self, strict: bool = True, max_answer_chars: int | None = None) -> None:
        self.strict = bool(strict)
        if max_answer_chars is not None and int(max_answer_chars) < 1:
            raise ValueError(f"max_answer_chars must be >= 1, got {max_answer_chars}")
        self.max_answer_chars = None if max_answer_chars is None else int(max_answer_chars)

    def __repr__(self) -> str:
        return f"ReasoningGymVerifier(strict={self.strict})"

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        try:
            entry = _as_entry(answer)
        except _Undecodable as e:
            return Verdict.wrong(Reason.INVALID_ANSWER, invalid_ground_truth=str(e))
        task = _check_name(entry_task(entry, problem))
        config = None
        if problem is not None and problem.metadata.get("task") == task:
            config = problem.metadata.get("config")
        invalid = _invalid_ground_truth(task, entry, config)
        if invalid is not None:
            return invalid
        extracted, how = extract_answer(response) if isinstance(response, str) else (None, None)
        if extracted is None:
            return Verdict.wrong(Reason.NO_ANSWER, task=task)
        details: dict[str, Any] = {"task": task}
        if how:
            details["extracted_by"] = how
        return self._score(extracted, entry, task, config, details)

    def score_answer(
        self,
        extracted: str,
        entry: Mapping[str, Any],
        *,
        task: str | None = None,
        config: Mapping[str, Any] | None = None,
        extracted_by: str | None = None,
    ) -> Verdict:
        """Score an already extracted answer against an entry."""
        task = _check_name(task or entry_task(entry))
        details: dict[str, Any] = {"task": task}
        if extracted_by:
            details["extracted_by"] = extracted_by
        invalid = _invalid_ground_truth(task, entry, config, extracted, details)
        if invalid is not None:
            return invalid
        return self._score(extracted, entry, task, config, details)

    def _score(
        self, extracted: str, entry: Mapping[str, Any], task: str, config: Any, details: dict[str, Any]
    ) -> Verdict:
        # the entry and the config passed _invalid_ground_truth
        if config is not None:
            config = check_config(task, config)  # normalised: seed and size dropped, tuples as lists
        private = json_safe(entry)  # scorers may mutate the entry (knight_swap does)
        if not isinstance(private.get("metadata"), dict):
            private["metadata"] = {}
        if isinstance(private.get("answer"), (int, float)) and not isinstance(private["answer"], bool):
            private["answer"] = str(private["answer"])  # a data file that stored "answer": 42
        try:
            get_scorer_dataset(task, config)  # built once per (task, config); a config it cannot build is bad data
        except Exception as e:  # noqa: BLE001 - reasoning-gym raises anything from a constructor
            msg = safety.scrub(f"{type(e).__name__}: {e}")[:500]
            return Verdict.wrong(Reason.INVALID_ANSWER, extracted, invalid_config=msg, **details)
        limit = self.max_answer_chars or answer_limit(task, private)
        if len(extracted) > limit:
            return Verdict.wrong(Reason.TOO_LONG, None, chars=len(extracted), limit=limit, **details)
        gold = private.get("answer")
        if isinstance(gold, str) and normalize_answer(extracted) == normalize_answer(gold):
            return Verdict.right(extracted, **details)
        why = guard(task, extracted, private)
        if why is not None:
            return Verdict.wrong(Reason.WRONG, extracted, rejected=why, **details)
        with safety.watch() as refused:
            try:
                score = _score_private(task, extracted, private, config)
            except Exception as e:  # noqa: BLE001 - a scorer choking on an answer is that answer's problem
                score = None
                msg = safety.scrub(f"{type(e).__name__}: {e}")
        if refused:
            # something reached eval/exec/sympy's parser and was refused (scorers swallow the error)
            kind, text, why = refused[0]
            if not _from_answer(text, extracted):
                why = safety.scrub(f"{kind} refused a field: {why}")
                return Verdict.wrong(Reason.INVALID_ANSWER, extracted, invalid_ground_truth=why, **details)
            return Verdict.wrong(Reason.WRONG, extracted, rejected=why, **details)
        if score is None:
            return Verdict.wrong(Reason.UNPARSEABLE, extracted, scorer_error=msg[:500], **details)
        if not math.isfinite(score):
            score = 0.0
        score = min(max(score, 0.0), 1.0)
        details["score"] = score
        if score >= 1.0:
            return Verdict.right(extracted, **details)
        if self.strict or score <= 0.0:
            return Verdict.wrong(Reason.WRONG, extracted, **details)
        return Verdict(score, False, extracted, Reason.PARTIAL, details)
