"""One reward path: every consumer scores a response exactly as env.step does.

For every built-in env made with non-default arguments, the same responses are scored
through env.step, make_task + verify_batch, the trainer's score(), eval, the TRL, verl
and OpenRLHF adapters (on the rows make_dataset / export write), the HTTP server and Ray,
and the rewards must be identical. Then: user tasks never replace built-in verifiers,
and one reasoning-section policy holds in every domain.
"""

from __future__ import annotations

import json
import re
import shutil

import gymnasium as gym
import pytest

import prolong
from prolong.core import ProlongError, UnknownEnvError

N = 3  # problems per env
PER = 6  # responses per problem

# env id -> non-default constructor arguments that change (or could change) scoring
CASES: dict[str, dict] = {
    "prolong/math-v0": {"level": 2},
    "prolong/stem-v0": {"require_units": True, "rel_tol": 1e-6},
    "prolong/ifeval-v0": {"all_or_nothing": True, "mode": "loose"},
    "prolong/reasoning-gym-v0": {"strict": False},
}
# the mixture's sub-env arguments (seed 11: its first three problems are code, stem and ifeval ones)
_MIX = {
    "prolong/stem-v0": {"weight": 1, "kwargs": {"require_units": True}},
    "prolong/ifeval-v0": {"weight": 1, "kwargs": {"all_or_nothing": True}},
}
if shutil.which("bwrap"):
    # verifier arguments: a program over 300 characters is not run (the third reference is
    # longer), whole-output token matching, a per-test timeout
    _CODE = {"max_program_chars": 300, "match": "tokens", "timeout": 5.0}
    CASES["prolong/code-v0"] = {"max_turns": 1, **_CODE}
    _MIX["prolong/code-v0"] = {"weight": 1, "kwargs": _CODE}
CASES["prolong/mix-v0"] = {"envs": _MIX, "seed": 11}


def _responses(task, problem) -> list[str]:
    """PER responses that earn different rewards: the reference, the reference without
    units or capitals, the reference inside an unclosed reasoning section, ..."""
    ref = task.reference(problem) if task.reference is not None else ""
    out = [ref, "I am not sure.", f"<think>{ref}", f"<think>Let me think.</think>{ref}", ref.lower()]
    num = re.search(r"[-+]?\d+(?:\.\d+)?", ref)
    out.append(f"The answer is \\boxed{{{num.group(0) if num else 0}}}")  # a bare number (no unit)
    assert len(out) == PER
    return out


@pytest.fixture(scope="module")
def cases():
    """env id -> (kwargs, problems, responses per problem, env.step rewards)."""
    out = {}
    for env_id, kw in CASES.items():
        env = gym.make(env_id, **kw)
        task = env.unwrapped.task
        problems, responses, rewards = [], [], []
        for i in range(N):
            _, info = env.reset(options={"index": i})
            p = info["problem"]
            for r in _responses(task, p):
                env.reset(options={"index": i})
                _, reward, *_ = env.step(r)
                problems.append(p)
                responses.append(r)
                rewards.append(reward)
        out[env_id] = (kw, problems, responses, rewards)
    return out


def test_env_kwargs_change_some_reward(cases):
    """The arguments matter: with default arguments some response scores differently
    (otherwise this test would not show that consumers honour them)."""
    differs = []
    for env_id, (kw, problems, responses, rewards) in cases.items():
        default = prolong.verify_batch(env_id, responses, [p.answer for p in problems], problems)
        differs.append(any(d.reward != r for d, r in zip(default, rewards)))
    assert any(differs)
    for env_id in ("prolong/stem-v0", "prolong/mix-v0", "prolong/code-v0"):
        if env_id not in cases:
            continue
        kw, problems, responses, rewards = cases[env_id]
        assert [v.reward for v in prolong.verify_batch(env_id, responses, [p.answer for p in problems], problems)] != rewards, env_id
    # the mixture's first problems come from each of its envs
    assert {p.domain for p in cases["prolong/mix-v0"][1]} == {"stem", "ifeval"} | ({"code"} if "prolong/code-v0" in CASES else set())


