"""prolong/reasoning-gym-v0: answer extraction, the verifier (strict and not), the guards
against hostile answers, the tasks without a gold answer, and the env."""

import builtins
import functools
import json
import pickle

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong
from prolong import Problem, Reason
from prolong.envs.reasoning_gym import (
    NO_GOLD_TASKS,
    ReasoningGymEnv,
    ReasoningGymVerifier,
    extract_answer,
    reference_answer,
)
from prolong.envs.reasoning_gym.datasets import generate_entry, get_dataset, json_safe
from prolong.envs.reasoning_gym.verifier import task_score

STRICT = ReasoningGymVerifier(strict=True)
LENIENT = ReasoningGymVerifier(strict=False)


@functools.lru_cache(maxsize=None)
def _entry_json(task, index, seed):
    return json.dumps(json_safe(generate_entry(get_dataset(task, {}, seed, 10), index)))


def entry(task, index=0, seed=7):
    """A reasoning-gym entry as an env serves it (JSON-safe; a fresh copy each call)."""
    return json.loads(_entry_json(task, index, seed))


def tagged(text):
    return f"<answer>{text}</answer>"


# -- extraction --------------------------------------------------------------------


def test_last_answer_block_is_the_answer():
    assert extract_answer("<answer>1</answer> on second thought <answer> 2 </answer>") == ("2", "answer tag")


def test_innermost_block_wins_when_blocks_nest():
    assert extract_answer("<answer>a <answer>b</answer>")[0] == "b"


def test_answer_tags_ignore_letter_case():
    assert extract_answer("<ANSWER>7</Answer>")[0] == "7"


def test_unclosed_answer_tag_is_no_answer():
    e = entry("gcd")
    v = STRICT(f"<answer>{e['answer']}", e)
    assert v.reward == 0.0 and v.reason == Reason.NO_ANSWER


def test_stray_closing_tag_blocks_the_fallbacks():
    assert extract_answer("</answer> so \\boxed{3}") == (None, None)


def test_empty_answer_block_is_no_answer():
    assert STRICT("<answer>  </answer>", entry("gcd")).reason == Reason.NO_ANSWER


def test_boxed_is_read_when_there_is_no_answer_tag():
    assert extract_answer("so the result is \\boxed{\\frac{1}{2}}.") == ("\\frac{1}{2}", "boxed")


def test_unbalanced_boxed_is_not_an_answer():
    assert extract_answer("\\boxed{12") == (None, None)


def test_final_answer_line_is_the_last_fallback():
    assert extract_answer("work...\n**Final Answer:** 42\n") == ("42", "answer line")
    assert extract_answer("the answer is 42") == (None, None)


def test_gold_in_boxed_or_answer_line_scores_one():
    e = entry("gcd")
    assert STRICT(f"\\boxed{{{e['answer']}}}", e).correct
    assert STRICT(f"Answer: {e['answer']}", e).correct


# -- scoring -------------------------------------------------------------------------


def test_gold_scores_one_and_a_wrong_answer_zero():
    e = entry("gcd")
    assert STRICT(tagged(e["answer"]), e).reward == 1.0
    wrong = STRICT(tagged(int(e["answer"]) + 1), e)
    assert wrong.reward == 0.0 and wrong.reason == Reason.WRONG and wrong.extracted == str(int(e["answer"]) + 1)


def test_gold_inside_a_longer_answer_scores_zero_by_default():
    e = entry("gcd")  # reasoning-gym's default scorer: len(gold)/len(answer) for a superstring
    hedge = f"1 2 3 {e['answer']} 97 98 99"
    v = STRICT(tagged(hedge), e)
    assert v.reward == 0.0 and not v.correct
    assert v.details["score"] == pytest.approx(len(e["answer"]) / len(hedge))


def test_non_strict_mode_keeps_reasoning_gyms_substring_credit():
    e = entry("gcd")
    hedge = f"1 2 3 {e['answer']} 97 98 99"
    v = LENIENT(tagged(hedge), e)
    assert v.reward == pytest.approx(len(e["answer"]) / len(hedge)) and v.reason == Reason.PARTIAL
    assert LENIENT(tagged(e["answer"]), e).reward == 1.0


