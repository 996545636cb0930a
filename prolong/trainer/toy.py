"""Moved: the toy addition env is :mod:`prolong.envs.toy`, a built-in env like the
others. This name stays so that existing imports keep working."""

from prolong.envs.toy import DOMAIN, ENV_ID, ToyAdditionEnv, ToyAddVerifier, make_toy_task

__all__ = ["ToyAdditionEnv", "ToyAddVerifier", "make_toy_task", "ENV_ID", "DOMAIN"]
