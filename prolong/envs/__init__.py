"""Built-in domains. Each domain is one module or package here holding its answer
extraction, verifier, built-in problems and loaders; this file only registers them.

Registration is lazy: ``import prolong`` registers the ids and verifier names, and a
domain's module is imported on first ``gym.make`` or first ``prolong.verify`` of it.
"""

from __future__ import annotations

from prolong.core import register_verifier
from prolong.env import register_env

# env id -> (entry point, domain, description)
BUILTIN_ENVS: dict[str, tuple[str, str, str]] = {
    "prolong/math-v0": ("prolong.envs.math:MathEnv", "math", "competition-style math, answers checked with sympy"),
    "prolong/code-v0": ("prolong.envs.code:CodeEnv", "code", "programs run in a bubblewrap sandbox against tests"),
    "prolong/code-feedback-v0": (
        "prolong.envs.code:CodeFeedbackEnv",
        "code",
        "multi-turn code: failing-test feedback until solved or out of turns",
    ),
    "prolong/reasoning-gym-v0": (
        "prolong.envs.reasoning_gym:ReasoningGymEnv",
        "reasoning_gym",
        "Reasoning Gym puzzles scored by their own checkers",
    ),
    "prolong/stem-v0": ("prolong.envs.stem:StemEnv", "stem", "STEM multiple choice and numeric answers with units"),
    "prolong/ifeval-v0": ("prolong.envs.ifeval:IFEvalEnv", "ifeval", "IFEval-style verifiable instruction constraints"),
    "prolong/mix-v0": ("prolong.envs.mix:MixEnv", "mix", "the paper's weighted blend of all domains"),
    "prolong/arith-v0": ("prolong.envs.arith:ArithEnv", "arith", "two-digit + and - column by column; held-out facts unseen"),
    "prolong/toy-add-v0": ("prolong.envs.toy:ToyAdditionEnv", "toy_add", "integer addition for tiny models (the trainer's tests)"),
}

# domain -> "module:Verifier" (instantiated on first use)
BUILTIN_VERIFIERS: dict[str, str] = {
    "math": "prolong.envs.math:MathVerifier",
    "code": "prolong.envs.code:CodeVerifier",
    "reasoning_gym": "prolong.envs.reasoning_gym:ReasoningGymVerifier",
    "stem": "prolong.envs.stem:StemVerifier",
    "ifeval": "prolong.envs.ifeval:IFEvalVerifier",
    "mix": "prolong.envs.mix:MixVerifier",
    "arith": "prolong.envs.arith:ArithVerifier",
    "toy_add": "prolong.envs.toy:ToyAddVerifier",
}


def register_builtins() -> None:
    for domain, path in BUILTIN_VERIFIERS.items():
        register_verifier(domain, path, builtin=True)
    for env_id, (entry_point, domain, description) in BUILTIN_ENVS.items():
        register_env(env_id, entry_point, domain=domain, description=description)
