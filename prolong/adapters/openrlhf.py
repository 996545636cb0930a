"""prolong rewards for OpenRLHF: the custom reward function file, and the HTTP protocol.

Checked against OpenRLHF/OpenRLHF v0.11.0 (commit 3c3be62, 2026-08-13; the same code as
``main`` then), and the older tags for the flag names:

* ``openrlhf/cli/train_ppo_ray.py``: the flags are ``--reward.remote_url`` (a ``.py``
  file, or comma-separated HTTP URLs), ``--data.input_key``, ``--data.label_key`` and
  ``--data.apply_chat_template`` since v0.10.2; v0.10.1 and older spell them
  ``--remote_rm_url``, ``--input_key``, ``--label_key``, ``--apply_chat_template``.
* ``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor``: a ``remote_url`` ending in
  ``.py`` is loaded with ``importlib.util.spec_from_file_location("reward_func", FILE)``
  and ``reward_func(queries, prompts, labels)`` is called from a thread
  (``asyncio.to_thread``) with one sample per call; ``queries`` are
  ``tokenizer.decode(prompt_ids + response_ids, skip_special_tokens=False)`` (the
  chat-templated prompt, the response and its end-of-turn token), ``prompts`` the
  (templated) prompts and ``labels`` the ``--data.label_key`` column. It must return
  ``{"rewards", "scores", "extra_logs"}``: ``rewards`` for the advantages, ``scores``
  (in [0, 1]) for dynamic filtering (``rewards`` when absent), ``extra_logs`` logged to
  wandb (``openrlhf/trainer/ppo_utils/samples_generator.py`` takes each value's first
  element: scalars or tensors).
* An ``http(s)://`` ``remote_url`` is POSTed (``aiohttp``, 180 s, 5 tries; with several
  URLs the samples are sharded over them, and a server may get empty lists)
  ``{"query": [...], "prompts": [...], "labels": [...]}`` and must answer the same
  ``{"rewards": [...], "scores": [...], "extra_logs": {...}}`` as JSON
  (``openrlhf/cli/serve_rm.py`` serves it at ``/get_reward``). ``prolong serve`` answers
  it at ``POST /openrlhf`` (and ``/get_reward``), with :func:`parse_queries` below.

Use the file (one process per vLLM engine scores its own samples in prolong's worker pool)::

    --reward.remote_url $(python -c "import prolong.adapters.openrlhf as m; print(m.__file__)") \\
    --data.label_key label --data.input_key input --data.apply_chat_template

or the server (``prolong serve``, then ``--reward.remote_url http://127.0.0.1:8000/openrlhf``).

The labels ``prolong export openrlhf`` writes are JSON objects ``{"domain", "env",
"env_kwargs", "answer", "id", "metadata"}`` (structured answers stay structured inside the
JSON); the reward is that env's, made with those (validated) arguments. A label that is
not such an object is the answer itself, scored in the domain named by the environment
variable ``PROLONG_DOMAIN`` (default ``math``).

This file is loaded by path, so it uses absolute imports only.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any

from prolong.adapters.common import decode_answer, problem_from_record, resolve_domain, row_target, score_many
from prolong.core import Problem, Reason, Verdict

__all__ = ["reward_func", "response_of", "parse_label", "parse_queries", "score_queries", "reward_logs", "DEFAULT_DOMAIN_ENV"]

DEFAULT_DOMAIN_ENV = "PROLONG_DOMAIN"

# End-of-turn / padding tokens a decode with skip_special_tokens=False leaves at the end:
# "<|im_end|>", "<|endoftext|>", "</s>", "<｜end▁of▁sentence｜>" (DeepSeek's full-width bars), "<eos>".
_TRAILING_SPECIAL = re.compile(r"(?:\s*(?:<\|[^|<>\s]{1,40}\|>|<｜[^｜<>]{1,40}｜>|</s>|<eos>|<pad>))+\s*$")


def response_of(query: str, prompt: str | None) -> str:
    """The response inside an OpenRLHF query (prompt + response + special tokens).

    The prompt is cut where it matches: as a prefix, else (a decode that changed the
    prompt's whitespace or special tokens) after the longest tail of the prompt
    (64 characters down to 8) found in the query; trailing end-of-turn tokens are dropped.
    """
    text = query
    if prompt:
        if query.startswith(prompt):
            text = query[len(prompt) :]
        else:  # the longest tail of the prompt (64 chars down to 8) found in the query
            for k in (64, 32, 16, 8):
                tail = prompt[-k:]
                at = query.find(tail)
                if at >= 0:
                    text = query[at + len(tail) :]
                    break
    return _TRAILING_SPECIAL.sub("", text)


def parse_label(label: Any, default_domain: str | None = None) -> tuple[Any, Any, Problem | None]:
    """``(target, answer, problem)`` from a label: the JSON object ``prolong export openrlhf``
    writes (or the same as a dict), else a bare answer in ``default_domain``. The target is
    the Task the label's ``env`` and ``env_kwargs`` name (validated), else its domain."""
    default_domain = default_domain or os.environ.get(DEFAULT_DOMAIN_ENV) or "math"
    obj = label
    if isinstance(label, str):
        s = label.strip()
        if s.startswith("{"):
            try:
                obj = json.loads(s)
            except json.JSONDecodeError:
                obj = label
    if isinstance(obj, dict) and "answer" in obj:
        if obj.get("domain"):
            domain = resolve_domain(None, {"domain": obj["domain"]})  # named: must exist
        else:
            domain = resolve_domain(obj.get("data_source"), default=default_domain)
        answer = obj["answer"]  # native JSON: a structured answer is already structured
        if isinstance(answer, str) and obj.get("answer_json"):
            answer = json.loads(answer)
        problem = None
        if "id" in obj or "metadata" in obj:
            problem = problem_from_record(
                {"id": obj.get("id", ""), "prompt": obj.get("prompt", ""), "domain": domain, "metadata": obj.get("metadata") or {}},
                domain=domain,
                answer=answer,
            )
        return row_target(obj.get("env"), obj.get("env_kwargs"), domain), answer, problem
    domain = resolve_domain(default_domain)
    return domain, decode_answer(label, domain=domain), None


def parse_queries(
    queries: Sequence[str], prompts: Sequence[str | None] | None, labels: Sequence[Any], *, domain: str | None = None
) -> tuple[list[Any], list[str], list[Any], list[Problem | None]]:
    """``(targets, responses, answers, problems)`` of OpenRLHF's ``(queries, prompts,
    labels)``: what the reward function and the server's ``/openrlhf`` route score. A
    label that cannot be read raises ValueError naming its index."""
    if prompts is None:
        prompts = [None] * len(queries)
    if not (len(queries) == len(prompts) == len(labels)):
        raise ValueError(f"{len(queries)} queries, {len(prompts)} prompts, {len(labels)} labels: one of each per sample")
    targets, responses, answers, problems = [], [], [], []
    for i, (q, p, lab) in enumerate(zip(queries, prompts, labels)):
        try:
            d, a, prob = parse_label(lab, domain)
        except (ValueError, KeyError, TypeError) as e:
            msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
            raise ValueError(f"labels[{i}]: {msg}") from None
        targets.append(d)
        responses.append(response_of(str(q), p if isinstance(p, str) else None))
        answers.append(a)
        problems.append(prob)
    return targets, responses, answers, problems


def score_queries(
    queries: Sequence[str], prompts: Sequence[str | None], labels: Sequence[Any], *, domain: str | None = None
) -> list[Verdict]:
    """Verdicts for OpenRLHF's (queries, prompts, labels)."""
    return score_many(*parse_queries(queries, prompts, labels, domain=domain))


def reward_logs(verdicts: Sequence[Verdict]) -> dict[str, float]:
    """``extra_logs`` of a batch: ``prolong_accuracy`` (fraction of full marks) and
    ``prolong_no_answer`` (fraction with no final answer), plain floats."""
    n = max(len(verdicts), 1)
    return {
        "prolong_accuracy": sum(bool(v.correct) for v in verdicts) / n,
        "prolong_no_answer": sum(v.reason == Reason.NO_ANSWER for v in verdicts) / n,
    }


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> dict[str, Any]:
    """OpenRLHF's reward function: ``{"rewards", "scores", "extra_logs"}``.

    ``rewards`` and ``scores`` are the verdicts' rewards in [0, 1] (``scores`` feed
    OpenRLHF's dynamic filtering); ``extra_logs`` holds ``prolong_accuracy`` (fraction of
    full marks) and ``prolong_no_answer`` (fraction with no final answer), scalars as
    OpenRLHF logs them.
    """
    import torch

    verdicts = score_queries(queries, prompts, labels, domain=kwargs.get("domain"))
    rewards = torch.tensor([v.reward for v in verdicts], dtype=torch.float32)
    return {
        "rewards": rewards,
        "scores": rewards.clone(),
        "extra_logs": {k: torch.tensor(v) for k, v in reward_logs(verdicts).items()},
    }
