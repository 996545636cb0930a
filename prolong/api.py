"""``prolong.verify`` and ``prolong.verify_batch``."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

from prolong.core import Problem, Reason, Verdict, as_verdict, get_verifier
from prolong.pool import CallError, CallTimeout, cpu_count, default_pool

__all__ = ["verify", "verify_batch", "DEFAULT_BATCH_TIMEOUT"]

DEFAULT_BATCH_TIMEOUT = 30.0  # seconds per item; the backstop over a verifier's own bounds


def verify(domain: str, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
    """Score one response against one ground truth with the domain's verifier.

    ``domain`` is a domain name (``"math"``) or an env id (``"prolong/math-v0"``).
    Verifiers bound their own time (see each domain's docs), so this is safe to call
    from any thread.
    """
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    return as_verdict(get_verifier(domain)(response, answer, problem))


def _verify_in_worker(verifier: Any, response: str, answer: Any, problem: Problem | None) -> dict[str, Any]:
    return as_verdict(verifier(response, answer, problem)).to_dict()


def verify_batch(
    domain: str,
    responses: Sequence[str],
    answers: Sequence[Any],
    problems: Sequence[Problem | None] | None = None,
    *,
    timeout: float = DEFAULT_BATCH_TIMEOUT,
    processes: int | None = None,
    progress: bool = False,
) -> list[Verdict]:
    """Score many responses in parallel across the machine's cores.

    A verifier with its own ``verify_batch`` (code: sandboxed tests in parallel) is
    used as is. Otherwise items run in :func:`prolong.pool.default_pool` workers with a
    killable per-item deadline ``timeout``: a stuck item becomes a ``verifier timeout``
    verdict, a crashed one a ``verifier error`` verdict, and the rest of the batch is
    unaffected. Verifiers that cannot be pickled (lambdas) run in this process, and so
    does everything when ``processes=1``; any other value uses the shared pool (one
    worker per CPU, ``PROLONG_WORKER_MEMORY_MB`` each).
    """
    if len(responses) != len(answers):
        raise ValueError(f"verify_batch: {len(responses)} responses but {len(answers)} answers")
    if problems is not None and len(problems) != len(responses):
        raise ValueError(f"verify_batch: {len(responses)} responses but {len(problems)} problems")
    for i, r in enumerate(responses):
        if not isinstance(r, str):
            raise TypeError(f"verify_batch: response {i} must be a str, got {type(r).__name__}")
    probs: list[Problem | None] = list(problems) if problems is not None else [None] * len(responses)
    verifier = get_verifier(domain)
    if hasattr(verifier, "verify_batch"):
        return [as_verdict(v) for v in verifier.verify_batch(list(responses), list(answers), probs)]
    n = len(responses)
    if n == 0:
        return []
    workers = processes or cpu_count()
    try:
        pickle.dumps(verifier)
        picklable = True
    except Exception:
        picklable = False
    if n == 1 or workers == 1 or not picklable:
        return [as_verdict(verifier(r, a, p)) for r, a, p in zip(responses, answers, probs)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"verify {domain}", unit="resp")
    try:
        outs = default_pool().map(
            _verify_in_worker,
            [(verifier, r, a, p) for r, a, p in zip(responses, answers, probs)],
            timeout=timeout,
            progress=bar.update if bar else None,
        )
    finally:
        if bar:
            bar.close()
    verdicts = []
    for out in outs:
        if isinstance(out, CallTimeout):
            verdicts.append(Verdict.wrong(Reason.TIMEOUT, seconds=out.seconds))
        elif isinstance(out, CallError):
            verdicts.append(Verdict.wrong(Reason.ERROR, error=out.message[-2000:]))
        else:
            verdicts.append(Verdict.from_dict(out))
    return verdicts