def test_strict_mode_zeroes_the_format_reward_of_a_wrong_answer():
    e = entry("rush_hour")  # the scorer gives 0.01 to moves that do not solve the board
    assert LENIENT(tagged("A-1"), e).reward == pytest.approx(0.01)
    assert STRICT(tagged("A-1"), e).reward == 0.0


def test_answer_equal_to_gold_up_to_whitespace_scores_one():
    e = entry("sudoku")
    spaced = "\n".join("  " + "   ".join(row.split()) + " " for row in e["answer"].splitlines())
    assert STRICT(f"<answer>\n{spaced}\n</answer>", e).correct


def test_verifier_takes_the_entry_as_json_text():
    e = entry("gcd")
    assert prolong.verify("reasoning_gym", tagged(e["answer"]), json.dumps(e)).correct


def test_verifier_works_with_a_raw_reasoning_gym_entry():
    import reasoning_gym

    raw = reasoning_gym.create_dataset("complex_arithmetic", size=2, seed=3)[1]  # tuples in its metadata
    assert prolong.verify("reasoning_gym", tagged(raw["answer"]), raw).correct


def test_ground_truth_that_is_not_an_entry_is_an_error():
    with pytest.raises(ValueError, match="dataset entry"):
        STRICT("<answer>4</answer>", "4")
    with pytest.raises(ValueError, match="source_dataset"):
        STRICT("<answer>4</answer>", {"question": "q", "answer": "4", "metadata": {}})
    with pytest.raises(ValueError, match="unknown reasoning-gym task 'gdc'"):
        STRICT("<answer>4</answer>", {"question": "q", "answer": "4", "metadata": {"source_dataset": "gdc"}})


def test_scorer_that_raises_gives_zero_with_its_error():
    e = entry("boxnet")  # boxnet's scorer raises TypeError on a plan that is a bare number
    v = STRICT(tagged("1"), e)
    assert v.reward == 0.0 and v.reason == Reason.UNPARSEABLE and "TypeError" in v.details["scorer_error"]


def test_answer_far_longer_than_gold_is_too_long():
    e = entry("gcd")
    v = STRICT(tagged("7 " * 5000), e)
    assert v.reward == 0.0 and v.reason == Reason.TOO_LONG


def test_scorer_cannot_change_the_problem_answer():
    e = entry("knight_swap", seed=3)  # its scorer writes board_states into the entry it is given
    before = json.dumps(e, sort_keys=True)
    reformatted = json.dumps(json.loads(e["answer"]), indent=1)  # not the gold text: the scorer runs
    v = STRICT(tagged(reformatted), e)
    assert v.correct and v.details["score"] == 1.0
    assert json.dumps(e, sort_keys=True) == before


HOSTILE = [
    "x" * 1_000_000,
    "<answer>" * 120_000,
    "</answer>" * 100_000 + "<answer>1",
    "<answer>" + "(" * 50_000 + "</answer>",
    "<answer>" + "[" * 50_000 + "</answer>",
    "<answer>\x00\x01\x1b[31m\ud800</answer>",
    "<answer>" + "9" * 5000 + "</answer>",
    "\\boxed{" * 50_000,
    "Answer:" * 100_000,
    "<answer>1e999999999</answer>",
    "<answer>9**9**9**9</answer>",
    "<answer>nan</answer>",
]


HOSTILE_TASKS = ["gcd", "sudoku", "puzzle24", "coin_flip", "complex_arithmetic", "rubiks_cube", "propositional_logic", "arc_1d"]


@pytest.mark.parametrize("task", HOSTILE_TASKS)
@pytest.mark.parametrize("response", HOSTILE, ids=lambda r: repr(r[:24]))
def test_hostile_response_scores_zero_without_crashing(task, response):
    v = STRICT(response, entry(task))
    assert v.reward == 0.0 and not v.correct


# -- guards and fixes (scorer weaknesses found in reasoning-gym 0.1.25) ----------------------


@pytest.mark.parametrize("task", ["string_insertion", "spiral_matrix", "binary_matrix", "n_queens"])
def test_python_code_in_an_answer_is_never_run(task):
    # these scorers eval() the answer to accept list literals
    payload = "__import__('builtins').__setattr__('PROLONG_PWNED', 1) or []"
    v = STRICT(tagged(payload), entry(task))
    assert v.reward == 0.0 and "Python code" in v.details["rejected"]
    assert not hasattr(builtins, "PROLONG_PWNED")


