"""The embedded default's task and its report: a held-out split that cannot be memorised,
a demonstrator whose format is right, and summary.json's schema (a short run)."""

import json

import pytest

from prolong.core import Reason
from prolong.envs.arith import ArithVerifier, canonical_form, flawed_reference, reference_response
from prolong.trainer.config import TrainConfig
from prolong.trainer.loop import make_envs


def _default_tasks(split):
    return make_envs(TrainConfig(), split=split)["prolong/arith-v0"]


def test_the_default_trains_on_arith_with_a_flawed_demonstrator():
    cfg = TrainConfig()
    assert cfg.envs == ["prolong/arith-v0"] and cfg.sft_flawed_frac > 0 and cfg.sft_unboxed_frac == 0


def test_held_out_problems_share_no_fact_commuted_twin_or_inverse_with_training():
    train, val = _default_tasks("train"), _default_tasks("validation")
    train_facts = {tuple(train.problems[i].metadata["canonical"]) for i in range(20_000)}
    val_problems = [val.problems[i] for i in range(TrainConfig().val_problems)]
    assert len(train_facts) > 3000  # thousands of distinct problems
    assert len({p.prompt for p in val_problems}) >= 190  # 200 held-out problems, nearly all distinct
    for p in val_problems:
        m = p.metadata
        assert tuple(m["canonical"]) == canonical_form(m["op"], m["a"], m["b"])
        assert tuple(m["canonical"]) not in train_facts, p.prompt


def test_commuted_twins_and_inverses_have_one_canonical_form():
    assert canonical_form("+", 47, 38) == canonical_form("+", 38, 47) == canonical_form("-", 85, 47) == canonical_form("-", 85, 38)


def test_demonstrations_parse_at_least_90_percent_and_the_flawed_ones_are_wrong():
    train = _default_tasks("train")
    verifier = ArithVerifier()
    problems = [train.problems[i] for i in range(500)]
    flawed = [p for p in problems if p.metadata["flawed_reference"]]
    assert len(flawed) > 100
    answered = [verifier(p.metadata["flawed_reference"] or train.reference(p), p.answer).reason != Reason.NO_ANSWER
                for p in problems]
    assert sum(answered) / len(answered) >= 0.9
    assert all(verifier(train.reference(p), p.answer).correct for p in problems)
    assert not any(verifier(p.metadata["flawed_reference"], p.answer).correct for p in flawed)


def test_the_flawed_demonstrator_drops_the_carry_and_forgets_the_borrow():
    assert reference_response("+", 47, 85) == "7+5=12 4+8+1=13 \\boxed{132}"
    assert flawed_reference("+", 47, 85) == "7+5=12 4+8=12 \\boxed{122}"
    assert reference_response("-", 85, 47) == "15-7=8 8-4-1=3 \\boxed{38}"
    assert flawed_reference("-", 85, 47) == "15-7=8 8-4=4 \\boxed{48}"
    assert flawed_reference("+", 41, 23) is None  # no carry, nothing to get wrong


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_run_writes_summary_json_with_before_and_after_per_env_and_overall(tmp_path):
    from prolong.trainer.loop import train

    cfg = TrainConfig.from_args([
        f"cache_dir={tmp_path / 'cache'}", f"out_dir={tmp_path / 'run'}", "tiny_hidden_size=32", "tiny_layers=1",
        "sft_steps=20", "stages=[]", "steps=2", "prompts_per_step=4", "num_generations=4", "val_problems=8",
        "val_k=2", "val_every=0", "save_every=0", "plot=false", "tensorboard=false", "progress=false",
        "save_final_model=false", "max_new_tokens=8",
    ])
    train(cfg, log=lambda *a: None)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for when in ("before", "after"):
        s = summary[when]
        for part in (s, s["envs"]["prolong/arith-v0"]):
            assert set(part) >= {"pass@1", "pass@k", "greedy", "answer_rate", "n_problems", "k"}
            assert part["n_problems"] == 8 and part["k"] == 2
            for key in ("pass@1", "pass@k", "greedy", "answer_rate"):
                assert 0.0 <= part[key] <= 1.0, (when, key)
            assert part["pass@1"] <= part["pass@k"]
    assert summary["steps"] == 2 and summary["seed"] == 0
