"""The lean sampling loop of HFEngine (prolong.trainer.fast_decode): the same tokens as
transformers' generate, EOS handling, nucleus sampling, and the fall-back to generate."""

import pytest
import torch

from prolong.trainer.fast_decode import FastDecoder, fast_decoder, sample_next


def _qwen2(seed=0, **kw):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=128, tie_word_embeddings=True, pad_token_id=0,
                      eos_token_id=1, bos_token_id=None, **kw)
    return Qwen2ForCausalLM(cfg).eval()


def _llama(seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=1, max_position_embeddings=128, pad_token_id=0, eos_token_id=1, bos_token_id=None)
    return LlamaForCausalLM(cfg).eval()


def _left_padded(lengths, width, vocab=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    att = torch.zeros(len(lengths), width, dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, width - n :] = torch.randint(2, vocab, (n,), generator=g)
        att[i, width - n :] = 1
    return ids, att


@pytest.mark.parametrize("make", [_qwen2, _llama], ids=["qwen2-gqa-bias", "llama-mqa"])
def test_greedy_tokens_equal_transformers_generate_on_left_padded_prompts(make):
    model = make()
    dec = fast_decoder(model)
    assert isinstance(dec, FastDecoder)
    ids, att = _left_padded([3, 7, 5, 7], width=7)
    ours = dec.generate(ids, att, max_new_tokens=16, temperature=0.0, eos_token_ids=[], pad_token_id=0)
    theirs = model.generate(input_ids=ids, attention_mask=att, max_new_tokens=16, do_sample=False, pad_token_id=0,
                            eos_token_id=None)[:, 7:]
    assert ours.shape == (4, 16)
    assert torch.equal(ours, theirs)


def test_prompts_repeated_for_a_group_share_one_prefill_and_decode_as_generate_does():
    model = _qwen2()
    dec = fast_decoder(model)
    ids, att = _left_padded([3, 6, 5], width=6)
    ids, att = ids.repeat_interleave(4, dim=0), att.repeat_interleave(4, dim=0)  # G = 4 samples per prompt
    ours = dec.generate(ids, att, max_new_tokens=12, temperature=0.0, eos_token_ids=[], pad_token_id=0)
    theirs = model.generate(input_ids=ids, attention_mask=att, max_new_tokens=12, do_sample=False, pad_token_id=0,
                            eos_token_id=None)[:, 6:]
    assert torch.equal(ours, theirs)
    torch.manual_seed(0)
    sampled = dec.generate(ids, att, max_new_tokens=12, temperature=1.0, eos_token_ids=[], pad_token_id=0)
    assert len({tuple(r) for r in sampled[:4].tolist()}) > 1  # the samples of one prompt still differ


def test_each_row_stops_at_its_first_eos_then_holds_pad_and_the_loop_ends_when_all_stopped():
    model = _qwen2()
    dec = fast_decoder(model)
    ids, att = _left_padded([4, 6, 5], width=6)
    torch.manual_seed(3)
    eos = list(range(2, 60))  # most of the vocabulary ends a row: every row stops within a few tokens
    out = dec.generate(ids, att, max_new_tokens=40, temperature=1.0, eos_token_ids=eos, pad_token_id=0)
    assert out.shape[1] < 40
    for row in out.tolist():
        first = next(i for i, t in enumerate(row) if t in eos)
        assert all(t == 0 for t in row[first + 1 :])
    assert all(t in eos for t in out[:, -1].tolist() if t != 0)


def test_seeded_sampling_is_reproducible():
    model = _qwen2()
    dec = fast_decoder(model)
    ids, att = _left_padded([3, 5], width=5)
    runs = []
    for _ in range(2):
        torch.manual_seed(11)
        runs.append(dec.generate(ids, att, max_new_tokens=12, temperature=1.0, eos_token_ids=[1], pad_token_id=0))
    assert torch.equal(runs[0], runs[1])


def test_sample_next_draws_only_from_the_nucleus_in_proportion():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probs.log().expand(20000, 4)
    torch.manual_seed(0)
    full = sample_next(logits, 1.0, 1.0).flatten()
    assert abs((full == 3).float().mean().item() - 0.05) < 0.01
    nucleus = sample_next(logits, 1.0, 0.7).flatten()  # 0.5 + 0.3 reach 0.7: tokens 0 and 1 only
    assert set(nucleus.tolist()) == {0, 1}
    assert abs((nucleus == 0).float().mean().item() - 0.5 / 0.8) < 0.02
    assert set(sample_next(logits, 1.0, 0.5).flatten().tolist()) == {0}  # 0.5 alone reaches 0.5
    assert sample_next(torch.tensor([[0.1, 2.0, -1.0]]), 0.0).item() == 1  # temperature 0: greedy


def test_models_and_generation_configs_it_does_not_know_use_generate():
    from transformers import GPT2Config, GPT2LMHeadModel

    assert fast_decoder(GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50))) is None
    model = _qwen2()
    model.generation_config.repetition_penalty = 1.3  # generate() would apply it; the fast loop cannot
    assert fast_decoder(model) is None
    assert fast_decoder(_qwen2(use_sliding_window=True, sliding_window=4, max_window_layers=0)) is None


