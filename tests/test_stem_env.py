"""prolong/stem-v0: the env, its built-in problems, and its GPQA / MMLU-Pro / SCP-116K loaders."""

import json
import re

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong  # noqa: F401  (registers the env ids)
from prolong.envs.stem import TEMPLATES, StemEnv, StemVerifier, parse_quantity, reference_response, stem_task

verify = StemVerifier()


# ----------------------------------------------------------------------------- env contract


@pytest.mark.parametrize("kind", ["mixed", "numeric", "choice"])
def test_env_passes_gymnasium_check_env(kind):
    env = gym.make("prolong/stem-v0", kind=kind)
    check_env(env.unwrapped, skip_render_check=True)


def test_same_reset_seed_gives_same_problem():
    env = gym.make("prolong/stem-v0")
    first, _ = env.reset(seed=11)
    again, _ = env.reset(seed=11)
    other, _ = env.reset(seed=12)
    assert first == again and first != other


def test_problems_are_deterministic_in_seed_split_and_index():
    a = stem_task(seed=3).problems
    assert [a[i] for i in range(20)] == [stem_task(seed=3).problems[i] for i in range(20)]
    assert [a[i].prompt for i in range(20)] != [stem_task(seed=4).problems[i].prompt for i in range(20)]
    validation = stem_task(seed=3, split="validation").problems
    assert [a[i].prompt for i in range(20)] != [validation[i].prompt for i in range(20)]


def test_step_rewards_the_reference_and_reports_the_verdict():
    env = StemEnv(kind="numeric", seed=0)
    _, info = env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(reference_response(info["problem"]))
    assert reward == 1.0 and terminated and not truncated and info["verdict"].correct
    assert info["domain"] == "stem"


def test_numeric_prompt_asks_for_a_boxed_number_with_unit():
    p = stem_task(kind="numeric", topics="kinematics").problems[0]
    assert "\\boxed{}" in p.prompt and "unit" in p.prompt and p.answer.endswith(" m")


def test_choice_prompt_lists_lettered_options_and_asks_for_the_letter():
    p = stem_task(kind="choice").problems[0]
    for letter, option in zip("ABCD", p.metadata["options"]):
        assert f"\n{letter}) {option}" in p.prompt
    assert "letter" in p.prompt and "\\boxed{}" in p.prompt


def test_env_docstring_has_gymnasium_sections():
    for section in ("Description", "Action Space", "Observation Space", "Rewards", "Starting State",
                    "Episode End", "Arguments", "Version History"):  # fmt: skip
        assert f"## {section}" in StemEnv.__doc__


# ----------------------------------------------------------------------------- built-in problems


@pytest.mark.parametrize("kind", ["numeric", "choice"])
def test_reference_response_scores_one_on_generated_problems(kind):
    problems = stem_task(kind=kind, seed=7).problems
    for i in range(150):
        p = problems[i]
        v = verify(reference_response(p), p.answer, p)
        assert v.correct, (p.metadata["topic"], p.answer, v)


def test_every_template_makes_a_gradeable_numeric_gold():
    for topic in TEMPLATES:
        p = stem_task(kind="numeric", topics=topic, seed=1).problems[0]
        q = parse_quantity(p.answer)
        assert q.unit_error is None, (topic, p.answer)
        assert (q.unit is not None) == bool(p.metadata["unit"]), (topic, p.answer)


def test_choice_distractors_score_zero_as_letters_and_as_values():
    problems = stem_task(kind="choice", seed=2).problems
    for i in range(120):
        p = problems[i]
        options = p.metadata["options"]
        assert options["ABCD".index(p.answer)] == p.metadata["answer_text"]
        for k, option in enumerate(options):
            letter = "ABCD"[k]
            if letter == p.answer:
                continue
            assert not verify(f"\\boxed{{{letter}}}", p.answer, p).correct
            assert not verify(f"\\boxed{{{option}}}", p.metadata["answer_text"]).correct, (p.metadata, option)
            assert letter in p.metadata["mistakes"]


def test_distractors_come_from_named_mistakes():
    p = stem_task(kind="choice", topics="kinetic_energy").problems[0]
    assert set(p.metadata["mistakes"].values()) == {"forgot to square v", "forgot the 1/2", "J vs kJ"}