def test_make_task_and_verify_batch_equal_env_step(cases):
    for env_id, (kw, problems, responses, rewards) in cases.items():
        task = prolong.make_task(env_id, **kw)
        got = [v.reward for v in prolong.verify_batch(task, responses, [p.answer for p in problems], problems)]
        assert got == rewards, env_id
        one = [prolong.verify(task, r, p.answer, p).reward for r, p in zip(responses[:4], problems[:4])]
        assert one == rewards[:4], env_id


def test_trainer_score_equals_env_step(cases):
    from prolong.trainer.loop import score

    for env_id, (kw, _problems, responses, rewards) in cases.items():
        task = prolong.make_task(env_id, **kw)
        per = PER
        problems = [task.problems[i] for i in range(N) for _ in range(per)]  # as the trainer draws them
        assert [v.reward for v in score(problems, responses)] == rewards, env_id


def test_eval_equals_env_step(cases):
    from prolong.evaluate import evaluate_engine
    from prolong.trainer.engines import Completion

    for env_id, (kw, problems, responses, rewards) in cases.items():
        by_prompt: dict[str, list[str]] = {}
        for p, r in zip(problems, responses):
            by_prompt.setdefault(p.prompt, []).append(r)
        per = PER

        class Engine:
            def generate(self, prompts, n, **_):
                return [[Completion(r, [], [1], "stop") for r in by_prompt[pr]] for pr in prompts]

        result = evaluate_engine(
            Engine(), [env_id], n=per, num_problems=N, split="train", env_kwargs={env_id: kw},
            keep_samples=True, progress=False, temperature=1.0,
        )  # fmt: skip
        assert [s["reward"] for s in result.samples] == rewards, env_id


def test_trl_reward_on_make_dataset_rows_equals_env_step(cases):
    from prolong.adapters.trl import dataset_records, reward_func

    for env_id, (kw, problems, responses, rewards) in cases.items():
        rows = dataset_records(env_id, N, env_kwargs=kw)
        per = PER
        flat = [rows[i] for i in range(N) for _ in range(per)]
        columns = {k: [row[k] for row in flat] for k in flat[0] if k != "prompt"}
        got = reward_func()(prompts=[row["prompt"] for row in flat], completions=responses, **columns)
        assert got == rewards, env_id


def test_verl_compute_score_on_exported_rows_equals_env_step(cases, tmp_path):
    import pyarrow.parquet as pq

    from prolong.adapters.verl import compute_score, verl_records, write_verl_parquet

    for env_id, (kw, problems, responses, rewards) in cases.items():
        path = tmp_path / f"{env_id.replace('/', '_')}.parquet"
        write_verl_parquet(verl_records(env_id, N, env_kwargs=kw), str(path))
        rows = pq.read_table(path).to_pylist()
        per = PER
        flat = [rows[i] for i in range(N) for _ in range(per)]
        batch = compute_score(
            data_sources=[r["data_source"] for r in flat], solution_strs=responses,
            ground_truths=[r["reward_model"]["ground_truth"] for r in flat], extra_infos=[r["extra_info"] for r in flat],
            return_dict=False,
        )  # fmt: skip
        assert batch == rewards, env_id
        single = [
            compute_score(r["data_source"], s, r["reward_model"]["ground_truth"], r["extra_info"], return_dict=False)
            for r, s in zip(flat[:per], responses[:per])
        ]
        assert single == rewards[:per], env_id


def test_openrlhf_reward_func_on_exported_rows_equals_env_step(cases):
    from prolong.adapters.export import openrlhf_records
    from prolong.adapters.openrlhf import reward_func

    for env_id, (kw, problems, responses, rewards) in cases.items():
        rows = openrlhf_records(env_id, N, env_kwargs=kw)
        per = PER
        flat = [rows[i] for i in range(N) for _ in range(per)]
        prompts = [r["input"] for r in flat]
        out = reward_func([p + s + "<|im_end|>" for p, s in zip(prompts, responses)], prompts, [r["label"] for r in flat])
        assert [float(x) for x in out["rewards"]] == pytest.approx(rewards), env_id


