"""``prolong.verify``, ``prolong.verify_batch`` and ``prolong.make_task``: thin doors
into :mod:`prolong.scoring`, the one reward path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prolong.core import Problem, Task, Verdict
from prolong.scoring import DEFAULT_TIMEOUT, make_task, score_batch, score_one

__all__ = ["verify", "verify_batch", "make_task", "DEFAULT_BATCH_TIMEOUT", "DEFAULT_TIMEOUT"]

DEFAULT_BATCH_TIMEOUT = DEFAULT_TIMEOUT  # the old name


def verify(
    target: str | Task,
    response: str,
    answer: Any,
    problem: Problem | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Verdict:
    """Score one response against one ground truth.

    ``target``: a domain name (``"math"``), an env id or short name
    (``"prolong/stem-v0"``, ``"reasoning_gym"``), or a :class:`~prolong.core.Task`
    (``prolong.make_task("prolong/stem-v0", require_units=True)``), whose own verifier
    and arguments then score it, exactly as its env's ``step`` does.

    The verifier runs under a killable deadline of ``timeout`` seconds (a ``verifier
    timeout`` verdict past it; see :mod:`prolong.scoring`). ``timeout=None`` runs it in
    this process without a deadline: for trusted input only.
    """
    return score_one(target, response, answer, problem, timeout=timeout)


def verify_batch(
    target: str | Task,
    responses: Sequence[str],
    answers: Sequence[Any],
    problems: Sequence[Problem | None] | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    processes: int | None = None,
    progress: bool = False,
) -> list[Verdict]:
    """Score many responses in parallel across the machine's cores.

    ``target`` as in :func:`verify`. Each item is its own call in a worker process of
    :func:`prolong.pool.default_pool` with a killable deadline ``timeout`` (counted from
    its start in a worker): a stuck item becomes a ``verifier timeout`` verdict, a crashed
    one a ``verifier error`` verdict, and the rest of the batch is unaffected. A verifier
    with its own ``verify_batch`` uses it (code: sandboxed tests in parallel, with
    ``deadline=timeout``; math: its sympy stage in killable workers). ``processes`` caps
    the workers used (default: one per CPU). ``timeout=None`` scores in this process with
    no deadline (trusted input only).
    """
    bar = None
    if progress:
        from tqdm.auto import tqdm

        name = target.env_id or target.domain if isinstance(target, Task) else target
        bar = tqdm(total=len(responses), desc=f"verify {name}", unit="resp")
    try:
        return score_batch(
            target, responses, answers, problems, timeout=timeout, processes=processes, progress=bar.update if bar else None
        )
    finally:
        if bar:
            bar.close()
