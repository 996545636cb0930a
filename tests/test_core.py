"""The core API: types, the env class, registration, verify/verify_batch, the pool."""

import json
import time

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong
from prolong import Problem, Verdict
from prolong.pool import CallError, CallTimeout, WorkerPool


def _sleep(x):
    time.sleep(x)
    return x


def _boom():
    raise ValueError("boom")


def _die():
    import os

    os._exit(3)


def test_verdict_rejects_reward_outside_unit_interval():
    with pytest.raises(ValueError, match="reward must be in"):
        Verdict(1.5, True)
    with pytest.raises(ValueError):
        Verdict(float("nan"), False)


def test_verdict_round_trips_through_dict():
    v = Verdict(0.5, False, "x", "partial", {"tests": [1, 0]})
    assert Verdict.from_dict(json.loads(json.dumps(v.to_dict()))) == Verdict(0.5, False, "x", "partial", {"tests": [1, 0]})


def test_problem_is_frozen_and_needs_text_prompt():
    p = Problem("a", "2+2?", "4", "math")
    with pytest.raises(Exception):
        p.prompt = "x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="prompt must be a str"):
        Problem("b", 5, "4", "math")  # type: ignore[arg-type]


def test_text_space_admits_any_unicode_up_to_bound():
    s = prolong.TextSpace(max_length=12)
    assert s.contains("\\boxed{½} ✓")
    assert not s.contains("x" * 13)
    assert not s.contains(b"bytes")
    assert s.contains(s.sample())


# -- a user task in about ten lines, as in the README --------------------------------


def reverse_problem(rng, index):
    word = "".join(rng.choice("abcdefgh") for _ in range(5))
    return {"prompt": f"Reverse the word {word}.", "answer": word[::-1]}


def reverse_verifier(response, answer):
    return response.strip().split()[-1:] == [answer] if response.strip() else False


def test_register_task_in_ten_lines_gives_a_working_gym_env():
    env_id = prolong.register_task("demo/reverse-v0", problems=reverse_problem, verifier=reverse_verifier)
    assert env_id in prolong.list_envs()
    env = gym.make(env_id)
    obs, info = env.reset(seed=3)
    answer = info["problem"].answer
    _, reward, terminated, truncated, info = env.step(f"The answer is {answer}")
    assert reward == 1.0 and terminated and not truncated and info["verdict"].correct
    env.reset(seed=3)
    _, reward, *_ = env.step("no idea")
    assert reward == 0.0
    assert prolong.verify("reverse", response=answer, answer=answer).correct
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)


def test_same_seed_same_problem_and_list_problems_task():
    prolong.register_task(
        "demo/capital-v0",
        problems=[{"prompt": "Capital of France?", "answer": "Paris"}, {"prompt": "Capital of Italy?", "answer": "Rome"}],
        verifier=lambda r, a: a.lower() in r.lower(),
    )
    env = gym.make("demo/capital-v0")
    a = [env.reset(seed=s)[0] for s in range(6)]
    b = [env.reset(seed=s)[0] for s in range(6)]
    assert a == b
    obs, info = env.reset(options={"index": 1})
    assert info["problem"].answer == "Rome"


def test_multi_turn_task_returns_feedback_until_solved():
    prolong.register_task(
        "demo/guess-v0",
        problems=[{"prompt": "Guess my number (1-3).", "answer": "2"}],
        verifier=lambda r, a: r.strip() == a,
        max_turns=3,
        feedback=lambda p, v: "wrong, try again",
    )
    env = gym.make("demo/guess-v0")
    env.reset(seed=0)
    obs, r, term, trunc, info = env.step("1")
    assert (obs, r, term) == ("wrong, try again", 0.0, False)
    obs, r, term, trunc, info = env.step("2")
    assert r == 1.0 and term and info["turn"] == 2


def test_step_with_non_text_action_names_the_problem():
    prolong.register_task("demo/echo-v0", problems=[{"prompt": "say hi", "answer": "hi"}], verifier=lambda r, a: r == a)
    env = gym.make("demo/echo-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(TypeError, match="response text"):
        env.step(42)


def test_verify_unknown_domain_lists_known_ones():
    with pytest.raises(KeyError, match="known domains"):
        prolong.verify("no-such-domain", response="x", answer="y")


# -- the pool ---------------------------------------------------------------------------


def test_pool_kills_stuck_calls_and_keeps_serving():
    with WorkerPool(2) as pool:
        t0 = time.monotonic()
        out = pool.map(_sleep, [(0.01,), (30,), (0.02,)], timeout=1.0)
        assert time.monotonic() - t0 < 10
        assert out[0] == 0.01 and out[2] == 0.02
        assert isinstance(out[1], CallTimeout)
        assert pool.map(_sleep, [(0.0,)], timeout=5) == [0.0]


def test_pool_reports_exceptions_and_dead_workers_per_call():
    with WorkerPool(2) as pool:
        out = pool.map(_boom, [(), ()], timeout=5)
        assert all(isinstance(o, CallError) and "boom" in o.message for o in out)
        out = pool.map(_die, [()], timeout=5)
        assert isinstance(out[0], CallError) and "died" in out[0].message
        assert pool.call(_sleep, 0.0, timeout=5) == 0.0


def _allocate(mb):
    block = bytearray(mb * 1024 * 1024)
    return len(block)


def test_pool_memory_limit_stops_a_runaway_allocation_but_not_small_ones():
    with WorkerPool(1, memory_limit_mb=256) as pool:
        assert pool.map(_allocate, [(16,)], timeout=10) == [16 * 1024 * 1024]
        (out,) = pool.map(_allocate, [(2048,)], timeout=10)
        assert isinstance(out, CallError) and "MemoryError" in out.message
        assert pool.call(_sleep, 0.0, timeout=5) == 0.0


def test_verify_batch_runs_a_user_task_in_parallel_with_verdicts_in_order():
    prolong.register_task("demo/reverse2-v0", problems=reverse_problem, verifier=reverse_verifier, domain="reverse2")
    answers = ["abc", "dd", "xyz", "q"] * 3
    responses = [a if i % 2 == 0 else "nope" for i, a in enumerate(answers)]
    verdicts = prolong.verify_batch("reverse2", responses, answers)
    assert [v.correct for v in verdicts] == [i % 2 == 0 for i in range(len(answers))]
    with pytest.raises(ValueError, match="2 responses but 1 answers"):
        prolong.verify_batch("reverse2", ["a", "b"], ["a"])


class _Unpicklable:
    """Pickles fine, but fails to unpickle in the worker."""

    def __reduce__(self):
        return (_fail_on_load, ())


def _fail_on_load():
    raise ImportError("module of the argument is not importable in the worker")


def _identity(x):
    return x


def test_pool_reports_arguments_the_worker_cannot_unpickle_without_losing_the_worker():
    with WorkerPool(1) as pool:
        pool.call(_sleep, 0.0, timeout=5)
        pid = pool._workers[0].proc.pid
        (out,) = pool.map(_identity, [(_Unpicklable(),)], timeout=5)
        assert isinstance(out, CallError) and "could not be received" in out.message
        assert pool._workers[0].proc.pid == pid
        assert pool.call(_identity, 7, timeout=5) == 7
