"""prolong rewards for OpenRLHF's custom reward function file.

OpenRLHF loads ``--remote_rm_url FILE.py`` (``--reward.remote_url`` in 0.10) with
``importlib.util.spec_from_file_location("reward_func", FILE)`` and calls
``reward_func(queries, prompts, labels)`` from a thread, where ``queries`` are the
decoded prompt + response *with* special tokens, ``prompts`` the prompts and
``labels`` the dataset's ``--label_key`` column (checked against OpenRLHF/OpenRLHF
``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor``)::

    --remote_rm_url $(python -c "import prolong.adapters.openrlhf as m; print(m.__file__)") \\
    --label_key label --input_key input --apply_chat_template

The labels ``prolong export openrlhf`` writes are JSON objects
``{"domain": ..., "answer": ..., "id": ..., "metadata": {...}}`` (structured answers stay
structured inside the JSON). A label that is not such an object is the answer itself,
scored in the domain named by the environment variable ``PROLONG_DOMAIN`` (default
``math``).

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

__all__ = ["reward_func", "response_of", "parse_label", "score_queries", "DEFAULT_DOMAIN_ENV"]

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


def score_queries(
    queries: Sequence[str], prompts: Sequence[str | None], labels: Sequence[Any], *, domain: str | None = None
) -> list[Verdict]:
    """Verdicts for OpenRLHF's (queries, prompts, labels)."""
    if not (len(queries) == len(prompts) == len(labels)):
        raise ValueError(f"reward_func: {len(queries)} queries, {len(prompts)} prompts, {len(labels)} labels")
    domains, responses, answers, problems = [], [], [], []
    for q, p, lab in zip(queries, prompts, labels):
        d, a, prob = parse_label(lab, domain)
        domains.append(d)
        responses.append(response_of(str(q), p if isinstance(p, str) else None))
        answers.append(a)
        problems.append(prob)
    return score_many(domains, responses, answers, problems)


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
    n = max(len(verdicts), 1)
    return {
        "rewards": rewards,
        "scores": rewards.clone(),
        "extra_logs": {
            "prolong_accuracy": torch.tensor(sum(v.correct for v in verdicts) / n),
            "prolong_no_answer": torch.tensor(sum(v.reason == Reason.NO_ANSWER for v in verdicts) / n),
        },
    }
