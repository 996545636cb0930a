"""Rollout engines: sample completions of problem prompts from a policy.

Every engine meets one interface, :class:`RolloutEngine`, which the trainer and
``prolong eval`` call:

    engine = build_engine("hf", model, tokenizer)
    groups = engine.generate(["What is 3 + 5?"], n=4, max_new_tokens=32, temperature=1.0, seed=0)
    groups[0][0].text, groups[0][0].token_ids, groups[0][0].finish_reason   # "stop" | "length"
    engine.sync_weights(model)      # after an optimizer step (no-op when the engine shares the model)

Prompts are raw problem prompts; the engine applies the tokenizer's chat template
(with an optional system message). ``temperature=0`` is greedy decoding.

``"hf"`` is :class:`HFEngine` (transformers ``generate``: batched, left padding, KV
cache; the CPU default). ``"vllm"`` lives in :mod:`prolong.trainer.vllm_engine`
(GPU, optional extra ``prolong[vllm]``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

__all__ = ["Completion", "RolloutEngine", "HFEngine", "build_engine", "apply_chat_template"]


@dataclass
class Completion:
    """One sampled response.

    Attributes:
        text: the decoded response (special tokens removed).
        prompt_ids: the prompt's token ids after the chat template (no padding).
        token_ids: the response's token ids; they end with the EOS token when
            ``finish_reason == "stop"`` (the trainer learns to stop from it).
        finish_reason: ``"stop"`` (EOS emitted) or ``"length"`` (cut at ``max_new_tokens``).
    """

    text: str
    prompt_ids: list[int]
    token_ids: list[int]
    finish_reason: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@runtime_checkable
class RolloutEngine(Protocol):
    """Samples ``n`` completions of each prompt; returns one list of ``n`` per prompt, in order."""

    def generate(
        self,
        prompts: list[str],
        *,
        n: int,
        max_new_tokens: int,
        temperature: float,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> list[list[Completion]]: ...

    def sync_weights(self, model: Any) -> None: ...


def apply_chat_template(tokenizer: Any, prompt: str, system_prompt: str | None = None) -> list[int]:
    """Token ids of ``prompt`` as a user message with the generation prompt, via the
    tokenizer's chat template (or the raw prompt when the tokenizer has none)."""
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": prompt}
        ]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])
    text = (system_prompt + "\n\n" if system_prompt else "") + prompt
    return list(tokenizer(text)["input_ids"])


class ChatPromptEncoder:
    """Chat-templated prompt token ids, cached (prompts repeat across samples and steps).

    Engines set ``tokenizer``, ``system_prompt`` and ``_prompt_cache = {}``.
    """

    tokenizer: Any
    system_prompt: str | None
    _prompt_cache: dict[str, list[int]]

    def encode(self, prompt: str) -> list[int]:
        ids = self._prompt_cache.get(prompt)
        if ids is None:
            ids = apply_chat_template(self.tokenizer, prompt, self.system_prompt)
            if len(self._prompt_cache) < 100_000:
                self._prompt_cache[prompt] = ids
        return ids


