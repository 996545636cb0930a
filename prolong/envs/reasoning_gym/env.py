"""``prolong/reasoning-gym-v0``: reasoning-gym's procedural puzzles as one weighted env."""

from __future__ import annotations

import bisect
import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import Problem, Task, derive_seed, stamp
from prolong.env import DEFAULT_MAX_TEXT, TaskEnv
from prolong.envs.reasoning_gym.datasets import TaskSpec, generate_entry, get_dataset, json_safe, parse_tasks
from prolong.envs.reasoning_gym.references import reference_answer
from prolong.envs.reasoning_gym.verifier import ReasoningGymVerifier, entry_task

__all__ = [
    "ReasoningGymEnv",
    "ReasoningGymProblems",
    "make_reasoning_gym_task",
    "format_prompt",
    "reference_response",
    "ANSWER_INSTRUCTION",
    "DOMAIN",
]

DOMAIN = "reasoning_gym"
ANSWER_INSTRUCTION = (
    "Think it through, then give only your final answer, written the way the question asks for it, "
    "between <answer> and </answer> tags: <answer>your final answer</answer>"
)
_MAX_SKIPS = 32  # entries skipped in a row (degenerate or failing) before giving up
_VIRTUAL_SIZE = 2**31 - 1


def format_prompt(question: str) -> str:
    """The prompt of a reasoning-gym question: the question, then how to answer."""
    return f"{question.rstrip()}\n\n{ANSWER_INSTRUCTION}"


def _degenerate(task: str, entry: Mapping[str, Any]) -> bool:
    # intermediate_integration sometimes fails to integrate and stores the unevaluated
    # Integral(...) as gold (about 1 entry in 9): copying the integrand back would be the
    # "answer", so such entries are not served.
    return task == "intermediate_integration" and "Integral" in str(entry.get("answer"))


class ReasoningGymProblems:
    """Problems drawn from several reasoning-gym datasets by weight.

    Problem ``index`` is deterministic in ``(seed, split, index)``: its task is drawn by
    weight, then an entry of that task's dataset. Train and validation use dataset seeds
    ``s`` and ``s + 2**31``, so their entries never coincide (reasoning-gym entries
    depend on ``seed + entry index``). Datasets are built on first use and cached for
    the process (:func:`~prolong.envs.reasoning_gym.datasets.get_dataset`).
    """

    def __init__(self, specs: Sequence[TaskSpec], *, seed: int = 0, split: str = "train") -> None:
        if not specs:
            raise ValueError("no reasoning-gym tasks given")
        self.specs = list(specs)
        self.seed = int(seed)
        self.split = split
        self.domain = DOMAIN
        total = 0.0
        self._cumulative = []
        for s in self.specs:
            total += s.weight
            self._cumulative.append(total)
        self._total = total
        names = [s.name for s in self.specs]
        self._labels = [s.name if names.count(s.name) == 1 else f"{s.name}#{k}" for k, s in enumerate(self.specs)]

    def __len__(self) -> int:
        return _VIRTUAL_SIZE

    def dataset_seed(self, k: int) -> int:
        spec = self.specs[k]
        base = derive_seed("prolong/reasoning-gym", self.seed, spec.name, spec.key) % 2**31
        return base if self.split == "train" else base + 2**31

    def __getitem__(self, index: int) -> Problem:
        if not 0 <= index < _VIRTUAL_SIZE:
            raise IndexError(f"problem index {index} out of range [0, {_VIRTUAL_SIZE})")
        rng = random.Random(derive_seed("prolong/reasoning-gym", self.seed, self.split, index))
        k = min(bisect.bisect_right(self._cumulative, rng.random() * self._total), len(self.specs) - 1)
        return stamp(self.problem(k, rng.randrange(self.specs[k].size)), self)

    def task_position(self, name: str) -> int:
        for k, s in enumerate(self.specs):
            if s.name == name or self._labels[k] == name:
                return k
        raise ValueError(f"task {name!r} is not one of this env's tasks ({', '.join(self._labels)})")

    def problem(self, k: int, entry_index: int) -> Problem:
        """Entry ``entry_index`` of task ``k`` (the next good one if that one is degenerate)."""
        spec = self.specs[k]
        if not 0 <= entry_index < spec.size:
            raise IndexError(f"task {spec.name!r}: entry index {entry_index} out of range [0, {spec.size})")
        ds_seed = self.dataset_seed(k)
        dataset = get_dataset(spec.name, spec.config, ds_seed, spec.size)
        errors = []
        for attempt in range(_MAX_SKIPS):
            i = (entry_index + attempt) % spec.size
            try:
                entry = generate_entry(dataset, i)
            except Exception as e:  # noqa: BLE001 - a generator that fails on one seed: take the next entry
                errors.append(f"entry {i}: {type(e).__name__}: {e}")
                continue
            if _degenerate(spec.name, entry):
                continue
            return Problem(
                id=f"{DOMAIN}/{self.split}/{self._labels[k]}/{i}",
                prompt=format_prompt(str(entry["question"])),
                answer=json_safe(entry),
                domain=DOMAIN,
                metadata={
                    "task": spec.name,
                    "index": i,
                    "split": self.split,
                    "seed": ds_seed,
                    "size": spec.size,
                    "config": dict(spec.config),
                },
            )
        raise RuntimeError(
            f"reasoning-gym task {spec.name!r}: {_MAX_SKIPS} entries in a row from index {entry_index} could not be "
            f"served ({'; '.join(errors[-3:]) or 'all degenerate'})"
        )


