"""Verification spread over a Ray cluster's CPUs.

    from prolong.adapters.ray import verify_batch_ray
    verdicts = verify_batch_ray("math", responses, answers, chunk_size=64)   # same Verdicts as prolong.verify_batch

The batch is cut into chunks; each chunk is one Ray task (``num_cpus=1``) that scores
its items one by one in a single worker process under a killable per-item deadline
(:class:`prolong.pool.WorkerPool`, one per Ray worker, reused across tasks), so a
stuck item costs its own ``verifier timeout`` verdict and a crash its own ``verifier
error`` verdict, exactly as in-process. Verifiers with their own ``verify_batch`` (the
code sandbox) get the whole chunk.

To send *every* ``prolong.verify_batch`` call of a process to the cluster (the bundled
trainer, verl's batch reward manager through :mod:`prolong.adapters.verl`, the TRL
adapter, the HTTP server's batch domains) without changing their code::

    from prolong.adapters.ray import route_to_ray
    route_to_ray(["math", "code"], chunk_size=64)    # or route_to_ray() for every registered domain

The verifier is shipped to the cluster by pickling: built-in domains only need
prolong installed on the nodes; a task registered in your own module needs that module
importable there too (``runtime_env={"py_modules": [...]}`` or an installed package).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from prolong.api import DEFAULT_BATCH_TIMEOUT
from prolong.core import Problem, Reason, Verdict, as_verdict, get_verifier, list_verifiers, register_verifier

__all__ = ["verify_batch_ray", "RayVerifier", "route_to_ray", "unroute_from_ray", "DEFAULT_CHUNK_SIZE"]

DEFAULT_CHUNK_SIZE = 64

# --------------------------------------------------------------------------- inside a Ray worker

_TASK_POOL: Any = None
_TASK_POOL_LOCK = threading.Lock()


def _task_pool() -> Any:
    """This Ray worker's one-process WorkerPool, started (and warmed) on first use."""
    global _TASK_POOL
    with _TASK_POOL_LOCK:
        if _TASK_POOL is None or _TASK_POOL._closed:
            import atexit
            import os

            from prolong.adapters.common import _ready
            from prolong.pool import WorkerPool

            import multiprocessing

            # this Ray worker is ours to configure: fork pool workers (and replacements of
            # killed ones) from a server that already imported prolong
            multiprocessing.set_forkserver_preload(["prolong", "prolong.adapters.ray"])
            pool = WorkerPool(1, memory_limit_mb=int(os.environ.get("PROLONG_WORKER_MEMORY_MB", "4096")))
            pool.map(_ready, [()], timeout=600)  # the cold start stays out of the items' deadlines
            atexit.register(pool.close)
            _TASK_POOL = pool
        return _TASK_POOL


def _one(verifier: Any, response: str, answer: Any, problem: Problem | None) -> dict[str, Any]:
    return as_verdict(verifier(response, answer, problem)).to_dict()


def _verify_chunk(
    verifier: Any, responses: list[str], answers: list[Any], problems: list[Problem | None], timeout: float, isolate: bool
) -> list[dict[str, Any]]:
    """Score one chunk; returns plain dicts (a Verdict's details are a read-only mapping)."""
    from prolong.adapters.common import pool_safe
    from prolong.pool import CallError, CallTimeout

    if hasattr(verifier, "verify_batch"):
        return [as_verdict(v).to_dict() for v in verifier.verify_batch(responses, answers, problems)]
    if isolate and pool_safe(verifier):
        from prolong.adapters.common import _ready

        pool = _task_pool()
        results = []
        for r, a, p in zip(responses, answers, problems):
            (out,) = pool.map(_one, [(verifier, r, a, p)], timeout=timeout)
            if isinstance(out, CallTimeout):
                results.append(Verdict.wrong(Reason.TIMEOUT, seconds=out.seconds).to_dict())
            elif isinstance(out, CallError):
                results.append(Verdict.wrong(Reason.ERROR, error=out.message[-2000:]).to_dict())
            else:
                results.append(out)
                continue
            # the worker may have been killed and replaced: let the new one start before the
            # next item's deadline begins
            pool.map(_ready, [()], timeout=600)
        return results
    results = []
    for r, a, p in zip(responses, answers, problems):  # not picklable by the standard pickle: in this process
        try:
            results.append(_one(verifier, r, a, p))
        except Exception as e:  # noqa: BLE001 - one item's crash is its own verdict
            results.append(Verdict.wrong(Reason.ERROR, error=f"{type(e).__name__}: {e}"[-2000:]).to_dict())
    return results


# --------------------------------------------------------------------------- the driver

_REMOTE: dict[float, Any] = {}


def _remote(num_cpus: float) -> Any:
    import ray

    if num_cpus not in _REMOTE:
        _REMOTE[num_cpus] = ray.remote(num_cpus=num_cpus, max_retries=1)(_verify_chunk)
    return _REMOTE[num_cpus]


def _ensure_ray(address: str | None, init_kwargs: dict[str, Any] | None) -> Any:
    import ray

    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, **(init_kwargs or {}))
    return ray


