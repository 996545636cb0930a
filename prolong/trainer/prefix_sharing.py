"""Response logits of a GRPO batch with one forward per distinct prompt.

A rollout batch holds G responses to each prompt. The plain forward runs every
``prompt + response`` sequence in full, so each prompt's tokens go through the model
G times (and through the backward pass G times). Here the distinct prompts run once
(left-padded, ``use_cache=True``), their keys and values are indexed out to the rows
that share them, and the responses run on top of that cache. Attention sees the same
keys and values as in the plain forward, so the log-probs and gradients are the same
up to float rounding (gradients reach the prompt positions through the cache).

:func:`shared_prefix_logits` returns None (the caller runs the plain forward) when no
prompt repeats, when sharing would save under 10% of the tokens, for a model whose
cache is off (gradient checkpointing), or for a model that failed a one-time check
against the plain forward on a small batch.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch

__all__ = ["shared_prefix_logits", "shared_prefix_hidden", "plain_response_logits", "plain_response_hidden", "decoder_of"]

_VERDICT: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


def plain_response_logits(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, resp_pos: torch.Tensor) -> torch.Tensor:
    """Logits ``(N, T, V)`` at ``resp_pos`` from one forward of the whole right-padded sequences."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
    return torch.gather(logits, 1, resp_pos.unsqueeze(-1).expand(-1, -1, logits.shape[-1]))


def decoder_of(model: Any) -> Any | None:
    """The decoder stack under a causal LM's output layer (``model.model`` for Qwen2/Llama),
    whose ``last_hidden_state`` the output layer turns into logits; None if it has none."""
    get = getattr(model, "get_decoder", None)
    try:
        dec = get() if callable(get) else None
    except Exception:
        dec = None
    return dec if dec is not None and dec is not model else None


def plain_response_hidden(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, resp_pos: torch.Tensor) -> torch.Tensor:
    """Last hidden states ``(N, T, H)`` at ``resp_pos`` (what the output layer turns into the
    logits predicting each response token), from one forward of the decoder."""
    hidden = decoder_of(model)(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    return torch.gather(hidden, 1, resp_pos.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))


def _forward(model: Any, hidden: bool, **kw: Any) -> tuple[torch.Tensor, Any]:
    if hidden:
        out = decoder_of(model)(**kw)
        return out.last_hidden_state, getattr(out, "past_key_values", None)
    out = model(**kw)
    return out.logits, getattr(out, "past_key_values", None)


def _shared(model: Any, input_ids: torch.Tensor, resp_pos: torch.Tensor, resp_tokens: torch.Tensor,
            resp_mask: torch.Tensor, *, min_saving: float, hidden: bool = False) -> torch.Tensor | None:
    n, t = resp_tokens.shape
    device = next(model.parameters()).device
    plen = (resp_pos[:, 0] + 1).tolist()  # right-padded layout: the prompt is [0, plen), its last position predicts token 0
    groups: dict[tuple[int, ...], int] = {}
    which = [groups.setdefault(tuple(input_ids[i, : plen[i]].tolist()), len(groups)) for i in range(n)]
    u, p = len(groups), max(plen)
    if u == n or u * p + n * (t - 1) > (1.0 - min_saving) * n * input_ids.shape[1]:
        return None
    prompt_ids = torch.zeros(u, p, dtype=torch.long)
    prompt_mask = torch.zeros(u, p, dtype=torch.long)
    for key, g in groups.items():
        prompt_ids[g, p - len(key) :] = torch.tensor(key, dtype=torch.long)
        prompt_mask[g, p - len(key) :] = 1
    prompt_ids, prompt_mask = prompt_ids.to(device), prompt_mask.to(device)
    rows = torch.tensor(which, device=device)
    out, cache = _forward(model, hidden, input_ids=prompt_ids, attention_mask=prompt_mask,
                          position_ids=(prompt_mask.cumsum(-1) - 1).clamp(min=0), use_cache=True)
    if cache is None or not hasattr(cache, "batch_select_indices"):
        return None
    first = out[:, -1][rows]  # predicts each row's first response token
    if t == 1:
        return first[:, None]
    cache.batch_select_indices(rows)  # each row's prompt keys/values (indexing keeps the autograd graph)
    mask = torch.cat([prompt_mask[rows], resp_mask[:, : t - 1].to(device=device, dtype=torch.long)], dim=1)
    positions = torch.tensor(plen, device=device)[:, None] + torch.arange(t - 1, device=device)
    rest, _ = _forward(model, hidden, input_ids=resp_tokens[:, : t - 1].to(device), attention_mask=mask, position_ids=positions,
                       past_key_values=cache, use_cache=True)
    return torch.cat([first[:, None], rest], dim=1)


