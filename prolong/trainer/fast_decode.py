"""A lean sampling loop for Llama-family decoders (Qwen2, Llama, Mistral): the rollout
hot path of :class:`~prolong.trainer.engines.HFEngine` on CPU.

transformers' ``generate`` spends most of a small model's decode step outside the
matrix products: a cache that concatenates keys and values at every step, masks
rebuilt from scratch, logits processors, output objects. This loop runs the same
weights (the model's own parameters, read live: nothing is copied, so an optimizer
step is seen at once) with the same operations as the model's ``forward``
(RMSNorm in float32, rotary embeddings from the model's own rotary module, grouped
query attention through ``scaled_dot_product_attention``), a key/value cache
allocated once per call and written in place, one prefill per distinct prompt (the G
samples of a prompt share it), and sampling with one uniform draw per row (inverse CDF). On prolong's tiny model it samples about 1.7x faster than
``generate`` on one CPU thread, with the same logits.

:func:`fast_decoder` hands one out only when it applies: a supported architecture
without sliding-window layers, SiLU MLPs, and a generation config with no logits
processors beyond temperature and top-p. It also checks itself once against the
model's ``forward`` on a small padded batch and declines (returns None) if the
logits differ, so an unforeseen variant falls back to ``generate``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["FastDecoder", "fast_decoder", "sample_next"]

SUPPORTED_MODEL_TYPES = ("qwen2", "llama", "mistral")

# generation-config fields that add logits processors generate() would apply, with their neutral values
_NEUTRAL_GENERATION = {
    "repetition_penalty": (None, 1.0),
    "encoder_repetition_penalty": (None, 1.0),
    "no_repeat_ngram_size": (None, 0),
    "bad_words_ids": (None,),
    "min_length": (None, 0),
    "min_new_tokens": (None, 0),
    "min_p": (None, 0.0),
    "typical_p": (None, 1.0),
    "epsilon_cutoff": (None, 0.0),
    "eta_cutoff": (None, 0.0),
    "suppress_tokens": (None,),
    "begin_suppress_tokens": (None,),
    "forced_bos_token_id": (None,),
    "forced_eos_token_id": (None,),
    "sequence_bias": (None,),
    "exponential_decay_length_penalty": (None,),
    "guidance_scale": (None, 1.0),
}


def sample_next(logits: torch.Tensor, temperature: float, top_p: float = 1.0) -> torch.Tensor:
    """One token per row of ``logits`` ``(B, V)``: greedy for ``temperature == 0``, else a draw
    from ``softmax(logits / temperature)`` restricted to the nucleus (the smallest set of most
    likely tokens whose probability reaches ``top_p``), by inverse CDF with one uniform per
    row from torch's global generator. Returns ``(B, 1)``."""
    if temperature == 0:
        return logits.argmax(-1, keepdim=True)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    index = None
    if top_p < 1.0:
        probs, index = probs.sort(dim=-1, descending=True)
        before = probs.cumsum(-1) - probs  # mass of the more likely tokens
        probs = probs.masked_fill(before >= top_p, 0.0)
    cdf = probs.cumsum(-1)
    u = torch.rand(probs.shape[0], 1, device=probs.device, dtype=cdf.dtype) * cdf[:, -1:]
    choice = torch.searchsorted(cdf, u, right=True).clamp_(max=probs.shape[-1] - 1)
    return choice if index is None else index.gather(-1, choice)


def _unsupported(model: Any) -> str | None:
    """Why the fast path does not apply to ``model`` (None if it does)."""
    config = getattr(model, "config", None)
    inner = getattr(model, "model", None)
    if config is None or inner is None or getattr(config, "model_type", None) not in SUPPORTED_MODEL_TYPES:
        return f"model type {getattr(config, 'model_type', None)!r} is not one of {SUPPORTED_MODEL_TYPES}"
    if getattr(config, "hidden_act", None) != "silu" or getattr(config, "pretraining_tp", 1) != 1 or getattr(config, "mlp_bias", False):
        return "the MLP is not a plain SiLU-gated MLP"
    if any(t != "full_attention" for t in getattr(config, "layer_types", None) or []):
        return "sliding-window attention layers"
    if config.model_type == "mistral" and getattr(config, "sliding_window", None) is not None:
        return "sliding-window attention"
    for name in ("embed_tokens", "layers", "norm", "rotary_emb"):
        if not hasattr(inner, name):
            return f"no model.{name}"
    if not hasattr(model, "lm_head") or getattr(model.lm_head, "bias", None) is not None:
        return "an lm_head with a bias or none at all"
    for layer in inner.layers:
        attn, mlp = getattr(layer, "self_attn", None), getattr(layer, "mlp", None)
        if attn is None or mlp is None or any(not hasattr(attn, p) for p in ("q_proj", "k_proj", "v_proj", "o_proj")):
            return "unexpected decoder layer"
        if any(not hasattr(mlp, p) for p in ("gate_proj", "up_proj", "down_proj")):
            return "unexpected MLP"
        if getattr(attn, "sliding_window", None) is not None or hasattr(attn, "q_norm"):
            return "attention with sliding window or q/k norms"
    gc = getattr(model, "generation_config", None)
    for name, neutral in _NEUTRAL_GENERATION.items():
        if getattr(gc, name, None) not in neutral:
            return f"generation_config.{name}={getattr(gc, name)!r} adds a logits processor"
    return None


