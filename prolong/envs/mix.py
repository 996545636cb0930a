"""``prolong/mix-v0``: a weighted mixture of registered envs, by default the paper's blend.

The paper (arXiv 2507.12507) trains on ~136K problems from five domains: math 40K,
code 24K, STEM 25K, logic puzzles (Reasoning Gym) 37K and instruction following 10K.
:data:`PAPER_MIX_WEIGHTS` uses those counts as draw weights.
"""

from __future__ import annotations

import bisect
import inspect
import math
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from prolong.core import Problem, Task, Verdict, as_verdict, derive_seed, get_verifier, stamp
from prolong.data import RowArg
from prolong.env import DEFAULT_MAX_TEXT, TaskEnv, domain_of_env

__all__ = [
    "MixEnv",
    "MixVerifier",
    "MixProblems",
    "MixComponent",
    "make_mix_task",
    "parse_mix",
    "PAPER_MIX_WEIGHTS",
    "DOMAIN",
]

DOMAIN = "mix"

PAPER_MIX_WEIGHTS: dict[str, float] = {
    "prolong/math-v0": 40_000,  # DeepScaleR, binary reward
    "prolong/code-v0": 24_000,  # Eurus-2-RL, fraction of tests passed
    "prolong/stem-v0": 25_000,  # SCP-116K, binary
    "prolong/reasoning-gym-v0": 37_000,  # Reasoning Gym, task scorers
    "prolong/ifeval-v0": 10_000,  # Llama-Nemotron instruction following, continuous
}
"""The paper's data blend (problems per domain), used as draw weights by default."""

_VIRTUAL_SIZE = 2**31 - 1


@dataclass(frozen=True)
class MixComponent:
    """One env of a mixture: its id, draw weight, and constructor kwargs."""

    env_id: str
    weight: float
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def parse_mix(envs: Mapping[str, Any] | None = None) -> list[MixComponent]:
    """Components from ``envs``: ``{env_id: weight}`` or ``{env_id: {"weight": w, "kwargs": {...}}}``.

    None gives :data:`PAPER_MIX_WEIGHTS`. Every env id must be registered (with
    Gymnasium); its module is only imported when the mixture first draws from it.
    """
    if envs is None:
        envs = PAPER_MIX_WEIGHTS
    if not isinstance(envs, Mapping):
        raise TypeError(f"envs must be a dict env_id -> weight, got {type(envs).__name__}")
    if not envs:
        raise ValueError("envs is empty: a mixture needs at least one env")
    out = []
    for env_id, spec in envs.items():
        if isinstance(spec, Mapping):
            extra = sorted(set(spec) - {"weight", "kwargs"})
            if extra:
                raise ValueError(f"mix env {env_id!r}: unknown option(s) {extra}; use 'weight' and 'kwargs'")
            weight, kwargs = spec.get("weight", 1.0), dict(spec.get("kwargs") or {})
        else:
            weight, kwargs = spec, {}
        try:
            w = float(weight)
        except (TypeError, ValueError):
            raise ValueError(f"mix env {env_id!r}: weight must be a number, got {weight!r}") from None
        if not math.isfinite(w) or w <= 0:
            raise ValueError(f"mix env {env_id!r}: weight must be a positive finite number, got {weight!r}")
        if env_id == "prolong/mix-v0":
            raise ValueError("a mixture cannot contain prolong/mix-v0 itself")
        if env_id not in gym.registry:
            raise ValueError(f"mix env {env_id!r} is not registered; registered prolong envs: {', '.join(_prolong_ids())}")
        out.append(MixComponent(env_id, w, kwargs))
    return out


def _prolong_ids() -> list[str]:
    from prolong.env import list_envs

    return list_envs()


def _accepted_kwargs(env_id: str) -> set[str] | None:
    """Keyword names the env's constructor takes (None: it takes any)."""
    entry = gym.spec(env_id).entry_point
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        import importlib

        entry = getattr(importlib.import_module(module), attr)
    try:
        params = inspect.signature(entry).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


