"""Core types: Problem, Verdict, Task, the Verifier protocol, and the verifier registry.

Everything else in prolong is built on these few types:

* a :class:`Problem` is one prompt with its ground truth,
* a :class:`Verifier` turns ``(response, answer)`` into a :class:`Verdict`,
* a :class:`Task` bundles a source of problems with a verifier; the single Gymnasium
  env class (:class:`prolong.env.TaskEnv`) serves any task.
"""

from __future__ import annotations

import importlib
import math
import random
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ProlongError",
    "MissingExtraError",
    "require_extra",
    "UnknownEnvError",
    "Problem",
    "Verdict",
    "Reason",
    "Verifier",
    "ProblemSource",
    "GeneratedProblems",
    "ListProblems",
    "Task",
    "as_verdict",
    "register_verifier",
    "get_verifier",
    "list_verifiers",
    "derive_seed",
    "to_plain",
    "owner_task",
]


class ProlongError(ValueError):
    """The base of prolong's user-facing errors: one line that names the input at fault
    (an unknown env or domain, a bad env argument, a domain clash). A ValueError, so
    code that caught ValueError before keeps working."""


class MissingExtraError(ProlongError, ImportError):
    """A domain needs a package from an optional extra that is not installed; the message
    names the extra to install (``pip install 'prolong[domains]'``). Also an ImportError."""


# package import name -> the prolong extra that installs it
EXTRA_OF = {"reasoning_gym": "domains", "langdetect": "domains", "pyseccomp": "domains"}


