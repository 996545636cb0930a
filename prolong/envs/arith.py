"""``prolong/arith-v0``: two-digit addition and subtraction worked column by column.

The trainer's embedded default trains on it. What makes it a test of *learning* rather
than of memorising or of formatting:

* **thousands of distinct problems**: ``a + b`` and ``a - b`` with two-digit operands
  (about 8,000 sums and 4,000 differences);
* **a held-out split that cannot be memorised**: problems are split by their
  :func:`canonical_form`, the unordered pair of addends of the fact they use
  (``47 + 38``, ``38 + 47``, ``85 - 47`` and ``85 - 38`` are one fact ``{38, 47}``), so
  no held-out question, commuted twin or inverse has a relative in training;
* **a demonstrator that is right about the format and systematically wrong part of
  the time**: :func:`flawed_reference` writes the same column-by-column work as the
  reference but drops the carry (addition) or forgets the borrow (subtraction). Problems
  that need a carry or a borrow carry it in ``metadata["flawed_reference"]``; the tiny
  model's warm start (``sft_flawed_frac``) imitates it part of the time, and RL must
  unlearn the habit on problems it never saw.

Reference responses (``task.reference``)::

    What is 47 + 85?   ->   7+5=12 4+8+1=13 \\boxed{132}
    What is 85 - 47?   ->   15-7=8 8-4-1=3 \\boxed{38}

The flawed ones: ``7+5=12 4+8=12 \\boxed{122}`` and ``15-7=8 8-4=4 \\boxed{48}``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from prolong.core import GeneratedProblems, Problem, Reason, Task, Verdict, derive_seed
from prolong.env import TaskEnv
from prolong.text import final_text, last_boxed

__all__ = [
    "ArithConfig", "ArithEnv", "ArithVerifier", "make_arith_task", "canonical_form", "in_validation",
    "reference_response", "flawed_reference", "ENV_ID", "DOMAIN", "OPS",
]

ENV_ID = "prolong/arith-v0"
DOMAIN = "arith"
OPS = ("+", "-")

MAX_ANSWER_CHARS = 32  # a boxed answer longer than this is no answer


def canonical_form(op: str, a: int, b: int) -> tuple[int, int]:
    """The addition fact a problem uses, as a sorted pair of addends: ``a + b`` ->
    ``{a, b}``; ``a - b = c`` -> ``{b, c}``. Commuted twins and inverses share it."""
    if op == "+":
        return (min(a, b), max(a, b))
    if op == "-":
        return (min(b, a - b), max(b, a - b))
    raise ValueError(f"op must be one of {list(OPS)}, got {op!r}")


def in_validation(canonical: tuple[int, int], seed: int = 0, holdout: int = 5) -> bool:
    """One fact in ``holdout`` is held out (deterministic in the fact and the seed)."""
    return derive_seed("arith-split", seed, *canonical) % holdout == 0


def reference_response(op: str, a: int, b: int) -> str:
    """The right column-by-column work and the boxed result."""
    return _work(op, a, b, flawed=False)


def flawed_reference(op: str, a: int, b: int) -> str | None:
    """The demonstrator's systematic mistake: the same work with the carry dropped (or
    the borrow forgotten) in the tens column; None when the problem has no carry/borrow."""
    return _work(op, a, b, flawed=True) if _needs_carry(op, a, b) else None


def _needs_carry(op: str, a: int, b: int) -> bool:
    return (a % 10 + b % 10 >= 10) if op == "+" else (a % 10 < b % 10)


def _work(op: str, a: int, b: int, *, flawed: bool) -> str:
    a1, a0, b1, b0 = a // 10, a % 10, b // 10, b % 10
    carry = _needs_carry(op, a, b) and not flawed
    if op == "+":
        ones = a0 + b0
        tens = a1 + b1 + int(carry)
        tens_step = f"{a1}+{b1}+1={tens}" if carry else f"{a1}+{b1}={tens}"
        result = tens * 10 + ones % 10
        return f"{a0}+{b0}={ones} {tens_step} \\boxed{{{result}}}"
    borrow = a0 < b0
    ones_step = f"1{a0}-{b0}={10 + a0 - b0}" if borrow else f"{a0}-{b0}={a0 - b0}"
    tens = a1 - b1 - int(carry)
    tens_step = f"{a1}-{b1}-1={tens}" if carry else f"{a1}-{b1}={tens}"
    result = tens * 10 + (10 + a0 - b0 if borrow else a0 - b0)
    return f"{ones_step} {tens_step} \\boxed{{{result}}}"


@dataclass
class ArithConfig:
    """Arguments of ``prolong/arith-v0`` (validated before any problem is made)."""

    ops: tuple[str, ...] = OPS
    """Operations to draw from (``"+"``, ``"-"``), equally often."""
    holdout: int = 5
    """One addition fact in ``holdout`` is held out for the validation split."""

    def validate(self) -> "ArithConfig":
        ops = tuple(self.ops)
        if not ops or any(o not in OPS for o in ops):
            raise ValueError(f"ops must be a non-empty subset of {list(OPS)}, got {list(ops)}")
        if not isinstance(self.holdout, int) or self.holdout < 2:
            raise ValueError(f"holdout must be an integer >= 2, got {self.holdout!r}")
        self.ops = ops
        return self


class ArithVerifier:
    """Reward 1 when the last ``\\boxed{...}`` after the reasoning section holds the
    exact integer result, else 0 (``no final answer`` when there is no box)."""

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        final = final_text(response)
        got = last_boxed(final, max_chars=MAX_ANSWER_CHARS) if final is not None else None
        if got is None or not got.strip():
            return Verdict.wrong(Reason.NO_ANSWER)
        got = got.strip()
        if got == str(answer).strip():
            return Verdict.right(got)
        return Verdict.wrong(Reason.WRONG, extracted=got)

    def verify_batch(self, responses: list[str], answers: list[Any], problems: list[Problem | None] | None = None) -> list[Verdict]:
        return [self(r, a) for r, a in zip(responses, answers)]  # cheaper here than in a worker


def make_arith_task(*, split: str = "train", seed: int = 0, config: ArithConfig | None = None) -> Task:
    """Problems ``What is a + b?`` / ``What is a - b?`` (two-digit operands, ``a >= b`` for
    ``-``) of one split; the splits hold disjoint addition facts (:func:`canonical_form`)."""
    if split not in ("train", "validation"):
        raise ValueError(f"split must be 'train' or 'validation', got {split!r}")
    cfg = (config or ArithConfig()).validate()
    want_val = split == "validation"

    def generate(rng: random.Random, index: int) -> dict[str, Any]:
        while True:
            op = cfg.ops[rng.randrange(len(cfg.ops))]
            a, b = rng.randint(10, 99), rng.randint(10, 99)
            if op == "-" and a < b:
                a, b = b, a
            canon = canonical_form(op, a, b)
            if in_validation(canon, seed, cfg.holdout) == want_val:
                break
        return {
            "prompt": f"What is {a} {op} {b}?",
            "answer": str(a + b if op == "+" else a - b),
            "metadata": {"op": op, "a": a, "b": b, "canonical": list(canon), "carry": _needs_carry(op, a, b),
                         "flawed_reference": flawed_reference(op, a, b)},
        }

    return Task(
        domain=DOMAIN,
        problems=GeneratedProblems(generate, domain=DOMAIN, seed=seed, split=split, name=ENV_ID),
        verifier=ArithVerifier(),
        description="two-digit + and - worked column by column; held-out facts never seen in training",
        reference=lambda p: reference_response(p.metadata["op"], p.metadata["a"], p.metadata["b"]),
    )


class ArithEnv(TaskEnv):
    """Two-digit addition and subtraction, column by column, with a boxed result.

    ## Description
    Each episode is one problem ``What is a + b?`` or ``What is a - b?`` with two-digit
    operands (``a >= b`` for ``-``). Train and validation hold disjoint addition facts
    (:func:`canonical_form`): no held-out problem, its commuted twin or its inverse is
    ever trained on.

    ## Action Space
    :class:`~prolong.env.TextSpace`: the response text.

    ## Observation Space
    :class:`~prolong.env.TextSpace`: the prompt, e.g. ``What is 47 + 85?``.

    ## Rewards
    1 when the last ``\\boxed{...}`` after the reasoning section holds the exact integer
    result (``7+5=12 4+8+1=13 \\boxed{132}``), else 0: ``no final answer`` without a box,
    ``wrong`` otherwise. The work before the box is not graded.

    ## Starting State
    ``reset(seed=s)`` draws a problem; the same seed gives the same problem.
    ``info["problem"].metadata`` holds ``op``, ``a``, ``b``, ``canonical``, ``carry`` and
    ``flawed_reference`` (the demonstrator's carry-dropping response, or None).

    ## Episode End
    After one step.

    ## Arguments
    ``ops`` (``["+", "-"]``), ``holdout`` (5: one fact in five is held out), ``split``
    (``"train"`` or ``"validation"``), ``seed`` (0), ``source`` (only None).

    >>> import gymnasium as gym, prolong
    >>> env = gym.make("prolong/arith-v0", ops=["+"])
    >>> obs, info = env.reset(seed=0)
    >>> p = info["problem"]
    >>> env.unwrapped.task.reference(p).endswith("\\\\boxed{" + p.answer + "}")
    True

    ## Version History
    * v0: first version.
    """

    def __init__(
        self,
        *,
        ops: Any = OPS,
        holdout: int = 5,
        split: str = "train",
        seed: int = 0,
        source: Any = None,
        render_mode: str | None = None,
    ) -> None:
        if source is not None:
            raise ValueError(f"{ENV_ID} only has its built-in generator; got source={source!r}")
        config = ArithConfig(ops=tuple(ops), holdout=holdout)
        super().__init__(make_arith_task(split=split, seed=seed, config=config), render_mode=render_mode)