def verify_batch_ray(
    domain: Any,
    responses: Sequence[str],
    answers: Sequence[Any],
    problems: Sequence[Problem | None] | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    address: str | None = None,
    timeout: float = DEFAULT_BATCH_TIMEOUT,
    isolate: bool = True,
    num_cpus: float = 1,
    verifier: Any = None,
    ray_init_kwargs: dict[str, Any] | None = None,
) -> list[Verdict]:
    """:func:`prolong.verify_batch` with the items spread over a Ray cluster.

    Args:
        domain: a domain (``"math"``), an env id or a Task
            (:func:`prolong.make_task`) whose verifier scores the items, as in
            :func:`prolong.verify_batch`.
        chunk_size: items per Ray task (larger: less scheduling overhead; smaller: better
            balance when items are slow).
        address: the cluster to join when Ray is not initialized yet (``"auto"``,
            ``"ray://head:10001"``; None: ``RAY_ADDRESS`` or a new local instance).
            Inside verl or any Ray job Ray is already initialized and this is unused.
        timeout: seconds per item before its worker process is killed (``isolate``).
        isolate: run each item in a killable worker process inside the Ray task (the
            default); False scores in the Ray worker itself (faster, no deadline).
        num_cpus: CPUs each Ray task reserves.
        verifier: score with this verifier object instead of the domain's registered one.
        ray_init_kwargs: passed to ``ray.init`` when this call starts Ray.
    """
    if len(responses) != len(answers):
        raise ValueError(f"verify_batch_ray: {len(responses)} responses but {len(answers)} answers")
    if problems is not None and len(problems) != len(responses):
        raise ValueError(f"verify_batch_ray: {len(responses)} responses but {len(problems)} problems")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    for i, r in enumerate(responses):
        if not isinstance(r, str):
            raise TypeError(f"verify_batch_ray: response {i} must be a str, got {type(r).__name__}")
    if verifier is None:
        from prolong.scoring import verifier_of

        verifier = verifier_of(domain)
    if isinstance(verifier, RayVerifier):
        verifier = verifier.inner
    n = len(responses)
    if n == 0:
        return []
    probs = list(problems) if problems is not None else [None] * n
    if hasattr(verifier, "route"):  # a mixture's task: each item to its sub-env's verifier
        from prolong.scoring import score_rows

        return score_rows(
            [verifier] * n, list(responses), list(answers), probs, timeout=timeout,
            ray={"chunk_size": chunk_size, "address": address, "isolate": isolate, "num_cpus": num_cpus,
                 "ray_init_kwargs": ray_init_kwargs},
        )  # fmt: skip
    ray = _ensure_ray(address, ray_init_kwargs)
    task = _remote(num_cpus)
    verifier_ref = ray.put(verifier)
    refs = [
        task.remote(verifier_ref, list(responses[a : a + chunk_size]), list(answers[a : a + chunk_size]), probs[a : a + chunk_size], timeout, isolate)
        for a in range(0, n, chunk_size)
    ]
    return [Verdict.from_dict(d) for chunk in ray.get(refs) for d in chunk]


class RayVerifier:
    """A domain's verifier whose ``verify_batch`` fans out over Ray (single calls stay local)."""

    def __init__(self, domain: str, inner: Any, **options: Any) -> None:
        self.domain, self.inner, self.options = domain, inner, options

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        return as_verdict(self.inner(response, answer, problem))

    def verify_batch(self, responses: list[str], answers: list[Any], problems: list[Problem | None] | None = None) -> list[Verdict]:
        return verify_batch_ray(self.domain, responses, answers, problems, verifier=self.inner, **self.options)

    def __repr__(self) -> str:
        return f"RayVerifier({self.domain!r}, {self.inner!r})"


def route_to_ray(domains: Iterable[str] | None = None, **options: Any) -> list[str]:
    """Make ``prolong.verify_batch(domain, ...)`` run on Ray for these domains (default:
    every registered one); ``options`` go to :func:`verify_batch_ray`. Returns the domains."""
    routed = []
    for d in list(domains) if domains is not None else list_verifiers():
        try:
            inner = get_verifier(d)
        except Exception:
            if domains is not None:
                raise
            continue  # "every domain": skip one whose module cannot be imported here
        if isinstance(inner, RayVerifier):
            inner = inner.inner
        register_verifier(d, RayVerifier(d, inner, **options), replace_builtin=True)
        _ROUTED.add(d)
        routed.append(d)
    if domains is None:  # every verifier, tasks' own included (prolong.scoring's items)
        from prolong.scoring import set_remote

        set_remote(options)
    return routed


_ROUTED: set[str] = set()


def unroute_from_ray(domains: Iterable[str] | None = None) -> None:
    """Undo :func:`route_to_ray` (for these domains, or all routed ones)."""
    if domains is None:
        from prolong.scoring import set_remote

        set_remote(None)
    for d in list(domains) if domains is not None else sorted(_ROUTED):
        v = get_verifier(d)
        if isinstance(v, RayVerifier):
            register_verifier(d, v.inner, replace_builtin=True)
        _ROUTED.discard(d)