def reference_response(problem: Problem) -> str:
    """A response that earns full marks: ``<answer>GOLD</answer>`` (or a constructed valid answer)."""
    task = problem.metadata.get("task") or entry_task(problem.answer)
    text = reference_answer(problem.answer, task=task, config=problem.metadata.get("config"))
    if text is None:
        raise ValueError(
            f"problem {problem.id}: task {task!r} has no gold answer and no valid answer could be built for it "
            "(see prolong.envs.reasoning_gym.references)"
        )
    return f"<answer>{text}</answer>"


def _convert_record(tasks: set[str] | None) -> Any:
    def convert(rec: Mapping[str, Any], location: str) -> Mapping[str, Any] | None:
        missing = [k for k in ("question", "answer", "metadata") if k not in rec]
        if missing:
            raise ValueError(
                f"{location}: a reasoning-gym record needs 'question', 'answer' and 'metadata' (missing {missing}); "
                "give a field map, e.g. fields={'question': 'prompt'}"
            )
        entry = {"question": rec["question"], "answer": rec["answer"], "metadata": rec["metadata"]}
        try:
            task = entry_task(entry)
        except ValueError as e:
            raise ValueError(f"{location}: {e}") from None
        if tasks is not None and task not in tasks:
            return None
        return {
            "prompt": format_prompt(str(rec["question"])),
            "answer": json_safe(entry),
            "metadata": {"task": task},
            **({"id": str(rec["id"])} if "id" in rec else {}),
        }

    return convert


def make_reasoning_gym_task(
    tasks: Any = None,
    *,
    source: str | os.PathLike[str] | None = None,
    fields: Mapping[str, Any] | None = None,
    split: str = "train",
    seed: int = 0,
    size: int | None = None,
    level: int | None = None,
    strict: bool = True,
) -> Task:
    """The :class:`~prolong.core.Task` behind ``prolong/reasoning-gym-v0`` (see :class:`ReasoningGymEnv`)."""
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation', got {split!r}")
    verifier = ReasoningGymVerifier(strict=strict)
    if source is not None:
        from prolong.data import load_problems

        names = {s.name for s in parse_tasks(tasks)} if tasks is not None else None
        problems: Any = load_problems(
            source, domain=DOMAIN, convert=_convert_record(names), fields=fields, split=split, name=str(source)
        )
        description = f"reasoning-gym entries from {source}"
    else:
        specs = parse_tasks(tasks, size=size, level=level)
        problems = ReasoningGymProblems(specs, seed=seed, split=split)
        description = f"reasoning-gym: {len(specs)} task(s)"
    return Task(domain=DOMAIN, problems=problems, verifier=verifier, description=description, reference=reference_response)


