"""prolong/reasoning-gym-v0 with hostile ground truth and configs.

The entry (gold answer and metadata) and a problem's config are untrusted like the
model's answer: nothing in them may run code, open a file, reveal the host or hang a
worker. The fuzz substitutes hostile values into every string field of one entry of
every task and scores the gold answer and a wrong one in worker processes with a
deadline; a canary file in ``tmp_path`` shows whether any payload ran.
"""

import builtins
import json
import os
import re
import sys
import time

import pytest

import prolong
from prolong import Problem, Reason
from prolong.envs.reasoning_gym import ReasoningGymVerifier, list_tasks, reference_answer
from prolong.envs.reasoning_gym import guards, safety
from prolong.envs.reasoning_gym.datasets import (
    check_config,
    generate_entry,
    get_dataset,
    get_scorer_dataset,
    json_safe,
    parse_tasks,
)
from prolong.envs.reasoning_gym.verifier import task_score
from prolong.pool import CallError, CallTimeout, WorkerPool

STRICT = ReasoningGymVerifier(strict=True)
SEED, SIZE = 2, 2  # the datasets tests/test_reasoning_gym_gold.py builds: cached when both run
DEADLINE = 20.0  # per call; a call that needs it has hung (they take milliseconds)
SLOW = 5.0  # no call may take longer than this


def tagged(text):
    return f"<answer>{text}</answer>"


# -- payloads ----------------------------------------------------------------------------


def _no_quotes_path(path):
    return f"bytes([{', '.join(str(b) for b in os.fsencode(path))}]).decode()"


def payload(name, canary):
    """A hostile value: code that would create ``canary``, or text that would hang a scorer."""
    return {
        "open": f"open({canary!r}, 'w').write('x') and [1]",
        "import": f"__import__('os').system('touch {canary}')",
        "subclasses": "().__class__.__base__.__subclasses__()",
        "noquotes": f"open({_no_quotes_path(canary)}, chr(119)).write(chr(120))",  # no quote for a filter to see
        "tower": "9**9**9**9",
        "megabyte": "9" * 1_000_000,
        "exponent": "1e999999999",
    }[name]


CODE = ("open", "import", "subclasses", "noquotes")
HEAVY = ("tower", "megabyte", "exponent")

# Fields that reach eval / sympy's parser / an unbounded scorer loop (guards.py's audit):
# every payload there is refused as invalid ground truth, except the ones listed as harmless.
SINKS = {
    ("number_sorting", "answer"): {"exponent"},  # 1e999999999 is a float literal: inf, harmless
    ("bitwise_arithmetic", "metadata.problem"): {"exponent"},
    ("polynomial_multiplication", "answer"): set(),
    ("simple_integration", "metadata.integrand"): set(),
    ("simple_integration", "metadata.variable"): set(),
    ("intermediate_integration", "metadata.integrand"): set(),
    ("intermediate_integration", "metadata.variable"): set(),
    ("coin_flip", "answer"): set(CODE) | {"tower"},  # Fraction() parses text without eval: only size hurts
    ("rubiks_cube", "metadata.scramble_moves"): set(),
    ("propositional_logic", "metadata.premises[0]"): set(),
    ("rush_hour", "metadata.board_config"): set(),
}


def string_fields(entry):
    """(path, dotted name) of every string in the entry's answer and metadata (lists: first two items)."""

    def walk(x, path, name):
        if isinstance(x, dict):
            for k, v in x.items():
                yield from walk(v, path + (k,), f"{name}.{k}" if name else k)
        elif isinstance(x, list):
            for i, v in enumerate(x[:2]):
                yield from walk(v, path + (i,), f"{name}[{i}]")
        elif isinstance(x, str):
            yield path, name

    for path, name in walk({"answer": entry["answer"], "metadata": entry["metadata"]}, (), ""):
        if name != "metadata.source_dataset":  # the task's name: another value is another (or no) task
            yield path, name


