"""The IFEval verifier, env, built-in generator, loaders and hostile responses."""

import json
import pickle

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong
from prolong.envs.ifeval import IFEvalEnv, IFEvalVerifier, load_ifeval_problems
from prolong.envs.ifeval.env import ifeval_reference, make_ifeval_task
from prolong.envs.ifeval.verify import loose_variants

TWO = {
    "instruction_id_list": ["punctuation:no_comma", "startend:quotation"],
    "kwargs": [{}, {}],
}


def test_reward_is_the_fraction_followed_and_all_or_nothing_is_binary():
    v = prolong.verify("ifeval", response='"Yes, quoted."', answer=TWO)
    assert v.reward == 0.5 and not v.correct and v.reason == "partial"
    assert [i["followed"] for i in v.details["instructions"]] == [False, True]
    v = IFEvalVerifier(all_or_nothing=True)('"Yes, quoted."', TWO)
    assert v.reward == 0.0 and v.details["num_followed"] == 1
    assert IFEvalVerifier(all_or_nothing=True)('"Yes quoted."', TWO).reward == 1.0


def test_loose_mode_tries_eight_variants():
    assert len(loose_variants("Sure:\n*body*\nEnjoy!")) == 8
    answer = {"instruction_id_list": ["startend:quotation"], "kwargs": [{}]}
    response = 'Here you go:\n"The whole answer."\nHope this helps'
    assert IFEvalVerifier(mode="strict")(response, answer).reward == 0.0
    assert IFEvalVerifier(mode="loose")(response, answer).reward == 1.0


def test_public_ifeval_kwargs_with_none_values_are_ignored():
    answer = {
        "instruction_id_list": ["length_constraints:number_words"],
        "kwargs": [{"num_words": 3, "relation": "at least", "keywords": None, "language": None}],
    }
    assert prolong.verify("ifeval", response="one two three", answer=answer).correct


def test_repeat_prompt_without_prompt_to_repeat_uses_the_answers_prompt():
    answer = {"instruction_id_list": ["combination:repeat_prompt"], "kwargs": [{}], "prompt": "Write a haiku."}
    assert prolong.verify("ifeval", response="Write a haiku.\nSnow falls.", answer=answer).correct
    assert not prolong.verify("ifeval", response="Snow falls.", answer=answer).correct


def test_answer_as_json_text_and_kwargs_as_json_strings():
    answer = json.dumps({"instruction_id_list": ["detectable_format:title"], "kwargs": ["{}"]})
    assert prolong.verify("ifeval", response="<<A Title>> text", answer=answer).correct


def test_bad_ground_truth_is_an_invalid_answer_verdict_naming_the_problem():
    v = IFEvalVerifier()("text", {"instruction_id_list": ["keywords:nope"], "kwargs": [{}]})
    assert v.reason == "invalid ground truth" and "keywords:nope" in v.details["error"]
    v = IFEvalVerifier()("text", {"instruction_id_list": ["a", "b"], "kwargs": [{}]})
    assert v.reason == "invalid ground truth" and "2 instruction ids but 1 kwargs" in v.details["error"]


@pytest.mark.parametrize(
    "response",
    [
        "x" * 1_000_000,  # over the size cap: scored 0 at once
        "[" * 90_000,  # deep JSON nesting (RecursionError in json.loads)
        "\x00\x01\x1b[31m\u202e" * 1000,  # control characters
        json.dumps({"k": ["v" * 100] * 800}),  # large valid JSON
        "\n" * 90_000 + "* item",  # bullet regex worst case
        "<<" * 40_000,  # title regex worst case
        " " * 90_000 + "p.s.",  # postscript regex worst case
        "a. " * 30_000,  # many sentence candidates
    ],
)
@pytest.mark.timeout(120)
def test_hostile_responses_never_crash_or_hang(response):
    answer = {
        "instruction_id_list": [
            "detectable_format:json_format",
            "detectable_format:number_bullet_lists",
            "detectable_format:title",
            "detectable_content:postscript",
            "detectable_content:number_placeholders",
            "length_constraints:number_sentences",
            "change_case:capital_word_frequency",
        ],
        "kwargs": [
            {},
            {"num_bullets": 1},
            {},
            {"postscript_marker": "P.S."},
            {"num_placeholders": 1},
            {"num_sentences": 2, "relation": "at least"},
            {"capital_frequency": 1, "capital_relation": "less than"},
        ],
    }
    for mode in ("strict", "loose"):
        v = IFEvalVerifier(mode=mode)(response, answer)
        assert 0.0 <= v.reward <= 1.0
    if len(response) > 100_000:
        assert v.reason == "response too long"


def test_deeply_nested_json_is_not_json():
    answer = {"instruction_id_list": ["detectable_format:json_format"], "kwargs": [{}]}
    assert IFEvalVerifier()("[" * 50_000 + "]" * 50_000, answer).reward == 0.0
    assert IFEvalVerifier()("[[1]]", answer).reward == 1.0


