"""``prolong/toy-add-v0``: integer addition with a boxed answer, small enough for a tiny
model on a CPU to learn within minutes. The trainer's tests use it; it is registered
with the other built-in envs (:mod:`prolong.envs`) by ``import prolong``.
"""

from __future__ import annotations

import random
from typing import Any

from prolong.core import GeneratedProblems, Task, derive_seed
from prolong.env import TaskEnv
from prolong.envs.arith import ArithVerifier

__all__ = ["ToyAdditionEnv", "ToyAddVerifier", "make_toy_task", "ENV_ID", "DOMAIN"]

ENV_ID = "prolong/toy-add-v0"
DOMAIN = "toy_add"


def _in_validation(a: int, b: int, seed: int) -> bool:
    """One pair in five is held out (deterministic in the pair and the seed)."""
    return derive_seed("toy-add-split", seed, a, b) % 5 == 0


class ToyAddVerifier(ArithVerifier):
    """Reward 1 when the last ``\\boxed{...}`` after the reasoning section holds the sum
    (the arith env's exact-answer check)."""


def make_toy_task(*, max_operand: int = 20, split: str = "train", seed: int = 0) -> Task:
    """Problems ``What is a + b?`` with ``0 <= a, b <= max_operand``; train and
    validation hold disjoint pairs (one pair in five is held out)."""
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation', got {split!r}")
    if max_operand < 2:
        raise ValueError(f"max_operand must be >= 2, got {max_operand}")
    want_val = split == "validation"

    def generate(rng: random.Random, index: int) -> dict[str, Any]:
        while True:
            a, b = rng.randint(0, max_operand), rng.randint(0, max_operand)
            if _in_validation(a, b, seed) == want_val:
                break
        return {
            "prompt": f"What is {a} + {b}?",
            "answer": str(a + b),
            "metadata": {"a": a, "b": b},
        }

    source = GeneratedProblems(generate, domain=DOMAIN, seed=seed, split=split, name=ENV_ID)
    return Task(
        domain=DOMAIN,
        problems=source,
        verifier=ToyAddVerifier(),
        description="integer addition with a boxed answer (the trainer's toy task)",
        reference=lambda p: f"The answer is \\boxed{{{p.answer}}}.",
    )


class ToyAdditionEnv(TaskEnv):
    """Integer addition for tiny models.

    ## Description
    Each episode is one problem ``What is a + b?`` with ``0 <= a, b <= max_operand``.
    Train and validation splits hold disjoint pairs ``(a, b)``: validation accuracy
    measures generalisation, not memorisation.

    ## Action Space
    :class:`~prolong.env.TextSpace`: the response text.

    ## Observation Space
    :class:`~prolong.env.TextSpace`: the prompt, e.g. ``What is 7 + 5?``.

    ## Rewards
    1 when the last ``\\boxed{...}`` in the response holds ``a + b`` written as an
    integer (``The answer is \\boxed{12}.``), else 0 (no box: ``no final answer``).

    ## Starting State
    ``reset(seed=s)`` draws a problem; the same seed gives the same problem.

    ## Episode End
    After one step.

    ## Arguments
    ``max_operand`` (20), ``split`` (``"train"`` or ``"validation"``), ``seed`` (0),
    ``source`` (only None: this env has no file source).

    ## Version History
    * v0: first version.
    """

    def __init__(
        self,
        *,
        max_operand: int = 20,
        split: str = "train",
        seed: int = 0,
        source: Any = None,
        render_mode: str | None = None,
    ) -> None:
        if source is not None:
            raise ValueError(f"{ENV_ID} only has its built-in generator; got source={source!r}")
        super().__init__(make_toy_task(max_operand=max_operand, split=split, seed=seed), render_mode=render_mode)

