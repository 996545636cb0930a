"""The one reward path: response -> Verdict, for every consumer.

``env.step``, :func:`prolong.verify` / :func:`prolong.verify_batch`, the trainer, ``prolong
eval``, ``prolong verify``, the TRL / verl / OpenRLHF adapters, the HTTP server and Ray
all score here, so a response gets the same reward wherever it is scored:

* **with the task's own verifier and arguments.** A target is a :class:`~prolong.core.Task`
  (``prolong.make_task("prolong/stem-v0", require_units=True)``), an env id or short
  name (``"prolong/stem-v0"``, ``"stem"``: the env's default arguments), or a domain name.
  A task whose verifier routes items to other verifiers (the mixture) is followed per item.
  Data rows name their env and its arguments (:func:`task_of_row`), so an adapter
  rebuilds the very task that made the row.
* **under a killable deadline** (``timeout``, default 30 s, counted from the item's start
  in a worker). Ground truth and responses are untrusted: a verifier without its own
  batch path runs each item as one call in :func:`prolong.pool.default_pool`, whose
  worker is SIGKILLed past the deadline (a ``verifier timeout`` verdict; a crash is a
  ``verifier error`` verdict). Verifiers with their own ``verify_batch`` bound their own
  time: the code sandbox gets ``deadline=timeout``; math runs its sympy stage in killable
  workers. Inside a pool worker (the server's) items run directly: they already are under
  a deadline.
* ``timeout=None`` opts out: the verifier runs in this process with no deadline. Use it
  only for trusted input (your own answers in a notebook), never for a policy's output.
  Verifiers that cannot be pickled (a lambda) also run in this process; define them at
  module level to get the deadline.
"""

from __future__ import annotations

import functools
import inspect
import json
import pickle
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.data import ROW_MAX_TEXT
from prolong.core import (
    Problem,
    ProlongError,
    Reason,
    Task,
    UnknownEnvError,
    Verdict,
    as_verdict,
    get_verifier,
    list_verifiers,
    owner_task,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "make_task",
    "resolve_env_id",
    "verifier_of",
    "score_one",
    "score_batch",
    "score_rows",
    "row_env_kwargs",
    "carried_env_kwargs",
    "task_of_row",
]

DEFAULT_TIMEOUT = 30.0  # seconds per item; the killable backstop over a verifier's own bounds


# --------------------------------------------------------------------------- env id -> Task


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def resolve_env_id(name: str) -> str:
    """The registered env id of ``name``: an env id (``"prolong/reasoning-gym-v0"``, also
    in Gymnasium's ``"prolong:prolong/..."`` form) or a short name (``"reasoning_gym"``,
    ``"reasoning-gym"``). Raises :class:`~prolong.core.UnknownEnvError` naming it."""
    from prolong.env import list_envs

    if not isinstance(name, str) or not name.strip():
        raise UnknownEnvError(f"an env must be named by a non-empty string, got {name!r}")
    ids = list_envs()
    raw = name.strip()
    if raw.startswith("prolong:"):
        raw = raw[len("prolong:") :]
    if raw in ids:
        return raw
    want = _norm(raw)
    for env_id in ids:  # case and _/- spelling of a full id
        if _norm(env_id) == want:
            return env_id
    if "/" not in want:
        for env_id in ids:
            short = env_id.split("/", 1)[1].rsplit("-v", 1)[0]
            if env_id.startswith("prolong/") and _norm(short) == want:
                return env_id
        matches = [e for e in ids if _norm(e.split("/", 1)[1].rsplit("-v", 1)[0]) == want]
        if len(matches) == 1:
            return matches[0]
    raise UnknownEnvError(f"unknown env {name!r}; registered envs: {', '.join(ids)}")


def _env_error(env_id: str, kwargs: Mapping[str, Any], e: BaseException) -> ProlongError:
    msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return ProlongError(f"cannot make env {env_id!r}" + (f" with {args}" if args else "") + f": {msg}")