def test_server_equals_env_step(cases):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from prolong.adapters.server import ServerConfig, create_app

    with TestClient(create_app(ServerConfig(workers=2))) as client:
        for env_id, (kw, problems, responses, rewards) in cases.items():
            items = [
                {"env": env_id, "env_kwargs": kw, "response": r, "answer": p.answer,
                 "problem": {"id": p.id, "prompt": p.prompt, "metadata": json.loads(json.dumps(dict(p.metadata), default=str))}}
                for r, p in zip(responses, problems)
            ]  # fmt: skip
            res = client.post("/verify", json={"items": items})
            assert res.status_code == 200, res.text
            assert [r["reward"] for r in res.json()["results"]] == rewards, env_id
        bad = client.post("/verify", json={"items": [{"env": "prolong/stem-v0", "env_kwargs": {"source": "/etc/passwd"}, "response": "x", "answer": "1"}]})
        assert bad.status_code == 422 and "source" in bad.json()["error"]


def test_server_openrlhf_route_equals_env_step(cases):
    """OpenRLHF's HTTP reward protocol (``--reward.remote_url http://.../openrlhf``) on the
    rows ``prolong export openrlhf`` writes: the body OpenRLHF v0.11 POSTs, one sample per
    request as its SingleTurnAgentExecutor does, and a batch."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from prolong.adapters.export import openrlhf_records
    from prolong.adapters.server import ServerConfig, create_app

    def template(text):  # what --data.apply_chat_template makes of the input (a Qwen-style template)
        return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"

    with TestClient(create_app(ServerConfig(workers=2))) as client:
        for env_id, (kw, problems, responses, rewards) in cases.items():
            rows = openrlhf_records(env_id, N, env_kwargs=kw)
            flat = [rows[i] for i in range(N) for _ in range(PER)]
            prompts = [template(r["input"]) for r in flat]
            queries = [p + s + "<|im_end|>" for p, s in zip(prompts, responses)]
            labels = [r["label"] for r in flat]
            res = client.post("/openrlhf", json={"query": queries, "prompts": prompts, "labels": labels})
            assert res.status_code == 200, res.text
            body = res.json()
            assert body["rewards"] == rewards and body["scores"] == rewards, env_id
            assert set(body["extra_logs"]) == {"prolong_accuracy", "prolong_no_answer"}
            for k in range(0, len(queries), PER):  # one sample per request, at OpenRLHF's own path too
                one = client.post("/get_reward", json={"query": [queries[k]], "prompts": [prompts[k]], "labels": [labels[k]]})
                assert one.json()["rewards"] == [rewards[k]], env_id


def test_ray_equals_env_step(cases):
    pytest.importorskip("ray")
    import ray

    from prolong.adapters.ray import verify_batch_ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        for env_id in ("prolong/stem-v0", "prolong/ifeval-v0", "prolong/mix-v0"):
            kw, problems, responses, rewards = cases[env_id]
            task = prolong.make_task(env_id, **kw)
            got = verify_batch_ray(task, responses, [p.answer for p in problems], problems, chunk_size=8)
            assert [v.reward for v in got] == rewards, env_id
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- rows are untrusted


def test_rows_carry_code_verifier_arguments_and_mixture_sub_env_arguments():
    from prolong.scoring import carried_env_kwargs, row_env_kwargs, task_of_row

    code = carried_env_kwargs(
        "prolong/code-v0",
        {"timeout": 4, "max_program_chars": 300, "match": "tokens", "max_turns": 1,
         "sandbox": "unsafe-rlimits-only", "processes": 2, "split": "train", "seed": 3},
    )  # fmt: skip
    # scoring arguments travel; the sandbox mode, this machine's workers and the problem stream do not
    assert code == {"timeout": 4, "max_program_chars": 300, "match": "tokens", "max_turns": 1}
    assert task_of_row("code", json.dumps(code)).verifier.max_program_chars == 300
    mix = carried_env_kwargs(
        "prolong/mix-v0",
        {"seed": 2, "envs": {"stem": {"weight": 2, "kwargs": {"require_units": True, "source": "x.jsonl", "seed": 1}},
                             "prolong/code-v0": {"kwargs": {"max_program_chars": 99}}, "math": 1}},
    )  # fmt: skip
    assert mix == {"envs": {"prolong/stem-v0": {"weight": 2, "kwargs": {"require_units": True}},
                            "prolong/code-v0": {"weight": 1.0, "kwargs": {"max_program_chars": 99}},
                            "prolong/math-v0": {"weight": 1, "kwargs": {}}}}  # fmt: skip
    assert row_env_kwargs("prolong/mix-v0", json.dumps(mix)) == mix
    sub = task_of_row("mix", json.dumps(mix)).problems.sub_env("prolong/stem-v0")
    assert sub.task.verifier.require_units is True
    with pytest.raises(ProlongError, match="timeout.*cannot be carried"):
        carried_env_kwargs("prolong/code-v0", {"timeout": 1e6})  # rows would score differently: refused at export


@pytest.mark.parametrize(
    "env_id, kwargs, words",
    [
        ("prolong/code-v0", {"sandbox": "unsafe-rlimits-only"}, "sandbox"),  # a row never turns the sandbox off
        ("prolong/code-v0", {"timeout": 1e9}, "timeout"),
        ("prolong/code-v0", {"memory_mb": True}, "memory_mb"),
        ("prolong/code-v0", {"match": "regex"}, "match"),
        ("prolong/code-v0", {"packages": ["os"]}, "packages"),
        ("prolong/mix-v0", {"envs": {"stem": {"kwargs": {"source": "/etc/shadow"}}}}, "envs.*source"),
        ("prolong/mix-v0", {"envs": {"prolong/code-v0": {"kwargs": {"sandbox": "unsafe-rlimits-only"}}}}, "envs.*sandbox"),
        ("prolong/mix-v0", {"envs": {"prolong/mix-v0": 1}}, "envs.*itself"),
        ("prolong/mix-v0", {"envs": {"nosuch": 1}}, "envs.*nosuch"),
        ("prolong/mix-v0", {"envs": {"math": float("inf")}}, "envs.*weight"),
        ("prolong/mix-v0", {"envs": {"math": {"weight": 1, "import": "os"}}}, "envs.*unknown option"),
        ("prolong/mix-v0", {"envs": {f"e{i}": 1 for i in range(17)}}, "envs.*1 to 16"),
        ("prolong/mix-v0", {"envs": ["math"]}, "envs.*JSON object"),
    ],
)
def test_row_code_and_mixture_arguments_are_validated(env_id, kwargs, words):
    from prolong.scoring import row_env_kwargs

    with pytest.raises(ProlongError, match=words):
        row_env_kwargs(env_id, kwargs)


def test_row_env_kwargs_refuse_files_and_non_scalars():
    from prolong.scoring import row_env_kwargs, task_of_row

    assert row_env_kwargs("prolong/stem-v0", '{"require_units": true}') == {"require_units": True}
    for bad in ({"source": "/etc/shadow"}, {"fields": "x"}, {"require_units": [1]}, {"no_such": 1}, {"cache_dir": "/"}):
        with pytest.raises(ProlongError, match=next(iter(bad))):
            row_env_kwargs("prolong/stem-v0", bad)
    assert task_of_row("stem", {"require_units": True}) is task_of_row("prolong/stem-v0", '{"require_units": true}')


# --------------------------------------------------------------------------- one resolver


@pytest.mark.parametrize("name", ["reasoning_gym", "reasoning-gym", "prolong/reasoning-gym-v0", "prolong:prolong/reasoning-gym-v0"])
def test_every_spelling_of_an_env_resolves_to_it(name):
    from prolong.evaluate import resolve_env_id as eval_resolve
    from prolong.adapters.common import resolve_env_id as adapter_resolve

    assert prolong.make_task(name).env_id == "prolong/reasoning-gym-v0"
    assert eval_resolve(name) == adapter_resolve(name) == "prolong/reasoning-gym-v0"


def test_unknown_env_and_bad_kwargs_are_one_line_errors():
    with pytest.raises(UnknownEnvError, match="'nosuch'") as e:
        prolong.make_task("nosuch")
    assert "\n" not in str(e.value)
    with pytest.raises(ProlongError, match="stem-v0.*bogus") as e:
        prolong.make_task("stem", bogus=1)
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------- user tasks vs built-ins


def _always_right(response, answer):
    return True


def test_user_task_named_like_a_builtin_gets_its_own_domain():
    env_id = prolong.register_task("me/math-v0", problems=[{"prompt": "2+2?", "answer": "4"}], verifier=_always_right)
    assert prolong.verify("math", "\\boxed{5}", "4").reward == 0.0  # the built-in is untouched
    assert prolong.verify(env_id, "\\boxed{5}", "4").reward == 1.0
    assert prolong.make_task(env_id).domain != "math"
    from prolong.adapters.trl import reward_func

    assert reward_func()(completions=["\\boxed{5}"], domain=["math"], answer=["4"]) == [0.0]


def test_user_task_claiming_a_builtin_domain_is_a_one_line_error():
    for domain in ("math", "code", "stem", "ifeval", "reasoning_gym", "mix"):
        with pytest.raises(ProlongError, match=f"'{domain}' is a built-in domain") as e:
            prolong.register_task("me/clash-v0", problems=[{"prompt": "p", "answer": "a"}], verifier=_always_right, domain=domain)
        assert "\n" not in str(e.value)
    with pytest.raises(ProlongError, match="built-in env"):
        prolong.register_task("prolong/math-v0", problems=[{"prompt": "p", "answer": "a"}], verifier=_always_right)
    assert prolong.verify("math", "\\boxed{5}", "4").reward == 0.0


def test_two_user_tasks_cannot_share_a_domain():
    prolong.register_task("me/first-v0", problems=[{"prompt": "p", "answer": "a"}], verifier=_always_right, domain="mine")
    with pytest.raises(ProlongError, match="already belongs to 'me/first-v0'"):
        prolong.register_task("me/second-v0", problems=[{"prompt": "p", "answer": "a"}], verifier=_always_right, domain="mine")
    # registering the same task again (a notebook cell run twice, --import in every worker) is fine
    prolong.register_task("me/first-v0", problems=[{"prompt": "p", "answer": "a"}], verifier=_always_right, domain="mine")


# --------------------------------------------------------------------------- the reasoning-section policy


def _reasoning_cases():
    """domain -> (answer, problem or None, a response that earns full marks)."""
    ifeval_env = gym.make("prolong/ifeval-v0")
    _, info = ifeval_env.reset(seed=3)
    ip = info["problem"]
    return {
        "math": ("4", None, "The answer is \\boxed{4}."),
        "stem": ("B", None, "Answer: B"),
        "ifeval": (ip.answer, ip, ifeval_env.unwrapped.task.reference(ip)),
    }


@pytest.mark.parametrize("domain", ["math", "stem", "ifeval", "reasoning_gym"])
def test_reasoning_section_policy(domain):
    if domain == "reasoning_gym":
        env = gym.make("prolong/reasoning-gym-v0", tasks="leg_counting")
        _, info = env.reset(seed=0)
        p = info["problem"]
        answer, good = p.answer, env.unwrapped.task.reference(p)
    else:
        answer, p, good = _reasoning_cases()[domain]

    def reward(text):
        return prolong.verify(domain, text, answer, p).reward

    assert reward(good) == 1.0
    # judged: what follows </think>
    assert reward(f"<think>scratch work</think>\n{good}") == 1.0
    # the answer inside the reasoning section does not count
    assert reward(f"<think>{good}</think>\nI give up.") < 1.0
    # an unclosed reasoning section has no final answer
    v = prolong.verify(domain, f"<think>{good}", answer, p)
    assert v.reward == 0.0


def test_ifeval_judges_only_the_final_answer():
    """A lowercase answer after a capitalised reasoning section follows 'all lowercase'."""
    answer = {"instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}
    final = "the capital of france is paris, a city on the seine."
    assert prolong.verify("ifeval", final, answer).reward == 1.0
    assert prolong.verify("ifeval", f"<think>The User Asks About France.</think>\n{final}", answer).reward == 1.0
    assert prolong.verify("ifeval", "<think>Still Thinking", answer).reason == prolong.Reason.NO_ANSWER


def test_verify_runs_under_a_deadline_and_timeout_none_opts_out():
    from prolong.scoring import score_one

    v = score_one(_sleepy, "x", "y", timeout=0.5)
    assert v.reason == prolong.Reason.TIMEOUT
    assert score_one(_right3, "x", "y", timeout=None).reward == 1.0


def _right3(response, answer, problem=None):
    return True


def _sleepy(response, answer, problem=None):
    import time

    time.sleep(5)
    return True


def test_mix_scores_each_item_with_its_sub_env_arguments():
    from prolong.trainer.loop import score

    mix = {"prolong/stem-v0": {"weight": 1, "kwargs": {"require_units": True}}}
    env = gym.make("prolong/mix-v0", envs=mix)
    task = prolong.make_task("mix", envs=mix)
    problems, responses, rewards = [], [], []
    for i in range(4):
        _, info = env.reset(options={"index": i})
        p = info["problem"]
        for r in _responses(task, p):
            env.reset(options={"index": i})
            rewards.append(env.step(r)[1])
            problems.append(p)
            responses.append(r)
    assert 0.0 in rewards and 1.0 in rewards
    assert [v.reward for v in prolong.verify_batch(task, responses, [p.answer for p in problems], problems)] == rewards
    drawn = [task.problems[i] for i in range(4) for _ in range(len(responses) // 4)]
    assert [v.reward for v in score(drawn, responses)] == rewards


# --------------------------------------------------------------------------- the command line


def _cli(*args, stdin=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "prolong", *args], capture_output=True, text=True, timeout=120)


def test_cli_errors_are_one_line_naming_the_input(tmp_path):
    r = _cli("sample", "nosuch")
    assert r.returncode == 2 and "nosuch" in r.stderr and "Traceback" not in r.stderr
    r = _cli("sample", "stem", "bogus=1")
    assert r.returncode == 2 and "bogus" in r.stderr and "Traceback" not in r.stderr
    r = _cli("verify", "math", str(tmp_path))
    assert r.returncode == 2 and str(tmp_path) in r.stderr and "directory" in r.stderr
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x00\x01\x02" * 1000)
    r = _cli("verify", "math", str(binary))
    assert r.returncode == 2 and "model.bin" in r.stderr and "binary" in r.stderr


def test_cli_verify_scores_with_the_env_arguments(tmp_path):
    f = tmp_path / "r.jsonl"
    f.write_text(json.dumps({"response": "\\boxed{3.5}", "answer": "3.5 m"}) + "\n")
    assert "mean reward 1.0000" in _cli("verify", "stem", str(f), "-q").stdout
    assert "mean reward 0.0000" in _cli("verify", "stem", str(f), "-q", "require_units=true").stdout


def test_eval_on_a_missing_model_directory_says_so(tmp_path):
    from prolong.evaluate import main

    assert main(["--model", str(tmp_path / "nope"), "--env", "math"]) == 2