def wrong_answer(ref):
    """A wrong answer of the gold's shape (it passes the answer guards and reaches the scorer)."""
    m = re.search(r"\d", ref)
    if m:
        return ref[: m.start()] + str((int(m.group()) + 1) % 10) + ref[m.end() :]
    return ref[::-1] if ref[::-1] != ref else ref + "x"


def _score_hostile(entry_json, path, value_name, canary, answer):
    """In a worker: the entry with ``value`` at ``path``, scored against ``answer``."""
    entry = json.loads(entry_json)
    node = entry
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = payload(value_name, canary) if isinstance(value_name, str) else value_name[1]
    start = time.monotonic()
    try:
        v = STRICT(tagged(answer), entry)
        out = (v.reason, v.reward, {k: str(x)[:300] for k, x in v.details.items()})
    except Exception as e:  # noqa: BLE001 - reported to the test
        out = ("raised", 0.0, {"error": f"{type(e).__name__}: {e}"[:300]})
    return out + (time.monotonic() - start,)


@pytest.fixture(scope="module")
def entries():
    out = {}
    for task in list_tasks():
        e = json_safe(generate_entry(get_dataset(task, {}, SEED, SIZE), 0))
        ref = reference_answer(e, task)
        assert ref is not None, task
        out[task] = (e, ref)
    return out


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2, memory_limit_mb=2048) as p:
        yield p


def test_hostile_ground_truth_never_runs_hangs_or_scores_as_valid(entries, pool, tmp_path):
    jobs, meta = [], []
    for task, (e, ref) in sorted(entries.items()):
        ej = json.dumps(e)
        for path, name in string_fields(e):
            for value_name in CODE + HEAVY:
                for answer in (ref, wrong_answer(ref)):
                    canary = str(tmp_path / f"canary{len(jobs)}")
                    jobs.append((ej, path, value_name, canary, answer))
                    meta.append((task, name, value_name, answer == ref))
    # numbers that size scorer loops and allocations
    for task, field, values in [
        ("rubiks_cube", "cube_size", (10**9, -5)),
        ("tower_of_hanoi", "num_disks", (10**9, 10**18)),
        ("tower_of_hanoi", "num_pegs", (10**9,)),
        ("quantum_lock", "initial_value", (10**400,)),
    ]:
        e, ref = entries[task]
        for value in values:
            for answer in (ref, wrong_answer(ref)):
                jobs.append((json.dumps(e), ("metadata", field), ("number", value), str(tmp_path / "n"), answer))
                meta.append((task, f"metadata.{field}", f"number {str(value)[:12]}", answer == ref))
    assert len(jobs) > 4000

    start = time.monotonic()
    results = pool.map(_score_hostile, jobs, timeout=DEADLINE)
    took = time.monotonic() - start

    assert sorted(os.listdir(tmp_path)) == [], "a payload ran"
    failures = []
    for (task, name, value_name, is_gold), r in zip(meta, results):
        where = f"{task} {name} <- {value_name} ({'gold' if is_gold else 'wrong'} answer)"
        if isinstance(r, (CallTimeout, CallError)):
            failures.append(f"{where}: {r}")
            continue
        reason, reward, details, seconds = r
        if reason == "raised":
            failures.append(f"{where}: raised {details['error']}")
        if seconds > SLOW:
            failures.append(f"{where}: took {seconds:.1f} s")
        if (task, name) in SINKS and value_name not in SINKS[(task, name)]:
            if reason != Reason.INVALID_ANSWER:
                failures.append(f"{where}: {reason} {details}, not invalid ground truth")
            elif name.split("[")[0] not in details.get("invalid_ground_truth", ""):
                failures.append(f"{where}: the verdict does not name the field: {details}")
        if value_name.startswith("number") and (task, name) != ("quantum_lock", "metadata.initial_value"):
            if reason != Reason.INVALID_ANSWER:
                failures.append(f"{where}: {reason}, not invalid ground truth")
    assert failures == [], "\n".join(failures)
    assert took < 60, f"the fuzz took {took:.0f} s"


