"""The recipe at GPU scale, checked on a CPU with tiny models: fp32 master weights under
bf16 compute, the rollout temperature in the loss, chunked log-probs (bounded memory),
the token-budget micro-batcher, activation checkpointing, resume with an engine that
holds its own weights, rollback resets, the LR across resets, sharded validation and
the paper's config."""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from prolong.trainer import algorithms as A
from prolong.trainer.config import TrainConfig
from prolong.trainer.engines import Completion

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny(vocab_texts=None, *, hidden=32, layers=2, seed=0):
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    texts = vocab_texts or [f"What is {a} + {b}? The answer is \\boxed{{{a + b}}}." for a in range(10) for b in range(10)]
    tok = build_tokenizer(texts, vocab_size=280)
    model = build_tiny_model(tok, hidden_size=hidden, layers=layers, heads=4, seed=seed)
    return model, tok


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A saved (random) Qwen2 model and tokenizer: the path a user gives as ``model=``."""
    d = tmp_path_factory.mktemp("tiny-model")
    model, tok = _tiny()
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _batch(vocab, *, n=6, prompt_len=5, resp_len=7, seed=0, shared_prompts=False):
    """A loss batch of ``n`` random sequences with ragged responses and +-1 advantages."""
    from prolong.trainer.loop import Rollout, build_batch

    g = torch.Generator().manual_seed(seed)
    comps = []
    base = torch.randint(3, vocab, (prompt_len,), generator=g).tolist()
    for i in range(n):
        prompt = base if shared_prompts else torch.randint(3, vocab, (prompt_len + i % 2,), generator=g).tolist()
        resp = torch.randint(3, vocab, (resp_len - (i % 3),), generator=g).tolist()
        comps.append(Completion("", prompt, resp, "stop"))
    rollout = Rollout(completions=[comps])
    adv = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(n)])
    return build_batch(rollout, adv, pad_id=0, overlong_filter=False)


def _cfg(*extra):
    base = ["stages=[]", "steps=1", "kl_coef=0", "max_grad_norm=0", "mini_batch_size=1000", "ppo_epochs=1"]
    return TrainConfig.from_args(base + list(extra))


class RecordingSGD(torch.optim.SGD):
    """SGD that keeps the gradients of each step (update_policy clears them afterwards)."""

    def __init__(self, params, lr=0.0):
        super().__init__(params, lr=lr)
        self.grads = []

    def step(self, closure=None):
        self.grads.append([None if p.grad is None else p.grad.detach().clone() for g in self.param_groups for p in g["params"]])
        return super().step(closure)


# ------------------------------------------------------------------ 1. fp32 master weights, bf16 compute


def test_a_bf16_run_at_lr_2e_6_moves_the_fp32_master_weights(model_dir):
    from prolong.trainer.loop import load_policy, update_policy

    cfg = _cfg(f"model={model_dir}", "dtype=bfloat16", "lr=2e-6", "mini_batch_size=3")
    policy, _ = load_policy(cfg)
    assert all(p.dtype == torch.float32 for p in policy.parameters())  # masters
    before = {k: v.clone() for k, v in policy.named_parameters()}
    opt = torch.optim.AdamW(policy.parameters(), lr=2e-6)
    batch = _batch(len(policy.get_output_embeddings().weight))
    for step in range(3):
        update_policy(policy, None, opt, batch, cfg, step=step, lr=2e-6)
    assert all(s["exp_avg_sq"].dtype == torch.float32 for s in opt.state.values())
    for name, p in policy.named_parameters():
        if "embed_tokens" in name:
            continue  # (tied with the output layer here, it moves too, but unused rows only through it)
        moved = (p.detach() != before[name]).float().mean().item()
        assert moved > 0.9, (name, moved)  # pure bf16 left 96% of linear weights and every norm weight unmoved
    from prolong.trainer.loop import make_reference

    assert make_reference(policy, cfg).model.layers[0].mlp.up_proj.weight.dtype == torch.bfloat16  # the frozen copy is bf16


# ------------------------------------------------------------------ 2. temperature in the loss


def test_the_loss_uses_logprobs_at_the_rollout_temperature():
    from prolong.trainer.loop import update_policy

    torch.manual_seed(0)
    model, _ = _tiny()
    vocab = model.get_output_embeddings().weight.shape[0]
    batch = _batch(vocab, shared_prompts=False)
    T = 2.0
    cfg = _cfg(f"temperature={T}")
    opt = RecordingSGD(model.parameters())
    metrics = update_policy(model, None, opt, batch, cfg, step=0, lr=0.0)

    # by hand: on-policy, token-mean of -A * ratio, ratio = exp(logp - logp.detach()), logp from logits / T
    model.zero_grad()
    model.train()
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    logits = torch.gather(logits, 1, batch.resp_pos.unsqueeze(-1).expand(-1, -1, vocab)) / T
    logp = torch.log_softmax(logits, -1).gather(-1, batch.resp_tokens.unsqueeze(-1)).squeeze(-1)
    mask = batch.resp_mask
    loss = (-batch.advantages[:, None] * torch.exp(logp - logp.detach()) * mask).sum() / mask.sum()
    loss.backward()
    for p, g in zip(model.parameters(), opt.grads[0]):
        torch.testing.assert_close(g, p.grad, atol=1e-6, rtol=1e-4)
    entropy = -(torch.softmax(logits, -1) * torch.log_softmax(logits, -1)).sum(-1)
    assert metrics["entropy"] == pytest.approx(float((entropy * mask).sum() / mask.sum()), rel=1e-5)


# ------------------------------------------------------------------ 4. memory: chunks, budgets, checkpointing


def test_chunked_logprobs_and_entropy_equal_the_full_computation_with_their_gradients():
    torch.manual_seed(0)
    head = torch.nn.Linear(16, 500, bias=False)
    hidden = torch.randn(37, 16, requires_grad=True)
    tokens = torch.randint(0, 500, (37,))
    logits = head(hidden)
    full_lp = A.token_logprobs(logits, tokens, temperature=1.2)
    full_ent = A.entropy_from_logits(logits, temperature=1.2)
    (full_lp.sum() + full_ent.sum()).backward()
    g_full = (hidden.grad.clone(), head.weight.grad.clone())
    hidden.grad = None
    head.weight.grad = None
    lp, ent = A.chunked_logprobs(hidden, head, tokens, temperature=1.2, chunk_tokens=8, with_entropy=True, entropy_grad=True)
    (lp.sum() + ent.sum()).backward()
    torch.testing.assert_close(lp, full_lp, atol=1e-5, rtol=0)
    torch.testing.assert_close(ent, full_ent, atol=1e-5, rtol=0)
    torch.testing.assert_close(hidden.grad, g_full[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(head.weight.grad, g_full[1], atol=1e-5, rtol=1e-4)


def _largest_tensor(fn):
    """The most elements of any tensor an op produced while ``fn`` ran (forward and backward)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Largest(TorchDispatchMode):
        most = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(t, torch.Tensor):
                    Largest.most = max(Largest.most, t.numel())
            return out

    with Largest():
        fn()
    return Largest.most


