"""The HTTP reward server against calling prolong.verify_batch in-process, side by side.

Same kind of items (each mode its own problems, so verifier caches start cold for
all), same batch size, same number of worker processes (one per CPU) on both sides. In-process: one ``prolong.verify_batch`` call per batch, one after another (its
pool runs one batch at a time). Server: ``prolong serve`` in a subprocess on loopback,
the same batches POSTed to /verify first by one client (latency like for like), then by
``--clients`` concurrent client threads on keep-alive connections (stdlib http.client,
a cheap client). Two workloads: ``math`` (the math verifier on reference and wrong
answers: real verification cost) and ``exact`` (an exact-match task: the transport's
overhead alone). Verdicts of both sides are compared item by item.

Prints items/s, p50 and p99 latency per batch, and server/in-process ratios.

    python benchmarks/bench_server.py                      # --items 2000 --batch 16 --clients 8
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXACT_TASK = '''
import prolong


def exact_problem(rng, index):
    return {"prompt": f"Say {index}.", "answer": str(index)}


def exact_verifier(response, answer):
    return response.strip() == answer


prolong.register_task("bench/exact-v0", problems=exact_problem, verifier=exact_verifier, domain="bench_exact")
'''


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
    return xs[k]


def workload(name: str, n: int, offset: int) -> tuple[str, list[str], list[str]]:
    """``n`` items; ``offset`` gives each mode its own problems, so no mode finds the
    verifier's caches warm from another."""
    if name == "exact":
        idx = range(offset, offset + n)
        return "bench_exact", [str(i) if i % 2 else f"{i}!" for i in idx], [str(i) for i in idx]
    import gymnasium as gym

    task = gym.make("prolong/math-v0").unwrapped.task
    problems = [task.problems[offset + i] for i in range(max(2, n // 2))]
    responses, answers = [], []
    for i in range(n):
        p = problems[i % len(problems)]
        other = problems[(i + 1) % len(problems)]
        responses.append(task.reference(p) if i % 2 == 0 else task.reference(other))
        answers.append(p.answer)
    return "math", responses, answers


def start_server(workers: int, tasks_file: str) -> tuple[subprocess.Popen, str, int]:
    cmd = [sys.executable, "-m", "prolong.cli", "serve", "--host", "127.0.0.1", "--port", "0", "--workers", str(workers), "--import", tasks_file]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            m = re.search(r"ready on http://([\d.]+):(\d+)", proc.stdout.readline())
            if m:
                return proc, m.group(1), int(m.group(2))
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"server did not start: {proc.stderr.read()[-2000:]}")


def run_inprocess(domain: str, batches: list[tuple[list[str], list[str]]]) -> tuple[float, list[float], list[dict]]:
    import prolong

    lat, verdicts = [], []
    t0 = time.perf_counter()
    for responses, answers in batches:
        t = time.perf_counter()
        verdicts += [v.to_dict() for v in prolong.verify_batch(domain, responses, answers)]
        lat.append(time.perf_counter() - t)
    return time.perf_counter() - t0, lat, verdicts


def run_server(host: str, port: int, domain: str, batches: list[tuple[list[str], list[str]]], clients: int) -> tuple[float, list[float], list[dict]]:
    bodies = [
        json.dumps({"items": [{"domain": domain, "response": r, "answer": a} for r, a in zip(rs, ans)]}).encode()
        for rs, ans in batches
    ]
    results: list[list[dict] | None] = [None] * len(bodies)
    lat: list[float] = [0.0] * len(bodies)
    todo = iter(range(len(bodies)))
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=300)
        while True:
            with lock:
                k = next(todo, None)
            if k is None:
                conn.close()
                return
            t = time.perf_counter()
            conn.request("POST", "/verify", bodies[k], {"content-type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            lat[k] = time.perf_counter() - t
            if r.status != 200:
                raise SystemExit(f"server answered {r.status}: {body[:500]!r}")
            results[k] = json.loads(body)["results"]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    return wall, lat, [v for chunk in results for v in chunk]  # type: ignore[union-attr]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=2000, help="items per workload")
    ap.add_argument("--batch", type=int, default=16, help="items per request / verify_batch call")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client threads in the concurrent server run")
    ap.add_argument("--workers", type=int, default=None, help="worker processes on both sides (default: the CPUs)")
    ap.add_argument("--workloads", default="math,exact")
    args = ap.parse_args()

    import prolong
    from prolong.adapters.server import load_imports
    from prolong.pool import cpu_count

    workers = args.workers or cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        tasks_file = os.path.join(tmp, "bench_tasks.py")
        Path(tasks_file).write_text(EXACT_TASK)
        load_imports([tasks_file])
        if workers != cpu_count():
            from prolong import pool as pool_mod

            pool_mod._DEFAULT = pool_mod.WorkerPool(workers)
        proc, host, port = start_server(workers, tasks_file)
        try:
            print(f"prolong {prolong.__version__}: {args.items} items per workload, batches of {args.batch}, "
                  f"{workers} worker processes each side, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
            print()
            header = f"{'workload':<8} {'mode':<28} {'items/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
            print(header)
            print("-" * len(header))
            ratios = []
            for name in [w.strip() for w in args.workloads.split(",") if w.strip()]:
                modes = ["in-process verify_batch", "server, 1 client", f"server, {args.clients} clients"]
                sets = {}
                for k, mode in enumerate(modes):
                    domain, responses, answers = workload(name, args.items, offset=(k + 1) * args.items)
                    sets[mode] = [(responses[i : i + args.batch], answers[i : i + args.batch]) for i in range(0, len(responses), args.batch)]
                warm = workload(name, 2 * args.batch, offset=0)
                run_server(host, port, domain, [(warm[1], warm[2])], 1)  # warm both paths for this domain
                run_inprocess(domain, [(warm[1], warm[2])])
                rows = {}
                rows[modes[0]] = run_inprocess(domain, sets[modes[0]])
                rows[modes[1]] = run_server(host, port, domain, sets[modes[1]], 1)
                rows[modes[2]] = run_server(host, port, domain, sets[modes[2]], args.clients)
                for mode, (wall, lat, verdicts) in rows.items():
                    # the same items through prolong.verify_batch, untimed: the server must agree
                    base = [v.to_dict() for rs, ans in sets[mode] for v in prolong.verify_batch(domain, rs, ans)]
                    mismatches = sum(a != b for a, b in zip(verdicts, base)) + abs(len(verdicts) - len(base))
                    note = "" if mismatches == 0 else f"  ({mismatches} verdicts differ from in-process!)"
                    print(f"{name:<8} {mode:<28} {len(verdicts) / wall:>9.0f} {1000 * percentile(lat, 50):>8.2f} "
                          f"{1000 * percentile(lat, 99):>8.2f}{note}")
                ref_wall, ref_lat, _ = rows["in-process verify_batch"]
                for mode in list(rows)[1:]:
                    wall, lat, _ = rows[mode]
                    ratios.append((name, mode, ref_wall / wall, percentile(lat, 50) / percentile(ref_lat, 50), percentile(lat, 99) / percentile(ref_lat, 99)))
            print()
            print("server / in-process (throughput > 1: the server is faster; latency > 1: the server is slower)")
            print(f"{'workload':<8} {'mode':<28} {'throughput':>10} {'p50':>8} {'p99':>8}")
            for name, mode, thr, p50, p99 in ratios:
                print(f"{name:<8} {mode:<28} {thr:>9.2f}x {p50:>7.2f}x {p99:>7.2f}x")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
