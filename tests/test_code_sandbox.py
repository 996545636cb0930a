"""The code verifier on honest programs: rewards, per-test statuses, limits, batches, the
envs, the loaders, and refusing to run without a sandbox."""

import json
import os
import pickle
import time

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong
from prolong import Reason
from prolong.envs.code import CodeVerifier, SandboxUnavailableError, load_code_problems
from prolong.envs.code.sandbox import UNSAFE

ADD = {"inputs": ["1 2\n", "5 7\n", "-3 3\n", "10 -20\n"], "outputs": ["3\n", "12\n", "0\n", "-10\n"]}
ADD_CALL = {"fn_name": "add", "inputs": [[1, 2], [5, 7], [-3, 3]], "outputs": [3, 12, 0]}


def fenced(code: str) -> str:
    return f"Here is my solution.\n```python\n{code}\n```\n"


@pytest.fixture(scope="module")
def verifier():
    return CodeVerifier(timeout=2.0, problem_timeout=20.0)


# -- scoring ---------------------------------------------------------------------------------


def test_correct_stdin_program_gets_full_reward(verifier):
    v = verifier(fenced("a, b = map(int, input().split())\nprint(a + b)"), ADD)
    assert v.reward == 1.0 and v.correct and v.reason == Reason.CORRECT
    assert v.details["passed"] == 4 and v.details["total"] == 4
    assert [t["status"] for t in v.details["tests"]] == ["passed"] * 4


def test_partial_credit_is_the_fraction_of_tests_passed(verifier):
    # prints 0 unless both numbers are positive: right on 1 2, 5 7 and -3 3 (sum 0), wrong on 10 -20
    v = verifier(fenced("a, b = map(int, input().split())\nprint(a + b if a > 0 and b > 0 else 0)"), ADD)
    assert v.reward == 0.75 and not v.correct and v.reason == Reason.PARTIAL
    assert [t["status"] for t in v.details["tests"]] == ["passed", "passed", "passed", "wrong answer"]
    ff = v.details["first_failure"]
    assert ff["index"] == 3 and ff["input"] == "10 -20\n" and ff["expected"] == "-10\n" and ff["got"] == "0\n"


def test_call_based_top_level_function_and_solution_class(verifier):
    assert verifier(fenced("def add(a, b):\n    return a + b"), ADD_CALL).reward == 1.0
    solution_class = "class Solution:\n    def add(self, a, b):\n        return a + b"
    assert verifier(fenced(solution_class), ADD_CALL).reward == 1.0


def test_call_based_answer_may_arrive_as_json_text(verifier):
    v = verifier(fenced("def add(a, b):\n    return [a + b][0]"), json.dumps(ADD_CALL))
    assert v.reward == 1.0


def test_call_based_print_instead_of_return_is_wrong(verifier):
    v = verifier(fenced("def add(a, b):\n    print(a + b)"), ADD_CALL)
    assert v.reward == 0.0 and v.reason == Reason.WRONG
    assert v.details["tests"][0]["status"] == "wrong answer"


def test_numpy_and_fraction_return_values_compare_by_value(verifier):
    program = "import numpy as np\nfrom fractions import Fraction\ndef f(a):\n    return [np.int64(a), np.array([a, a]), Fraction(a, 2)]"
    assert verifier(fenced(program), {"fn_name": "f", "inputs": [[3]], "outputs": [[3, [3, 3], 1.5]]}).reward == 1.0


def test_tuple_return_compares_as_a_list(verifier):
    tests = {"fn_name": "pair", "inputs": [[1]], "outputs": [[1, 2]]}
    assert verifier(fenced("def pair(x):\n    return (x, x + 1)"), tests).reward == 1.0


def test_runtime_error_carries_the_last_lines_of_stderr(verifier):
    v = verifier(fenced("a, b = map(int, input().split())\nprint(a // (b - b))"), ADD)
    assert v.reward == 0.0 and v.reason == Reason.RUNTIME_ERROR
    error = v.details["tests"][0]["error"]
    assert "ZeroDivisionError" in error and 'File "solution.py", line 2' in error
    assert "runner.py" not in error  # the sandbox's own frames are not shown


def test_syntax_error_is_a_runtime_error_naming_the_line(verifier):
    v = verifier(fenced("print('a'\nx = 1"), ADD)
    assert v.reward == 0.0 and v.reason == Reason.RUNTIME_ERROR
    assert "SyntaxError" in v.details["tests"][0]["error"]


def test_nonzero_exit_is_a_runtime_error_even_after_right_output(verifier):
    v = verifier(fenced("import sys\na, b = map(int, input().split())\nprint(a + b)\nsys.exit(3)"), ADD)
    assert v.reward == 0.0 and v.details["tests"][0]["status"] == "runtime error"