@pytest.mark.parametrize("shared_prompts", [False, True])
def test_response_logprobs_never_hold_batch_x_length_x_vocab_and_equal_the_plain_forward(shared_prompts):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from prolong.trainer.loop import response_logprobs

    vocab = 4000  # much larger than the hidden size, as in real models (Qwen: 151,936 vs 1,536)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False))
    batch = _batch(vocab, n=8, prompt_len=6, resp_len=24, shared_prompts=shared_prompts)
    n, t = batch.resp_mask.shape
    model.train()
    lp_ref = None
    with torch.no_grad():
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        logits = torch.gather(logits, 1, batch.resp_pos.unsqueeze(-1).expand(-1, -1, vocab))
        lp_ref = A.token_logprobs(logits, batch.resp_tokens, temperature=1.2) * batch.resp_mask

    out = {}

    def run():
        lp, ent = response_logprobs(model, batch, with_entropy=True, temperature=1.2, chunk_tokens=16)
        (lp * batch.resp_mask).sum().backward()
        out["lp"] = lp.detach()

    most = _largest_tensor(run)
    assert most <= 4 * 16 * vocab < n * t * vocab, (most, n * t * vocab)  # a few chunks of 16 tokens, never N x T x V
    torch.testing.assert_close(out["lp"] * batch.resp_mask, lp_ref, atol=1e-5, rtol=0)


def _hand_grads(model, batch, per_token_divisor):
    """Gradients of sum(-A * ratio * mask) / divisor on-policy (ratio = exp(logp - logp.detach())), by hand."""
    vocab = model.get_output_embeddings().weight.shape[0]
    model.zero_grad()
    model.train()
    logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    logits = torch.gather(logits, 1, batch.resp_pos.unsqueeze(-1).expand(-1, -1, vocab))
    logp = torch.log_softmax(logits, -1).gather(-1, batch.resp_tokens.unsqueeze(-1)).squeeze(-1)
    mask = batch.resp_mask * batch.weights[:, None]
    (per_token_divisor(-batch.advantages[:, None] * torch.exp(logp - logp.detach()) * mask, mask)).backward()
    return [p.grad.clone() for p in model.parameters()]