# -- the class-level defence inside reasoning-gym ---------------------------------------------


def test_every_reasoning_gym_module_has_the_guarded_eval():
    import reasoning_gym  # noqa: F401

    get_scorer_dataset("gcd")  # installs the guards (and any module imported since)
    modules = [m for n, m in sys.modules.items() if n.startswith("reasoning_gym") and m is not None]
    assert len(modules) > 100
    unguarded = [m.__name__ for m in modules if m.__dict__.get("eval", safety.safe_eval) is not safety.safe_eval]
    assert unguarded == []
    from reasoning_gym.algebra import polynomial_multiplication, simple_integration
    from reasoning_gym.algorithmic import number_sorting
    from reasoning_gym.code import codeio
    from reasoning_gym.games import countdown, puzzle24

    assert number_sorting.eval is safety.safe_eval
    assert number_sorting.exec is not builtins.exec and number_sorting.compile is not builtins.compile
    assert codeio.__dict__.get("exec", builtins.exec) is builtins.exec  # runs its own bundled snippets
    for parse in (polynomial_multiplication.sp.parse_expr, simple_integration.sympy.parse_expr,
                  puzzle24.parse_expr, countdown.parse_expr, polynomial_multiplication.sp.sympify):  # fmt: skip
        with pytest.raises(safety.UnsafeInput):
            parse("__import__('os').getcwd()")
    assert polynomial_multiplication.sp.S.Zero == 0
    with pytest.raises(safety.UnsafeInput):
        polynomial_multiplication.sp.S("open(chr(47))")
    assert str(polynomial_multiplication.sp.parse_expr("x**2 + 3*x")) == "x**2 + 3*x"


def test_refused_exec_and_compile():
    from reasoning_gym.algorithmic import number_sorting

    with pytest.raises(safety.UnsafeInput, match="exec"):
        number_sorting.exec("import os")
    with pytest.raises(safety.UnsafeInput, match="compil"):
        number_sorting.compile("1", "<x>", "eval")


@pytest.mark.parametrize(
    "text",
    [
        "((0xd6e3 * 0x2c49) + (0x4167 * 0x9c1f))",
        "(((0x3a4b >> 0x2) - (0x1234 << 0x3)) * 0x5678)",
        "['67.1', '61.8', '-81.7']",
        "(-3 + 4) * 5 // 2 % 7",
        "{'a': (1, 2.5, None, True), 3: [b'x', 1j]}",
        "2 ** -3",
        "7 / 2",
        "~5 ^ 3 | 8 & 12",
        "  [1, 2]\n",
    ],
)
def test_safe_eval_gives_what_eval_gives(text):
    assert safety.safe_eval(text) == eval(text)  # noqa: S307 - the reference for the safe evaluator


@pytest.mark.parametrize(
    "text, why",
    [
        ("__import__('os')", "calls"),
        ("().__class__", "attribute"),
        ("open", "names"),
        ("lambda: 1", "lambda"),
        ("[x for x in ()]", "ListComp"),
        ("[1] * 10**9", "list"),
        ("'a' * 10", "str"),
        ("9**9**9", "power"),
        ("1 << 10**9", "shift"),
        ("(1 << 60000) * (1 << 60000)", "bit"),
        ("x[0]", "subscripts"),
        ("f'{1}'", "f-strings"),
        ("[*()]", "unpacking"),
        ("1 if 1 else 2", "conditional"),
        ("(x := 1)", "NamedExpr"),
        ("1 and [1]", "and/or"),
    ],
)
def test_safe_eval_refuses_code_and_huge_numbers(text, why):
    with pytest.raises(safety.UnsafeInput, match=re.escape(why)):
        safety.safe_eval(text)


