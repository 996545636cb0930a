"""``prolong/math-v0``: the math task and its Gymnasium env."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import GeneratedProblems, Problem, Task
from prolong.data import FieldMap
from prolong.env import DEFAULT_MAX_TEXT, TaskEnv
from prolong.envs.math.generate import PROMPT_TEMPLATE, check_options, generate_problem
from prolong.envs.math.load import load_math_problems
from prolong.envs.math.verify import MathVerifier

__all__ = ["MathEnv", "make_math_task", "math_reference", "math_reference_short", "INSTRUCTION", "REFERENCE_STYLES"]

#: The instruction line of built-in prompts (DeepSeek-R1 / DeepScaleR style).
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
#: ``reference_style`` values: the full-marks response with a reasoning sentence, or the answer alone.
REFERENCE_STYLES = ("full", "short")

_SPLITS = ("train", "validation")
_VERIFIER: MathVerifier | None = None


def _shared_verifier() -> MathVerifier:
    global _VERIFIER
    if _VERIFIER is None:
        _VERIFIER = MathVerifier()
    return _VERIFIER


def math_reference(problem: Problem) -> str:
    """A full-marks response: the gold answer in ``\\boxed{}``."""
    return f"Working through the problem step by step gives the result. The answer is \\boxed{{{problem.answer}}}."


def math_reference_short(problem: Problem) -> str:
    """A short full-marks response: ``The answer is \\boxed{GOLD}.``"""
    return f"The answer is \\boxed{{{problem.answer}}}."


def _template(instruction: str) -> str:
    """The prompt template for ``instruction`` (any text; braces are literal; "" = the problem alone)."""
    if not isinstance(instruction, str):
        raise TypeError(f"instruction must be a string, got {type(instruction).__name__}")
    if not instruction:
        return "{problem}"
    return "{problem}\n\n" + instruction.replace("{", "{{").replace("}", "}}")


def make_math_task(
    level: int | None = None,
    topics: Sequence[str] | None = None,
    split: str = "train",
    seed: int = 0,
    *,
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
    fields: FieldMap | None = None,
    limit: int | None = None,
    prompt_template: str = PROMPT_TEMPLATE,
    verifier: MathVerifier | None = None,
    instruction: str | None = None,
    reference_style: str = "full",
) -> Task:
    """The math :class:`~prolong.core.Task`: built-in problems (``source=None``) or a file/dataset.

    Args:
        level: 1 (single-digit addition and the like) to 5; None mixes all levels.
        topics: a subset of :data:`prolong.envs.math.generate.TOPICS`; None for all.
        split: "train" or "validation" (disjoint problem streams for the generator; the
            split of a Hugging Face dataset; a local file is used whole).
        seed: the generator's seed: problem ``i`` is a function of (seed, split, i).
        source: None, a .jsonl/.json/.parquet path, a ``save_to_disk`` folder, a list of
            dicts or a Hugging Face dataset name (see :func:`load_math_problems`).
        fields: a field map for ``source`` records, e.g. ``{"problem": "question"}``.
        limit: read at most this many records of ``source``.
        prompt_template: how a problem becomes a prompt (``{problem}`` is replaced).
        verifier: the verifier to use (default: one shared :class:`MathVerifier`).
        instruction: replaces the instruction line after the problem (default: None keeps
            ``prompt_template``, whose line is :data:`INSTRUCTION`); ``""`` for none; any
            string, braces included. Overrides ``prompt_template`` when given.
        reference_style: ``"full"`` (:func:`math_reference`, a sentence of reasoning then
            the boxed answer) or ``"short"`` (:func:`math_reference_short`:
            ``The answer is \\boxed{GOLD}.``).
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    if reference_style not in REFERENCE_STYLES:
        raise ValueError(f"reference_style must be one of {REFERENCE_STYLES}, got {reference_style!r}")
    if instruction is not None:
        prompt_template = _template(instruction)
    level, chosen = check_options(level, topics)
    if source is None:
        all_topics = topics is None

        def generate(rng: random.Random, index: int) -> dict[str, Any]:
            return generate_problem(
                rng, level=level, topics=None if all_topics else chosen, split=split, prompt_template=prompt_template
            )

        name = "math" + (f"-L{level}" if level is not None else "") + ("" if all_topics else "-" + "+".join(chosen))
        problems: Any = GeneratedProblems(generate, domain="math", seed=seed, split=split, name=name)
        description = "procedural math problems (8 topics, levels 1-5), answers checked with sympy"
    else:
        problems = load_math_problems(source, fields=fields, split=split, limit=limit, prompt_template=prompt_template)
        description = f"math problems from {source}"
    return Task(
        domain="math",
        problems=problems,
        verifier=verifier or _shared_verifier(),
        description=description,
        reference=math_reference if reference_style == "full" else math_reference_short,
    )


