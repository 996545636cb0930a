"""The code domain: programs run in a bubblewrap sandbox against tests.

* :mod:`~prolong.envs.code.extract`: the program in a response,
* :mod:`~prolong.envs.code.compare`: test suites (``input_output`` shape) and output comparison,
* :mod:`~prolong.envs.code.sandbox`: warm sandboxed workers forking one limited child per test,
  (``runner.py`` is the script that runs inside the sandbox),
* :mod:`~prolong.envs.code.verifier`: :class:`CodeVerifier`, the fraction of tests passed,
* :mod:`~prolong.envs.code.load`: APPS / TACO / LiveCodeBench / Eurus-2-RL loaders,
* :mod:`~prolong.envs.code.problems`: the built-in problems and the script that builds ``problems.json``,
* :mod:`~prolong.envs.code.env`: ``prolong/code-v0`` and ``prolong/code-feedback-v0``.
"""

from prolong.envs.code.compare import TestSuite, outputs_match, parse_tests, values_match
from prolong.envs.code.env import CodeEnv, CodeFeedbackEnv, builtin_problems, code_feedback, code_reference, code_task
from prolong.envs.code.extract import extract_program
from prolong.envs.code.load import load_code_problems
from prolong.envs.code.sandbox import Execution, ExecResult, Limits, SandboxPool, SandboxUnavailableError
from prolong.envs.code.verifier import CodeVerifier

__all__ = [
    "CodeEnv",
    "CodeFeedbackEnv",
    "CodeVerifier",
    "SandboxPool",
    "SandboxUnavailableError",
    "Limits",
    "Execution",
    "ExecResult",
    "TestSuite",
    "parse_tests",
    "outputs_match",
    "values_match",
    "extract_program",
    "load_code_problems",
    "builtin_problems",
    "code_task",
    "code_feedback",
    "code_reference",
]
