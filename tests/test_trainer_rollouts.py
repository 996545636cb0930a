"""Rollout collection with a scripted engine: dynamic sampling, its round cap, the
dropped fraction, overlong shaping, deterministic data, and the loss layout."""

import re

import pytest

import torch

from prolong.trainer.config import TrainConfig
from prolong.trainer.engines import Completion
from prolong.trainer.loop import Rollout, build_batch, collect_rollouts, draw_problems, make_envs

CFG = ["envs=[prolong/toy-add-v0]", "env_kwargs.prolong/toy-add-v0.max_operand=9", "num_generations=4", "prompts_per_step=4", "stages=[]", "steps=1"]


class ScriptedEngine:
    """Answers ``What is a + b?``: always right when a + b is even (a group with equal
    rewards), right in half the samples when it is odd (an informative group)."""

    def __init__(self, *, always_equal: bool = False, length: int = 5, finish: str = "stop") -> None:
        self.always_equal, self.length, self.finish, self.calls = always_equal, length, finish, 0

    def generate(self, prompts, *, n, max_new_tokens, temperature, top_p=1.0, seed=None):
        self.calls += 1
        out = []
        for prompt in prompts:
            a, b = map(int, re.findall(r"\d+", prompt))
            group = []
            for i in range(n):
                right = self.always_equal or (a + b) % 2 == 0 or i % 2 == 0
                text = f"The answer is \\boxed{{{a + b if right else a + b + 1}}}."
                group.append(Completion(text, [1, 2], list(range(3, 3 + self.length)), self.finish))
            out.append(group)
        return out

    def sync_weights(self, model):
        pass


def test_dynamic_sampling_keeps_only_informative_groups_until_the_batch_is_full():
    cfg = TrainConfig.from_args(CFG + ["max_sampling_rounds=10"])
    tasks = make_envs(cfg)
    ro = collect_rollouts(ScriptedEngine(), tasks, cfg, step=0)
    assert len(ro.problems) == 4
    for p, rewards in zip(ro.problems, ro.rewards):
        assert (p.metadata["a"] + p.metadata["b"]) % 2 == 1 and sorted(set(rewards)) == [0.0, 1.0]
    m = ro.metrics
    # round 1: 4 prompts, 1 informative; round 2: ceil(3 * 1.5) = 5 prompts, 3 informative
    assert m["dynamic_sampling/rounds"] == 2 and m["dynamic_sampling/dropped_frac"] == 5 / 9
    assert m["groups"] == 4


def test_dynamic_sampling_stops_at_the_round_cap_and_reports_every_group_dropped():
    cfg = TrainConfig.from_args(CFG + ["max_sampling_rounds=3"])
    engine = ScriptedEngine(always_equal=True)
    ro = collect_rollouts(engine, make_envs(cfg), cfg, step=0)
    assert ro.problems == [] and engine.calls == 3
    assert ro.metrics["dynamic_sampling/rounds"] == 3 and ro.metrics["dynamic_sampling/dropped_frac"] == 1.0
    assert ro.metrics["reward/mean"] == 1.0 and ro.metrics["accuracy"] == 1.0


def test_without_dynamic_sampling_every_group_is_kept_in_one_round():
    cfg = TrainConfig.from_args(CFG + ["dynamic_sampling=false"])
    engine = ScriptedEngine(always_equal=True)
    ro = collect_rollouts(engine, make_envs(cfg), cfg, step=0)
    assert len(ro.problems) == 4 and engine.calls == 1 and ro.metrics["dynamic_sampling/dropped_frac"] == 0.0


def test_overlong_shaping_lowers_the_reward_of_long_responses():
    cfg = TrainConfig.from_args(CFG + ["dynamic_sampling=false", "max_new_tokens=10", "overlong_buffer=4"])
    # 9 tokens: 1 token into the 4-token buffer before the 10-token budget: penalty -(9 - 6) / 4 = -0.75
    ro = collect_rollouts(ScriptedEngine(always_equal=True, length=9), make_envs(cfg), cfg, step=0)
    assert all(r == 0.25 for g in ro.rewards for r in g)
    assert ro.metrics["reward/mean"] == 0.25 and ro.metrics["accuracy"] == 1.0