def make_task(env: str | Task, **env_kwargs: Any) -> Task:
    """The :class:`~prolong.core.Task` of an env id or short name, made with ``env_kwargs``
    (exactly what ``gym.make(env_id, **env_kwargs).unwrapped.task`` is). The one resolver
    of prolong: the CLI, eval, export, the trainer and the server use it.

    >>> import prolong
    >>> task = prolong.make_task("stem", require_units=True)
    >>> task.env_id, dict(task.env_kwargs)
    ('prolong/stem-v0', {'require_units': True})

    Errors are one line naming the input: an unknown env
    (:class:`~prolong.core.UnknownEnvError`) or arguments the env refuses
    (:class:`~prolong.core.ProlongError`).
    """
    if isinstance(env, Task):
        if env_kwargs:
            raise ProlongError("make_task: env arguments go with an env id, not with a Task")
        return env
    import gymnasium as gym

    env_id = resolve_env_id(env)
    try:
        made = gym.make(env_id, **env_kwargs)
    except ProlongError:
        raise
    except (TypeError, ValueError, KeyError, gym.error.Error, FileNotFoundError, IndexError) as e:
        raise _env_error(env_id, env_kwargs, e) from None
    task = getattr(made.unwrapped, "task", None)
    if not isinstance(task, Task):
        raise ProlongError(f"{env_id!r} is not a prolong task env (its env has no .task)")
    task.env_id = env_id
    task.env_kwargs = dict(env_kwargs)
    return task


# --------------------------------------------------------------------------- rows

# Constructor arguments a data row may never carry: they name files or code, or pick
# problems rather than how a response is scored.
_ROW_REFUSED = frozenset({"source", "fields", "verifier", "verifier_kwargs", "config", "envs", "task", "render_mode"})
_ROW_REFUSED_PARTS = ("path", "file", "dir", "url", "import", "module")
_SCALARS = (str, int, float, bool, type(None))
_ROW_MAX_JSON = 4096  # characters of JSON: a row's env arguments are a few settings, not data


def _entry_point(env_id: str) -> Any:
    import importlib

    import gymnasium as gym

    ep = gym.spec(env_id).entry_point
    if isinstance(ep, str):
        module, _, attr = ep.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        ep = obj
    return ep


def _declared_row_args(env_id: str) -> Mapping[str, Any]:
    """The env's own ``row_kwargs``: arguments rows may carry beyond the default rule,
    each a :class:`prolong.data.RowArg` that validates its value (the code env's verifier
    arguments, the mixture's ``envs``)."""
    declared = getattr(_entry_point(env_id), "row_kwargs", None)
    return declared if isinstance(declared, Mapping) else {}


def _constructor_params(env_id: str) -> tuple[set[str], bool]:
    """Keyword names the env's constructor takes, and whether it takes ``**kwargs``."""
    ep = _entry_point(env_id)
    target = ep.__init__ if isinstance(ep, type) else ep
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return set(), True
    names = {n for n, p in params.items() if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind == p.VAR_KEYWORD for p in params.values())


def _row_key_allowed(env_id: str, key: Any, names: set[str]) -> str | None:
    """Why ``key`` may not come from a row, or None."""
    if not isinstance(key, str) or not key.isidentifier():
        return "not an argument name"
    low = key.lower()
    if key in _ROW_REFUSED or any(part in low for part in _ROW_REFUSED_PARTS):
        return "it names a file or code, or selects problems"
    if key not in names:
        return f"{env_id} takes no such argument in a data row"
    return None