def test_safe_eval_bounds_deep_and_long_input():
    assert safety.safe_eval("(" * 150 + "1" + ")" * 150) == 1  # as deep as Python's parser goes
    for text in ["(" * 300 + "1" + ")" * 300, "-" * 5000 + "1", "1+" * 60_000 + "1", "[" * 10_000, "1" * 300_000]:
        start = time.monotonic()
        with pytest.raises((safety.UnsafeInput, SyntaxError)):
            safety.safe_eval(text)
        assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "x.__class__",
        "lambda: 1",
        "open(chr(47))",
        "Pow(9, Pow(9, 9))",
        "N(pi, 10**8)",
        "factorial(99999)",
        "x**9**9",
        "(9**99)**99**2",
        "((x**2)**3)**4",
        "1e999999999",
        "0x10",
        "x[0]",
        "'a'",
        "99999999!",
        "preview(x)",
        "lambdify(x, x)",
        "S(1)",
        "eval",
        "x**(9**9)",
        "1" * 101,
        "_x",
        "x; y",
    ],
)
def test_sympy_text_refusals(text):
    assert safety.sympy_text_problem(text) is not None


@pytest.mark.parametrize(
    "task, config",
    [
        ("simple_integration", {}),
        ("intermediate_integration", {}),
        ("polynomial_multiplication", {}),
        ("polynomial_multiplication", "hardest"),
        ("simple_integration", "hardest"),
        ("bitwise_arithmetic", {"difficulty": 10}),
        ("number_sorting", "hardest"),
    ],
)
def test_ground_truth_checks_accept_real_entries(task, config):
    if config == "hardest":
        config = _hardest(task)
    n = 4 if task == "polynomial_multiplication" and config else 12  # its hardest level takes ~0.5 s an entry
    ds = get_dataset(task, config, 11, n)
    for i in range(n):
        e = json_safe(generate_entry(ds, i))
        assert guards.gold_problem(task, e) is None, (i, e["answer"], e["metadata"])
        if task != "intermediate_integration":  # its gold may be an unevaluated Integral (not served)
            assert task_score(task, e["answer"], e, config) == 1.0


def _hardest(task):
    from reasoning_gym.factory import create_curriculum

    cur = create_curriculum(task)
    for level in range(max(len(a.levels) for a in cur.attributes.values()) - 1, -1, -1):
        try:
            return dict(parse_tasks({task: {"curriculum": level}})[0].config)
        except ValueError:
            continue
    return {}


# -- ground truth through the verifier ------------------------------------------------------


def _entry(task, index=0):
    return json_safe(generate_entry(get_dataset(task, {}, SEED, SIZE), index))


def test_hostile_gold_is_invalid_ground_truth_and_never_runs(tmp_path):
    canary = tmp_path / "ran"
    e = _entry("number_sorting")
    e["answer"] = f"open({str(canary)!r}, 'w').write('x') and [1]"
    for response in (tagged(e["answer"]), tagged("[1]"), "no answer at all"):
        v = STRICT(response, e)
        assert v.reason == Reason.INVALID_ANSWER and v.reward == 0.0
        why = v.details["invalid_ground_truth"]
        assert why.startswith("answer: ") and "not allowed" in why
    e = _entry("bitwise_arithmetic")
    e["metadata"]["problem"] = "9**9**9**9"
    v = prolong.verify("reasoning_gym", tagged(e["answer"]), e)
    assert v.reason == Reason.INVALID_ANSWER and "metadata.problem" in v.details["invalid_ground_truth"]
    assert not canary.exists()


def test_runtime_refusal_catches_fields_no_check_knows(tmp_path, monkeypatch):
    # with the field checks switched off, the guarded eval inside reasoning-gym still refuses
    canary = tmp_path / "ran"
    monkeypatch.setattr(guards, "_GOLD_FIELDS", {})
    e = _entry("number_sorting")
    e["answer"] = f"__import__('os').system('touch {canary}')"
    v = STRICT(tagged("[1, 2, 3]"), e)
    assert v.reason == Reason.INVALID_ANSWER and "eval refused" in v.details["invalid_ground_truth"]
    assert task_score("number_sorting", "[1, 2, 3]", e) == 0.0  # the raw scorer: no checks, still no code
    e = _entry("polynomial_multiplication")
    e["answer"] = f"open({_no_quotes_path(canary)}, chr(119))"
    v = STRICT(tagged("x**2"), e)
    assert v.reason == Reason.INVALID_ANSWER and "parse_expr refused" in v.details["invalid_ground_truth"]
    assert not canary.exists()