def test_timeout_is_reported_and_bounded():
    v = CodeVerifier(timeout=0.5)
    start = time.monotonic()
    verdict = v(fenced("while True:\n    pass"), {"inputs": ["\n"], "outputs": ["1\n"]})
    assert time.monotonic() - start < 10
    assert verdict.reward == 0.0 and verdict.reason == Reason.SANDBOX_LIMIT
    assert verdict.details["tests"][0]["status"] == "timeout"


def test_memory_limit_is_reported():
    v = CodeVerifier(timeout=5, memory_mb=256)
    verdict = v(fenced("x = bytearray(600 * 1024 * 1024)\nprint(len(x))"), {"inputs": [""], "outputs": ["629145600"]})
    assert verdict.reward == 0.0 and verdict.details["tests"][0]["status"] == "memory limit"
    roomy = CodeVerifier(timeout=5, memory_mb=1024)
    assert roomy(fenced("x = bytearray(600 * 1024 * 1024)\nprint(len(x))"), {"inputs": [""], "outputs": ["629145600"]}).reward == 1.0


def test_output_limit_is_reported(verifier):
    v = verifier(fenced("while True:\n    print('x' * 100000)"), {"inputs": [""], "outputs": ["x"]})
    assert v.reward == 0.0 and v.details["tests"][0]["status"] == "output limit"


def test_float_answers_compare_with_tolerance(verifier):
    tests = {"inputs": ["1 3\n"], "outputs": ["0.333333\n"]}
    assert verifier(fenced("a, b = map(int, input().split())\nprint(a / b)"), tests).reward == 1.0
    assert verifier(fenced("print(0.3334)"), tests).reward == 0.0


def test_honest_idioms_work_in_the_sandbox(verifier):
    """__main__ guard, sys.stdin reads, deep recursion, a big-stack thread, numpy, /tmp files."""
    program = """
import sys, threading
sys.setrecursionlimit(100000)

def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)

def main():
    data = sys.stdin.read().split()
    n = int(data[0])
    with open("/tmp/scratch.txt", "w") as f:
        f.write(str(depth(n)))
    import numpy as np
    print(int(np.arange(n + 1).sum()), open("/tmp/scratch.txt").read())

if __name__ == "__main__":
    threading.stack_size(64 * 1024 * 1024)
    t = threading.Thread(target=main)
    t.start()
    t.join()
"""
    v = verifier(fenced(program), {"inputs": ["20000\n"], "outputs": ["200010000 20000\n"]})
    assert v.reward == 1.0, v.details


def test_competitive_programming_habits_work(verifier):
    """exit() (a site builtin), raising the stack limit, deep recursion on the main thread."""
    program = """
import resource, sys
resource.setrlimit(resource.RLIMIT_STACK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
sys.setrecursionlimit(10**6)
def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)
n = int(input())
print(depth(n))
exit()
print("unreachable")
"""
    v = verifier(fenced(program), {"inputs": ["100000\n"], "outputs": ["100000\n"]})
    assert v.reward == 1.0, v.details
    assert verifier(fenced("print(7)\nquit(0)"), {"inputs": [""], "outputs": ["7"]}).reward == 1.0


def test_no_program_is_no_answer_and_runs_nothing(verifier):
    v = verifier("I would loop over the numbers and add them.", ADD)
    assert v.reward == 0.0 and v.reason == Reason.NO_ANSWER and v.extracted is None
    assert "no program" in v.details["how"]


def test_unreadable_tests_give_invalid_ground_truth_not_a_crash(verifier):
    v = verifier(fenced("print(1)"), {"inputs": ["1"], "outputs": []})
    assert v.reward == 0.0 and v.reason == Reason.INVALID_ANSWER and "1 inputs but 0 outputs" in v.details["error"]


def test_prolong_verify_batch_keeps_order_and_runs_everything():
    responses = [fenced(f"a, b = map(int, input().split())\nprint(a + b + {k % 2})") for k in range(12)]
    start = time.monotonic()
    verdicts = prolong.verify_batch("code", responses, [ADD] * 12)
    assert time.monotonic() - start < 60
    assert [v.reward for v in verdicts] == [1.0, 0.0] * 6


