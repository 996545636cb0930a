"""STEM: multiple choice (letters A-J) and numeric answers with units.

``prolong/stem-v0`` serves built-in physics, chemistry and quantitative-biology
problems (formulas with computed answers; multiple choice with distractors from
common mistakes), or GPQA / MMLU-Pro / SCP-116K-shaped data. See docs/stem.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import GeneratedProblems, Problem, ProblemSource, Task
from prolong.data import FieldMap
from prolong.env import DEFAULT_MAX_TEXT, TaskEnv
from prolong.envs.stem.extract import extract_boxed, final_answer, read_letter
from prolong.envs.stem.generate import TEMPLATES, make_problem, resolve_topics
from prolong.envs.stem.load import load_stem_problems
from prolong.envs.stem.units import Quantity, Unit, UnitError, parse_quantity, parse_unit
from prolong.envs.stem.verify import DEFAULT_REL_TOL, StemVerifier, parse_gold

__all__ = [
    "StemEnv",
    "StemVerifier",
    "stem_task",
    "reference_response",
    "load_stem_problems",
    "parse_quantity",
    "parse_unit",
    "parse_gold",
    "final_answer",
    "extract_boxed",
    "read_letter",
    "Quantity",
    "Unit",
    "UnitError",
    "TEMPLATES",
    "DEFAULT_REL_TOL",
]

KINDS = ("mixed", "numeric", "choice")


class _BuiltinGenerator:
    """``generate(rng, index)`` for :class:`GeneratedProblems` (a class, so it pickles)."""

    def __init__(self, kind: str, topics: Sequence[str], num_options: int) -> None:
        self.kind, self.topics, self.num_options = kind, list(topics), num_options

    def __call__(self, rng: Any, index: int) -> dict[str, Any]:
        return make_problem(rng, index, kind=self.kind, topics=self.topics, num_options=self.num_options)


def reference_response(problem: Problem) -> str:
    """A full-marks response: the worked solution when there is one, then the boxed gold."""
    solution = problem.metadata.get("solution")
    lines = [str(solution)] if solution else []
    if problem.metadata.get("kind") == "choice" or (
        isinstance(problem.answer, str) and len(problem.answer.strip()) == 1 and problem.answer.strip().isalpha()
    ):
        text = problem.metadata.get("answer_text")
        if text:
            lines.append(f"This matches option {problem.answer}: {text}.")
    lines.append(f"The final answer is \\boxed{{{problem.answer}}}.")
    return "\n\n".join(lines)


def stem_task(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
    *,
    kind: str = "mixed",
    topics: str | Sequence[str] | None = None,
    split: str = "train",
    seed: int = 0,
    fields: FieldMap | None = None,
    shape: str = "auto",
    num_options: int = 4,
    rel_tol: float = DEFAULT_REL_TOL,
    require_units: bool = False,
    shuffle_choices: bool = True,
    free_answers: bool = False,
    config: str | None = None,
    limit: int | None = None,
) -> Task:
    """The :class:`Task` behind :class:`StemEnv` (same arguments)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if split not in ("train", "validation", "test"):
        raise ValueError(f"split must be 'train' or 'validation' (or a dataset's 'test'), got {split!r}")
    if not 2 <= num_options <= 10:
        raise ValueError(f"num_options must be between 2 and 10 (letters A-J), got {num_options}")
    problems: ProblemSource
    if source is None:
        if fields is not None or shape != "auto":
            raise ValueError("fields= and shape= apply to a source=; the built-in generator takes kind= and topics=")
        chosen = resolve_topics(topics)
        problems = GeneratedProblems(
            _BuiltinGenerator(kind, chosen, num_options), domain="stem", seed=seed, split=split, name="stem"
        )
    else:
        if topics is not None:
            raise ValueError("topics= selects built-in templates; it does not apply to a source=")
        problems = load_stem_problems(
            source,
            fields=fields,
            shape=shape,
            kind=kind,
            split=split,
            seed=seed,
            shuffle_choices=shuffle_choices,
            free_answers=free_answers,
            config=config,
            limit=limit,
        )
    return Task(
        domain="stem",
        problems=problems,
        verifier=StemVerifier(rel_tol=rel_tol, require_units=require_units),
        description="STEM multiple choice and numeric answers with units",
        reference=reference_response,
    )