class MixProblems:
    """Problems drawn from several envs by weight; sub-envs are made on first draw.

    Problem ``index`` is deterministic in ``(seed, split, index)``: the env is drawn
    by weight, then that env is reset with a seed drawn from the same stream. Each
    problem is the sub-env's problem with ``metadata["env_id"]`` added.
    """

    def __init__(self, components: Sequence[MixComponent], *, seed: int = 0, split: str = "train") -> None:
        if split not in ("train", "validation"):
            raise ValueError(f"split must be 'train' or 'validation', got {split!r}")
        self.components = list(components)
        self.seed = int(seed)
        self.split = split
        self.domain = DOMAIN
        self._cumulative = []
        total = 0.0
        for c in self.components:
            total += c.weight
            self._cumulative.append(total)
        self._total = total
        self._envs: dict[str, gym.Env] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return _VIRTUAL_SIZE

    @property
    def env_ids(self) -> list[str]:
        return [c.env_id for c in self.components]

    def sub_env(self, env_id: str) -> gym.Env:
        """The (unwrapped) sub-env ``env_id``, made on first use with the mixture's split and seed."""
        with self._lock:
            env = self._envs.get(env_id)
            if env is not None:
                return env
            comp = next((c for c in self.components if c.env_id == env_id), None)
            if comp is None:
                raise ValueError(f"{env_id!r} is not part of this mixture ({', '.join(self.env_ids)})")
            kwargs = dict(comp.kwargs)
            try:
                accepted = _accepted_kwargs(env_id)
                for name, value in (("split", self.split), ("seed", self.seed)):
                    if name not in kwargs and (accepted is None or name in accepted):
                        kwargs[name] = value
                env = gym.make(env_id, **kwargs).unwrapped
            except Exception as e:
                raise RuntimeError(f"mix: could not make sub-env {env_id!r} with {kwargs!r}: {type(e).__name__}: {e}") from e
            self._envs[env_id] = env
            return env

    def draw(self, index: int) -> tuple[str, Problem, str, dict[str, Any]]:
        """``(env_id, problem, observation, sub-env reset info)`` of mixture problem ``index``."""
        if not 0 <= index < _VIRTUAL_SIZE:
            raise IndexError(f"problem index {index} out of range [0, {_VIRTUAL_SIZE})")
        rng = random.Random(derive_seed("prolong/mix", self.seed, self.split, index))
        k = min(bisect.bisect_right(self._cumulative, rng.random() * self._total), len(self.components) - 1)
        env_id = self.components[k].env_id
        sub_seed = rng.randrange(2**31)
        with self._lock:
            env = self.sub_env(env_id)
            obs, info = env.reset(seed=sub_seed)
        return (env_id, stamp(self._tag(env_id, info), self), obs, dict(info))

    def serve(self, problem: Problem) -> tuple[str, Problem, str, dict[str, Any]]:
        """Reset the sub-env that owns ``problem`` to serve it."""
        env_id = problem.metadata.get("env_id") or self.env_for_domain(problem.domain)
        with self._lock:
            env = self.sub_env(env_id)
            obs, info = env.reset(options={"problem": problem})
        return (env_id, stamp(self._tag(env_id, info), self), obs, dict(info))

    @staticmethod
    def _tag(env_id: str, info: Mapping[str, Any]) -> Problem:
        p = info.get("problem")
        if not isinstance(p, Problem):
            raise RuntimeError(
                f"mix: sub-env {env_id!r} did not report info['problem'] on reset; a mixture needs prolong envs"
            )
        if p.metadata.get("env_id") == env_id:
            return p
        return Problem(p.id, p.prompt, p.answer, p.domain, {**p.metadata, "env_id": env_id})

    def __getitem__(self, index: int) -> Problem:
        return self.draw(index)[1]

    def env_for_domain(self, domain: str) -> str:
        for c in self.components:
            if domain_of_env(c.env_id) == domain:
                return c.env_id
        raise ValueError(f"no env of this mixture serves domain {domain!r} ({', '.join(self.env_ids)})")

    def _owner(self, problem: Problem) -> gym.Env | None:
        env_id = problem.metadata.get("env_id")
        if not isinstance(env_id, str) or env_id not in self.env_ids:
            try:
                env_id = self.env_for_domain(problem.domain)
            except ValueError:
                return None
        return self.sub_env(env_id)

    def verifier_for(self, answer: Any, problem: Problem | None) -> Any:
        """The verifier of the sub-env that made ``problem`` (with its own settings)."""
        if problem is not None:
            owner = self._owner(problem)
            if isinstance(owner, TaskEnv):
                return owner.task.verifier
        return MixVerifier().route(answer, problem)

    def score(self, response: str, answer: Any, problem: Problem | None) -> Verdict:
        """Score with the verifier of the sub-env that made ``problem`` (its own settings)."""
        return as_verdict(self.verifier_for(answer, problem)(response, answer, problem))

    def reference(self, problem: Problem) -> str:
        owner = self._owner(problem)
        if not isinstance(owner, TaskEnv) or owner.task.reference is None:
            raise ValueError(f"problem {problem.id}: its env gives no reference response")
        return owner.task.reference(problem)