def test_dr_grpo_divides_by_max_new_tokens_as_verl_or_by_the_batch_too_as_trl():
    from prolong.trainer.loop import update_policy

    torch.manual_seed(0)
    model, _ = _tiny()
    batch = _batch(model.get_output_embeddings().weight.shape[0], n=6)
    grads = {}
    for divisor in ("max_new_tokens", "batch_x_max_new_tokens"):
        opt = RecordingSGD(model.parameters())
        cfg = _cfg("loss_agg=seq-mean-token-sum-norm", "max_new_tokens=16", f"dr_grpo_divisor={divisor}", "micro_batch_size=2")
        update_policy(model, None, opt, batch, cfg, step=0, lr=0.0)
        grads[divisor] = opt.grads[0]
    assert TrainConfig().dr_grpo_divisor == "max_new_tokens"  # verl's, the default
    verl = _hand_grads(model, batch, lambda x, m: x.sum() / 16)  # sum / max_new_tokens, whatever the lengths
    trl = _hand_grads(model, batch, lambda x, m: x.sum() / (6 * 16))  # sum / (B * max_new_tokens)
    for g, v, t, tr in zip(grads["max_new_tokens"], verl, grads["batch_x_max_new_tokens"], trl):
        torch.testing.assert_close(g, v, atol=1e-6, rtol=1e-4)
        torch.testing.assert_close(t, tr, atol=1e-7, rtol=1e-4)
    with pytest.raises(Exception, match="dr_grpo_divisor"):
        _cfg("dr_grpo_divisor=batch").validate()


@pytest.mark.parametrize("agg", ["seq-mean-token-mean", "seq-mean-token-sum"])
def test_fully_masked_rows_do_not_count_in_the_sequence_means_of_an_update(agg):
    # a row with no token in the loss (truncated, under the overlong filter) changes nothing:
    # the update is the one of the batch without it, also split into micro-batches
    from prolong.trainer.loop import update_policy

    torch.manual_seed(0)
    model, _ = _tiny()
    batch = _batch(model.get_output_embeddings().weight.shape[0], n=6)
    batch.weights[3] = 0.0
    kept = batch.select(torch.tensor([0, 1, 2, 4, 5]))
    grads = []
    for b in (batch, kept):
        opt = RecordingSGD(model.parameters())
        update_policy(model, None, opt, b, _cfg(f"loss_agg={agg}", "micro_batch_size=2"), step=0, lr=0.0)
        grads.append(opt.grads[0])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)
    # and by hand: the mean over the 5 rows with tokens, not the 6 rows
    if agg == "seq-mean-token-mean":
        hand = _hand_grads(model, batch, lambda x, m: (x.sum(-1) / m.sum(-1).clamp(min=1)).sum() / 5)
    else:
        hand = _hand_grads(model, batch, lambda x, m: x.sum() / 5)
    for a, h in zip(grads[0], hand):
        torch.testing.assert_close(a, h, atol=1e-6, rtol=1e-4)


def test_token_budget_micro_batches_respect_the_budget_and_give_the_same_gradient():
    from prolong.trainer.logprobs import token_budget_micro_batches
    from prolong.trainer.loop import update_policy

    widths = [10, 3, 7, 10, 2, 25, 4]
    groups = token_budget_micro_batches(widths, 20)
    assert sorted(i for g in groups for i in g) == list(range(7))
    for g in groups:
        assert len(g) * max(widths[i] for i in g) <= 20 or len(g) == 1  # the 25-token row goes alone
    assert [5] in groups

    torch.manual_seed(0)
    model, _ = _tiny()
    batch = _batch(model.get_output_embeddings().weight.shape[0], n=6)
    grads = []
    for extra in (["micro_batch_size=128"], ["max_tokens_per_micro_batch=25"]):
        opt = RecordingSGD(model.parameters())
        update_policy(model, None, opt, batch, _cfg(*extra), step=0, lr=0.0)
        grads.append(opt.grads[0])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_activation_checkpointing_is_on_for_real_models_and_off_for_the_tiny_one(model_dir):
    from prolong.trainer.loop import load_policy

    assert TrainConfig().uses_gradient_checkpointing() is False  # the tiny default
    assert TrainConfig(model="some/model").uses_gradient_checkpointing() is True
    assert TrainConfig(model="some/model", gradient_checkpointing=False).uses_gradient_checkpointing() is False
    policy, _ = load_policy(_cfg(f"model={model_dir}"))
    assert policy.is_activation_checkpointing
    policy, _ = load_policy(_cfg(f"model={model_dir}", "gradient_checkpointing=false"))
    assert not policy.is_activation_checkpointing


