"""The vLLM rollout engine. The GPU tests skip without CUDA and vllm (CUDA-only);
the CPU tests check what does not need them: how weights are named for vLLM, and the
error a CPU user gets."""

import importlib.util

import pytest
import torch

from prolong.trainer.engines import HFEngine, build_engine
from prolong.trainer.vllm_engine import weights_for_vllm

HAS_VLLM = importlib.util.find_spec("vllm") is not None
needs_gpu_and_vllm = pytest.mark.skipif(
    not (HAS_VLLM and torch.cuda.is_available()), reason="vLLM rollouts need the vllm package and a CUDA GPU"
)


def _tiny(seed=0):
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    texts = [f"What is {a} + {b}?\nThe answer is \\boxed{{{a + b}}}." for a in range(21) for b in range(21)]
    tok = build_tokenizer(texts, vocab_size=280)
    return build_tiny_model(tok, hidden_size=64, layers=2, heads=4, seed=seed), tok


class Wrapper(torch.nn.Module):
    """Stands for DistributedDataParallel: the model sits under ``.module``."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def test_weights_for_vllm_use_hugging_face_names_under_wrappers():
    model, _ = _tiny()
    plain = dict(weights_for_vllm(model))
    wrapped = dict(weights_for_vllm(Wrapper(model)))
    assert list(plain) == list(wrapped) == [n for n, _ in model.named_parameters()]
    assert "model.layers.0.self_attn.q_proj.weight" in plain
    assert all(not t.requires_grad for t in plain.values())
    assert plain["model.embed_tokens.weight"].data_ptr() == model.model.embed_tokens.weight.data_ptr()  # no copy


@pytest.mark.skipif(HAS_VLLM, reason="vllm is installed here")
def test_vllm_engine_without_vllm_says_how_to_get_it():
    model, tok = _tiny()
    with pytest.raises(RuntimeError, match=r"prolong\[vllm\].*engine='hf'"):
        build_engine("vllm", model, tok)


# --- on a GPU with vllm -----------------------------------------------------------------------


@needs_gpu_and_vllm
def test_vllm_samples_n_completions_per_prompt_that_end_in_eos_when_stopped():
    model, tok = _tiny()
    engine = build_engine("vllm", model.cuda(), tok, gpu_memory_utilization=0.2)
    prompts = ["What is 3 + 4?", "What is 10 + 2?"]
    groups = engine.generate(prompts, n=3, max_new_tokens=8, temperature=1.0, seed=0)
    assert [len(g) for g in groups] == [3, 3]
    for prompt, group in zip(prompts, groups):
        for c in group:
            assert c.prompt_ids == engine.encode(prompt)
            assert 1 <= len(c.token_ids) <= 9
            assert c.finish_reason in ("stop", "length")
            if c.finish_reason == "stop":
                assert c.token_ids[-1] == tok.eos_token_id
            else:
                assert len(c.token_ids) == 8
    again = engine.generate(prompts, n=3, max_new_tokens=8, temperature=1.0, seed=0)
    assert [[c.token_ids for c in g] for g in again] == [[c.token_ids for c in g] for g in groups]  # seeded
    engine.close()


@needs_gpu_and_vllm
def test_sync_weights_makes_vllm_greedy_decoding_follow_the_trainer_model():
    model, tok = _tiny(seed=0)
    model = model.cuda().eval()
    engine = build_engine("vllm", model, tok, gpu_memory_utilization=0.2)
    hf = HFEngine(model, tok)
    prompts = [f"What is {a} + {b}?" for a, b in [(1, 2), (7, 9), (13, 5), (20, 20)]]

    def greedy(e):
        return [g[0].token_ids for g in e.generate(prompts, n=1, max_new_tokens=10, temperature=0.0)]

    assert greedy(engine) == greedy(hf)
    before = greedy(engine)
    other, _ = _tiny(seed=1)  # a different policy, as after many optimizer steps
    model.load_state_dict(other.state_dict())
    assert greedy(engine) == before  # not synced yet: vLLM still holds the old weights
    engine.sync_weights(model)
    assert greedy(engine) == greedy(hf)
    assert greedy(engine) != before
    engine.close()
