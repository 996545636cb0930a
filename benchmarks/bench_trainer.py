"""Trainer throughput and peak memory: prolong's GRPO loop against TRL's GRPOTrainer.

Both train the same tiny model (a Qwen2-style decoder with prolong's tiny BPE
tokenizer, random initialisation saved once to a temporary directory) on prompts of
the same env (``prolong/toy-add-v0``, scored by prolong's verifier: TRL through
``prolong.adapters.trl``), on CPU, with the same

* prompts per step and samples per prompt (group size G), response budget
  (``max_new_tokens`` = ``max_completion_length``), sampling temperature 1.0, top-p 1;
* one optimizer update per rollout batch (TRL: ``num_iterations=1``, no gradient
  accumulation; prolong: ``ppo_epochs=1``, ``mini_batch_size`` = the whole batch);
* token-mean loss (TRL ``loss_type="dapo"``), clip 0.2 / 0.4, group-std advantages;
* KL to a reference model with the same coefficient (TRL ``beta``, prolong ``kl_coef``;
  both hold a reference model and compute its log-probs);
* no dynamic sampling, no overlong shaping (TRL has neither), AdamW, lr, grad clip 1.0;
* torch CPU threads (1 by default).

Each trainer runs in a fresh subprocess (one per trainer and repeat, alternating), so
the peak resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``: imports, model,
reference, optimizer, activations) is that trainer's alone. Throughput is samples
(completions) per second over whole training steps (from one step's start to the
next one's: rollout, scoring, update, logging), skipping the first step (warm-up);
also per CPU-second of the process, which other jobs on a shared machine disturb
less than wall time. The best of ``--repeats`` runs is kept.

    python -m benchmarks.bench_trainer                    # ~3-5 minutes on 2 cores
    python -m benchmarks.bench_trainer --steps 8 --max-new-tokens 64 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ENV_ID = "prolong/toy-add-v0"


def build_model(path: Path, hidden: int, layers: int, heads: int) -> None:
    """A randomly initialised tiny model and prolong's tiny tokenizer, saved to ``path``."""
    import gymnasium as gym

    import prolong.trainer  # noqa: F401  registers the toy env
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    task = gym.make(ENV_ID).unwrapped.task
    texts = []
    for i in range(2000):
        p = task.problems[i]
        texts.append(p.prompt + "\n" + task.reference(p))
    tok = build_tokenizer(texts, vocab_size=300)
    model = build_tiny_model(tok, hidden_size=hidden, layers=layers, heads=heads, seed=0)
    model.save_pretrained(path)
    tok.save_pretrained(path)


# --------------------------------------------------------------------------- workers (subprocesses)


