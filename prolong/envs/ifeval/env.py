"""``prolong/ifeval-v0``: the instruction-following task and its Gymnasium env."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import GeneratedProblems, Problem, Task
from prolong.data import FieldMap
from prolong.env import DEFAULT_MAX_TEXT, TaskEnv
from prolong.envs.ifeval.generate import generate_problem, respond
from prolong.envs.ifeval.load import load_ifeval_problems
from prolong.envs.ifeval.verify import DEFAULT_MAX_RESPONSE_CHARS, IFEvalVerifier, parse_answer

__all__ = ["IFEvalEnv", "make_ifeval_task", "ifeval_reference"]

_SPLITS = ("train", "validation")


def ifeval_reference(problem: Problem) -> str:
    """A response that follows every instruction of ``problem`` (built by :func:`respond`)."""
    parsed = parse_answer(problem.answer, problem.prompt)
    return respond(parsed.instruction_id_list, parsed.kwargs, str(problem.metadata.get("topic", "this topic")))


def make_ifeval_task(
    split: str = "train",
    seed: int = 0,
    *,
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
    fields: FieldMap | None = None,
    limit: int | None = None,
    all_or_nothing: bool = False,
    mode: str = "strict",
    max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
) -> Task:
    """The IFEval :class:`~prolong.core.Task`: built-in prompts (``source=None``) or a file/dataset."""
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    verifier = IFEvalVerifier(all_or_nothing=all_or_nothing, mode=mode, max_response_chars=max_response_chars)
    if source is None:

        def generate(rng: random.Random, index: int) -> dict[str, Any]:
            return generate_problem(rng, split=split)

        problems: Any = GeneratedProblems(generate, domain="ifeval", seed=seed, split=split, name="ifeval")
        description = "writing tasks with 1-4 IFEval instructions (25 types), reward = fraction followed"
    else:
        problems = load_ifeval_problems(source, fields=fields, split=split, limit=limit)
        description = f"IFEval instructions from {source}"
    return Task(domain="ifeval", problems=problems, verifier=verifier, description=description, reference=ifeval_reference)


class IFEvalEnv(TaskEnv):
    """Verifiable instruction following, IFEval style (``prolong/ifeval-v0``).

    ## Description
    Each episode is one prompt: a writing task plus one to four verifiable instructions
    from IFEval's 25 types (keywords, language, length, placeholders, postscript,
    bullets, highlights, sections, JSON, title, two responses, repeat the prompt,
    start/end, case, commas). Built-in prompts combine 14 task templates and 30 topics
    with instructions that IFEval's conflict table allows together, with arguments in
    the reference's ranges; or problems come from the public IFEval data or
    Llama-Nemotron-style records.

    ## Action Space
    :class:`prolong.TextSpace`: the response, any unicode string up to 1,000,000
    characters (responses over ``max_response_chars`` score 0).

    ## Observation Space
    :class:`prolong.TextSpace`: the prompt, e.g. ``"Write a short blog post about city
    gardens. Your response should contain less than 9 sentences. Wrap your entire
    response with double quotation marks."``.

    ## Rewards
    The fraction of instructions followed (IFEval's instruction-level score, the paper's
    continuous reward), or with ``all_or_nothing=True`` 1.0 only if all are followed
    (prompt-level). ``mode="strict"`` checks the response as it is; ``mode="loose"``
    also accepts it with its first and/or last line removed or ``*`` stripped.
    ``info["verdict"].details["instructions"]`` lists each instruction and whether it
    was followed.

    ## Starting State
    ``reset(seed=s)`` draws a problem with the env's RNG: the same seed gives the same
    problem; ``options={"index": i}`` picks problem ``i``.

    ## Episode End
    The episode terminates after one step (single turn). No truncation.

    ## Info
    ``reset``: ``problem`` (``answer`` = ``{"instruction_id_list", "kwargs", "prompt"}``;
    built-in ``metadata``: ``topic``, ``task``, ``language``), ``domain``, ``index``, ``id``.
    ``step``: ``verdict``, ``correct``.

    ## Arguments
    * ``source``: None (built-in generator), a .jsonl/.json/.parquet path, a
      ``save_to_disk`` folder, a list of records, or a Hugging Face dataset name.
    * ``split``: ``"train"`` or ``"validation"``: disjoint problem streams.
    * ``seed``: seed of the generator's problem stream.
    * ``all_or_nothing``: reward 1 only if every instruction is followed (default False).
    * ``mode``: ``"strict"`` (default) or ``"loose"``.
    * ``max_response_chars``: longer responses score 0 (default 100,000).
    * ``fields``: field map for ``source`` records; ``limit``: read at most this many.
    * ``render_mode``: ``"ansi"`` or ``"human"``.

    ## Version History
    * v0: first version.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Sequence[Mapping[str, Any]] | None = None,
        *,
        split: str = "train",
        seed: int = 0,
        all_or_nothing: bool = False,
        mode: str = "strict",
        max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
        fields: FieldMap | None = None,
        limit: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        task = make_ifeval_task(
            split,
            seed,
            source=source,
            fields=fields,
            limit=limit,
            all_or_nothing=all_or_nothing,
            mode=mode,
            max_response_chars=max_response_chars,
        )
        super().__init__(task, render_mode=render_mode, max_response_chars=DEFAULT_MAX_TEXT)