class ReasoningGymEnv(TaskEnv):
    """Reasoning Gym's procedural puzzles, scored by each task's own checker.

    ## Description
    Each episode is one entry of a reasoning-gym dataset (reasoning-gym 0.1.25: 105
    tasks that build offline: arithmetic, algebra, ARC grids, ciphers, graphs, logic,
    sudoku, rush hour, Rubik's cube, ...). ``reset`` draws a task by weight, then an
    entry of that task's dataset; datasets are built on first draw and cached for the
    whole process.

    ## Action Space
    Any text up to ``max_response_chars``. The answer is the text of the last
    ``<answer>...</answer>`` block; if the response has no answer tag at all, the last
    ``\\boxed{...}``, else the last ``Answer: ...`` line. An unclosed ``<answer>`` or an
    empty block is no answer.

    ## Observation Space
    The prompt: the entry's question, then the instruction to put only the final
    answer between ``<answer>`` and ``</answer>`` tags.

    ## Rewards
    The task's own ``score_answer``. ``strict=True`` (default): 1.0 for full marks (or an
    answer equal to the gold one up to whitespace), else 0.0; this closes
    reasoning-gym's substring partial credit (``len(gold)/len(answer)`` when the gold
    answer appears inside a longer answer) and its small format rewards.
    ``strict=False``: the scorer's score as is. Either way: no answer -> 0 ("no final
    answer"); an answer longer than the task's bound -> 0 ("response too long"); an
    answer that would make a scorer run code or hang -> 0 (see
    :mod:`prolong.envs.reasoning_gym.guards`); a scorer that raises -> 0
    ("unparseable answer"). Tasks without a gold answer (boxnet, graph_color,
    propositional_logic, rubiks_cube, rush_hour) are scored by their checker alone.

    ## Starting State
    ``reset(seed=s)`` gives the same problem for the same ``s``. ``options={"index": i}``
    serves mixture problem ``i``; ``options={"task": name, "task_index": j}`` serves entry
    ``j`` of that task; ``options={"problem": Problem}`` a given problem.

    ## Episode End
    One step: the episode terminates after the response is scored.

    ## Info
    ``reset``: ``problem``, ``domain`` ("reasoning_gym"), ``task`` (dataset name),
    ``index``, ``id``. ``step``: ``verdict`` (with ``details["task"]`` and the scorer's
    raw ``details["score"]``), ``problem``, ``domain``, ``turn``, ``correct``.
    ``problem.answer`` is the reasoning-gym entry (``question``, ``answer``, ``metadata``)
    made JSON-safe; ``problem.metadata`` names the task, entry index, split, dataset
    seed and size, and config.

    ## Arguments
    * ``tasks``: None (all tasks, equal weights); a list of names; a dict
      ``name -> weight`` or ``name -> {"weight", "config", "curriculum", "size"}``; or a
      list of ``{"name", "weight", "config", "curriculum", "size"}``. ``config`` holds
      the dataset's own config fields (``create_dataset(name, **config)``);
      ``curriculum`` a reasoning-gym curriculum level (int), ``{"attribute": level}``,
      or a curriculum object.
    * ``level``: curriculum level for every task that has a curriculum and no setting.
    * ``size``: entries per task and split (default 10,000; acre at most 1,000).
    * ``strict``: see Rewards. ``split``: "train" or "validation" (disjoint entries).
      ``seed``: seed of the problem stream.
    * ``source``: a .jsonl/.json/.parquet file or HF dataset of reasoning-gym entries
      (``question``, ``answer``, ``metadata`` with ``source_dataset``), with ``fields=``
      to rename columns; ``tasks`` then filters by name.
    * ``render_mode``, ``max_response_chars``, ``max_prompt_chars``: as for every env.

    ## Version History
    * v0: first version (reasoning-gym 0.1.25).
    """

    def __init__(
        self,
        tasks: Any = None,
        *,
        source: str | os.PathLike[str] | None = None,
        fields: Mapping[str, Any] | None = None,
        split: str = "train",
        seed: int = 0,
        size: int | None = None,
        level: int | None = None,
        strict: bool = True,
        render_mode: str | None = None,
        max_response_chars: int = DEFAULT_MAX_TEXT,
        max_prompt_chars: int = DEFAULT_MAX_TEXT,
    ) -> None:
        task = make_reasoning_gym_task(
            tasks, source=source, fields=fields, split=split, seed=seed, size=size, level=level, strict=strict
        )
        super().__init__(
            task, render_mode=render_mode, max_response_chars=max_response_chars, max_prompt_chars=max_prompt_chars
        )
        self.split = split
        self.seed = seed

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        options = dict(options or {})
        if "task" in options:
            source = self.task.problems
            if not isinstance(source, ReasoningGymProblems):
                raise ValueError("options['task'] needs the built-in generator (this env reads problems from source=)")
            k = source.task_position(options.pop("task"))
            options["problem"] = source.problem(k, int(options.pop("task_index", 0)))
        obs, info = super().reset(seed=seed, options=options)
        info["task"] = info["problem"].metadata.get("task")
        return obs, info


