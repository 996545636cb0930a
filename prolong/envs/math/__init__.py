"""The math domain (``prolong/math-v0``, ``prolong.verify("math", ...)``).

* :mod:`~prolong.envs.math.extract`: the final answer of a response;
* :mod:`~prolong.envs.math.parse` and :mod:`~prolong.envs.math.verify`: equivalence
  (exact numbers in process, sympy in a killable worker) and :class:`MathVerifier`;
* :mod:`~prolong.envs.math.generate`: procedural problems (8 topics, levels 1-5);
* :mod:`~prolong.envs.math.load`: JSONL / Parquet / Hugging Face loaders;
* :mod:`~prolong.envs.math.env`: :class:`MathEnv` and :func:`make_math_task`.

Names are imported lazily so that ``prolong.verify("math", ...)`` does not import
sympy in the calling process until an answer needs it.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MathEnv": "prolong.envs.math.env",
    "make_math_task": "prolong.envs.math.env",
    "math_reference": "prolong.envs.math.env",
    "MathVerifier": "prolong.envs.math.verify",
    "answers_match": "prolong.envs.math.verify",
    "judge": "prolong.envs.math.verify",
    "Extraction": "prolong.envs.math.extract",
    "extract_answer": "prolong.envs.math.extract",
    "last_boxed": "prolong.envs.math.extract",
    "load_math_problems": "prolong.envs.math.load",
    "generate_problem": "prolong.envs.math.generate",
    "TOPICS": "prolong.envs.math.generate",
    "LEVELS": "prolong.envs.math.generate",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'prolong.envs.math' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
