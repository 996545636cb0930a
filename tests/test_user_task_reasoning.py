"""User tasks follow the reasoning-section policy of every domain (prolong/text.py):
their verifier judges the final answer only, unless the task asks for the whole response."""

from __future__ import annotations

import gymnasium as gym
import pytest

import prolong

PROBLEMS = [{"prompt": "Say 42.", "answer": "42"}]
SEEN: list[str] = []


def exact(response, answer):
    SEEN.append(response)
    return response.strip() == answer


@pytest.fixture(scope="module")
def tasks():
    final = prolong.register_task("me/exact-final-v0", problems=PROBLEMS, verifier=exact)
    full = prolong.register_task("me/exact-full-v0", problems=PROBLEMS, verifier=exact, reasoning="full")
    return final, full


@pytest.mark.parametrize(
    "response, final_reward, full_reward",
    [
        ("42", 1.0, 1.0),
        ("<think>It is 41? No.</think>42", 1.0, 0.0),
        ("<think>a</think>b<think>c</think> 42 ", 1.0, 0.0),
        ("<think>a</think>42<think>or 43", 0.0, 0.0),  # reopened, never closed
        ("<think>the answer is 42", 0.0, 0.0),
        ("Reasoning: 6*7.</think>42", 1.0, 0.0),  # the chat template opened <think>
    ],
)
def test_user_verifier_judges_the_final_answer(tasks, response, final_reward, full_reward):
    final, full = tasks
    for env_id, want in ((final, final_reward), (full, full_reward)):
        env = gym.make(env_id)
        env.reset(options={"index": 0})
        _, reward, *_ = env.step(response)
        assert reward == want, (env_id, response)
        task = prolong.make_task(env_id)
        assert prolong.verify_batch(task, [response], ["42"])[0].reward == want


def test_unclosed_reasoning_never_reaches_the_verifier(tasks):
    final, _ = tasks
    SEEN.clear()
    v = prolong.verify_batch(prolong.make_task(final), ["<think>42"], ["42"], timeout=None)[0]
    assert v.reward == 0.0 and v.reason == prolong.core.Reason.NO_ANSWER
    assert SEEN == []


def test_reasoning_option_is_checked():
    with pytest.raises(ValueError, match="reasoning"):
        prolong.register_task("me/exact-bad-v0", problems=PROBLEMS, verifier=exact, reasoning="strip")
