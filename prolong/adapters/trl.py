"""prolong rewards for TRL's ``GRPOTrainer`` (checked against trl 1.16).

TRL calls each reward function as::

    f(prompts=..., completions=..., completion_ids=..., **dataset_columns,
      trainer_state=..., log_metric=..., log_extra=..., [environments=...])

(``trl/trainer/grpo_trainer.py``, ``GRPOTrainer._calculate_rewards``) and takes a
``list[float | None]``: None means "this reward does not apply to this row", and TRL
then leaves the row out of that function's mean (several reward functions can split
a mixed dataset between them).

    from trl import GRPOConfig, GRPOTrainer
    from prolong.adapters.trl import make_dataset, reward_func

    train = make_dataset("prolong/math-v0", n=1000)           # prompt, answer, domain, ... columns
    trainer = GRPOTrainer(model="Qwen/Qwen2.5-0.5B-Instruct", reward_funcs=[reward_func()],
                          args=GRPOConfig(output_dir="out"), train_dataset=train)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prolong.core import to_plain
from prolong.adapters.common import (
    chat_prompt,
    completion_text,
    decode_answer,
    encode_answer,
    iter_env_problems,
    problem_from_record,
    resolve_domain,
    resolve_env_id,
    row_target,
    score_many,
)
from prolong.core import Problem, Verdict

__all__ = ["ProlongReward", "reward_func", "make_dataset", "dataset_records"]


class ProlongReward:
    """A GRPOTrainer reward function over prolong's verifiers (picklable).

    Each row's domain comes from the dataset's ``domain`` column (what
    :func:`make_dataset` writes; a data-source name such as ``"openai/gsm8k"`` or an
    env id works too), else from ``domain``. With both, ``domain`` is a filter: rows of
    other domains get None, so one ``ProlongReward`` per domain can share a mixed
    dataset. The ground truth comes from the ``answer`` column (JSON-decoded when the
    ``answer_is_json`` column says so) or from the ``problem`` column.

    Args:
        domain: the domain (``"math"``), env id or data-source name this function scores.
        domain_column, answer_column, answer_json_column, problem_column: dataset columns read.
        env_column, env_kwargs_column: the env id and env arguments (JSON) of each row, as
            :func:`make_dataset` writes them: the row is then scored by that env's own task
            and arguments, exactly as its ``env.step`` would (the arguments are validated:
            :func:`prolong.scoring.row_env_kwargs`).
        parallel: score a batch in prolong's worker processes (:func:`prolong.verify_batch`);
            False scores in this thread.
        log_metrics: report ``<name>/accuracy`` (fraction of full marks) through TRL's
            ``log_metric`` and a ``<name>_reason`` column through ``log_extra``.
        name: the name TRL logs it under (``rewards/<name>/mean``); default ``prolong_<domain>``.

    After each call ``last_verdicts`` holds the Verdicts (None for rows that did not apply).
    """

    def __init__(
        self,
        domain: str | None = None,
        *,
        domain_column: str = "domain",
        answer_column: str = "answer",
        answer_json_column: str = "answer_is_json",
        problem_column: str = "problem",
        env_column: str = "env",
        env_kwargs_column: str = "env_kwargs",
        parallel: bool = True,
        log_metrics: bool = True,
        name: str | None = None,
    ) -> None:
        self.domain = resolve_domain(domain) if domain is not None else None
        self.domain_column = domain_column
        self.answer_column = answer_column
        self.answer_json_column = answer_json_column
        self.problem_column = problem_column
        self.env_column = env_column
        self.env_kwargs_column = env_kwargs_column
        self.parallel = parallel
        self.log_metrics = log_metrics
        self.__name__ = name or f"prolong_{self.domain or 'reward'}"
        self.last_verdicts: list[Verdict | None] = []

    def __repr__(self) -> str:
        return f"ProlongReward(domain={self.domain!r}, name={self.__name__!r})"

    def _column(self, columns: Mapping[str, Any], key: str, n: int) -> list[Any] | None:
        col = columns.get(key)
        if col is None:
            return None
        col = list(col)
        if len(col) != n:
            raise ValueError(f"{self.__name__}: column {key!r} has {len(col)} values for {n} completions")
        return col

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        trainer_state: Any = None,
        log_metric: Callable[[str, float], None] | None = None,
        log_extra: Callable[[str, list[Any]], None] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        if completions is None:
            raise TypeError(f"{self.__name__} needs completions= (GRPOTrainer passes them)")
        n = len(completions)
        domains_col = self._column(columns, self.domain_column, n)
        answers_col = self._column(columns, self.answer_column, n)
        json_col = self._column(columns, self.answer_json_column, n)
        problems_col = self._column(columns, self.problem_column, n)
        env_col = self._column(columns, self.env_column, n)
        env_kwargs_col = self._column(columns, self.env_kwargs_column, n)
        if answers_col is None and problems_col is None:
            raise ValueError(
                f"{self.__name__}: the dataset has no {self.answer_column!r} or {self.problem_column!r} column "
                f"(columns passed: {', '.join(sorted(columns)) or 'none'}); build it with "
                f"prolong.adapters.trl.make_dataset or name the columns in reward_func(answer_column=...)"
            )
        if domains_col is None and self.domain is None:
            raise ValueError(
                f"{self.__name__}: no {self.domain_column!r} column and no domain given; use reward_func(domain='math')"
            )
        rows: list[int] = []
        row_domains: list[Any] = []
        responses: list[str] = []
        answers: list[Any] = []
        problems: list[Problem | None] = []
        for i in range(n):
            d = self.domain
            if domains_col is not None and domains_col[i] is not None:
                try:
                    d = resolve_domain(domains_col[i])
                except ValueError:
                    if self.domain is not None:  # a row for another reward function
                        continue
                    raise
            if d is None:
                raise ValueError(f"{self.__name__}: row {i} has no domain; use reward_func(domain='math')")
            if self.domain is not None and d != self.domain:
                continue
            is_json = None
            if json_col is not None and json_col[i] is not None:
                is_json = bool(json_col[i])
            answer = decode_answer(answers_col[i], domain=d, is_json=is_json) if answers_col is not None else None
            problem = problem_from_record(problems_col[i], domain=d, answer=answer) if problems_col is not None else None
            if answer is None and problem is not None:
                answer = problem.answer
            rows.append(i)
            env = env_col[i] if env_col is not None else None
            row_domains.append(row_target(env, env_kwargs_col[i] if env_kwargs_col is not None else None, d))
            responses.append(completion_text(completions[i]))
            answers.append(answer)
            problems.append(problem)
        verdicts = score_many(row_domains, responses, answers, problems, parallel=self.parallel)
        out: list[float | None] = [None] * n
        self.last_verdicts = [None] * n
        for i, v in zip(rows, verdicts):
            out[i] = v.reward
            self.last_verdicts[i] = v
        if self.log_metrics and verdicts:
            if log_metric is not None:
                log_metric(f"{self.__name__}/accuracy", sum(v.correct for v in verdicts) / len(verdicts))
            if log_extra is not None:
                log_extra(f"{self.__name__}_reason", [v.reason if v is not None else None for v in self.last_verdicts])
        return out


def reward_func(domain: str | None = None, **kwargs: Any) -> ProlongReward:
    """A reward function for ``GRPOTrainer(reward_funcs=[...])``; see :class:`ProlongReward`.

    ``reward_func()`` scores every row by its ``domain`` column; ``reward_func("math")``
    scores math rows and returns None for the others.
    """
    return ProlongReward(domain, **kwargs)


def dataset_records(
    env_id: str,
    n: int,
    *,
    split: str = "train",
    seed: int = 0,
    conversational: bool = True,
    system_prompt: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The rows of :func:`make_dataset` as plain dicts."""
    from prolong.scoring import carried_env_kwargs

    env_id = resolve_env_id(env_id)
    carried = json.dumps(carried_env_kwargs(env_id, env_kwargs), sort_keys=True)
    rows = []
    for index, p, _env in iter_env_problems(env_id, n, split=split, seed=seed, env_kwargs=env_kwargs):
        answer, is_json = encode_answer(p.answer)
        prompt: Any = chat_prompt(p.prompt, system_prompt) if conversational else (
            f"{system_prompt}\n\n{p.prompt}" if system_prompt else p.prompt
        )
        rows.append(
            {
                "prompt": prompt,
                "answer": answer,
                "answer_is_json": is_json,
                "domain": p.domain,
                "env": env_id,
                "env_kwargs": carried,
                "index": index,
                "problem_id": p.id,
                "problem": json.dumps(
                    {"id": p.id, "prompt": p.prompt, "domain": p.domain, "metadata": to_plain(p.metadata)},
                    ensure_ascii=False,
                    default=str,
                ),
            }
        )
    return rows


