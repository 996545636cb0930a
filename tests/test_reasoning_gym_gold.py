"""Every reasoning-gym task that builds offline: its gold answers (or, for tasks without
one, a constructed valid answer) score 1 through the env's verifier.

Two entries per task from reasoning-gym's own ``create_dataset`` (default configs), each
scored as reasoning-gym makes it and after a JSON round trip (how an env, a worker
process or an HTTP server hands it over); tasks are built once (~10 s for all 105).
"""

import json

import pytest

import prolong
from prolong.envs.reasoning_gym import NO_GOLD_TASKS, list_tasks, reference_answer
from prolong.envs.reasoning_gym.datasets import generate_entry, get_dataset
from prolong.envs.reasoning_gym.verifier import task_score

SEED = 2  # measured: the fastest of seeds 0-3 (knight_swap, arc_agi and zebra_puzzles take ~1 s)
ENTRIES = 2


def test_every_registered_dataset_but_composite_is_served():
    from reasoning_gym.factory import DATASETS

    assert set(DATASETS) - set(list_tasks()) == {"composite"}
    assert len(list_tasks()) >= 105


@pytest.fixture(scope="module")
def entries():
    out = {}
    for task in list_tasks():
        ds = get_dataset(task, {}, SEED, ENTRIES)  # reasoning_gym.create_dataset(task, seed=, size=), cached
        out[task] = [generate_entry(ds, i) for i in range(ENTRIES)]
    return out


def test_gold_answers_of_every_task_score_one(entries):
    failures = []
    for task, items in entries.items():
        for i, e in enumerate(items):
            answer = reference_answer(e, task)
            if answer is None:
                failures.append(f"{task}[{i}]: no reference answer")
                continue
            for form, ent in (("raw", e), ("json", json.loads(json.dumps(e, default=str)))):
                v = prolong.verify("reasoning_gym", f"<answer>{answer}</answer>", ent)
                if not v.correct:
                    failures.append(f"{task}[{i}] {form}: {v.reason} {dict(v.details)}")
    assert failures == []


def test_task_scorers_themselves_give_gold_full_marks(entries):
    # not only the verifier's "equal to gold" shortcut: the task's own scorer agrees
    failures = []
    for task, items in entries.items():
        for i, e in enumerate(items):
            if e["answer"] is None:
                continue
            ent = json.loads(json.dumps(e, default=str))
            score = task_score(task, ent["answer"], ent)
            if score != 1.0:
                failures.append(f"{task}[{i}]: {score}")
    assert failures == []


def test_tasks_without_gold_are_exactly_the_known_five(entries):
    none_gold = {task for task, items in entries.items() if any(e["answer"] is None for e in items)}
    assert none_gold == set(NO_GOLD_TASKS)