class _MixTaskVerifier:
    """The verifier of a mixture's Task: routes each problem to its sub-env's verifier."""

    def __init__(self, source: MixProblems) -> None:
        self.source = source

    def route(self, answer: Any, problem: Problem | None = None) -> Any:
        """The verifier that scores this item (:mod:`prolong.scoring` follows it)."""
        return self.source.verifier_for(answer, problem)

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        return self.source.score(response, answer, problem)


class MixVerifier:
    """``prolong.verify("mix", ...)``: the verifier of the problem's own domain.

    It dispatches on ``problem.domain``. Without a problem it reads the domain from the
    answer's shape where that is unambiguous (an IFEval ``instruction_id_list``, code
    ``inputs``/``outputs``, a reasoning-gym entry), and raises ``ValueError`` otherwise
    (a math or STEM answer is a bare string). ``verify_batch`` groups a batch by domain
    and scores each group with that domain's own batch path.
    """

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        return as_verdict(get_verifier(self.domain_of(answer, problem))(response, answer, problem))

    def route(self, answer: Any, problem: Problem | None = None) -> Any:
        """The verifier of the item's own domain (:mod:`prolong.scoring` follows it)."""
        return get_verifier(self.domain_of(answer, problem))

    @staticmethod
    def domain_of(answer: Any, problem: Problem | None = None) -> str:
        if problem is not None:
            if problem.domain == DOMAIN:
                raise ValueError(
                    f"problem {problem.id}: domain 'mix' names no verifier; a mixture's problems keep their own domain"
                )
            return problem.domain
        if isinstance(answer, Mapping):
            if "instruction_id_list" in answer:
                return "ifeval"
            if "inputs" in answer and "outputs" in answer:
                return "code"
            md = answer.get("metadata")
            if "question" in answer and isinstance(md, Mapping) and "source_dataset" in md:
                return "reasoning_gym"
        raise ValueError(
            "the 'mix' verifier needs the problem (problem.domain names the verifier to use); the answer "
            f"{str(answer)[:60]!r} does not say which domain it belongs to. Pass problems=, or verify with the "
            "problem's own domain (prolong.verify('math', ...))"
        )

    def verify_batch(
        self, responses: Sequence[str], answers: Sequence[Any], problems: Sequence[Problem | None] | None = None
    ) -> list[Verdict]:
        from prolong.api import verify_batch

        probs = list(problems) if problems is not None else [None] * len(responses)
        groups: dict[str, list[int]] = {}
        for i, (a, p) in enumerate(zip(answers, probs)):
            groups.setdefault(self.domain_of(a, p), []).append(i)
        out: list[Verdict | None] = [None] * len(responses)
        for domain, idx in groups.items():
            got = verify_batch(domain, [responses[i] for i in idx], [answers[i] for i in idx], [probs[i] for i in idx])
            for i, v in zip(idx, got):
                out[i] = v
        return out  # type: ignore[return-value]


