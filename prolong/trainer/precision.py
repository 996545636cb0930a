"""Dynamic loss scaling for float16 compute over float32 master weights.

float16 has 5 exponent bits: values below about 6e-8 flush to zero and above 65,504
overflow to inf. Under ``torch.autocast(dtype=float16)`` the backward pass carries the
activation gradients in float16, so the small gradients of a policy-gradient loss (an
advantage times a probability, divided by thousands of tokens) underflow to zero and the
weights never move. Loss scaling multiplies the loss by ``S`` before ``backward`` (every
gradient is ``S`` times larger, out of the underflow range), divides the float32
parameter gradients by ``S`` before they are used, and adapts ``S``:

* an update whose gradients hold an inf or a NaN (``S`` too large: something overflowed)
  is skipped: no optimizer step (weights and AdamW moments untouched), ``S *= backoff``;
* after ``growth_interval`` updates in a row without one, ``S *= growth``.

This is ``torch.amp.GradScaler``'s algorithm, with its defaults (``S`` starts at 2**16,
growth 2.0, backoff 0.5, interval 2000) and its ``state_dict`` keys;
``tests/test_fp16_loss_scaling.py`` checks that the scale follows GradScaler's step for
step. It is its own class because the training loop needs what GradScaler keeps private:
one inf check for gradients accumulated over micro-batches *and* summed over
data-parallel ranks, the unscaled gradients before clipping, a skip it can count, and a
reset at each hard reset (:func:`prolong.trainer.resets.hard_reset`).

Order in one update (:func:`prolong.trainer.loop.update_policy`)::

    for each micro-batch:  scaler.scale(loss).backward()      # same S for every micro-batch
    all-reduce gradients over ranks
    found_inf = scaler.unscale_(params)                        # grads /= S, check inf/NaN (agreed over ranks)
    if found_inf: skip (zero the gradients)
    else:         clip_grad_norm_(params, max_grad_norm); optimizer.step()   # clipping sees true gradients
    scaler.update(found_inf)
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

__all__ = ["LossScaler"]


class LossScaler:
    """Dynamic loss scaler (GradScaler semantics); a disabled one changes nothing.

    Args:
        enabled: scale at all (the trainer enables it for ``dtype: float16``).
        init_scale: the first scale ``S`` (and the one a :meth:`reset` returns to).
        growth_factor: ``S`` is multiplied by it after ``growth_interval`` good updates.
        backoff_factor: ``S`` is multiplied by it after an update with inf/NaN gradients.
        growth_interval: good updates in a row before ``S`` grows.
    """

    def __init__(self, *, enabled: bool = True, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000) -> None:
        if init_scale <= 0 or growth_factor <= 1.0 or not 0.0 < backoff_factor < 1.0 or growth_interval < 1:
            raise ValueError("need init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1 and growth_interval >= 1")
        self.enabled = enabled
        self.init_scale = float(init_scale)
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self.scale = self.init_scale
        self.growth_tracker = 0  # good updates in a row since the scale last changed
        self.skipped = 0  # updates skipped so far (reported; not part of the algorithm)

    @classmethod
    def from_config(cls, cfg: Any) -> "LossScaler":
        """Enabled for float16 compute with ``loss_scaling`` on (``TrainConfig``)."""
        return cls(enabled=cfg.dtype == "float16" and cfg.loss_scaling, init_scale=cfg.loss_scale_init,
                   growth_interval=cfg.loss_scale_growth_interval)

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss * S`` (``loss`` itself when disabled)."""
        return loss * self.scale if self.enabled else loss

    @torch.no_grad()
    def unscale_(self, params: Iterable[torch.nn.Parameter], *, any_rank: Any = None) -> bool:
        """Divide the gradients of ``params`` by ``S`` in place; True if any is inf/NaN.

        ``any_rank`` (``prolong.trainer.distributed.all_reduce_sum``) makes every
        data-parallel rank agree: a skip on one rank is a skip on all. Disabled: no-op, False."""
        if not self.enabled:
            return False
        grads = [p.grad for p in params if p.grad is not None]
        if any(g.dtype in (torch.float16, torch.bfloat16) for g in grads):
            raise ValueError("loss scaling needs float32 (master) gradients; the parameters are 16-bit "
                             "(set fp32_master_weights: true, or loss_scaling: false)")
        found = torch.zeros((), dtype=torch.float32, device=grads[0].device if grads else "cpu")
        inv = torch.full((), 1.0 / self.scale, dtype=torch.float32, device=found.device)
        by_device: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
        for g in grads:
            by_device.setdefault((g.device, g.dtype), []).append(g)
        for (device, _), group in by_device.items():
            f = torch.zeros((), dtype=torch.float32, device=device)
            if hasattr(torch, "_amp_foreach_non_finite_check_and_unscale_"):
                torch._amp_foreach_non_finite_check_and_unscale_(group, f, inv.to(device))
            else:  # pragma: no cover - the op exists on every torch prolong supports
                f = torch.stack([~torch.isfinite(g).all() for g in group]).any().float()
                torch._foreach_mul_(group, 1.0 / self.scale)
            found = found + f.to(found.device)
        found_inf = float(found) > 0
        if any_rank is not None:
            found_inf = any_rank(float(found_inf)) > 0
        return found_inf

    def update(self, found_inf: bool) -> None:
        """After an update: back off on inf/NaN (and count the skip), else grow after
        ``growth_interval`` good updates in a row (``torch._amp_update_scale_``)."""
        if not self.enabled:
            return
        if found_inf:
            self.scale *= self.backoff_factor
            self.growth_tracker = 0
            self.skipped += 1
            return
        self.growth_tracker += 1
        if self.growth_tracker == self.growth_interval:
            grown = self.scale * self.growth_factor
            if grown < float("inf"):
                self.scale = grown
            self.growth_tracker = 0

    def reset(self) -> None:
        """Back to ``init_scale`` with no good updates counted (a hard reset: the optimizer
        restarts, and so does the scale)."""
        self.scale = self.init_scale
        self.growth_tracker = 0

    def state_dict(self) -> dict[str, Any]:
        """GradScaler's keys, plus ``skipped``."""
        if not self.enabled:
            return {}
        return {"scale": self.scale, "growth_factor": self.growth_factor, "backoff_factor": self.backoff_factor,
                "growth_interval": self.growth_interval, "_growth_tracker": self.growth_tracker, "skipped": self.skipped}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.scale = float(state["scale"])
        self.growth_tracker = int(state["_growth_tracker"])
        self.skipped = int(state.get("skipped", 0))