class HFEngine(ChatPromptEncoder):
    """Rollouts with transformers ``generate``: batched, left padding, KV cache.

    The engine samples from the very model object it was given (the trainer's policy),
    so ``sync_weights`` has nothing to copy. ``batch_size`` bounds the sequences
    generated at once (prompts x n). With ``fast=True`` (the default) Llama-family
    models (Qwen2, Llama, Mistral) are sampled by :mod:`prolong.trainer.fast_decode`'s
    lean loop (same weights and logits, ~1.6x faster than ``generate`` for small models
    on CPU); other models, or generation configs with extra logits processors, use
    ``generate``. ``autocast_dtype`` (``"bfloat16"``...) samples under ``torch.autocast``
    (the trainer passes it when the weights are float32 masters with bf16 compute).
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 64, system_prompt: str | None = None, fast: bool = True,
                 autocast_dtype: str | None = None) -> None:
        from prolong.trainer.fast_decode import fast_decoder

        self.model = model
        self.autocast_dtype = getattr(torch, autocast_dtype) if autocast_dtype else None
        self.fast = fast
        self._fast = fast_decoder(model) if fast else None
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.system_prompt = system_prompt
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token (e.g. to the EOS token)")
        eos = getattr(model.generation_config, "eos_token_id", None)
        if eos is None:
            eos = tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        self._prompt_cache: dict[str, list[int]] = {}

    def sync_weights(self, model: Any) -> None:
        if model is not self.model:
            from prolong.trainer.fast_decode import fast_decoder

            self._fast = fast_decoder(model) if self.fast else None
        self.model = model

    @torch.no_grad()
    def generate(
        self,
        prompts: list[str],
        *,
        n: int,
        max_new_tokens: int,
        temperature: float,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> list[list[Completion]]:
        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"need n >= 1 and max_new_tokens >= 1, got n={n}, max_new_tokens={max_new_tokens}")
        encoded = [self.encode(p) for p in prompts]
        flat = [(i, ids) for i, ids in enumerate(encoded) for _ in range(n)]
        out: list[list[Completion]] = [[] for _ in prompts]
        device = next(self.model.parameters()).device
        rng = torch.random.fork_rng(devices=[device] if device.type == "cuda" else []) if seed is not None else contextlib.nullcontext()
        was_training = self.model.training
        self.model.eval()
        from prolong.trainer.logprobs import autocast

        try:
            with rng, autocast(device, self.autocast_dtype):
                if seed is not None:
                    torch.manual_seed(seed)
                for start in range(0, len(flat), self.batch_size):
                    chunk = flat[start : start + self.batch_size]
                    for (i, ids), comp in zip(chunk, self._generate_chunk([c[1] for c in chunk], max_new_tokens, temperature, top_p, device)):
                        out[i].append(comp)
        finally:
            self.model.train(was_training)
        return out

    def _generate_chunk(self, prompts: list[list[int]], max_new_tokens: int, temperature: float, top_p: float, device: torch.device) -> list[Completion]:
        pad = self.tokenizer.pad_token_id
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for r, p in enumerate(prompts):  # left padding
            input_ids[r, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            attention[r, width - len(p) :] = 1
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": float(temperature), "top_p": float(top_p), "top_k": 0}
        if self._fast is not None:  # the lean sampling loop (prolong.trainer.fast_decode)
            new = self._fast.generate(
                input_ids.to(device), attention.to(device), max_new_tokens=max_new_tokens, temperature=float(temperature),
                top_p=float(top_p), eos_token_ids=sorted(self.eos_ids), pad_token_id=pad,
            ).tolist()
        else:
            gen = self.model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                max_new_tokens=max_new_tokens,
                pad_token_id=pad,
                eos_token_id=sorted(self.eos_ids) or None,
                use_cache=True,
                **sampling,
            )
            new = gen[:, width:].tolist()
        comps = []
        for p, row in zip(prompts, new):
            tokens, reason = [], "length"
            for t in row:
                tokens.append(t)
                if t in self.eos_ids:
                    reason = "stop"
                    break
            if reason == "length":
                tokens = tokens[:max_new_tokens]
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            comps.append(Completion(text=text, prompt_ids=list(p), token_ids=tokens, finish_reason=reason))
        return comps


def build_engine(kind: str, model: Any, tokenizer: Any, **kwargs: Any) -> RolloutEngine:
    """The rollout engine named ``kind``: ``"hf"`` (:class:`HFEngine`) or ``"vllm"``.

    ``kwargs`` go to the engine's constructor (``batch_size``, ``system_prompt``, ...).
    """
    if kind == "hf":
        return HFEngine(model, tokenizer, **kwargs)
    if kind == "vllm":
        # prolong.trainer.vllm_engine defines VLLMEngine(model, tokenizer, **kwargs) with
        # this module's interface; vllm itself is an optional extra (CUDA only).
        try:
            from prolong.trainer import vllm_engine  # type: ignore[attr-defined]

            return vllm_engine.VLLMEngine(model, tokenizer, **kwargs)
        except ImportError as e:
            raise RuntimeError(
                "engine='vllm' needs prolong.trainer.vllm_engine and the vllm package "
                f"(pip install 'prolong[vllm]', CUDA only); import failed: {e}. Use engine='hf' on CPU."
            ) from e
    raise ValueError(f"unknown rollout engine {kind!r}; choose 'hf' or 'vllm'")
