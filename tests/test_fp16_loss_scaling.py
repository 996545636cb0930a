"""Dynamic loss scaling for float16 compute over float32 master weights
(``prolong/trainer/precision.py``, ``dtype: float16``): GradScaler's algorithm, the
gradients that underflow without it, inf/NaN skips, gradient accumulation, clipping on
unscaled gradients, hard resets and checkpoint/resume."""

import re

import pytest
import torch

from prolong.trainer.config import ConfigError, TrainConfig
from prolong.trainer.engines import Completion
from prolong.trainer.precision import LossScaler

TINY_ADV = 1e-7  # advantages this small give float16 activation gradients below its smallest subnormal (6e-8)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A saved random Qwen2 model (hidden 32, 2 layers) and tokenizer."""
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    d = tmp_path_factory.mktemp("tiny-model")
    tok = build_tokenizer([f"What is {a} + {b}? The answer is \\boxed{{{a + b}}}." for a in range(10) for b in range(10)],
                          vocab_size=280)
    build_tiny_model(tok, hidden_size=32, layers=2, heads=4, seed=0).save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _cfg(model_dir, *extra):
    base = [f"model={model_dir}", "stages=[]", "steps=1", "kl_coef=0", "max_grad_norm=0", "mini_batch_size=1000",
            "ppo_epochs=1", "dtype=float16"]
    return TrainConfig.from_args(base + list(extra))


def _batch(vocab, *, adv=1.0, n=6, prompt_len=5, resp_len=7, seed=0):
    """A loss batch of ``n`` random sequences with ragged responses and +-adv advantages."""
    from prolong.trainer.loop import Rollout, build_batch

    g = torch.Generator().manual_seed(seed)
    comps = []
    for i in range(n):
        prompt = torch.randint(3, vocab, (prompt_len + i % 2,), generator=g).tolist()
        resp = torch.randint(3, vocab, (resp_len - (i % 3),), generator=g).tolist()
        comps.append(Completion("", prompt, resp, "stop"))
    advantages = torch.tensor([adv if i % 2 == 0 else -adv for i in range(n)])
    return build_batch(Rollout(completions=[comps]), advantages, pad_id=0, overlong_filter=False)


class RecordingAdamW(torch.optim.AdamW):
    """AdamW that keeps the gradients it was stepped with (update_policy clears them afterwards)."""

    def __init__(self, named, lr):
        self.names = [n for n, _ in named]
        super().__init__([p for _, p in named], lr=lr)
        self.grads = []

    def step(self, closure=None):
        self.grads.append({n: p.grad.detach().clone() for n, p in zip(self.names, self.param_groups[0]["params"])
                           if p.grad is not None})
        return super().step(closure)


def _update(model_dir, *extra, adv=TINY_ADV, scaler=None, policy=None, opt=None):
    from prolong.trainer.loop import load_policy, update_policy

    cfg = _cfg(model_dir, *extra)
    if policy is None:
        policy, _ = load_policy(cfg)
    opt = opt or RecordingAdamW(list(policy.named_parameters()), lr=1e-3)
    before = {k: v.detach().clone() for k, v in policy.named_parameters()}
    batch = _batch(len(policy.get_output_embeddings().weight), adv=adv)
    metrics = update_policy(policy, None, opt, batch, cfg, step=0, lr=1e-3, scaler=scaler)
    return policy, opt, before, metrics


def _cosine(a: dict, b: dict) -> float:
    dot = sum(float((a[k].double() * b[k].double()).sum()) for k in a)
    na = sum(float((a[k].double() ** 2).sum()) for k in a) ** 0.5
    nb = sum(float((b[k].double() ** 2).sum()) for k in b) ** 0.5
    return dot / (na * nb)


# ------------------------------------------------------------------ the algorithm: GradScaler's, step for step


