"""End to end: the loop on the toy task with a pre-built tiny model, SIGKILL + resume, plots.

The tiny model (tokenizer + Qwen2 + a short SFT) is built once for this module into a
temporary cache; every run below loads it from there.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from prolong.trainer.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")

# A small, fast setting of the toy task: sums of numbers up to 5, a 64-wide model whose
# warm start leaves out the \boxed{} in 70% of its demonstrations (so RL has a quick win).
TINY = [
    "tiny_hidden_size=64",
    "tiny_layers=2",
    "tiny_vocab_size=290",  # room for every merge: the boxed answer fits the 12-token budget
    "sft_steps=300",
    "sft_lr=0.003",
    "sft_unboxed_frac=0.7",
    "envs=[prolong/toy-add-v0]",
    "env_kwargs.prolong/toy-add-v0.max_operand=5",
    "warmup_steps=0",
    "lr_schedule=constant",
    "num_threads=1",
    "progress=false",
    "tensorboard=false",
]


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory):
    """Build (and cache) the tiny model once for every test here."""
    from prolong.trainer.tiny import load_or_build_tiny

    cache = tmp_path_factory.mktemp("prolong-cache")
    cfg = TrainConfig.from_args(TINY + [f"cache_dir={cache}"])
    load_or_build_tiny(cfg, log=lambda *a: None)
    return cache


def _args(cache, out_dir, *extra):
    return TINY + [f"cache_dir={cache}", f"out_dir={out_dir}", *extra]


def test_hf_engine_returns_n_completions_per_prompt_with_their_tokens(tiny_cache):
    from prolong.trainer.engines import Completion, RolloutEngine, build_engine
    from prolong.trainer.loop import load_policy

    model, tok = load_policy(TrainConfig.from_args(TINY + [f"cache_dir={tiny_cache}"]))
    engine = build_engine("hf", model, tok, batch_size=4)
    assert isinstance(engine, RolloutEngine)
    groups = engine.generate(["What is 2 + 3?", "What is 7 + 1?"], n=3, max_new_tokens=12, temperature=1.0, seed=5)
    assert [len(g) for g in groups] == [3, 3]
    c = groups[0][0]
    assert isinstance(c, Completion) and c.finish_reason in ("stop", "length")
    assert c.prompt_ids == engine.encode("What is 2 + 3?")
    if c.finish_reason == "stop":
        assert c.token_ids[-1] == tok.eos_token_id
    assert tok.decode(c.token_ids, skip_special_tokens=True) == c.text
    again = engine.generate(["What is 2 + 3?", "What is 7 + 1?"], n=3, max_new_tokens=12, temperature=1.0, seed=5)
    assert [[x.token_ids for x in g] for g in again] == [[x.token_ids for x in g] for g in groups]  # seeded
    cut = engine.generate(["What is 2 + 3?"], n=2, max_new_tokens=1, temperature=0.0)
    assert all(x.finish_reason == "length" and len(x.token_ids) == 1 for x in cut[0])


def test_vllm_engine_without_its_module_or_package_is_a_clear_error():
    import importlib.util

    from prolong.trainer.engines import build_engine

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed")
    with pytest.raises(RuntimeError, match="vllm"):
        build_engine("vllm", None, None)
    with pytest.raises(ValueError, match="'sglang'"):
        build_engine("sglang", None, None)


def test_training_raises_the_reward_and_resets_at_the_stage_boundary(tiny_cache, tmp_path):
    from prolong.trainer.loop import train

    cfg = TrainConfig.from_args(_args(
        tiny_cache, tmp_path / "run",
        "stages=[{steps: 12}, {steps: 12, temperature: 0.9}]", "prompts_per_step=16", "num_generations=8",
        "lr=3e-4", "kl_coef=0.001", "val_every=0", "val_problems=32", "val_k=0", "save_every=0",
    ))
    stale = tmp_path / "run" / "checkpoints" / "step_000999"  # an older run's checkpoint in the same directory
    stale.mkdir(parents=True)
    (stale / "state.pt").write_bytes(b"old")
    result = train(cfg, log=lambda *a: None)
    assert not stale.exists()  # a fresh run must not leave it to be resumed later
    steps = [r for r in result.metrics if "reward/mean" in r]
    assert len(steps) == 24
    first, last = steps[:4], steps[-4:]
    mean = lambda rs: sum(r["reward/mean"] for r in rs) / len(rs)  # noqa: E731
    assert mean(last) > mean(first) + 0.15, (mean(first), mean(last))
    resets = [r for r in result.metrics if r.get("event") == "reset"]
    assert resets == [{"step": 12, "event": "reset", "reason": "stage 1"}]
    assert steps[12]["kl"] < steps[11]["kl"]  # the reference caught up with the policy
    run = tmp_path / "run"
    assert (run / "final" / "config.json").is_file() and (run / "curves.png").stat().st_size > 0
    assert (run / "config.yaml").is_file() and (run / "checkpoints" / "step_000024").is_dir()
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged == result.metrics
    for key in ("accuracy", "entropy", "kl", "clip_frac/low", "clip_frac/high", "dynamic_sampling/dropped_frac",
                "response_length/mean", "response_length/clip_ratio", "lr", "resets", "reward/toy_add"):
        assert key in steps[-1], key


def _final_policy(out_dir):
    ckpts = sorted((Path(out_dir) / "checkpoints").glob("step_*"))
    return torch.load(ckpts[-1] / "state.pt", weights_only=False)["policy"]


def test_a_run_killed_with_sigkill_and_resumed_reaches_the_same_weights(tiny_cache, tmp_path):
    common = [
        "stages=[{steps: 3}, {steps: 3, num_generations: 6}]", "prompts_per_step=4", "num_generations=4",
        "lr=0.001", "kl_coef=0.01", "val_every=2", "val_problems=16", "val_k=2", "save_every=2",
        "reset_on_plateau=true", "reset_patience=1", "mini_batch_size=8", "plot=false", "save_final_model=false",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-m", "prolong.cli", "train"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(cmd + _args(tiny_cache, whole, *common), env=env, check=True, capture_output=True, timeout=300)

    proc = subprocess.Popen(cmd + _args(tiny_cache, killed, *common), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = killed / "checkpoints" / "step_000002"
    deadline = time.time() + 240
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert first.exists() and not (killed / "checkpoints" / "step_000006").exists()

    subprocess.run(cmd + _args(tiny_cache, killed, *common, "resume=true"), env=env, check=True, capture_output=True, timeout=300)
    a, b = _final_policy(whole), _final_policy(killed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    # the metrics of the resumed run are those of the uninterrupted one (timings aside)
    strip = lambda rs: [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rs]  # noqa: E731
    read = lambda d: [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    assert strip(read(killed)) == strip(read(whole))


def test_prolong_plot_draws_a_png_with_reset_markers(tmp_path):
    from prolong.cli import main

    records = [{"step": 0, "val/pass@1": 0.2, "val/pass@4": 0.5}]
    records += [{"step": s, "reward/mean": s / 10, "kl": 0.01 * s, "lr": 1e-3, "entropy": 1.0 - s / 20} for s in range(1, 9)]
    records.insert(5, {"step": 4, "event": "reset", "reason": "stage 1"})
    records.append({"step": 8, "val/pass@1": 0.6, "val/pass@4": 0.8})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["plot", str(tmp_path)]) == 0
    png = (tmp_path / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert main(["plot", str(tmp_path / "missing")]) == 2


def test_no_reference_model_is_held_when_the_kl_coefficient_is_zero(tiny_cache, tmp_path):
    from prolong.trainer.loop import train

    cfg = TrainConfig.from_args(_args(
        tiny_cache, tmp_path / "run", "kl_coef=0", "stages=[]", "steps=2", "prompts_per_step=4", "num_generations=4",
        "val_problems=8", "val_k=0", "plot=false", "save_final_model=false",
    ))
    result = train(cfg, log=lambda *a: None)
    assert all("kl" not in r for r in result.metrics)
    state = torch.load(tmp_path / "run" / "checkpoints" / "step_000002" / "state.pt", weights_only=False)
    assert state["reference"] is None and state["step"] == 2


def test_imperfect_demonstrations_get_no_reward_from_the_arith_and_toy_envs():
    """The warm start's unboxed demonstrations must be wrong for the verifier, or RL has no format to learn."""
    from prolong.trainer.loop import make_envs
    from prolong.trainer.tiny import unbox

    cfg = TrainConfig.from_args(["envs=[prolong/arith-v0,prolong/toy-add-v0]"])
    for env_id, task in make_envs(cfg).items():
        p = task.problems[0]
        assert task.score(task.reference(p), p).correct, env_id
        assert "\\boxed" not in unbox(task.reference(p)), env_id
        assert not task.score(unbox(task.reference(p)), p).correct, env_id