@pytest.mark.parametrize("task", ["simple_integration", "intermediate_integration"])
def test_antiderivatives_are_checked_in_bounded_time(task):
    # sympy.simplify took over 20 s on each of these (from the answer or from the gold)
    slow = "sin(x + 8)**9*cos(x + 8)**7"
    e = _entry(task)
    e["metadata"]["variable"] = "x"
    for answer in (f"{slow} + C", "sin(9*x + 7)**20*cos(7*x - 3)**19 + C"):
        start = time.monotonic()
        assert STRICT(tagged(answer), e).reason == Reason.WRONG
        assert time.monotonic() - start < 3
    e["metadata"]["integrand"] = slow
    start = time.monotonic()
    assert STRICT(tagged("x**2 + C"), e).reason == Reason.WRONG
    assert STRICT(tagged("-cos(x + 8)**8*sin(x + 8)**8/8 + C"), e).reason == Reason.WRONG
    assert time.monotonic() - start < 3
    e["metadata"]["integrand"] = "2*x*cos(x**2)"
    for right in ("sin(x**2) + C", "sin(x**2) + 7", "sin(x**2)"):  # any constant, as reasoning-gym's scorer
        assert STRICT(tagged(right), e).correct
    assert not STRICT(tagged("cos(x**2) + C"), e).correct


def test_refused_answer_text_is_a_wrong_answer_not_bad_data(monkeypatch):
    monkeypatch.setattr(guards, "_GUARDS", {})  # the answer guards off: the runtime refusal decides
    v = STRICT(tagged("__import__('os').getcwd()"), _entry("spiral_matrix"))
    assert v.reason == Reason.WRONG and "calls" in v.details["rejected"]


def test_deep_and_huge_entries_are_refused_quickly():
    deep = []
    for _ in range(10_000):
        deep = [deep]
    cases = [
        ({"metadata": {"deep": deep}}, "nested"),
        ({"metadata": {"big": list(range(300_000))}}, "values"),
        ({"answer": "7" * 3_000_000}, "longer"),
        ({"metadata": {"n": 10**500}}, "digits"),
        ({"answer": ["7"]}, "answer"),
        ({"metadata": "not a mapping"}, "metadata"),
    ]
    for change, why in cases:
        e = _entry("gcd")
        if isinstance(change.get("metadata"), dict):
            e["metadata"].update(change.pop("metadata"))
        e.update(change)
        start = time.monotonic()
        v = STRICT(tagged("7"), e, Problem("p", "q", e, "reasoning_gym", {"task": "gcd"}))
        assert v.reason == Reason.INVALID_ANSWER and why in v.details["invalid_ground_truth"], (why, v)
        assert time.monotonic() - start < 2
    text = "[" * 100_000 + "]" * 100_000
    v = STRICT(tagged("7"), text)
    assert v.reason == Reason.INVALID_ANSWER and "nested" in v.details["invalid_ground_truth"]


def test_cyclic_entry_is_refused():
    e = _entry("gcd")
    e["metadata"]["self"] = e["metadata"]
    assert STRICT(tagged(e["answer"]), e).reason == Reason.INVALID_ANSWER


# -- configs that arrive with a problem -----------------------------------------------------

PATHS = ["/etc/passwd", "/dev/zero", "../../../../etc/passwd", "~/.bashrc", "/no/such/file.txt", "C:\\Windows\\x"]


def _problem(entry, task, config):
    return Problem("p", "q", entry, "reasoning_gym", {"task": task, "config": config})


