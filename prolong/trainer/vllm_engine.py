"""vLLM rollouts for GPU users, colocated with the trainer on the same GPU.

    engine = build_engine("vllm", policy, tokenizer, gpu_memory_utilization=0.3)
    groups = engine.generate(prompts, n=16, max_new_tokens=8192, temperature=1.2, seed=0)
    ...optimizer step...
    engine.sync_weights(policy)         # push the trainer's weights into vLLM

:class:`VLLMEngine` meets :class:`~prolong.trainer.engines.RolloutEngine`. It builds a
``vllm.LLM`` in this process ("colocate" mode, as TRL's ``vllm_mode="colocate"``):
vLLM takes ``gpu_memory_utilization`` of the GPU for its weights and KV cache and the
trainer keeps the rest, so leave room for the policy, its gradients, the optimizer
state and the reference model (0.3 is a fair start for a 1.5B model on an 80 GB GPU).

Weight sync. vLLM's model classes load Hugging Face checkpoint names
(``model.layers.0.self_attn.q_proj.weight``...) through ``model.load_weights(iterable
of (name, tensor))``, which also fuses q/k/v and gate/up projections. With the engine
core in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``, set here unless the user
set it, or vLLM's V0 engine), the model is reached at
``llm.llm_engine.model_executor.driver_worker(.worker).model_runner.model`` and the
trainer's GPU tensors are handed over without a copy through another process (as in
TRL's ``VLLMGeneration.sync_weights``). Otherwise the weights go to every worker with
``llm.collective_rpc`` (moved to CPU first, so they pickle). Sampling is then reset
(``reset_prefix_cache``): cached prefixes of the old weights must not be reused.

Under ``torchrun`` (one vLLM per rank) the engine uses vLLM's ``external_launcher``
executor and seeds each rank differently, as TRL does.

Needs ``pip install 'prolong[vllm]'`` and a CUDA GPU; ``tests/test_vllm.py`` skips
without them.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Iterator

from prolong.trainer.engines import ChatPromptEncoder, Completion

__all__ = ["VLLMEngine", "weights_for_vllm"]


def _unwrap(model: Any) -> Any:
    """The bare model under DistributedDataParallel / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if inner is None or inner is model:
            return model
        model = inner


def weights_for_vllm(model: Any) -> Iterator[tuple[str, Any]]:
    """``(name, tensor)`` of each parameter of ``model`` under its Hugging Face name
    (wrapper prefixes ``module.`` and ``_orig_mod.`` removed), detached."""
    for name, p in _unwrap(model).named_parameters():
        for prefix in ("module.", "_orig_mod."):
            name = name.replace(prefix, "")
        yield name, p.detach()


def _load_weights_on_worker(worker: Any, weights: list[tuple[str, Any]]) -> int:
    """Run inside a vLLM worker by ``collective_rpc``: load ``weights`` into its model."""
    model = worker.model_runner.model
    model.load_weights(weights)
    return len(weights)