def make_dataset(
    env_id: str,
    n: int,
    split: str = "train",
    seed: int = 0,
    conversational: bool = True,
    *,
    system_prompt: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """A ``datasets.Dataset`` of an env's first ``n`` problems for ``GRPOTrainer``.

    Columns: ``prompt`` (chat messages ``[{"role": "user", "content": ...}]`` when
    ``conversational``, else the text), ``answer`` (text; JSON for structured answers),
    ``answer_is_json``, ``domain``, ``env``, ``env_kwargs`` (JSON: the env arguments that
    decide scoring, so the reward equals ``env.step``'s), ``index``, ``problem_id``, ``problem``
    (JSON: id, prompt, domain, metadata). TRL passes every column but ``prompt`` to the
    reward functions, which is how :func:`reward_func` finds each row's ground truth.
    ``split`` and ``seed`` select the env's problem stream (``"validation"`` is disjoint
    from ``"train"``); ``env_kwargs`` go to the env's constructor (``source=``, ...).
    """
    import datasets

    rows = dataset_records(
        env_id, n, split=split, seed=seed, conversational=conversational, system_prompt=system_prompt, env_kwargs=env_kwargs
    )
    if not rows:
        raise ValueError(f"make_dataset: no problems drawn from {env_id!r} (n={n})")
    return datasets.Dataset.from_list(rows)