def _passes_check(model: Any) -> bool:
    """Shared and plain logits agree on a tiny batch with a repeated prompt (once per model)."""
    try:
        return _VERDICT[model]
    except (KeyError, TypeError):
        pass
    ok = False
    try:
        param = next(model.parameters())
        vocab = int(model.get_output_embeddings().weight.shape[0])
        g = torch.Generator().manual_seed(0)
        ids = torch.randint(0, vocab, (3, 7), generator=g)
        ids[1, :3] = ids[0, :3]  # rows 0 and 1 share a 3-token prompt; row 2 has a 4-token prompt
        att = torch.ones(3, 7, dtype=torch.long)
        att[0, 6:] = 0
        pos = torch.tensor([[2, 3, 4, 5], [2, 3, 4, 5], [3, 4, 5, 6]])
        tok = torch.stack([ids[0, 3:7], ids[1, 3:7], torch.cat([ids[2, 4:7], ids[2, :1]])])
        tmask = torch.tensor([[1.0, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 0]])
        # the mechanism is checked in the parameters' own precision (autocast off)
        with torch.no_grad(), torch.autocast(device_type=param.device.type, enabled=False):
            ours = _shared(model, ids, pos, tok, tmask, min_saving=-1.0)
            theirs = plain_response_logits(model, ids.to(param.device), att.to(param.device), pos.to(param.device))
        if ours is not None:
            real = tmask.bool().to(param.device)
            tol = 1e-4 if param.dtype == torch.float32 else 5e-2
            ok = bool(torch.allclose(ours[real].float(), theirs[real].float(), atol=tol * max(1.0, float(theirs.abs().max())), rtol=0))
    except Exception:  # an architecture whose cache or masks work differently: use the plain forward
        ok = False
    try:
        _VERDICT[model] = ok
    except TypeError:
        pass
    return ok


def shared_prefix_logits(model: Any, input_ids: torch.Tensor, resp_pos: torch.Tensor, resp_tokens: torch.Tensor,
                         resp_mask: torch.Tensor, *, min_saving: float = 0.1) -> torch.Tensor | None:
    """Logits ``(N, T, V)`` predicting each response token, with each distinct prompt run
    once, or None when that does not apply (see the module docstring).

    Args (CPU tensors; the result is on the model's device):
        input_ids: ``(N, W)`` right-padded ``prompt + response`` rows.
        resp_pos: ``(N, T)`` the position whose logits predict each response token
            (``resp_pos[i, 0] + 1`` is row i's prompt length).
        resp_tokens, resp_mask: ``(N, T)`` the response tokens and 1.0 on real ones.
    """
    if resp_tokens.shape[1] < 1 or _cache_off(model) or not _passes_check(model):
        return None
    return _shared(model, input_ids, resp_pos, resp_tokens, resp_mask, min_saving=min_saving)


def shared_prefix_hidden(model: Any, input_ids: torch.Tensor, resp_pos: torch.Tensor, resp_tokens: torch.Tensor,
                         resp_mask: torch.Tensor, *, min_saving: float = 0.1) -> torch.Tensor | None:
    """As :func:`shared_prefix_logits`, but the decoder's last hidden states ``(N, T, H)``
    (the output layer is applied by the caller, in chunks), or None."""
    if resp_tokens.shape[1] < 1 or decoder_of(model) is None or _cache_off(model) or not _passes_check(model):
        return None
    return _shared(model, input_ids, resp_pos, resp_tokens, resp_mask, min_saving=min_saving, hidden=True)


def _cache_off(model: Any) -> bool:
    """Activation checkpointing in training mode turns transformers' KV cache off."""
    return bool(model.training and (getattr(model, "is_activation_checkpointing", False)
                                    if hasattr(type(model), "is_activation_checkpointing")
                                    else getattr(model, "is_gradient_checkpointing", False)))