def make_mix_task(envs: Mapping[str, Any] | None = None, *, split: str = "train", seed: int = 0) -> Task:
    """A :class:`~prolong.core.Task` over a mixture of envs (default: the paper's blend).

    ``task.problems[i]`` is a problem of one of the envs (``problem.domain`` its domain,
    ``problem.metadata["env_id"]`` its env); ``task.score`` uses that env's verifier;
    ``task.reference`` that env's reference. Sub-envs are made on first draw.
    """
    source = MixProblems(parse_mix(envs), seed=seed, split=split)
    names = ", ".join(f"{c.env_id}:{c.weight:g}" for c in source.components)
    return Task(
        domain=DOMAIN,
        problems=source,
        verifier=_MixTaskVerifier(source),
        description=f"mixture of {names}",
        reference=source.reference,
    )


# --------------------------------------------------------------------------- mixtures in data rows

_ROW_MAX_ENVS = 16


def _row_envs(envs: Any, *, carry: bool) -> dict[str, dict[str, Any]]:
    """``envs`` as a data row carries it: ``{env_id: {"weight": w, "kwargs": {...}}}`` with
    registered env ids (full ids), positive finite weights and each sub-env's arguments
    under the row rule of that env (:func:`prolong.scoring.row_env_kwargs`; with
    ``carry``, :func:`prolong.scoring.carried_env_kwargs`: ``source``, ``split``, ``seed``
    are dropped, not refused). A row's mixture thus rebuilds the sub-env verifiers its
    problems were scored with."""
    from prolong.scoring import carried_env_kwargs, resolve_env_id, row_env_kwargs

    if envs is None:
        return None  # type: ignore[return-value]
    if not isinstance(envs, Mapping):
        raise ValueError(f"must be a JSON object env id -> weight or {{weight, kwargs}}, got {type(envs).__name__}")
    if not envs or len(envs) > _ROW_MAX_ENVS:
        raise ValueError(f"must name 1 to {_ROW_MAX_ENVS} envs, got {len(envs)}")
    out: dict[str, dict[str, Any]] = {}
    for name, spec in envs.items():
        if not isinstance(name, str):
            raise ValueError(f"env ids must be strings, got {type(name).__name__}")
        env_id = resolve_env_id(name)  # UnknownEnvError (a ValueError) names it
        if env_id == "prolong/mix-v0":
            raise ValueError("a mixture cannot contain prolong/mix-v0 itself")
        if isinstance(spec, Mapping):
            extra = sorted(map(str, set(spec) - {"weight", "kwargs"}))
            if extra:
                raise ValueError(f"{env_id}: unknown option(s) {extra}; use 'weight' and 'kwargs'")
            weight, kwargs = spec.get("weight", 1.0), spec.get("kwargs") or {}
        else:
            weight, kwargs = spec, {}
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"{env_id}: weight must be a positive finite number, got {str(weight)[:40]!r}")
        if carry:
            if not isinstance(kwargs, Mapping):
                raise ValueError(f"{env_id}: kwargs must be a dict, got {type(kwargs).__name__}")
            sub = carried_env_kwargs(env_id, kwargs)
        else:
            sub = row_env_kwargs(env_id, kwargs)  # ProlongError (a ValueError) names the argument
        out[env_id] = {"weight": weight, "kwargs": sub}
    return out


MIX_ROW_KWARGS: dict[str, RowArg] = {
    "envs": RowArg(
        check=lambda v: _row_envs(v, carry=False),
        carry=lambda v: _row_envs(v, carry=True),
        doc="the mixed envs, their weights and each one's scoring arguments",
    )
}