class StemEnv(TaskEnv):
    """STEM questions: multiple choice by letter, or a number with its unit.

    ## Description
    Each episode is one science problem. Built-in problems (``source=None``) come from
    24 templates in physics (kinematics, Newton's laws, energy, Ohm's law and circuits,
    waves, gas laws, pendulums), chemistry (moles, molarity, ideal gas, pH of strong
    acids, stoichiometry) and quantitative biology (dilution, Hardy-Weinberg,
    population growth, serial dilution): inputs drawn by the seed, answers computed
    from the formula. Multiple-choice items show the answer among values that common
    mistakes give (forgot to square, off by 1000 in a unit conversion, inverted ratio,
    sign error, Celsius as Kelvin), in an order shuffled by the seed. With a
    ``source=``, problems are GPQA, MMLU-Pro, SCP-116K or plain records
    (:func:`load_stem_problems`).

    ## Action Space
    :class:`~prolong.env.TextSpace`: the response text. The final answer is the later
    of the last ``\\boxed{...}`` and the last "Answer: X" / "the answer is (X)" line
    (after ``</think>`` when present).

    ## Observation Space
    :class:`~prolong.env.TextSpace`: the prompt: the question; for multiple choice the
    options as ``A) ...`` lines and a request for the letter in ``\\boxed{}``; for
    numeric problems a request for the number with its unit in ``\\boxed{}``.

    ## Rewards
    1 for a right answer, else 0 (``info["verdict"].reason`` says why):

    * multiple choice: the letter (``B``, ``b``, ``(B)``, ``B)``, ``\\text{B}``,
      ``Option B``) must be the gold letter; several letters (``A or C``,
      ``\\boxed{A, C}``) are "ambiguous answer"; a letter beyond the options is wrong.
    * numeric: within ``rel_tol`` (default 1e-2, relative to the gold, per problem via
      ``metadata["rel_tol"]``) after converting the response's unit into the gold's
      (``300000 km/s`` equals ``3.0 \\times 10^8 m/s``; °C, K and °F convert as
      absolute temperatures). A unit of another dimension is wrong ("dimension
      mismatch" in the verdict's details). A missing unit is read in the gold's unit
      unless ``require_units=True``. Two numbers (``3 m/s or 5 m/s``) are ambiguous.
    * no final answer: 0, "no final answer".

    ## Starting State
    ``reset(seed=s)`` draws a problem with the env's RNG (same seed, same problem);
    ``options={"index": i}`` picks problem ``i``. Built-in problem ``i`` depends only
    on ``(seed, split, i)``; the train and validation splits are disjoint streams.

    ## Episode End
    After one step (single turn).

    ## Info
    ``reset``: ``problem`` (its ``metadata`` holds ``kind``, ``topic``/``subject``,
    ``options``, ``solution``), ``domain`` (``"stem"``), ``index``, ``id``. ``step``:
    ``verdict`` (``extracted`` is the answer read; ``details`` hold the value in the
    gold's unit, the relative error, or why it lost), ``correct``.

    ## Arguments
    * ``source``: None (built-in), a .jsonl/.json/.parquet file, a folder saved by
      ``datasets``, or a Hugging Face dataset name.
    * ``kind``: ``"mixed"`` (default), ``"numeric"`` or ``"choice"``.
    * ``topics``: built-in subjects (``"physics"``, ``"chemistry"``, ``"biology"``) or
      template names (``"pendulum"``, ``"ph_strong_acid"``, ...); default all.
    * ``split``: ``"train"`` or ``"validation"``. ``seed``: the problem stream (and the
      option shuffle of loaded data).
    * ``fields``, ``shape``, ``shuffle_choices``, ``free_answers``, ``config``,
      ``limit``: for ``source`` (see :func:`load_stem_problems`).
    * ``num_options``: options per built-in multiple-choice item (2-10, default 4).
    * ``rel_tol``, ``require_units``: the verifier's defaults.
    * ``render_mode``: ``"ansi"`` or ``"human"``.

    ## Version History
    * v0: first version.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
        *,
        kind: str = "mixed",
        topics: str | Sequence[str] | None = None,
        split: str = "train",
        seed: int = 0,
        fields: FieldMap | None = None,
        shape: str = "auto",
        num_options: int = 4,
        rel_tol: float = DEFAULT_REL_TOL,
        require_units: bool = False,
        shuffle_choices: bool = True,
        free_answers: bool = False,
        config: str | None = None,
        limit: int | None = None,
        render_mode: str | None = None,
        max_response_chars: int = DEFAULT_MAX_TEXT,
    ) -> None:
        task = stem_task(
            source,
            kind=kind,
            topics=topics,
            split=split,
            seed=seed,
            fields=fields,
            shape=shape,
            num_options=num_options,
            rel_tol=rel_tol,
            require_units=require_units,
            shuffle_choices=shuffle_choices,
            free_answers=free_answers,
            config=config,
            limit=limit,
        )
        super().__init__(task, render_mode=render_mode, max_response_chars=max_response_chars)
