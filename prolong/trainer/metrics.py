"""Per-step metrics: ``metrics.jsonl``, TensorBoard, optional Weights & Biases, and the
PNG of curves (``prolong plot RUN_DIR``).

``metrics.jsonl`` holds one JSON object per line: a step's metrics
(``{"step": 12, "reward/mean": 0.61, ...}``; ``step`` counts finished training steps,
0 is the validation before RL) or an event (``{"step": 30, "event": "reset",
"reason": "stage 1"}``: a hard reset made after 30 steps).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["MetricsLogger", "read_metrics", "plot_run", "PLOT_PANELS"]


class MetricsLogger:
    """Writes records to ``metrics.jsonl`` (and TensorBoard / W&B when enabled).

    ``history`` holds every record written, so that a checkpoint can carry the
    metrics so far and a resumed run rewrites the file without duplicates.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        tensorboard: bool = True,
        wandb: bool = False,
        wandb_project: str = "prolong",
        config: dict[str, Any] | None = None,
        history: list[dict[str, Any]] | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / "metrics.jsonl"
        self.history: list[dict[str, Any]] = list(history or [])
        with open(self.path, "w", encoding="utf-8") as f:  # a resumed run rewrites what its checkpoint knew
            for rec in self.history:
                f.write(json.dumps(rec) + "\n")
        self._file = open(self.path, "a", encoding="utf-8")
        self._tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                purge = max((r["step"] for r in self.history), default=-1) + 1 if self.history else None
                self._tb = SummaryWriter(str(self.out_dir / "tb"), purge_step=purge)
            except ImportError:  # tensorboard not installed
                self._tb = None
        self._wandb = None
        if wandb:
            try:
                import wandb as _wandb

                self._wandb = _wandb.init(project=wandb_project, config=config, dir=str(self.out_dir), resume="allow")
            except ImportError:
                print("wandb=true but wandb is not installed; logging to metrics.jsonl and TensorBoard only")

    def log(self, step: int, metrics: dict[str, Any]) -> None:
        rec = {"step": int(step), **{k: _plain(v) for k, v in metrics.items()}}
        self.history.append(rec)
        self._file.write(json.dumps(rec) + "\n")
        self._file.flush()
        scalars = {k: v for k, v in rec.items() if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool)}
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def event(self, step: int, kind: str, **fields: Any) -> None:
        rec = {"step": int(step), "event": kind, **fields}
        self.history.append(rec)
        self._file.write(json.dumps(rec) + "\n")
        self._file.flush()
        if self._tb is not None and kind == "reset":
            self._tb.add_text("reset", str(fields.get("reason", "")), step)

    def flush(self) -> None:
        self._file.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/metrics.jsonl`` (a torn last line is skipped)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: is {run_dir} a prolong run directory?")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


#: (title, metric keys) of each panel, in order; panels with no data are left out.
PLOT_PANELS: list[tuple[str, list[str]]] = [
    ("training rollouts", ["reward/mean", "accuracy"]),
    ("held-out accuracy", ["val/pass@1", "val/greedy", "val/pass@k"]),
    ("held-out: no final answer", ["val/no_answer"]),
    ("KL to reference", ["kl"]),
    ("entropy", ["entropy"]),
    ("response length", ["response_length/mean"]),
    ("clip fractions", ["clip_frac/low", "clip_frac/high"]),
    ("dropped groups (dynamic sampling)", ["dynamic_sampling/dropped_frac"]),
    ("learning rate", ["lr"]),
]
# 9 panels; response_length/clip_ratio, grad_norm and the per-env keys stay in metrics.jsonl and TensorBoard


def plot_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Draw the curves of a run (one panel per :data:`PLOT_PANELS` entry with data,
    dashed vertical lines at hard resets) into ``out`` (default ``RUN_DIR/curves.png``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    steps_of: dict[str, tuple[list[int], list[float]]] = {}
    resets: list[tuple[int, str]] = []
    for r in records:
        if r.get("event") == "reset":
            resets.append((r["step"], str(r.get("reason", ""))))
            continue
        for k, v in r.items():
            if k == "step" or not isinstance(v, (int, float)) or isinstance(v, bool):
                continue
            xs, ys = steps_of.setdefault(k, ([], []))
            xs.append(r["step"])
            ys.append(v)
    # pass@k keys carry k in their name
    passk = sorted(k for k in steps_of if k.startswith("val/pass@") and k not in ("val/pass@1", "val/pass@1_sampled") and k.count("/") == 1)
    panels = []
    for title, keys in PLOT_PANELS:
        keys = [k for k in keys if k != "val/pass@k"] + (passk if "val/pass@k" in keys else [])
        keys = [k for k in keys if k in steps_of]
        if keys:
            panels.append((title, keys))
    if not panels:
        raise ValueError(f"{run_dir}: metrics.jsonl has no metrics to plot yet")
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.2 * rows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, panels):
        for k in keys:
            xs, ys = steps_of[k]
            style = "o-" if k.startswith("val/") else "-"
            ax.plot(xs, ys, style, label=k, markersize=3, linewidth=1.2)
        for i, (x, reason) in enumerate(resets):
            ax.axvline(x, color="red", linestyle="--", linewidth=0.9, alpha=0.7, label="hard reset" if i == 0 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle(f"{Path(run_dir).resolve().name}: {len(resets)} hard reset(s)", fontsize=11)
    fig.tight_layout()
    out_path = Path(out) if out is not None else Path(run_dir) / "curves.png"
    fig.savefig(out_path, dpi=90)
    plt.close(fig)
    return out_path