def test_gold_letter_follows_the_shuffle():
    letters = [stem_task(kind="choice", seed=5).problems[i].answer for i in range(80)]
    assert set(letters) == {"A", "B", "C", "D"}


def test_num_options_sets_the_number_of_choices():
    p = stem_task(kind="choice", num_options=6).problems[0]
    assert len(p.metadata["options"]) == 6 and "F) " in p.prompt


def test_topics_select_subjects_or_templates():
    problems = stem_task(topics="biology").problems
    assert {problems[i].metadata["subject"] for i in range(30)} == {"biology"}
    assert {stem_task(topics=["pendulum"]).problems[i].metadata["topic"] for i in range(5)} == {"pendulum"}
    with pytest.raises(ValueError, match="unknown STEM topic 'astrology'"):
        stem_task(topics="astrology")


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ValueError, match="kind must be"):
        StemEnv(kind="essay")
    with pytest.raises(ValueError, match="split must be"):
        StemEnv(split="dev")


# ----------------------------------------------------------------------------- loaders

GPQA = [
    {"Question": "Which particle mediates the electromagnetic force?", "Correct Answer": "photon",
     "Incorrect Answer 1": "gluon", "Incorrect Answer 2": "W boson", "Incorrect Answer 3": "graviton",
     "Record ID": "rec1", "High-level domain": "Physics"},
    {"Question": "What is the SI unit of capacitance?", "Correct Answer": "farad",
     "Incorrect Answer 1": "henry", "Incorrect Answer 2": "tesla", "Incorrect Answer 3": "weber", "Record ID": "rec2"},
    {"Question": "Which is a noble gas?", "Correct Answer": "argon",
     "Incorrect Answer 1": "nitrogen", "Incorrect Answer 2": "oxygen", "Incorrect Answer 3": "chlorine", "Record ID": "rec3"},
]  # fmt: skip


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_gpqa_jsonl_options_are_shuffled_by_seed_and_gold_follows(tmp_path):
    src = write_jsonl(tmp_path / "gpqa.jsonl", GPQA)
    problems = StemEnv(src, seed=0).task.problems
    assert len(problems) == 3
    for p, rec in zip(problems.problems, GPQA):
        options = p.metadata["options"]
        assert options["ABCD".index(p.answer)] == rec["Correct Answer"]
        assert sorted(options) == sorted([rec["Correct Answer"], *(rec[f"Incorrect Answer {i}"] for i in (1, 2, 3))])
        assert verify(reference_response(p), p.answer, p).correct
    assert problems[0].id == "rec1" and problems[0].metadata["subject"] == "Physics"
    again = StemEnv(src, seed=0).task.problems
    assert [p.prompt for p in again.problems] == [p.prompt for p in problems.problems]
    orders = {tuple(tuple(p.metadata["options"]) for p in StemEnv(src, seed=s).task.problems.problems) for s in range(6)}
    assert len(orders) > 1


def test_gpqa_with_field_map(tmp_path):
    renamed = [{"q": r["Question"], "right": r["Correct Answer"], **{f"w{i}": r[f"Incorrect Answer {i}"] for i in (1, 2, 3)}}
               for r in GPQA]  # fmt: skip
    src = write_jsonl(tmp_path / "renamed.jsonl", renamed)
    fields = {"Question": "q", "Correct Answer": "right", **{f"Incorrect Answer {i}": f"w{i}" for i in (1, 2, 3)}}
    p = StemEnv(src, fields=fields).task.problems[1]
    assert p.metadata["options"]["ABCD".index(p.answer)] == "farad"


def test_gpqa_record_without_correct_answer_names_its_line(tmp_path):
    src = write_jsonl(tmp_path / "bad.jsonl", [GPQA[0], {**GPQA[1], "Correct Answer": ""}])
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: 'Correct Answer' is empty"):
        StemEnv(src)


MMLU_PRO = [
    {"question_id": 7, "question": "A 2 kg mass accelerates at 3 m/s^2. What is the net force?",
     "options": ["1.5 N", "5 N", "6 N", "N/A", "9 N"], "answer": "C", "answer_index": 2, "category": "physics"},
    {"question_id": 8, "question": "What is the pH of 0.01 M HCl?", "options": ["1", "2", "12", "0.01"],
     "answer": "B", "answer_index": 1, "category": "chemistry"},
]  # fmt: skip