# ------------------------------------------------------------------ 5. resume with an engine of its own; 9. rollback


def _digest(model):
    h = hashlib.sha256()
    for _, p in sorted(model.state_dict().items()):
        h.update(p.detach().float().numpy().tobytes())
    return h.hexdigest()


class OwnWeightsEngine:
    """Stands in for vLLM: holds its own copy of the weights (a digest of them), taken at
    construction and at each ``sync_weights``; records what it sampled from. Answers
    ``What is a + b?`` right in half the samples (informative groups); at validation
    (``temperature=0``) it gets fewer right each time (a stalling metric)."""

    log: list = []

    def __init__(self, model, tokenizer, **kwargs):
        self.tok = tokenizer
        self.weights = _digest(model)
        self.val_calls = 0
        OwnWeightsEngine.log.append(("build", self.weights))

    def sync_weights(self, model):
        self.weights = _digest(model)
        OwnWeightsEngine.log.append(("sync", self.weights))

    def generate(self, prompts, *, n, max_new_tokens, temperature, top_p=1.0, seed=None):
        OwnWeightsEngine.log.append(("generate", self.weights))
        if temperature == 0:
            self.val_calls += 1
        out = []
        for j, prompt in enumerate(prompts):
            a, b = map(int, re.findall(r"\d+", prompt)[:2])
            group = []
            for i in range(n):
                right = (i % 2 == 0) if temperature > 0 else j < len(prompts) // (self.val_calls + 1)
                text = f"\\boxed{{{a + b if right else a + b + 1}}}"
                ids = self.tok(text, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
                group.append(Completion(text, self.tok("What is", add_special_tokens=False)["input_ids"], ids, "stop"))
            out.append(group)
        return out


def _run(model_dir, out_dir, monkeypatch, *extra):
    import prolong.trainer.loop as loop

    monkeypatch.setattr(loop, "build_engine", lambda kind, model, tok, **kw: OwnWeightsEngine(model, tok, **kw))
    cfg = TrainConfig.from_args([
        f"model={model_dir}", f"out_dir={out_dir}", "envs=[prolong/toy-add-v0]", "env_kwargs.prolong/toy-add-v0.max_operand=5",
        "prompts_per_step=2", "num_generations=2", "lr=1e-2", "kl_coef=0.01", "val_problems=4", "val_k=0", "warmup_steps=0",
        "progress=false", "tensorboard=false", "plot=false", "save_final_model=false", "num_threads=1", *extra,
    ])
    return loop.train(cfg, log=lambda *a: None)


def test_resume_gives_the_engine_the_checkpoint_weights_before_it_samples(model_dir, tmp_path, monkeypatch):
    run = tmp_path / "run"
    _run(model_dir, run, monkeypatch, "stages=[]", "steps=2", "save_every=1", "val_every=0")
    saved = torch.load(run / "checkpoints" / "step_000002" / "state.pt", weights_only=False)["policy"]
    h = hashlib.sha256()
    for _, p in sorted(saved.items()):
        h.update(p.detach().float().numpy().tobytes())
    OwnWeightsEngine.log = []
    _run(model_dir, run, monkeypatch, "stages=[]", "steps=3", "save_every=1", "val_every=0", "resume=true")
    first_sample = next(w for kind, w in OwnWeightsEngine.log if kind == "generate")
    assert first_sample == h.hexdigest()  # not the initial weights the engine was built with
    assert OwnWeightsEngine.log[0][1] != h.hexdigest()


def test_a_rollback_reset_restores_the_best_validated_policy(model_dir, tmp_path, monkeypatch):
    from prolong.trainer.loop import load_policy

    initial = _digest(load_policy(TrainConfig(model=str(model_dir), gradient_checkpointing=False))[0])
    OwnWeightsEngine.log = []
    result = _run(model_dir, tmp_path / "run", monkeypatch, "stages=[]", "steps=3", "save_every=0", "val_every=1",
                  "reset_on_plateau=true", "reset_patience=1", "reset_rollback=true")
    resets = [r for r in result.metrics if r.get("event") == "reset"]
    assert resets and resets[0]["rollback_to_step"] == 0  # validation only got worse after step 0
    syncs = [w for kind, w in OwnWeightsEngine.log if kind == "sync"]
    assert initial in syncs  # the engine was handed the restored (initial, best) weights


def test_lr_stays_constant_across_resets_when_the_schedule_does_not_restart():
    from prolong.trainer.resets import lr_at

    resets = {0: 0, 1: 0, 2: 0, 3: 3, 4: 3, 5: 3, 6: 6, 7: 6}  # step -> last reset step
    kw = dict(stage_end=8, total_steps=8, warmup=2)
    const = [lr_at(1.0, s, last_reset_step=r, kind="constant", restart_at_reset=False, **kw) for s, r in resets.items()]
    assert const == [0.5] + [1.0] * 7  # one warmup, then constant through the resets at 3 and 6
    cos = [lr_at(1.0, s, last_reset_step=r, kind="cosine", restart_at_reset=False, **kw) for s, r in resets.items()]
    assert all(a >= b for a, b in zip(cos[1:], cos[2:]))  # one decay, no jump back up at a reset
    restart = [lr_at(1.0, s, last_reset_step=r, kind="constant", restart_at_reset=True, **kw) for s, r in resets.items()]
    assert restart == [0.5, 1.0, 1.0, 0.5, 1.0, 1.0, 0.5, 1.0]  # the warmup restarts at each reset


# ------------------------------------------------------------------ 6. sharded validation

SHARD_SCRIPT = r"""
import json, os, re, sys, torch
from types import SimpleNamespace
from prolong.core import Problem
from prolong.trainer import distributed as D
from prolong.trainer.engines import Completion
from prolong.trainer.loop import evaluate

class Engine:
    seen = []
    def generate(self, prompts, *, n, max_new_tokens, temperature, top_p=1.0, seed=None):
        Engine.seen += prompts
        out = []
        for p in prompts:
            a, b = map(int, re.findall(r"\d+", p))
            out.append([Completion(f"\\boxed{{{a + b if (a + i) % 3 else a + b + 1}}}", [1], [2], "stop") for i in range(n)])
        return out
    def sync_weights(self, model):
        pass

D.setup(SimpleNamespace(num_threads=1), torch.device("cpu"), 1)
problems = [Problem(id=str(i), prompt=f"What is {i} + {i % 4}?", answer=str(i + i % 4), domain="toy_add", metadata={}) for i in range(11)]
m = evaluate(Engine(), {"prolong/toy-add-v0": problems}, max_new_tokens=4, k=3)
print(json.dumps({"rank": D.rank(), "metrics": m, "seen": sorted(set(Engine.seen))}))
D.finish()
"""


def test_validation_is_sharded_over_ranks_and_the_results_gathered(tmp_path):
    script = tmp_path / "shard.py"
    script.write_text(SHARD_SCRIPT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, str(script)], env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) for r in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    res = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    a, b = res
    assert not set(a["seen"]) & set(b["seen"]) and len(a["seen"]) + len(b["seen"]) == 11  # each problem on one rank
    assert a["metrics"] == b["metrics"]  # every rank has every result
    env1 = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    single = subprocess.run([sys.executable, str(script)], env=env1, capture_output=True, text=True, cwd=ROOT, timeout=120)
    one = json.loads(single.stdout.strip().splitlines()[-1])
    assert one["metrics"] == a["metrics"] and len(one["seen"]) == 11


# ------------------------------------------------------------------ 8. the paper's config


def test_the_prorl_config_gives_the_intended_updates_per_step():
    cfg = TrainConfig.from_args([str(ROOT / "configs" / "prorl-1.5b.yaml")])
    cfg.validate()
    for i in range(len(cfg.stages)):
        s = cfg.stage_config(i)
        assert s.prompts_per_step * s.num_generations // s.mini_batch_sequences() == 4, i  # 256 prompts / 64 per update
    assert (cfg.temperature, cfg.eps_low, cfg.eps_high, cfg.lr, cfg.num_generations) == (1.2, 0.2, 0.4, 2e-6, 16)
    assert cfg.dtype == "bfloat16" and cfg.fp32_master_weights and cfg.lr_schedule == "constant"
    assert cfg.reset_restarts_warmup is False
    assert cfg.stage_config(len(cfg.stages) - 1).max_new_tokens == 16384 and cfg.max_new_tokens == 8192
    text = (ROOT / "configs" / "prorl-1.5b.yaml").read_text()
    assert "GUESS" in text  # values the papers do not publish are marked
