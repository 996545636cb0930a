"""Code tests executed per second: prolong's sandbox against the two usual ways, side by side.

Corpus: the built-in problems' reference solutions on their tests (honest programs; every
one should pass). Three ways to run them, each with the same number of parallel workers
(one per CPU) and the same output comparison:

* prolong: ``CodeVerifier.verify_batch`` (warm bubblewrap workers, a forked child per
  test with rlimits and seccomp; fully isolated);
* (a) plain: one ``subprocess.run([python, solution.py])`` per test, no isolation at all;
* (b) bwrap: one bubblewrap sandbox (prolong's own bwrap options) and a fresh
  ``python -I -S solution.py`` per test.

Call-based tests run through a small harness in (a) and (b) (read the arguments as JSON,
print the JSON of the return value), as LiveCodeBench does. ``--corpus small`` keeps the
tests whose input is under 2 KB (where start-up cost, not the program, dominates; most
RL test suites look like this), ``--corpus all`` runs every test, ``--corpus both`` both.

    python benchmarks/bench_code.py               # both corpora
    python benchmarks/bench_code.py --corpus small --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from prolong.envs.code import CodeVerifier, builtin_problems  # noqa: E402
from prolong.envs.code.compare import outputs_match, parse_tests, values_match  # noqa: E402
from prolong.envs.code.sandbox import bwrap_argv, bwrap_path  # noqa: E402
from prolong.pool import cpu_count  # noqa: E402

HARNESS = """

import json as _json, sys as _sys
_args = _json.loads(_sys.stdin.read())
_fn = globals().get({fn!r})
if _fn is None:
    _fn = getattr(Solution(), {fn!r})
_sys.stdout.write(_json.dumps(_fn(*_args)))
"""


def corpus(kind: str) -> list[dict]:
    """One item per test: program, input, expected, mode, fn_name."""
    items = []
    for p in builtin_problems("all").problems:
        suite = parse_tests(p.answer)
        program = p.metadata["reference"]
        for inp, out in zip(suite.inputs, suite.outputs):
            size = len(inp) if isinstance(inp, str) else len(json.dumps(inp))
            if kind == "small" and size >= 2048:
                continue
            items.append({"problem": p, "program": program, "input": inp, "expected": out, "mode": suite.mode, "fn": suite.fn_name})
    return items


def judge(item: dict, stdout: str) -> bool:
    if item["mode"] == "stdio":
        return outputs_match(stdout, item["expected"])
    try:
        return values_match(json.loads(stdout), item["expected"])
    except ValueError:
        return False


def run_prolong(items: list[dict], workers: int) -> tuple[float, int]:
    verifier = CodeVerifier(timeout=30, problem_timeout=600, processes=workers)
    verifier.pool.start()
    verifier("```python\nprint(1)\n```", {"inputs": [""], "outputs": ["1"]})  # warm
    # one response per test, so each item is scored on exactly its own test
    responses = [f"```python\n{it['program']}\n```" for it in items]
    answers = [
        {"inputs": [it["input"]], "outputs": [it["expected"]], **({"fn_name": it["fn"]} if it["mode"] == "call" else {})}
        for it in items
    ]
    start = time.perf_counter()
    verdicts = verifier.verify_batch(responses, answers)
    return time.perf_counter() - start, sum(v.correct for v in verdicts)


def _script(item: dict, folder: str, k: int) -> tuple[str, str]:
    source = item["program"] + (HARNESS.format(fn=item["fn"]) if item["mode"] == "call" else "")
    path = os.path.join(folder, f"solution_{k}.py")
    with open(path, "w") as f:
        f.write(source)
    stdin = item["input"] if item["mode"] == "stdio" else json.dumps(item["input"])
    return path, stdin


def run_subprocess(items: list[dict], workers: int, sandboxed: bool) -> tuple[float, int]:
    folder = tempfile.mkdtemp(prefix="prolong-bench-")
    try:
        scripts = [_script(it, folder, k) for k, it in enumerate(items)]
        bwrap = bwrap_path()
        base = bwrap_argv(bwrap, 0) if sandboxed else []
        cut = base.index("--chdir") if sandboxed else 0
        python = base[cut + 2] if sandboxed else sys.executable

        def one(k: int) -> bool:
            path, stdin = scripts[k]
            if sandboxed:
                argv = base[:cut] + ["--ro-bind", path, "/tmp/solution.py", "--chdir", "/tmp", python, "-I", "-S", "/tmp/solution.py"]
            else:
                argv = [python, path]
            try:
                r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
            except subprocess.TimeoutExpired:
                return False
            return r.returncode == 0 and judge(items[k], r.stdout)

        one(0)  # warm the page cache
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as ex:
            passed = sum(ex.map(one, range(len(items))))
        return time.perf_counter() - start, passed
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench(kind: str, workers: int) -> None:
    items = corpus(kind)
    n = len(items)
    print(f"\ncorpus '{kind}': {n} tests of {len({it['problem'].id for it in items})} problems, {workers} workers")
    rows = []
    for name, fn in (
        ("prolong (warm bwrap workers, fork per test)", lambda: run_prolong(items, workers)),
        ("(a) subprocess.run(python file), no isolation", lambda: run_subprocess(items, workers, False)),
        ("(b) bwrap + fresh python -I -S per test", lambda: run_subprocess(items, workers, True)),
    ):
        seconds, passed = fn()
        rows.append((name, seconds, passed))
    ours = n / rows[0][1]
    print(f"{'method':48s} {'passed':>9s} {'seconds':>8s} {'tests/s':>8s} {'prolong is':>11s}")
    for name, seconds, passed in rows:
        rate = n / seconds
        print(f"{name:48s} {passed:>4d}/{n:<4d} {seconds:8.2f} {rate:8.1f} {ours / rate:10.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", choices=("small", "all", "both"), default="both")
    ap.add_argument("--workers", type=int, default=cpu_count())
    args = ap.parse_args()
    if bwrap_path() is None:
        raise SystemExit("bubblewrap is not installed: apt-get install bubblewrap")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for kind in (("small", "all") if args.corpus == "both" else (args.corpus,)):
        bench(kind, args.workers)


if __name__ == "__main__":
    main()
