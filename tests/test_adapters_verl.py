"""verl adapter: compute_score (single and batched) and `prolong export verl` parquet."""

import hashlib
import importlib.util
import json
import os

import pyarrow.parquet as pq
import pytest

import prolong
import prolong.adapters.verl as verl_adapter
from prolong.cli import main as cli_main

# --- toy tasks (module-level so worker processes can unpickle them) -----------------


def words_problem(rng, index):
    words = [rng.choice(["red", "green", "blue", "gold"]) for _ in range(3)]
    return {"prompt": "Repeat, separated by commas: " + " ".join(words), "answer": {"words": words, "sep": ","}}


def words_verifier(response, answer):
    return response.strip() == answer["sep"].join(answer["words"])


def words_reference(answer):
    return answer["sep"].join(answer["words"])


def fragile_verifier(response, answer):
    if response == "crash":
        raise RuntimeError("verifier bug")
    return response == answer


@pytest.fixture(scope="module", autouse=True)
def toy_tasks():
    prolong.register_task("adapters-verl/words-v0", problems=words_problem, verifier=words_verifier, domain="verl_words")
    prolong.register_task(
        "adapters-verl/fragile-v0", problems=[{"prompt": "say ok", "answer": "ok"}], verifier=fragile_verifier, domain="verl_fragile"
    )


def math_task():
    if importlib.util.find_spec("prolong.envs.math") is None:
        pytest.skip("prolong.envs.math (the math domain) is not built yet")
    import gymnasium as gym

    return gym.make("prolong/math-v0").unwrapped.task


