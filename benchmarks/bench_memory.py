"""Peak memory of the loss's log-probs on CPU: full-vocabulary logits against chunks.

One forward + backward of the policy-gradient loss's log-probs and entropy over a batch
of responses, for a one-layer Qwen2 decoder (hidden 64) whose vocabulary is that of a
real model (Qwen2's is 151,936): the output layer dominates memory, as it does for a
1.5B model at 16k tokens. Two ways:

* ``full``: the model's full logits ``(B, L, V)`` in float32, gathered at the response
  positions, ``log_softmax`` and entropy over them (prolong's path before chunking,
  and the plain ``model(...).logits`` path of most trainers);
* ``chunked``: :func:`prolong.trainer.logprobs.response_logprobs`: the decoder's hidden
  states, then the output layer on ``chunk`` response tokens at a time, each chunk
  checkpointed (recomputed in the backward pass).

Each case runs in a fresh subprocess; its peak is ``ru_maxrss`` (the process's peak
resident memory) minus the resident memory just before the forward (model, batch and
imports), i.e. what the log-probs and their backward added at their peak. The two
log-probs are compared (max abs difference).

    python -m benchmarks.bench_memory                         # ~1-2 minutes on 2 cores
    python -m benchmarks.bench_memory --vocab 151936 --batch 4 --length 2048 --chunk 256
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_case(mode: str, vocab: int, batch: int, length: int, prompt: int, chunk: int) -> dict:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from prolong.trainer import algorithms as A
    from prolong.trainer.logprobs import response_logprobs

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False))
    model.train()
    width = prompt + length
    ids = torch.randint(0, vocab, (batch, width))
    att = torch.ones_like(ids)
    pos = torch.arange(prompt - 1, prompt - 1 + length).expand(batch, -1).contiguous()
    tok = ids[:, prompt:]
    mask = torch.ones(batch, length)
    base = _rss_mb()
    t0 = time.perf_counter()
    if mode == "full":
        logits = model(input_ids=ids, attention_mask=att, use_cache=False).logits
        resp = torch.gather(logits, 1, pos.unsqueeze(-1).expand(-1, -1, vocab))
        logp = A.token_logprobs(resp, tok)
        ent = A.entropy_from_logits(resp.detach())
    else:
        logp, ent = response_logprobs(model, ids, att, pos, tok, mask, chunk_tokens=chunk, with_entropy=True)
    (logp * mask).sum().backward()
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with torch.no_grad():
        checksum = float(logp.double().sum())
    return {"mode": mode, "vocab": vocab, "batch": batch, "length": length, "chunk": chunk if mode != "full" else None,
            "peak_extra_mb": round(peak - base, 1), "seconds": round(secs, 2), "logp_sum": checksum,
            "full_fp32_logits_mb": round(batch * width * vocab * 4 / 2**20, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory", description=__doc__.splitlines()[0])
    p.add_argument("--vocab", type=int, nargs="+", default=[32000, 151936])
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--length", type=int, default=1024, help="response tokens per sequence")
    p.add_argument("--prompt", type=int, default=32, help="prompt tokens per sequence")
    p.add_argument("--chunk", type=int, nargs="+", default=[512, 128])
    p.add_argument("--case", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.case:  # a child: one measurement
        c = json.loads(a.case)
        print(json.dumps(run_case(**c)))
        return 0
    rows = []
    for vocab in a.vocab:
        cases = [("full", 0)] + [("chunked", c) for c in a.chunk]
        for mode, chunk in cases:
            spec = json.dumps({"mode": mode, "vocab": vocab, "batch": a.batch, "length": a.length, "prompt": a.prompt, "chunk": chunk})
            out = subprocess.run([sys.executable, "-m", "benchmarks.bench_memory", "--case", spec], capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                return 1
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"vocab {vocab:>7}  {mode:>7}{'' if mode == 'full' else f' ({chunk} tok)':>11}  "
                  f"peak +{r['peak_extra_mb']:>7.1f} MB  {r['seconds']:>6.2f} s", flush=True)
    print()
    print(f"{a.batch} x {a.length} response tokens (+{a.prompt} prompt), hidden 64, 1 layer, CPU, 1 thread")
    print("| vocab | full logits (fp32 size) | full: peak | chunked: peak (chunk) | max |logp diff| |")
    print("|---|---|---|---|---|")
    for vocab in a.vocab:
        full = next(r for r in rows if r["vocab"] == vocab and r["mode"] == "full")
        chunked = [r for r in rows if r["vocab"] == vocab and r["mode"] == "chunked"]
        ch = ", ".join(f"{r['peak_extra_mb']:.0f} MB ({r['chunk']})" for r in chunked)
        diff = max(abs(r["logp_sum"] - full["logp_sum"]) for r in chunked) / (a.batch * a.length)
        print(f"| {vocab:,} | {full['full_fp32_logits_mb']:.0f} MB | {full['peak_extra_mb']:.0f} MB | {ch} | {diff:.1e} (mean) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
