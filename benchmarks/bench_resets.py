"""Learning curves with and without hard resets: the embedded default of ``prolong train``.

Two runs of the same config (``TrainConfig()``'s defaults: the tiny model, its two
stages, the same seed), one as configured (each stage after the first begins with a
hard reset: reference := policy, fresh optimizer state) and one whose hard resets do
nothing (``prolong.trainer.loop.hard_reset`` replaced by a no-op in that process: the
reference stays the initial model, Adam keeps its moments, the LR warmup does not
restart; the stage's other settings still change). Each run is its own subprocess, one after the other; the tiny model is
built (and cached) before either starts.

Draws training reward and held-out pass@1 against wall time (and against steps) into
``benchmarks/results/resets.png`` and prints a summary.

    python -m benchmarks.bench_resets                  # ~2 x the embedded default's time
    python -m benchmarks.bench_resets key=value ...    # overrides for both runs (e.g. seed=1)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ARMS = ("with resets", "without resets")


def worker(arm: str, overrides: list[str], out_json: str, out_dir: str) -> None:
    import prolong.trainer.loop as loop
    from prolong.trainer.config import TrainConfig

    if arm == "without resets":
        loop.hard_reset = lambda policy, reference, optimizer: None  # the A/B switch: nothing is reset
        overrides = [*overrides, "reset_restarts_warmup=false"]  # nor the learning-rate warmup
    records: list[dict] = []
    t0: list[float] = []
    collect = loop.collect_rollouts

    def timed_collect(*args, **kwargs):
        if not t0:  # the clocks start with RL (after the held-out check before it)
            t0.extend([time.perf_counter(), time.process_time()])
        return collect(*args, **kwargs)

    def clocks() -> dict:
        if not t0:
            return {"wall": 0.0, "cpu": 0.0}
        return {"wall": time.perf_counter() - t0[0], "cpu": time.process_time() - t0[1]}

    loop.collect_rollouts = timed_collect

    class TimedLogger(loop.MetricsLogger):
        def log(self, step, metrics):
            super().log(step, metrics)
            records.append({**clocks(), "step": step, **metrics})

        def event(self, step, kind, **fields):
            super().event(step, kind, **fields)
            records.append({**clocks(), "step": step, "event": kind, **fields})

    loop.MetricsLogger = TimedLogger
    cfg = TrainConfig.from_args([f"out_dir={out_dir}", "progress=false", "tensorboard=false", *overrides])
    result = loop.train(cfg, log=lambda *a, **k: None)
    Path(out_json).write_text(json.dumps({
        "records": records, "seconds": result.seconds, "val_before": result.val_before, "val_after": result.val_after,
        "resets": result.resets, "steps": result.steps, "config": cfg.to_dict(),
    }, default=str))


def _moving_average(xs: list[float], k: int) -> list[float]:
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x
        if i >= k:
            acc -= xs[i - k]
        out.append(acc / min(i + 1, k))
    return out


def plot(runs: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    colors = {"with resets": "tab:red", "without resets": "tab:blue"}
    for arm, run in runs.items():
        steps = [r for r in run["records"] if "reward/mean" in r]
        vals = [r for r in run["records"] if "val/pass@1" in r]
        wall = [r["wall"] for r in steps]
        reward = [r["reward/mean"] for r in steps]
        c = colors[arm]
        axes[0].plot(wall, reward, color=c, alpha=0.25, linewidth=0.8)
        axes[0].plot(wall, _moving_average(reward, 5), color=c, label=f"{arm} (5-step mean)")
        axes[1].plot([r["wall"] for r in vals], [r["val/pass@1"] for r in vals], "o-", color=c, label=arm)
        axes[2].plot([r["step"] for r in steps], _moving_average(reward, 5), color=c, label=arm)
        for r in run["records"]:
            if r.get("event") == "reset" and arm == "with resets":
                axes[0].axvline(r["wall"], color=c, linestyle="--", linewidth=0.9)
                axes[1].axvline(r["wall"], color=c, linestyle="--", linewidth=0.9)
                axes[2].axvline(r["step"], color=c, linestyle="--", linewidth=0.9, label="hard reset")
    axes[0].set(title="training reward vs wall time", xlabel="seconds of RL", ylabel="mean reward of rollouts")
    axes[1].set(title="held-out pass@1 (greedy) vs wall time", xlabel="seconds of RL", ylabel="pass@1")
    axes[2].set(title="training reward vs step", xlabel="step", ylabel="mean reward (5-step mean)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("prolong train (embedded default): with and without hard resets, same seed", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def summary(runs: dict[str, dict]) -> str:
    lines = [f"{'':<16}{'RL seconds':>11}{'CPU s':>7}{'hard resets':>12}{'val before':>12}{'val after':>11}{'best val':>10}"
             f"{'reward 1st half':>17}{'reward 2nd half':>17}{'final KL':>10}"]
    for arm, run in runs.items():
        steps = [r for r in run["records"] if "reward/mean" in r]
        half = len(steps) // 2
        rw = [r["reward/mean"] for r in steps]
        vals = [r["val/pass@1"] for r in run["records"] if "val/pass@1" in r]
        kl = next((r["kl"] for r in reversed(steps) if "kl" in r), float("nan"))
        rl_seconds = steps[-1]["wall"] if steps else 0.0
        cpu_seconds = steps[-1].get("cpu", float("nan")) if steps else 0.0
        lines.append(
            f"{arm:<16}{rl_seconds:>11.0f}{cpu_seconds:>7.0f}{len(run['resets']) if arm == 'with resets' else 0:>12}{run['val_before']:>12.3f}{run['val_after']:>11.3f}"
            f"{max(vals):>10.3f}{sum(rw[:half]) / max(half, 1):>17.3f}{sum(rw[half:]) / max(len(rw) - half, 1):>17.3f}{kl:>10.4f}"
        )
    lines.append("RL seconds: wall time from the first rollout to the last step (this machine is shared: compare\n"
                 "the two runs by step, third panel, and by CPU seconds of the process).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="key=value config overrides for both runs")
    p.add_argument("--worker", choices=ARMS, help=argparse.SUPPRESS)
    p.add_argument("--json", help=argparse.SUPPRESS)
    p.add_argument("--out-dir", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if a.worker:
        worker(a.worker, a.overrides, a.json, a.out_dir)
        return 0

    from prolong.trainer.config import TrainConfig
    from prolong.trainer.tiny import load_or_build_tiny

    cfg = TrainConfig.from_args(list(a.overrides))
    if cfg.model == "tiny":
        load_or_build_tiny(cfg)  # built and cached once, outside both runs' clocks
    runs: dict[str, dict] = {}
    work = RESULTS / "resets"
    for arm in ARMS:
        out = work / f"{arm.replace(' ', '_')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        t = time.time()
        print(f"running the embedded default {arm} ...", flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_resets", "--worker", arm, "--json", str(out),
             "--out-dir", str(work / f"run_{arm.replace(' ', '_')}"), *a.overrides],
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"the run {arm} failed")
        runs[arm] = json.loads(out.read_text())
        print(f"  done in {time.time() - t:.0f}s", flush=True)
    png = RESULTS / "resets.png"
    plot(runs, png)
    print()
    print(summary(runs))
    print(f"\nplot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