class MixEnv(TaskEnv):
    """A weighted mixture of registered envs; by default the paper's five-domain blend.

    ## Description
    Each episode is one problem of one of the mixed envs. ``reset`` draws an env by
    weight, then resets that env with a seed derived from the draw; ``step`` is that
    env's ``step``. Default weights (:data:`PAPER_MIX_WEIGHTS`, arXiv 2507.12507): math
    40K, code 24K, STEM 25K, logic (Reasoning Gym) 37K, instruction following 10K.

    ## Action Space
    Any text up to ``max_response_chars``; what a response must contain is what the
    drawn env asks for in its prompt.

    ## Observation Space
    The drawn env's observation (its prompt; for multi-turn envs, its feedback).

    ## Rewards
    The drawn env's reward: its own verifier, with the settings it was made with.

    ## Starting State
    ``reset(seed=s)`` gives the same problem for the same ``s``. ``options={"index": i}``
    serves mixture problem ``i``; ``options={"problem": p}`` serves ``p`` through the env
    of ``p.metadata["env_id"]`` (or of its domain).

    ## Episode End
    When the drawn env's episode ends (one step for single-turn envs).

    ## Info
    The drawn env's info, plus ``env_id`` (the env that made the problem) and ``domain``
    (``problem.domain``: "math", "code", "stem", "reasoning_gym", "ifeval", ...), so a
    trainer can report reward per domain; ``problem.metadata["env_id"]`` names the env too.

    ## Arguments
    * ``envs``: ``{env_id: weight}`` or ``{env_id: {"weight": w, "kwargs": {...}}}``;
      None: the paper's blend. Env ids must be registered; an env is made (and its
      module imported) only when first drawn, so a mixture is cheap to make.
    * ``split``, ``seed``: passed to every env whose constructor takes them (unless its
      ``kwargs`` set them).
    * Data rows (``prolong export``, ``make_dataset``) carry ``envs`` with each sub-env's
      scoring arguments (each under that env's own row rule; ``source``, ``split``,
      ``seed`` stay out), so adapters score every item as its sub-env does.
    * ``render_mode``, ``max_response_chars``, ``max_prompt_chars``: as for every env.

    ## Version History
    * v0: first version.
    """

    row_kwargs = MIX_ROW_KWARGS

    def __init__(
        self,
        envs: Mapping[str, Any] | None = None,
        *,
        split: str = "train",
        seed: int = 0,
        render_mode: str | None = None,
        max_response_chars: int = DEFAULT_MAX_TEXT,
        max_prompt_chars: int = DEFAULT_MAX_TEXT,
    ) -> None:
        task = make_mix_task(envs, split=split, seed=seed)
        super().__init__(
            task, render_mode=render_mode, max_response_chars=max_response_chars, max_prompt_chars=max_prompt_chars
        )
        self.split = split
        self.seed = seed
        self.env_id: str | None = None
        self._sub_problem: Problem | None = None

    @property
    def source(self) -> MixProblems:
        return self.task.problems  # type: ignore[return-value]

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        gym.Env.reset(self, seed=seed)
        options = dict(options or {})
        if "problem" in options:
            problem = options["problem"]
            if not isinstance(problem, Problem):
                raise TypeError(f"options['problem'] must be a Problem, got {type(problem).__name__}")
            env_id, problem, obs, sub_info = self.source.serve(problem)
            index = None
        else:
            if "index" in options:
                index = int(options["index"])
            else:
                index = int(self.np_random.integers(0, len(self.source)))
            env_id, problem, obs, sub_info = self.source.draw(index)
        self.env_id, self.problem, self.index, self.turn = env_id, problem, index, 0
        self._last, self._done = None, False
        self._sub_problem = sub_info.get("problem")
        info = {
            **sub_info,
            "problem": problem,
            "domain": problem.domain,
            "index": index,
            "sub_index": sub_info.get("index"),
            "id": problem.id,
            "env_id": env_id,
        }
        return obs, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.problem is None or self.env_id is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over; call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"the action must be the response text (str), got {type(action).__name__}")
        sub = self.source.sub_env(self.env_id)
        if isinstance(sub, TaskEnv) and sub.problem is not self._sub_problem:
            # someone drew task.problems[i] from this env's task meanwhile, which resets sub-envs
            if self.turn > 0:
                raise RuntimeError(f"sub-env {self.env_id} was reset by another draw in the middle of an episode")
            sub.reset(options={"problem": self._sub_problem})
        if isinstance(sub, TaskEnv):
            sub.verify_timeout = self.verify_timeout
        obs, reward, terminated, truncated, sub_info = sub.step(action)
        self.turn += 1
        verdict = sub_info.get("verdict")
        if isinstance(verdict, Verdict):
            self._last = (action, verdict)
        self._done = bool(terminated or truncated)
        info = {**sub_info, "problem": self.problem, "domain": self.problem.domain, "env_id": self.env_id, "turn": self.turn}
        return obs, float(reward), bool(terminated), bool(truncated), info