class MathEnv(TaskEnv):
    """Competition-style math with a verifiable final answer (``prolong/math-v0``).

    ## Description
    Each episode is one math problem. The model reasons in free text and ends with its
    final answer in ``\\boxed{}``; the answer is checked for mathematical equivalence
    with the gold (exact numbers, sympy for expressions). Problems come from a
    built-in procedural generator (arithmetic, fractions, algebra, linear equations and
    2x2 systems, polynomials, calculus, sequences, counting and probability; levels 1-5)
    or from a JSONL/Parquet file or Hugging Face dataset in the DeepScaleR / MATH shape.

    ## Action Space
    :class:`prolong.TextSpace`: the response, any unicode string up to 1,000,000
    characters. The final answer is the last ``\\boxed{...}`` (or ``\\fbox{}``), else a
    final "Answer: ..." / "The answer is ..." line; with ``</think>`` only the text
    after it counts.

    ## Observation Space
    :class:`prolong.TextSpace`: the prompt, e.g. ``"What is 3 + 5?\\n\\nPlease reason step
    by step, and put your final answer within \\boxed{}."``.

    ## Rewards
    1.0 when the final answer is equivalent to the gold, else 0.0. ``info["verdict"].reason``
    says why reward was lost: ``no final answer``, ``wrong answer``, ``unparseable
    answer``, ``verifier timeout``. Decimals must equal exact golds exactly (0.5 = 1/2,
    0.333 != 1/3); a decimal gold accepts answers within half a unit of its last digit.
    See docs/math.md for the full policy (percent, degrees, units, sets vs tuples).

    ## Starting State
    ``reset(seed=s)`` draws a problem with the env's RNG: the same seed gives the same
    problem; ``options={"index": i}`` picks problem ``i``.

    ## Episode End
    The episode terminates after one step (single turn). No truncation.

    ## Info
    ``reset``: ``problem`` (its ``metadata`` has ``topic``, ``level``, ``question`` for
    built-in problems), ``domain``, ``index``, ``id``. ``step``: ``verdict`` (``details``:
    ``path`` = which stage decided, ``method`` = how the answer was found), ``correct``.

    ## Arguments
    * ``source``: None (built-in generator), a .jsonl/.json/.parquet path, a
      ``save_to_disk`` folder, or a Hugging Face dataset name.
    * ``split``: ``"train"`` or ``"validation"``: disjoint problem streams.
    * ``seed``: seed of the generator's problem stream.
    * ``level``: 1-5, or None for a mix; ``topics``: a list of topic names, or None.
    * ``fields``: field map for ``source`` records (``{"problem": "question"}``).
    * ``limit``: read at most this many records of ``source``.
    * ``instruction``: the line after each problem (default: "Please reason step by step,
      and put your final answer within \\boxed{}."; ``""`` for none; any string).
    * ``reference_style``: ``"full"`` (default) or ``"short"``: what ``task.reference``
      gives (``The answer is \\boxed{GOLD}.`` when short), e.g. for a warm start.
    * ``render_mode``: ``"ansi"`` or ``"human"``.

    ## Version History
    * v0: first version; ``instruction`` and ``reference_style`` added (defaults unchanged).
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
        *,
        split: str = "train",
        seed: int = 0,
        level: int | None = None,
        topics: Sequence[str] | None = None,
        fields: FieldMap | None = None,
        limit: int | None = None,
        instruction: str | None = None,
        reference_style: str = "full",
        render_mode: str | None = None,
        max_response_chars: int = DEFAULT_MAX_TEXT,
    ) -> None:
        task = make_math_task(
            level, topics, split, seed, source=source, fields=fields, limit=limit,
            instruction=instruction, reference_style=reference_style,
        )
        super().__init__(task, render_mode=render_mode, max_response_chars=max_response_chars)
