"""prolong: verifiable-reward Gymnasium environments, a GRPO/DAPO trainer with hard
resets (prolonged RL, arXiv 2507.12507), and reward adapters for other RL stacks.

    import gymnasium as gym
    import prolong                         # registers every built-in env

    env = gym.make("prolong/math-v0")
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(response_text)
"""

from __future__ import annotations

from prolong.api import make_task, verify, verify_batch
from prolong.core import (
    GeneratedProblems,
    ListProblems,
    Problem,
    ProlongError,
    UnknownEnvError,
    Reason,
    Task,
    Verdict,
    Verifier,
    get_verifier,
    register_verifier,
)
from prolong.env import TaskEnv, TextSpace, list_envs, register_env, register_task
from prolong.envs import register_builtins as _register_builtins

__version__ = "0.1.0"

__all__ = [
    "Problem",
    "Verdict",
    "Reason",
    "Task",
    "Verifier",
    "GeneratedProblems",
    "ListProblems",
    "TaskEnv",
    "TextSpace",
    "verify",
    "verify_batch",
    "make_task",
    "ProlongError",
    "UnknownEnvError",
    "register_task",
    "register_env",
    "register_verifier",
    "get_verifier",
    "list_envs",
    "__version__",
]

_register_builtins()
