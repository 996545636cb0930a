"""The one Gymnasium env class that serves any Task, its text space, and registration."""

from __future__ import annotations

import inspect
import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from prolong.core import (
    GeneratedProblems,
    ListProblems,
    Problem,
    ProblemSource,
    ProlongError,
    Reason,
    Task,
    Verdict,
    Verifier,
    as_verdict,
    is_builtin_domain,
    register_verifier,
    stamp,
)
from prolong.text import UNCLOSED_REASONING, final_text

__all__ = [
    "TextSpace",
    "TaskEnv",
    "EnvInfo",
    "register_env",
    "register_task",
    "list_envs",
    "env_info",
    "domain_of_env",
    "registered_task",
    "DEFAULT_MAX_TEXT",
]

DEFAULT_MAX_TEXT = 1_000_000  # characters; a 1 MB response is still a valid action
DEFAULT_VERIFY_TIMEOUT = 30.0  # seconds: the killable deadline of each step's verifier call


class TextSpace(spaces.Space[str]):
    """Any unicode string of at most ``max_length`` characters.

    Gymnasium's ``spaces.Text`` only admits its charset (alphanumeric by default), so a
    prompt with a space or a ``\\boxed{}`` would not be "in" it. Samples mix ASCII,
    whitespace and non-ASCII characters.
    """

    _SAMPLE_CHARS = string.ascii_letters + string.digits + string.punctuation + " \n\t" + "éπ√∑∫≤≥→中文😀"

    def __init__(self, max_length: int = DEFAULT_MAX_TEXT, min_length: int = 0, seed: int | None = None) -> None:
        if max_length < min_length or min_length < 0:
            raise ValueError(f"need 0 <= min_length <= max_length, got {min_length}, {max_length}")
        self.max_length = int(max_length)
        self.min_length = int(min_length)
        super().__init__(shape=None, dtype=str, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        n = int(self.np_random.integers(self.min_length, min(self.max_length, self.min_length + 64) + 1))
        idx = self.np_random.integers(0, len(self._SAMPLE_CHARS), size=n)
        return "".join(self._SAMPLE_CHARS[i] for i in idx)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"TextSpace(max_length={self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, TextSpace) and other.max_length == self.max_length and other.min_length == self.min_length

    def to_jsonable(self, sample_n: Sequence[str]) -> list[str]:
        return list(sample_n)

    def from_jsonable(self, sample_n: Sequence[str]) -> list[str]:
        return list(sample_n)


# --------------------------------------------------------------------------- env

_TASKS: dict[str, Task] = {}  # "registered:<env id>" targets of register_task


class TaskEnv(gym.Env[str, str]):
    """A text environment over any :class:`~prolong.core.Task`.

    ## Description
    Each episode is one problem. The observation is the problem's prompt; the action
    is the model's response text; the reward is the task's verifier's score.

    ## Action Space
    :class:`TextSpace`: any unicode string up to ``max_response_chars``.

    ## Observation Space
    :class:`TextSpace`: the prompt (or, in multi-turn tasks, the feedback on the last attempt).

    ## Rewards
    ``Verdict.reward`` in [0, 1] of the task's verifier.

    ## Starting State
    ``reset(seed=s)`` draws a problem with the env's RNG: the same seed gives the same
    problem. ``options={"index": i}`` picks problem ``i`` of the source;
    ``options={"problem": Problem}`` serves a given problem.

    ## Episode End
    Single-turn tasks terminate after one step. Multi-turn tasks terminate when the
    response is fully right or after ``max_turns`` attempts; until then the next
    observation is the task's feedback.

    ## Info
    ``reset``: ``problem`` (Problem), ``domain``, ``index``, ``id``. ``step``: ``verdict``
    (Verdict), ``problem``, ``domain``, ``turn``, ``correct``.

    ## Arguments
    ``task``: a Task, a zero-argument callable returning one, or the name of a task
    registered with :func:`register_task`. ``render_mode``: ``"ansi"`` or ``"human"``.

    ## Scoring
    ``step`` scores through :mod:`prolong.scoring`, the path every other consumer (the
    trainer, eval, the adapters, the server) takes: the task's verifier, under a
    killable deadline of ``verify_timeout`` seconds (an attribute, default 30; None
    scores in this process without a deadline, for trusted input only).

    ## Version History
    * v0: first version.
    """

    metadata = {"render_modes": ["ansi", "human"]}

    def __init__(
        self,
        task: Task | str | Callable[[], Task] | None = None,
        *,
        render_mode: str | None = None,
        max_response_chars: int = DEFAULT_MAX_TEXT,
        max_prompt_chars: int = DEFAULT_MAX_TEXT,
    ) -> None:
        if isinstance(task, str):
            try:
                task = _TASKS[task]
            except KeyError:
                raise ValueError(f"no task registered as {task!r}; use prolong.register_task first") from None
        elif task is not None and not isinstance(task, Task) and callable(task):
            task = task()
        if not isinstance(task, Task):
            raise TypeError(f"TaskEnv needs a Task, got {type(task).__name__}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.task = task
        self.verify_timeout: float | None = DEFAULT_VERIFY_TIMEOUT
        self.render_mode = render_mode
        self.observation_space = TextSpace(max_prompt_chars)
        self.action_space = TextSpace(max_response_chars)
        self.problem: Problem | None = None
        self.index: int | None = None
        self.turn = 0
        self._last: tuple[str, Verdict] | None = None
        self._done = False

    # Gymnasium API ---------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        if "problem" in options:
            problem = options["problem"]
            if not isinstance(problem, Problem):
                raise TypeError(f"options['problem'] must be a Problem, got {type(problem).__name__}")
            index = None
        else:
            n = len(self.task.problems)
            if "index" in options:
                index = int(options["index"])
                if not 0 <= index < n:
                    raise IndexError(f"options['index']={index} out of range: the source has {n} problems")
            else:
                index = int(self.np_random.integers(0, n))
            problem = self.task.problems[index]
        stamp(problem, self.task.problems)
        self.problem, self.index, self.turn = problem, index, 0
        self._last, self._done = None, False
        info = {"problem": problem, "domain": problem.domain, "index": index, "id": problem.id}
        return problem.prompt, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.problem is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode is over; call reset() before step()")
        if not isinstance(action, str):
            raise TypeError(f"the action must be the response text (str), got {type(action).__name__}")
        self.turn += 1
        verdict = self.task.score(action, self.problem, timeout=self.verify_timeout)
        self._last = (action, verdict)
        terminated = verdict.correct or self.turn >= self.task.max_turns
        if terminated or self.task.feedback is None:
            obs = ""
            terminated = True
        else:
            obs = self.task.feedback(self.problem, verdict)
        self._done = terminated
        info = {
            "verdict": verdict,
            "problem": self.problem,
            "domain": self.problem.domain,
            "turn": self.turn,
            "correct": verdict.correct,
        }
        return obs, verdict.reward, terminated, False, info

    def render(self) -> str | None:
        if self.problem is None:
            text = "(no problem yet: call reset())"
        else:
            text = f"[{self.problem.domain}] {self.problem.id}\n{self.problem.prompt}"
            if self._last is not None:
                resp, v = self._last
                text += f"\n--- response (turn {self.turn}) ---\n{resp[-2000:]}\n--- reward {v.reward:.3f} ({v.reason}) ---"
        if self.render_mode == "human":
            print(text)
            return None
        return text


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class EnvInfo:
    id: str
    domain: str
    description: str
    entry_point: str


_ENVS: dict[str, EnvInfo] = {}


def register_env(
    env_id: str,
    entry_point: str | Callable[..., gym.Env],
    *,
    domain: str,
    description: str = "",
    kwargs: Mapping[str, Any] | None = None,
    max_episode_steps: int | None = None,
) -> None:
    """Register an env with Gymnasium and with ``prolong.list_envs()``."""
    gym.register(id=env_id, entry_point=entry_point, kwargs=dict(kwargs or {}), max_episode_steps=max_episode_steps)
    ep = entry_point if isinstance(entry_point, str) else f"{entry_point.__module__}:{entry_point.__qualname__}"
    _ENVS[env_id] = EnvInfo(env_id, domain, description, ep)


def list_envs() -> list[str]:
    """Ids of every env registered through prolong (built-in and user tasks)."""
    return sorted(_ENVS)


def env_info(env_id: str) -> EnvInfo:
    try:
        return _ENVS[env_id]
    except KeyError:
        raise KeyError(f"unknown env {env_id!r}; registered: {', '.join(list_envs())}") from None


def domain_of_env(env_id: str) -> str | None:
    info = _ENVS.get(env_id)
    return info.domain if info else None


def registered_task(env_id: str) -> Task | None:
    """The Task of an env made with :func:`register_task`, or None."""
    return _TASKS.get(f"registered:{env_id}")


_DOMAIN_OWNERS: dict[str, str] = {}  # domain -> the register_task env id that owns it


def _adapt_verifier(fn: Callable[..., Any], reasoning: str = "final") -> Verifier:
    """Accept ``f(response, answer)`` or ``f(response, answer, problem)`` returning bool/float/Verdict."""
    try:
        params = inspect.signature(fn).parameters
        takes_problem = len(params) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params.values())
    except (TypeError, ValueError):
        takes_problem = True
    return _UserVerifier(fn, takes_problem, final_only=(reasoning == "final"))


class _UserVerifier:
    """A user's verifier function under the reasoning-section policy of every domain
    (:mod:`prolong.text`): with ``final_only`` it sees only the text after the last
    ``</think>``, and a response whose ``<think>`` never closes scores 0 (no final
    answer) without calling it."""

    def __init__(self, fn: Callable[..., Any], takes_problem: bool, final_only: bool = True) -> None:
        self.fn, self.takes_problem, self.final_only = fn, takes_problem, final_only

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        if self.final_only and isinstance(response, str):
            final = final_text(response)
            if final is None:
                return Verdict.wrong(Reason.NO_ANSWER, None, note=UNCLOSED_REASONING)
            response = final
        out = self.fn(response, answer, problem) if self.takes_problem else self.fn(response, answer)
        return as_verdict(out)


def register_task(
    env_id: str,
    *,
    problems: Sequence[Any] | ProblemSource | Callable[[random.Random, int], Any],
    verifier: Callable[..., Any],
    domain: str | None = None,
    description: str = "",
    max_turns: int = 1,
    feedback: Callable[[Problem, Verdict], str] | None = None,
    seed: int = 0,
    reasoning: str = "final",
) -> str:
    """Register a new task env in one call; returns the env id.

    Args:
        env_id: ``"namespace/Name-v0"``.
        problems: a list of Problems or ``{"prompt", "answer", ...}`` dicts, any
            indexable ProblemSource, or a generator ``f(rng, index) -> dict | Problem``.
        verifier: ``f(response, answer)`` or ``f(response, answer, problem)`` returning a
            Verdict, a bool, or a float in [0, 1].
        domain: the verifier domain (default: the env name, ``"reverse"`` for
            ``"me/reverse-v0"``, or the env id itself when that name is taken, as
            ``"math"`` is for ``"me/math-v0"``); ``prolong.verify(domain, ...)`` then works
            too. A task never replaces a built-in verifier: ``domain="math"`` (or another
            task's domain) is a :class:`~prolong.core.ProlongError`.
        max_turns, feedback: for multi-turn tasks.
        seed: seed of a generator's problem stream.
        reasoning: ``"final"`` (default): the verifier sees only the final answer, the
            text after the last ``</think>``, as every built-in domain judges it; a
            response whose ``<think>`` never closes scores 0 (``no final answer``) without
            calling the verifier. ``"full"``: the verifier sees the whole response (to
            judge the reasoning itself, or a format of your own).
    """
    if reasoning not in ("final", "full"):
        raise ValueError(f"register_task({env_id!r}): reasoning must be 'final' or 'full', got {reasoning!r}")
    if "/" not in env_id or "-v" not in env_id:
        raise ValueError(f"env id {env_id!r} must look like 'namespace/Name-v0'")
    from prolong.envs import BUILTIN_ENVS

    if env_id in BUILTIN_ENVS:
        raise ProlongError(f"register_task: {env_id!r} is a built-in env of prolong; give your task another id")
    if domain is None:
        domain = env_id.split("/", 1)[1].rsplit("-v", 1)[0]
        owner = _DOMAIN_OWNERS.get(domain)
        if is_builtin_domain(domain) or (owner is not None and owner != env_id):
            domain = env_id  # the name is taken (me/math-v0 vs math): the task's own domain is its id
    elif is_builtin_domain(domain):
        raise ProlongError(
            f"register_task({env_id!r}): domain {domain!r} is a built-in domain of prolong; "
            f"leave domain= out (the task then gets its own) or name another"
        )
    elif _DOMAIN_OWNERS.get(domain, env_id) != env_id:
        raise ProlongError(f"register_task({env_id!r}): domain {domain!r} already belongs to {_DOMAIN_OWNERS[domain]!r}")
    if callable(problems) and not hasattr(problems, "__getitem__"):
        source: ProblemSource = GeneratedProblems(problems, domain=domain, seed=seed, name=env_id)
    elif isinstance(problems, (list, tuple)):
        source = ListProblems(problems, domain=domain, name=env_id)
    elif hasattr(problems, "__getitem__") and hasattr(problems, "__len__"):
        source = problems  # type: ignore[assignment]
    else:
        raise TypeError(f"problems must be a list, a ProblemSource or a generator function, got {type(problems).__name__}")
    v = verifier if isinstance(verifier, _UserVerifier) else _adapt_verifier(verifier, reasoning)
    task = Task(
        domain=domain, problems=source, verifier=v, max_turns=max_turns, feedback=feedback, description=description, env_id=env_id
    )
    key = f"registered:{env_id}"
    _DOMAIN_OWNERS[domain] = env_id
    _TASKS[key] = task
    register_verifier(domain, v)
    register_env(env_id, "prolong.env:TaskEnv", domain=domain, description=description, kwargs={"task": key})
    return env_id
