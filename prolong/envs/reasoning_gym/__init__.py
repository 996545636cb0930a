"""``prolong/reasoning-gym-v0``: Reasoning Gym's procedural puzzles with their own scorers.

* :mod:`.extract`: reading the answer out of a response;
* :mod:`.datasets`: task specs, the process-wide dataset cache, JSON-safe entries;
* :mod:`.guards`: what the scorers must not see (from the answer and from the ground
  truth, with the audit of reasoning-gym's eval-like calls), and fixes for scorers that are wrong;
* :mod:`.safety`: the guarded ``eval``/``exec``/sympy parsers installed in every
  reasoning-gym module, and the scrubbing of host paths from error text;
* :mod:`.verifier`: :class:`ReasoningGymVerifier`;
* :mod:`.references`: full-marks answers, including for tasks with no gold answer;
* :mod:`.env`: :class:`ReasoningGymEnv` and :func:`make_reasoning_gym_task`.
"""

from __future__ import annotations

from prolong.envs.reasoning_gym.datasets import DEFAULT_SIZE, TaskSpec, get_dataset, list_tasks, parse_tasks
from prolong.envs.reasoning_gym.env import (
    ANSWER_INSTRUCTION,
    DOMAIN,
    ReasoningGymEnv,
    ReasoningGymProblems,
    format_prompt,
    make_reasoning_gym_task,
    reference_response,
)
from prolong.envs.reasoning_gym.extract import extract_answer
from prolong.envs.reasoning_gym.references import NO_GOLD_TASKS, reference_answer
from prolong.envs.reasoning_gym.verifier import ReasoningGymVerifier, normalize_answer

__all__ = [
    "ReasoningGymEnv",
    "ReasoningGymVerifier",
    "ReasoningGymProblems",
    "make_reasoning_gym_task",
    "extract_answer",
    "reference_answer",
    "reference_response",
    "normalize_answer",
    "format_prompt",
    "list_tasks",
    "parse_tasks",
    "get_dataset",
    "TaskSpec",
    "NO_GOLD_TASKS",
    "ANSWER_INSTRUCTION",
    "DEFAULT_SIZE",
    "DOMAIN",
]
