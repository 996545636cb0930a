"""``prolong eval``: the pass@k estimator, the per-env / per-domain summary, and the CLI
on a tiny model saved to disk (built here, offline, in a few seconds)."""

import json
from fractions import Fraction
from math import comb

import pytest

from prolong.evaluate import evaluate_engine, mean_pass_at_k, pass_at_k
from prolong.trainer.engines import Completion

# --- the estimator ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 0, 1, 0.0),  # nothing right
        (5, 5, 1, 1.0),  # everything right
        (10, 3, 1, 0.3),  # pass@1 is c / n
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (10, 3, 5, 11 / 12),  # 1 - C(7,5)/C(10,5) = 1 - 21/252
        (4, 3, 2, 1.0),  # n - c < k: every pair holds a right sample
        (16, 1, 16, 1.0),  # k = n: right if any sample is
    ],
)
def test_pass_at_k_matches_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_is_exact_where_binomials_overflow_floats():
    # C(1000, 500) ~ 2.7e299: the naive ratio of floats loses everything; the product form does not
    exact = 1 - Fraction(comb(990, 500), comb(1000, 500))
    assert pass_at_k(1000, 10, 500) == pytest.approx(float(exact), rel=1e-12)
    exact_small = 1 - Fraction(comb(1000 - 1, 3), comb(1000, 3))  # 3/1000
    assert pass_at_k(1000, 1, 3) == pytest.approx(float(exact_small), rel=1e-9)


def test_pass_at_k_rejects_k_above_n_and_c_outside_0_n():
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError, match="c <= n"):
        pass_at_k(4, 5, 1)


def test_mean_pass_at_k_averages_problems_not_samples():
    # problem A 2/4 right, problem B 0/4: pass@2 = (1 - C(2,2)/C(4,2) + 0) / 2 = (5/6) / 2
    assert mean_pass_at_k([2, 0], 4, 2) == pytest.approx(5 / 12)
    assert mean_pass_at_k([], 4, 2) == 0.0


# --- evaluate_engine with a scripted engine ----------------------------------------------


class ScriptedEngine:
    """Answers sample 0 of each problem right (reads a + b from the prompt), the others wrong."""

    def __init__(self, right_samples=1):
        self.right_samples = right_samples
        self.calls = []

    def generate(self, prompts, *, n, max_new_tokens, temperature, top_p=1.0, seed=None):
        self.calls.append({"prompts": len(prompts), "n": n, "temperature": temperature, "seed": seed})
        out = []
        for prompt in prompts:
            a, b = (int(x) for x in prompt.removeprefix("What is ").rstrip("?").split(" + "))
            group = []
            for j in range(n):
                text = f"The answer is \\boxed{{{a + b if j < self.right_samples else a + b + 1}}}."
                reason = "stop" if j % 2 == 0 else "length"
                group.append(Completion(text=text, prompt_ids=[1, 2], token_ids=[5] * (3 + j), finish_reason=reason))
            out.append(group)
        return out

    def sync_weights(self, model):
        pass


def test_one_right_sample_in_four_gives_pass1_quarter_pass2_half_pass4_one():
    engine = ScriptedEngine(right_samples=1)
    r = evaluate_engine(engine, ["prolong/toy-add-v0"], n=4, ks=[1, 2, 4], num_problems=10, progress=False, prompts_per_call=3)
    m = r.envs["prolong/toy-add-v0"]
    assert m["problems"] == 10 and m["samples"] == 40
    assert m["pass@1"] == pytest.approx(0.25)
    assert m["pass@2"] == pytest.approx(0.5)
    assert m["pass@4"] == pytest.approx(1.0)
    assert m["mean_reward"] == pytest.approx(0.25)
    assert m["truncated"] == pytest.approx(0.5)  # samples 1 and 3 of each group hit the budget
    assert m["mean_response_tokens"] == pytest.approx(4.5)  # 3, 4, 5, 6 tokens
    assert m["reasons"] == {"wrong answer": 0.75, "correct": 0.25}
    assert r.domains == {"toy_add": m}
    assert [c["prompts"] for c in engine.calls] == [3, 3, 3, 1]
    assert all(c["temperature"] == 1.0 for c in engine.calls)  # n > 1 samples at 1.0 by default