class VLLMEngine(ChatPromptEncoder):
    """Rollouts with vLLM, weights synced from the trainer's policy.

    Args:
        model: the trainer's policy (a transformers causal LM), or None with ``model_path``
            (evaluation of a saved model).
        tokenizer: the policy's tokenizer (its chat template and EOS are used).
        model_path: where vLLM reads the architecture (``config.json``) and the initial
            weights; default: the model's own ``name_or_path`` when it is a local
            directory, else the model is saved to a temporary directory first.
        system_prompt: optional system message of the chat template.
        gpu_memory_utilization: vLLM's share of the GPU (weights + KV cache); the trainer
            uses the rest. Default: ``$PROLONG_VLLM_GPU_MEMORY_UTILIZATION``, else 0.3 (the
            variable is how ``prolong train engine=vllm`` sets it).
        max_model_len: longest prompt + response; default: the model config's.
        dtype: vLLM's dtype; default: the policy's dtype (``"auto"`` without a model).
        enforce_eager: skip CUDA graph capture (faster start, slower decode); True by default
            since weights change every step.
        seed: vLLM's engine seed (offset by the rank under torchrun).
        batch_size: accepted for interface parity with the HF engine; vLLM schedules
            its own batches (``max_num_seqs`` can be given in ``llm_kwargs``).
        llm_kwargs: more ``vllm.LLM`` arguments.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        model_path: str | None = None,
        system_prompt: str | None = None,
        gpu_memory_utilization: float | None = None,
        max_model_len: int | None = None,
        dtype: str | None = None,
        enforce_eager: bool = True,
        seed: int = 0,
        batch_size: int | None = None,
        llm_kwargs: dict[str, Any] | None = None,
    ) -> None:
        try:
            import vllm  # noqa: F401
        except ImportError as e:
            raise RuntimeError(
                "engine='vllm' needs the vllm package (pip install 'prolong[vllm]', CUDA only); "
                f"use engine='hf' on this machine. Import failed: {e}"
            ) from None
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("engine='vllm' needs a CUDA GPU, and torch sees none; use engine='hf'")
        if gpu_memory_utilization is None:
            gpu_memory_utilization = float(os.environ.get("PROLONG_VLLM_GPU_MEMORY_UTILIZATION", "0.3"))
        if not 0.0 < gpu_memory_utilization <= 1.0:
            raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
        if model is None and model_path is None:
            raise ValueError("VLLMEngine needs a model to sync from or a model_path to load")
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.batch_size = batch_size
        eos = tokenizer.eos_token_id
        gen_eos = getattr(getattr(_unwrap(model), "generation_config", None), "eos_token_id", None) if model is not None else None
        ids = gen_eos if gen_eos is not None else eos
        self.eos_ids = set(ids if isinstance(ids, list) else [ids]) if ids is not None else set()
        self._prompt_cache: dict[str, list[int]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        path = model_path or self._model_dir(model)
        if dtype is None:
            dtype = str(next(_unwrap(model).parameters()).dtype).removeprefix("torch.") if model is not None else "auto"
        self.llm = self._build_llm(path, gpu_memory_utilization, max_model_len, dtype, enforce_eager, seed, llm_kwargs or {})
        if model is not None:
            self.sync_weights(model)

    # ------------------------------------------------------------------ construction

    def _model_dir(self, model: Any) -> str:
        """A directory vLLM can read the architecture from: the model's own, or a temporary save."""
        bare = _unwrap(model)
        own = getattr(getattr(bare, "config", None), "_name_or_path", None) or getattr(bare, "name_or_path", None)
        if own and os.path.isfile(os.path.join(str(own), "config.json")):
            return str(own)
        self._tmp = tempfile.TemporaryDirectory(prefix="prolong-vllm-")
        bare.save_pretrained(self._tmp.name)
        self.tokenizer.save_pretrained(self._tmp.name)
        return self._tmp.name

    def _build_llm(self, path: str, mem: float, max_len: int | None, dtype: str, eager: bool, seed: int, extra: dict[str, Any]) -> Any:
        import torch
        from vllm import LLM

        kwargs: dict[str, Any] = {
            "model": path,
            "tokenizer": path,
            "gpu_memory_utilization": mem,
            "dtype": dtype,
            "enforce_eager": eager,
            "seed": seed,
            "enable_prefix_caching": True,
        }
        if max_len is not None:
            kwargs["max_model_len"] = max_len
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world > 1:  # torchrun: one colocated vLLM per rank, in its own process
            kwargs["distributed_executor_backend"] = "external_launcher"
            rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else int(os.environ.get("RANK", "0"))
            kwargs["seed"] = seed + rank
        else:  # keep the engine core in this process: weights are synced by reference
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        kwargs.update(extra)
        return LLM(**kwargs)

    # ------------------------------------------------------------------ RolloutEngine

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
        from vllm import SamplingParams

        if n < 1 or max_new_tokens < 1:
            raise ValueError(f"need n >= 1 and max_new_tokens >= 1, got n={n}, max_new_tokens={max_new_tokens}")
        encoded = [self.encode(p) for p in prompts]
        params = []
        for i in range(len(prompts)):
            kw: dict[str, Any] = {
                "n": n,
                "max_tokens": max_new_tokens,
                "temperature": float(temperature),
                "top_p": float(top_p) if temperature > 0 else 1.0,
                "stop_token_ids": sorted(self.eos_ids) or None,
                "skip_special_tokens": True,
            }
            if seed is not None:  # one seed per prompt: the same seed would correlate prompts' samples
                kw["seed"] = (int(seed) + i) & 0x7FFF_FFFF
            params.append(SamplingParams(**kw))
        outputs = self.llm.generate([{"prompt_token_ids": ids} for ids in encoded], sampling_params=params, use_tqdm=False)
        groups: list[list[Completion]] = []
        primary_eos = min(self.eos_ids) if self.eos_ids else None
        for ids, req in zip(encoded, outputs):
            group = []
            for out in sorted(req.outputs, key=lambda o: o.index):
                tokens = list(out.token_ids)
                reason = "stop" if out.finish_reason == "stop" else "length"
                if reason == "stop" and primary_eos is not None and (not tokens or tokens[-1] not in self.eos_ids):
                    tokens.append(primary_eos)  # the trainer learns to stop from the EOS token
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                group.append(Completion(text=text, prompt_ids=list(ids), token_ids=tokens, finish_reason=reason))
            groups.append(group)
        return groups

    def sync_weights(self, model: Any) -> None:
        """Copy the policy's current weights into vLLM and drop its prefix cache."""
        target = self._inprocess_model()
        if target is not None:
            target.load_weights(weights_for_vllm(model))
        else:
            cpu = [(name, t.to("cpu")) for name, t in weights_for_vllm(model)]
            self.llm.collective_rpc(_load_weights_on_worker, args=(cpu,))
        self.llm.reset_prefix_cache()

    def _inprocess_model(self) -> Any | None:
        """vLLM's model object when its engine runs in this process, else None."""
        executor = getattr(getattr(self.llm, "llm_engine", None), "model_executor", None)
        worker = getattr(executor, "driver_worker", None)
        for candidate in (worker, getattr(worker, "worker", None)):
            runner = getattr(candidate, "model_runner", None)
            model = getattr(runner, "model", None)
            if model is not None and hasattr(model, "load_weights"):
                return model
        return None

    def close(self) -> None:
        """Free vLLM's GPU memory (and the temporary model directory)."""
        import gc

        import torch

        self.llm = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
