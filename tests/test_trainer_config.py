"""TrainConfig: YAML, command-line overrides, stages, and errors that name the key."""

from pathlib import Path

import pytest

from prolong.trainer.config import STAGE_KEYS, ConfigError, TrainConfig, apply_override, field_docs

ROOT = Path(__file__).resolve().parents[1]


def test_the_embedded_default_is_valid():
    cfg = TrainConfig().validate()
    assert cfg.model == "tiny" and cfg.total_steps() >= 1


def test_every_field_is_documented_where_it_is_declared():
    docs = field_docs()
    missing = [f for f in TrainConfig.__dataclass_fields__ if not docs.get(f)]
    assert missing == []


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("lr: 0.001\nkl_coef: 0\nstages:\n  - {steps: 5}\n  - {steps: 7, temperature: 1.2}\n")
    cfg = TrainConfig.from_args([str(path), "seed=3", "stage.0.max_new_tokens=64", "eps_high=0.28", "envs=[prolong/toy-add-v0]"])
    assert cfg.lr == 0.001 and cfg.kl_coef == 0.0 and isinstance(cfg.kl_coef, float)
    assert cfg.seed == 3 and cfg.eps_high == 0.28
    assert cfg.stages == [{"steps": 5, "max_new_tokens": 64}, {"steps": 7, "temperature": 1.2}]
    assert cfg.total_steps() == 12 and cfg.stage_bounds() == [(0, 5), (5, 12)]
    assert cfg.stage_config(1).temperature == 1.2 and cfg.stage_config(0).max_new_tokens == 64
    assert cfg.stage_index(4) == 0 and cfg.stage_index(5) == 1


def test_yaml_round_trip(tmp_path):
    cfg = TrainConfig.from_args(["lr=0.002", "stages=[]", "steps=9", "dual_clip=3"])
    cfg.to_yaml(tmp_path / "c.yaml")
    again = TrainConfig.from_yaml(tmp_path / "c.yaml")
    assert again == cfg and again.dual_clip == 3.0


def test_a_new_stage_can_be_appended_from_the_command_line():
    cfg = TrainConfig.from_args(["stages=[{steps: 4}]", "stage.1.steps=6", "stage.1.max_new_tokens=24"])
    assert cfg.stages == [{"steps": 4}, {"steps": 6, "max_new_tokens": 24}]


def test_env_kwargs_override_reaches_into_an_env_id():
    cfg = TrainConfig.from_args(["env_kwargs.prolong/toy-add-v0.max_operand=9"])
    assert cfg.env_kwargs["prolong/toy-add-v0"]["max_operand"] == 9


def test_unknown_yaml_key_is_named_with_a_suggestion(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("learning_rate: 0.1\nkl_coeff: 0.1\n")
    with pytest.raises(ConfigError, match=r"'kl_coeff' \(did you mean 'kl_coef'\?\)"):
        TrainConfig.from_yaml(path)


def test_unknown_override_key_is_named():
    with pytest.raises(ConfigError, match="unknown config key 'temprature'.*did you mean 'temperature'"):
        TrainConfig.from_args(["temprature=1.0"])


def test_a_stage_cannot_set_a_key_outside_stage_keys():
    with pytest.raises(ConfigError, match="a stage cannot set 'seed'"):
        TrainConfig.from_args(["stage.0.seed=3"])
    with pytest.raises(ConfigError, match=r"stages\[0\]: unknown key\(s\) \['eps'\]"):
        TrainConfig.from_args(["stages=[{steps: 3, eps: 0.1}]"]).validate()
    assert "max_new_tokens" in STAGE_KEYS


def test_a_stage_value_is_validated_like_the_top_level_one():
    with pytest.raises(ConfigError, match=r"stages\[1\]: temperature must be >= 0"):
        TrainConfig.from_args(["stages=[{steps: 3}, {steps: 2, temperature: -1}]"]).validate()


def test_wrong_types_and_values_are_named():
    with pytest.raises(ConfigError, match="lr must be a number, got 'fast'"):
        TrainConfig.from_args(["lr=fast"])
    with pytest.raises(ConfigError, match="eps_low must be in"):
        TrainConfig.from_args(["eps_low=1.5"]).validate()
    with pytest.raises(ConfigError, match="loss_agg must be one of"):
        TrainConfig.from_args(["loss_agg=sum"]).validate()
    with pytest.raises(ConfigError, match="num_generations must be a positive integer"):
        TrainConfig.from_args(["num_generations=0"]).validate()
    with pytest.raises(ConfigError, match="env_weights has 2 entries but envs has 1"):
        TrainConfig.from_args(["env_weights=[1, 2]"]).validate()


def test_steps_must_agree_with_the_stages():
    with pytest.raises(ConfigError, match="stages add up to"):
        TrainConfig.from_args(["steps=100"]).validate()
    assert TrainConfig.from_args(["steps=5", "stages=[]"]).validate().total_steps() == 5


def test_override_without_equals_sign_is_rejected():
    with pytest.raises(ConfigError, match="expected a YAML config file or key=value"):
        TrainConfig.from_args(["lr"])
    with pytest.raises(ConfigError, match="expected key=value"):
        apply_override({}, "lr")


def test_missing_config_file_is_named():
    with pytest.raises(ConfigError, match="nope.yaml"):
        TrainConfig.from_args(["nope.yaml"])


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_shipped_configs_load_and_validate(name):
    TrainConfig.from_yaml(ROOT / "configs" / name).validate()


def test_cli_prints_the_resolved_config(capsys):
    from prolong.trainer.cli import main

    assert main(["--print-config", "seed=7"]) == 0
    assert "seed: 7" in capsys.readouterr().out
    assert main(["no_such_key=1"]) == 2
    assert "unknown config key 'no_such_key'" in capsys.readouterr().err


def test_configs_tiny_yaml_is_the_embedded_default():
    assert TrainConfig.from_yaml(ROOT / "configs" / "tiny.yaml") == TrainConfig()


def test_help_config_lists_every_field_with_its_default(capsys):
    from prolong.trainer.cli import main

    assert main(["--help-config"]) == 0
    out = capsys.readouterr().out
    assert "eps_high: float = 0.4" in out and "ProRL: 0.4" in out
    assert all(f"\n{name}:" in "\n" + out for name in TrainConfig.__dataclass_fields__)
