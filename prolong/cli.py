"""``prolong`` command line.

Core commands live here (envs, sample, verify, demo); the others are delegated to the
module that owns them, imported only when used, so ``prolong envs`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

# command -> ("module:function", help); function(argv: list[str]) -> int
DELEGATED: dict[str, tuple[str, str]] = {
    "train": ("prolong.trainer.cli:main", "train a model with GRPO/DAPO and hard resets (no args: the embedded default)"),
    "plot": ("prolong.trainer.cli:plot_main", "draw the training curves of a run directory as a PNG"),
    "eval": ("prolong.evaluate:main", "pass@1 and pass@k of a model on envs"),
    "serve": ("prolong.adapters.server:main", "HTTP reward server"),
    "export": ("prolong.adapters.export:main", "export an env's problems as training data (verl parquet, ...)"),
}


def _make_env(env_id: str, kwargs: list[str]) -> Any:
    """The env of a name a user typed (:func:`prolong.make_task`'s one rule), unwrapped."""
    from prolong.env import TaskEnv
    from prolong.scoring import make_task

    return TaskEnv(make_task(env_id, **parse_env_kwargs(kwargs)))


def parse_env_kwargs(items: Sequence[str] | None) -> dict[str, Any]:
    """Env constructor arguments from ``key=value`` words (values read as JSON when they parse)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"expected an env argument as key=value, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def cmd_envs(args: argparse.Namespace) -> int:
    import prolong
    from prolong.env import env_info

    rows = [(i, env_info(i).domain, env_info(i).description) for i in prolong.list_envs()]
    w = max(len(r[0]) for r in rows)
    wd = max(len(r[1]) for r in rows)
    for env_id, domain, desc in rows:
        print(f"{env_id:<{w}}  {domain:<{wd}}  {desc}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    env = _make_env(args.env, args.kw)
    for k in range(args.n):
        obs, info = env.reset(seed=args.seed + k)
        p = info["problem"]
        if args.json:
            print(json.dumps(p.to_dict(), default=str, ensure_ascii=False))
        else:
            print(f"=== {p.id}  [{p.domain}]  {dict(p.metadata) if p.metadata else ''}")
            print(obs)
            ans = p.answer if isinstance(p.answer, str) else json.dumps(p.answer, default=str)[:500]
            print(f"--- answer: {ans}\n")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Score a JSONL file of {"response", "answer"} (or {"response", "problem": {...}}) records."""
    import prolong
    from prolong.core import coerce_problem, list_verifiers
    from prolong.data import iter_records
    from prolong.scoring import make_task

    _check_input_file(args.file)
    # a domain name scores with its default verifier; an env id or short name (with
    # key=value arguments) with that env's own task, exactly as its env.step does
    kw = parse_env_kwargs(args.kw)
    target: Any = args.env if args.env in list_verifiers() and not kw else make_task(args.env, **kw)
    domain = target if isinstance(target, str) else target.domain
    responses, answers, problems = [], [], []
    for location, rec in iter_records(args.file):
        if "response" not in rec:
            raise SystemExit(f"error: {location}: no 'response' field")
        if not isinstance(rec["response"], str):
            raise SystemExit(f"error: {location}: 'response' must be a string, got {type(rec['response']).__name__}")
        problem = None
        if "problem" in rec and isinstance(rec["problem"], dict):
            try:
                problem = coerce_problem(rec["problem"], domain=domain, default_id=location)
            except (ValueError, TypeError) as e:
                raise SystemExit(f"error: {location}: {e}") from None
            answer = problem.answer
        elif "answer" in rec:
            answer = rec["answer"]
        else:
            raise SystemExit(f"error: {location}: no 'answer' (or 'problem') field")
        responses.append(rec["response"])
        answers.append(answer)
        problems.append(problem)
    verdicts = prolong.verify_batch(target, responses, answers, problems, progress=not args.quiet)
    reasons = Counter(v.reason for v in verdicts)
    n = len(verdicts)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for v in verdicts:
                f.write(json.dumps(v.to_dict(), default=str, ensure_ascii=False) + "\n")
    mean = sum(v.reward for v in verdicts) / max(n, 1)
    acc = sum(v.correct for v in verdicts) / max(n, 1)
    print(f"{n} responses  mean reward {mean:.4f}  accuracy {acc:.4f}")
    for reason, c in reasons.most_common():
        print(f"  {reason:<24} {c:>7}  ({c / n:.1%})")
    return 0


def _check_input_file(path: str) -> None:
    """Fail at once, naming it, on an input that cannot be a JSONL file of records."""
    if path == "-":
        return
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory; give a JSONL file of records")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if path.endswith((".parquet", ".pq")):
        return
    with open(path, "rb") as f:
        head = f.read(8192)
    if path.endswith(".gz") or head[:2] == b"\x1f\x8b":
        return
    if b"\x00" in head:
        raise ValueError(f"{path}: is a binary file, not JSONL text")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise ValueError(f"{path}: is not UTF-8 text (byte {e.start}); give a JSONL file of records") from None


def cmd_demo(args: argparse.Namespace) -> int:
    """For each env: sample problems, score the reference, a wrong and an empty answer."""
    import gymnasium as gym
    from rich.console import Console
    from rich.table import Table

    import prolong

    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title="prolong environments: mean reward of reference, wrong and empty answers")
    for col in ("env", "n", "reference", "wrong", "no answer"):
        table.add_column(col, no_wrap=True)
    table.add_column("example prompt", overflow="ellipsis", no_wrap=True, max_width=60)
    for env_id in prolong.list_envs():
        try:
            env = gym.make(env_id).unwrapped
        except Exception as e:  # a domain whose optional dependency is missing
            table.add_row(env_id, "-", "-", "-", "-", f"[red]unavailable: {type(e).__name__}: {e}"[:80])
            continue
        task = env.task
        ref, wrong, empty = [], [], []
        prompt = ""
        for k in range(args.n):
            obs, info = env.reset(seed=k)
            p = info["problem"]
            prompt = prompt or obs
            if task.reference is None:
                continue
            ref.append(task.score(task.reference(p), p).reward)
            _, other = env.reset(seed=10_000 + k)
            other_p = other["problem"]
            if repr(other_p.answer) != repr(p.answer):
                wrong.append(task.score(task.reference(other_p), p).reward)
            empty.append(task.score("I am not sure.", p).reward)

        def fmt(xs: list[float]) -> str:
            return f"{sum(xs) / len(xs):.2f}" if xs else "-"

        short = " ".join(prompt.split())[:70]
        table.add_row(env_id, str(args.n), fmt(ref), fmt(wrong), fmt(empty), short)
    console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prolong", description="Verifiable-reward envs, a GRPO/DAPO trainer with hard resets, and reward adapters.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("envs", help="list the registered envs").set_defaults(fn=cmd_envs)
    s = sub.add_parser("sample", help="show problems of an env")
    s.add_argument("env", help="env id, e.g. prolong/math-v0 (or just 'math')")
    s.add_argument("-n", type=int, default=3, help="how many problems (default 3)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true", help="one JSON problem per line")
    s.add_argument("kw", nargs="*", help="env constructor arguments as key=value")
    s.set_defaults(fn=cmd_sample)
    v = sub.add_parser("verify", help="score a JSONL file of responses")
    v.add_argument("env", help="env id or domain, e.g. prolong/math-v0 or math")
    v.add_argument("file", help='JSONL with {"response": ..., "answer": ...} per line')
    v.add_argument("--out", help="write one verdict per line to this JSONL file")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    v.add_argument("kw", nargs="*", help="env constructor arguments as key=value (with an env id or short name)")
    v.set_defaults(fn=cmd_verify)
    d = sub.add_parser("demo", help="score reference and wrong answers on every env")
    d.add_argument("-n", type=int, default=20)
    d.set_defaults(fn=cmd_demo)
    for name, (_, help_) in DELEGATED.items():
        sub.add_parser(name, help=help_, add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        module, _, fn = DELEGATED[argv[0]][0].partition(":")
        return int(getattr(importlib.import_module(module), fn)(argv[1:]) or 0)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # key=value env arguments given after options (argparse stops at them)
        if hasattr(args, "kw") and all("=" in e and not e.startswith("-") for e in extra):
            args.kw = list(args.kw or []) + extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "fn", None):
        parser.print_help()
        return 1
    try:
        return int(args.fn(args) or 0)
    except (ValueError, FileNotFoundError, KeyError, IsADirectoryError, PermissionError) as e:
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        print(f"error: {msg.strip().splitlines()[0] if msg.strip() else type(e).__name__}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
