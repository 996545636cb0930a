"""prolong's own tiny model, built offline: the embedded default needs no download.

1. A byte-level BPE tokenizer (300 tokens) trained with ``tokenizers`` on text generated
   from the training envs (prompts and reference responses), digits kept as single tokens,
   saved as a transformers ``PreTrainedTokenizerFast`` with a chat template.
2. A small Qwen2-style decoder (``Qwen2ForCausalLM``) initialised from scratch.
3. A short supervised warm start (SFT) on prompts and their reference responses
   (``task.reference``), loss on the response tokens only. It is deliberately short:
   the model learns the answer format and is partly right, and RL does the rest.

The result is cached under ``cache_dir`` (keyed by every setting that shapes it) as a
``save_pretrained`` directory, so the next run loads it in a second.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

import torch

__all__ = ["CHAT_TEMPLATE", "build_tokenizer", "build_tiny_model", "sft_warm_start", "tiny_model_dir", "load_or_build_tiny"]

TINY_VERSION = 3  # bump when the recipe below changes, so stale caches are not reused

#: A minimal chat format: ``<|user|>...<|end|><|assistant|>...<|end|>``.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL_TOKENS = ["<|pad|>", "<|unk|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]


#: Qwen2's pre-tokenizer split: words, single digits, punctuation runs, whitespace.
QWEN2_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def build_tokenizer(texts: list[str], vocab_size: int = 300) -> Any:
    """A byte-level BPE tokenizer trained on ``texts`` with Qwen2's pipeline (NFC, Qwen2's
    split regex, which keeps each digit its own token, byte-level alphabet), so that
    ``AutoTokenizer`` (which rebuilds a ``Qwen2Tokenizer`` for a Qwen2 model) reads it
    back identically. ``vocab_size`` counts the 256 bytes, the special tokens and the
    merges. Returns a ``PreTrainedTokenizerFast`` with :data:`CHAT_TEMPLATE`."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        eos_token="<|end|>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"
    return fast


def build_tiny_model(tokenizer: Any, *, hidden_size: int = 128, layers: int = 2, heads: int = 4, seed: int = 0) -> Any:
    """A randomly initialised ``Qwen2ForCausalLM`` sized for a CPU (≈0.4M parameters at the defaults)."""
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    if hidden_size % heads:
        raise ValueError(f"tiny_hidden_size={hidden_size} must be a multiple of tiny_heads={heads}")
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=2 if heads % 2 == 0 else 1,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    return model


