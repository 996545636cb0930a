"""The built-in code problems: enough of them, both conventions, every reference passes."""

import json
import random
from collections import Counter

import pytest

from prolong.envs.code import CodeVerifier, builtin_problems, code_reference
from prolong.envs.code.env import PROBLEMS_FILE
from prolong.envs.code.problems import SPECS


@pytest.fixture(scope="module")
def records():
    return json.loads(PROBLEMS_FILE.read_text(encoding="utf-8"))["problems"]


def test_at_least_sixty_problems_in_both_conventions_and_three_levels(records):
    assert len(records) >= 60
    kinds = Counter((r["mode"], r["difficulty"]) for r in records)
    for mode in ("stdio", "call"):
        for level in ("easy", "medium", "hard"):
            assert kinds[(mode, level)] >= 5, (mode, level)


def test_problems_json_was_built_from_the_current_generators(records):
    """problems.json holds exactly the inputs problems.py generates (rebuild it after edits)."""
    assert [r["id"] for r in records] == [f"code/{s.slug}" for s in SPECS]
    for spec, rec in zip(SPECS, records):
        assert rec["tests"]["inputs"] == json.loads(json.dumps(spec.gen(random.Random(f"prolong-code/{spec.slug}")))), spec.slug
        assert rec["reference"] == spec.reference and len(rec["tests"]["outputs"]) == len(rec["tests"]["inputs"])


def test_prompts_say_how_to_answer_and_show_an_example(records):
    for r in records:
        assert "```python" in r["prompt"] and "Example 1" in r["prompt"], r["id"]
        if r["mode"] == "call":
            assert r["tests"]["fn_name"] in r["prompt"]


def test_splits_partition_the_problems():
    train, val = builtin_problems("train"), builtin_problems("validation")
    ids_train = {p.id for p in train.problems}
    ids_val = {p.id for p in val.problems}
    assert len(ids_train) + len(ids_val) == len(builtin_problems("all")) and not ids_train & ids_val


def test_every_reference_solution_passes_its_own_tests_in_the_sandbox():
    problems = builtin_problems("all").problems
    verifier = CodeVerifier(timeout=20.0, problem_timeout=300.0)
    verdicts = verifier.verify_batch([code_reference(p) for p in problems], [p.answer for p in problems], problems)
    failed = {p.id: v.details.get("first_failure") for p, v in zip(problems, verdicts) if not v.correct}
    assert not failed


def test_an_empty_program_fails_every_builtin_problem():
    problems = builtin_problems("all").problems
    verdicts = CodeVerifier(timeout=5.0).verify_batch(["```python\npass\n```"] * len(problems), [p.answer for p in problems])
    assert all(v.reward == 0.0 for v in verdicts)
