"""Math verification: prolong's MathVerifier against math-verify, side by side.

Both score the same labelled corpus (benchmarks/data/math_corpus.py: >1,000 responses
that look like model output, across every answer class prolong documents, plus a few
hostile ones), one item at a time on the main thread (math-verify's timeouts use
signal.alarm, so it must run there), interleaved item by item so that machine load
affects both alike. prolong's sympy stage runs in its worker process while the caller
waits: one computation at a time for both. Prints throughput, the ratio, agreement, accuracy
against the labels, a per-class table and the disagreements by class with examples.

    python benchmarks/bench_math.py            # add --no-batch to skip prolong.verify_batch
    python benchmarks/bench_math.py --cold     # each tool in a fresh process, imports included
    python benchmarks/bench_math.py --cold --baseline ../before   # and prolong from another tree
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from math_corpus import build_corpus  # noqa: E402


def make_prolong():
    from prolong.envs.math import MathVerifier

    v = MathVerifier()

    def score(gold: str, response: str) -> tuple[bool, str]:
        verdict = v(response, gold)
        return verdict.correct, str(verdict.details.get("path", verdict.reason))

    return score


def make_prolong_batch():
    """prolong.verify_batch over the whole corpus at once (worker processes, as users call it)."""
    import prolong

    def score_all(golds: list[str], responses: list[str]) -> list[bool]:
        return [v.correct for v in prolong.verify_batch("math", responses, golds)]

    return score_all


def make_math_verify():
    import logging

    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)

    def score(gold: str, response: str) -> tuple[bool, str]:
        try:
            return bool(verify(parse("$" + gold + "$"), parse(response))), ""
        except Exception:  # noqa: BLE001 - a timeout or parse failure counts as wrong
            return False, ""

    return score


WARM_UP = (("\\frac{\\sqrt{3}}{2}", "\\boxed{\\frac{1}{2}\\sqrt3}"), ("x^2-1", "\\boxed{(x-1)(x+1)}"), ("5", "\\boxed{5}"))


def run_both(corpus: list[dict]) -> tuple[list[bool], list[float], list[str], list[bool], list[float]]:
    """Score every item with both tools, alternating which goes first, so that changes
    in machine load affect both alike."""
    p_score, m_score = make_prolong(), make_math_verify()
    for g, r in WARM_UP:  # imports, the sympy worker, parser caches
        p_score(g, r)
        m_score(g, r)
    p_out, p_t, p_paths, m_out, m_t = [], [], [], [], []
    for k, item in enumerate(corpus):
        order = ((p_score, True), (m_score, False)) if k % 2 == 0 else ((m_score, False), (p_score, True))
        for score, is_prolong in order:
            t = time.perf_counter()
            ok, path = score(item["gold"], item["response"])
            dt = time.perf_counter() - t
            if is_prolong:
                p_out.append(ok)
                p_t.append(dt)
                p_paths.append(path)
            else:
                m_out.append(ok)
                m_t.append(dt)
    return p_out, p_t, p_paths, m_out, m_t


_COLD_SCRIPT = """
import sys, time
t0 = time.perf_counter()
sys.path[:0] = {paths!r}
from math_corpus import build_corpus
corpus = [c for c in build_corpus(seed=0) if c["cls"] != "hostile"]
t0, t_build = time.perf_counter(), time.perf_counter() - t0
import bench_math
sys.path.insert(0, {root!r})  # the tree under test, ahead of the root bench_math inserts
score = bench_math.make_{tool}()
if "{tool}" == "prolong_batch":
    score([c["gold"] for c in corpus], [c["response"] for c in corpus])
else:
    for c in corpus:
        score(c["gold"], c["response"])