def row_env_kwargs(env_id: str, kwargs: Any) -> dict[str, Any]:
    """Env arguments read from a data row or a request, validated: they are untrusted.

    Allowed: arguments the env's constructor names, with JSON scalar values (str, number,
    bool, null), and the arguments the env class declares in ``row_kwargs`` (each checked
    by its :class:`prolong.data.RowArg`: the code env's verifier arguments within bounds,
    the mixture's ``envs`` with each sub-env's arguments checked by this same rule).
    Refused, with a ProlongError naming the argument: ``source`` and anything that names a
    file, code or a nested config, any other value, and arguments whose JSON is over
    ``_ROW_MAX_JSON`` characters. A JSON object in text form (what rows store) is decoded first.
    """
    if kwargs is None or kwargs == "":
        return {}
    if isinstance(kwargs, str):
        try:
            kwargs = json.loads(kwargs)
        except json.JSONDecodeError as e:
            raise ProlongError(f"env arguments of a row must be a JSON object ({e.msg})") from None
    if not isinstance(kwargs, Mapping):
        raise ProlongError(f"env arguments of a row must be a JSON object, got {type(kwargs).__name__}")
    if not kwargs:
        return {}
    names, _ = _constructor_params(env_id)
    declared = _declared_row_args(env_id)
    out: dict[str, Any] = {}
    for k, v in kwargs.items():
        if isinstance(k, str) and k in declared:
            try:
                out[k] = declared[k].check(v)
            except (ValueError, TypeError) as e:
                raise ProlongError(f"env argument {k!r} of {env_id} is refused in a data row: {e}") from None
            continue
        why = _row_key_allowed(env_id, k, names)
        if why is not None:
            raise ProlongError(f"env argument {str(k)[:60]!r} of {env_id} is refused in a data row: {why}")
        if not isinstance(v, _SCALARS) or (isinstance(v, float) and v != v):
            raise ProlongError(f"env argument {k!r} of {env_id} must be a JSON scalar in a data row, got {type(v).__name__}")
        if isinstance(v, str) and len(v) > ROW_MAX_TEXT:
            raise ProlongError(f"env argument {k!r} of {env_id} is too long for a data row ({len(v)} characters)")
        out[k] = v
    size = len(json.dumps(out, sort_keys=True))
    if size > _ROW_MAX_JSON:
        raise ProlongError(f"env arguments of {env_id} are too long for a data row ({size} characters of JSON, at most {_ROW_MAX_JSON})")
    return out


