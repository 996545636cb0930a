"""The GRPO/DAPO pieces as small pure functions over tensors.

Each function states its formula; ``tests/test_trainer_algorithms.py`` checks each one
against values computed by hand. The training loop (:mod:`prolong.trainer.loop`) only
calls these; nothing here holds state.

Shapes: ``(B, T)`` tensors are per response token (``B`` sequences, ``T`` response
positions); ``mask`` is 1.0 on real response tokens and 0.0 on padding. Rewards and
advantages of a group of ``G`` samples of one prompt are laid out as ``(num_groups, G)``.

References: GRPO (DeepSeekMath, arXiv 2402.03300), DAPO (arXiv 2503.14476), Dr.GRPO
(arXiv 2503.20783), ProRL (arXiv 2505.24864, 2507.12507); the same formulas as verl's
``core_algos.py`` and TRL's ``GRPOTrainer``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "group_advantages",
    "policy_ratio",
    "PolicyLoss",
    "clipped_policy_loss",
    "kl_k1",
    "kl_k2",
    "kl_k3",
    "kl_penalty",
    "KL_ESTIMATORS",
    "aggregate_loss",
    "LOSS_AGGREGATIONS",
    "informative_groups",
    "overlong_penalty",
    "truncation_mask",
    "entropy_from_logits",
    "token_logprobs",
    "chunked_logprobs",
    "LOG_RATIO_CLAMP",
    "KL_K3_CLAMP",
    "KL_K3_BOUND",
    "DUAL_CLIP",
    "pass_at_k",
]

# Numeric guards, verl's defaults (``core_algos.py``: ``compute_policy_loss`` clamps the
# log-ratio to +-20 before ``exp``; ``kl_penalty("low_var_kl")`` clamps its input to +-20
# and its value to [-10, 10]; the actor's ``clip_ratio_c`` is 3.0). On ordinary inputs
# (|log-ratio| < 20, k3 < 10) they change nothing; on a token whose probability moved by
# e^20 they keep the loss and the gradient finite.
LOG_RATIO_CLAMP = 20.0
KL_K3_CLAMP = 20.0
KL_K3_BOUND = 10.0
DUAL_CLIP = 3.0


# --------------------------------------------------------------------------- advantages


def group_advantages(rewards: Tensor, *, scale: bool = True, eps: float = 1e-6) -> Tensor:
    """Group-relative advantages (GRPO, arXiv 2402.03300 eq. 3; Dr.GRPO without the std).

    For the ``G`` rewards ``r_1..r_G`` of one prompt (one row of ``rewards``)::

        GRPO     (scale=True):   A_i = (r_i - mean(r)) / (std(r) + eps)
        Dr.GRPO  (scale=False):  A_i =  r_i - mean(r)

    ``std`` is the unbiased sample standard deviation (Bessel's correction, as
    ``torch.std`` in verl and TRL). A group of one sample has advantage 0. The
    advantage of a sequence is broadcast to each of its tokens by the caller.

    Args:
        rewards: ``(num_groups, G)`` float tensor.
    Returns:
        ``(num_groups, G)`` advantages.
    """
    if rewards.dim() != 2:
        raise ValueError(f"rewards must be (num_groups, G), got shape {tuple(rewards.shape)}")
    rewards = rewards.float()
    if rewards.shape[1] < 2:
        return torch.zeros_like(rewards)
    centered = rewards - rewards.mean(dim=1, keepdim=True)
    if not scale:
        return centered
    return centered / (rewards.std(dim=1, keepdim=True) + eps)


# --------------------------------------------------------------------------- policy loss


def policy_ratio(logp: Tensor, old_logp: Tensor, *, clamp: float | None = LOG_RATIO_CLAMP) -> Tensor:
    """Importance ratio per token (PPO, arXiv 1707.06347)::

        ratio = exp(clamp(logp - old_logp, -c, c))        c = 20 (verl), None = no clamp

    The clamp keeps ``exp`` finite (e^20 ~ 4.9e8); beyond it the gradient is zero.
    """
    log_ratio = logp - old_logp
    if clamp is not None:
        log_ratio = torch.clamp(log_ratio, min=-clamp, max=clamp)
    return torch.exp(log_ratio)


class PolicyLoss(NamedTuple):
    """What :func:`clipped_policy_loss` returns (all ``(B, T)``).

    Attributes:
        loss: per-token loss, to be aggregated with :func:`aggregate_loss`.
        ratio: ``exp(logp - old_logp)``.
        clipped_low: tokens where the lower clip is active (``A < 0`` and
            ``ratio < 1 - eps_low``): the gradient is zero there.
        clipped_high: tokens where the upper clip is active (``A > 0`` and
            ``ratio > 1 + eps_high``).
        dual_clipped: tokens where the dual clip bounds the loss (``A < 0`` and
            ``ratio > dual_clip``); all False without a dual clip.
    """

    loss: Tensor
    ratio: Tensor
    clipped_low: Tensor
    clipped_high: Tensor
    dual_clipped: Tensor


def clipped_policy_loss(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    *,
    eps_low: float = 0.2,
    eps_high: float = 0.4,
    dual_clip: float | None = DUAL_CLIP,
    log_ratio_clamp: float | None = LOG_RATIO_CLAMP,
) -> PolicyLoss:
    """PPO clipped surrogate with decoupled clip range (DAPO "clip-higher") and dual clip.

    Per token, with ``r = exp(logp - old_logp)``::

        loss = max(-A * r, -A * clip(r, 1 - eps_low, 1 + eps_high))

    and with a dual clip ``c > 1`` (Dual-clip PPO, arXiv 1912.09729), for ``A < 0`` only::

        loss = min(loss, -A * c)

    ``eps_low=0.2, eps_high=0.4`` are the values of ProRL (arXiv 2507.12507); DAPO uses
    0.2 / 0.28; symmetric PPO/GRPO uses 0.2 / 0.2. The dual clip is on by default with
    ``c = 3`` (verl's ``clip_ratio_c``); ``dual_clip=None`` turns it off. The log-ratio is
    clamped to ``+-log_ratio_clamp`` before ``exp`` (:func:`policy_ratio`). ``advantages``
    broadcasts against ``logp`` (pass ``(B, 1)`` for per-sequence advantages).
    """
    if dual_clip is not None and dual_clip <= 1.0:
        raise ValueError(f"dual_clip must be > 1 (3.0 in the paper), got {dual_clip}")
    advantages = advantages.expand_as(logp)
    ratio = policy_ratio(logp, old_logp, clamp=log_ratio_clamp)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    loss = torch.maximum(unclipped, clipped)
    clipped_low = (advantages < 0) & (ratio < 1.0 - eps_low)
    clipped_high = (advantages > 0) & (ratio > 1.0 + eps_high)
    if dual_clip is not None:
        bound = -advantages * dual_clip
        dual_clipped = (advantages < 0) & (loss > bound)
        loss = torch.where(dual_clipped, bound, loss)
    else:
        dual_clipped = torch.zeros_like(clipped_low)
    return PolicyLoss(loss, ratio, clipped_low, clipped_high, dual_clipped)


# --------------------------------------------------------------------------- KL


def kl_k1(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k1 estimator of KL(pi || pi_ref) on samples of pi: ``logp - ref_logp``.

    Unbiased, high variance, can be negative (Schulman, "Approximating KL divergence", 2020).
    """
    return logp - ref_logp


def kl_k2(logp: Tensor, ref_logp: Tensor) -> Tensor:
    """k2 estimator: ``0.5 * (logp - ref_logp) ** 2``. Biased, low variance, >= 0."""
    return 0.5 * (logp - ref_logp) ** 2


def kl_k3(logp: Tensor, ref_logp: Tensor, *, clamp: float | None = KL_K3_CLAMP, bound: float | None = KL_K3_BOUND) -> Tensor:
    """k3 estimator ("low_var_kl" in verl, TRL's GRPO KL)::

        d  = clamp(ref_logp - logp, -20, 20)
        k3 = clamp(exp(d) - d - 1, -10, 10)

    Unbiased, low variance, always >= 0. The two clamps are verl's guards (``clamp=None``,
    ``bound=None`` turn them off; TRL has none): a token far from the reference adds at
    most 10 to the loss and no gradient beyond that.
    """
    d = ref_logp - logp
    if clamp is not None:
        d = torch.clamp(d, min=-clamp, max=clamp)
    k3 = torch.exp(d) - d - 1.0
    if bound is not None:
        k3 = torch.clamp(k3, min=-bound, max=bound)
    return k3


KL_ESTIMATORS = {"k1": kl_k1, "k2": kl_k2, "k3": kl_k3}


def kl_penalty(
    logp: Tensor, ref_logp: Tensor, estimator: str = "k3", *,
    k3_clamp: float | None = KL_K3_CLAMP, k3_bound: float | None = KL_K3_BOUND,
) -> Tensor:
    """Per-token KL estimate by name: ``"k1"``, ``"k2"`` or ``"k3"`` (see each function;
    ``k3_clamp``/``k3_bound`` are k3's guards)."""
    try:
        fn = KL_ESTIMATORS[estimator]
    except KeyError:
        raise ValueError(f"unknown KL estimator {estimator!r}; choose one of {sorted(KL_ESTIMATORS)}") from None
    if fn is kl_k3:
        return kl_k3(logp, ref_logp, clamp=k3_clamp, bound=k3_bound)
    return fn(logp, ref_logp)


# --------------------------------------------------------------------------- aggregation

LOSS_AGGREGATIONS = ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm")


def aggregate_loss(
    loss: Tensor,
    mask: Tensor,
    mode: str = "token-mean",
    *,
    num_tokens: float | Tensor | None = None,
    num_seqs: float | None = None,
    max_len: int | None = None,
) -> Tensor:
    """Reduce a ``(B, T)`` per-token loss to a scalar. With ``m`` the mask and ``B'`` the
    number of rows with at least one unmasked token::

        token-mean               sum_i sum_t l_it m_it / sum_i sum_t m_it        (DAPO; ProRL)
        seq-mean-token-sum       1/B' sum_i (sum_t l_it m_it)
        seq-mean-token-mean      1/B' sum_i (sum_t l_it m_it / sum_t m_it)       (original GRPO)
        seq-mean-token-sum-norm  sum_i sum_t l_it m_it / max_len                 (Dr.GRPO, as verl)

    Fully masked rows (a truncated response under the overlong filter, an empty
    response) do not count in ``B'``, as in verl. ``seq-mean-token-sum-norm`` divides
    by a constant length only, as verl's ``agg_loss`` does (Dr.GRPO, arXiv 2503.20783:
    "a constant ... so that the gradient does not depend on response lengths"); TRL's
    ``loss_type="dr_grpo"`` divides by ``B * max_len`` instead, so this loss is ``B``
    times TRL's (the gradient scale grows with the batch; Adam is nearly invariant to
    it, gradient clipping by norm is not). The trainer passes ``max_len = max_new_tokens``
    (verl) or ``B * max_new_tokens`` (TRL) as ``dr_grpo_divisor`` says.

    When a batch is split into micro-batches whose gradients are accumulated, pass
    the whole batch's ``num_tokens`` (sum of its mask) and ``num_seqs`` (its rows with a
    token) so that the micro-batch losses add up to the loss of the whole batch.
    ``max_len`` defaults to ``T``; Dr.GRPO uses a constant (the generation budget,
    ``max_new_tokens``).
    """
    mask = mask.to(loss.dtype)
    masked = loss * mask
    b = float(num_seqs) if num_seqs is not None else float((mask.sum(dim=-1) > 0).sum())
    if mode == "token-mean":
        denom = num_tokens if num_tokens is not None else mask.sum()
        return masked.sum() / torch.clamp(torch.as_tensor(denom, dtype=loss.dtype), min=1.0)
    if mode == "seq-mean-token-sum":
        return masked.sum() / max(b, 1.0)
    if mode == "seq-mean-token-mean":
        per_seq = masked.sum(dim=-1) / mask.sum(dim=-1).clamp(min=1.0)
        return per_seq.sum() / max(b, 1.0)
    if mode == "seq-mean-token-sum-norm":
        horizon = float(max_len if max_len is not None else loss.shape[-1])
        return masked.sum() / max(horizon, 1.0)
    raise ValueError(f"unknown loss aggregation {mode!r}; choose one of {list(LOSS_AGGREGATIONS)}")


# --------------------------------------------------------------------------- DAPO data filters


def informative_groups(rewards: Tensor, *, atol: float = 1e-9) -> Tensor:
    """DAPO dynamic sampling (arXiv 2503.14476, eq. 11): keep a group unless all its
    rewards are equal::

        keep_g = max_i r_gi - min_i r_gi > atol

    A group whose samples all score the same has zero advantage everywhere and
    gives no policy gradient (only KL). Returns a ``(num_groups,)`` bool tensor.
    """
    if rewards.dim() != 2:
        raise ValueError(f"rewards must be (num_groups, G), got shape {tuple(rewards.shape)}")
    return (rewards.max(dim=1).values - rewards.min(dim=1).values) > atol


def overlong_penalty(lengths: Tensor, *, max_len: int, buffer: int, factor: float = 1.0) -> Tensor:
    """DAPO soft overlong punishment (arXiv 2503.14476, eq. 13), added to the reward::

        penalty(L) = min(-(L - (max_len - buffer)) / buffer * factor, 0)

    0 for responses up to ``max_len - buffer`` tokens, falling linearly to
    ``-factor`` at ``max_len``. ``buffer=0`` turns it off (all zeros).
    """
    lengths = lengths.float()
    if buffer <= 0:
        return torch.zeros_like(lengths)
    return torch.clamp(-(lengths - (max_len - buffer)) / buffer * factor, max=0.0)


def truncation_mask(truncated: Tensor) -> Tensor:
    """DAPO overlong filtering: per-sequence loss weight ``1 - truncated``.

    A response cut at the token budget (``finish_reason == "length"``) has no final
    answer through no fault of its content; masking it out of the loss keeps that
    noise out of the gradient. Returns a float ``(B,)`` tensor of 0/1.
    """
    return (~truncated.bool()).float()


# --------------------------------------------------------------------------- model outputs


def _scaled(logits: Tensor, temperature: float) -> Tensor:
    logits = logits.float()
    if temperature > 0 and temperature != 1.0:
        logits = logits / temperature
    return logits


def token_logprobs(logits: Tensor, tokens: Tensor, *, temperature: float = 1.0) -> Tensor:
    """``log softmax(logits / temperature)[token]`` per position: ``logits`` ``(B, T, V)``,
    ``tokens`` ``(B, T)``.

    Computed as ``z[token] - logsumexp(z)`` with ``z = logits / temperature`` in float32.
    The temperature is the rollout's: the samples came from ``softmax(logits / T)``, so
    the ratio, the KL and the entropy are those of that distribution (as verl and TRL
    compute them). ``temperature`` 0 (greedy) or 1 leaves the logits as they are.
    """
    z = _scaled(logits, temperature)
    picked = torch.gather(z, -1, tokens.unsqueeze(-1)).squeeze(-1)
    return picked - torch.logsumexp(z, dim=-1)


def entropy_from_logits(logits: Tensor, *, temperature: float = 1.0) -> Tensor:
    """Entropy of the next-token distribution per position, ``z = logits / temperature``::

        H = logsumexp(z) - sum_v softmax(z)_v * z_v

    ``logits`` ``(..., V)`` -> ``(...)``, in nats.
    """
    z = _scaled(logits, temperature)
    p = torch.softmax(z, dim=-1)
    return torch.logsumexp(z, dim=-1) - (p * z).sum(dim=-1)


def chunked_logprobs(
    hidden: Tensor,
    head: "torch.nn.Module",
    tokens: Tensor,
    *,
    temperature: float = 1.0,
    chunk_tokens: int = 1024,
    with_entropy: bool = False,
    entropy_grad: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Log-probs (and entropies) of ``tokens`` from the last hidden states, never holding
    the logits of more than ``chunk_tokens`` tokens at once.

    ``hidden`` ``(M, H)`` (one row per response token), ``head`` the output layer
    (``lm_head``: hidden -> ``V`` logits), ``tokens`` ``(M,)``. For each chunk of rows::

        z = head(h) / temperature  (float32);   logp = z[token] - logsumexp(z);   H = logsumexp(z) - sum softmax(z) z

    With gradients on, each chunk runs under activation checkpointing: its ``(chunk, V)``
    logits are freed after the forward and recomputed in the backward, so the peak is a
    few ``chunk_tokens x V`` float32 tensors instead of ``M x V`` (for Qwen's vocabulary
    of 151,936 and 4 x 16k response tokens: 0.6 GB per 1,024-token chunk instead of 40 GB).
    Equal to :func:`token_logprobs` / :func:`entropy_from_logits` over the full logits.
    """
    from torch.utils.checkpoint import checkpoint

    if chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be >= 1, got {chunk_tokens}")

    def piece(h: Tensor, tok: Tensor) -> tuple[Tensor, Tensor]:
        z = _scaled(head(h), temperature)
        lse = torch.logsumexp(z, dim=-1)
        logp = torch.gather(z, -1, tok.unsqueeze(-1)).squeeze(-1) - lse
        if not with_entropy:
            return logp, lse.new_zeros(())
        zz, ll = (z, lse) if entropy_grad else (z.detach(), lse.detach())
        ent = ll - (torch.softmax(zz, dim=-1) * zz).sum(dim=-1)
        return logp, ent

    grad = torch.is_grad_enabled() and (hidden.requires_grad or any(p.requires_grad for p in head.parameters()))
    logps, ents = [], []
    for s in range(0, hidden.shape[0], chunk_tokens):
        h, tok = hidden[s : s + chunk_tokens], tokens[s : s + chunk_tokens]
        if grad:
            lp, en = checkpoint(piece, h, tok, use_reentrant=False)
        else:
            lp, en = piece(h, tok)
        logps.append(lp)
        ents.append(en)
    if not logps:
        empty = hidden.new_zeros((0,), dtype=torch.float32)
        return empty, (empty if with_entropy else None)
    logp = torch.cat(logps)
    ent = torch.cat(ents) if with_entropy else None
    return logp, ent


# --------------------------------------------------------------------------- evaluation


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct (Codex, arXiv 2107.03374)::

        pass@k = 1 - C(n - c, k) / C(n, k)

    computed as ``1 - prod_{i=n-c+1}^{n} (1 - k / i)`` for stability.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))