def require_extra(module: str, feature: str, extra: str | None = None) -> Any:
    """Import ``module``, or raise :class:`MissingExtraError` (one line) naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        which = extra or EXTRA_OF.get(module.split(".")[0], "all")
        raise MissingExtraError(
            f"{feature} needs the {module.split('.')[0]!r} package ({type(e).__name__}: {e}); "
            f"install it with: pip install 'prolong[{which}]'"
        ) from None


class UnknownEnvError(ProlongError, KeyError):
    """An env id, short name or domain that nothing is registered under (also a KeyError)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Reason:
    """The reasons a verdict gives when it loses reward (``Verdict.reason``)."""

    CORRECT = "correct"
    PARTIAL = "partial"  # some but not all of the reward (code tests, instructions)
    NO_ANSWER = "no final answer"
    WRONG = "wrong answer"
    UNPARSEABLE = "unparseable answer"
    TIMEOUT = "verifier timeout"
    TOO_LONG = "response too long"
    RUNTIME_ERROR = "runtime error"
    SANDBOX_LIMIT = "sandbox limit"
    AMBIGUOUS = "ambiguous answer"
    INVALID_ANSWER = "invalid ground truth"
    ERROR = "verifier error"


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if mapping is None:
        return MappingProxyType({})
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Problem:
    """One problem: a prompt and its ground truth.

    Attributes:
        id: stable identifier (``"math/train/1234"``, or the id column of a data file).
        prompt: the text shown to the model (chat messages are built from it by the
            trainer's chat template).
        answer: the domain's ground truth: math/stem a string; code
            ``{"inputs": [...], "outputs": [...], "fn_name"?: str}``; ifeval
            ``{"instruction_id_list": [...], "kwargs": [...]}``; reasoning-gym the entry.
        domain: the verifier domain (``"math"``, ``"code"``, ...).
        metadata: anything else (topic, level, source file and line, ...).
    """

    id: str
    prompt: str
    answer: Any
    domain: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str):
            raise TypeError(f"problem {self.id!r}: prompt must be a str, got {type(self.prompt).__name__}")
        object.__setattr__(self, "metadata", _freeze(self.metadata))

    def __reduce__(self) -> tuple[Any, ...]:
        # MappingProxyType cannot be pickled: rebuild from a plain dict (worker pools, Ray, AsyncVectorEnv).
        return (Problem, (self.id, self.prompt, self.answer, self.domain, dict(self.metadata)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prompt": self.prompt,
            "answer": self.answer,
            "domain": self.domain,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class Verdict:
    """The outcome of verifying one response.

    Attributes:
        reward: in [0, 1].
        correct: True when the response earned full marks.
        extracted: the final answer the verifier read from the response (None if none).
        reason: why it lost reward (one of :class:`Reason`, or ``"correct"``).
        details: domain-specific extras (per-test status, per-instruction results, ...).
    """

    reward: float
    correct: bool
    extracted: str | None = None
    reason: str = Reason.CORRECT
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        r = float(self.reward)
        if math.isnan(r) or r < 0.0 or r > 1.0:
            raise ValueError(f"Verdict.reward must be in [0, 1], got {self.reward!r}")
        object.__setattr__(self, "reward", r)
        object.__setattr__(self, "correct", bool(self.correct))
        object.__setattr__(self, "details", _freeze(self.details))

    @classmethod
    def right(cls, extracted: str | None = None, **details: Any) -> "Verdict":
        return cls(1.0, True, extracted, Reason.CORRECT, details)

    @classmethod
    def wrong(cls, reason: str = Reason.WRONG, extracted: str | None = None, **details: Any) -> "Verdict":
        return cls(0.0, False, extracted, reason, details)

    @classmethod
    def partial(cls, reward: float, extracted: str | None = None, **details: Any) -> "Verdict":
        reward = float(reward)
        if reward >= 1.0:
            return cls(1.0, True, extracted, Reason.CORRECT, details)
        return cls(reward, False, extracted, Reason.PARTIAL if reward > 0 else Reason.WRONG, details)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Verdict, (self.reward, self.correct, self.extracted, self.reason, dict(self.details)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "correct": self.correct,
            "extracted": self.extracted,
            "reason": self.reason,
            "details": to_plain(self.details),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Verdict":
        return cls(d["reward"], d["correct"], d.get("extracted"), d.get("reason", Reason.CORRECT), d.get("details") or {})


def to_plain(x: Any) -> Any:
    """Mapping proxies and tuples to plain JSON-able containers (dicts with str keys, lists)."""
    if isinstance(x, Mapping):
        return {str(k): to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    return x


def as_verdict(value: Any, extracted: str | None = None) -> Verdict:
    """Accept what a user's verifier returns: a Verdict, a bool, a number in [0, 1], or a dict."""
    if isinstance(value, Verdict):
        return value
    if isinstance(value, bool):
        return Verdict.right(extracted) if value else Verdict.wrong(extracted=extracted)
    if isinstance(value, (int, float)):
        return Verdict.partial(float(value), extracted)
    if isinstance(value, Mapping) and "reward" in value:
        reward = float(value["reward"])
        return Verdict(
            reward,
            bool(value.get("correct", reward >= 1.0)),
            value.get("extracted", extracted),
            value.get("reason", Reason.CORRECT if reward >= 1.0 else Reason.WRONG),
            value.get("details", {}),
        )
    raise TypeError(
        f"a verifier must return a Verdict, a bool, a float in [0, 1] or a dict with 'reward'; got {type(value).__name__}"
    )


@runtime_checkable
class Verifier(Protocol):
    """Scores one response against one ground truth.

    ``problem`` is passed when the caller has it (envs always do); verifiers that need
    more than the answer (reasoning-gym's scorers need the whole entry) read it there.
    A verifier may also define ``verify_batch(responses, answers, problems=None)``,
    which :func:`prolong.verify_batch` then uses instead of the generic process pool
    (the code sandbox does, to run tests of a batch in parallel).
    """

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict: ...


# --------------------------------------------------------------------------- sources


def derive_seed(*parts: Any) -> int:
    """A stable 63-bit seed from any parts (independent of PYTHONHASHSEED)."""
    return zlib.crc32(repr(parts).encode()) | (zlib.adler32(repr(parts[::-1]).encode()) << 32)


class ProblemSource(Protocol):
    """An indexable, deterministic collection of problems.

    ``source[i]`` is the same Problem every time; ``len(source)`` is the number of
    distinct problems (procedural generators report a large number).
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Problem: ...


def claim(source: Any, task: "Task") -> None:
    """Record that ``task`` owns ``source``: problems it hands out are then stamped with
    the task (:func:`owner_task`), so a consumer that holds only problems (the trainer's
    scoring, eval) scores each with its own task's verifier and arguments."""
    try:
        object.__setattr__(source, "_prolong_task", task)
    except (AttributeError, TypeError):  # a source that takes no attributes (a list, slots)
        pass


def stamp(problem: Problem, source: Any) -> Problem:
    """Stamp ``problem`` with the task that owns ``source`` (see :func:`claim`)."""
    task = getattr(source, "_prolong_task", None)
    if task is not None and isinstance(problem, Problem):
        object.__setattr__(problem, "_prolong_task", task)
    return problem


def owner_task(problem: Any) -> "Task | None":
    """The Task whose source or env handed out ``problem`` in this process, or None
    (a problem rebuilt from a row, unpickled, or made by hand)."""
    return getattr(problem, "_prolong_task", None)


class GeneratedProblems:
    """Problems made on demand by ``generate(rng, index) -> Problem | dict``.

    ``rng`` is a :class:`random.Random` seeded from ``(seed, split, index)``, so
    problem ``i`` is deterministic in ``(seed, split, i)`` and the train and
    validation splits never share a stream.
    """

    def __init__(
        self,
        generate: Callable[[random.Random, int], Any],
        *,
        domain: str,
        seed: int = 0,
        split: str = "train",
        size: int = 2**31 - 1,
        name: str | None = None,
    ) -> None:
        self.generate = generate
        self.domain = domain
        self.seed = int(seed)
        self.split = split
        self.size = int(size)
        self.name = name or domain

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Problem:
        if not 0 <= index < self.size:
            raise IndexError(f"problem index {index} out of range [0, {self.size})")
        rng = random.Random(derive_seed(self.name, self.seed, self.split, index))
        made = self.generate(rng, index)
        return stamp(coerce_problem(made, domain=self.domain, default_id=f"{self.name}/{self.split}/{index}"), self)


class ListProblems:
    """A finite list of problems (from a file, a dataset, or a user's list)."""

    def __init__(self, problems: Sequence[Any], *, domain: str, name: str | None = None) -> None:
        self.name = name or domain
        self.domain = domain
        self.problems = [
            coerce_problem(p, domain=domain, default_id=f"{self.name}/{i}") for i, p in enumerate(problems)
        ]
        if not self.problems:
            raise ValueError(f"{self.name}: no problems given")

    def __len__(self) -> int:
        return len(self.problems)

    def __getitem__(self, index: int) -> Problem:
        return stamp(self.problems[index], self)


def coerce_problem(p: Any, *, domain: str, default_id: str) -> Problem:
    """A Problem from a Problem or a dict with at least 'prompt' and 'answer'."""
    if isinstance(p, Problem):
        return p
    if isinstance(p, Mapping):
        missing = [k for k in ("prompt", "answer") if k not in p]
        if missing:
            raise ValueError(f"problem {default_id}: missing field(s) {missing}; a problem needs 'prompt' and 'answer'")
        return Problem(
            id=str(p.get("id", default_id)),
            prompt=p["prompt"],
            answer=p["answer"],
            domain=p.get("domain", domain),
            metadata=p.get("metadata", {}),
        )
    raise TypeError(f"problem {default_id}: expected a Problem or a dict, got {type(p).__name__}")


# --------------------------------------------------------------------------- tasks


@dataclass
class Task:
    """A source of problems and the verifier that scores responses to them.

    Attributes:
        domain: the verifier domain; problems carry it and ``info["domain"]`` reports it.
        problems: a :class:`ProblemSource` (indexable, deterministic).
        verifier: a :class:`Verifier`.
        max_turns: 1 for single-turn tasks; more lets the env return feedback.
        feedback: for multi-turn tasks, ``feedback(problem, verdict) -> str``, the next
            observation after an attempt that was not fully right.
        description: one line for ``prolong envs``.
        reference: ``reference(problem) -> str``, a response that earns full marks
            (the gold answer written the way the prompt asks); used by ``prolong demo``,
            tests and the SFT warm start of the trainer.
    """

    domain: str
    problems: ProblemSource
    verifier: Verifier
    max_turns: int = 1
    feedback: Callable[[Problem, Verdict], str] | None = None
    description: str = ""
    reference: Callable[[Problem], str] | None = None
    #: Set by :func:`prolong.make_task` and the env: what rebuilds this task elsewhere
    #: (a data row, a worker, the server): the env id and its constructor arguments.
    env_id: str | None = None
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_turns < 1:
            raise ValueError(f"max_turns must be >= 1, got {self.max_turns}")
        if self.max_turns > 1 and self.feedback is None:
            raise ValueError("a multi-turn task (max_turns > 1) needs a feedback function")
        claim(self.problems, self)

    def score(self, response: str, problem: Problem, *, timeout: float | None = 30.0) -> Verdict:
        """The verdict of ``response`` to ``problem`` with this task's verifier, under a
        killable deadline of ``timeout`` seconds (None: in this process, no deadline; for
        trusted input only). See :mod:`prolong.scoring`, which every consumer goes through."""
        from prolong.scoring import score_one

        return score_one(self, response, problem.answer, problem, timeout=timeout)


# --------------------------------------------------------------------------- registry

# domain -> verifier object, or "module:attr" resolved (and imported) on first use.
_VERIFIERS: dict[str, Verifier | str] = {}
_LOCK = threading.Lock()


_BUILTIN_DOMAINS: set[str] = set()


def register_verifier(
    domain: str, verifier: Verifier | str, *, overwrite: bool = True, builtin: bool = False, replace_builtin: bool = False
) -> None:
    """Make ``prolong.verify(domain, ...)`` use ``verifier`` (an object or "module:attr").

    A built-in domain (``math``, ``code``, ...) is never replaced by a user's verifier: that
    is a :class:`ProlongError` (``replace_builtin=True`` is for wrappers of the built-in
    verifier itself, such as :func:`prolong.adapters.ray.route_to_ray`).
    """
    if not domain or not isinstance(domain, str):
        raise ValueError(f"domain must be a non-empty str, got {domain!r}")
    with _LOCK:
        if domain in _BUILTIN_DOMAINS and not (builtin or replace_builtin):
            raise ProlongError(f"domain {domain!r} is a built-in domain of prolong; give your task another domain")
        if not overwrite and domain in _VERIFIERS:
            raise ProlongError(f"a verifier for domain {domain!r} is already registered")
        _VERIFIERS[domain] = verifier
        if builtin:
            _BUILTIN_DOMAINS.add(domain)


def is_builtin_domain(domain: str) -> bool:
    return domain in _BUILTIN_DOMAINS


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def get_verifier(domain: str) -> Verifier:
    """The verifier for a domain (``"math"``) or an env id (``"prolong/math-v0"``)."""
    with _LOCK:
        v = _VERIFIERS.get(domain)
    if v is None and "/" in domain:
        from prolong.env import domain_of_env

        d = domain_of_env(domain)
        if d is not None:
            return get_verifier(d)
    if v is None:
        known = ", ".join(sorted(_VERIFIERS)) or "none"
        raise UnknownEnvError(f"no verifier for domain {domain!r}; known domains: {known}")
    if isinstance(v, str):
        v = _resolve(v)
        if isinstance(v, type):
            v = v()
        with _LOCK:
            _VERIFIERS[domain] = v
    return v


def list_verifiers() -> list[str]:
    with _LOCK:
        return sorted(_VERIFIERS)
