"""Data-parallel training with ``torchrun``: every process (rank) holds a full replica
of the policy, samples its own prompts, and the replicas take the same optimizer step.

    torchrun --nproc_per_node 2 -m prolong.cli train configs/tiny.yaml      # CPU: gloo
    torchrun --nproc_per_node 8 -m prolong.cli train configs/prorl-1.5b.yaml  # GPUs: NCCL

The training loop (:mod:`prolong.trainer.loop`) calls the functions below at a few
places; in a single process (no ``WORLD_SIZE`` > 1 in the environment) each is a no-op,
so the loop reads the same with or without ``torchrun``.

What happens across ranks:

* **Process group.** :func:`setup` joins the group ``torchrun`` describes (``RANK``,
  ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``): NCCL when training on
  CUDA (each rank on ``cuda:LOCAL_RANK``), gloo on CPU (the CPU threads are split
  between the ranks of a machine).
* **Same start.** Rank 0 builds or loads the model first (:func:`main_first`: a tiny
  model is built and cached once), then rank 0's weights are broadcast to every rank
  (:func:`broadcast_module`). On ``resume`` every rank loads the same checkpoint.
* **Different data.** :func:`shard_config` gives each rank ``ceil(prompts_per_step /
  world_size)`` prompts per step (the global batch is rounded up to a multiple of the
  world size) drawn and sampled from a seed of its own (rank 0 keeps the run's seed),
  and ``ceil(mini_batch_size / world_size)`` sequences per mini-batch. With dynamic
  sampling a rank may end a step short of groups: :func:`equalize_rollout` trims every
  rank to the smallest count, so that all ranks take the same number of optimizer
  steps (a collective per step must be matched on every rank).
* **Exact gradients.** No ``DistributedDataParallel``: each rank normalises its loss by
  the *global* token count of the mini-batch (:func:`all_reduce_sum` of the local
  counts; the global sequence count for the sequence-level aggregations), and
  :func:`all_reduce_gradients` *sums* the gradients over ranks before clipping. The sum
  of ``sum_{local tokens} l_t / N_global`` over ranks is exactly the token-mean loss of
  the global mini-batch, so ``token-mean`` aggregation is the same as on one process
  with the whole batch, whatever the response lengths on each rank (DDP's average of
  per-rank means would weight a rank's tokens by ``1 / its own count``). All ranks then
  hold the same gradient, clip it by the same norm and take the same step.
* **One voice.** :func:`reduce_metrics` averages each step's metrics over ranks (sums
  ``groups``, takes the max of ``time/*``); validation is sharded: each rank scores
  every ``world_size``-th held-out problem and the per-problem results are gathered
  (:func:`all_gather_objects`), so every rank computes the same numbers (and reset
  triggers fire on every rank at once) in ``1 / world_size`` of the time.
  Only rank 0 logs, writes metrics, checkpoints, curves and the final model.
* **Replica check.** At the end :func:`finish` compares a SHA-256 of every rank's
  parameters, writes ``OUT_DIR/replicas.json`` and raises if the replicas differ.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "DistState",
    "state",
    "setup",
    "is_main",
    "rank",
    "world_size",
    "main_only",
    "main_first",
    "main_computes",
    "all_gather_objects",
    "barrier",
    "broadcast_module",
    "shard_config",
    "rank_seed",
    "equalize_rollout",
    "all_reduce_sum",
    "all_reduce_gradients",
    "reduce_metrics",
    "parameter_digest",
    "NullLogger",
    "finish",
]


@dataclass(frozen=True)
class DistState:
    """Where this process stands: ``rank`` of ``world_size``, ``local_rank`` on its machine,
    the backend (None in a single process) and whether :func:`setup` created the group."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    owned: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_STATE = DistState()


def state() -> DistState:
    """The current :class:`DistState` (a single process until :func:`setup` found a group)."""
    return _STATE


def rank() -> int:
    return _STATE.rank


def world_size() -> int:
    return _STATE.world_size


def is_main() -> bool:
    return _STATE.rank == 0


# --------------------------------------------------------------------------- setup