def test_hf_engine_samples_with_the_fast_loop_and_sees_weight_updates_without_a_copy():
    from prolong.trainer.engines import HFEngine
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    tok = build_tokenizer([f"What is {a} + {b}? \\boxed{{{a + b}}}" for a in range(10) for b in range(10)], vocab_size=270)
    model = build_tiny_model(tok, hidden_size=32, layers=1, heads=2, seed=0)
    fast, slow = HFEngine(model, tok), HFEngine(model, tok, fast=False)
    assert fast._fast is not None and slow._fast is None
    prompts = ["What is 1 + 2?", "What is 13 + 4?"]

    def greedy(engine):
        return [g[0].token_ids for g in engine.generate(prompts, n=1, max_new_tokens=8, temperature=0.0)]

    assert greedy(fast) == greedy(slow)
    with torch.no_grad():
        model.lm_head.weight.mul_(-1.5)  # an "optimizer step" on the shared model object
    assert greedy(fast) == greedy(slow)


# --- shared-prefix log-probs (prolong.trainer.prefix_sharing) ----------------------------------


def _group_batch():
    """A loop Batch: two prompts, three responses each, of different lengths (one truncated)."""
    from prolong.trainer.engines import Completion
    from prolong.trainer.loop import Rollout, build_batch

    g = torch.Generator().manual_seed(5)
    prompts = [torch.randint(2, 96, (n,), generator=g).tolist() for n in (4, 7)]
    groups = []
    for p in prompts:
        group = []
        for n in (3, 6, 1):
            toks = torch.randint(2, 96, (n,), generator=g).tolist()
            group.append(Completion(text="", prompt_ids=p, token_ids=toks, finish_reason="stop" if n < 6 else "length"))
        groups.append(group)
    rollout = Rollout(problems=[None, None], completions=groups, rewards=[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    return build_batch(rollout, torch.tensor([[1.0, -1.0, 0.5], [0.2, -0.3, 0.1]]), 0, overlong_filter=False)


def test_shared_prefix_log_probs_and_gradients_equal_the_plain_forward():
    from prolong.trainer import algorithms as A
    from prolong.trainer.prefix_sharing import plain_response_logits, shared_prefix_logits

    model = _qwen2().train()
    b = _group_batch()
    shared = shared_prefix_logits(model, b.input_ids, b.resp_pos, b.resp_tokens, b.resp_mask)
    assert shared is not None and shared.shape == (6, 6, 96)
    plain = plain_response_logits(model, b.input_ids, b.attention_mask, b.resp_pos)
    real = b.resp_mask.bool()
    lp_shared, lp_plain = A.token_logprobs(shared, b.resp_tokens), A.token_logprobs(plain, b.resp_tokens)
    assert torch.allclose(lp_shared[real], lp_plain[real], atol=1e-5)
    grads = []
    for lp in (lp_shared, lp_plain):
        model.zero_grad()
        (lp * b.resp_mask).sum().backward(retain_graph=True)
        grads.append([p.grad.clone() for p in model.parameters()])
    for gs, gp in zip(*grads):
        assert torch.allclose(gs, gp, atol=1e-4, rtol=1e-4)


def test_shared_prefix_declines_without_repeated_prompts_or_without_a_cache():
    from prolong.trainer.prefix_sharing import shared_prefix_logits

    model = _qwen2().train()
    b = _group_batch()
    one_each = b.select(torch.tensor([0, 3]))  # one response per prompt: nothing to share
    assert shared_prefix_logits(model, one_each.input_ids, one_each.resp_pos, one_each.resp_tokens, one_each.resp_mask) is None
    (getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable)()  # no cache under checkpointing
    assert shared_prefix_logits(model, b.input_ids, b.resp_pos, b.resp_tokens, b.resp_mask) is None
