"""Do hard resets keep RL improving? Three arms x several seeds, held-out correctness over time.

The task is the embedded default's (``prolong/arith-v0`` and its tiny model, warm-started
from a demonstrator that drops the carry 70% of the time), with a KL coefficient large
enough to bind: the k3 penalty against the reference (the warm start, until a reset)
holds the policy near the demonstrator's habits. Arms, all at the same constant LR
(one schedule for the whole run: ``reset_restarts_warmup=false``) and the same steps:

* ``no reset``: the reference stays the warm start for the whole run;
* ``hard reset``: every ``--reset-every`` steps, reference := policy and a fresh AdamW
  (ProRL's hard reset), nothing else changes;
* ``reset + more samples``: the same resets, and from the first one on a new stage with
  twice the rollouts per prompt (``num_generations`` 8 -> 16), as ProRL's later runs
  (so this arm also spends more compute per step).

Each (arm, seed) is one ``prolong train`` subprocess (``--jobs`` at once). The tiny model
of each seed is built (and cached) first, outside the runs' clocks. Held-out sampled
pass@1 (the mean over ``val_k=4`` samples at temperature 1 on 200 held-out problems) is
measured every ``val_every`` steps. Writes ``benchmarks/results/resets.json`` (every
curve and final value per arm x seed, mean and spread per arm) and ``resets.png``.

    python -m benchmarks.bench_resets                          # 3 seeds x 3 arms x 40 steps (see docs/trainer.md for its time)
    python -m benchmarks.bench_resets --seeds 0 1 2 --steps 60 --reset-every 20 --kl 1.0 --jobs 2
    python -m benchmarks.bench_resets cache_dir=/tmp/cache     # extra key=value overrides for every run
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ARMS = ("no reset", "hard reset", "reset + more samples")
COLORS = {"no reset": "tab:blue", "hard reset": "tab:red", "reset + more samples": "tab:green"}


def arm_overrides(arm: str, *, steps: int, reset_every: int) -> list[str]:
    """The config of one arm (on top of :func:`common_overrides`)."""
    if arm == "no reset":
        return ["stages=[]", f"steps={steps}", "reset_every=0"]
    if arm == "hard reset":
        return ["stages=[]", f"steps={steps}", f"reset_every={reset_every}"]
    if arm == "reset + more samples":
        return [f"stages=[{{steps: {reset_every}}}, {{steps: {steps - reset_every}, num_generations: 16}}]",
                f"reset_every={reset_every}"]
    raise ValueError(f"unknown arm {arm!r}; arms: {list(ARMS)}")


def common_overrides(*, kl: float, lr: float, val_every: int) -> list[str]:
    return [
        f"kl_coef={kl}", f"lr={lr}", "lr_schedule=constant", "warmup_steps=5", "reset_restarts_warmup=false",
        f"val_every={val_every}", "val_problems=200", "val_k=4", "val_temperature=1.0",
        "save_every=0", "save_final_model=false", "plot=false", "tensorboard=false", "progress=false",
    ]


def run_one(arm: str, seed: int, overrides: list[str], work: Path) -> dict:
    out = work / f"{arm.replace(' ', '_').replace('+', 'plus')}_seed{seed}"
    cmd = [sys.executable, "-m", "prolong.trainer.cli", f"seed={seed}", f"out_dir={out}", *overrides]
    t = time.time()
    proc = subprocess.run(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"the run {arm} seed {seed} failed: {' '.join(cmd)}")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    vals = [r for r in records if "val/pass@1" in r]
    steps = [r for r in records if "reward/mean" in r]
    print(f"  {arm:<22} seed {seed}: pass@1 {vals[0]['val/pass@1']:.3f} -> {vals[-1]['val/pass@1']:.3f}  "
          f"({time.time() - t:.0f}s)", flush=True)
    return {
        "val_steps": [r["step"] for r in vals],
        "val_pass@1": [r["val/pass@1"] for r in vals],
        "val_greedy": [r["val/greedy"] for r in vals],
        "train_steps": [r["step"] for r in steps],
        "reward": [r["reward/mean"] for r in steps],
        "kl": [r.get("kl", 0.0) for r in steps],
        "resets": [r["step"] for r in records if r.get("event") == "reset"],
        "before": summary["before"]["pass@1"],
        "final": summary["after"]["pass@1"],
        "best": max(r["val/pass@1"] for r in vals),
        "seconds": summary["seconds"],
        "command": " ".join(cmd[2:]),
    }


def _spread(xs: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(xs), "std": statistics.stdev(xs) if len(xs) > 1 else 0.0, "min": min(xs), "max": max(xs)}


def aggregate(runs: dict[str, dict[int, dict]]) -> dict[str, dict]:
    out = {}
    for arm, by_seed in runs.items():
        seeds = sorted(by_seed)
        curves = [by_seed[s]["val_pass@1"] for s in seeds]
        steps = by_seed[seeds[0]]["val_steps"]
        out[arm] = {
            "final": _spread([by_seed[s]["final"] for s in seeds]),
            "gain": _spread([by_seed[s]["final"] - by_seed[s]["before"] for s in seeds]),
            "best": _spread([by_seed[s]["best"] for s in seeds]),
            "curve_steps": steps,
            "curve_mean": [statistics.fmean(c[i] for c in curves) for i in range(len(steps))],
            "curve_min": [min(c[i] for c in curves) for i in range(len(steps))],
            "curve_max": [max(c[i] for c in curves) for i in range(len(steps))],
            "seconds": _spread([by_seed[s]["seconds"] for s in seeds]),
        }
    return out


def plot(runs: dict[str, dict[int, dict]], agg: dict[str, dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for arm, by_seed in runs.items():
        c, a = COLORS[arm], agg[arm]
        n = len(by_seed)
        axes[0].plot(a["curve_steps"], a["curve_mean"], "o-", color=c, label=f"{arm} (mean of {n} seeds)")
        axes[0].fill_between(a["curve_steps"], a["curve_min"], a["curve_max"], color=c, alpha=0.15)
        for s, r in by_seed.items():
            axes[1].plot(r["train_steps"], r["kl"], color=c, alpha=0.6, linewidth=0.8, label=arm if s == min(by_seed) else None)
            axes[2].plot(r["train_steps"], _moving_average(r["reward"], 5), color=c, alpha=0.6, linewidth=0.8,
                         label=arm if s == min(by_seed) else None)
        for step in next(iter(by_seed.values()))["resets"]:
            for ax in axes:
                ax.axvline(step, color=c, linestyle="--", linewidth=0.7, alpha=0.6)
    axes[0].set(title="held-out sampled pass@1 (band: min-max over seeds)", xlabel="RL step", ylabel="sampled pass@1")
    axes[1].set(title="KL(policy || reference), k3, per token", xlabel="RL step", ylabel="KL")
    axes[2].set(title="training reward (5-step mean, each seed)", xlabel="RL step", ylabel="mean reward of rollouts")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title + "  (dashed: hard resets)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _moving_average(xs: list[float], k: int) -> list[float]:
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x
        if i >= k:
            acc -= xs[i - k]
        out.append(acc / min(i + 1, k))
    return out


def table(agg: dict[str, dict]) -> str:
    lines = [f"{'arm':<24}{'final pass@1 (mean +- std, [min, max])':<42}{'gain over warm start':<24}{'best':>8}{'s/run':>8}"]
    for arm, a in agg.items():
        f, g = a["final"], a["gain"]
        final = f"{f['mean']:.3f} +- {f['std']:.3f}  [{f['min']:.3f}, {f['max']:.3f}]"
        gain = f"{g['mean']:+.3f} +- {g['std']:.3f}"
        lines.append(f"{arm:<24}{final:<42}{gain:<24}{a['best']['mean']:>8.3f}{a['seconds']['mean']:>8.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="key=value config overrides for every run (e.g. cache_dir=...)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    p.add_argument("--steps", type=int, default=40, help="RL steps per run (default 40)")
    p.add_argument("--reset-every", type=int, default=10, help="steps between hard resets (default 10)")
    p.add_argument("--kl", type=float, default=1.0, help="KL coefficient (default 1.0: large enough to bind)")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--val-every", type=int, default=10)
    p.add_argument("--jobs", type=int, default=3, help="runs at once (each uses one CPU thread)")
    p.add_argument("--out", default=str(RESULTS), help="results folder (default benchmarks/results)")
    a = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    results, work = Path(a.out), Path(a.out) / "resets_runs"
    common = common_overrides(kl=a.kl, lr=a.lr, val_every=a.val_every) + list(a.overrides)

    from prolong.trainer.config import TrainConfig
    from prolong.trainer.tiny import load_or_build_tiny

    t0 = time.time()
    for seed in a.seeds:  # each seed's warm-started model, built once outside the runs' clocks
        cfg = TrainConfig.from_args([*common, f"seed={seed}", "stages=[]", f"steps={a.steps}"])
        if cfg.model == "tiny":
            load_or_build_tiny(cfg, log=lambda *x: None)
    print(f"tiny models ready ({time.time() - t0:.0f}s); {len(a.arms)} arms x {len(a.seeds)} seeds, {a.jobs} at once", flush=True)
    jobs = [(arm, seed) for seed in a.seeds for arm in a.arms]
    runs: dict[str, dict[int, dict]] = {arm: {} for arm in a.arms}
    with ThreadPoolExecutor(a.jobs) as pool:
        futures = {job: pool.submit(run_one, job[0], job[1], common + arm_overrides(job[0], steps=a.steps, reset_every=a.reset_every), work)
                   for job in jobs}
        for (arm, seed), fut in futures.items():
            runs[arm][seed] = fut.result()
    agg = aggregate(runs)
    settings = {"steps": a.steps, "reset_every": a.reset_every, "kl_coef": a.kl, "lr": a.lr, "val_every": a.val_every,
                "seeds": a.seeds, "overrides": common, "total_seconds": time.time() - t0,
                "metric": "held-out sampled pass@1: mean accuracy of 4 samples at temperature 1 on 200 held-out problems"}
    data = {"settings": settings, "arms": {arm: {"summary": agg[arm], "seeds": {str(s): r for s, r in sorted(runs[arm].items())}}
                                           for arm in a.arms}}
    results.mkdir(parents=True, exist_ok=True)
    (results / "resets.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    title = (f"prolong/arith-v0, tiny model: {a.steps} RL steps, kl_coef {a.kl}, constant lr {a.lr}, "
             f"reset every {a.reset_every} steps, seeds {a.seeds}")
    plot(runs, agg, results / "resets.png", title)
    print()
    print(table(agg))
    print(f"\n{time.time() - t0:.0f}s in all; results: {results / 'resets.json'}  plot: {results / 'resets.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