def test_the_problems_of_a_step_depend_only_on_seed_and_step():
    tasks = make_envs(TrainConfig.from_args(CFG))
    draw = lambda seed, step: [p.id for p in draw_problems(tasks, [1.0], seed=seed, step=step, round_=0, count=8)]  # noqa: E731
    assert draw(0, 5) == draw(0, 5)
    assert draw(0, 5) != draw(0, 6) and draw(0, 5) != draw(1, 5)


def test_train_and_validation_problems_are_disjoint():
    cfg = TrainConfig.from_args(CFG)
    pairs = lambda split: {(p.metadata["a"], p.metadata["b"]) for p in (make_envs(cfg, split=split)["prolong/toy-add-v0"].problems[i] for i in range(300))}  # noqa: E731
    train, val = pairs("train"), pairs("validation")
    assert train and val and not train & val


def test_batch_layout_aligns_each_response_token_with_the_logits_that_predict_it():
    ro = Rollout(
        completions=[[Completion("x", [5, 6, 7], [8, 9], "stop"), Completion("y", [5, 6, 7], [10, 11, 12], "length")]],
        rewards=[[1.0, 0.0]],
    )
    b = build_batch(ro, torch.tensor([[0.7, -0.7]]), pad_id=0, overlong_filter=True)
    assert b.input_ids.tolist() == [[5, 6, 7, 8, 9, 0], [5, 6, 7, 10, 11, 12]]
    assert b.resp_pos.tolist() == [[2, 3, 0], [2, 3, 4]]  # position 2 (token 7) predicts the first response token
    assert b.resp_tokens.tolist() == [[8, 9, 0], [10, 11, 12]]
    assert b.resp_mask.tolist() == [[1, 1, 0], [1, 1, 1]]
    assert b.weights.tolist() == [1.0, 0.0]  # the truncated sample is filtered out of the loss
    assert torch.allclose(b.advantages, torch.tensor([0.7, -0.7]))


class RightButRagged(ScriptedEngine):
    """Every sample right (equal verifier rewards), with lengths that differ within a group."""

    def generate(self, prompts, *, n, max_new_tokens, temperature, top_p=1.0, seed=None):
        out = []
        for prompt in prompts:
            a, b = map(int, re.findall(r"\d+", prompt))
            out.append([Completion(f"\\boxed{{{a + b}}}", [1, 2], list(range(3, 3 + 2 + 3 * i)), "stop") for i in range(n)])
        return out


def test_dynamic_sampling_filters_on_the_verifier_reward_not_the_length_shaped_one():
    # lengths 2, 5, 8, 11 of a 12-token budget with an 8-token overlong buffer: shaped rewards differ, verdicts do not
    cfg = TrainConfig.from_args(CFG + ["max_sampling_rounds=2", "max_new_tokens=12", "overlong_buffer=8"])
    with pytest.warns(RuntimeWarning, match="training on 0 of 4 groups"):
        ro = collect_rollouts(RightButRagged(), make_envs(cfg), cfg, step=0)
    assert ro.problems == [] and ro.metrics["dynamic_sampling/dropped_frac"] == 1.0


def test_a_step_short_of_groups_is_logged_and_warned():
    cfg = TrainConfig.from_args(CFG + ["max_sampling_rounds=1"])
    with pytest.warns(RuntimeWarning, match=r"step 3: training on \d of 4 groups"):
        ro = collect_rollouts(ScriptedEngine(), make_envs(cfg), cfg, step=3)
    assert len(ro.problems) < 4
    assert ro.metrics["dynamic_sampling/short_batch"] == 1.0
    assert ro.metrics["dynamic_sampling/missing_groups"] == 4 - len(ro.problems)
    full = collect_rollouts(ScriptedEngine(), make_envs(cfg), TrainConfig.from_args(CFG + ["max_sampling_rounds=10"]), step=0)
    assert full.metrics["dynamic_sampling/short_batch"] == 0.0 and full.metrics["dynamic_sampling/missing_groups"] == 0
