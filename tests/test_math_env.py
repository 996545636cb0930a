"""prolong/math-v0: the env, the procedural generator, the loaders and the CLI."""

import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong
from prolong.cli import main as cli_main
from prolong.envs.math import TOPICS, MathEnv, load_math_problems, make_math_task


def test_env_passes_gymnasium_check_env():
    check_env(MathEnv().unwrapped, skip_render_check=True)
    check_env(MathEnv(level=1, topics=["arithmetic"]), skip_render_check=True)


def test_gym_make_with_and_without_import():
    env = gym.make("prolong/math-v0")
    obs, info = env.reset(seed=0)
    assert "\\boxed{}" in obs and info["domain"] == "math"
    env2 = gym.make("prolong:prolong/math-v0")
    assert env2.reset(seed=0)[0] == obs


def test_same_reset_seed_gives_same_problem():
    a, b = MathEnv(), MathEnv()
    assert [a.reset(seed=s)[0] for s in range(5)] == [b.reset(seed=s)[0] for s in range(5)]
    assert len({a.reset(seed=s)[0] for s in range(20)}) > 10


def test_problems_are_deterministic_in_seed_split_and_index():
    t1, t2 = make_math_task(seed=3), make_math_task(seed=3)
    assert [t1.problems[i].to_dict() for i in range(30)] == [t2.problems[i].to_dict() for i in range(30)]
    other = make_math_task(seed=4)
    assert [t1.problems[i].prompt for i in range(30)] != [other.problems[i].prompt for i in range(30)]


def test_reference_response_gets_full_reward_on_every_topic_and_level():
    for topic in TOPICS:
        for level in range(1, 6):
            task = make_math_task(level=level, topics=[topic])
            for i in range(2):
                p = task.problems[i]
                assert p.metadata["topic"] == topic and p.metadata["level"] == level
                verdict = task.score(task.reference(p), p)
                assert verdict.correct, (topic, level, p.metadata["question"], p.answer, verdict)


def test_another_problems_answer_gets_zero():
    task = make_math_task(level=3)
    wrong = 0
    for i in range(30):
        p, q = task.problems[i], task.problems[i + 100]
        if p.answer != q.answer:
            assert not task.score(task.reference(q), p).correct, (p.answer, q.answer)
            wrong += 1
    assert wrong > 20


def test_level_one_is_single_digit_addition_and_the_like():
    task = make_math_task(level=1, topics=["arithmetic"])
    for i in range(50):
        p = task.problems[i]
        q = p.metadata["question"]
        a, op, b = q.removeprefix("What is ").rstrip("?").split()
        assert op in "+-" and 0 <= int(a) <= 9 and 0 <= int(b) <= 9 and 0 <= int(p.answer) <= 18


def test_train_and_validation_streams_are_disjoint():
    train = make_math_task(level=1, topics=["arithmetic"], split="train")
    val = make_math_task(level=1, topics=["arithmetic"], split="validation")
    tq = {train.problems[i].metadata["question"] for i in range(300)}
    vq = {val.problems[i].metadata["question"] for i in range(300)}
    assert tq and vq and not (tq & vq)


def test_bad_options_name_the_problem():
    with pytest.raises(ValueError, match="level must be"):
        make_math_task(level=7)
    with pytest.raises(ValueError, match="unknown math topic"):
        make_math_task(topics=["geometry"])
    with pytest.raises(ValueError, match="split must be"):
        MathEnv(split="test")


def test_step_reports_verdict_and_reward():
    env = MathEnv(level=1, topics=["arithmetic"])
    _, info = env.reset(seed=1)
    answer = info["problem"].answer
    _, reward, terminated, truncated, info = env.step(f"Easy. The answer is $\\boxed{{{answer}}}$.")
    assert reward == 1.0 and terminated and not truncated and info["verdict"].correct
    env.reset(seed=1)
    _, reward, *_ , info = env.step("I don't know.")
    assert reward == 0.0 and info["verdict"].reason == prolong.Reason.NO_ANSWER


# ---------------------------------------------------------------- loaders


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_loads_deepscaler_shape_from_jsonl(tmp_path):
    f = write_jsonl(tmp_path / "ds.jsonl", [{"problem": "What is 1+1?", "answer": "2"}, {"problem": "Half of 1?", "answer": "\\frac12"}])
    problems = load_math_problems(f)
    assert len(problems) == 2 and problems[1].answer == "\\frac12" and "Half of 1?" in problems[1].prompt
    env = MathEnv(source=str(f))
    _, info = env.reset(options={"index": 1})
    assert env.step("so \\boxed{0.5}")[1] == 1.0