def _sft_batch(examples: list[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` (-100 outside the response)."""
    width = max(len(p) + len(r) for p, r in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    for i, (p, r) in enumerate(examples):
        seq = p + r
        ids[i, : len(seq)] = torch.tensor(seq)
        att[i, : len(seq)] = 1
        labels[i, len(p) : len(seq)] = torch.tensor(r)
    return ids, att, labels


def sft_warm_start(
    model: Any,
    tokenizer: Any,
    examples: list[tuple[str, str]],
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    system_prompt: str | None = None,
    log: Any = print,
) -> list[float]:
    """Supervised fine-tuning on ``(prompt, reference response)`` pairs: cross-entropy on
    the response tokens (and the closing EOS), AdamW, linear warmup then cosine decay.
    Returns the loss of each step."""
    from prolong.trainer.engines import apply_chat_template

    if steps <= 0:
        return []
    eos = tokenizer.eos_token_id
    encoded = [
        (apply_chat_template(tokenizer, p, system_prompt), list(tokenizer(r, add_special_tokens=False)["input_ids"]) + [eos])
        for p, r in examples
    ]
    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=0.0)
    warmup = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))
    )
    model.train()
    losses = []
    for step in range(steps):
        batch = [encoded[rng.randrange(len(encoded))] for _ in range(batch_size)]
        ids, att, labels = _sft_batch(batch, tokenizer.pad_token_id)
        loss = model(input_ids=ids, attention_mask=att, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if log and (step + 1) % max(1, steps // 4) == 0:
            log(f"  sft step {step + 1}/{steps}  loss {sum(losses[-10:]) / len(losses[-10:]):.3f}")
    model.eval()
    return losses


def tiny_model_dir(cfg: Any) -> Path:
    """The cache directory of the tiny model that ``cfg`` asks for."""
    key = {
        "version": TINY_VERSION,
        "envs": list(cfg.envs),
        "env_kwargs": {k: cfg.env_kwargs[k] for k in sorted(cfg.env_kwargs) if k in cfg.envs},
        "system_prompt": cfg.system_prompt,
        "seed": cfg.seed,
        **{k: getattr(cfg, k) for k in ("tiny_hidden_size", "tiny_layers", "tiny_heads", "tiny_vocab_size",
                                         "sft_steps", "sft_batch_size", "sft_lr", "sft_unboxed_frac",
                                         "sft_flawed_frac")},
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return Path(os.path.expanduser(cfg.cache_dir)) / "tiny" / digest


_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")




def unbox(response: str) -> str:
    """``The answer is \\boxed{8}.`` -> ``The result is 8.``: every un-nested box opened and
    "The answer is" said otherwise, a form the arith and toy verifiers refuse (they want a
    box). The math verifier accepts it: like math-verify it reads a one-line reply or a
    concluding sentence, so unboxed demonstrations teach no format on math-v0."""
    return _BOXED.sub(lambda m: m.group(1), response).replace("The answer is", "The result is")


def _training_texts(cfg: Any, n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """``n`` (prompt, reference) pairs from the training split of each env, and the
    texts the tokenizer learns from (the pairs plus the validation prompts' characters)."""
    from prolong.core import derive_seed
    from prolong.trainer.loop import make_envs

    pairs: list[tuple[str, str]] = []
    texts: list[str] = []
    for split in ("train", "validation"):
        envs = make_envs(cfg, split=split)
        per_env = max(1, n // len(envs)) if split == "train" else 200
        for env_id, task in envs.items():
            if task.reference is None:
                raise ValueError(
                    f"model='tiny' needs reference responses for its warm start, but {env_id} has no "
                    "task.reference; train an existing model instead (model=<path or HF id>)"
                )
            rng = random.Random(derive_seed("tiny-sft", cfg.seed, env_id, split))
            for _ in range(per_env):
                p = task.problems[rng.randrange(len(task.problems))]
                if split == "train":
                    ref = task.reference(p)
                    flawed = (p.metadata or {}).get("flawed_reference")
                    if flawed and rng.random() < cfg.sft_flawed_frac:
                        ref = flawed  # the demonstrator's systematic mistake (a dropped carry, ...)
                    if rng.random() < cfg.sft_unboxed_frac:
                        ref = unbox(ref)
                    texts.append(p.prompt + "\n" + ref)
                    pairs.append((p.prompt, ref))
                else:  # held-out prompts only shape the alphabet; their answers are never seen
                    texts.append(p.prompt)
    if cfg.system_prompt:
        texts.append(cfg.system_prompt)
    return pairs, texts


def load_or_build_tiny(cfg: Any, *, log: Any = print) -> tuple[Any, Any, Path]:
    """The tiny model and tokenizer of ``cfg`` (built, warm-started and cached on first use)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars for a 0.5M-parameter model are noise
    path = tiny_model_dir(cfg)
    if not (path / "config.json").is_file():
        t0 = time.time()
        log(f"building the tiny model (cache: {path})")
        pairs, texts = _training_texts(cfg, n=20_000)
        tokenizer = build_tokenizer(texts, cfg.tiny_vocab_size)
        model = build_tiny_model(
            tokenizer, hidden_size=cfg.tiny_hidden_size, layers=cfg.tiny_layers, heads=cfg.tiny_heads, seed=cfg.seed
        )
        n_params = sum(p.numel() for p in model.parameters())
        log(f"  tokenizer: {len(tokenizer)} tokens; model: Qwen2, {cfg.tiny_layers} layers, hidden {cfg.tiny_hidden_size}, {n_params / 1e6:.2f}M parameters")
        sft_warm_start(
            model, tokenizer, pairs, steps=cfg.sft_steps, batch_size=cfg.sft_batch_size, lr=cfg.sft_lr,
            seed=cfg.seed, system_prompt=cfg.system_prompt, log=log,
        )
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, path)
        except OSError:  # another process built it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"  built in {time.time() - t0:.1f}s")
    else:
        log(f"tiny model: warm-started model loaded from the cache {path}")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, tokenizer, path
