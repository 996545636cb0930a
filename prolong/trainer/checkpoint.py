"""Checkpoints that make a killed run resumable bit for bit.

A checkpoint is ``OUT_DIR/checkpoints/step_000020/state.pt`` holding the policy, the
reference policy (if any), the optimizer, the float16 loss scaler, the reset-trigger and LR-schedule state, the
RNG states (python, numpy, torch), the step (which is also the data position: problems
are drawn from ``(seed, step)``) and the metrics so far. It is written into a temporary
directory and renamed into place, so a checkpoint directory that exists is complete
even if the process was killed with SIGKILL while saving.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["save_checkpoint", "latest_checkpoint", "load_checkpoint", "rng_state", "set_rng_state", "checkpoint_dir"]

_NAME = re.compile(r"^step_(\d{6,})$")


def checkpoint_dir(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / "checkpoints"


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(out_dir: str | os.PathLike, step: int, state: dict[str, Any], *, keep: int = 2) -> Path:
    """Write ``state`` as checkpoint ``step`` atomically; keep the newest ``keep``."""
    root = checkpoint_dir(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:06d}"
    tmp = root / f".tmp-step_{step:06d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    with open(tmp / "state.pt", "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    if final.exists():  # re-saving a step (a resumed run): replace it
        old = root / f".old-step_{step:06d}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    for stale in _checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def _checkpoints(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name)) and (p / "state.pt").is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    found = _checkpoints(checkpoint_dir(out_dir))
    return found[-1] if found else None


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    p = Path(path)
    f = p / "state.pt" if p.is_dir() else p
    if not f.is_file():
        raise FileNotFoundError(f"no checkpoint at {p}")
    return torch.load(f, map_location=map_location, weights_only=False)
