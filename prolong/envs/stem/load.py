"""STEM problems from files and datasets: GPQA, MMLU-Pro and SCP-116K shapes, and plain records.

All go through :func:`prolong.data.load_problems` (JSONL, JSON, Parquet, a folder saved
with ``datasets.Dataset.save_to_disk``, or a Hugging Face dataset name), after an
optional ``fields=`` map that renames columns. The shape is detected from the columns
(or given with ``shape=``):

* ``"gpqa"``: ``Question``, ``Correct Answer``, ``Incorrect Answer 1..3``. The options
  are shuffled by ``(seed, question)``; the gold is the correct option's letter.
* ``"mmlu_pro"``: ``question``, ``options`` (a list, up to 10), ``answer`` (a letter) or
  ``answer_index``. Options are shuffled the same way unless ``shuffle_choices=False``
  (the gold letter follows the shuffle); ``"N/A"`` padding options are dropped.
* ``"scp"``: ``problem`` and ``answer``, else a solution (``solution``,
  ``matched_solution``) whose final answer (last ``\\boxed{}`` or ``Answer:`` line) is
  taken. A number with an optional unit becomes a numeric problem; anything else is a
  free-form problem (compared as normalized text) and is skipped unless
  ``free_answers=True``; a record with no readable final answer is skipped.
* ``"plain"``: ``prompt`` or ``question``, ``answer``, optional ``options``: with
  options, multiple choice as MMLU-Pro; a bare letter without options is multiple
  choice whose options the prompt already shows (``num_options`` column, else A-J);
  otherwise a number with a unit, or free text as for SCP.

Records are skipped (not errors) when they cannot be made into a gradeable problem;
the loader raises only when nothing usable remains, naming the source.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import ListProblems, derive_seed
from prolong.data import FieldMap, load_problems
from prolong.envs.stem.extract import final_answer
from prolong.envs.stem.generate import choice_prompt, numeric_prompt
from prolong.envs.stem.verify import MAX_OPTIONS, parse_gold

__all__ = ["load_stem_problems", "detect_shape", "SHAPES"]

SHAPES = ("auto", "gpqa", "mmlu_pro", "scp", "plain")
_LETTERS = "ABCDEFGHIJ"


def detect_shape(rec: Mapping[str, Any]) -> str:
    """The shape a record has: ``"gpqa"``, ``"mmlu_pro"``, ``"scp"`` or ``"plain"``."""
    if "Correct Answer" in rec and "Incorrect Answer 1" in rec:
        return "gpqa"
    if "options" in rec and ("answer_index" in rec or "answer" in rec) and ("question" in rec or "prompt" in rec):
        return "mmlu_pro"
    if "problem" in rec and any(k in rec for k in ("answer", "solution", "matched_solution")):
        return "scp"
    return "plain"


def _text(rec: Mapping[str, Any], keys: Sequence[str], location: str) -> str:
    for k in keys:
        v = rec.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    raise ValueError(f"{location}: no question text (looked for {', '.join(map(repr, keys))})")


def _shuffled(options: list[str], gold: int, seed: int, question: str, shuffle: bool) -> tuple[list[str], str]:
    order = list(range(len(options)))
    if shuffle:
        random.Random(derive_seed("stem-options", seed, question)).shuffle(order)
    return [options[k] for k in order], _LETTERS[order.index(gold)]


def _choice_problem(question: str, options: list[str], gold: int, *, seed: int, shuffle: bool, extra: dict) -> dict:
    shown, letter = _shuffled(options, gold, seed, question, shuffle)
    metadata = {"kind": "choice", "options": shown, "answer_text": options[gold], **extra}
    return {"prompt": choice_prompt(question, shown), "answer": letter, "metadata": metadata}


def _record_id(rec: Mapping[str, Any]) -> dict[str, Any]:
    for k in ("id", "Record ID", "question_id", "uid"):
        if rec.get(k) not in (None, ""):
            return {"id": str(rec[k])}
    return {}


def _convert_gpqa(rec: Mapping[str, Any], location: str, seed: int, shuffle: bool) -> dict | None:
    question = _text(rec, ("Question",), location)
    correct = rec.get("Correct Answer")
    if not isinstance(correct, str) or not correct.strip():
        raise ValueError(f"{location}: 'Correct Answer' is empty")
    wrong = [str(rec[k]).strip() for k in (f"Incorrect Answer {i}" for i in range(1, 10)) if rec.get(k) not in (None, "")]
    if not wrong:
        raise ValueError(f"{location}: no 'Incorrect Answer 1..3' options")
    options = [correct.strip(), *wrong][:MAX_OPTIONS]
    extra = {"source_shape": "gpqa"}
    if rec.get("High-level domain"):
        extra["subject"] = str(rec["High-level domain"])
    return {**_choice_problem(question, options, 0, seed=seed, shuffle=shuffle, extra=extra), **_record_id(rec)}


def _convert_options(rec: Mapping[str, Any], location: str, seed: int, shuffle: bool, shape: str) -> dict | None:
    question = _text(rec, ("question", "prompt"), location)
    raw = rec.get("options")
    if isinstance(raw, Mapping):  # {"A": "...", "B": "..."}
        raw = [raw[k] for k in sorted(raw)]
    if isinstance(raw, str) or not isinstance(raw, Sequence) or len(raw) < 2:
        raise ValueError(f"{location}: 'options' must be a list of at least 2 option texts")
    options = [str(o).strip() for o in raw]
    gold: int | None = None
    if rec.get("answer_index") is not None:
        gold = int(rec["answer_index"])
    elif isinstance(rec.get("answer"), str):
        a = rec["answer"].strip().strip("()").upper()
        if len(a) == 1 and "A" <= a <= "Z":
            gold = ord(a) - ord("A")
    if gold is None or not 0 <= gold < len(options):
        raise ValueError(f"{location}: the answer must be a letter or an answer_index within the {len(options)} options")
    keep = [i for i, o in enumerate(options) if o != "N/A" or i == gold]
    if len(keep) > MAX_OPTIONS:
        raise ValueError(f"{location}: {len(keep)} options; at most {MAX_OPTIONS} (A-J) are supported")
    gold = keep.index(gold)
    options = [options[i] for i in keep]
    extra: dict[str, Any] = {"source_shape": shape}
    if rec.get("category"):
        extra["subject"] = str(rec["category"])
    return {**_choice_problem(question, options, gold, seed=seed, shuffle=shuffle, extra=extra), **_record_id(rec)}


def _convert_free(rec: Mapping[str, Any], location: str, shape: str, free_answers: bool) -> dict | None:
    question = _text(rec, ("problem", "prompt", "question"), location)
    answer = rec.get("answer")
    if answer is not None and not isinstance(answer, str):
        answer = str(answer)
    if not answer or not answer.strip():
        solution = next((rec[k] for k in ("solution", "matched_solution") if isinstance(rec.get(k), str)), None)
        if solution is None:
            raise ValueError(f"{location}: no 'answer' and no 'solution' / 'matched_solution' text")
        answer = final_answer(solution).text
        if not answer or not answer.strip():
            return None  # no readable final answer in the solution
    try:
        gold = parse_gold(answer.strip())
    except ValueError:
        return None
    extra: dict[str, Any] = {"source_shape": shape}
    if rec.get("domain"):
        extra["subject"] = str(rec["domain"])
    if gold.kind == "choice":
        return None  # a bare letter with no options to show
    if gold.kind == "numeric":
        has_unit = gold.quantity is not None and gold.quantity.unit is not None
        prompt = numeric_prompt(question, has_unit)
        extra["kind"] = "numeric"
    else:
        if not free_answers:
            return None
        prompt = f"{question}\n\nSolve the problem step by step. Put your final answer in \\boxed{{}}."
        extra["kind"] = "free"
    return {"prompt": prompt, "answer": answer.strip(), "metadata": extra, **_record_id(rec)}


def load_stem_problems(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    fields: FieldMap | None = None,
    shape: str = "auto",
    kind: str = "mixed",
    split: str = "train",
    seed: int = 0,
    shuffle_choices: bool = True,
    free_answers: bool = False,
    config: str | None = None,
    limit: int | None = None,
    holdout: float | None = None,
    on_error: str = "raise",
) -> ListProblems:
    """STEM problems from a file, a saved dataset folder, a list of dicts or a HF dataset.

    Args:
        fields: renames applied first, ``{"Question": "q"}`` (target: source column).
        shape: ``"auto"`` (per record, from its columns), ``"gpqa"``, ``"mmlu_pro"``,
            ``"scp"`` or ``"plain"``.
        kind: ``"mixed"`` keeps every problem, ``"choice"`` only multiple choice,
            ``"numeric"`` only numeric ones.
        split: the dataset split (for saved ``DatasetDict`` folders and HF datasets).
        seed: seeds the option shuffle (with each question's text).
        shuffle_choices: shuffle MMLU-Pro / plain options too (GPQA's always are: its
            correct answer comes first in the data).
        free_answers: keep SCP/plain problems whose answer is not a number or letter.
        holdout: for a local file, the fraction held out as ``split="validation"`` by a
            stable hash of each row (disjoint from ``"train"``); without it a local file's
            ``split="validation"`` is an error (see :func:`prolong.data.load_problems`).
        on_error: ``"raise"`` or ``"skip"`` (skip malformed rows, warning with the count).
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    if kind not in ("mixed", "numeric", "choice"):
        raise ValueError(f"kind must be 'mixed', 'numeric' or 'choice', got {kind!r}")

    def convert(rec: Mapping[str, Any], location: str) -> dict | None:
        s = detect_shape(rec) if shape == "auto" else shape
        if s == "gpqa":
            made = _convert_gpqa(rec, location, seed, True)
        elif s == "mmlu_pro" or (s == "plain" and rec.get("options") is not None):
            made = _convert_options(rec, location, seed, shuffle_choices, s)
        elif s == "scp":
            made = _convert_free(rec, location, s, free_answers)
        else:
            made = _convert_plain(rec, location, free_answers)
        if made is None:
            return None
        got = made["metadata"].get("kind")
        if kind != "mixed" and got != kind:
            return None
        return made

    return load_problems(
        source, domain="stem", convert=convert, fields=fields, split=split, config=config, limit=limit,
        holdout=holdout, on_error=on_error,
    )


def _convert_plain(rec: Mapping[str, Any], location: str, free_answers: bool) -> dict | None:
    question = _text(rec, ("prompt", "question", "problem"), location)
    answer = rec.get("answer")
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        raise ValueError(f"{location}: no 'answer' field; give a field map, e.g. fields={{'answer': 'solution'}}")
    answer = str(answer).strip()
    if len(answer) <= 4 and answer.strip("().").isalpha() and len(answer.strip("().")) == 1:
        # a letter whose options are written in the prompt itself
        metadata: dict[str, Any] = {"kind": "choice", "source_shape": "plain"}
        if rec.get("num_options") is not None:
            metadata["num_options"] = int(rec["num_options"])
        prompt = f"{question}\n\nPut only the letter of the correct option in \\boxed{{}}."
        return {"prompt": prompt, "answer": answer.strip("().").upper(), "metadata": metadata, **_record_id(rec)}
    return _convert_free({"problem": question, "answer": answer, **_record_id(rec)}, location, "plain", free_answers)