def setup(cfg: Any, device: torch.device, threads: int) -> tuple[torch.device, int]:
    """Join the process group ``torchrun`` describes, if any; return the device and CPU
    thread count this rank should use.

    An already initialised group (a caller's own) is adopted and left open at the end.
    Otherwise, with ``WORLD_SIZE`` > 1 in the environment, a group is created from the
    ``env://`` variables: NCCL for CUDA devices, gloo for CPU.
    """
    global _STATE
    if dist.is_available() and dist.is_initialized():
        _STATE = DistState(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_backend(), False)
    elif int(os.environ.get("WORLD_SIZE", "1")) > 1:
        for var in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
            if var not in os.environ:
                raise RuntimeError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {var} is not set: start data-parallel runs with torchrun")
        backend = "nccl" if device.type == "cuda" else "gloo"
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend, init_method="env://")
        _STATE = DistState(dist.get_rank(), dist.get_world_size(), local_rank, backend, True)
    else:
        _STATE = DistState()
        return device, threads
    if device.type == "cuda":
        device = torch.device("cuda", _STATE.local_rank)
        torch.cuda.set_device(device)
    if getattr(cfg, "num_threads", 0) == 0 and device.type == "cpu":
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(_STATE.world_size)))
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        threads = max(1, min(8, cores // max(1, local_world)))
        torch.set_num_threads(threads)
    return device, threads


def finish(policy: torch.nn.Module | None = None, out_dir: str | os.PathLike | None = None) -> None:
    """End of a run: compare the replicas (see :func:`check_replicas`) and leave the
    process group if :func:`setup` created it."""
    global _STATE
    if not _STATE.enabled:
        return
    try:
        if policy is not None:
            check_replicas(policy, out_dir)
    finally:
        if _STATE.owned and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
        _STATE = DistState()


# --------------------------------------------------------------------------- rank 0 and barriers


def main_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` on rank 0, a no-op elsewhere (for ``log``, prints)."""
    if is_main():
        return fn
    return lambda *args, **kwargs: None


def barrier() -> None:
    if _STATE.enabled:
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (it builds and caches the tiny model, downloads...),
    then the other ranks run it (and find the cache)."""
    if not _STATE.enabled:
        yield
        return
    if not is_main():
        dist.barrier()
    try:
        yield
    finally:
        if is_main():
            dist.barrier()


def main_computes(fn: Callable[[], Any]) -> Any:
    """``fn()`` on rank 0, its (picklable) result broadcast to every rank. Validation runs
    this way: one rank's work, and the same numbers (hence the same reset decisions) everywhere."""
    if not _STATE.enabled:
        return fn()
    box = [fn() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's (picklable) ``obj``, in rank order (``[obj]`` in a single process).
    Sharded validation gathers its per-problem results this way."""
    if not _STATE.enabled:
        return [obj]
    out: list[Any] = [None] * _STATE.world_size
    dist.all_gather_object(out, obj)
    return out


@torch.no_grad()
def broadcast_module(module: torch.nn.Module) -> None:
    """Overwrite every rank's parameters and buffers with rank 0's."""
    if not _STATE.enabled:
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


# --------------------------------------------------------------------------- data


def rank_seed(seed: int, rank_: int | None = None) -> int:
    """The seed of a rank's prompts and samples: the run's seed on rank 0, a derived one elsewhere."""
    from prolong.core import derive_seed

    r = _STATE.rank if rank_ is None else rank_
    return seed if r == 0 else derive_seed("data-parallel-rank", seed, r) & 0x7FFF_FFFF


def shard_config(cfg: Any, *, rank_: int | None = None, world_size_: int | None = None) -> Any:
    """This rank's share of a (stage) config: ``prompts_per_step`` and ``mini_batch_size``
    divided by the world size (rounded up, the same on every rank) and the seed of
    :func:`rank_seed`. The config itself in a single process."""
    w = _STATE.world_size if world_size_ is None else world_size_
    r = _STATE.rank if rank_ is None else rank_
    if w <= 1:
        return cfg
    return dataclasses.replace(
        cfg,
        prompts_per_step=math.ceil(cfg.prompts_per_step / w),
        mini_batch_size=math.ceil(cfg.mini_batch_size / w),
        mini_batch_prompts=math.ceil(getattr(cfg, "mini_batch_prompts", 0) / w),
        seed=rank_seed(cfg.seed, r),
    )


def equalize_rollout(rollout: Any) -> Any:
    """Trim every rank's rollout to the smallest number of groups over ranks (dynamic
    sampling can leave a rank short), so that all ranks run the same number of updates.
    A trimmed rank's batch is short too: its ``dynamic_sampling/missing_groups`` grows by
    the groups trimmed and ``dynamic_sampling/short_batch`` is set."""
    if not _STATE.enabled:
        return rollout
    have = len(rollout.problems)
    t = torch.tensor([have], dtype=torch.long, device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    keep = int(t.item())
    if keep < have:
        rollout.problems = rollout.problems[:keep]
        rollout.completions = rollout.completions[:keep]
        rollout.rewards = rollout.rewards[:keep]
    rollout.metrics["groups"] = keep
    rollout.metrics["dist/groups_trimmed"] = have - keep
    if keep < have:
        missing = rollout.metrics.get("dynamic_sampling/missing_groups", 0) + (have - keep)
        rollout.metrics["dynamic_sampling/missing_groups"] = missing
        rollout.metrics["dynamic_sampling/short_batch"] = float(missing > 0)
    return rollout


# --------------------------------------------------------------------------- gradients and metrics


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if _STATE.backend == "nccl" else torch.device("cpu")


def all_reduce_sum(x: float | int) -> float:
    """The sum of ``x`` over ranks (``x`` itself in a single process), in float64."""
    if not _STATE.enabled:
        return float(x)
    t = torch.tensor([float(x)], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item())


@torch.no_grad()
def all_reduce_gradients(module: torch.nn.Module, *, bucket_elements: int = 1 << 24) -> None:
    """Replace each gradient with its sum over ranks (bucketed flat all-reduces).

    The loss of each rank must already be divided by the global token (or sequence)
    count, so that the sum is the gradient of the global loss. A parameter without a
    gradient on this rank gets zeros, so every rank reduces the same tensors.
    """
    if not _STATE.enabled:
        return
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    bucket: list[torch.Tensor] = []
    size = 0
    for p in params:
        bucket.append(p.grad)
        size += p.grad.numel()
        if size >= bucket_elements:
            _reduce_bucket(bucket)
            bucket, size = [], 0
    if bucket:
        _reduce_bucket(bucket)


def _reduce_bucket(grads: list[torch.Tensor]) -> None:
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset : offset + n].view_as(g))
        offset += n


def reduce_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """One step's metrics over ranks: the mean over the ranks that report a number
    (``groups``, ``dist/groups_trimmed`` and ``dynamic_sampling/missing_groups`` are summed,
    ``time/*`` and ``dynamic_sampling/short_batch`` take the max); other values are rank
    0's. Identical on every rank."""
    if not _STATE.enabled:
        return metrics
    gathered: list[Any] = [None] * _STATE.world_size
    dist.all_gather_object(gathered, metrics)
    keys: list[str] = []
    for m in gathered:
        keys += [k for k in m if k not in keys]
    out: dict[str, Any] = {}
    for k in keys:
        nums = [m[k] for m in gathered if isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool)]
        if not nums:
            out[k] = next(m[k] for m in gathered if k in m)
        elif k in ("groups", "dist/groups_trimmed", "dynamic_sampling/missing_groups"):
            out[k] = sum(nums)
        elif k.startswith("time/") or k == "dynamic_sampling/short_batch":
            out[k] = max(nums)
        elif k in ("lr", "stage", "resets", "updates"):
            out[k] = gathered[0].get(k, nums[0])
        else:
            out[k] = sum(float(v) for v in nums) / len(nums)
    return out


# --------------------------------------------------------------------------- rank-0-only output


class NullLogger:
    """Stands in for :class:`~prolong.trainer.metrics.MetricsLogger` on ranks other than 0:
    keeps the history (the run's result carries it), writes nothing."""

    def __init__(self, *args: Any, history: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        self.history: list[dict[str, Any]] = list(history or [])

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        self.history.append({"step": int(step), **metrics})

    def event(self, step: int, kind: str, **fields: Any) -> None:
        self.history.append({"step": int(step), "event": kind, **fields})

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- replica check


@torch.no_grad()
def parameter_digest(module: torch.nn.Module) -> str:
    """SHA-256 of every parameter's name, dtype, shape and bytes, in order."""
    h = hashlib.sha256()
    for name, p in module.named_parameters():
        t = p.detach().to("cpu").contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes())
    return h.hexdigest()


def check_replicas(policy: torch.nn.Module, out_dir: str | os.PathLike | None = None) -> list[str]:
    """Gather every rank's :func:`parameter_digest`; rank 0 writes ``OUT_DIR/replicas.json``
    (``{"world_size", "digests", "identical"}``). Raises on every rank if they differ."""
    if not _STATE.enabled:
        return [parameter_digest(policy)]
    digests: list[Any] = [None] * _STATE.world_size
    dist.all_gather_object(digests, parameter_digest(policy))
    identical = len(set(digests)) == 1
    if is_main() and out_dir is not None:
        Path(out_dir, "replicas.json").write_text(
            json.dumps({"world_size": _STATE.world_size, "digests": digests, "identical": identical}, indent=2) + "\n"
        )
    if not identical:
        raise RuntimeError(f"data-parallel replicas diverged: parameter digests per rank {digests}")
    return digests