def test_python_list_literal_still_reaches_the_scorer():
    e = entry("spiral_matrix")  # the scorer gives 0.1 to the right numbers written as a Python list
    as_list = "[" + ", ".join(e["answer"].split()) + "]"
    assert LENIENT(tagged(as_list), e).reward == pytest.approx(0.1)


@pytest.mark.parametrize(
    "task, answer",
    [
        ("puzzle24", "9**9**9**9"),
        ("countdown", "99999999!"),
        ("simple_integration", "x**9**9**9 + C"),
        ("polynomial_multiplication", "eval(chr(49))"),
        ("intermediate_integration", "().__class__.__base__.__subclasses__()"),
        ("intermediate_integration", "((x**99)**99)**99"),
    ],
)
def test_sympy_scorers_never_see_code_or_power_towers(task, answer):
    v = STRICT(tagged(answer), entry(task))
    assert v.reward == 0.0 and v.details.get("rejected")


def test_integral_of_the_integrand_is_not_an_antiderivative():
    e = entry("intermediate_integration", index=0, seed=1)
    md = e["metadata"]
    assert "Integral" not in e["answer"]
    v = STRICT(tagged(f"Integral({md['integrand']}, {md['variable']}) + C"), e)
    assert v.reward == 0.0 and "Integral" in v.details["rejected"]
    assert STRICT(tagged(e["answer"]), e).correct


def test_huge_exponent_is_refused_not_computed():
    v = STRICT(tagged("1e999999999"), entry("coin_flip"))  # Fraction("1e999999999") never returns
    assert v.reward == 0.0 and "exponent" in v.details["rejected"]


@pytest.mark.parametrize("task, moves", [("rubiks_cube", "R999999999"), ("rush_hour", "A+999999999")])
def test_huge_move_counts_are_refused(task, moves):
    v = STRICT(tagged(moves), entry(task))
    assert v.reward == 0.0 and "repeats" in v.details["rejected"]


def test_nan_is_not_a_complex_number():
    e = entry("complex_arithmetic")  # the scorer gives nan min(1, exp(-nan)) = 1.0
    assert LENIENT(tagged("nan"), e).reward == 0.0


def test_game_of_life_halting_needs_the_right_verdict():
    e = entry("game_of_life_halting")  # its scorer compared bool("False") == bool("True")
    wrong = "False" if e["answer"] == "True" else "True"
    assert LENIENT(tagged(wrong), e).reward == 0.0
    assert STRICT(tagged(e["answer"].lower() + "."), e).correct


def test_puzzle24_answer_must_use_the_puzzles_numbers():
    e = entry("puzzle24")
    assert sorted(e["metadata"]["numbers"]) != [1, 1, 4, 6]
    assert STRICT(tagged("6*4*1*1"), e).reward == 0.0  # 24, but not from these numbers
    assert STRICT(tagged(f"({e['answer']})"), e).correct  # another way to write the gold one


@pytest.mark.parametrize("task", ["arc_agi", "rearc"])
def test_arc_boards_score_after_a_json_round_trip(task):
    e = json.loads(json.dumps(entry(task)))  # metadata["output"] is lists now, tuples in reasoning-gym
    assert task_score(task, e["answer"], e) == 1.0


# -- tasks without a gold answer: each is scored by its own checker ------------------------

WRONG_ANSWERS = {
    "boxnet": "[]",  # an empty plan lifts no box
    "graph_color": None,  # every vertex the same color (built below)
    "propositional_logic": None,  # the negation of a valid conclusion (built below)
    "rubiks_cube": "U",
    "rush_hour": "A-1",
}


def test_no_gold_task_list_is_complete():
    assert set(NO_GOLD_TASKS) == set(WRONG_ANSWERS)


@pytest.mark.parametrize("task", NO_GOLD_TASKS)
@pytest.mark.parametrize("index", [0, 1])
def test_no_gold_task_constructed_answer_scores_one(task, index):
    e = json.loads(json.dumps(entry(task, index=index, seed=11)))
    assert e["answer"] is None
    answer = reference_answer(e, task)
    assert answer is not None
    v = STRICT(tagged(answer), e)
    assert v.correct and v.details["score"] == 1.0  # full marks from the task's checker itself


