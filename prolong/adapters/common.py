"""What every adapter shares: naming a domain, carrying structured answers through
string-only columns, drawing an env's problems, and scoring mixed-domain batches.

The adapters (TRL, verl, OpenRLHF, the HTTP server, Ray) differ only in how their
host hands over ``(source, response, answer)``; the scoring underneath is always
:func:`prolong.verify` / :func:`prolong.verify_batch` over the registered verifiers.
"""

from __future__ import annotations

import json
import pickle
import random
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prolong.core import Problem, Verdict, list_verifiers

__all__ = [
    "DATA_SOURCE_DOMAINS",
    "ABILITIES",
    "resolve_domain",
    "resolve_env_id",
    "row_target",
    "encode_answer",
    "decode_answer",
    "problem_from_record",
    "iter_env_problems",
    "chat_prompt",
    "completion_text",
    "score_many",
    "safe_verify",
    "pool_safe",
    "warm_default_pool",
]

# Names other stacks give their data (verl's ``data_source``, dataset ids) -> prolong domain.
# verl's own defaults are in verl/utils/reward_score/__init__.py (default_compute_score).
DATA_SOURCE_DOMAINS: dict[str, str] = {
    "openai/gsm8k": "math",
    "gsm8k": "math",
    "lighteval/MATH": "math",
    "DigitalLearningGmbH/MATH-lighteval": "math",
    "HuggingFaceH4/MATH-500": "math",
    "agentica-org/DeepScaleR-Preview-Dataset": "math",
    "math_dapo": "math",
    "BytedTsinghua-SIA/DAPO-Math-17k": "math",
    "codecontests": "code",
    "apps": "code",
    "codeforces": "code",
    "taco": "code",
    "PRIME-RL/Eurus-2-RL-Data": "code",
    "livecodebench": "code",
    "google/IFEval": "ifeval",
    "ifeval": "ifeval",
    "reasoning_gym": "reasoning_gym",
    "reasoning-gym": "reasoning_gym",
    "EricLu/SCP-116K": "stem",
}
# prefixes of verl's names: "aime24", "numina_cn_k12", ...
_PREFIX_DOMAINS: tuple[tuple[str, str], ...] = (("aime", "math"), ("numina_", "math"), ("amc", "math"))

# verl's ``ability`` column, by domain.
ABILITIES: dict[str, str] = {
    "math": "math",
    "code": "code",
    "stem": "stem",
    "ifeval": "instruction_following",
    "reasoning_gym": "logic",
    "mix": "mixed",
}

# Domains whose ground truth is text: a "[1, 2]" there is an interval, not a JSON list.
_TEXT_ANSWER_DOMAINS = frozenset({"math", "stem"})


def _known_domains() -> list[str]:
    return list_verifiers()


def resolve_domain(source: Any = None, extra: Mapping[str, Any] | None = None, default: str | None = None) -> str:
    """The prolong domain for a row.

    Order: ``extra["domain"]`` (what ``prolong export`` writes), then ``source`` as a
    registered domain (``"math"``), a prolong env id (``"prolong/math-v0"``), or a
    known dataset name (:data:`DATA_SOURCE_DOMAINS`, ``aime*``, ``numina_*``), then
    ``default``. Raises ValueError naming the source when none applies.
    """
    known = _known_domains()
    if extra is not None and isinstance(extra, Mapping):
        d = extra.get("domain")
        if isinstance(d, str) and d:
            if d in known:
                return d
            resolved = _domain_of_name(d, known)
            if resolved:
                return resolved
            raise ValueError(f"domain {d!r} is not a registered domain; known: {', '.join(known)}")
    if source is not None:
        name = str(source)
        resolved = _domain_of_name(name, known)
        if resolved:
            return resolved
        if default is None:
            raise ValueError(
                f"cannot tell the prolong domain of data source {name!r}: it is not a registered domain "
                f"({', '.join(known)}), a prolong env id, or a known dataset name; put the domain in "
                f"extra_info['domain'] or map the name in prolong.adapters.common.DATA_SOURCE_DOMAINS"
            )
    if default is None:
        raise ValueError("no domain given: pass a data source, extra_info['domain'] or a default domain")
    return default


def _domain_of_name(name: str, known: Sequence[str]) -> str | None:
    from prolong.env import domain_of_env

    if name in known:
        return name
    d = domain_of_env(name)
    if d is not None:
        return d
    if name in DATA_SOURCE_DOMAINS:
        return DATA_SOURCE_DOMAINS[name]
    for prefix, domain in _PREFIX_DOMAINS:
        if name.startswith(prefix):
            return domain
    m = re.fullmatch(r"prolong/([A-Za-z0-9_-]+)-v\d+", name)  # "prolong/reasoning-gym-v0" style ids
    if m:
        cand = m.group(1).replace("-", "_")
        if cand in known:
            return cand
    return None


def resolve_env_id(env: str) -> str:
    """``"math"`` -> ``"prolong/math-v0"``; a registered id is returned as is
    (:func:`prolong.scoring.resolve_env_id`, the one short-name rule)."""
    from prolong.scoring import resolve_env_id as resolve

    return resolve(env)


