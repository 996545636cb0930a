"""The IFEval domain (``prolong/ifeval-v0``, ``prolong.verify("ifeval", ...)``).

* :mod:`~prolong.envs.ifeval.instructions`: the 25 instruction checkers, their
  descriptions and IFEval's conflict table;
* :mod:`~prolong.envs.ifeval.text`: sentence splitting (Punkt, no download), word counts;
* :mod:`~prolong.envs.ifeval.verify`: strict/loose evaluation and :class:`IFEvalVerifier`;
* :mod:`~prolong.envs.ifeval.generate`: built-in prompts and the constructive responder;
* :mod:`~prolong.envs.ifeval.load`: IFEval / Llama-Nemotron data loaders;
* :mod:`~prolong.envs.ifeval.env`: :class:`IFEvalEnv` and :func:`make_ifeval_task`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "IFEvalEnv": "prolong.envs.ifeval.env",
    "make_ifeval_task": "prolong.envs.ifeval.env",
    "ifeval_reference": "prolong.envs.ifeval.env",
    "IFEvalVerifier": "prolong.envs.ifeval.verify",
    "parse_answer": "prolong.envs.ifeval.verify",
    "loose_variants": "prolong.envs.ifeval.verify",
    "INSTRUCTIONS": "prolong.envs.ifeval.instructions",
    "INSTRUCTION_IDS": "prolong.envs.ifeval.instructions",
    "CONFLICTS": "prolong.envs.ifeval.instructions",
    "check_instruction": "prolong.envs.ifeval.instructions",
    "describe_instruction": "prolong.envs.ifeval.instructions",
    "generate_problem": "prolong.envs.ifeval.generate",
    "respond": "prolong.envs.ifeval.generate",
    "load_ifeval_problems": "prolong.envs.ifeval.load",
    "count_sentences": "prolong.envs.ifeval.text",
    "split_sentences": "prolong.envs.ifeval.text",
    "count_words": "prolong.envs.ifeval.text",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'prolong.envs.ifeval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
