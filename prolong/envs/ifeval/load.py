"""Loading IFEval-style problems: the public IFEval data and Llama-Nemotron-style records."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import ListProblems
from prolong.data import FieldMap, load_problems
from prolong.envs.ifeval.instructions import InvalidInstruction
from prolong.envs.ifeval.verify import parse_answer

__all__ = ["load_ifeval_problems", "ifeval_record_to_problem"]

_NESTED = ("answer", "ground_truth", "reward_model", "label", "labels")


def _prompt_text(value: Any, location: str) -> str:
    """A prompt given as text or as chat messages (the last user message)."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value) if value.lstrip().startswith("[") else None
        except ValueError:
            decoded = None
        if isinstance(decoded, list):
            value = decoded
        else:
            return value
    if isinstance(value, Sequence) and value and all(isinstance(m, Mapping) for m in value):
        users = [m.get("content") for m in value if m.get("role") == "user" and isinstance(m.get("content"), str)]
        if users:
            return users[-1]
    raise ValueError(f"{location}: the prompt must be text or a list of chat messages, got {type(value).__name__}")


def _find_spec(rec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The dict holding instruction_id_list (top level, or nested / JSON-encoded)."""
    if "instruction_id_list" in rec:
        return rec
    for key in _NESTED:
        value = rec.get(key)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, Mapping):
            found = _find_spec(value)
            if found is not None:
                return found
    return None


def ifeval_record_to_problem(rec: Mapping[str, Any], location: str) -> dict[str, Any]:
    """``{key?, prompt, instruction_id_list, kwargs}`` (possibly nested or JSON strings) to a problem dict."""
    if "prompt" not in rec:
        raise ValueError(f"{location}: no 'prompt' field; give a field map, e.g. fields={{'prompt': 'question'}}")
    prompt = _prompt_text(rec["prompt"], location)
    spec = _find_spec(rec)
    if spec is None:
        raise ValueError(
            f"{location}: no 'instruction_id_list' (top level or inside {', '.join(_NESTED)}); "
            f"fields present: {', '.join(sorted(map(str, rec))[:20])}"
        )
    try:
        parsed = parse_answer({k: spec[k] for k in ("instruction_id_list", "kwargs") if k in spec}, prompt)
    except InvalidInstruction as e:
        raise ValueError(f"{location}: {e}") from None
    answer = {
        "instruction_id_list": list(parsed.instruction_id_list),
        "kwargs": [dict(k) for k in parsed.kwargs],
        "prompt": prompt,
    }
    out: dict[str, Any] = {"prompt": prompt, "answer": answer, "metadata": {}}
    if rec.get("key") is not None:
        out["id"] = f"ifeval/{rec['key']}"
        out["metadata"] = {"key": rec["key"]}
    elif rec.get("id") is not None:
        out["id"] = str(rec["id"])
    return out


def load_ifeval_problems(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    fields: FieldMap | None = None,
    split: str = "train",
    limit: int | None = None,
    **load_kwargs: Any,
) -> ListProblems:
    """IFEval problems from a .jsonl/.json/.parquet file, a saved dataset, a list, or a HF dataset.

    Records need ``prompt`` and ``instruction_id_list`` (with ``kwargs``), at the top
    level or inside ``answer`` / ``ground_truth`` / ``reward_model`` (dicts or JSON
    text); ``fields`` renames columns first (``{"prompt": "question"}``). Arguments are
    checked while loading: a bad record raises ValueError naming its file and line.
    """
    return load_problems(
        source, domain="ifeval", convert=ifeval_record_to_problem, fields=fields, split=split, limit=limit, **load_kwargs
    )