def test_the_scale_and_the_skipped_steps_follow_torch_gradscaler():
    # the same parameter trained by SGD through GradScaler and through LossScaler, with gradients
    # that are sometimes inf or NaN: same scale after every step, same weights, same skips
    coefs = [1.0, 2.0, float("inf"), 0.5, 1.0, 1.0, float("nan"), 1.0, 1.0, 1.0, 3.0, 1.0]
    ref_p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    our_p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    ref_opt, our_opt = torch.optim.SGD([ref_p], lr=0.1), torch.optim.SGD([our_p], lr=0.1)
    ref = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)
    ours = LossScaler(init_scale=2.0**10, growth_interval=3)
    scales = []
    for c in coefs:
        for p, opt in ((ref_p, ref_opt), (our_p, our_opt)):
            opt.zero_grad()
        ref.scale((ref_p * c).sum()).backward()
        ref.unscale_(ref_opt)
        ref.step(ref_opt)
        ref.update()
        ours.scale_loss((our_p * c).sum()).backward()
        found_inf = ours.unscale_([our_p])
        if not found_inf:
            our_opt.step()
        ours.update(found_inf)
        assert ours.scale == ref.get_scale()
        assert torch.equal(our_p.detach(), ref_p.detach()) and torch.isfinite(our_p).all()
        scales.append(ours.scale)
    assert ours.skipped == 2
    assert any(b < a for a, b in zip(scales, scales[1:])) and any(b > a for a, b in zip(scales, scales[1:]))  # backed off, grew
    state = ours.state_dict()
    assert {k: state[k] for k in ref.state_dict()} == ref.state_dict()  # GradScaler's keys and values


def test_a_disabled_scaler_changes_nothing():
    s = LossScaler.from_config(TrainConfig(dtype="bfloat16"))
    loss = torch.tensor(3.0)
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.tensor([float("inf"), 1.0])
    assert not s.enabled and s.scale_loss(loss) is loss and s.unscale_([p]) is False and s.state_dict() == {}
    assert LossScaler.from_config(TrainConfig(dtype="float16")).enabled
    assert not LossScaler.from_config(TrainConfig(dtype="float16", loss_scaling=False)).enabled


def test_config_checks():
    with pytest.raises(ConfigError, match="fp32_master_weights"):
        TrainConfig(dtype="float16", fp32_master_weights=False, stages=[], steps=1).validate()
    TrainConfig(dtype="float16", fp32_master_weights=False, loss_scaling=False, stages=[], steps=1).validate()
    with pytest.raises(ConfigError, match="loss_scale_init"):
        TrainConfig(loss_scale_init=0.0, stages=[], steps=1).validate()
    with pytest.raises(ConfigError, match="loss_scale_growth_interval"):
        TrainConfig(loss_scale_growth_interval=0, stages=[], steps=1).validate()


# ------------------------------------------------------------------ in update_policy


def test_gradients_that_underflow_in_float16_move_the_weights_with_loss_scaling(model_dir):
    # without scaling, every float16 activation gradient flushes to zero: no weight moves
    _, opt, before, metrics = _update(model_dir, "loss_scaling=false")
    assert all(float(g.abs().max()) == 0.0 for g in opt.grads[0].values())
    assert "loss_scale" not in metrics
    # the fp32 gradient of the same batch, for the direction
    _, opt32, _, _ = _update(model_dir, "dtype=float32")
    # with the default scaling (2**16) the gradient is there, in the fp32 gradient's direction
    policy, opt, before, metrics = _update(model_dir)
    assert metrics["loss_scale"] == 65536.0 and metrics["updates_skipped"] == 0
    assert _cosine(opt.grads[0], opt32.grads[0]) > 0.999
    for name, p in policy.named_parameters():
        if "embed_tokens" in name or "k_proj.bias" in name:
            # tied with the output layer, rows of unused tokens only move through it; a key bias
            # shifts all scores of a query alike, so its exact gradient is 0 (rounding noise only)
            continue
        moved = (p.detach() != before[name]).float().mean().item()
        assert moved > 0.9, (name, moved)


def test_micro_batches_share_one_scale_and_clipping_sees_the_unscaled_gradient(model_dir):
    whole = _update(model_dir, "micro_batch_size=1000")[1].grads[0]
    per_row = _update(model_dir, "micro_batch_size=1")[1].grads[0]  # six backward passes accumulated, one unscale
    assert _cosine(whole, per_row) > 0.9999
    norm = sum(float((g.double() ** 2).sum()) for g in whole.values()) ** 0.5
    assert all(torch.allclose(per_row[k], whole[k], rtol=1e-2, atol=1e-3 * norm) for k in whole)
    # clipping to a norm far below the gradient's: the stepped gradient has exactly that norm,
    # which it would not if the scaled gradient had been clipped and then unscaled (norm / 65536)
    clipped = _update(model_dir, "micro_batch_size=2", "max_grad_norm=1e-12")[1].grads[0]
    clipped_norm = sum(float((g.double() ** 2).sum()) for g in clipped.values()) ** 0.5
    assert norm > 1e-10 and clipped_norm == pytest.approx(1e-12, rel=1e-3)