def test_data_file_paths_get_one_refusal_whatever_exists(tmp_path, monkeypatch):
    existing = tmp_path / "words.txt"
    existing.write_text("abc\n")
    paths = [str(existing), str(tmp_path / "missing.txt"), *PATHS]
    import reasoning_gym.algorithmic.spell_backward as sb

    opened = []
    monkeypatch.setattr(sb, "read_data_file", lambda name: opened.append(name) or "")
    messages, verdicts = set(), set()
    e = _entry("spell_backward")
    for path in paths:
        start = time.monotonic()
        with pytest.raises(ValueError) as err:
            check_config("spell_backward", {"data_file": path})
        messages.add(str(err.value))
        v = prolong.verify("reasoning_gym", tagged(e["answer"]), e, _problem(e, "spell_backward", {"data_file": path}))
        assert v.reason == Reason.INVALID_ANSWER and v.reward == 0.0
        verdicts.add(v.details["invalid_config"])
        assert time.monotonic() - start < 1
    assert len(messages) == 1 and len(verdicts) == 1, (messages, verdicts)
    (message,) = messages
    assert "data_file" in message and "/" not in message and "passwd" not in message
    assert opened == []
    assert check_config("spell_backward", {"data_file": "words3to10.txt"}) == {"data_file": "words3to10.txt"}


@pytest.mark.parametrize(
    "task, config, match",
    [
        ("gcd", {"no_such_field": 1}, "unknown config field 'no_such_field'"),
        ("gcd", {"__class__": 1}, "unknown config field '__class__'"),
        ("gcd", {1: 1}, "unknown config field"),
        ("gcd", {"size": 10**12}, "'size'"),
        ("gcd", {"size": 0}, "'size'"),
        ("gcd", {"seed": -1}, "'seed'"),
        ("gcd", {"max_value": 10**30}, "'max_value'.*between"),
        ("gcd", {"max_value": float("inf")}, "'max_value'"),
        ("gcd", {"max_value": "1000"}, "'max_value'.*integer"),
        ("gcd", {"max_value": True}, "'max_value'"),
        ("gcd", {"min_value": {"a": 1}}, "'min_value'"),
        ("gcd", {"min_value": [1, 2]}, "'min_value'"),
        ("gcd", {"min_value": 50, "max_value": 10}, "invalid config"),
        ("figlet_font", {"static_font": "../../etc/passwd"}, "looks like a path"),
        ("figlet_font", {"static_font": "/etc/passwd"}, "looks like a path"),
        ("figlet_font", {"static_word": "~root"}, "looks like a path"),
        ("figlet_font", {"static_word": ".profile"}, "looks like a path"),
        ("figlet_font", {"static_word": "A" * 1000}, "longer than"),
        ("polynomial_multiplication", {"variables": ["x:999999999"]}, "only letters"),
        ("polynomial_multiplication", {"variables": ["x"] * 1000}, "more than"),
        ("polynomial_multiplication", {"variables": [["x"]]}, "'variables'"),
        ("basic_arithmetic", {"operators": ["+", "__import__"]}, "only letters"),
        ("arc_agi", {"board_format_opts": {"alphabet": ["/etc"]}}, "'board_format_opts'"),
        ("gcd", "min_value=1", "mapping"),
        ("gcd", {f"k{i}": 1 for i in range(100)}, "at most"),
    ],
)
def test_untrusted_configs_are_refused_by_name(task, config, match):
    start = time.monotonic()
    with pytest.raises(ValueError, match=match) as err:
        check_config(task, config)
    assert "site-packages" not in str(err.value) and "/work" not in str(err.value)
    e = _entry(task)
    ref = reference_answer(e, task)
    v = prolong.verify("reasoning_gym", tagged(ref), e, _problem(e, task, config))
    assert v.reason == Reason.INVALID_ANSWER and "invalid_config" in v.details
    assert time.monotonic() - start < 2