class FastDecoder:
    """Samples continuations of left-padded prompts with ``model``'s live weights (see the module docstring)."""

    def __init__(self, model: Any) -> None:
        why = _unsupported(model)
        if why is not None:
            raise ValueError(f"the fast decoder does not support this model: {why}")
        self.model = model
        c = model.config
        self.num_heads = c.num_attention_heads
        self.num_kv_heads = getattr(c, "num_key_value_heads", None) or c.num_attention_heads
        attn = model.model.layers[0].self_attn
        self.head_dim = getattr(attn, "head_dim", None) or c.hidden_size // c.num_attention_heads
        self.scale = float(getattr(attn, "scaling", self.head_dim**-0.5))
        self.eps = [float(layer.input_layernorm.variance_epsilon) for layer in model.model.layers]
        self.eps2 = [float(layer.post_attention_layernorm.variance_epsilon) for layer in model.model.layers]
        self.final_eps = float(model.model.norm.variance_epsilon)
        self._gqa_kwarg = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 5)

    # ------------------------------------------------------------------ the forward pass

    @staticmethod
    def _rms(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
        return weight * h.to(x.dtype)

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin

    def forward(self, ids: torch.Tensor, positions: torch.Tensor, cache: list[tuple[torch.Tensor, torch.Tensor]],
                start: int, mask: torch.Tensor) -> torch.Tensor:
        """Run ``ids`` ``(B, T)`` at ``positions``, writing keys and values into ``cache``
        at ``start:start+T``; attention over ``cache[:start+T]`` under the boolean ``mask``
        ``(B, 1, T, start+T)``. Returns the logits of the last position ``(B, V)``."""
        m = self.model.model
        b, t = ids.shape
        x = m.embed_tokens(ids)
        cos, sin = m.rotary_emb(x, positions)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        gqa = self.num_heads != self.num_kv_heads
        for i, layer in enumerate(m.layers):
            a, mlp = layer.self_attn, layer.mlp
            h = self._rms(x, layer.input_layernorm.weight, self.eps[i])
            q = a.q_proj(h).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
            k = a.k_proj(h).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
            v = a.v_proj(h).view(b, t, self.num_kv_heads, self.head_dim).transpose(1, 2)
            q, k = self._rotate(q, cos, sin), self._rotate(k, cos, sin)
            keys, values = cache[i]
            keys[:, :, start : start + t] = k
            values[:, :, start : start + t] = v
            kk, vv = keys[:, :, : start + t], values[:, :, : start + t]
            if gqa and self._gqa_kwarg:
                o = F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask, scale=self.scale, enable_gqa=True)
            else:
                rep = self.num_heads // self.num_kv_heads
                if rep > 1:
                    kk, vv = kk.repeat_interleave(rep, dim=1), vv.repeat_interleave(rep, dim=1)
                o = F.scaled_dot_product_attention(q, kk, vv, attn_mask=mask, scale=self.scale)
            x = x + a.o_proj(o.transpose(1, 2).reshape(b, t, -1))
            h = self._rms(x, layer.post_attention_layernorm.weight, self.eps2[i])
            x = x + mlp.down_proj(F.silu(mlp.gate_proj(h)) * mlp.up_proj(h))
        return self.model.lm_head(self._rms(x[:, -1], m.norm.weight, self.final_eps))

    def _new_cache(self, batch: int, length: int, like: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        shape = (batch, self.num_kv_heads, length, self.head_dim)
        return [(like.new_empty(shape), like.new_empty(shape)) for _ in self.model.model.layers]

    def prefill_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Next-token logits after left-padded prompts (what :meth:`generate` samples first from)."""
        with torch.no_grad():
            return self._prefill(input_ids, attention_mask, self._new_cache(*input_ids.shape, self._param()))[0]

    def _param(self) -> torch.Tensor:
        return self.model.model.embed_tokens.weight

    def _prefill(self, ids: torch.Tensor, att: torch.Tensor, cache: list) -> tuple[torch.Tensor, torch.Tensor]:
        b, p = ids.shape
        positions = (att.long().cumsum(-1) - 1).clamp(min=0)
        keep = att.bool()
        causal = torch.ones(p, p, dtype=torch.bool, device=ids.device).tril()
        mask = causal[None, None] & keep[:, None, None, :]
        mask = mask | torch.eye(p, dtype=torch.bool, device=ids.device)[None, None]  # a pad row attends to itself, not to nothing
        return self.forward(ids, positions, cache, 0, mask), positions[:, -1:]

    # ------------------------------------------------------------------ sampling

    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        *,
        max_new_tokens: int,
        temperature: float,
        top_p: float = 1.0,
        eos_token_ids: list[int] | None = None,
        pad_token_id: int = 0,
    ) -> torch.Tensor:
        """New tokens ``(B, <= max_new_tokens)`` for left-padded prompts: each row stops at its
        first EOS (kept), then holds ``pad_token_id``; the loop ends when every row has stopped."""
        with torch.no_grad():
            b, p = input_ids.shape
            cache = self._new_cache(b, p + max_new_tokens, self._param())
            # the G samples of a prompt share its prefill: run each distinct prompt once
            rows = torch.cat([input_ids, attention_mask.to(input_ids.dtype)], dim=1)
            distinct, which = torch.unique(rows, dim=0, return_inverse=True)
            if distinct.shape[0] < b:
                shared = self._new_cache(distinct.shape[0], p, self._param())
                logits, last_pos = self._prefill(distinct[:, :p], distinct[:, p:], shared)
                for (keys, values), (k0, v0) in zip(cache, shared):
                    keys[:, :, :p] = k0[which]
                    values[:, :, :p] = v0[which]
                logits, last_pos = logits[which], last_pos[which]
            else:
                logits, last_pos = self._prefill(input_ids, attention_mask, cache)
            keys_ok = torch.cat([attention_mask.bool(), torch.ones(b, max_new_tokens, dtype=torch.bool, device=input_ids.device)], 1)
            eos = torch.tensor(sorted(eos_token_ids or []), dtype=torch.long, device=input_ids.device)
            done = torch.zeros(b, 1, dtype=torch.bool, device=input_ids.device)
            out = []
            for step in range(max_new_tokens):
                token = sample_next(logits, temperature, top_p)
                token = token.masked_fill(done, pad_token_id)
                out.append(token)
                if eos.numel():
                    done = done | torch.isin(token, eos)
                    if bool(done.all()):
                        break
                if step == max_new_tokens - 1:
                    break
                last_pos = last_pos + 1
                logits = self.forward(token, last_pos, cache, p + step, keys_ok[:, None, None, : p + step + 1])
            return torch.cat(out, dim=1)


def fast_decoder(model: Any) -> FastDecoder | None:
    """A :class:`FastDecoder` for ``model``, or None when it does not apply or its logits
    differ from the model's own ``forward`` on a small padded batch."""
    if _unsupported(model) is not None:
        return None
    try:
        dec = FastDecoder(model)
        param = dec._param()
        vocab = int(param.shape[0])
        gen = torch.Generator().manual_seed(0)
        ids = torch.randint(0, vocab, (2, 6), generator=gen).to(param.device)
        att = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], device=param.device)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                ours = dec.prefill_logits(ids, att).float()
                positions = (att.cumsum(-1) - 1).clamp(min=0)
                theirs = model(input_ids=ids, attention_mask=att, position_ids=positions, use_cache=False).logits[:, -1].float()
        finally:
            model.train(was_training)
        tol = 1e-4 if param.dtype == torch.float32 else 5e-2
        if not torch.allclose(ours, theirs, atol=tol * max(1.0, float(theirs.abs().max())), rtol=0):
            return None
        return dec
    except Exception:  # an architecture detail this loop does not know: use generate()
        return None