class StepClock:
    """Wall and CPU (this process) time at the start of each training step; a step is
    the interval from its start to the next step's start (rollout, scoring, update,
    logging: the whole step)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def tick(self) -> None:
        self.wall.append(time.perf_counter())
        self.cpu.append(time.process_time())

    def steps(self) -> dict:
        return {"step_seconds": [b - a for a, b in zip(self.wall, self.wall[1:])],
                "step_cpu_seconds": [b - a for a, b in zip(self.cpu, self.cpu[1:])]}


def run_prolong(a: argparse.Namespace) -> dict:
    import prolong.trainer.loop as loop
    from prolong.trainer.config import TrainConfig

    clock = StepClock()
    collect = loop.collect_rollouts

    def timed_collect(*args, **kwargs):  # the first thing each step does
        clock.tick()
        return collect(*args, **kwargs)

    loop.collect_rollouts = timed_collect
    logger_cls = loop.MetricsLogger

    class TimedLogger(logger_cls):  # the last step ends when its metrics are logged
        def log(self, step, metrics):
            super().log(step, metrics)
            if step == a.steps:
                clock.tick()

    loop.MetricsLogger = TimedLogger
    batch = a.prompts * a.generations
    cfg = TrainConfig(
        model=a.model, envs=[ENV_ID], env_kwargs={ENV_ID: {"max_operand": 20}}, stages=[], steps=a.steps,
        prompts_per_step=a.prompts, num_generations=a.generations, max_new_tokens=a.max_new_tokens,
        temperature=1.0, top_p=1.0, dynamic_sampling=False, kl_coef=a.beta, kl_estimator="k3",
        eps_low=0.2, eps_high=0.4, loss_agg="token-mean", ppo_epochs=1, mini_batch_size=batch,
        micro_batch_size=batch, generation_batch_size=batch, lr=a.lr, max_grad_norm=1.0,
        val_every=0, val_problems=1, val_k=0, save_every=0, save_final_model=False, tensorboard=False,
        plot=False, progress=False, num_threads=a.threads, seed=0, out_dir=a.out_dir, device="cpu",
    )
    result = loop.train(cfg, log=lambda *args, **kw: None)
    steps = [r for r in result.metrics if "time/step" in r]
    return {**clock.steps(), "response_tokens": [r["response_length/mean"] for r in steps], "samples_per_step": batch}


def run_trl(a: argparse.Namespace) -> dict:
    import torch
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    import prolong.trainer  # noqa: F401  registers the toy env
    from prolong.adapters.trl import make_dataset, reward_func

    batch = a.prompts * a.generations
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(a.model)
    data = make_dataset(ENV_ID, a.prompts * (a.steps + 1), env_kwargs={"max_operand": 20})

    clock = StepClock()

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):  # noqa: ANN001
            clock.tick()

        def on_step_end(self, args, state, control, **kw):  # noqa: ANN001
            if state.global_step == args.max_steps:  # the last step ends here
                clock.tick()

    timer = StepTimer()
    config = trl.GRPOConfig(
        output_dir=a.out_dir, per_device_train_batch_size=batch, num_generations=a.generations,
        max_completion_length=a.max_new_tokens, max_steps=a.steps, learning_rate=a.lr, beta=a.beta,
        epsilon=0.2, epsilon_high=0.4, loss_type="dapo", scale_rewards="group", num_iterations=1,
        gradient_accumulation_steps=1, temperature=1.0, top_p=1.0, top_k=0, max_grad_norm=1.0,
        use_cpu=True, bf16=False, report_to="none", save_strategy="no", logging_steps=1, disable_tqdm=True,
        seed=0, dataloader_num_workers=0, mask_truncated_completions=False,
    )
    trainer = trl.GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[reward_func()], args=config,
                              train_dataset=data, callbacks=[timer])
    trainer.train()
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    return {**clock.steps(), "response_tokens": lengths, "samples_per_step": batch}


def worker(a: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(a.threads)
    out = run_prolong(a) if a.worker == "prolong" else run_trl(a)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    Path(a.json).write_text(json.dumps(out))


# --------------------------------------------------------------------------- driver


def summarise(run: dict) -> dict:
    wall = run["step_seconds"][1:] or run["step_seconds"]  # the first step warms up
    cpu = run["step_cpu_seconds"][1:] or run["step_cpu_seconds"]
    return {
        "samples_per_s": run["samples_per_step"] * len(wall) / sum(wall),
        "samples_per_cpu_s": run["samples_per_step"] * len(cpu) / sum(cpu),
        "peak_rss_mb": run["peak_rss_mb"],
        "mean_step_s": sum(wall) / len(wall),
        "mean_response_tokens": sum(run["response_tokens"]) / max(len(run["response_tokens"]), 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=8, help="training steps per run (the first is not timed)")
    p.add_argument("--prompts", type=int, default=8, help="prompts per step")
    p.add_argument("--generations", type=int, default=8, help="samples per prompt (G)")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--beta", type=float, default=0.01, help="KL coefficient of both trainers")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads of each trainer (default 1: a 0.5M-parameter model gains little from more, "
                   "and on a shared machine OpenMP threads that wait for each other slow both trainers down 10x)")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3, help="runs of each trainer (alternating); the best is kept")
    p.add_argument("--only", choices=("prolong", "trl"), help="run one trainer only")
    p.add_argument("--worker", choices=("prolong", "trl"), help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--json", help=argparse.SUPPRESS)
    p.add_argument("--out-dir", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if a.worker:
        worker(a)
        return 0

    names = [a.only] if a.only else ["prolong", "trl"]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        model_dir = Path(tmp) / "model"
        build_model(model_dir, a.hidden, a.layers, a.heads)
        print(f"tiny model: hidden {a.hidden}, {a.layers} layers; {a.prompts} prompts x G={a.generations} = "
              f"{a.prompts * a.generations} samples/step, {a.max_new_tokens} new tokens, {a.steps} steps, "
              f"beta {a.beta}, {a.threads} threads, CPU")
        for rep in range(a.repeats):
            for name in names:
                out = Path(tmp) / f"{name}-{rep}.json"
                cmd = [sys.executable, "-m", "benchmarks.bench_trainer", "--worker", name, "--model", str(model_dir),
                       "--json", str(out), "--out-dir", str(Path(tmp) / f"run-{name}-{rep}"),
                       "--steps", str(a.steps), "--prompts", str(a.prompts), "--generations", str(a.generations),
                       "--max-new-tokens", str(a.max_new_tokens), "--beta", str(a.beta), "--lr", str(a.lr),
                       "--threads", str(a.threads)]
                t = time.time()
                proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": str(REPO)})
                if proc.returncode != 0:
                    print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
                    raise SystemExit(f"{name} run {rep} failed")
                s = summarise(json.loads(out.read_text()))
                runs[name].append(s)
                print(f"  {name:<8} run {rep}: {s['samples_per_s']:7.1f} samples/s ({s['samples_per_cpu_s']:6.1f} per CPU-s)  "
                      f"peak RSS {s['peak_rss_mb']:6.0f} MB  {s['mean_step_s']:.2f} s/step, "
                      f"{s['mean_response_tokens']:.1f} response tokens; {time.time() - t:.0f}s wall", flush=True)
    best = {n: max(rs, key=lambda s: s["samples_per_s"]) for n, rs in runs.items()}
    best_cpu = {n: max(s["samples_per_cpu_s"] for s in rs) for n, rs in runs.items()}
    mem = {n: min(s["peak_rss_mb"] for s in rs) for n, rs in runs.items()}
    print()
    print(f"{'trainer':<10}{'samples/s':>12}{'samples/CPU-s':>15}{'s/step':>9}{'peak RSS MB':>14}")
    for n in names:
        print(f"{n:<10}{best[n]['samples_per_s']:>12.1f}{best_cpu[n]:>15.1f}{best[n]['mean_step_s']:>9.2f}{mem[n]:>14.0f}")
    report = {"settings": {k: v for k, v in vars(a).items() if k not in ("worker", "model", "json", "out_dir")}, "runs": runs}
    if len(names) == 2:
        thr = best["prolong"]["samples_per_s"] / best["trl"]["samples_per_s"]
        thr_cpu = best_cpu["prolong"] / best_cpu["trl"]
        mratio = mem["prolong"] / mem["trl"]
        pairs = sorted(p["samples_per_s"] / t["samples_per_s"] for p, t in zip(runs["prolong"], runs["trl"]))
        median_pair = pairs[len(pairs) // 2] if len(pairs) % 2 else 0.5 * (pairs[len(pairs) // 2 - 1] + pairs[len(pairs) // 2])
        print(f"\nprolong / TRL throughput: {thr:.2f}x wall-clock, {thr_cpu:.2f}x per CPU-second (best runs); "
              f"back-to-back pairs: median {median_pair:.2f}x, {', '.join(f'{r:.2f}' for r in pairs)}   (target >= 1.5x)")
        report["paired_ratios"] = pairs
        print(f"prolong / TRL peak memory: {mratio:.2f}x   (target <= 1.0x)")
        report.update({"throughput_ratio": thr, "throughput_ratio_cpu": thr_cpu, "memory_ratio": mratio})
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "trainer.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS / 'trainer.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