def test_problem_budget_skips_what_is_left_and_frees_the_batch():
    v = CodeVerifier(timeout=1.0, problem_timeout=2.0, processes=2)
    slow = fenced("import time\ntime.sleep(5)")
    fast = fenced("a, b = map(int, input().split())\nprint(a + b)")
    many = {"inputs": ["1 2\n"] * 20, "outputs": ["3\n"] * 20}
    start = time.monotonic()
    slow_v, fast_v = v.verify_batch([slow, fast], [many, ADD])
    elapsed = time.monotonic() - start
    assert fast_v.reward == 1.0
    assert slow_v.reward == 0.0
    statuses = [t["status"] for t in slow_v.details["tests"]]
    assert "skipped" in statuses and set(statuses) <= {"timeout", "skipped"}
    assert elapsed < 15  # 20 tests x 1 s would be 10 s per worker without the 2 s budget


def test_a_dead_worker_is_replaced_and_the_next_run_is_unaffected():
    v = CodeVerifier(timeout=2.0, processes=1)
    assert v(fenced("print(3)"), {"inputs": [""], "outputs": ["3"]}).reward == 1.0
    pool = v.pool
    victim = pool._workers[0]
    os.kill(victim.proc.pid, 9)  # the whole sandbox dies (as if the program had broken it)
    victim.proc.wait(timeout=5)
    assert v(fenced("print(3)"), {"inputs": [""], "outputs": ["3"]}).reward == 1.0
    assert pool._workers[0] is not victim and pool._workers[0].alive()


