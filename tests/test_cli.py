"""The core commands of the `prolong` CLI: envs, sample, verify, demo."""

import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import prolong
from prolong.cli import main

BUILTIN = [
    "prolong/code-feedback-v0",
    "prolong/code-v0",
    "prolong/ifeval-v0",
    "prolong/math-v0",
    "prolong/mix-v0",
    "prolong/reasoning-gym-v0",
    "prolong/stem-v0",
]


def test_envs_lists_every_builtin_env_with_its_domain(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for env_id in BUILTIN:
        assert env_id in out
    assert "reasoning_gym" in out


def test_sample_prints_problems_as_json_with_env_arguments_after_options(capsys):
    assert main(["sample", "math", "-n", "2", "--json", "level=1", 'topics=["arithmetic"]']) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 2
    assert all(rec["domain"] == "math" and rec["metadata"]["level"] == 1 for rec in lines)


def test_verify_names_the_bad_line_of_a_file(tmp_path, capsys):
    f = tmp_path / "responses.jsonl"
    f.write_text('{"response": "\\\\boxed{2}", "answer": "2"}\n{"response": 5, "answer": "2"}\n')
    with pytest.raises(SystemExit, match=r"responses.jsonl:2: 'response' must be a string"):
        main(["verify", "math", str(f), "-q"])


def test_demo_scores_references_full_and_wrong_answers_low_on_every_env(capsys):
    assert main(["demo", "-n", "2"]) == 0
    out = capsys.readouterr().out
    # other tests may have registered more envs (the trainer's toy task): check the built-ins
    rows = [line for line in out.splitlines() if line.split("│")[1:2] and line.split("│")[1].strip() in BUILTIN]
    assert len(rows) == len(BUILTIN)
    for row in rows:
        cells = [c.strip() for c in row.strip("│").split("│")]
        env_id, _n, reference, wrong, empty = cells[:5]
        assert reference == "1.00", row
        if "ifeval" in env_id or "mix" in env_id:  # "I am not sure." keeps some instructions (no comma, ...)
            assert float(empty) < 1.0, row
        else:
            assert float(empty) == 0.0 and float(wrong) < 1.0, row


@pytest.mark.parametrize("env_id", ["prolong/math-v0", "prolong/stem-v0", "prolong/ifeval-v0"])
def test_module_colon_id_form_makes_the_env_and_it_passes_check_env(env_id):
    env = gym.make(f"prolong:{env_id}")
    check_env(env.unwrapped, skip_render_check=True)
    assert env_id in prolong.list_envs()