@pytest.mark.parametrize("task", NO_GOLD_TASKS)
def test_no_gold_task_wrong_answer_scores_zero(task):
    e = entry(task, seed=11)
    wrong = WRONG_ANSWERS[task]
    if task == "graph_color":
        assert e["metadata"]["puzzle"]["edges"]
        wrong = json.dumps({str(v): 1 for v in e["metadata"]["puzzle"]["vertices"]})
    if task == "propositional_logic":
        wrong = f"¬({reference_answer(e, task)})"
    assert STRICT(tagged(wrong), e).reward == 0.0
    assert STRICT("no tags at all", e).reason == Reason.NO_ANSWER


def test_no_gold_task_reference_response_is_what_the_env_gives():
    env = ReasoningGymEnv(tasks=["rush_hour"])
    _, info = env.reset(seed=3)
    _, reward, *_ = env.step(env.task.reference(info["problem"]))
    assert reward == 1.0


# -- the env ---------------------------------------------------------------------------------


def test_check_env_passes_with_every_task():
    check_env(ReasoningGymEnv(), skip_render_check=True)


def test_gym_make_serves_a_problem_and_scores_its_reference():
    env = gym.make("prolong/reasoning-gym-v0", tasks=["gcd", "word_sorting"])
    obs, info = env.reset(seed=5)
    p = info["problem"]
    assert obs == p.prompt and "<answer>" in obs and info["domain"] == "reasoning_gym"
    assert info["task"] == p.metadata["task"] == p.answer["metadata"]["source_dataset"]
    _, reward, terminated, truncated, info = env.step(env.unwrapped.task.reference(p))
    assert reward == 1.0 and terminated and not truncated and info["verdict"].correct


def test_same_reset_seed_gives_same_problem_in_any_env_instance():
    a = ReasoningGymEnv(tasks=["gcd", "lcm", "word_sorting"])
    b = ReasoningGymEnv(tasks=["gcd", "lcm", "word_sorting"])
    for seed in range(5):
        assert a.reset(seed=seed)[1]["problem"] == b.reset(seed=seed)[1]["problem"]


def test_problem_answer_is_the_json_safe_entry():
    env = ReasoningGymEnv(tasks=["knights_knaves"])  # tuples in reasoning-gym's metadata
    p = env.reset(seed=0)[1]["problem"]
    assert set(p.answer) == {"question", "answer", "metadata"}
    assert json.loads(json.dumps(p.answer)) == p.answer
    assert json.loads(json.dumps(p.to_dict()))["answer"] == p.answer
    assert p.metadata["task"] == "knights_knaves" and p.metadata["split"] == "train"


def test_train_and_validation_entries_differ():
    train = ReasoningGymEnv(tasks=["word_sorting"], split="train")
    val = ReasoningGymEnv(tasks=["word_sorting"], split="validation")
    for j in range(5):
        t = train.reset(options={"task": "word_sorting", "task_index": j})[1]["problem"]
        v = val.reset(options={"task": "word_sorting", "task_index": j})[1]["problem"]
        assert t.metadata["seed"] + 2**31 == v.metadata["seed"]
        assert t.prompt != v.prompt


def test_task_weights_steer_the_draws():
    env = ReasoningGymEnv(tasks={"gcd": 9, "lcm": 1})
    tasks = [env.reset(seed=s)[1]["task"] for s in range(300)]
    assert 0.8 < tasks.count("gcd") / len(tasks) < 0.97


def test_config_passes_through_to_reasoning_gym():
    env = ReasoningGymEnv(tasks=[{"name": "chain_sum", "config": {"min_terms": 5, "max_terms": 5}}])
    for s in range(3):
        p = env.reset(seed=s)[1]["problem"]
        assert p.answer["metadata"]["num_terms"] == 5
        assert p.metadata["config"] == {"min_terms": 5, "max_terms": 5}


def test_curriculum_level_sets_the_config():
    easy = ReasoningGymEnv(tasks=[{"name": "chain_sum", "curriculum": 0}]).reset(seed=0)[1]["problem"]
    hard = ReasoningGymEnv(tasks={"chain_sum": {"curriculum": {"num_digits": 3}}}).reset(seed=0)[1]["problem"]
    assert easy.metadata["config"]["max_digits"] == 1
    assert hard.metadata["config"]["max_digits"] > 1
    assert ReasoningGymEnv(tasks=["chain_sum"], level=2).reset(seed=0)[1]["problem"].metadata["config"]["max_terms"] == 4