def test_loads_math_shape_with_boxed_solution_and_field_map(tmp_path):
    rows = [{"question": "Compute 2+3.", "solution": "We add: $2+3=\\boxed{5}$.", "level": "Level 1"}]
    problems = load_math_problems(write_jsonl(tmp_path / "m.jsonl", rows), fields={"problem": "question"})
    assert problems[0].answer == "5" and problems[0].metadata["level"] == "Level 1"


def test_loads_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"problem": ["2*3?", "10/4?"], "answer": ["6", "2.5"]}), path)
    problems = load_math_problems(path)
    assert [p.answer for p in problems.problems] == ["6", "2.5"]


def test_loads_a_saved_hugging_face_dataset_offline(tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict({"problem": ["What is 7-2?"], "solution": ["It is $\\boxed{5}$."]})
    ds.save_to_disk(str(tmp_path / "hf"))
    problems = load_math_problems(str(tmp_path / "hf"))
    assert problems[0].answer == "5"


def test_malformed_record_errors_name_file_and_line(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"problem": "1+1?", "answer": "2"}\n{"problem": "oops", \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        load_math_problems(f)
    f2 = write_jsonl(tmp_path / "noans.jsonl", [{"problem": "a", "answer": "1"}, {"problem": "b"}])
    with pytest.raises(ValueError, match=r"noans\.jsonl:2: no 'answer'"):
        load_math_problems(f2)
    f3 = write_jsonl(tmp_path / "nobox.jsonl", [{"problem": "a", "solution": "it is 5"}])
    with pytest.raises(ValueError, match=r"nobox\.jsonl:1: the solution has no \\boxed"):
        load_math_problems(f3)


# ---------------------------------------------------------------- CLI


def test_cli_sample_shows_math_problems(capsys):
    assert cli_main(["sample", "math", "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("=== math/") == 2 and "--- answer:" in out


def test_cli_verify_scores_a_jsonl_file(tmp_path, capsys):
    f = write_jsonl(
        tmp_path / "r.jsonl",
        [
            {"response": "so \\boxed{\\frac{1}{2}}", "answer": "0.5"},
            {"response": "Answer: 7", "answer": "8"},
            {"response": "no idea", "answer": "3"},
            {"response": "\\boxed{\\sqrt{8}}", "answer": "2\\sqrt{2}"},
        ],
    )
    assert cli_main(["verify", "prolong/math-v0", str(f), "-q"]) == 0
    out = capsys.readouterr().out
    assert "4 responses" in out and "accuracy 0.5000" in out and "no final answer" in out


def test_cli_verify_names_the_malformed_line(tmp_path, capsys):
    f = tmp_path / "r.jsonl"
    f.write_text('{"response": "\\\\boxed{1}", "answer": "1"}\n\n{"response": oops}\n', encoding="utf-8")
    assert cli_main(["verify", "math", str(f), "-q"]) == 2
    assert "r.jsonl:3" in capsys.readouterr().err


def test_instruction_replaces_the_prompt_line_and_empty_leaves_the_problem_alone():
    default = make_math_task(level=1, topics=["arithmetic"]).problems[0]
    assert default.prompt.endswith("\n\nPlease reason step by step, and put your final answer within \\boxed{}.")
    short = make_math_task(level=1, topics=["arithmetic"], instruction="Put the final answer in \\boxed{}.").problems[0]
    question = default.metadata["question"]
    assert short.prompt == question + "\n\nPut the final answer in \\boxed{}."
    assert short.answer == default.answer  # the same problem stream, only the prompt line differs
    bare = MathEnv(level=1, topics=["arithmetic"], instruction="")
    obs, info = bare.reset(seed=0)
    assert obs == info["problem"].metadata["question"]  # e.g. "What is 0 + 8?"
    braces = make_math_task(level=1, instruction="Answer {in} a box: {}").problems[0]
    assert braces.prompt.endswith("\n\nAnswer {in} a box: {}")  # any string, braces are literal


def test_short_reference_style_is_the_boxed_answer_alone_and_gets_full_reward():
    task = make_math_task(level=1, topics=["arithmetic"], reference_style="short")
    for i in range(5):
        p = task.problems[i]
        assert task.reference(p) == f"The answer is \\boxed{{{p.answer}}}."
        assert task.score(task.reference(p), p).correct
    full = make_math_task(level=1, topics=["arithmetic"])
    assert full.reference(full.problems[0]).startswith("Working through the problem step by step")
    with pytest.raises(ValueError, match="reference_style.*'brief'"):
        make_math_task(level=1, reference_style="brief")


def test_gym_make_passes_instruction_and_reference_style():
    env = gym.make("prolong/math-v0", level=1, topics=["arithmetic"], instruction="Box it.", reference_style="short")
    obs, info = env.reset(seed=3)
    assert obs.endswith("\n\nBox it.")
    task = env.unwrapped.task
    assert env.step(task.reference(info["problem"]))[1] == 1.0
