"""prolong envs under Gymnasium's wrappers and vector envs.

Text spaces are not numpy-batchable: Gymnasium batches a custom space as a Tuple of
copies, so a vector env's observations and actions are tuples of strings, one per env.
"""

import importlib.util

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import RecordEpisodeStatistics, TransformObservation, TransformReward

import prolong

MATH = importlib.util.find_spec("prolong.envs.math") is not None


def spell_problem(rng, index):
    word = "".join(rng.choice("abcdefgh") for _ in range(4))
    return {"prompt": f"Spell {word} backwards.", "answer": word[::-1]}


def spell_verifier(response, answer):
    return response.strip() == answer


@pytest.fixture(scope="module", autouse=True)
def toy_task():
    prolong.register_task("adapters-gym/spell-v0", problems=spell_problem, verifier=spell_verifier, domain="gym_spell")


def answers_of(info):
    return tuple(p.answer for p in info["problem"])


def test_sync_vector_env_batches_prompts_and_actions_as_tuples_of_text():
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("adapters-gym/spell-v0") for _ in range(3)])
    assert envs.single_observation_space == prolong.TextSpace(envs.single_observation_space.max_length)
    assert isinstance(envs.observation_space, gym.spaces.Tuple) and len(envs.observation_space) == 3
    obs, info = envs.reset(seed=7)
    assert isinstance(obs, tuple) and all(o.startswith("Spell ") for o in obs)
    again, _ = envs.reset(seed=7)
    assert again == obs  # same seed, same problems
    actions = answers_of(info)
    assert envs.action_space.contains(actions)
    _, reward, terminated, truncated, info = envs.step(actions)
    assert reward.tolist() == [1.0, 1.0, 1.0] and terminated.all() and not truncated.any()
    assert all(v.correct for v in info["verdict"])
    envs.close()


def test_make_vec_same_step_autoreset_gives_next_prompts_and_final_verdicts():
    envs = gym.make_vec(
        "adapters-gym/spell-v0", num_envs=2, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}
    )
    obs, info = envs.reset(seed=0)
    first = answers_of(info)
    next_obs, reward, terminated, _, info = envs.step((first[0], "wrong"))
    assert reward.tolist() == [1.0, 0.0] and terminated.all()
    assert [v.correct for v in info["final_info"]["verdict"]] == [True, False]
    assert all(o.startswith("Spell ") for o in next_obs)  # the next episode's prompts, in the same step
    envs.close()


def test_next_step_autoreset_spends_one_step_on_the_reset():
    """Gymnasium's default: the step after an episode ends only resets (reward 0)."""
    envs = gym.make_vec("adapters-gym/spell-v0", num_envs=2, vectorization_mode="sync")
    _, info = envs.reset(seed=1)
    envs.step(answers_of(info))
    obs, reward, terminated, _, _ = envs.step(("ignored", "ignored"))
    assert reward.tolist() == [0.0, 0.0] and not terminated.any() and all(o.startswith("Spell ") for o in obs)
    envs.close()


@pytest.mark.skipif(not MATH, reason="prolong.envs.math (the math domain) is not built yet")
def test_async_vector_env_runs_math_envs_in_subprocesses():
    envs = gym.vector.AsyncVectorEnv([lambda: gym.make("prolong/math-v0") for _ in range(2)], shared_memory=False)
    try:
        obs, info = envs.reset(seed=3)
        task = gym.make("prolong/math-v0").unwrapped.task
        refs = tuple(task.reference(p) for p in info["problem"])  # Problems came back pickled from the workers
        _, reward, terminated, _, info = envs.step(refs)
        assert reward.tolist() == [1.0, 1.0] and terminated.all()
    finally:
        envs.close()


def test_wrappers_shape_reward_template_prompts_and_record_statistics():
    env = gym.make("adapters-gym/spell-v0")
    env = TransformObservation(env, lambda prompt: f"<|user|>{prompt}<|assistant|>", env.observation_space)
    env = TransformReward(env, lambda r: 2.0 * r - 1.0)  # {0, 1} -> {-1, +1}
    env = RecordEpisodeStatistics(env)
    obs, info = env.reset(seed=5)
    assert obs.startswith("<|user|>Spell ") and obs.endswith("<|assistant|>")
    _, reward, terminated, _, info = env.step("nope")
    assert reward == -1.0 and terminated
    assert info["episode"]["r"] == -1.0 and info["episode"]["l"] == 1
    _, info = env.reset(seed=5)
    _, reward, *_ = env.step(info["problem"].answer)
    assert reward == 1.0


def test_time_limit_truncates_a_multi_turn_task():
    prolong.register_task(
        "adapters-gym/retry-v0",
        problems=spell_problem,
        verifier=spell_verifier,
        domain="gym_spell_retry",
        max_turns=5,
        feedback=lambda problem, verdict: "Not quite. Try again.",
    )
    env = gym.wrappers.TimeLimit(gym.make("adapters-gym/retry-v0"), max_episode_steps=2)
    env.reset(seed=0)
    obs, _, terminated, truncated, _ = env.step("no")
    assert obs == "Not quite. Try again." and not terminated and not truncated
    _, _, terminated, truncated, _ = env.step("still no")
    assert truncated and not terminated


def test_vector_rewards_equal_prolong_verify_on_the_same_responses():
    envs = gym.vector.SyncVectorEnv([lambda: gym.make("adapters-gym/spell-v0") for _ in range(4)])
    _, info = envs.reset(seed=11)
    responses = ("abcd", answers_of(info)[1], "", answers_of(info)[3] + " ")
    _, reward, *_ = envs.step(responses)
    expected = [prolong.verify("gym_spell", r, a).reward for r, a in zip(responses, answers_of(info))]
    assert np.array_equal(reward, np.array(expected))
    envs.close()
