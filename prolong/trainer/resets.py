"""Hard resets of prolonged RL (ProRL, arXiv 2505.24864 and 2507.12507).

A *hard reset* makes the reference policy a copy of the current policy and throws the
optimizer state away (Adam moments and step counts; with float16, the loss scale), and optionally restarts the
learning-rate schedule (``reset_restarts_warmup``; ProRL kept one constant LR). With
``reset_rollback`` the policy is first restored to the best one by validation. The KL term then pulls toward where the policy is, not where it
started, so a long run can keep moving; the fresh optimizer forgets stale moments.

When to reset (:class:`ResetTriggers`):

* every ``N`` steps since the last reset;
* on a plateau of a validation metric: no improvement above ``min_delta`` for
  ``patience`` validations in a row;
* when the KL term dominates: the mean KL over the last ``window`` steps exceeds a
  threshold;
* at the start of every training stage (stages change the response budget, the number
  of samples, the temperature..., as the paper's runs did between resets).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["hard_reset", "ResetTriggers", "scheduled_lr", "lr_at"]


@torch.no_grad()
def hard_reset(
    policy: torch.nn.Module,
    reference: torch.nn.Module | None,
    optimizer: torch.optim.Optimizer,
    *,
    restore: dict[str, torch.Tensor] | None = None,
    scaler: Any = None,
) -> None:
    """``reference := policy`` (a copy of the weights) and ``optimizer.state := {}``.

    With ``restore`` (a state dict: the best policy by validation) the policy is first
    rolled back to it, so the reference and the policy both restart from the best point.
    The optimizer keeps its parameter groups (and learning rates); its per-parameter
    state (Adam's ``exp_avg``, ``exp_avg_sq``, ``step``) is re-initialised on its next
    step. With no reference model (KL coefficient 0) only the optimizer is reset. A float16
    loss ``scaler`` (:class:`~prolong.trainer.precision.LossScaler`) restarts from its
    initial scale, with the optimizer.
    """
    if restore is not None:
        policy.load_state_dict(restore)
    if reference is not None:
        reference.load_state_dict(policy.state_dict())
    optimizer.state.clear()
    if scaler is not None:
        scaler.reset()


def scheduled_lr(base_lr: float, step: int, *, origin: int, horizon: int, warmup: int, kind: str = "constant") -> float:
    """Learning rate at ``step`` for a schedule that (re)started at ``origin``::

        t = step - origin,  T = horizon - origin (steps left when it started)
        warm(t)  = min(1, (t + 1) / warmup)            (1 without warmup)
        decay(t) = 1 | 0.5 (1 + cos(pi t / T)) | 1 - t / T    for constant | cosine | linear
        lr       = base_lr * warm(t) * decay(t)

    A hard reset that restarts the schedule sets ``origin`` to its step.
    """
    t = max(0, step - origin)
    big_t = max(1, horizon - origin)
    warm = min(1.0, (t + 1) / warmup) if warmup > 0 else 1.0
    if kind == "constant":
        decay = 1.0
    elif kind == "cosine":
        decay = 0.5 * (1.0 + math.cos(math.pi * min(t, big_t) / big_t))
    elif kind == "linear":
        decay = max(0.0, 1.0 - t / big_t)
    else:
        raise ValueError(f"unknown lr schedule {kind!r}; choose constant, cosine or linear")
    return base_lr * warm * decay


def lr_at(
    base_lr: float, step: int, *, last_reset_step: int, stage_end: int, total_steps: int, warmup: int,
    kind: str = "constant", restart_at_reset: bool = True,
) -> float:
    """The learning rate of ``step`` in a run with hard resets.

    ``restart_at_reset``: the schedule (warmup, then decay to 0 at the end of the stage)
    restarts at the last reset. Otherwise one schedule runs over the whole run
    (``origin = 0``, ``horizon = total_steps``), untouched by resets: with ``kind="constant"``
    the LR is constant after the first warmup, as in ProRL.
    """
    if restart_at_reset:
        return scheduled_lr(base_lr, step, origin=last_reset_step, horizon=stage_end, warmup=warmup, kind=kind)
    return scheduled_lr(base_lr, step, origin=0, horizon=total_steps, warmup=warmup, kind=kind)


@dataclass
class ResetTriggers:
    """Decides when a hard reset is due; its state goes into checkpoints.

    Call :meth:`observe_step` after each training step and :meth:`observe_validation`
    after each validation; each returns the reason (``"every 50 steps"``, ``"plateau
    of val/pass@1"``, ``"kl 0.12 > 0.1"``) when a reset is due, else None. After
    resetting, call :meth:`on_reset`.

    Attributes:
        every: reset every ``every`` steps since the last reset (0 = off).
        plateau: watch the validation metric.
        patience: validations without improvement before a plateau reset.
        min_delta: how much the metric must rise to count as an improvement.
        kl_threshold: reset when the KL moving average exceeds it (0 = off).
        kl_window: steps in the KL moving average (the window must be full, and it
            is emptied by a reset).
        metric: the name reported in the plateau reason.
    """

    every: int = 0
    plateau: bool = False
    patience: int = 3
    min_delta: float = 0.0
    kl_threshold: float = 0.0
    kl_window: int = 5
    metric: str = "val/pass@1"
    # state
    last_reset_step: int = 0
    best: float | None = None
    stale_validations: int = 0
    kl_history: deque = field(default_factory=deque)
    resets: list[dict[str, Any]] = field(default_factory=list)

    def observe_step(self, step: int, kl: float | None = None) -> str | None:
        """After step ``step`` (0-based) finished: is a reset due before the next one?"""
        if kl is not None and self.kl_threshold > 0:
            self.kl_history.append(float(kl))
            while len(self.kl_history) > self.kl_window:
                self.kl_history.popleft()
            if len(self.kl_history) == self.kl_window:
                mean = sum(self.kl_history) / self.kl_window
                if mean > self.kl_threshold:
                    return f"kl {mean:.4g} > {self.kl_threshold:g}"
        if self.every > 0 and step + 1 - self.last_reset_step >= self.every:
            return f"every {self.every} steps"
        return None

    def observe_validation(self, value: float) -> str | None:
        """After a validation with metric ``value`` (higher is better): plateau?"""
        if not self.plateau:
            return None
        if self.best is None or value > self.best + self.min_delta:
            self.best = float(value)
            self.stale_validations = 0
            return None
        self.stale_validations += 1
        if self.stale_validations >= self.patience:
            return f"plateau of {self.metric} ({self.patience} validations without gain over {self.best:.4g})"
        return None

    def on_reset(self, step: int, reason: str) -> None:
        """Record a reset made before step ``step``; clears the counters (the best
        validation value is kept: the next plateau must also fail to beat it)."""
        self.last_reset_step = step
        self.stale_validations = 0
        self.kl_history.clear()
        self.resets.append({"step": step, "reason": reason})

    def state_dict(self) -> dict[str, Any]:
        return {
            "last_reset_step": self.last_reset_step,
            "best": self.best,
            "stale_validations": self.stale_validations,
            "kl_history": list(self.kl_history),
            "resets": list(self.resets),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_reset_step = int(state["last_reset_step"])
        self.best = state["best"]
        self.stale_validations = int(state["stale_validations"])
        self.kl_history = deque(state["kl_history"])
        self.resets = list(state["resets"])