def test_mmlu_pro_parquet_drops_na_padding_and_shuffles(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "mmlu_pro.parquet"
    pq.write_table(pa.Table.from_pylist(MMLU_PRO), path)
    problems = StemEnv(str(path), seed=1).task.problems
    first = problems[0]
    assert "N/A" not in first.metadata["options"] and len(first.metadata["options"]) == 4
    assert first.metadata["options"]["ABCD".index(first.answer)] == "6 N"
    assert first.id == "7" and first.metadata["subject"] == "physics"
    assert verify("\\boxed{" + first.answer + "}", first.answer, first).correct


def test_mmlu_pro_order_kept_without_shuffle(tmp_path):
    src = write_jsonl(tmp_path / "mmlu_pro.jsonl", MMLU_PRO)
    p = StemEnv(src, shuffle_choices=False).task.problems[1]
    assert p.metadata["options"] == ["1", "2", "12", "0.01"] and p.answer == "B"


SCP = [
    {"domain": "Physics", "problem": "A ball falls from 20 m. Find its speed at the ground.",
     "matched_solution": "v = sqrt(2 g h) = 19.8 m/s, so \\boxed{19.8 \\text{ m/s}}"},
    {"domain": "Chemistry", "problem": "Name the gas produced when zinc reacts with HCl.",
     "matched_solution": "Zinc displaces hydrogen. Answer: hydrogen gas"},
    {"domain": "Physics", "problem": "Derive the period.", "matched_solution": "Using energy methods we get T."},
    {"domain": "Physics", "problem": "Energy of a 500 nm photon?", "answer": "3.97 \\times 10^{-19} J"},
]  # fmt: skip


def test_scp_numeric_answers_are_kept_and_free_ones_skipped_by_default(tmp_path):
    src = write_jsonl(tmp_path / "scp.jsonl", SCP)
    problems = StemEnv(src).task.problems
    assert [p.answer for p in problems.problems] == ["19.8 \\text{ m/s}", "3.97 \\times 10^{-19} J"]
    first = problems[0]
    assert first.metadata["kind"] == "numeric" and "unit" in first.prompt
    assert verify("\\boxed{0.0198 km/s}", first.answer, first).correct
    assert verify(reference_response(first), first.answer, first).correct
    assert verify("\\boxed{2.49 eV}", problems[1].answer, problems[1]).correct


def test_scp_free_answers_kept_on_request_and_compared_as_text(tmp_path):
    src = write_jsonl(tmp_path / "scp.jsonl", SCP)
    problems = StemEnv(src, free_answers=True).task.problems
    free = [p for p in problems.problems if p.metadata["kind"] == "free"]
    assert [p.answer for p in free] == ["hydrogen gas"]
    assert verify("\\boxed{Hydrogen gas}", free[0].answer, free[0]).correct


def test_source_with_nothing_gradeable_is_an_error(tmp_path):
    src = write_jsonl(tmp_path / "empty.jsonl", [SCP[2]])
    with pytest.raises(ValueError, match="no usable problems"):
        StemEnv(src)


def test_kind_filters_loaded_problems(tmp_path):
    src = write_jsonl(tmp_path / "mixed.jsonl", [GPQA[0], SCP[0]])
    assert [p.metadata["kind"] for p in StemEnv(src, kind="numeric").task.problems.problems] == ["numeric"]
    assert [p.metadata["kind"] for p in StemEnv(src, kind="choice").task.problems.problems] == ["choice"]


def test_plain_letter_record_keeps_its_prompt(tmp_path):
    src = write_jsonl(tmp_path / "plain.jsonl", [{"prompt": "Pick one.\nA) x\nB) y", "answer": "(b)", "num_options": 2}])
    p = StemEnv(src).task.problems[0]
    assert p.answer == "B" and p.prompt.startswith("Pick one.")
    assert verify("\\boxed{B}", p.answer, p).correct and not verify("\\boxed{C}", p.answer, p).correct


def test_saved_hf_dataset_loads_offline(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "gpqa_saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(GPQA[:2]), "validation": datasets.Dataset.from_list(GPQA[2:])}).save_to_disk(str(path))
    env = StemEnv(str(path), split="validation")
    obs, info = env.reset(seed=0)
    assert "noble gas" in obs and re.search(r"\nA\) ", obs)
    _, reward, *_ = env.step(reference_response(info["problem"]))
    assert reward == 1.0
    check_env(env, skip_render_check=True)
