"""OpenRLHF adapter: the reward_func file loaded by path, and `prolong export openrlhf`."""

import importlib.util
import json

import pytest

import prolong
import prolong.adapters.openrlhf as openrlhf_adapter
from prolong.adapters.openrlhf import parse_label, response_of
from prolong.cli import main as cli_main

torch = pytest.importorskip("torch")


def words_problem(rng, index):
    words = [rng.choice(["red", "green", "blue", "gold"]) for _ in range(3)]
    return {"prompt": "Repeat: " + " ".join(words), "answer": {"words": words}}


def words_verifier(response, answer):
    return response.strip() == " ".join(answer["words"])


@pytest.fixture(scope="module", autouse=True)
def toy_tasks():
    prolong.register_task("adapters-openrlhf/words-v0", problems=words_problem, verifier=words_verifier, domain="orl_words")


def load_like_openrlhf(path):
    """What OpenRLHF's SingleTurnAgentExecutor does with --remote_rm_url FILE.py."""
    spec = importlib.util.spec_from_file_location("reward_func", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


@pytest.fixture(scope="module")
def reward_func():
    return load_like_openrlhf(openrlhf_adapter.__file__)


def chat(prompt):
    """A Qwen-style chat template applied to one user turn (OpenRLHF's --apply_chat_template)."""
    return f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"


def exported(tmp_path, env, n, *extra):
    out = tmp_path / "train.jsonl"
    assert cli_main(["export", "openrlhf", "--env", env, "--n", str(n), "--out", str(out), *extra]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_export_openrlhf_writes_input_and_json_label(tmp_path):
    rows = exported(tmp_path, "adapters-openrlhf/words-v0", 3)
    assert len(rows) == 3
    label = json.loads(rows[0]["label"])
    assert label["domain"] == "orl_words" and isinstance(label["answer"], dict)
    assert rows[0]["input"].startswith("Repeat: ")
    assert rows[0]["messages"] == [{"role": "user", "content": rows[0]["input"]}]


def test_reward_func_scores_gold_one_and_wrong_zero_from_queries(tmp_path, reward_func):
    rows = exported(tmp_path, "adapters-openrlhf/words-v0", 4)
    prompts = [chat(r["input"]) for r in rows]
    labels = [r["label"] for r in rows]
    gold = [" ".join(json.loads(lab)["answer"]["words"]) for lab in labels]
    responses = [gold[0], "wrong", gold[2], gold[3] + " extra"]
    queries = [p + r + "<|im_end|>" for p, r in zip(prompts, responses)]
    out = reward_func(queries, prompts, labels)
    assert set(out) == {"rewards", "scores", "extra_logs"}
    assert isinstance(out["rewards"], torch.Tensor) and out["rewards"].dtype == torch.float32
    assert out["rewards"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert out["scores"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert float(out["extra_logs"]["prolong_accuracy"]) == 0.5


def test_reward_func_one_query_at_a_time_as_openrlhf_calls_it(tmp_path, reward_func):
    rows = exported(tmp_path, "adapters-openrlhf/words-v0", 2)
    for r in rows:
        gold = " ".join(json.loads(r["label"])["answer"]["words"])
        p = chat(r["input"])
        assert reward_func([p + gold + "<|im_end|><|endoftext|>"], [p], [r["label"]])["rewards"].tolist() == [1.0]


def test_math_labels_score_reference_one_and_other_answers_zero(tmp_path, reward_func):
    if importlib.util.find_spec("prolong.envs.math") is None:
        pytest.skip("prolong.envs.math (the math domain) is not built yet")
    import gymnasium as gym

    task = gym.make("prolong/math-v0").unwrapped.task
    rows = exported(tmp_path, "math", 4)
    problems = [task.problems[i] for i in range(4)]
    assert [json.loads(r["label"])["id"] for r in rows] == [p.id for p in problems]
    prompts = [chat(r["input"]) for r in rows]
    gold = [task.reference(p) for p in problems]
    wrong = [task.reference(next(q for q in problems if q.answer != p.answer)) for p in problems]
    labels = [r["label"] for r in rows]
    assert reward_func([p + g + "<|im_end|>" for p, g in zip(prompts, gold)], prompts, labels)["rewards"].tolist() == [1.0] * 4
    assert reward_func([p + w + "<|im_end|>" for p, w in zip(prompts, wrong)], prompts, labels)["rewards"].tolist() == [0.0] * 4


def test_bare_labels_are_answers_in_the_prolong_domain_variable(monkeypatch, reward_func):
    monkeypatch.setenv("PROLONG_DOMAIN", "orl_words")
    p = chat("Repeat: red red blue")
    out = reward_func([p + "red red blue</s>"], [p], [json.dumps({"words": ["red", "red", "blue"]})])
    assert out["rewards"].tolist() == [1.0]


def test_response_is_the_query_after_the_prompt_without_end_tokens():
    assert response_of("<s>Q: 1+1?\nA: 2<|im_end|><|endoftext|>", "<s>Q: 1+1?\nA:") == " 2"
    assert response_of("P\nanswer\n<｜end▁of▁sentence｜>", "P\n") == "answer"
    # a decode that changed the prompt's start still cuts after the prompt's tail
    assert response_of("<bos> Q: what?\nA: fine</s>", "<bos>Q: what?\nA:") == " fine"
    # end-of-turn tokens inside the response are kept: only trailing ones go
    assert response_of("P: x <|im_end|> y<|im_end|>", "P:") == " x <|im_end|> y"


def test_labels_parse_to_domain_answer_and_problem():
    d, a, p = parse_label(json.dumps({"domain": "orl_words", "answer": {"words": ["a"]}, "id": "w/1", "metadata": {"k": 1}}))
    assert (d, a, p.id, dict(p.metadata)) == ("orl_words", {"words": ["a"]}, "w/1", {"k": 1})
    with pytest.raises(ValueError, match="not a registered domain"):
        parse_label(json.dumps({"domain": "nope", "answer": "1"}))
