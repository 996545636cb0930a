"""``prolong eval``: pass@1 and unbiased pass@k of a model on prolong envs.

    prolong eval --model runs/default/final --env prolong/toy-add-v0 --n 8 --out results.json
    prolong eval --model ./my-model --env math --env stem --n 16 --k 1 4 16 --num-problems 200

For each env, the first ``--num-problems`` problems of its ``--split`` (the held-out
``validation`` split by default) are answered ``--n`` times each with the trainer's
rollout engine (transformers ``generate``, or vLLM with ``--engine vllm``), scored
with :func:`prolong.verify_batch`, and summarised per env and per domain (a mix env
holds several domains) as a table and as JSON:

* ``pass@1``: the mean over all samples of "full marks" (with ``--n 1`` and the
  default temperature 0 this is greedy accuracy);
* ``pass@k`` for each ``k`` of ``--k`` (default: ``n``): the unbiased estimator of the
  Codex paper (arXiv 2107.03374) per problem, ``1 - C(n - c, k) / C(n, k)`` with ``c``
  correct samples out of ``n``, averaged over problems;
* ``mean_reward`` (partial credit counts: code tests passed, IFEval constraints kept),
  ``truncated`` (fraction of samples cut at ``--max-new-tokens``) and
  ``mean_response_tokens``.

The same functions serve Python callers::

    from prolong.evaluate import evaluate_engine, evaluate_model
    result = evaluate_model("runs/default/final", ["prolong/toy-add-v0"], n=4)
    result.envs["prolong/toy-add-v0"]["pass@4"]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prolong.trainer.algorithms import pass_at_k  # the one estimator: 1 - C(n-c, k) / C(n, k), stably
from prolong.scoring import score_rows  # the one reward path: each problem's own task and arguments

__all__ = [
    "pass_at_k",
    "mean_pass_at_k",
    "EvalResult",
    "resolve_env_id",
    "load_tasks",
    "evaluate_engine",
    "evaluate_model",
    "render_table",
    "main",
]


# --------------------------------------------------------------------------- estimators


def mean_pass_at_k(correct_counts: Sequence[int], n: int, k: int) -> float:
    """pass@k of a set of problems: the mean of :func:`pass_at_k` (the Codex paper's
    unbiased estimator, ``1 - C(n - c, k) / C(n, k)``, computed as a stable product) over problems, each
    answered ``n`` times with ``correct_counts[i]`` correct (0.0 for no problems)."""
    if not correct_counts:
        return 0.0
    return sum(pass_at_k(n, int(c), k) for c in correct_counts) / len(correct_counts)


# --------------------------------------------------------------------------- results


@dataclass
class EvalResult:
    """What an evaluation measured.

    Attributes:
        settings: the evaluation's settings (model, engine, n, ks, temperature, ...).
        envs: env id -> metrics (``problems``, ``samples``, ``pass@1``, ``pass@<k>``...,
            ``mean_reward``, ``truncated``, ``mean_response_tokens``, and ``reasons``: the
            share of samples per verdict reason, e.g. ``{"correct": 0.4, "no final answer": 0.6}``).
        domains: domain -> the same metrics over the problems of that domain.
        seconds: wall time of generation and scoring.
        samples: one record per sample (env, domain, problem id, sample index,
            response, reward, correct, reason, finish reason) when kept.
    """

    settings: dict[str, Any]
    envs: dict[str, dict[str, float]]
    domains: dict[str, dict[str, float]]
    seconds: float
    samples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "envs": self.envs, "domains": self.domains, "seconds": self.seconds}


def _summarise(rows: list[dict[str, Any]], n: int, ks: list[int]) -> dict[str, float]:
    """Metrics of the problems in ``rows`` (one row per problem with its ``n`` samples)."""
    counts = [sum(r["correct"]) for r in rows]
    samples = len(rows) * n
    out: dict[str, float] = {"problems": len(rows), "samples": samples}
    out["pass@1"] = mean_pass_at_k(counts, n, 1)
    for k in ks:
        if k != 1:
            out[f"pass@{k}"] = mean_pass_at_k(counts, n, k)
    out["mean_reward"] = sum(sum(r["rewards"]) for r in rows) / max(samples, 1)
    out["truncated"] = sum(sum(r["truncated"]) for r in rows) / max(samples, 1)
    out["mean_response_tokens"] = sum(sum(r["lengths"]) for r in rows) / max(samples, 1)
    reasons: dict[str, int] = {}
    for r in rows:
        for reason in r["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    out["reasons"] = {k: v / max(samples, 1) for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])}  # type: ignore[assignment]
    return out


# --------------------------------------------------------------------------- envs


def resolve_env_id(name: str) -> str:
    """An env id from a name a user types: ``prolong/math-v0``, ``math``, ``reasoning_gym``
    (:func:`prolong.scoring.resolve_env_id`, the one rule)."""
    from prolong.scoring import resolve_env_id as resolve

    return resolve(name)


def load_tasks(env_ids: Sequence[str], *, split: str = "validation", env_kwargs: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """env id -> its :class:`prolong.Task` for ``split`` (:func:`prolong.make_task` with
    ``split=`` and the env's arguments).

    A task registered with :func:`prolong.register_task` has a single problem stream
    and no ``split`` argument: its one stream is used (with a warning on stderr).
    """
    from prolong.core import ProlongError
    from prolong.scoring import make_task

    env_kwargs = env_kwargs or {}
    tasks: dict[str, Any] = {}
    for name in env_ids:
        env_id = resolve_env_id(name)
        kwargs = dict(env_kwargs.get(name, env_kwargs.get(env_id, {})))
        try:
            task = make_task(env_id, split=split, **kwargs)
        except ProlongError as e:
            if "split" not in str(e):
                raise
            task = make_task(env_id, **kwargs)
            print(f"warning: {env_id} has no {split!r} split; its one problem stream is used", file=sys.stderr)
        tasks[env_id] = task
    return tasks


# --------------------------------------------------------------------------- evaluation


def evaluate_engine(
    engine: Any,
    env_ids: Sequence[str],
    *,
    n: int = 1,
    ks: Sequence[int] | None = None,
    num_problems: int = 100,
    split: str = "validation",
    temperature: float | None = None,
    top_p: float = 1.0,
    max_new_tokens: int = 512,
    seed: int = 0,
    env_kwargs: dict[str, dict[str, Any]] | None = None,
    prompts_per_call: int = 32,
    keep_samples: bool = False,
    progress: bool = True,
    settings: dict[str, Any] | None = None,
) -> EvalResult:
    """Evaluate the policy behind a :class:`~prolong.trainer.engines.RolloutEngine`.

    Args:
        engine: any rollout engine (``generate(prompts, n=, max_new_tokens=, temperature=, top_p=, seed=)``).
        env_ids: env ids (or short names such as ``math``).
        n: samples per problem.
        ks: the k of each pass@k to report (each ``<= n``); default ``[n]``.
        num_problems: problems per env (the first of ``split``; fewer if the env has fewer).
        temperature: sampling temperature; default 0 (greedy) for ``n == 1``, else 1.0.
        prompts_per_call: problems handed to the engine at once (the progress bar's step).
        keep_samples: keep every response in :attr:`EvalResult.samples`.
    """
    from prolong.core import derive_seed

    if n < 1:
        raise ValueError(f"n (samples per problem) must be >= 1, got {n}")
    if num_problems < 1:
        raise ValueError(f"num_problems must be >= 1, got {num_problems}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    ks = sorted(set(ks or [n]))
    bad = [k for k in ks if not 1 <= k <= n]
    if bad:
        raise ValueError(f"pass@k needs 1 <= k <= n (samples per problem = {n}); got k = {bad}: raise --n or lower --k")
    if temperature is None:
        temperature = 0.0 if n == 1 else 1.0
    if temperature == 0 and n > 1:
        print(f"warning: temperature 0 (greedy) makes the {n} samples of a problem identical; pass@k = pass@1", file=sys.stderr)
    tasks = load_tasks(env_ids, split=split, env_kwargs=env_kwargs)
    problem_sets = {e: [t.problems[i] for i in range(min(num_problems, len(t.problems)))] for e, t in tasks.items()}
    total = sum(len(ps) for ps in problem_sets.values())

    t0 = time.time()
    rows_by_env: dict[str, list[dict[str, Any]]] = {e: [] for e in problem_sets}
    samples: list[dict[str, Any]] = []
    with _progress(progress, total) as advance:
        for env_id, problems in problem_sets.items():
            for start in range(0, len(problems), max(1, prompts_per_call)):
                chunk = problems[start : start + max(1, prompts_per_call)]
                groups = engine.generate(
                    [p.prompt for p in chunk], n=n, max_new_tokens=max_new_tokens, temperature=float(temperature),
                    top_p=top_p, seed=derive_seed("prolong-eval", seed, env_id, start) & 0x7FFF_FFFF,
                )
                flat_p = [p for p in chunk for _ in range(n)]
                flat_c = [c for g in groups for c in g]
                if len(flat_c) != len(flat_p):
                    raise RuntimeError(f"the rollout engine returned {len(flat_c)} completions for {len(chunk)} prompts x n={n}")
                verdicts = score_rows([tasks[env_id]] * len(flat_p), [c.text for c in flat_c], [p.answer for p in flat_p], flat_p)
                for gi, p in enumerate(chunk):
                    vs = verdicts[gi * n : (gi + 1) * n]
                    cs = flat_c[gi * n : (gi + 1) * n]
                    rows_by_env[env_id].append({
                        "domain": p.domain,
                        "correct": [bool(v.correct) for v in vs],
                        "rewards": [float(v.reward) for v in vs],
                        "truncated": [bool(c.truncated) for c in cs],
                        "lengths": [len(c.token_ids) for c in cs],
                        "reasons": [str(v.reason) for v in vs],
                    })
                    if keep_samples:
                        for j, (v, c) in enumerate(zip(vs, cs)):
                            samples.append({
                                "env": env_id, "domain": p.domain, "problem_id": p.id, "sample": j,
                                "response": c.text, "reward": float(v.reward), "correct": bool(v.correct),
                                "reason": str(v.reason) if v.reason is not None else None,
                                "extracted": v.extracted if isinstance(v.extracted, (str, int, float, type(None))) else str(v.extracted),
                                "finish_reason": c.finish_reason,
                            })
                advance(len(chunk))
    seconds = time.time() - t0

    envs = {e: _summarise(rows, n, ks) for e, rows in rows_by_env.items()}
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for rows in rows_by_env.values():
        for r in rows:
            by_domain.setdefault(r["domain"], []).append(r)
    domains = {d: _summarise(rows, n, ks) for d, rows in sorted(by_domain.items())}
    info = {
        **(settings or {}),
        "envs": list(problem_sets), "split": split, "n": n, "ks": ks, "num_problems": num_problems,
        "temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens, "seed": seed,
        "env_kwargs": env_kwargs or {},
    }
    return EvalResult(info, envs, domains, seconds, samples)


class _progress:
    """A rich progress bar over problems (a no-op when off)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total
        self._bar: Any = None

    def __enter__(self) -> Any:
        if not self.enabled:
            return lambda k: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TextColumn("problems"),
            TimeElapsedColumn(), TimeRemainingColumn(), transient=False,
        )
        self._bar.start()
        task = self._bar.add_task("eval", total=self.total)
        return lambda k: self._bar.advance(task, k)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


def _pick_device(device: str) -> Any:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_model_path(path: str) -> None:
    """A one-line error for a ``--model`` that cannot be a model: a file, or a local path
    (``./x``, ``/x``, ``~/x``, ``runs/a/b``) that does not exist. A bare ``org/name`` that is
    not a directory here is a Hugging Face id."""
    path = str(path)
    if os.path.isdir(path):
        return
    if os.path.exists(path):
        raise ValueError(f"--model {path!r} is a file; give the directory written by save_pretrained")
    looks_local = path.startswith((".", "/", "~")) or path.count("/") != 1 or path.endswith("/") or os.sep != "/" and os.sep in path
    if looks_local:
        raise ValueError(f"--model {path!r}: no such directory")


def load_model(path: str, *, dtype: str = "float32", device: str = "auto") -> tuple[Any, Any]:
    """A causal LM and its tokenizer with transformers (a local directory is read offline)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_model_path(path)
    local = os.path.isdir(path)
    if dtype not in ("float32", "bfloat16", "float16"):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype!r}")
    if local and not os.path.isfile(os.path.join(path, "config.json")):
        raise ValueError(f"--model {path!r} has no config.json: give a directory written by save_pretrained")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), local_files_only=local)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot load a model and tokenizer from {path!r}: {e}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(_pick_device(device)).eval()
    return model, tokenizer


def evaluate_model(
    model_path: str,
    env_ids: Sequence[str],
    *,
    engine: str = "hf",
    device: str = "auto",
    dtype: str = "float32",
    batch_size: int = 64,
    system_prompt: str | None = None,
    gpu_memory_utilization: float = 0.9,
    **kwargs: Any,
) -> EvalResult:
    """Load ``model_path`` and run :func:`evaluate_engine` on ``env_ids`` (``kwargs``: its options).

    ``engine="hf"`` loads the model with transformers; ``engine="vllm"`` hands the path
    to vLLM (GPU) and loads only the tokenizer here.
    """
    from prolong.trainer.engines import build_engine

    settings = {"model": str(model_path), "engine": engine, "dtype": dtype}
    check_model_path(str(model_path))  # before loading anything: a typo fails at once
    for name in env_ids:
        resolve_env_id(name)
    if engine == "hf":
        model, tokenizer = load_model(model_path, dtype=dtype, device=device)
        eng = build_engine("hf", model, tokenizer, batch_size=batch_size, system_prompt=system_prompt)
    elif engine == "vllm":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=os.path.isdir(model_path))
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        eng = build_engine("vllm", None, tokenizer, model_path=str(model_path), system_prompt=system_prompt,
                           gpu_memory_utilization=gpu_memory_utilization, dtype=dtype)
    else:
        raise ValueError(f"unknown engine {engine!r}; choose 'hf' or 'vllm'")
    kwargs.setdefault("prompts_per_call", max(1, batch_size // max(1, int(kwargs.get("n", 1)))))
    return evaluate_engine(eng, env_ids, settings=settings, **kwargs)


# --------------------------------------------------------------------------- output


def render_table(result: EvalResult) -> Any:
    """A rich Table: one row per env, then one per domain."""
    from rich.table import Table

    ks = [k for k in result.settings.get("ks", []) if k != 1]
    s = result.settings
    title = (f"{s.get('model', 'model')}: n={s['n']} samples/problem, temperature {s['temperature']}, "
             f"max {s['max_new_tokens']} new tokens, split {s['split']}")
    table = Table(title=title)
    for col in ("", "name", "problems", "pass@1", *[f"pass@{k}" for k in ks], "mean reward", "truncated", "tokens"):
        table.add_column(col, justify="left" if col in ("", "name") else "right")

    def row(kind: str, name: str, m: dict[str, float]) -> list[str]:
        return [kind, name, str(int(m["problems"])), f"{m['pass@1']:.3f}", *[f"{m[f'pass@{k}']:.3f}" for k in ks],
                f"{m['mean_reward']:.3f}", f"{m['truncated']:.1%}", f"{m['mean_response_tokens']:.1f}"]

    for e, m in result.envs.items():
        table.add_row(*row("env", e, m))
    if result.domains:
        table.add_section()
    for d, m in result.domains.items():
        table.add_row(*row("domain", d, m))
    return table


def _parse_env_kwargs(text: str | None) -> dict[str, dict[str, Any]]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"--env-kwargs must be JSON like '{{\"prolong/math-v0\": {{\"level\": 1}}}}': {e}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"--env-kwargs must map env ids to objects of constructor arguments, got {text!r}")
    return data


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="prolong eval",
        description="pass@1 and unbiased pass@k of a causal LM on prolong envs (held-out split by default).",
        epilog="Example: prolong eval --model runs/default/final --env prolong/toy-add-v0 "
        "--env-kwargs '{\"prolong/toy-add-v0\": {\"max_operand\": 20}}' --n 8 --out results.json",
    )
    p.add_argument("--model", required=True, help="a save_pretrained directory (read offline) or a Hugging Face id")
    p.add_argument("--env", action="append", required=True, metavar="ID", help="env id or short name (repeatable)")
    p.add_argument("--n", type=int, default=1, help="samples per problem (default 1)")
    p.add_argument("--k", type=int, nargs="+", help="the k of pass@k, each <= n (default: n)")
    p.add_argument("--num-problems", type=int, default=100, help="problems per env (default 100)")
    p.add_argument("--split", default="validation", help="problem split (default validation: held out from training)")
    p.add_argument("--temperature", type=float, help="sampling temperature (default 0 = greedy for n=1, else 1.0)")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-new-tokens", type=int, default=512, help="response token budget (default 512)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env-kwargs", help="JSON: env id -> constructor arguments, e.g. '{\"prolong/math-v0\": {\"level\": 1}}'")
    p.add_argument("--system-prompt", help="system message before each problem")
    p.add_argument("--engine", choices=("hf", "vllm"), default="hf", help="rollout engine (vllm: CUDA only)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ... (hf engine)")
    p.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    p.add_argument("--batch-size", type=int, default=64, help="sequences generated at once (hf engine)")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="vLLM's share of GPU memory")
    p.add_argument("--out", help="write the results as JSON to this file")
    p.add_argument("--samples", help="write every response with its verdict to this JSONL file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """``prolong eval ...``; returns the exit status (2 for a bad argument)."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        if args.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
        result = evaluate_model(
            args.model, args.env, engine=args.engine, device=args.device, dtype=args.dtype, batch_size=args.batch_size,
            system_prompt=args.system_prompt, gpu_memory_utilization=args.gpu_memory_utilization,
            n=args.n, ks=args.k, num_problems=args.num_problems, split=args.split, temperature=args.temperature,
            top_p=args.top_p, max_new_tokens=args.max_new_tokens, seed=args.seed,
            env_kwargs=_parse_env_kwargs(args.env_kwargs), keep_samples=bool(args.samples), progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from rich.console import Console

    Console().print(render_table(result))
    print(f"{sum(int(m['samples']) for m in result.envs.values())} samples in {result.seconds:.1f}s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        print(f"results: {args.out}")
    if args.samples:
        Path(args.samples).parent.mkdir(parents=True, exist_ok=True)
        with open(args.samples, "w", encoding="utf-8") as f:
            for rec in result.samples:
                f.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
        print(f"samples: {args.samples}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
