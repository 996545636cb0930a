"""``prolong train`` and ``prolong plot``.

    prolong train                                     # the embedded default (tiny model, CPU, minutes)
    prolong train configs/tiny.yaml seed=1 out_dir=runs/seed1
    prolong train configs/tiny.yaml stage.1.max_new_tokens=16 --resume
    prolong train --help-config                       # every field, its default and its source
    prolong plot runs/default                         # runs/default/curves.png
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main", "plot_main"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(
        prog="prolong train",
        description="Train a model with GRPO/DAPO and hard resets. With no arguments: the embedded default "
        "(builds a tiny model, warm-starts it, runs RL on this CPU, prints held-out accuracy before and after).",
        epilog="Examples: prolong train | prolong train configs/tiny.yaml lr=1e-3 stage.0.max_new_tokens=16 | "
        "prolong train configs/tiny.yaml --resume",
    )
    p.add_argument("args", nargs="*", metavar="[CONFIG.yaml] [key=value ...]", help="a YAML config and/or overrides")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in out_dir (same as resume=true)")
    p.add_argument("--help-config", action="store_true", help="list every config field with its default and documentation")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as YAML and exit")
    a = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from prolong.trainer.config import ConfigError, TrainConfig, describe

    if a.help_config:
        print(describe())
        return 0
    try:
        cfg = TrainConfig.from_args(a.args)
        if a.resume:
            cfg.resume = True
        cfg.validate()
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.print_config:
        print(cfg.to_yaml(), end="")
        return 0

    from prolong.trainer.loop import train

    try:
        result = train(cfg)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not _is_rank_zero():
        return 0  # under torchrun only rank 0 prints the closing summary
    minutes, seconds = divmod(int(result.seconds), 60)
    print()
    print(f"run directory: {result.out_dir}  ({result.steps} steps, {len(result.resets)} hard reset(s), {minutes}m{seconds:02d}s)")
    if result.before and result.after:
        from prolong.trainer.loop import describe_validation

        print(f"held-out before RL: {describe_validation(result.before, cfg.val_k)}")
        print(f"held-out after RL:  {describe_validation(result.after, cfg.val_k)}")
        if len(cfg.envs) > 1:
            for env_id in cfg.envs:
                pre = {k.replace(f"val/{env_id}/", "val/"): v for k, v in result.before.items() if k.startswith(f"val/{env_id}/")}
                post = {k.replace(f"val/{env_id}/", "val/"): v for k, v in result.after.items() if k.startswith(f"val/{env_id}/")}
                if "val/pass@1" in pre and "val/pass@1" in post:
                    print(f"  {env_id}: pass@1 {pre['val/pass@1']:.3f} -> {post['val/pass@1']:.3f}  "
                          f"answer rate {pre.get('val/answer_rate', float('nan')):.3f} -> {post.get('val/answer_rate', float('nan')):.3f}")
        gain = result.after["val/pass@1"] - result.before["val/pass@1"]
        print(f"held-out pass@1 gain: {gain:+.3f}   summary: {result.out_dir / 'summary.json'}")
    print(f"curves: {result.out_dir / 'curves.png'}   metrics: {result.out_dir / 'metrics.jsonl'}")
    return 0


def _is_rank_zero() -> bool:
    """Whether this process is rank 0 (``torchrun`` sets ``RANK``; a lone process is rank 0)."""
    try:
        return int(os.environ.get("RANK", "0")) == 0
    except ValueError:
        return True


def plot_main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="prolong plot", description="Draw the training curves of a run directory as a PNG.")
    p.add_argument("run_dir", help="a run directory (with metrics.jsonl)")
    p.add_argument("--out", help="PNG path (default RUN_DIR/curves.png)")
    a = p.parse_args(argv)
    from prolong.trainer.metrics import plot_run

    try:
        path = plot_run(a.run_dir, a.out)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