def test_the_scale_grows_per_optimizer_update_not_per_micro_batch(model_dir):
    scaler = LossScaler(init_scale=2.0**10, growth_interval=2)
    # 6 sequences in mini-batches of 3 (2 updates), each in 3 micro-batches of 1 (6 backward passes)
    _update(model_dir, "mini_batch_size=3", "micro_batch_size=1", scaler=scaler)
    assert scaler.scale == 2.0**11 and scaler.growth_tracker == 0 and scaler.skipped == 0


def test_an_inf_gradient_skips_the_update_without_touching_the_weights_and_lowers_the_scale(model_dir):
    scaler = LossScaler(init_scale=2.0**40)  # float16 gradients overflow (> 65504) at this scale
    policy, opt, before, metrics = _update(model_dir, adv=1.0, scaler=scaler)
    assert metrics["updates_skipped"] == 1 and metrics["loss_scale"] == 2.0**39 and scaler.skipped == 1
    assert opt.grads == [] and opt.state == {}  # no optimizer step: AdamW's moments and step count untouched
    assert all(torch.equal(p.detach(), before[n]) for n, p in policy.named_parameters())
    assert all(p.grad is None for p in policy.parameters())  # the inf gradients were thrown away
    # the scale backs off until the gradients fit, then the update happens, with finite weights
    for _ in range(40):
        _, _, before, metrics = _update(model_dir, adv=1.0, scaler=scaler, policy=policy, opt=opt)
        if metrics["updates_skipped"] == 0:
            break
    assert metrics["updates_skipped"] == 0 and scaler.scale < 2.0**39 and len(opt.grads) == 1
    assert any(not torch.equal(p.detach(), before[n]) for n, p in policy.named_parameters())
    assert all(torch.isfinite(p).all() for p in policy.parameters())


def test_a_nan_advantage_is_skipped_too(model_dir):
    from prolong.trainer.loop import load_policy, update_policy

    cfg = _cfg(model_dir)
    policy, _ = load_policy(cfg)
    before = {k: v.detach().clone() for k, v in policy.named_parameters()}
    batch = _batch(len(policy.get_output_embeddings().weight))
    batch.advantages[0] = float("nan")
    metrics = update_policy(policy, None, torch.optim.AdamW(policy.parameters(), lr=1e-3), batch, cfg, step=0, lr=1e-3)
    assert metrics["updates_skipped"] == 1 and metrics["loss_scale"] == 32768.0
    assert all(torch.equal(p.detach(), before[n]) for n, p in policy.named_parameters())


def test_a_hard_reset_restarts_the_scale():
    from prolong.trainer.resets import hard_reset

    policy = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(policy.parameters())
    scaler = LossScaler(init_scale=2.0**12, growth_interval=2)
    for found_inf in (True, True, False):
        scaler.update(found_inf)
    assert (scaler.scale, scaler.growth_tracker) == (2.0**10, 1)
    hard_reset(policy, None, opt, scaler=scaler)
    assert (scaler.scale, scaler.growth_tracker) == (2.0**12, 0)


# ------------------------------------------------------------------ in train(): resets, checkpoints, resume


class HalfRightEngine:
    """Answers ``What is a + b?`` right in half the samples (informative groups); no model."""

    def __init__(self, model, tokenizer, **kwargs):
        self.tok = tokenizer

    def sync_weights(self, model):
        pass

    def generate(self, prompts, *, n, max_new_tokens, temperature, top_p=1.0, seed=None):
        out = []
        for prompt in prompts:
            a, b = map(int, re.findall(r"\d+", prompt)[:2])
            group = []
            for i in range(n):
                text = f"\\boxed{{{a + b if i % 2 == 0 else a + b + 1}}}"
                ids = self.tok(text, add_special_tokens=False)["input_ids"] + [self.tok.eos_token_id]
                group.append(Completion(text, self.tok("What is", add_special_tokens=False)["input_ids"], ids, "stop"))
            out.append(group)
        return out


