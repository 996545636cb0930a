"""Trainer throughput and peak memory: prolong's GRPO loop against TRL's GRPOTrainer.

Two model sizes (``--size``), both randomly initialised and saved once to a temporary
directory (no download):

* ``tiny`` (the default): prolong's tiny Qwen2-style decoder (hidden 128, 2 layers,
  0.5M parameters) with prolong's tiny BPE tokenizer (300 tokens). At this size a step
  is mostly framework overhead (Python, generation bookkeeping, logging), not compute;
* ``smollm2-135m``: SmolLM2-135M's architecture (``LlamaConfig``: hidden 576, 30 layers,
  9 heads, 3 key/value heads, intermediate 1536, vocabulary 49,152, tied embeddings,
  RoPE theta 1e5; 134.5M parameters), random weights. Compute-bound: a step is the
  matrix products of generation, the reference forward and the forward/backward. The
  tokenizer is prolong's tiny BPE padded with filler tokens (``<x300>`` ...) to the
  49,152 ids, so every id the random policy samples decodes to text; a random policy
  almost never samples EOS, so both trainers generate the full ``max_new_tokens``.

Both train on prompts of the same env (``prolong/toy-add-v0``, scored by prolong's
verifier: TRL through ``prolong.adapters.trl``), on CPU, float32, with the same

* prompts per step and samples per prompt (group size G), response budget
  (``max_new_tokens`` = ``max_completion_length``), sampling temperature 1.0, top-p 1;
* one optimizer update per rollout batch (TRL: ``num_iterations=1``, no gradient
  accumulation; prolong: ``ppo_epochs=1``, ``mini_batch_size`` = the whole batch);
* token-mean loss (TRL ``loss_type="dapo"``), clip 0.2 / 0.4, group-std advantages;
* KL to a reference model with the same coefficient (TRL ``beta``, prolong ``kl_coef``;
  both hold a reference model and compute its log-probs);
* no dynamic sampling, no overlong shaping (TRL has neither), AdamW, lr, grad clip 1.0;
* activation checkpointing off in both (``--gradient-checkpointing`` turns it on in
  both; TRL's ``GRPOConfig`` defaults it on, prolong for every model but the tiny one);
* torch CPU threads (``--threads``).

Each trainer runs in a fresh subprocess (one per trainer and repeat, alternating, the
first of each pair swapped every repeat), so
the peak resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``: imports, model,
reference, optimizer, activations) is that trainer's alone. Throughput is samples
(completions) per second over whole training steps (from one step's start to the
next one's: rollout, scoring, update, logging), skipping the first step (warm-up);
also per CPU-second of the process, which other jobs on a shared machine disturb
less than wall time (each run also records its CPU/wall ratio, below the thread count
when other jobs held the cores, and the machine's load average). Every run is kept: the report gives the mean ± std and the
min / median / max over ``--repeats`` runs of each trainer, the ratio of the means and
the ratios of back-to-back pairs. Results: ``benchmarks/results/trainer_<size>.json``
and ``trainer_<size>.png``.

    python -m benchmarks.bench_trainer                              # tiny: ~3-5 minutes on 2 cores
    python -m benchmarks.bench_trainer --size smollm2-135m          # compute-bound: ~4 CPU-minutes per repeat
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ENV_ID = "prolong/toy-add-v0"

#: per size: the model and the default run settings (each overridable on the command line)
SIZES = {
    "tiny": {"steps": 8, "prompts": 8, "generations": 8, "max_new_tokens": 32, "threads": 1, "repeats": 3},
    "smollm2-135m": {"steps": 4, "prompts": 2, "generations": 4, "max_new_tokens": 32, "threads": 1, "repeats": 3},
}

#: SmolLM2-135M's architecture (HuggingFaceTB/SmolLM2-135M config.json), random weights
SMOLLM2_135M = dict(
    vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
    num_key_value_heads=3, max_position_embeddings=8192, rope_theta=100000.0, rms_norm_eps=1e-5,
    tie_word_embeddings=True, initializer_range=0.041666666666666664, hidden_act="silu",
)


def _tokenizer():
    import gymnasium as gym

    import prolong.trainer  # noqa: F401  registers the toy env
    from prolong.trainer.tiny import build_tokenizer

    task = gym.make(ENV_ID).unwrapped.task
    texts = []
    for i in range(2000):
        p = task.problems[i]
        texts.append(p.prompt + "\n" + task.reference(p))
    return build_tokenizer(texts, vocab_size=300)


def build_model(path: Path, size: str) -> int:
    """The randomly initialised model of ``size`` and its tokenizer, saved to ``path``;
    returns the number of parameters."""
    import torch

    tok = _tokenizer()
    if size == "tiny":
        from prolong.trainer.tiny import build_tiny_model

        model = build_tiny_model(tok, hidden_size=128, layers=2, heads=4, seed=0)
    else:
        from transformers import LlamaConfig, LlamaForCausalLM

        tok.add_tokens([f"<x{i}>" for i in range(len(tok), SMOLLM2_135M["vocab_size"])])
        config = LlamaConfig(**SMOLLM2_135M, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                             pad_token_id=tok.pad_token_id)
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return sum(p.numel() for p in model.parameters())


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
    collect, evaluate = loop.collect_rollouts, loop.evaluate

    def timed_collect(*args, **kwargs):  # the first thing each step does
        clock.tick()
        return collect(*args, **kwargs)

    def timed_evaluate(*args, **kwargs):  # val_every=0: only before RL and after the last step
        if len(clock.wall) == a.steps:  # the last step ends (metrics computed) where the final validation begins
            clock.tick()
        return evaluate(*args, **kwargs)

    loop.collect_rollouts, loop.evaluate = timed_collect, timed_evaluate
    batch = a.prompts * a.generations
    cfg = TrainConfig(
        model=a.model, envs=[ENV_ID], env_kwargs={ENV_ID: {"max_operand": 20}}, stages=[], steps=a.steps,
        prompts_per_step=a.prompts, num_generations=a.generations, max_new_tokens=a.max_new_tokens,
        temperature=1.0, top_p=1.0, dynamic_sampling=False, kl_coef=a.beta, kl_estimator="k3",
        eps_low=0.2, eps_high=0.4, loss_agg="token-mean", ppo_epochs=1, mini_batch_size=batch,
        micro_batch_size=batch, generation_batch_size=batch, lr=a.lr, max_grad_norm=1.0,
        gradient_checkpointing=a.gradient_checkpointing,
        val_every=0, val_problems=1, val_k=0, save_every=0, save_final_model=False, tensorboard=False,
        plot=False, progress=False, num_threads=a.threads, seed=0, out_dir=a.out_dir, device="cpu",
    )
    result = loop.train(cfg, log=lambda *args, **kw: None)
    steps = [r for r in result.metrics if "time/step" in r]
    return {**clock.steps(), "response_tokens": [r["response_length/mean"] for r in steps], "samples_per_step": batch,
            "generate_seconds": [r["time/generate"] for r in steps]}


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
        gradient_checkpointing=a.gradient_checkpointing,
        use_cpu=True, bf16=False, report_to="none", save_strategy="no", logging_steps=1, disable_tqdm=True,
        seed=0, dataloader_num_workers=0, mask_truncated_completions=False,
    )
    trainer = trl.GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[reward_func()], args=config,
                              train_dataset=data, callbacks=[timer])
    generate, generate_seconds = trainer._generate, []

    def timed_generate(*args, **kwargs):  # sampling only (prolong's time/generate also scores: a few ms)
        t = time.perf_counter()
        out = generate(*args, **kwargs)
        generate_seconds.append(time.perf_counter() - t)
        return out

    trainer._generate = timed_generate
    trainer.train()
    lengths = [h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h]
    return {**clock.steps(), "response_tokens": lengths, "samples_per_step": batch, "generate_seconds": generate_seconds}


def worker(a: argparse.Namespace) -> None:
    import warnings

    import torch

    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' gradient_checkpointing rename
    torch.set_num_threads(a.threads)
    out = run_prolong(a) if a.worker == "prolong" else run_trl(a)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    Path(a.json).write_text(json.dumps(out))


# --------------------------------------------------------------------------- driver


def summarise(run: dict) -> dict:
    wall = run["step_seconds"][1:] or run["step_seconds"]  # the first step warms up
    cpu = run["step_cpu_seconds"][1:] or run["step_cpu_seconds"]
    gen = run["generate_seconds"][1:] if len(run["generate_seconds"]) > 1 else run["generate_seconds"]
    return {
        "samples_per_s": run["samples_per_step"] * len(wall) / sum(wall),
        "samples_per_cpu_s": run["samples_per_step"] * len(cpu) / sum(cpu),
        "peak_rss_mb": run["peak_rss_mb"],
        "mean_step_s": sum(wall) / len(wall),
        "mean_step_cpu_s": sum(cpu) / len(cpu),
        "generate_share": sum(gen) / sum(wall),  # of the timed steps' wall time spent sampling
        "cpu_per_wall": sum(cpu) / sum(wall),  # below the thread count: the process waited (other jobs on the cores)
        "mean_response_tokens": sum(run["response_tokens"]) / max(len(run["response_tokens"]), 1),
        "step_seconds": run["step_seconds"],
        "step_cpu_seconds": run["step_cpu_seconds"],
        "generate_seconds": run["generate_seconds"],
    }


def spread(values: list[float]) -> dict:
    """mean, sample std (0 for one value), min, median and max of ``values``."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