def carried_env_kwargs(env_id: str, kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The env arguments a row made by ``make_dataset`` / ``prolong export`` carries: those
    :func:`row_env_kwargs` accepts back. ``source``, ``fields``, ``split``/``seed`` (they pick
    problems, not scoring) and values that are not JSON scalars stay out. An argument the
    env declares in ``row_kwargs`` is carried as its :class:`prolong.data.RowArg` makes it;
    one whose value a row may not carry (out of bounds) is a ProlongError naming it, since
    the rows would otherwise score differently from the env."""
    if not kwargs:
        return {}
    names, _ = _constructor_params(env_id)
    declared = _declared_row_args(env_id)
    out = {}
    for k, v in kwargs.items():
        if k in ("split", "seed", "limit"):
            continue
        if k in declared:
            try:
                out[k] = declared[k].carried(v)
            except (ValueError, TypeError) as e:
                raise ProlongError(f"env argument {k}={str(v)[:60]!r} of {env_id} cannot be carried in data rows: {e}") from None
            continue
        if _row_key_allowed(env_id, k, names) is None and isinstance(v, _SCALARS):
            out[k] = v
    return row_env_kwargs(env_id, out)  # what rows carry is what rows may carry back


@functools.lru_cache(maxsize=64)
def _row_task(env_id: str, frozen: str) -> Task:
    return make_task(env_id, **json.loads(frozen))


def task_of_row(env: str, env_kwargs: Any = None) -> Task:
    """The Task a row names (its env id and validated arguments), made once per process."""
    env_id = resolve_env_id(env)
    kwargs = row_env_kwargs(env_id, env_kwargs)
    return _row_task(env_id, json.dumps(kwargs, sort_keys=True))


# --------------------------------------------------------------------------- target -> verifier


def verifier_of(target: Any) -> Any:
    """The verifier a target scores with: a Task's own, the verifier of a domain, the
    task of an env id or short name (default arguments), or a verifier object itself."""
    if isinstance(target, Task):
        return target.verifier
    if isinstance(target, str):
        if target in list_verifiers():
            return get_verifier(target)
        from prolong.env import registered_task

        try:
            env_id = resolve_env_id(target)
        except UnknownEnvError:
            raise UnknownEnvError(
                f"unknown domain or env {target!r}; known domains: {', '.join(list_verifiers())}"
            ) from None
        task = registered_task(env_id)  # a user's register_task task
        if task is not None:
            return task.verifier
        from prolong.env import domain_of_env

        return get_verifier(domain_of_env(env_id) or target)
    if callable(target):
        return target
    raise TypeError(f"cannot score with {type(target).__name__}: give a Task, an env id, a domain or a verifier")


def _route(verifier: Any, answer: Any, problem: Problem | None) -> Any:
    """The verifier that really scores an item (a mixture's routes to the sub-env's)."""
    seen = 0
    while hasattr(verifier, "route") and seen < 8:
        nxt = verifier.route(answer, problem)
        if nxt is verifier:
            break
        verifier, seen = nxt, seen + 1
    return verifier


# --------------------------------------------------------------------------- running


def _score_in_worker(
    payload: bytes, path: tuple[str, ...], response: str, answer: Any, problem: Problem | None
) -> dict[str, Any]:
    """One item in a worker. The verifier comes pickled with the caller's ``sys.path``:
    a worker forked before the caller imported a task's module (a file loaded later,
    ``prolong serve --import``) can still import it."""
    import sys

    for entry in path:
        if entry not in sys.path:
            sys.path.append(entry)
    verifier = pickle.loads(payload)
    return as_verdict(verifier(response, answer, problem)).to_dict()


def _picklable(verifier: Any) -> bool:
    try:
        return b"__main__" not in pickle.dumps(verifier)
    except Exception:  # noqa: BLE001 - a lambda, a closure, a lock inside
        return False


_PICKLABLE: dict[int, tuple[Any, bool]] = {}
_PICKLABLE_LOCK = threading.Lock()


def _can_ship(verifier: Any) -> bool:
    key = id(verifier)
    with _PICKLABLE_LOCK:
        hit = _PICKLABLE.get(key)
    if hit is not None and hit[0] is verifier:
        return hit[1]
    ok = _picklable(verifier)
    with _PICKLABLE_LOCK:
        if len(_PICKLABLE) > 1024:
            _PICKLABLE.clear()
        _PICKLABLE[key] = (verifier, ok)
    return ok


def _takes_deadline(fn: Any) -> bool:
    try:
        return "deadline" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _from_call(out: Any) -> Verdict:
    from prolong.pool import CallError, CallTimeout

    if isinstance(out, CallTimeout):
        return Verdict.wrong(Reason.TIMEOUT, seconds=out.seconds)
    if isinstance(out, CallError):
        return Verdict.wrong(Reason.ERROR, error=out.message[-2000:])
    return Verdict.from_dict(out)


_POOLS: dict[int, Any] = {}


def _pool(processes: int | None) -> Any:
    from prolong.pool import default_pool

    pool = default_pool()
    if processes is None or processes >= pool.processes:
        return pool
    import os

    from prolong.pool import WorkerPool

    p = _POOLS.get(processes)
    if p is None or p._closed:
        p = WorkerPool(processes, memory_limit_mb=int(os.environ.get("PROLONG_WORKER_MEMORY_MB", "4096")))
        _POOLS[processes] = p
    return p


_REMOTE: dict[str, Any] | None = None  # set by prolong.adapters.ray.route_to_ray


def set_remote(options: dict[str, Any] | None) -> None:
    """Send items of verifiers without their own batch path to Ray (``options`` for
    :func:`prolong.adapters.ray.verify_batch_ray`), or back to local workers (None)."""
    global _REMOTE
    _REMOTE = dict(options) if options is not None else None


def _run_group(
    verifier: Any,
    responses: list[str],
    answers: list[Any],
    problems: list[Problem | None],
    timeout: float | None,
    processes: int | None,
    progress: Any,
    ray: dict[str, Any] | None = None,
) -> list[Verdict]:
    from prolong.pool import in_worker

    batch = getattr(verifier, "verify_batch", None)
    if batch is not None:
        if timeout is not None and _takes_deadline(batch):
            out = batch(responses, answers, problems, deadline=timeout)
        else:
            out = batch(responses, answers, problems)
        verdicts = [as_verdict(v) for v in out]
        if len(verdicts) != len(responses):
            raise RuntimeError(f"{type(verifier).__name__}.verify_batch gave {len(verdicts)} verdicts for {len(responses)} items")
        if progress:
            progress(len(verdicts))
        return verdicts
    if timeout is None or in_worker() or not _can_ship(verifier):
        verdicts = []
        for r, a, p in zip(responses, answers, problems):
            if timeout is None:
                verdicts.append(as_verdict(verifier(r, a, p)))  # trusted, in process: errors are the caller's
            else:
                try:
                    verdicts.append(as_verdict(verifier(r, a, p)))
                except Exception as e:  # noqa: BLE001 - untrusted input must not crash the caller
                    verdicts.append(Verdict.wrong(Reason.ERROR, error=f"{type(e).__name__}: {e}"[-2000:]))
            if progress:
                progress(1)
        return verdicts
    remote = ray if ray is not None else _REMOTE
    if remote is not None:
        from prolong.adapters.ray import verify_batch_ray

        opts = {"timeout": timeout, **remote}
        verdicts = verify_batch_ray(None, responses, answers, problems, verifier=verifier, **opts)
        if progress:
            progress(len(verdicts))
        return verdicts
    import sys

    pool = _pool(processes)
    payload, path = pickle.dumps(verifier, protocol=pickle.HIGHEST_PROTOCOL), tuple(sys.path)
    args = [(payload, path, r, a, p) for r, a, p in zip(responses, answers, problems)]
    if len(args) == 1:
        outs = [pool.submit(_score_in_worker, *args[0], timeout=timeout).result()]
        if progress:
            progress(1)
    else:
        outs = pool.map(_score_in_worker, args, timeout=timeout, progress=progress)
    return [_from_call(o) for o in outs]


def _check(responses: Sequence[Any], answers: Sequence[Any], problems: Sequence[Any] | None, where: str) -> None:
    if len(responses) != len(answers):
        raise ValueError(f"{where}: {len(responses)} responses but {len(answers)} answers")
    if problems is not None and len(problems) != len(responses):
        raise ValueError(f"{where}: {len(responses)} responses but {len(problems)} problems")
    for i, r in enumerate(responses):
        if not isinstance(r, str):
            raise TypeError(f"{where}: response {i} must be a str, got {type(r).__name__}")


def score_rows(
    targets: Sequence[Any],
    responses: Sequence[str],
    answers: Sequence[Any],
    problems: Sequence[Problem | None] | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    processes: int | None = None,
    progress: Any = None,
    ray: dict[str, Any] | None = None,
) -> list[Verdict]:
    """Verdicts of items that may each have their own target (Task, env id, domain or
    verifier), in order. ``None`` as a target means the problem's own task (see
    :func:`prolong.core.owner_task`) or else its domain. Items are grouped by the verifier
    that really scores them, and each group runs as described in this module's docstring.
    ``ray``: options of :func:`prolong.adapters.ray.verify_batch_ray`, to score on a Ray
    cluster the items of verifiers without their own batch path."""
    n = len(responses)
    if len(targets) != n:
        raise ValueError(f"score_rows: {len(targets)} targets for {n} responses")
    _check(responses, answers, problems, "score_rows")
    probs: list[Problem | None] = list(problems) if problems is not None else [None] * n
    groups: dict[int, tuple[Any, list[int]]] = {}
    resolved: dict[int, Any] = {}
    for i, t in enumerate(targets):
        if t is None:
            t = owner_task(probs[i])
            if t is None:
                if probs[i] is None:
                    raise ValueError(f"score_rows: item {i} has neither a target nor a problem")
                t = probs[i].domain
        key = id(t)
        v = resolved.get(key)
        if v is None or v[0] is not t:
            v = resolved[key] = (t, verifier_of(t))
        verifier = _route(v[1], answers[i], probs[i])
        groups.setdefault(id(verifier), (verifier, []))[1].append(i)
    out: list[Verdict | None] = [None] * n
    for verifier, idx in groups.values():
        got = _run_group(
            verifier,
            [responses[i] for i in idx],
            [answers[i] for i in idx],
            [probs[i] for i in idx],
            timeout,
            processes,
            progress,
            ray,
        )
        for i, v in zip(idx, got):
            out[i] = v
    return out  # type: ignore[return-value]


def score_batch(
    target: Any,
    responses: Sequence[str],
    answers: Sequence[Any],
    problems: Sequence[Problem | None] | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    processes: int | None = None,
    progress: Any = None,
) -> list[Verdict]:
    """Verdicts of many responses scored with one target (see :func:`score_rows`)."""
    _check(responses, answers, problems, "verify_batch")
    if not responses:
        verifier_of(target)  # an unknown name is still an error
        return []
    return score_rows([target] * len(responses), responses, answers, problems, timeout=timeout, processes=processes, progress=progress)


def score_one(
    target: Any, response: str, answer: Any, problem: Problem | None = None, *, timeout: float | None = DEFAULT_TIMEOUT
) -> Verdict:
    """The verdict of one response (see the module docstring for the deadline)."""
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    return score_rows([target], [response], [answer], [problem], timeout=timeout)[0]