def test_task_spec_errors_name_the_problem():
    with pytest.raises(ValueError, match="did you mean 'gcd'"):
        ReasoningGymEnv(tasks=["gdc"])
    with pytest.raises(ValueError, match="unknown config field.*'max_term'"):
        ReasoningGymEnv(tasks=[{"name": "chain_sum", "config": {"max_term": 3}}])
    with pytest.raises(ValueError, match="composite.*not supported"):
        ReasoningGymEnv(tasks=["composite"])
    with pytest.raises(ValueError, match="positive"):
        ReasoningGymEnv(tasks={"gcd": 0})
    with pytest.raises(ValueError, match="split"):
        ReasoningGymEnv(split="test")


def test_datasets_are_built_once_and_shared(monkeypatch):
    import reasoning_gym

    ReasoningGymEnv(tasks=["lcm"]).reset(seed=0)  # built here (or earlier)
    calls = []
    real = reasoning_gym.create_dataset
    monkeypatch.setattr(reasoning_gym, "create_dataset", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(3):
        env = ReasoningGymEnv(tasks=["lcm"])
        for s in range(4):
            env.reset(seed=s)
    assert calls == []


def test_degenerate_integral_entries_are_not_served():
    env = ReasoningGymEnv(tasks=["intermediate_integration"])
    source = env.task.problems
    ds = get_dataset("intermediate_integration", {}, source.dataset_seed(0), source.specs[0].size)
    bad = 20  # the first entry of this dataset whose gold answer is an unevaluated Integral(...)
    assert "Integral" in generate_entry(ds, bad)["answer"]
    p = env.reset(options={"task": "intermediate_integration", "task_index": bad})[1]["problem"]
    assert p.metadata["index"] > bad and "Integral" not in p.answer["answer"]


def test_verifier_pickles_and_verify_batch_matches_single_calls():
    assert pickle.loads(pickle.dumps(STRICT)).strict
    env = ReasoningGymEnv(tasks=["gcd", "rush_hour", "word_sorting"])
    problems = [env.reset(seed=s)[1]["problem"] for s in range(4)]
    responses = [env.task.reference(p) if i % 2 == 0 else "<answer>0</answer>" for i, p in enumerate(problems)]
    batch = prolong.verify_batch("reasoning_gym", responses, [p.answer for p in problems], problems, processes=2)
    single = [prolong.verify("reasoning_gym", r, p.answer, p) for r, p in zip(responses, problems)]
    assert [v.reward for v in batch] == [v.reward for v in single] == [1.0, 0.0, 1.0, 0.0]


def test_source_file_of_entries_loads(tmp_path):
    import reasoning_gym

    path = tmp_path / "rg.jsonl"
    ds = reasoning_gym.create_dataset("lcm", size=3, seed=1)
    path.write_text("\n".join(json.dumps(json_safe(ds[i])) for i in range(3)))
    env = ReasoningGymEnv(source=str(path))
    _, info = env.reset(seed=0)
    assert info["task"] == "lcm" and "<answer>" in info["problem"].prompt
    assert env.step(env.task.reference(info["problem"]))[1] == 1.0


def test_source_record_without_metadata_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"question": "2+2?", "answer": "4"}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1.*metadata"):
        ReasoningGymEnv(source=str(path))


def test_problem_from_options_is_scored_with_its_config():
    # decimal_arithmetic's tolerance comes from the config the problem was made with
    config = {"min_num_decimal_places": 2, "max_num_decimal_places": 2}
    env = ReasoningGymEnv(tasks=[{"name": "decimal_arithmetic", "config": config}])
    p = env.reset(seed=1)[1]["problem"]
    near = str(round(float(p.answer["answer"]) + 0.004, 6))
    assert prolong.verify("reasoning_gym", tagged(near), p.answer, p).correct
    finer = {"min_num_decimal_places": 6, "max_num_decimal_places": 6}
    other = Problem(p.id, p.prompt, p.answer, p.domain, {**p.metadata, "config": finer})
    assert not prolong.verify("reasoning_gym", tagged(near), p.answer, other).correct


def test_numeric_gold_from_a_data_file_is_read_as_text():
    e = entry("gcd")
    e["answer"] = int(e["answer"])
    assert STRICT(tagged(e["answer"]), e).correct