def row_target(env: Any, env_kwargs: Any, domain: str) -> Any:
    """What scores a row: the Task its ``env`` column names, made with the row's env
    arguments (validated: :func:`prolong.scoring.row_env_kwargs`), else its domain."""
    if isinstance(env, str) and env.strip():
        from prolong.scoring import task_of_row

        return task_of_row(env, env_kwargs)
    return domain


# --------------------------------------------------------------------------- answers


def encode_answer(answer: Any) -> tuple[str, bool]:
    """A ground truth as text for a string-only column: ``(text, is_json)``.

    Strings stay as they are; anything else (code tests, IFEval kwargs, a Reasoning Gym
    entry) is JSON-encoded and ``is_json`` is True.
    """
    if isinstance(answer, str):
        return answer, False
    try:
        return json.dumps(answer, ensure_ascii=False, sort_keys=False), True
    except TypeError as e:
        raise ValueError(f"answer of type {type(answer).__name__} cannot be JSON-encoded: {e}") from None


def decode_answer(value: Any, *, domain: str | None = None, is_json: bool | None = None) -> Any:
    """Undo :func:`encode_answer`.

    ``is_json`` (from the row: ``extra_info["answer_json"]``, the ``answer_is_json``
    column) decides when known. Without it, a string that parses as a JSON object or
    list is decoded, except in text-answer domains (math, stem), where ``"[1, 2]"`` is
    an interval, not a list.
    """
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars from parquet readers
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if not isinstance(value, str):
        return value
    if is_json is True:
        try:
            return json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"ground truth marked as JSON is not valid JSON ({e.msg}): {value[:200]!r}") from None
    if is_json is False or domain in _TEXT_ANSWER_DOMAINS:
        return value
    s = value.lstrip()
    if s[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _as_bool(x: Any) -> bool | None:
    if x is None:
        return None
    if isinstance(x, str):
        return x.strip().lower() in ("1", "true", "yes")
    try:
        return bool(x)
    except Exception:
        return None


def problem_from_record(record: Mapping[str, Any] | str | None, *, domain: str, answer: Any = None) -> Problem | None:
    """A Problem from a ``problem`` column (a dict or its JSON text), or None.

    ``answer`` (already decoded) replaces the record's when given.
    """
    if record is None:
        return None
    if isinstance(record, str):
        if not record.strip():
            return None
        try:
            record = json.loads(record)
        except json.JSONDecodeError as e:
            raise ValueError(f"problem column is not valid JSON ({e.msg}): {record[:200]!r}") from None
    if not isinstance(record, Mapping):
        raise ValueError(f"problem column must be a JSON object, got {type(record).__name__}")
    md = record.get("metadata") or {}
    if isinstance(md, str):
        md = json.loads(md) if md.strip() else {}
    return Problem(
        id=str(record.get("id", "")),
        prompt=str(record.get("prompt", "") or ""),
        answer=answer if answer is not None else record.get("answer"),
        domain=str(record.get("domain") or domain),
        metadata=md,
    )


# --------------------------------------------------------------------------- problems of an env


def _constructor_params(env_id: str) -> tuple[set[str], bool]:
    """Keyword names the env's constructor takes, and whether it takes **kwargs."""
    from prolong.scoring import _constructor_params as params

    return params(env_id)


def iter_env_problems(
    env_id: str,
    n: int,
    *,
    split: str = "train",
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Iterator[tuple[int, Problem, Any]]:
    """The first ``n`` problems of an env's ``(split, seed)`` stream: ``(index, problem, env)``.

    Built-in envs take ``split=`` and ``seed=``; they are passed when the env's
    constructor accepts them. For an env without them (a :func:`prolong.register_task`
    task) ``seed`` picks a seeded sample of its problem indices, and a split other than
    ``"train"`` is an error.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    env_id = resolve_env_id(env_id)
    names, var_kw = _constructor_params(env_id)
    kwargs = dict(env_kwargs or {})
    takes_split = var_kw or "split" in names
    takes_seed = var_kw or "seed" in names
    if takes_split:
        kwargs.setdefault("split", split)
    elif split != "train":
        raise ValueError(f"env {env_id!r} has no split argument, so only split='train' is available (got {split!r})")
    if takes_seed:
        kwargs.setdefault("seed", seed)
    from prolong.env import TaskEnv
    from prolong.scoring import make_task

    env = TaskEnv(make_task(env_id, **kwargs))
    size = len(env.task.problems)
    if n > size:
        raise ValueError(f"env {env_id!r} has {size} problems; asked for {n}")
    if takes_seed or not seed:
        indices: Sequence[int] = range(n)
    else:
        indices = random.Random(seed).sample(range(size), n)
    for i in indices:
        _, info = env.reset(options={"index": int(i)})
        yield int(i), info["problem"], env


def chat_prompt(prompt: str, system_prompt: str | None = None) -> list[dict[str, str]]:
    """``[{"role": "system", ...}?, {"role": "user", "content": prompt}]``."""
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    msgs.append({"role": "user", "content": prompt})
    return msgs


def completion_text(completion: Any) -> str:
    """The response text of a completion: a string, or chat messages (TRL's conversational
    form: the assistant messages' contents, text parts joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if isinstance(completion, Sequence):
        parts: list[str] = []
        msgs = list(completion)
        assistant = [m for m in msgs if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant"]
        for m in assistant or msgs:
            content = m.get("content") if isinstance(m, Mapping) else m
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, Sequence):
                for part in content:
                    if isinstance(part, Mapping) and part.get("type", "text") == "text":
                        parts.append(str(part.get("text", "")))
                    elif isinstance(part, str):
                        parts.append(part)
        return "\n".join(p for p in parts if p) if len(parts) > 1 else (parts[0] if parts else "")
    raise TypeError(f"a completion must be a str or a list of chat messages, got {type(completion).__name__}")


# --------------------------------------------------------------------------- scoring


def score_many(
    domains: Sequence[Any],
    responses: Sequence[str],
    answers: Sequence[Any],
    problems: Sequence[Problem | None] | None = None,
    *,
    parallel: bool = True,
    backend: str = "pool",
) -> list[Verdict]:
    """Verdicts for rows of possibly different targets, in order.

    ``domains[i]`` is what scores row i: a Task (:func:`row_target`: the row's own env
    and arguments), an env id or a domain name. Scoring is :func:`prolong.scoring.score_rows`,
    the one reward path (killable per-item deadlines). ``backend="ray"`` sends items of
    verifiers without their own batch path to the Ray cluster this process is in;
    ``backend="thread"`` (or ``parallel=False``) scores in this thread without a deadline,
    a verifier's crash becoming a ``verifier error`` verdict: for trusted input only.
    """
    if backend not in ("pool", "thread", "ray"):
        raise ValueError(f"backend must be 'pool', 'thread' or 'ray', got {backend!r}")
    from prolong.scoring import DEFAULT_TIMEOUT, score_rows, verifier_of

    n = len(responses)
    if not (len(domains) == len(answers) == n) or (problems is not None and len(problems) != n):
        raise ValueError(
            f"score_many: {len(domains)} domains, {n} responses, {len(answers)} answers"
            + (f", {len(problems)} problems" if problems is not None else "")
        )
    for i, r in enumerate(responses):
        if not isinstance(r, str):
            raise TypeError(f"response {i} must be a str, got {type(r).__name__}")
    for t in {id(t): t for t in domains}.values():
        verifier_of(t)  # an unknown domain is the caller's mistake: an error naming the known ones
    probs = list(problems) if problems is not None else [None] * n
    if backend == "thread" or not parallel:
        return [safe_verify(t, r, a, p, timeout=None) for t, r, a, p in zip(domains, responses, answers, probs)]
    ray = {} if backend == "ray" else None
    return score_rows(list(domains), list(responses), list(answers), probs, timeout=DEFAULT_TIMEOUT, ray=ray)


def pool_safe(verifier: Any) -> bool:
    """Whether worker processes can run ``verifier`` without re-importing ``__main__``.

    A verifier defined in the user's script (a TRL training script, a notebook) pickles
    as ``__main__.fn``: a worker would import the whole script (trl, torch: tens of
    seconds, counted against the item's deadline) to find it. Such verifiers run in the
    calling thread instead.
    """
    try:
        return b"__main__" not in pickle.dumps(verifier)
    except Exception:
        return False


_WARM = False
_WARM_LOCK = threading.Lock()


def warm_default_pool(timeout: float = 600.0) -> None:
    """Start every worker of :func:`prolong.pool.default_pool` once, with a long deadline.

    A cold worker may import modules (a verifier's sympy, a dataset) on its first
    call; under a busy machine that can exceed the per-item deadline of
    :func:`prolong.verify_batch`, turning the first batch into ``verifier timeout``
    verdicts. Warming first keeps cold starts out of the rewards.
    """
    global _WARM
    if _WARM:
        return
    with _WARM_LOCK:
        if _WARM:
            return
        from prolong.pool import default_pool

        pool = default_pool()
        pool.map(_ready, [()] * pool.processes, timeout=timeout)
        _WARM = True


def _ready() -> bool:
    import prolong  # noqa: F401 - the import is the warm-up

    return True


def safe_verify(target: Any, response: str, answer: Any, problem: Problem | None = None, *, timeout: float | None = 30.0) -> Verdict:
    """One verdict through :func:`prolong.scoring.score_one` (under a killable deadline
    unless ``timeout=None``), with a verifier's crash turned into a zero-reward
    ``verifier error`` verdict. An unknown domain still raises: that is the caller's
    mistake, not the response's."""
    from prolong.core import Reason
    from prolong.scoring import score_one, verifier_of

    verifier_of(target)  # an error for an unknown domain
    try:
        return score_one(target, response, answer, problem, timeout=timeout)
    except Exception as e:  # noqa: BLE001 - untrusted output must not crash the host's training loop
        return Verdict.wrong(Reason.ERROR, error=f"{type(e).__name__}: {e}"[-2000:])
