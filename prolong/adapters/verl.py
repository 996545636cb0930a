"""prolong rewards as verl's custom reward function, and verl's RL data schema.

Checked against volcengine/verl v0.7.0 (commit f9c855f, 2026-01-05) and ``main`` at
b178a3c (2026-01-29, 0.8.0.dev)::

    custom_reward_function.path=pkg://prolong.adapters.verl      # verl >= 0.7; older: the file's path,
    custom_reward_function.name=compute_score                    #   $(python -c "import prolong.adapters.verl as m; print(m.__file__)")

How verl calls it:

* ``verl/trainer/ppo/reward.py``, ``get_custom_reward_fn``: ``load_extern_object`` loads
  the module (``verl/utils/import_utils.py``: ``pkg://`` imports it by name, a plain path
  loads the file as an anonymous module, so this module uses absolute imports only), and
  wraps the function so that ``custom_reward_function.reward_kwargs`` are passed as
  keyword arguments (here: ``domain=``, ``return_dict=``, ``backend=``). A coroutine
  function would be awaited; ``compute_score`` is a plain function because the
  ``remote`` manager refuses async ones and every other manager runs plain ones in a
  thread or process.
* The reward loop (``verl/experimental/reward_loop/``, on by default since 0.7:
  ``reward_model.use_reward_loop=True``) scores each sample as its rollout finishes, in
  a ``RewardLoopWorker`` on the rollout's node. Its managers, picked by
  ``reward_model.reward_manager`` from ``reward_loop/reward_manager/registry.py``, are
  ``naive`` (default; ``compute_score(data_source=, solution_str=, ground_truth=,
  extra_info=)`` in the event loop's thread pool), ``dapo`` (the same, plus the overlong
  penalty), ``remote`` (the same call in Ray actors; every actor then starts its own
  prolong worker pool) and ``rate_limited``. ``extra_info`` arrives with ``num_turns``
  and ``rollout_reward_scores`` added, and ``reward_router_address`` /
  ``reward_model_tokenizer`` keywords when a reward model is deployed: ignored here.
  ``batch`` and ``prime`` are *not* in this registry.
* The legacy managers (``verl/workers/reward_manager/``, with
  ``reward_model.use_reward_loop=False``; ``reward_model.reward_manager`` sets
  ``reward_manager.name``): ``naive`` and ``dapo`` call ``compute_score`` per row as
  above; ``batch`` calls ``compute_score(data_sources=, solution_strs=, ground_truths=,
  extra_infos=)`` once per batch (here: :func:`compute_score_batch`, scored in
  parallel, ``backend=ray`` to spread it over the cluster); ``prime`` calls
  ``compute_score(data_source, solution_str, ground_truth, extra_info)`` positionally in
  a process pool (needs ``pkg://``: a file loaded by path cannot be pickled).
* Responses are decoded with ``skip_special_tokens=True`` in every manager.
* The result is a dict with ``score`` (verl's reward) and more keys that verl gathers
  into per-sample columns (``reward_extra_info``): every row must have the same keys,
  which :func:`verdict_to_score` guarantees.
* ``verl/utils/reward_score/__init__.py``, ``default_compute_score(data_source,
  solution_str, ground_truth, extra_info=None, sandbox_fusion_url=None,
  concurrent_semaphore=None, memory_limit_mb=None, **kwargs)``: the function this one
  replaces; ``compute_score`` takes the same four leading arguments and ignores the rest.

``data_source`` -> what scores a row: the task of ``extra_info["env"]`` made with
``extra_info["env_kwargs"]`` (validated; ``prolong export verl`` writes both, so the
reward equals ``env.step``'s), else ``extra_info["domain"]``, else the data source as a
prolong domain (``"math"``), env id (``"prolong/math-v0"``) or known dataset name
(``"openai/gsm8k"``, ``"lighteval/MATH"``, ``"DigitalLearningGmbH/MATH-lighteval"``,
``"math_dapo"``, ``"aime*"``, ``"numina_*"`` -> math; ``"codecontests"``, ``"apps"``,
``"codeforces"``, ``"taco"`` -> code; see :data:`prolong.adapters.common.DATA_SOURCE_DOMAINS`),
else the ``domain=`` keyword.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import to_plain
from prolong.adapters.common import (
    ABILITIES,
    chat_prompt,
    decode_answer,
    encode_answer,
    iter_env_problems,
    resolve_domain,
    resolve_env_id,
    row_target,
    safe_verify,
    score_many,
)
from prolong.core import Problem, Verdict

__all__ = ["compute_score", "compute_score_batch", "verdict_to_score", "verl_records", "write_verl_parquet"]


def verdict_to_score(verdict: Verdict, return_dict: bool = True) -> float | dict[str, Any]:
    """verl's score: ``{"score", "acc", "pred", "reason"}`` (the same keys for every row,
    as verl gathers each key into a per-sample column), or the bare float."""
    if not return_dict:
        return float(verdict.reward)
    return {
        "score": float(verdict.reward),
        "acc": bool(verdict.correct),
        "pred": verdict.extracted if verdict.extracted is not None else "",
        "reason": verdict.reason,
    }


def _row(
    data_source: Any, ground_truth: Any, extra_info: Any, default_domain: str | None, where: str
) -> tuple[Any, Any, Problem | None]:
    extra = extra_info if isinstance(extra_info, Mapping) else {}
    domain = resolve_domain(data_source, extra, default=default_domain)
    if ground_truth is None:
        raise ValueError(f"{where}: no ground truth (reward_model.ground_truth is missing) for data source {data_source!r}")
    is_json = extra.get("answer_json")
    answer = decode_answer(ground_truth, domain=domain, is_json=None if is_json is None else bool(is_json))
    problem = None
    if "problem_id" in extra or "metadata" in extra:
        md = extra.get("metadata") or {}
        if isinstance(md, str):
            try:
                md = json.loads(md) if md.strip() else {}
            except json.JSONDecodeError:
                md = {}
        problem = Problem(
            id=str(extra.get("problem_id", "")),
            prompt=str(extra.get("question", "") or ""),
            answer=answer,
            domain=str(extra.get("domain") or domain),
            metadata=md if isinstance(md, Mapping) else {},
        )
    return row_target(extra.get("env"), extra.get("env_kwargs"), domain), answer, problem


def compute_score(
    data_source: Any = None,
    solution_str: str | None = None,
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    *,
    data_sources: Sequence[Any] | None = None,
    solution_strs: Sequence[str] | None = None,
    ground_truths: Sequence[Any] | None = None,
    extra_infos: Sequence[Any] | None = None,
    domain: str | None = None,
    return_dict: bool = True,
    backend: str = "pool",
    **kwargs: Any,
) -> float | dict[str, Any] | list[float | dict[str, Any]]:
    """verl's custom reward function: one row (the reward loop's managers and the legacy
    ``naive``, ``dapo``, ``prime``), or a batch when called with the plural keywords of
    verl's legacy ``batch`` reward manager.

    Returns ``{"score": reward in [0, 1], "acc": full marks, "pred": extracted answer,
    "reason": why reward was lost}`` (``return_dict=False``: the float). ``domain`` is
    the fallback for data sources prolong does not know; ``backend`` (batches only):
    ``"pool"`` (worker processes, default), ``"ray"`` (the Ray cluster) or ``"thread"``.
    Extra keywords verl adds
    (``sandbox_fusion_url``, ``reward_router_address``, ...) are ignored.
    """
    if solution_strs is not None or data_sources is not None:
        return compute_score_batch(
            data_sources, solution_strs, ground_truths, extra_infos, domain=domain, return_dict=return_dict, backend=backend
        )
    if solution_str is None:
        raise TypeError("compute_score needs solution_str (one row) or solution_strs (a batch)")
    d, answer, problem = _row(data_source, ground_truth, extra_info, domain, "compute_score")
    return verdict_to_score(safe_verify(d, str(solution_str), answer, problem), return_dict)


def compute_score_batch(
    data_sources: Sequence[Any] | None,
    solution_strs: Sequence[str] | None,
    ground_truths: Sequence[Any] | None,
    extra_infos: Sequence[Any] | None = None,
    *,
    domain: str | None = None,
    return_dict: bool = True,
    backend: str = "pool",
    **kwargs: Any,
) -> list[float | dict[str, Any]]:
    """The batched form for verl's legacy ``batch`` manager (``reward_model.use_reward_loop=False
    reward_model.reward_manager=batch``; the reward loop has no batch manager): rows are
    grouped by task and scored with :func:`prolong.verify_batch` (parallel worker processes), or
    with ``backend="ray"`` spread over the Ray cluster verl runs on
    (:func:`prolong.adapters.ray.verify_batch_ray`); ``backend="thread"`` scores in this thread."""
    if solution_strs is None or ground_truths is None:
        raise TypeError("compute_score_batch needs solution_strs and ground_truths")
    n = len(solution_strs)
    sources = list(data_sources) if data_sources is not None else [None] * n
    extras = list(extra_infos) if extra_infos is not None else [None] * n
    truths = list(ground_truths)
    if not (len(sources) == len(truths) == len(extras) == n):
        raise ValueError(
            f"compute_score_batch: {n} solutions, {len(sources)} data sources, {len(truths)} ground truths, "
            f"{len(extras)} extra infos"
        )
    domains, answers, problems = [], [], []
    for i in range(n):
        d, a, p = _row(sources[i], truths[i], extras[i], domain, f"row {i}")
        domains.append(d)
        answers.append(a)
        problems.append(p)
    verdicts = score_many(domains, [str(s) for s in solution_strs], answers, problems, backend=backend)
    return [verdict_to_score(v, return_dict) for v in verdicts]


# --------------------------------------------------------------------------- data


def verl_records(
    env_id: str,
    n: int,
    *,
    split: str = "train",
    seed: int = 0,
    data_source: str | None = None,
    system_prompt: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Rows in verl's RL data schema for the first ``n`` problems of an env.

    ``data_source`` (default: the env id), ``prompt`` (chat messages), ``ability``,
    ``reward_model = {"style": "rule", "ground_truth": text}`` (JSON text for structured
    answers), ``extra_info = {"index", "split", "domain", "problem_id", "env", "env_kwargs",
    "answer_json", "metadata"}`` (metadata and env_kwargs as JSON text, so every row has
    one schema). ``compute_score`` rebuilds the row's task from ``env`` and
    ``env_kwargs`` (validated), so its reward equals ``env.step``'s.
    """
    from prolong.scoring import carried_env_kwargs

    env_id = resolve_env_id(env_id)
    carried = json.dumps(carried_env_kwargs(env_id, env_kwargs), sort_keys=True)
    rows = []
    for k, (index, p, _env) in enumerate(iter_env_problems(env_id, n, split=split, seed=seed, env_kwargs=env_kwargs)):
        truth, is_json = encode_answer(p.answer)
        rows.append(
            {
                "data_source": data_source or env_id,
                "prompt": chat_prompt(p.prompt, system_prompt),
                "ability": ABILITIES.get(p.domain, p.domain),
                "reward_model": {"style": "rule", "ground_truth": truth},
                "extra_info": {
                    "index": k,
                    "split": split,
                    "domain": p.domain,
                    "problem_id": p.id,
                    "env": env_id,
                    "env_kwargs": carried,
                    "source_index": index,
                    "answer_json": is_json,
                    "metadata": json.dumps(to_plain(p.metadata), ensure_ascii=False, default=str),
                },
            }
        )
    return rows


def write_verl_parquet(rows: Sequence[Mapping[str, Any]], path: str) -> None:
    """Write rows from :func:`verl_records` as parquet (the file verl's ``data.train_files`` reads)."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    if not rows:
        raise ValueError(f"no rows to write to {path}")
    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    schema = pa.schema(
        [
            ("data_source", pa.string()),
            ("prompt", pa.list_(message)),
            ("ability", pa.string()),
            ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
            (
                "extra_info",
                pa.struct(
                    [
                        ("index", pa.int64()),
                        ("split", pa.string()),
                        ("domain", pa.string()),
                        ("problem_id", pa.string()),
                        ("env", pa.string()),
                        ("env_kwargs", pa.string()),
                        ("source_index", pa.int64()),
                        ("answer_json", pa.bool_()),
                        ("metadata", pa.string()),
                    ]
                ),
            ),
        ]
    )
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), path)
