"""prolong/mix-v0: a weighted mixture of registered envs (tested with small user tasks
registered here, plus the paper's default blend when every domain's env imports)."""

import importlib

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong
from prolong import Problem, Reason, Verdict
from prolong.envs.mix import PAPER_MIX_WEIGHTS, MixEnv, MixVerifier, make_mix_task


def upper_problem(rng, index):
    word = "".join(rng.choice("abcdef") for _ in range(4))
    return {"prompt": f"Write {word} in capitals.", "answer": word.upper()}


def upper_verifier(response, answer):
    return response.strip() == answer


def sum_problem(rng, index):
    a, b = rng.randrange(100), rng.randrange(100)
    return {"prompt": f"{a}+{b}=?", "answer": str(a + b)}


def sum_verifier(response, answer):
    return Verdict.right(response) if response.strip() == answer else Verdict.wrong(Reason.WRONG, response)


UPPER = prolong.register_task("mixtest/upper-v0", problems=upper_problem, verifier=upper_verifier, domain="mixtest_upper")
SUM = prolong.register_task("mixtest/sum-v0", problems=sum_problem, verifier=sum_verifier, domain="mixtest_sum")
TWO = {UPPER: 1, SUM: 1}


def test_paper_blend_weights_are_the_papers_counts():
    assert PAPER_MIX_WEIGHTS == {
        "prolong/math-v0": 40_000,
        "prolong/code-v0": 24_000,
        "prolong/stem-v0": 25_000,
        "prolong/reasoning-gym-v0": 37_000,
        "prolong/ifeval-v0": 10_000,
    }
    assert sum(PAPER_MIX_WEIGHTS.values()) == 136_000


def test_check_env_passes_on_a_mixture():
    check_env(MixEnv(TWO), skip_render_check=True)


def test_same_reset_seed_gives_same_problem():
    a, b = gym.make("prolong/mix-v0", envs=TWO), gym.make("prolong/mix-v0", envs=TWO)
    for seed in range(10):
        assert a.reset(seed=seed)[1]["problem"] == b.reset(seed=seed)[1]["problem"]


def test_info_and_problem_name_the_domain_and_env():
    env = MixEnv(TWO)
    seen = set()
    for seed in range(20):
        _, info = env.reset(seed=seed)
        p = info["problem"]
        assert info["domain"] == p.domain and info["env_id"] == p.metadata["env_id"]
        assert (info["env_id"], p.domain) in {(UPPER, "mixtest_upper"), (SUM, "mixtest_sum")}
        seen.add(info["env_id"])
    assert seen == {UPPER, SUM}


def test_step_scores_with_the_sub_envs_verifier():
    env = MixEnv(TWO)
    for seed in range(6):
        _, info = env.reset(seed=seed)
        _, reward, terminated, truncated, step_info = env.step(info["problem"].answer)
        assert reward == 1.0 and terminated and not truncated
        assert step_info["domain"] == info["domain"] and step_info["env_id"] == info["env_id"]
        env.reset(seed=seed)
        assert env.step("not it")[1] == 0.0


def test_weights_steer_the_draws():
    env = MixEnv({UPPER: 9, SUM: 1})
    ids = [env.reset(seed=s)[1]["env_id"] for s in range(300)]
    assert 0.8 < ids.count(UPPER) / len(ids) < 0.97


def test_split_and_seed_reach_sub_envs_that_take_them():
    rg = {"prolong/reasoning-gym-v0": {"weight": 1, "kwargs": {"tasks": ["gcd"]}}}
    train, val = MixEnv(rg, split="train", seed=3), MixEnv(rg, split="validation", seed=3)
    p, q = train.reset(seed=0)[1]["problem"], val.reset(seed=0)[1]["problem"]
    assert p.metadata["split"] == "train" and q.metadata["split"] == "validation"


def test_sub_env_kwargs_reach_the_sub_env():
    lenient = MixEnv({"prolong/reasoning-gym-v0": {"weight": 1, "kwargs": {"tasks": ["gcd"], "strict": False}}})
    _, info = lenient.reset(seed=0)
    gold = info["problem"].answer["answer"]
    _, reward, *_ = lenient.step(f"<answer>1 2 3 {gold} 99</answer>")
    assert 0.0 < reward < 1.0  # reasoning-gym's substring credit, kept by strict=False


def test_reference_comes_from_the_sub_envs_task():
    env = MixEnv({SUM: 1, "prolong/reasoning-gym-v0": {"weight": 3, "kwargs": {"tasks": ["lcm", "rush_hour"]}}})
    for seed in range(8):
        _, info = env.reset(seed=seed)
        if info["env_id"] == SUM:
            with pytest.raises(ValueError, match="no reference"):
                env.task.reference(info["problem"])
            continue
        assert env.step(env.task.reference(info["problem"]))[1] == 1.0