def test_env_passes_check_env_and_same_seed_gives_same_problem():
    env = gym.make("prolong/ifeval-v0")
    check_env(env.unwrapped, skip_render_check=True)
    a = [env.reset(seed=s)[0] for s in range(5)]
    b = [gym.make("prolong/ifeval-v0").reset(seed=s)[0] for s in range(5)]
    assert a == b
    train = {make_ifeval_task("train").problems[i].prompt for i in range(30)}
    validation = {make_ifeval_task("validation").problems[i].prompt for i in range(30)}
    assert train != validation


def test_env_all_or_nothing_kwarg_and_reference_step():
    env = gym.make("prolong/ifeval-v0", all_or_nothing=True, mode="loose")
    obs, info = env.reset(seed=11)
    reference = env.unwrapped.task.reference(info["problem"])
    _, reward, terminated, truncated, info = env.step(reference)
    assert reward == 1.0 and terminated and not truncated and info["verdict"].details["mode"] == "loose"


def test_reference_responses_score_one_on_generated_problems():
    task = make_ifeval_task("train", seed=7)
    verifier = IFEvalVerifier()
    seen = set()
    for i in range(300):
        p = task.problems[i]
        seen.update(p.answer["instruction_id_list"])
        v = verifier(ifeval_reference(p), p.answer, p)
        assert v.correct, (p.prompt, v.details)
        if i % 20 == 0:  # the answer alone (with its stored prompt) is enough to verify
            assert prolong.verify("ifeval", response=ifeval_reference(p), answer=p.answer).correct
    assert len(seen) == 25  # every instruction type appears


def test_generated_prompt_has_task_and_ifeval_wording():
    p = make_ifeval_task("train", seed=1).problems[4]
    assert p.prompt.startswith(p.metadata["task"])
    assert 1 <= len(p.answer["instruction_id_list"]) <= 4
    assert p.answer["prompt"] == p.prompt


def test_verifier_is_picklable_with_its_settings():
    v = pickle.loads(pickle.dumps(IFEvalVerifier(all_or_nothing=True, mode="loose")))
    assert v.all_or_nothing and v.mode == "loose"


# -- loaders ------------------------------------------------------------------------------

IFEVAL_ROWS = [
    {
        "key": 1000,
        "prompt": "Write a 300+ word summary. Do not use any commas.",
        "instruction_id_list": ["punctuation:no_comma", "length_constraints:number_words"],
        "kwargs": [{"num_words": None}, {"num_words": 300, "relation": "at least", "keywords": None}],
    },
    {
        "key": 1001,
        "prompt": "Write a poem with a title in double angular brackets.",
        "instruction_id_list": ["detectable_format:title"],
        "kwargs": [{}],
    },
]


def test_load_public_ifeval_jsonl(tmp_path):
    path = tmp_path / "input_data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in IFEVAL_ROWS) + "\n")
    problems = load_ifeval_problems(path)
    assert len(problems) == 2 and problems[0].id == "ifeval/1000"
    assert problems[0].answer["kwargs"][1] == {"num_words": 300, "relation": "at least"}
    env = IFEvalEnv(source=str(path))
    obs, info = env.reset(options={"index": 1})
    assert env.step("<<Ode>>\nRoses")[1] == 1.0


def test_load_parquet_and_saved_dataset(tmp_path):
    import datasets

    rows = [{**r, "kwargs": [json.dumps(k) for k in r["kwargs"]]} for r in IFEVAL_ROWS]  # Arrow-friendly
    ds = datasets.Dataset.from_list(rows)
    ds.to_parquet(str(tmp_path / "ifeval.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    for source in (tmp_path / "ifeval.parquet", tmp_path / "saved"):
        problems = load_ifeval_problems(source)
        assert problems[1].answer["instruction_id_list"] == ["detectable_format:title"]


def test_load_nemotron_style_nested_json_with_field_map(tmp_path):
    path = tmp_path / "nemotron.jsonl"
    record = {
        "input": [{"role": "user", "content": "Answer in all lowercase."}],
        "reward_model": {
            "ground_truth": json.dumps(
                {"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}
            )
        },
    }
    path.write_text(json.dumps(record) + "\n")
    problems = load_ifeval_problems(path, fields={"prompt": "input"})
    assert problems[0].prompt == "Answer in all lowercase."
    text = "this is a simple english answer written in lowercase letters only."
    assert prolong.verify("ifeval", response=text, answer=problems[0].answer).correct


def test_loader_names_file_and_line_of_a_bad_record(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt": "x", "instruction_id_list": ["keywords:frequency"], "kwargs": [{}]}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: keywords:frequency needs argument"):
        load_ifeval_problems(path)