METRICS = (("samples_per_s", "samples/s", 2), ("samples_per_cpu_s", "samples/CPU-s", 3),
           ("mean_step_s", "s/step", 2), ("peak_rss_mb", "peak RSS MB", 0), ("generate_share", "sampling share", 2),
           ("cpu_per_wall", "CPU/wall", 2))


def _fmt(s: dict, digits: int) -> str:
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f} [{s['min']:.{digits}f}, {s['median']:.{digits}f}, {s['max']:.{digits}f}]"


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["runs"])
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for ax, (key, label, _) in zip(axes, (METRICS[0], METRICS[1], METRICS[3])):
        for i, n in enumerate(names):
            vals = [r[key] for r in report["runs"][n]]
            s = report["summary"][n][key]
            ax.bar(i, s["mean"], yerr=s["std"], color=("tab:blue", "tab:orange")[i % 2], alpha=0.6, capsize=6)
            ax.scatter([i] * len(vals), vals, color="black", s=12, zorder=3)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(label)
    st = report["settings"]
    fig.suptitle(f"{st['size']}: {st['prompts']} prompts x G={st['generations']}, {st['max_new_tokens']} new tokens, "
                 f"{st['threads']} threads, CPU (bars: mean ± std; dots: runs)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=tuple(SIZES), default="tiny",
                   help="tiny: 0.5M parameters (framework overhead); smollm2-135m: SmolLM2-135M's architecture (compute)")
    p.add_argument("--steps", type=int, help="training steps per run (the first is not timed); default per size")
    p.add_argument("--prompts", type=int, help="prompts per step")
    p.add_argument("--generations", type=int, help="samples per prompt (G)")
    p.add_argument("--max-new-tokens", type=int)
    p.add_argument("--beta", type=float, default=0.01, help="KL coefficient of both trainers")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--threads", type=int,
                   help="torch CPU threads of each trainer (default 1: a 0.5M-parameter model gains little from more, "
                   "and on a shared machine OpenMP threads that spin-wait for each other burn CPU time: at 2 threads on "
                   "a busy 2-core machine the 135M model took 2x (prolong) and 6x (TRL) the CPU-seconds per sample)")
    p.add_argument("--gradient-checkpointing", action="store_true", help="activation checkpointing on in both trainers")
    p.add_argument("--repeats", type=int, help="runs of each trainer (alternating)")
    p.add_argument("--only", choices=("prolong", "trl"), help="run one trainer only")
    p.add_argument("--worker", choices=("prolong", "trl"), help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--json", help=argparse.SUPPRESS)
    p.add_argument("--out-dir", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    for k, v in SIZES[a.size].items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if a.worker:
        worker(a)
        return 0

    names = [a.only] if a.only else ["prolong", "trl"]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    t_all = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        model_dir = Path(tmp) / "model"
        n_params = build_model(model_dir, a.size)
        print(f"{a.size} model ({n_params / 1e6:.1f}M parameters, random init); {a.prompts} prompts x G={a.generations} = "
              f"{a.prompts * a.generations} samples/step, {a.max_new_tokens} new tokens, {a.steps} steps (first not timed), "
              f"beta {a.beta}, {a.threads} threads, activation checkpointing {'on' if a.gradient_checkpointing else 'off'}, "
              f"CPU, {a.repeats} repeats", flush=True)
        for rep in range(a.repeats):
            for name in (names if rep % 2 == 0 else names[::-1]):  # alternate who goes first
                out = Path(tmp) / f"{name}-{rep}.json"
                cmd = [sys.executable, "-m", "benchmarks.bench_trainer", "--worker", name, "--model", str(model_dir),
                       "--json", str(out), "--out-dir", str(Path(tmp) / f"run-{name}-{rep}"), "--size", a.size,
                       "--steps", str(a.steps), "--prompts", str(a.prompts), "--generations", str(a.generations),
                       "--max-new-tokens", str(a.max_new_tokens), "--beta", str(a.beta), "--lr", str(a.lr),
                       "--threads", str(a.threads)] + (["--gradient-checkpointing"] if a.gradient_checkpointing else [])
                t, load = time.time(), os.getloadavg()[0]
                proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": str(REPO)})
                if proc.returncode != 0:
                    print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
                    raise SystemExit(f"{name} run {rep} failed")
                s = summarise(json.loads(out.read_text()))
                s["process_wall_s"] = time.time() - t
                s["load_average"] = 0.5 * (load + os.getloadavg()[0])  # of the machine (1-minute), start and end
                runs[name].append(s)
                print(f"  {name:<8} run {rep}: {s['samples_per_s']:7.2f} samples/s ({s['samples_per_cpu_s']:7.3f} per CPU-s)  "
                      f"peak RSS {s['peak_rss_mb']:6.0f} MB  {s['mean_step_s']:.2f} s/step, "
                      f"{s['generate_share']:.0%} sampling, {s['mean_response_tokens']:.1f} response tokens; "
                      f"CPU/wall {s['cpu_per_wall']:.2f}, load {s['load_average']:.1f}; {s['process_wall_s']:.0f}s wall", flush=True)
    summary = {n: {key: spread([r[key] for r in rs]) for key, _, _ in METRICS} for n, rs in runs.items()}
    print(f"\nover {a.repeats} runs each: mean ± std [min, median, max]")
    for n in names:
        for key, label, digits in METRICS:
            print(f"  {n:<8} {label:<14} {_fmt(summary[n][key], digits)}")
    report: dict = {
        "settings": {k: v for k, v in vars(a).items() if k not in ("worker", "model", "json", "out_dir")},
        "parameters": n_params, "summary": summary, "runs": runs, "seconds": time.time() - t_all,
    }
    if len(names) == 2:
        ratios: dict = {}
        for key, label, _ in METRICS:
            pairs = [pr[key] / tr[key] for pr, tr in zip(runs["prolong"], runs["trl"])]
            ratios[key] = {"of_means": summary["prolong"][key]["mean"] / summary["trl"][key]["mean"], "pairs": spread(pairs)}
            print(f"prolong / TRL {label:<14} ratio of means {ratios[key]['of_means']:.2f}x; back-to-back pairs "
                  f"{_fmt(ratios[key]['pairs'], 2)}")
        report["ratios"] = ratios
    RESULTS.mkdir(parents=True, exist_ok=True)
    out_json = RESULTS / f"trainer_{a.size}.json"
    out_json.write_text(json.dumps(report, indent=2) + "\n")
    try:
        plot(report, RESULTS / f"trainer_{a.size}.png")
    except Exception as e:  # the plot is a convenience; the numbers are in the JSON
        print(f"could not draw the plot: {e}")
    print(f"results: {out_json} (and .png); {time.time() - t_all:.0f}s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