def test_sub_envs_are_made_on_first_draw():
    prolong.register_env("mixtest/broken-v0", "mixtest_no_such_module:Env", domain="mixtest_broken")
    env = MixEnv({UPPER: 1, "mixtest/broken-v0": 1})  # constructing does not import the broken env
    outcomes = set()
    for seed in range(10):
        try:
            outcomes.add(env.reset(seed=seed)[1]["env_id"])
        except RuntimeError as e:
            assert "mixtest/broken-v0" in str(e)
            outcomes.add("error")
    assert outcomes == {UPPER, "error"}


def test_mixture_errors_name_the_env():
    with pytest.raises(ValueError, match="'mixtest/nope-v0' is not registered"):
        MixEnv({"mixtest/nope-v0": 1})
    with pytest.raises(ValueError, match="positive"):
        MixEnv({UPPER: -1})
    with pytest.raises(ValueError, match="unknown option"):
        MixEnv({UPPER: {"weight": 1, "kwarg": {}}})
    with pytest.raises(ValueError, match="empty"):
        MixEnv({})


def test_options_problem_is_served_by_its_env():
    env = MixEnv(TWO)
    p = env.reset(seed=1)[1]["problem"]
    env.reset(seed=2)
    obs, info = env.reset(options={"problem": p})
    assert obs == p.prompt and info["env_id"] == p.metadata["env_id"]
    assert env.step(p.answer)[1] == 1.0


def test_mix_verifier_dispatches_on_problem_domain():
    p = MixEnv(TWO).reset(seed=0)[1]["problem"]
    assert prolong.verify("mix", p.answer, p.answer, p).correct
    assert not prolong.verify("mix", "x", p.answer, p).correct


def test_mix_verifier_without_problem_reads_unambiguous_answers_only():
    rg = {"question": "?", "answer": "4", "metadata": {"source_dataset": "gcd"}}
    assert MixVerifier.domain_of(rg) == "reasoning_gym"
    assert MixVerifier.domain_of({"instruction_id_list": [], "kwargs": []}) == "ifeval"
    assert MixVerifier.domain_of({"inputs": ["1"], "outputs": ["1"]}) == "code"
    assert prolong.verify("mix", "<answer>4</answer>", rg).correct
    with pytest.raises(ValueError, match="needs the problem"):
        prolong.verify("mix", "42", "42")


def test_mix_verify_batch_groups_by_domain():
    env = MixEnv(TWO)
    problems = [env.reset(seed=s)[1]["problem"] for s in range(6)]
    responses = [p.answer if i % 2 else "no" for i, p in enumerate(problems)]
    verdicts = prolong.verify_batch("mix", responses, [p.answer for p in problems], problems)
    assert [v.reward for v in verdicts] == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]


def test_make_mix_task_gives_the_trainer_a_task():
    task = make_mix_task({UPPER: 1, SUM: 2}, split="train", seed=5)
    p = task.problems[12]
    assert p == task.problems[12] and p.metadata["env_id"] in (UPPER, SUM)
    assert task.score(p.answer, p).correct and not task.score("?", p).correct


DEFAULT_DOMAINS = {
    "prolong/math-v0": "math",
    "prolong/code-v0": "code",
    "prolong/stem-v0": "stem",
    "prolong/reasoning-gym-v0": "reasoning_gym",
    "prolong/ifeval-v0": "ifeval",
}


def test_default_blend_serves_every_domain():
    for env_id in DEFAULT_DOMAINS:  # skip while a domain is still being built
        module = gym.spec(env_id).entry_point.split(":")[0]
        try:
            importlib.import_module(module)
        except ImportError as e:
            pytest.skip(f"{env_id} does not import yet: {e}")
    env = gym.make("prolong/mix-v0")
    check_env(env.unwrapped, skip_render_check=True)
    seen = {}
    for seed in range(200):
        _, info = env.reset(seed=seed)
        seen.setdefault(info["env_id"], info["domain"])
        if len(seen) == len(DEFAULT_DOMAINS):
            break
    assert seen == DEFAULT_DOMAINS
    _, info = env.reset(seed=0)
    _, reward, terminated, _, step_info = env.step("I do not know.")
    assert 0.0 <= reward <= 1.0 and terminated and step_info["domain"] == info["domain"]


def test_mix_problem_keeps_its_own_domain():
    p = MixEnv(TWO).reset(seed=4)[1]["problem"]
    assert isinstance(p, Problem) and p.domain != "mix"


def test_drawing_from_the_task_between_reset_and_step_does_not_change_the_episode():
    env = MixEnv({UPPER: 1})
    p = env.reset(seed=0)[1]["problem"]
    other = env.task.problems[123]  # resets the shared sub-env to another problem
    assert other.prompt != p.prompt
    assert env.step(p.answer)[1] == 1.0
