"""Verification on Ray: a local 2-CPU instance gives the same Verdicts as in-process."""

import importlib.util
import os
import time

import pytest

import prolong
from prolong.adapters.ray import route_to_ray, unroute_from_ray, verify_batch_ray

ray = pytest.importorskip("ray")

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
MATH = importlib.util.find_spec("prolong.envs.math") is not None


def parity_verifier(response, answer):
    """Module-level (Ray workers import this module to find it): full marks for the right
    parity word, half for the right word in the wrong case, a crash and a hang on request."""
    if response == "crash":
        raise RuntimeError("verifier bug on purpose")
    if response == "hang":
        time.sleep(600)
    if response == answer:
        return prolong.Verdict.right(response)
    if response.lower() == answer:
        return prolong.Verdict.partial(0.5, response)
    return prolong.Verdict.wrong(extracted=response or None)


def parity_problem(rng, index):
    k = rng.randint(0, 1000)
    return {"prompt": f"Is {k} even or odd?", "answer": "even" if k % 2 == 0 else "odd"}


@pytest.fixture(scope="module")
def local_ray():
    prolong.register_task("adapters-ray/parity-v0", problems=parity_problem, verifier=parity_verifier, domain="ray_parity")
    # workers must import this test module to unpickle parity_verifier: put it on their path
    ray.init(
        num_cpus=2,
        num_gpus=0,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=80 * 1024 * 1024,
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([TESTS_DIR, os.environ.get("PYTHONPATH", "")])}},
    )
    yield
    ray.shutdown()


def test_ray_verdicts_equal_in_process_verdicts_in_order(local_ray):
    responses = ["even", "odd", "EVEN", "", "odd", "Odd", "even", "x"] * 3
    answers = ["even", "even", "even", "odd", "odd", "odd", "odd", "even"] * 3
    got = verify_batch_ray("ray_parity", responses, answers, chunk_size=5)
    assert got == [prolong.verify("ray_parity", r, a) for r, a in zip(responses, answers)]
    assert [v.reward for v in got[:8]] == [1.0, 0.0, 0.5, 0.0, 1.0, 0.5, 0.0, 0.0]


def test_a_crash_and_a_hang_are_their_own_items_verdicts(local_ray):
    got = verify_batch_ray("ray_parity", ["even", "crash", "hang", "odd"], ["even"] * 4, chunk_size=4, timeout=2)
    assert [v.reason for v in got] == ["correct", "verifier error", "verifier timeout", "wrong answer"]
    assert "verifier bug on purpose" in got[1].details["error"]


@pytest.mark.skipif(not MATH, reason="prolong.envs.math (the math domain) is not built yet")
def test_math_on_ray_matches_verify_batch(local_ray):
    import gymnasium as gym

    task = gym.make("prolong/math-v0").unwrapped.task
    problems = [task.problems[i] for i in range(12)]
    responses = [task.reference(p) if i % 3 else "The answer is \\boxed{0.123}" for i, p in enumerate(problems)]
    answers = [p.answer for p in problems]
    got = verify_batch_ray("prolong/math-v0", responses, answers, problems, chunk_size=4)
    assert got == prolong.verify_batch("math", responses, answers, problems)
    assert sum(v.correct for v in got) >= 8


def test_route_to_ray_sends_verify_batch_of_a_domain_to_the_cluster(local_ray):
    assert route_to_ray(["ray_parity"], chunk_size=2) == ["ray_parity"]
    try:
        assert type(prolong.get_verifier("ray_parity")).__name__ == "RayVerifier"
        got = prolong.verify_batch("ray_parity", ["even", "odd", "ODD"], ["even", "even", "odd"])
        assert [v.reward for v in got] == [1.0, 0.0, 0.5]
        assert prolong.verify("ray_parity", "even", "even").correct  # single calls stay local
    finally:
        unroute_from_ray(["ray_parity"])
    assert type(prolong.get_verifier("ray_parity")).__name__ == "_UserVerifier"


def test_mismatched_lengths_and_non_text_responses_are_refused_before_ray_is_touched():
    with pytest.raises(ValueError, match="3 responses but 2 answers"):
        verify_batch_ray("ray_parity", ["a", "b", "c"], ["a", "b"])
    with pytest.raises(TypeError, match="response 1 must be a str"):
        verify_batch_ray("ray_parity", ["a", 5], ["a", "b"])


def test_verls_batch_reward_with_backend_ray_scores_on_the_cluster(local_ray):
    from prolong.adapters.verl import compute_score

    out = compute_score(
        data_sources=["ray_parity"] * 3, solution_strs=["even", "odd", "Even"], ground_truths=["even"] * 3,
        extra_infos=[{}] * 3, backend="ray",
    )  # fmt: skip
    assert [o["score"] for o in out] == [1.0, 0.0, 0.5]
