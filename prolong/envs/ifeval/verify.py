"""The IFEval verifier: strict and loose evaluation, continuous or all-or-nothing reward."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prolong.core import Problem, Reason, Verdict
from prolong.text import UNCLOSED_REASONING, final_text
from prolong.envs.ifeval.instructions import (
    MAX_INSTRUCTIONS,
    InvalidInstruction,
    check_instruction,
    normalize_kwargs,
    short_repr,
)

__all__ = ["IFEvalVerifier", "IFEvalAnswer", "parse_answer", "loose_variants", "MODES", "DEFAULT_MAX_RESPONSE_CHARS"]

MODES = ("strict", "loose")
# Longer responses score 0 ("response too long"): 100k characters is ~25k tokens, more
# than the paper's 16k-token rollouts, and keeps the worst case of every check bounded.
DEFAULT_MAX_RESPONSE_CHARS = 100_000


@dataclass(frozen=True)
class IFEvalAnswer:
    """A parsed ground truth: instruction ids, their (normalized) kwargs, and the prompt."""

    instruction_id_list: tuple[str, ...]
    kwargs: tuple[dict[str, Any], ...]
    prompt: str | None = None


def _maybe_json(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError) as e:  # ValueError: also an integer of more than 4300 digits
            why = str(e)[:120] if isinstance(e, ValueError) else "nested too deeply"
            raise InvalidInstruction(f"{what} is a string but not valid JSON ({why}): {short_repr(value)}") from None
    return value


def parse_answer(answer: Any, prompt: str | None = None) -> IFEvalAnswer:
    """Read ``{"instruction_id_list": [...], "kwargs": [...], "prompt"?: str}``.

    Accepts the dict, its JSON text, kwargs given as one JSON string or a list of JSON
    strings (Llama-Nemotron style), a missing ``kwargs`` (every instruction without
    arguments), and None values inside kwargs (the public IFEval data), which are
    ignored. ``combination:repeat_prompt`` without ``prompt_to_repeat`` repeats
    ``answer["prompt"]`` or, failing that, ``prompt``.
    """
    answer = _maybe_json(answer, "the answer")
    if not isinstance(answer, Mapping):
        raise InvalidInstruction(
            f"an IFEval answer must be a dict with 'instruction_id_list' and 'kwargs', got {type(answer).__name__}"
        )
    ids = _maybe_json(answer.get("instruction_id_list"), "instruction_id_list")
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, (list, tuple)) or not ids or not all(isinstance(i, str) for i in ids):
        raise InvalidInstruction(f"'instruction_id_list' must be a non-empty list of ids, got {short_repr(ids)}")
    if len(ids) > MAX_INSTRUCTIONS:
        raise InvalidInstruction(f"'instruction_id_list' has {len(ids)} instructions (at most {MAX_INSTRUCTIONS})")
    raw_kwargs = _maybe_json(answer.get("kwargs"), "kwargs")
    if raw_kwargs is None:
        raw_kwargs = [{} for _ in ids]
    if isinstance(raw_kwargs, Mapping):
        raw_kwargs = [raw_kwargs]
    if not isinstance(raw_kwargs, (list, tuple)) or len(raw_kwargs) != len(ids):
        n = len(raw_kwargs) if isinstance(raw_kwargs, (list, tuple)) else "no list of"
        raise InvalidInstruction(f"{len(ids)} instruction ids but {n} kwargs")
    the_prompt = answer.get("prompt") if isinstance(answer.get("prompt"), str) else prompt
    kwargs = []
    for iid, kw in zip(ids, raw_kwargs):
        kw = _maybe_json(kw, f"kwargs of {iid}") or {}
        if not isinstance(kw, Mapping):
            raise InvalidInstruction(f"kwargs of {iid} must be a dict, got {type(kw).__name__}")
        if iid == "combination:repeat_prompt" and kw.get("prompt_to_repeat") is None and the_prompt:
            kw = {**kw, "prompt_to_repeat": the_prompt}
        kwargs.append(normalize_kwargs(iid, kw))
    return IFEvalAnswer(tuple(ids), tuple(kwargs), the_prompt)


def loose_variants(response: str) -> list[str]:
    """The 8 versions of a response IFEval's loose evaluation tries (any one may pass)."""
    lines = response.split("\n")
    no_first = "\n".join(lines[1:]).strip()
    no_last = "\n".join(lines[:-1]).strip()
    no_both = "\n".join(lines[1:-1]).strip()
    return [
        response,
        response.replace("*", ""),
        no_first,
        no_last,
        no_both,
        no_first.replace("*", ""),
        no_last.replace("*", ""),
        no_both.replace("*", ""),
    ]


