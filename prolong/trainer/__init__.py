"""The bundled GRPO/DAPO trainer with hard resets (prolonged RL, arXiv 2507.12507).

    from prolong.trainer import TrainConfig, train
    result = train(TrainConfig.from_args(["configs/tiny.yaml", "steps=10", "stages=[]"]))

Modules: :mod:`~prolong.trainer.config` (the one config dataclass),
:mod:`~prolong.trainer.algorithms` (advantages, clipped loss, KL, aggregation, filters:
pure functions), :mod:`~prolong.trainer.engines` (rollout engines), :mod:`~prolong.trainer.resets`
(hard resets and their triggers), :mod:`~prolong.trainer.precision` (float16 loss
scaling), :mod:`~prolong.trainer.loop` (the loop),
:mod:`~prolong.trainer.checkpoint`, :mod:`~prolong.trainer.metrics`,
:mod:`~prolong.trainer.tiny` (the project's own tiny model),
:mod:`~prolong.trainer.cli` (``prolong train``, ``prolong plot``).
"""

from __future__ import annotations

from typing import Any

from prolong.trainer.config import ConfigError, TrainConfig
from prolong.trainer.engines import Completion, HFEngine, RolloutEngine, build_engine

__all__ = ["TrainConfig", "ConfigError", "train", "Completion", "RolloutEngine", "HFEngine", "build_engine"]


def train(cfg: TrainConfig, **kwargs: Any) -> Any:
    """Run a training run (see :func:`prolong.trainer.loop.train`)."""
    from prolong.trainer.loop import train as _train

    return _train(cfg, **kwargs)