dt = time.perf_counter() - t0
import prolong
assert prolong.__file__.startswith({root!r}), prolong.__file__
print(len(corpus), dt)
"""


def cold(repeats: int = 1, baseline: str | None = None) -> int:
    """Throughput of each tool in a fresh interpreter over the realistic items, once:
    imports, sympy, parser warm-up and (for prolong) the worker's start are all counted.
    With ``baseline`` (another source tree, e.g. a checkout before a change), prolong is
    also timed from that tree, interleaved with this one, so that load affects both alike."""
    import subprocess

    here = Path(__file__).resolve()
    trees = [("", here.parents[1])]
    if baseline:
        trees.append(("base ", Path(baseline).resolve()))
    runs = [(label + tool, tool, root) for tool in ("prolong", "prolong_batch") for label, root in trees]
    runs.append(("math_verify", "math_verify", here.parents[1]))
    rates: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for name, tool, root in runs:
            # the tree's own prolong (a path entry wins over the editable install's finder)
            paths = [str(here.parent / "data"), str(here.parent), str(root)]
            out = subprocess.run(
                [sys.executable, "-c", _COLD_SCRIPT.format(paths=paths, tool=tool, root=str(root))],
                capture_output=True, text=True, check=True, cwd=str(root),
            ).stdout.split()
            n, dt = int(out[-2]), float(out[-1])
            rates[name].append(n / dt)
            print(f"cold {name:18} {n} items in {dt:6.2f} s: {n / dt:7.1f} items/s")
    m = max(rates["math_verify"])
    for label, _ in trees:
        p, b = max(rates[label + "prolong"]), max(rates[label + "prolong_batch"])
        print(f"cold throughput ratio {label}prolong (one call per item) / math-verify (best of {repeats}): {p / m:.1f}x")
        print(f"cold throughput ratio {label}prolong.verify_batch / math-verify (best of {repeats}): {b / m:.1f}x")
    return 0


def answer_of(item: dict) -> str:
    if "answer" in item:
        return item["answer"]
    r = item["response"]
    return (r[:60] + "...") if len(r) > 60 else r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-batch", action="store_true", help="skip prolong.verify_batch")
    ap.add_argument("--examples", type=int, default=3, help="examples per disagreement class")
    ap.add_argument("--cold", action="store_true", help="only the fresh-process (cold) throughput of each tool")
    ap.add_argument("--repeats", type=int, default=2, help="fresh processes per tool with --cold")
    ap.add_argument("--baseline", metavar="DIR", help="with --cold: also time prolong from this source tree, interleaved")
    args = ap.parse_args(argv)
    if args.cold:
        return cold(args.repeats, args.baseline)

    corpus = build_corpus(seed=0)
    realistic = [i for i, c in enumerate(corpus) if c["cls"] != "hostile"]
    hostile = [i for i, c in enumerate(corpus) if c["cls"] == "hostile"]
    labels = [c["label"] for c in corpus]
    print(f"corpus: {len(corpus)} (response, gold) pairs: {len(realistic)} realistic "
          f"({sum(labels[i] for i in realistic)} right, {len(realistic) - sum(labels[i] for i in realistic)} wrong or no answer), "
          f"{len(hostile)} hostile; {len({c['gold'] for c in corpus})} distinct golds")

    p_out, p_t, p_paths, m_out, m_t = run_both(corpus)

    def rate(times: list[float], idx: list[int]) -> float:
        return len(idx) / max(sum(times[i] for i in idx), 1e-9)

    def acc(out: list[bool], idx: list[int]) -> float:
        return sum(out[i] == labels[i] for i in idx) / max(len(idx), 1)

    print()
    print(f"{'':28}{'items/s realistic':>18}{'items/s all':>13}{'accuracy realistic':>20}{'hostile right':>15}{'slowest item s':>16}")
    for name, out, times in (("prolong (1 process)", p_out, p_t), ("math-verify 0.9", m_out, m_t)):
        print(f"{name:28}{rate(times, realistic):>18.1f}{rate(times, list(range(len(corpus)))):>13.1f}"
              f"{acc(out, realistic):>20.2%}{sum(out[i] == labels[i] for i in hostile):>11}/{len(hostile)}"
              f"{max(times):>16.2f}")
    ratio_r = rate(p_t, realistic) / rate(m_t, realistic)
    ratio_a = rate(p_t, list(range(len(corpus)))) / rate(m_t, list(range(len(corpus))))
    print(f"\nthroughput ratio prolong / math-verify: {ratio_r:.1f}x on realistic items, {ratio_a:.1f}x on all (target >= 3x)")
    agree = [i for i in range(len(corpus)) if p_out[i] == m_out[i]]
    print(f"agreement: {len(agree) / len(corpus):.2%} ({len(corpus) - len(agree)} disagreements)")
    print("prolong decided by: " + ", ".join(f"{k} {v}" for k, v in Counter(p_paths).most_common()))

    if not args.no_batch:
        import prolong

        responses = [c["response"] for c in corpus]
        golds = [c["gold"] for c in corpus]
        t = time.perf_counter()
        b_out = prolong.verify_batch("math", responses, golds)
        dt = time.perf_counter() - t
        same = sum(b.correct == p for b, p in zip(b_out, p_out))
        print(f"prolong.verify_batch (all items, {os.cpu_count()} CPUs): {len(corpus) / dt:.1f} items/s; "
              f"same verdicts as single calls: {same}/{len(corpus)}")

    by_cls: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(corpus):
        by_cls[c["cls"]].append(i)
    print(f"\n{'class':18}{'n':>5}{'prolong acc':>13}{'math-verify acc':>17}{'agree':>8}")
    for cls, idx in by_cls.items():
        print(f"{cls:18}{len(idx):>5}{acc(p_out, idx):>13.1%}{acc(m_out, idx):>17.1%}"
              f"{sum(p_out[i] == m_out[i] for i in idx) / len(idx):>8.0%}")

    # where math-verify is wrong on an answer it gets right in another presentation, the
    # disagreement is about reading the final answer, not about equivalence
    by_answer: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, c in enumerate(corpus):
        if "answer" in c:
            by_answer[(c["gold"], c["answer"])].append(i)
    extraction = [i for i in range(len(corpus)) if p_out[i] != m_out[i] and "answer" in corpus[i]
                  and any(m_out[j] == labels[j] for j in by_answer[(corpus[i]["gold"], corpus[i]["answer"])])]
    print(f"\nof the disagreements, {len(extraction)} are on (gold, answer) pairs that math-verify scores right in "
          f"another presentation style, i.e. about reading the final answer:")
    for style, n in Counter(corpus[i]["style"] for i in extraction).most_common():
        print(f"    {n:4}  {style}")
    print("\ndisagreements by class (label = intended truth; [presentation style]):")
    for cls, idx in by_cls.items():
        dis = [i for i in idx if p_out[i] != m_out[i]]
        if not dis:
            continue
        p_right = sum(p_out[i] == labels[i] for i in dis)
        print(f"- {cls}: {len(dis)} (prolong matches the label in {p_right}, math-verify in {len(dis) - p_right})")
        seen = set()
        shown = 0
        for i in dis:
            key = (corpus[i]["gold"], answer_of(corpus[i]))
            if key in seen:
                continue
            seen.add(key)
            print(f"    gold {corpus[i]['gold']!r:30} answer {answer_of(corpus[i])!r:32} label {labels[i]!s:5} "
                  f"prolong {p_out[i]!s:5} math-verify {m_out[i]!s:5} [{corpus[i].get('style', '-')}]")
            shown += 1
            if shown >= args.examples:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