def _train(model_dir, out_dir, monkeypatch, *extra):
    import prolong.trainer.loop as loop

    monkeypatch.setattr(loop, "build_engine", lambda kind, model, tok, **kw: HalfRightEngine(model, tok, **kw))
    cfg = TrainConfig.from_args([
        f"model={model_dir}", f"out_dir={out_dir}", "envs=[prolong/toy-add-v0]", "env_kwargs.prolong/toy-add-v0.max_operand=5",
        "prompts_per_step=2", "num_generations=2", "lr=1e-2", "kl_coef=0.01", "val_problems=2", "val_k=0", "warmup_steps=0",
        "progress=false", "tensorboard=false", "plot=false", "save_final_model=false", "num_threads=1", "dtype=float16",
        "stages=[]", "steps=3", "val_every=0", *extra,
    ])
    return loop.train(cfg, log=lambda *a: None)


def _steps(result):
    return [r for r in result.metrics if "loss_scale" in r]


def test_a_hard_reset_in_a_run_restarts_the_loss_scale(model_dir, tmp_path, monkeypatch):
    # at 2**40 every update overflows: one update per step halves the scale each step...
    plain = _steps(_train(model_dir, tmp_path / "plain", monkeypatch, "loss_scale_init=1099511627776", "save_every=0"))
    assert [r["loss_scale"] for r in plain] == [2.0**39, 2.0**38, 2.0**37]
    assert [r["updates_skipped"] for r in plain] == [1, 1, 1]
    # ...unless a hard reset before each step puts it back to 2**40
    reset = _steps(_train(model_dir, tmp_path / "reset", monkeypatch, "loss_scale_init=1099511627776", "save_every=0",
                          "reset_every=1"))
    assert [r["loss_scale"] for r in reset] == [2.0**39, 2.0**39, 2.0**39]


def test_a_resumed_fp16_run_restores_the_loss_scale_and_matches_an_uninterrupted_one(model_dir, tmp_path, monkeypatch):
    import shutil

    from prolong.trainer.loop import load_policy

    # 4 updates per step from a scale of 2**22: the first ones overflow and back off, later ones step
    args = ["loss_scale_init=4194304", "mini_batch_size=1", "save_every=1", "keep_checkpoints=3", "lr_schedule=constant"]
    full = _train(model_dir, tmp_path / "full", monkeypatch, *args)
    steps = _steps(full)
    assert steps[0]["updates_skipped"] >= 1 and sum(r["updates_skipped"] for r in steps) < 12  # skipped, then stepped
    state = torch.load(tmp_path / "full" / "checkpoints" / "step_000001" / "state.pt", weights_only=False)
    assert state["scaler"]["scale"] == steps[0]["loss_scale"] < 2.0**22
    # resume from the step-1 checkpoint in another directory, same config
    (tmp_path / "resumed" / "checkpoints").mkdir(parents=True)
    shutil.copytree(tmp_path / "full" / "checkpoints" / "step_000001", tmp_path / "resumed" / "checkpoints" / "step_000001")
    resumed = _steps(_train(model_dir, tmp_path / "resumed", monkeypatch, *args, "resume=true"))
    assert [(r["loss_scale"], r["updates_skipped"]) for r in resumed] == [(r["loss_scale"], r["updates_skipped"]) for r in steps]
    final = {k: torch.load(tmp_path / d / "checkpoints" / "step_000003" / "state.pt", weights_only=False)
             for k, d in (("full", "full"), ("resumed", "resumed"))}
    assert final["full"]["scaler"] == final["resumed"]["scaler"]
    initial = load_policy(TrainConfig(model=str(model_dir), gradient_checkpointing=False))[0].state_dict()
    assert any(not torch.equal(v, initial[k]) for k, v in final["full"]["policy"].items())  # it trained
    assert all(torch.equal(v, final["resumed"]["policy"][k]) for k, v in final["full"]["policy"].items())  # bit for bit
