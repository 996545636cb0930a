"""``prolong export``: an env's problems as training data for other stacks.

    prolong export verl     --env prolong/math-v0 --n 1000 --out train.parquet [--split validation] [--seed 0]
    prolong export openrlhf --env prolong/math-v0 --n 1000 --out train.jsonl
    prolong export jsonl    --env prolong/math-v0 --n 1000 --out problems.jsonl
    prolong export verl --env prolong/math-v0 --n 100 --out t.parquet source=data.jsonl   # env arguments

* ``verl``: parquet in verl's RL data schema (see :func:`prolong.adapters.verl.verl_records`).
* ``openrlhf``: JSONL with ``input`` (the prompt text; use ``--apply_chat_template``) and
  ``label`` (JSON: domain, env, env_kwargs, answer, id, metadata) for ``--input_key input
  --label_key label``.

Every format's rows name their env and the env arguments that decide scoring, so the
reward the adapters compute from a row equals ``env.step``'s (``source=`` and other
file-naming arguments are not carried, and are refused if a row names them).
* ``jsonl``: one :class:`~prolong.core.Problem` per line (``prolong.data.load_problems`` reads it back).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.cli import parse_env_kwargs
from prolong.core import to_plain
from prolong.adapters.common import chat_prompt, iter_env_problems

__all__ = ["main", "openrlhf_records", "problem_records"]


def openrlhf_records(
    env_id: str,
    n: int,
    *,
    split: str = "train",
    seed: int = 0,
    system_prompt: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``{"input", "messages", "label"}`` rows for OpenRLHF (labels as read by
    :func:`prolong.adapters.openrlhf.parse_label`)."""
    from prolong.scoring import carried_env_kwargs, resolve_env_id

    env_id = resolve_env_id(env_id)
    carried = carried_env_kwargs(env_id, env_kwargs)
    rows = []
    for _index, p, _env in iter_env_problems(env_id, n, split=split, seed=seed, env_kwargs=env_kwargs):
        label = {
            "domain": p.domain,
            "env": env_id,
            "env_kwargs": carried,
            "answer": to_plain(p.answer),
            "id": p.id,
            "metadata": to_plain(p.metadata),
        }
        rows.append(
            {
                "input": f"{system_prompt}\n\n{p.prompt}" if system_prompt else p.prompt,
                "messages": chat_prompt(p.prompt, system_prompt),
                "label": json.dumps(label, ensure_ascii=False, default=str),
            }
        )
    return rows


def problem_records(
    env_id: str, n: int, *, split: str = "train", seed: int = 0, env_kwargs: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [to_plain(p.to_dict()) for _i, p, _e in iter_env_problems(env_id, n, split=split, seed=seed, env_kwargs=env_kwargs)]


def _write_jsonl(rows: Sequence[Mapping[str, Any]], path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prolong export", description="Export an env's problems as training data.")
    p.add_argument("format", choices=["verl", "openrlhf", "jsonl"], help="output format")
    p.add_argument("--env", required=True, help="env id (prolong/math-v0) or short name (math)")
    p.add_argument("--n", type=int, required=True, help="number of problems")
    p.add_argument("--out", required=True, help="output file (.parquet for verl, .jsonl otherwise)")
    p.add_argument("--split", default="train", help="train or validation (disjoint problem streams)")
    p.add_argument("--seed", type=int, default=0, help="seed of the env's problem stream")
    p.add_argument("--system-prompt", default=None, help="a system message put before each prompt")
    p.add_argument("--data-source", default=None, help="verl data_source column (default: the env id)")
    p.add_argument("kw", nargs="*", help="env constructor arguments as key=value (e.g. source=data.jsonl)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # intermixed: env arguments may follow the flags (``--out t.parquet source=my.jsonl``)
    args = build_parser().parse_intermixed_args(list(sys.argv[1:] if argv is None else argv))
    try:
        from prolong.adapters.common import resolve_env_id

        env_id = resolve_env_id(args.env)
        env_kwargs = parse_env_kwargs(args.kw)
        if args.n < 1:
            raise ValueError(f"--n must be >= 1, got {args.n}")
        if args.format == "verl":
            from prolong.adapters.verl import verl_records, write_verl_parquet

            rows = verl_records(
                env_id,
                args.n,
                split=args.split,
                seed=args.seed,
                data_source=args.data_source,
                system_prompt=args.system_prompt,
                env_kwargs=env_kwargs,
            )
            write_verl_parquet(rows, args.out)
        elif args.format == "openrlhf":
            rows = openrlhf_records(
                env_id, args.n, split=args.split, seed=args.seed, system_prompt=args.system_prompt, env_kwargs=env_kwargs
            )
            _write_jsonl(rows, args.out)
        else:
            rows = problem_records(env_id, args.n, split=args.split, seed=args.seed, env_kwargs=env_kwargs)
            _write_jsonl(rows, args.out)
    except (ValueError, KeyError, FileNotFoundError, TypeError) as e:
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        print(f"prolong export: error: {msg}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} {args.format} rows from {env_id} ({args.split}, seed {args.seed}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