def test_sandboxes_die_with_the_process_that_started_them(tmp_path):
    script = tmp_path / "host.py"
    script.write_text(
        "import os, sys\n"
        "from prolong.envs.code import CodeVerifier\n"
        "v = CodeVerifier(processes=2)\n"
        "v.pool.start()\n"
        "assert v('```python\\nprint(1)\\n```', {'inputs': [''], 'outputs': ['1']}).reward == 1.0\n"
        "print(' '.join(str(w.proc.pid) for w in v.pool._workers), flush=True)\n"
        "os._exit(0)  # no cleanup at all\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2, out.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids):
        time.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{p}") for p in pids)


def test_verifier_pickles_without_its_sandboxes(verifier):
    clone = pickle.loads(pickle.dumps(verifier))
    assert clone._pool is None and clone.limits == verifier.limits


# -- no sandbox ----------------------------------------------------------------------------


def test_refuses_to_run_code_without_bubblewrap(monkeypatch):
    monkeypatch.setenv("PROLONG_BWRAP", "/nonexistent/bwrap")
    monkeypatch.delenv("PROLONG_ALLOW_UNSANDBOXED", raising=False)
    v = CodeVerifier(processes=1, packages=("nothing-here",))  # a pool of its own
    with pytest.raises(SandboxUnavailableError, match="apt-get install bubblewrap"):
        v(fenced("print(1)"), {"inputs": [""], "outputs": ["1"]})
    # a response without a program needs no sandbox
    assert v("no code", {"inputs": [""], "outputs": ["1"]}).reason == Reason.NO_ANSWER


def test_explicit_unsafe_mode_still_applies_limits():
    v = CodeVerifier(sandbox=UNSAFE, timeout=0.5, processes=1)
    assert v(fenced("print(int(input()) * 2)"), {"inputs": ["4\n"], "outputs": ["8\n"]}).reward == 1.0
    loop = v(fenced("while True:\n    pass"), {"inputs": [""], "outputs": ["1"]})
    assert loop.details["tests"][0]["status"] == "timeout"
    net = v(fenced("import socket\nsocket.socket()"), {"inputs": [""], "outputs": [""]})
    assert "Address family not supported" in net.details["tests"][0]["error"]  # seccomp still applies
    if os.geteuid() == 0:  # started by root, programs still do not run as root
        uid = v(fenced("import os\nprint(os.getuid())"), {"inputs": [""], "outputs": ["65534"]})
        assert uid.reward == 1.0


def test_env_var_opt_in_falls_back_to_unsafe_mode_with_a_warning(monkeypatch):
    monkeypatch.setenv("PROLONG_BWRAP", "/nonexistent/bwrap")
    monkeypatch.setenv("PROLONG_ALLOW_UNSANDBOXED", "1")
    v = CodeVerifier(processes=1, packages=("numpy", "opt-in-test"))
    assert v.pool.mode == UNSAFE
    assert v(fenced("print(5)"), {"inputs": [""], "outputs": ["5"]}).reward == 1.0


# -- envs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ["prolong/code-v0", "prolong/code-feedback-v0"])
def test_code_envs_pass_the_gymnasium_checker(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)


def test_same_seed_same_problem_and_reference_gets_full_marks():
    env = gym.make("prolong/code-v0")
    obs1, info1 = env.reset(seed=11)
    obs2, info2 = env.reset(seed=11)
    assert obs1 == obs2 and info1["id"] == info2["id"]
    assert "```python" in obs1
    reference = env.unwrapped.task.reference(info1["problem"])
    _, reward, terminated, truncated, info = env.step(reference)
    assert reward == 1.0 and terminated and not truncated and info["verdict"].correct


def test_train_and_validation_problems_are_disjoint():
    train = gym.make("prolong/code-v0").unwrapped.task.problems
    val = gym.make("prolong/code-v0", split="validation").unwrapped.task.problems
    train_ids = {train[i].id for i in range(len(train))}
    val_ids = {val[i].id for i in range(len(val))}
    assert train_ids and val_ids and not train_ids & val_ids


def test_feedback_env_shows_the_failing_test_until_out_of_turns():
    env = gym.make("prolong/code-feedback-v0", max_turns=2)
    obs, info = env.reset(options={"index": 0})
    problem = info["problem"]
    obs, reward, terminated, _, info = env.step(fenced("print('nope')"))
    assert not terminated and reward < 1.0 and info["turn"] == 1
    assert "failed test" in obs and "Expected output" in obs
    obs, reward, terminated, _, info = env.step("still no code")
    assert terminated and info["turn"] == 2
    env.reset(options={"problem": problem})
    _, reward, terminated, _, _ = env.step(env.unwrapped.task.reference(problem))
    assert reward == 1.0 and terminated


# -- loaders ---------------------------------------------------------------------------------


def _apps_record(i):
    return {
        "problem_id": f"apps-{i}",
        "question": f"Print the input number plus {i}.",
        "input_output": json.dumps({"inputs": ["1\n", "41\n"], "outputs": [f"{1 + i}\n", f"{41 + i}\n"]}),
        "solutions": json.dumps([f"print(int(input()) + {i})"]),
        "difficulty": "introductory",
    }


def test_loads_apps_style_jsonl_and_scores_its_reference(tmp_path):
    path = tmp_path / "apps.jsonl"
    path.write_text("".join(json.dumps(_apps_record(i)) + "\n" for i in range(4)))
    problems = load_code_problems(path, split="all")
    assert len(problems) == 4
    p = problems[2]
    assert p.id == "apps-2" and p.answer["outputs"] == ["3\n", "43\n"] and "standard input" in p.prompt
    v = CodeVerifier(timeout=2)
    assert v(f"```python\n{p.metadata['reference']}\n```", p.answer, p).reward == 1.0


def test_loads_call_based_prompt_tests_shape_from_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {"id": "sq", "prompt": "Square x. Write `square(x)`.", "tests": json.dumps({"fn_name": "square", "inputs": [[2], [3]], "outputs": [4, 9]})}
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p.parquet")
    (p,) = load_code_problems(tmp_path / "p.parquet", split="all").problems
    assert p.answer == {"inputs": [[2], [3]], "outputs": [4, 9], "fn_name": "square"}
    assert CodeVerifier(timeout=2)(fenced("def square(x):\n    return x * x"), p.answer).reward == 1.0


def test_loads_eurus_style_chat_rows_with_a_field_map(tmp_path):
    row = {
        "prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Double the number."}],
        "reward_model": {"style": "rule", "ground_truth": json.dumps({"inputs": ["2\n"], "outputs": ["4\n"]})},
    }
    path = tmp_path / "eurus.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (p,) = load_code_problems(path, split="all", fields={"answer": "reward_model.ground_truth"}).problems
    assert p.prompt == "Double the number." and p.answer == {"inputs": ["2\n"], "outputs": ["4\n"]}


def test_loads_a_saved_hugging_face_dataset(tmp_path):
    import datasets

    datasets.Dataset.from_list([_apps_record(i) for i in range(3)]).save_to_disk(str(tmp_path / "ds"))
    problems = load_code_problems(str(tmp_path / "ds"), split="all")
    assert [p.id for p in problems.problems] == ["apps-0", "apps-1", "apps-2"]


def test_loader_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_apps_record(0)) + "\n" + json.dumps({"question": "x", "input_output": '{"inputs": ["1"]}'}) + "\n")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: field 'input_output' is not a usable test suite: .*no 'outputs'"):
        load_code_problems(path, split="all")


def test_env_reads_a_local_file_source(tmp_path):
    path = tmp_path / "apps.jsonl"
    path.write_text("".join(json.dumps(_apps_record(i)) + "\n" for i in range(40)))
    env = gym.make("prolong/code-v0", source=str(path), split="train")
    obs, info = env.reset(seed=0)
    assert info["id"].startswith("apps-") and "Print the input number" in obs
    _, reward, *_ = env.step(env.unwrapped.task.reference(info["problem"]))
    assert reward == 1.0
