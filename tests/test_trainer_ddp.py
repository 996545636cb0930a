"""Data-parallel training: rank-aware sharding, exact token-mean gradients across ranks,
and a two-process ``torchrun`` run on a tiny model whose replicas stay identical."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from prolong.trainer import distributed as D
from prolong.trainer.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- sharding (pure) --------------------------------------------------------------------------


def test_each_rank_gets_its_own_prompts_and_a_share_of_the_batch():
    from prolong.trainer.loop import draw_problems, make_envs

    cfg = TrainConfig(prompts_per_step=5, mini_batch_size=32, seed=7, stages=[], steps=1)
    r0 = D.shard_config(cfg, rank_=0, world_size_=2)
    r1 = D.shard_config(cfg, rank_=1, world_size_=2)
    assert (r0.prompts_per_step, r1.prompts_per_step) == (3, 3)  # ceil(5 / 2) on every rank
    assert (r0.mini_batch_size, r1.mini_batch_size) == (16, 16)
    assert r0.seed == 7 and r1.seed != 7
    tasks = make_envs(cfg)
    p0 = [p.prompt for p in draw_problems(tasks, [1.0], seed=r0.seed, step=3, round_=0, count=3)]
    p1 = [p.prompt for p in draw_problems(tasks, [1.0], seed=r1.seed, step=3, round_=0, count=3)]
    assert p0 != p1
    assert p0 == [p.prompt for p in draw_problems(tasks, [1.0], seed=7, step=3, round_=0, count=3)]  # rank 0 = one process


def test_in_one_process_the_hooks_change_nothing():
    cfg = TrainConfig(stages=[], steps=1)
    assert not D.state().enabled and D.is_main()
    assert D.shard_config(cfg) is cfg
    assert D.all_reduce_sum(3) == 3.0
    m = {"reward/mean": 0.5, "groups": 4}
    assert D.reduce_metrics(m) is m
    assert D.main_computes(lambda: 41 + 1) == 42


# --- gradients across two gloo processes --------------------------------------------------------

# Two ranks hold different numbers of response tokens: rank 0 three sequences of 4, 1
# and 2 tokens, rank 1 one sequence of 6 tokens. Per-token loss l_t = w . x_t * adv.
SHARDS = {0: [(4, 1.0), (1, -1.0), (2, 0.5)], 1: [(6, -0.5)]}


def _batch(shard, seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, 3, generator=g), adv) for n, adv in shard]


def _token_loss_sum(model, seqs):
    return sum((model(x).squeeze(-1) * adv).sum() for x, adv in seqs)


def _grad_worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank))
    D.setup(SimpleNamespace(num_threads=1), torch.device("cpu"), 1)
    torch.manual_seed(rank)  # different initial weights: broadcast_module must fix them
    model = torch.nn.Linear(3, 1)
    D.broadcast_module(model)
    seqs = _batch(SHARDS[rank], seed=100 + rank)
    global_tokens = D.all_reduce_sum(sum(n for n, _ in SHARDS[rank]))
    (_token_loss_sum(model, seqs) / global_tokens).backward()
    D.all_reduce_gradients(model)
    # dynamic sampling left rank 1 one group short (of 3 per rank): both ranks train on 2 groups,
    # and both batches are short
    rollout = SimpleNamespace(problems=["a", "b", "c"][: 3 - rank], completions=[[1], [2], [3]][: 3 - rank],
                              rewards=[[0.0], [1.0], [0.5]][: 3 - rank],
                              metrics={"dynamic_sampling/missing_groups": rank, "dynamic_sampling/short_batch": float(rank)})
    D.equalize_rollout(rollout)
    metrics = D.reduce_metrics({**rollout.metrics, "reward/mean": 0.2 + 0.4 * rank, "groups": len(rollout.problems),
                                "time/step": 1.0 + rank, **({"reward/code": 1.0} if rank == 1 else {})})
    # float16 loss scaling: an inf gradient on rank 1 only skips the update on both ranks
    from prolong.trainer.precision import LossScaler

    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.tensor([float("inf") if rank == 1 else 4.0, 4.0])
    found_inf = LossScaler(init_scale=4.0).unscale_([p], any_rank=D.all_reduce_sum)
    torch.save({"grad": model.weight.grad.clone(), "weight": model.weight.detach().clone(), "tokens": global_tokens,
                "kept": rollout.problems, "trimmed": rollout.metrics["dist/groups_trimmed"], "metrics": metrics,
                "found_inf": found_inf}, os.path.join(out_dir, f"rank{rank}.pt"))
    D.finish()


def test_summed_gradients_over_the_global_token_count_equal_the_whole_batch_token_mean_and_ranks_agree(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_grad_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["tokens"] == r1["tokens"] == 13
    assert torch.equal(r0["weight"], r1["weight"])  # rank 0's initial weights everywhere
    assert torch.equal(r0["grad"], r1["grad"])
    assert r0["kept"] == ["a", "b"] and r1["kept"] == ["a", "b"] and (r0["trimmed"], r1["trimmed"]) == (1, 0)
    assert r0["metrics"] == r1["metrics"] == {"reward/mean": pytest.approx(0.4), "groups": 4, "time/step": 2.0, "reward/code": 1.0,
                                              "dist/groups_trimmed": 1, "dynamic_sampling/missing_groups": 2,
                                              "dynamic_sampling/short_batch": 1.0}  # 4 of 6 groups: 2 missing
    assert r0["found_inf"] is True and r1["found_inf"] is True
    # one process with the whole batch: token-mean over all 13 tokens
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    everything = _batch(SHARDS[0], 100) + _batch(SHARDS[1], 101)
    (_token_loss_sum(model, everything) / 13).backward()
    assert torch.allclose(r0["grad"], model.weight.grad, atol=1e-6)
    # DDP's average of per-rank token means would weight rank 1's 6 tokens as much as rank 0's 7
    model.zero_grad()
    mean_of_means = 0.5 * (_token_loss_sum(model, _batch(SHARDS[0], 100)) / 7 + _token_loss_sum(model, _batch(SHARDS[1], 101)) / 6)
    mean_of_means.backward()
    assert not torch.allclose(r0["grad"], model.weight.grad, atol=1e-4)


# --- torchrun, two ranks, the real loop -------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    texts = [f"What is {a} + {b}?\nThe answer is \\boxed{{{a + b}}}." for a in range(21) for b in range(21)]
    tok = build_tokenizer(texts, vocab_size=280)
    model = build_tiny_model(tok, hidden_size=32, layers=1, heads=2, seed=0)
    path = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path, D.parameter_digest(model)


def test_torchrun_two_ranks_train_identical_replicas_and_only_rank0_writes(tiny_model_dir, tmp_path):
    model_dir, initial_digest = tiny_model_dir
    out = tmp_path / "run"
    overrides = [
        f"model={model_dir}", f"out_dir={out}", "envs=[prolong/toy-add-v0]", "stages=[]", "steps=3",
        "prompts_per_step=4", "num_generations=4", "max_new_tokens=6", "dynamic_sampling=false",
        # an entropy bonus gives every rank a gradient even when no sample is right, and the
        # ranks' gradients differ (different prompts and samples): only the all-reduce keeps
        # the replicas equal. Two mini-batches per step: the off-policy path runs too.
        "entropy_coef=0.05", "kl_coef=0.01", "lr=0.01", "mini_batch_size=8", "micro_batch_size=4",
        "val_every=0", "val_problems=3", "val_k=0", "save_every=2", "tensorboard=false", "plot=false",
        "progress=false", "num_threads=1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "prolong.cli", "train", *overrides]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    replicas = json.loads((out / "replicas.json").read_text())
    assert replicas["world_size"] == 2 and replicas["identical"] is True
    assert replicas["digests"][0] == replicas["digests"][1]
    assert replicas["digests"][0] != initial_digest  # the replicas trained, and in step
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "event" not in r]
    assert steps == [0, 1, 2, 3]  # written once, by rank 0
    trained = [r for r in records if "event" not in r and r["step"] > 0]
    assert all(r["groups"] == 4 for r in trained)  # 2 prompts on each of 2 ranks
    assert all(r["updates"] == 2 for r in trained)
    assert (out / "final" / "config.json").is_file()
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step_000002", "step_000003"]
    assert proc.stdout.count(" steps in 1 stage(s)") == 1  # the loop's opening line: only rank 0 logs
    assert proc.stdout.count("run directory:") == 1  # the closing summary: only rank 0 prints it