def load_like_verl(path):
    """What verl's load_extern_object does with custom_reward_function.path."""
    spec = importlib.util.spec_from_file_location(f"custom_module_{hashlib.md5(path.encode()).hexdigest()}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compute_score


@pytest.fixture(scope="module")
def compute_score():
    return load_like_verl(verl_adapter.__file__)


# --- export -------------------------------------------------------------------------


def test_export_verl_writes_the_columns_verl_reads(tmp_path):
    out = str(tmp_path / "train.parquet")
    assert cli_main(["export", "verl", "--env", "adapters-verl/words-v0", "--n", "5", "--out", out]) == 0
    table = pq.read_table(out)
    assert table.column_names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    rows = table.to_pylist()
    assert len(rows) == 5
    row = rows[0]
    assert row["data_source"] == "adapters-verl/words-v0"
    assert row["prompt"] == [{"role": "user", "content": row["prompt"][0]["content"]}]
    assert row["prompt"][0]["content"].startswith("Repeat, separated by commas:")
    assert row["reward_model"]["style"] == "rule"
    assert set(json.loads(row["reward_model"]["ground_truth"])) == {"words", "sep"}  # dict answers as JSON text
    assert row["extra_info"]["answer_json"] is True
    assert [r["extra_info"]["index"] for r in rows] == [0, 1, 2, 3, 4]
    assert {r["extra_info"]["domain"] for r in rows} == {"verl_words"}
    assert row["extra_info"]["split"] == "train" and row["extra_info"]["problem_id"]


def test_export_verl_rows_read_back_with_datasets_as_verls_rl_dataset_does(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = str(tmp_path / "train.parquet")
    assert cli_main(["export", "verl", "--env", "adapters-verl/words-v0", "--n", "3", "--out", out, "--system-prompt", "Be terse."]) == 0
    ds = datasets.Dataset.from_parquet(out)
    assert ds[1]["prompt"][0] == {"role": "system", "content": "Be terse."}
    assert ds[1]["prompt"][1]["role"] == "user"
    assert ds[1]["extra_info"]["index"] == 1


def test_export_verl_reports_an_unknown_env_and_exits_2(tmp_path, capsys):
    assert cli_main(["export", "verl", "--env", "nope/none-v0", "--n", "3", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "unknown env 'nope/none-v0'" in capsys.readouterr().err


def test_gold_scores_one_and_wrong_scores_zero_through_the_exported_rows(tmp_path, compute_score):
    out = str(tmp_path / "train.parquet")
    cli_main(["export", "verl", "--env", "adapters-verl/words-v0", "--n", "6", "--out", out])
    rows = pq.read_table(out).to_pylist()
    for row in rows:
        truth = row["reward_model"]["ground_truth"]
        gold = words_reference(json.loads(truth))
        right = compute_score(row["data_source"], gold, truth, row["extra_info"])
        assert right == {"score": 1.0, "acc": True, "pred": "", "reason": "correct"}
        wrong = compute_score(row["data_source"], gold + ",purple", truth, row["extra_info"])
        assert wrong["score"] == 0.0 and wrong["acc"] is False


def test_math_rows_score_reference_one_and_another_problems_answer_zero(tmp_path, compute_score):
    task = math_task()
    out = str(tmp_path / "math.parquet")
    assert cli_main(["export", "verl", "--env", "math", "--n", "6", "--out", out, "--split", "validation", "--seed", "3"]) == 0
    rows = pq.read_table(out).to_pylist()
    assert {r["ability"] for r in rows} == {"math"} and {r["extra_info"]["split"] for r in rows} == {"validation"}
    import gymnasium as gym

    env = gym.make("prolong/math-v0", split="validation", seed=3).unwrapped
    problems = [env.task.problems[r["extra_info"]["source_index"]] for r in rows]
    assert [p.id for p in problems] == [r["extra_info"]["problem_id"] for r in rows]
    for i, (row, p) in enumerate(zip(rows, problems)):
        gold = task.reference(p)
        assert compute_score(row["data_source"], gold, row["reward_model"]["ground_truth"], row["extra_info"])["score"] == 1.0
        other = next(q for q in problems if q.answer != p.answer)
        wrong = compute_score(row["data_source"], task.reference(other), row["reward_model"]["ground_truth"], row["extra_info"])
        assert wrong["score"] == 0.0 and wrong["pred"] != ""


def test_batched_form_matches_one_row_calls_across_domains(tmp_path, compute_score):
    out = str(tmp_path / "w.parquet")
    cli_main(["export", "verl", "--env", "adapters-verl/words-v0", "--n", "4", "--out", out])
    rows = pq.read_table(out).to_pylist()
    sols = [words_reference(json.loads(r["reward_model"]["ground_truth"])) for r in rows]
    sols[1] = "nothing"
    sources = [r["data_source"] for r in rows] + ["verl_fragile", "verl_fragile"]
    truths = [r["reward_model"]["ground_truth"] for r in rows] + ["ok", "ok"]
    extras = [r["extra_info"] for r in rows] + [None, {}]
    sols += ["ok", "no"]
    batch = compute_score(data_sources=sources, solution_strs=sols, ground_truths=truths, extra_infos=extras)
    single = [compute_score(s, x, t, e) for s, x, t, e in zip(sources, sols, truths, extras)]
    assert batch == single
    assert [b["score"] for b in batch] == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]


def test_verls_dataset_names_map_to_math(compute_score):
    math_task()
    for source in ("openai/gsm8k", "lighteval/MATH", "DigitalLearningGmbH/MATH-lighteval", "math", "prolong/math-v0", "aime24"):
        assert compute_score(source, "so the answer is \\boxed{12}", "12")["score"] == 1.0, source
        assert compute_score(source, "so the answer is \\boxed{13}", "12")["score"] == 0.0, source


def test_extra_info_domain_wins_over_the_data_source():
    out = verl_adapter.compute_score("openai/gsm8k", "ok", "ok", {"domain": "verl_fragile"})
    assert out["score"] == 1.0


def test_unknown_data_source_is_an_error_naming_it():
    with pytest.raises(ValueError, match="data source 'my/unknown-set'"):
        verl_adapter.compute_score("my/unknown-set", "x", "y", {})


def test_domain_keyword_is_the_fallback_for_unknown_sources_and_return_dict_false_gives_floats():
    assert verl_adapter.compute_score("my/unknown-set", "ok", "ok", {}, domain="verl_fragile", return_dict=False) == 1.0


def test_json_ground_truth_without_the_flag_is_decoded_outside_text_domains():
    truth = json.dumps({"words": ["red", "gold"], "sep": ","})
    assert verl_adapter.compute_score("verl_words", "red,gold", truth, {"domain": "verl_words"})["score"] == 1.0


def test_a_crashing_verifier_is_one_rows_zero_not_the_batchs_failure():
    out = verl_adapter.compute_score(
        data_sources=["verl_fragile"] * 3, solution_strs=["ok", "crash", "ok"], ground_truths=["ok"] * 3, extra_infos=[{}] * 3
    )
    assert [o["score"] for o in out] == [1.0, 0.0, 1.0]
    assert out[1]["reason"] == "verifier error"


def test_missing_ground_truth_names_the_row():
    with pytest.raises(ValueError, match="row 1: no ground truth"):
        verl_adapter.compute_score(data_sources=["verl_fragile"] * 2, solution_strs=["ok", "ok"], ground_truths=["ok", None])


def test_the_adapter_file_is_a_plain_path_verl_can_load():
    assert os.path.isfile(verl_adapter.__file__) and verl_adapter.__file__.endswith("verl.py")


def test_code_rows_carry_tests_as_json_and_score_the_reference_program(tmp_path, compute_score):
    if importlib.util.find_spec("prolong.envs.code") is None:
        pytest.skip("prolong.envs.code (the code domain) is not built yet")
    import gymnasium as gym

    try:
        env = gym.make("prolong/code-v0").unwrapped
    except Exception as e:  # e.g. no sandbox on this machine
        pytest.skip(f"the code env is unavailable here: {e}")
    out = str(tmp_path / "code.parquet")
    assert cli_main(["export", "verl", "--env", "code", "--n", "2", "--out", out]) == 0
    rows = pq.read_table(out).to_pylist()
    problems = [env.task.problems[r["extra_info"]["source_index"]] for r in rows]
    assert all(r["extra_info"]["answer_json"] for r in rows)
    assert json.loads(rows[0]["reward_model"]["ground_truth"]) == dict(problems[0].answer)
    batch = compute_score(
        data_sources=[r["data_source"] for r in rows] * 2,
        solution_strs=[env.task.reference(p) for p in problems] + ["print('no')"] * 2,
        ground_truths=[r["reward_model"]["ground_truth"] for r in rows] * 2,
        extra_infos=[r["extra_info"] for r in rows] * 2,
    )
    assert [b["score"] for b in batch[:2]] == [1.0, 1.0]
    assert all(b["score"] < 1.0 for b in batch[2:])
    # verl's own code datasets name the source "apps" and carry no flag: the JSON is still read
    assert compute_score("apps", env.task.reference(problems[0]), rows[0]["reward_model"]["ground_truth"], {})["score"] == 1.0


# --- how verl >= 0.7 calls it (volcengine/verl v0.7.0 / main b178a3c) ------------------


def load_like_verl_pkg(spec):
    """verl/utils/import_utils.py load_module: 'pkg://a.b' imports the module by name."""
    import importlib

    assert spec.startswith("pkg://")
    return importlib.import_module(spec[len("pkg://") :].replace("/", ".")).compute_score


def _call_with_kwargs(raw_fn, extra_kwargs, *args, **kwargs):
    """verl/trainer/ppo/reward.py: the call-time keywords, then reward_kwargs over them."""
    return raw_fn(*args, **{**kwargs, **extra_kwargs})


def with_reward_kwargs(raw_fn, reward_kwargs):
    """verl/trainer/ppo/reward.py get_custom_reward_fn: partial(_call_with_kwargs, raw_fn, reward_kwargs)."""
    import functools

    return functools.partial(_call_with_kwargs, raw_fn, reward_kwargs)


def test_reward_loop_naive_manager_call_on_exported_rows(tmp_path):
    """The reward loop's naive/dapo/rate_limited managers: one row per call from a thread,
    extra_info with num_turns and rollout_reward_scores added, router keywords when a
    reward model is deployed; the dict's keys become reward_extra_info columns."""
    import asyncio

    out = str(tmp_path / "t.parquet")
    assert cli_main(["export", "verl", "--env", "prolong/stem-v0", "--n", "3", "--out", out, "require_units=true"]) == 0
    rows = pq.read_table(out).to_pylist()
    fn = with_reward_kwargs(load_like_verl_pkg("pkg://prolong.adapters.verl"), {})
    import gymnasium as gym

    env = gym.make("prolong/stem-v0", require_units=True)
    expected, calls = [], []
    for r in rows:
        _, info = env.reset(options={"index": r["extra_info"]["source_index"]})
        ref = env.unwrapped.task.reference(info["problem"])
        for response in (ref, "\\boxed{1}"):
            env.reset(options={"index": r["extra_info"]["source_index"]})
            expected.append(env.step(response)[1])
            extra = dict(r["extra_info"], num_turns=2, rollout_reward_scores={})
            calls.append(dict(data_source=r["data_source"], solution_str=response, ground_truth=r["reward_model"]["ground_truth"], extra_info=extra))

    async def reward_loop():  # RewardLoopWorker.compute_score_batch: every sample at once, each in the loop's executor
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(None, lambda c=c: fn(**c)) for c in calls))

    results = asyncio.run(reward_loop())
    assert [res["score"] for res in results] == expected and 1.0 in expected
    assert all(set(res) == {"score", "acc", "pred", "reason"} for res in results)
    # with a reward model deployed, the router's address and tokenizer come as keywords
    assert fn(**calls[0], reward_router_address="127.0.0.1:1", reward_model_tokenizer=None)["score"] == expected[0]


def test_prime_manager_positional_call_in_a_process_pool():
    """verl's legacy prime manager: partial(fn, data_source, solution_str, ground_truth,
    extra_info) run in a ProcessPoolExecutor, so the function must pickle (pkg:// loads it
    as prolong.adapters.verl, which does)."""
    import functools
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    fn = with_reward_kwargs(load_like_verl_pkg("pkg://prolong.adapters.verl"), {"return_dict": False})
    job = functools.partial(fn, "math", "so \\boxed{1/2}", "0.5", {})
    pickle.dumps(job)
    with ProcessPoolExecutor(1) as pool:
        assert pool.submit(job).result(timeout=120) == 1.0