def follows(response: str, answer: IFEvalAnswer, mode: str = "strict") -> list[bool]:
    """Per-instruction results of IFEval's strict or loose test."""
    variants = [response] if mode == "strict" else loose_variants(response)
    return [
        any(check_instruction(iid, v, kw) for v in variants)
        for iid, kw in zip(answer.instruction_id_list, answer.kwargs)
    ]


class IFEvalVerifier:
    """Scores a response against IFEval instructions.

    Args:
        all_or_nothing: reward 1 only when every instruction is followed (IFEval's
            prompt-level accuracy); by default the reward is the fraction followed
            (instruction-level accuracy, the paper's continuous reward).
        mode: ``"strict"`` (default) or ``"loose"`` (IFEval's upper bound: an
            instruction counts as followed if the response passes with its first
            and/or last line removed, or with ``*`` removed).
        max_response_chars: longer responses score 0 with reason "response too long".

    ``details``: ``mode``, ``instructions`` (``[{"id", "followed"}]``), ``num_followed``,
    ``num_instructions``; for bad ground truth, ``error``.
    """

    def __init__(
        self,
        all_or_nothing: bool = False,
        mode: str = "strict",
        max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.all_or_nothing = bool(all_or_nothing)
        self.mode = mode
        self.max_response_chars = int(max_response_chars)

    def __repr__(self) -> str:
        return f"IFEvalVerifier(all_or_nothing={self.all_or_nothing}, mode={self.mode!r})"

    def __call__(self, response: str, answer: Any, problem: Problem | None = None) -> Verdict:
        if not isinstance(response, str):
            raise TypeError(f"response must be a str, got {type(response).__name__}")
        where = f"problem {problem.id}: " if problem is not None else ""
        try:
            parsed = parse_answer(answer, problem.prompt if problem is not None and isinstance(problem.prompt, str) else None)
        except InvalidInstruction as e:
            return Verdict.wrong(Reason.INVALID_ANSWER, error=f"{where}{e}")
        except Exception as e:  # noqa: BLE001 - hostile ground truth costs one reward, never the caller
            return Verdict.wrong(Reason.INVALID_ANSWER, error=f"{where}unusable ground truth: {type(e).__name__}: {str(e)[:200]}")
        if len(response) > self.max_response_chars:
            return Verdict.wrong(
                Reason.TOO_LONG, chars=len(response), max_response_chars=self.max_response_chars, mode=self.mode
            )
        final = final_text(response)  # judged: the text after the reasoning (prolong.text)
        if final is None:
            return Verdict.wrong(Reason.NO_ANSWER, note=UNCLOSED_REASONING, mode=self.mode)
        try:
            followed = follows(final, parsed, self.mode)
        except Exception as e:  # noqa: BLE001 - a checker bug costs one reward, never the training run
            return Verdict.wrong(Reason.ERROR, error=f"{where}{type(e).__name__}: {str(e)[:200]}", mode=self.mode)
        n = sum(followed)
        total = len(followed)
        details = {
            "mode": self.mode,
            "instructions": [{"id": i, "followed": f} for i, f in zip(parsed.instruction_id_list, followed)],
            "num_followed": n,
            "num_instructions": total,
        }
        if n == total:
            return Verdict.right(**details)
        reward = 0.0 if self.all_or_nothing else n / total
        return Verdict.partial(reward, **details)