def test_n1_defaults_to_greedy_and_samples_are_kept_on_request():
    engine = ScriptedEngine(right_samples=1)
    r = evaluate_engine(engine, ["toy-add"], n=1, num_problems=3, keep_samples=True, progress=False)
    assert engine.calls[0]["temperature"] == 0.0
    assert r.envs["prolong/toy-add-v0"]["pass@1"] == 1.0
    assert [s["correct"] for s in r.samples] == [True, True, True]
    assert r.samples[0]["env"] == "prolong/toy-add-v0" and r.samples[0]["domain"] == "toy_add"


def test_k_larger_than_n_is_refused_with_both_numbers():
    with pytest.raises(ValueError, match=r"samples per problem = 2.*k = \[4\]"):
        evaluate_engine(ScriptedEngine(), ["prolong/toy-add-v0"], n=2, ks=[4], progress=False)


def test_unknown_env_names_the_registered_ones():
    with pytest.raises(ValueError, match="unknown env 'no-such-env'.*prolong/toy-add-v0"):
        evaluate_engine(ScriptedEngine(), ["no-such-env"], progress=False)


# --- the CLI on a real (tiny) model --------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A 1-layer Qwen2 with prolong's tiny BPE tokenizer, saved with save_pretrained."""
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    texts = [f"What is {a} + {b}?\nThe answer is \\boxed{{{a + b}}}." for a in range(21) for b in range(21)]
    tok = build_tokenizer(texts, vocab_size=280)
    model = build_tiny_model(tok, hidden_size=32, layers=1, heads=2, seed=0)
    path = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_cli_eval_writes_json_and_samples_whose_verdicts_match_verify(tiny_model_dir, tmp_path, capsys, monkeypatch):
    import prolong
    from prolong.cli import main

    monkeypatch.setenv("COLUMNS", "200")  # rich fits the table to the terminal's width
    out, samples = tmp_path / "results.json", tmp_path / "samples.jsonl"
    rc = main([
        "eval", "--model", str(tiny_model_dir), "--env", "prolong/toy-add-v0", "--n", "3", "--k", "1", "2", "3",
        "--num-problems", "4", "--max-new-tokens", "6", "--out", str(out), "--samples", str(samples), "-q",
        "--env-kwargs", '{"prolong/toy-add-v0": {"max_operand": 20}}',
    ])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "pass@3" in printed and "prolong/toy-add-v0" in printed and "toy_add" in printed
    data = json.loads(out.read_text())
    m = data["envs"]["prolong/toy-add-v0"]
    assert data["settings"]["n"] == 3 and data["settings"]["ks"] == [1, 2, 3] and data["settings"]["split"] == "validation"
    assert m["problems"] == 4 and m["samples"] == 12
    assert set(data["domains"]) == {"toy_add"}
    recs = [json.loads(line) for line in samples.read_text().splitlines()]
    assert len(recs) == 12
    # every reported verdict is prolong's own verdict of that response
    import gymnasium as gym

    task = gym.make("prolong/toy-add-v0", split="validation").unwrapped.task
    answers = {task.problems[i].id: task.problems[i].answer for i in range(4)}
    for rec in recs:
        assert prolong.verify("toy_add", rec["response"], answers[rec["problem_id"]]).correct == rec["correct"]
        assert rec["finish_reason"] in ("stop", "length")
    assert m["pass@1"] == pytest.approx(sum(r["correct"] for r in recs) / 12)
    assert 0.0 <= m["pass@1"] <= m["pass@2"] <= m["pass@3"] <= 1.0


def test_cli_eval_greedy_is_deterministic(tiny_model_dir, tmp_path):
    from prolong.evaluate import main

    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        assert main(["--model", str(tiny_model_dir), "--env", "toy-add", "--num-problems", "3", "--max-new-tokens", "5",
                     "--samples", str(tmp_path / f"s{i}.jsonl"), "--out", str(out), "-q"]) == 0
        outs.append((tmp_path / f"s{i}.jsonl").read_text())
    assert outs[0] == outs[1]
    assert json.loads((tmp_path / "r0.json").read_text())["settings"]["temperature"] == 0.0


def test_cli_eval_bad_model_path_exits_2_with_the_path(tmp_path, capsys):
    from prolong.evaluate import main

    missing = tmp_path / "nope"
    missing.mkdir()
    assert main(["--model", str(missing), "--env", "prolong/toy-add-v0", "-q"]) == 2
    assert str(missing) in capsys.readouterr().err