def test_untrusted_config_allows_what_the_env_itself_makes():
    checked = 0
    for task in list_tasks():
        from reasoning_gym.factory import has_curriculum

        if not has_curriculum(task):
            continue
        config = _hardest(task)
        assert check_config(task, json.loads(json.dumps(config, default=str))) is not None
        checked += 1
    assert checked > 60
    assert check_config("gcd", {"seed": 5, "size": 100, "min_value": 2}) == {"min_value": 2}  # seed, size: unused
    assert check_config("basic_arithmetic", {"operators": ["+", "/"]}) == {"operators": ["+", "/"]}  # a default item


def test_verify_batch_with_a_hostile_problem_config():
    e = _entry("spell_backward")
    bad = _problem(e, "spell_backward", {"data_file": "/dev/zero"})
    huge = _problem(e, "spell_backward", {"min_word_len": 10**12})
    good = _problem(e, "spell_backward", {})
    responses = [tagged(e["answer"])] * 3
    start = time.monotonic()
    verdicts = prolong.verify_batch("reasoning_gym", responses, [e] * 3, [bad, huge, good], processes=2, timeout=30)
    assert time.monotonic() - start < 30
    assert [v.reason for v in verdicts] == [Reason.INVALID_ANSWER, Reason.INVALID_ANSWER, Reason.CORRECT]
    assert "data_file" in verdicts[0].details["invalid_config"]
    assert "min_word_len" in verdicts[1].details["invalid_config"]
    assert "/dev/zero" not in json.dumps(verdicts[0].to_dict())


def test_config_that_fails_to_build_is_invalid_ground_truth():
    e = _entry("figlet_font")
    config = {"min_word_len": 900, "max_word_len": 900}  # in bounds, but no word that long
    v = STRICT(tagged(e["answer"]), e, _problem(e, "figlet_font", config))
    assert v.reason == Reason.INVALID_ANSWER and "failed to build" in v.details["invalid_config"]


def test_scorer_cache_is_bounded():
    from prolong.envs.reasoning_gym import datasets

    for n in range(datasets.MAX_SCORERS + 20):
        get_scorer_dataset("gcd", {"max_value": 1000 + n})
    assert len(datasets._SCORERS) <= datasets.MAX_SCORERS


# -- no host paths in verdicts ---------------------------------------------------------------


def test_scrub_removes_host_paths_only():
    assert safety.scrub("No such file: '/work/x/.venv/lib/python3.11/site-packages/a.py'") == "No such file: '<path>'"
    assert safety.scrub('File "/usr/lib/python3.11/x.py", line 3') == 'File "<path>", line 3'
    assert safety.scrub("see ./rel/path and ~/.cache/x and C:\\Users\\me") == "see <path> and <path> and <path>"
    for text in ["1/2", "(x+1)/2", "3*x/y", "a / b", "x**2/3 + 1/x"]:
        assert safety.scrub(text) == text


def test_scorer_errors_show_no_host_paths(monkeypatch):
    e = _entry("gcd")
    ds = get_scorer_dataset("gcd")
    secret = os.__file__  # a real path of this host

    def boom(answer, entry):
        raise FileNotFoundError(2, "No such file or directory", secret)

    monkeypatch.setattr(ds, "score_answer", boom)
    v = STRICT(tagged("12345"), e)
    assert v.reason == Reason.UNPARSEABLE and "FileNotFoundError" in v.details["scorer_error"]
    assert secret not in v.details["scorer_error"] and "<path>" in v.details["scorer_error"]


def test_build_errors_show_no_host_paths(monkeypatch):
    import reasoning_gym

    def boom(*a, **k):
        raise OSError(f"cannot read {os.__file__}")

    monkeypatch.setattr(reasoning_gym, "create_dataset", boom)
    e = _entry("lcm")
    v = STRICT(tagged("1"), e, _problem(e, "lcm", {"max_value": 977}))
    assert v.reason == Reason.INVALID_ANSWER and os.__file__ not in v.details["invalid_config"]
    assert "<path>" in v.details["invalid_config"]
