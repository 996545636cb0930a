"""Loading math problems from JSONL, JSON, Parquet files and Hugging Face datasets.

Two record shapes are understood (after the optional ``fields=`` map):

* DeepScaleR: ``{"problem": ..., "answer": ...}`` (``"question"`` works for ``"problem"``);
* MATH: ``{"problem": ..., "solution": ...}``: the gold is the last ``\\boxed{}`` of
  the solution;
* GSM8K: ``{"question": ..., "answer": "... #### 72"}``: the gold is the text after the
  last ``####``, commas removed (``1,200`` -> ``1200``).

A record with ``"prompt"`` (a string, or chat messages as in verl's parquet files) and no
``"problem"`` is used as the prompt as it is; a ``"problem"`` is wrapped in the prompt
template. A record that cannot be used raises ``ValueError`` naming its file and line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import ListProblems
from prolong.data import FieldMap, load_problems
from prolong.envs.math.extract import last_boxed
from prolong.envs.math.generate import PROMPT_TEMPLATE

__all__ = ["load_math_problems", "math_record", "gsm8k_answer"]

_META_KEYS = ("level", "type", "subject", "source", "data_source", "difficulty", "unique_id")


def _prompt_text(value: Any, location: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and all(isinstance(m, Mapping) for m in value):
        users = [m.get("content") for m in value if m.get("role", "user") == "user"]
        if users and isinstance(users[-1], str):
            return users[-1]
    raise ValueError(f"{location}: 'prompt' must be text or chat messages with a user turn, got {type(value).__name__}")


def _answer_text(value: Any, location: str) -> str:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{location}: the answer is empty")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(str(v) for v in value)
    if not isinstance(value, str):
        raise ValueError(f"{location}: the answer must be text or a number, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{location}: the answer is empty")
    return value.strip()


def gsm8k_answer(text: str, location: str = "answer") -> str:
    """The final answer of a GSM8K solution: the text after its last ``####``, with the
    thousands commas removed (``"... #### 1,200"`` -> ``"1200"``)."""
    final = text.rsplit("####", 1)[1].strip().replace(",", "")
    if not final:
        raise ValueError(f"{location}: the answer has nothing after its '####' marker")
    return final


def math_record(rec: Mapping[str, Any], location: str, prompt_template: str = PROMPT_TEMPLATE) -> dict[str, Any]:
    """A problem dict from one record (see the module docstring); raises ValueError naming ``location``."""
    present = ", ".join(sorted(map(str, rec))[:20])
    question = rec.get("problem", rec.get("question"))
    if question is not None:
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{location}: 'problem' must be non-empty text")
        prompt = prompt_template.format(problem=question.strip()) if prompt_template else question.strip()
    elif rec.get("prompt") is not None:
        prompt = _prompt_text(rec["prompt"], location)
        question = prompt
    else:
        raise ValueError(
            f"{location}: no 'problem' (or 'question' / 'prompt') field; fields present: {present}. "
            "Map yours with fields={'problem': 'your_column'}"
        )
    answer = rec.get("answer")
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        solution = rec.get("solution")
        if solution is None:
            raise ValueError(
                f"{location}: no 'answer' (or 'solution' with a \\boxed{{}} answer) field; fields present: {present}. "
                "Map yours with fields={'answer': 'your_column'}"
            )
        if not isinstance(solution, str):
            raise ValueError(f"{location}: 'solution' must be text, got {type(solution).__name__}")
        answer = last_boxed(solution)
        if not answer:
            raise ValueError(f"{location}: the solution has no \\boxed{{...}} answer to use as the gold")
    if isinstance(answer, str) and "####" in answer:
        answer = gsm8k_answer(answer, location)
    answer = _answer_text(answer, location)
    out: dict[str, Any] = {
        "prompt": prompt,
        "answer": answer,
        "metadata": {k: rec[k] for k in _META_KEYS if k in rec and isinstance(rec[k], (str, int, float))},
    }
    out["metadata"]["question"] = question
    if rec.get("id") is not None:
        out["id"] = str(rec["id"])
    return out


def load_math_problems(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    fields: FieldMap | None = None,
    split: str = "train",
    config: str | None = None,
    limit: int | None = None,
    prompt_template: str = PROMPT_TEMPLATE,
    **load_kwargs: Any,
) -> ListProblems:
    """Math problems from a .jsonl/.json/.parquet file, a ``save_to_disk`` folder, a
    list of dicts, or a Hugging Face dataset name (``split`` picks its split).

    A local file has no splits: ``split="train"`` (or ``"all"``) is every row;
    ``holdout=0.1`` (passed on to :func:`prolong.data.load_problems`) makes a disjoint,
    hash-based ``"train"`` / ``"validation"`` split; ``split="validation"`` without it is
    an error. ``on_error="skip"`` skips malformed rows (with a warning giving the count).

    ``fields`` renames columns first, e.g. ``{"problem": "question", "answer": "final"}``
    or ``{"answer": "reward_model.ground_truth"}`` for verl parquet files.
    """
    return load_problems(
        source,
        domain="math",
        convert=lambda rec, loc: math_record(rec, loc, prompt_template),
        fields=fields,
        split=split,
        config=config,
        limit=limit,
        **load_kwargs,
    )
