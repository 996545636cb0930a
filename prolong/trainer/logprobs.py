"""Response log-probs of a model at GPU scale: bounded memory, mixed precision, token budgets.

The loss needs, for every response token, ``log softmax(logits / T)[token]`` (and the
entropy). Materialising the logits of a whole micro-batch costs ``tokens x vocab``
floats: 4 x 16k response tokens with Qwen's 151,936-token vocabulary are 40 GB in float32.
Here the decoder runs once and returns its last hidden states (``tokens x hidden``,
1,536 floats per token for a 1.5B Qwen); the output layer is applied to chunks of
``chunk_tokens`` tokens at a time (:func:`prolong.trainer.algorithms.chunked_logprobs`),
each chunk checkpointed so that its logits are recomputed in the backward pass rather
than kept. Only real response tokens are computed (padding is skipped).

This applies to models whose logits are exactly ``output_layer(last hidden state)``
(Qwen2, Llama, Mistral... checked once per model against the plain forward); others
(final-logit soft-capping, logit scaling) take the plain forward with full logits.

Also here: :func:`autocast` (bf16 compute over float32 master weights) and
:func:`token_budget_micro_batches` (dynamic micro-batch size by tokens).
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import torch

from prolong.trainer import algorithms as A
from prolong.trainer.prefix_sharing import decoder_of, plain_response_hidden, shared_prefix_hidden, shared_prefix_logits

__all__ = ["response_logprobs", "output_head", "autocast", "token_budget_micro_batches"]

_HEAD_OK: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    """``torch.autocast`` to ``dtype`` on ``device`` (mixed precision: float32 parameters,
    bf16 matmuls), or a no-op for ``None`` / float32."""
    if dtype is None or dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def output_head(model: Any) -> Any | None:
    """The output layer (``lm_head``) when ``model``'s logits are exactly
    ``lm_head(decoder(...).last_hidden_state)``: checked once per model on a small batch;
    None otherwise (the caller then uses the plain forward)."""
    head = getattr(model, "get_output_embeddings", lambda: None)()
    if head is None or decoder_of(model) is None:
        return None
    try:
        return head if _HEAD_OK[model] else None
    except (KeyError, TypeError):
        pass
    ok = False
    was_training = model.training
    try:
        param = next(model.parameters())
        vocab = int(head.weight.shape[0])
        ids = torch.randint(0, vocab, (2, 5), generator=torch.Generator().manual_seed(0)).to(param.device)
        att = torch.ones_like(ids)
        model.eval()
        with torch.no_grad(), torch.autocast(device_type=param.device.type, enabled=False):
            full = model(input_ids=ids, attention_mask=att, use_cache=False).logits.float()
            ours = head(decoder_of(model)(input_ids=ids, attention_mask=att, use_cache=False).last_hidden_state).float()
        tol = 1e-5 if param.dtype == torch.float32 else 2e-2
        ok = bool(torch.allclose(ours, full, atol=tol * max(1.0, float(full.abs().max())), rtol=0))
    except Exception:  # an architecture whose decoder or head works differently: plain forward
        ok = False
    finally:
        model.train(was_training)
    try:
        _HEAD_OK[model] = ok
    except TypeError:
        pass
    return head if ok else None


def response_logprobs(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    resp_pos: torch.Tensor,
    resp_tokens: torch.Tensor,
    resp_mask: torch.Tensor,
    *,
    temperature: float = 1.0,
    chunk_tokens: int = 1024,
    with_entropy: bool = False,
    entropy_grad: bool = False,
    autocast_dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probs ``(N, T)`` (float32) of the response tokens under ``model`` at
    ``temperature``, and the entropies (differentiable when ``entropy_grad``).

    Inputs are the right-padded layout of :class:`prolong.trainer.loop.Batch` (CPU
    tensors; results on the model's device). Positions where ``resp_mask`` is 0 hold 0.
    """
    device = next(model.parameters()).device
    with autocast(device, autocast_dtype):
        head = output_head(model)
        if head is None:  # plain forward, full logits (models with extra logit processing)
            logits = shared_prefix_logits(model, input_ids, resp_pos, resp_tokens, resp_mask)
            if logits is None:
                out = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device), use_cache=False).logits
                pos = resp_pos.to(device)
                logits = torch.gather(out, 1, pos.unsqueeze(-1).expand(-1, -1, out.shape[-1]))
            logp = A.token_logprobs(logits, resp_tokens.to(device), temperature=temperature)
            ent = None
            if with_entropy:
                ent = A.entropy_from_logits(logits if entropy_grad else logits.detach(), temperature=temperature)
            return logp, ent
        # the G samples of a prompt share one forward of it (prefix_sharing); None: no repeats
        hidden = shared_prefix_hidden(model, input_ids, resp_pos, resp_tokens, resp_mask)
        if hidden is None:
            hidden = plain_response_hidden(model, input_ids.to(device), attention_mask.to(device), resp_pos.to(device))
        rows, cols = resp_mask.to(device).bool().nonzero(as_tuple=True)
        lp, en = A.chunked_logprobs(
            hidden[rows, cols], head, resp_tokens.to(device)[rows, cols], temperature=temperature,
            chunk_tokens=chunk_tokens, with_entropy=with_entropy, entropy_grad=entropy_grad,
        )
    zeros = torch.zeros(resp_mask.shape, dtype=torch.float32, device=device)
    logp = zeros.index_put((rows, cols), lp)
    ent = zeros.index_put((rows, cols), en) if en is not None else None
    return logp, ent


def token_budget_micro_batches(widths: list[int], max_tokens: int) -> list[list[int]]:
    """Split rows of padded widths ``widths`` into micro-batches of at most ``max_tokens``
    padded tokens each (dynamic batch size, as verl's ``use_dynamic_bsz``).

    Rows are taken longest first; a micro-batch grows while ``rows x its longest width``
    (what its right-padded tensors hold) stays within the budget. A row longer than the
    budget goes alone. Returns lists of row indices; every row appears once.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    order = sorted(range(len(widths)), key=lambda i: (-widths[i], i))
    out: list[list[int]] = []
    cur: list[int] = []
    longest = 0
    for i in order:
        w = max(1, int(widths[i]))
        if cur and (len(cur) + 1) * max(longest, w) > max_tokens:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, w)
    if cur:
        out.append(cur)
    return out
