"""prolong.pool.WorkerPool: per-call futures, deadlines counted per call, stuck calls that
hold only their own worker, and workers (nested ones too) that die with their parent."""

import multiprocessing
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Future

import pytest

from prolong.pool import CallError, CallTimeout, WorkerPool, in_worker
from processes import alive, descendants, wait_gone


def _inc(x):
    return x + 1


def _sleep(s):
    time.sleep(s)
    return s


def _boom():
    raise ValueError("boom on purpose")


def _pid():
    return os.getpid()


def _slow_init():
    time.sleep(1.0)


def _bad_init():
    raise RuntimeError("initializer broke on purpose")


# --------------------------------------------------------------------------- submit


def test_submit_gives_a_future_of_the_value_the_error_or_the_timeout():
    with WorkerPool(2) as pool:
        ok = pool.submit(_inc, 41, timeout=5)
        err = pool.submit(_boom, timeout=5)
        stuck = pool.submit(_sleep, 60, timeout=0.5)
        assert isinstance(ok, Future)
        assert ok.result(timeout=10) == 42
        out = err.result(timeout=10)
        assert isinstance(out, CallError) and "boom on purpose" in out.message
        t0 = time.monotonic()
        out = stuck.result(timeout=10)
        assert isinstance(out, CallTimeout) and out.seconds == 0.5
        assert time.monotonic() - t0 < 3
        assert pool.timeouts == 1 and pool.errors == 1
        assert pool.call(_inc, 1, timeout=5) == 2  # the killed worker was replaced


def test_a_stuck_call_holds_only_its_own_worker():
    with WorkerPool(2) as pool:
        pool.map(_inc, [(0,), (0,)], timeout=10)  # both workers started
        stuck = pool.submit(_sleep, 60, timeout=30)
        time.sleep(0.2)
        t0 = time.monotonic()
        futures = pool.submit_many(_inc, [(i,) for i in range(300)], timeout=30)
        assert [f.result(timeout=10) for f in futures] == [i + 1 for i in range(300)]
        assert time.monotonic() - t0 < 5, "quick calls waited behind the stuck one"
        assert not stuck.done()
    assert isinstance(stuck.result(timeout=5), CallError)  # closing the pool ended it


def test_the_deadline_counts_from_the_start_in_a_worker_not_from_submission():
    with WorkerPool(1) as pool:
        futures = [pool.submit(_sleep, 0.4, timeout=1.0) for _ in range(4)]  # 1.6 s in all, 0.4 s each
        assert [f.result(timeout=20) for f in futures] == [0.4] * 4


def test_start_up_time_is_not_counted_against_a_call():
    with WorkerPool(1, initializer=_slow_init) as pool:
        assert pool.call(_inc, 1, timeout=0.5) == 2


def test_a_worker_that_cannot_start_fails_the_waiting_calls_instead_of_hanging():
    with WorkerPool(1, initializer=_bad_init) as pool:
        out = pool.submit(_inc, 1, timeout=5).result(timeout=30)
        assert isinstance(out, CallError) and "initializer broke on purpose" in out.message
        with pytest.raises(RuntimeError, match="could not start"):
            pool.start(timeout=30)


def test_start_brings_up_every_worker_and_keeps_them_up():
    with WorkerPool(3) as pool:
        pool.start(timeout=30)
        pids = {w.proc.pid for w in pool._workers}
        assert len(pids) == 3
        assert isinstance(pool.submit(_sleep, 60, timeout=0.3).result(timeout=10), CallTimeout)
        deadline = time.monotonic() + 10
        while sum(w.ready for w in pool._workers) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sum(w.ready for w in pool._workers) == 3  # the replacement started without a call asking


def test_a_call_cancelled_before_it_starts_never_runs():
    with WorkerPool(1) as pool:
        pool.call(_inc, 0, timeout=10)
        first = pool.submit(_sleep, 0.5, timeout=10)
        second = pool.submit(_boom, timeout=10)
        assert second.cancel()
        assert first.result(timeout=10) == 0.5
        assert second.cancelled() and pool.errors == 0


def test_closing_ends_waiting_and_running_calls_and_refuses_new_ones():
    pool = WorkerPool(1)
    running = pool.submit(_sleep, 60, timeout=60)
    waiting = pool.submit(_inc, 1, timeout=60)
    time.sleep(0.3)
    t0 = time.monotonic()
    pool.close()
    assert time.monotonic() - t0 < 5
    assert all(isinstance(f.result(timeout=1), CallError) for f in (running, waiting))
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(_inc, 1, timeout=1)
    with pytest.raises(RuntimeError, match="closed"):
        pool.map(_inc, [(1,)], timeout=1)


# --------------------------------------------------------------------------- map


def test_map_keeps_order_reports_progress_and_isolates_an_unpicklable_argument():
    seen = []
    with WorkerPool(2) as pool:
        args = [(i,) for i in range(50)] + [(lambda: 0,)]  # a lambda cannot be pickled
        out = pool.map(_inc, args, timeout=10, progress=seen.append)
        assert out[:50] == [i + 1 for i in range(50)]
        assert isinstance(out[50], CallError) and "could not send" in out[50].message
        assert sum(seen) == 51 and all(k >= 1 for k in seen)
        assert pool.map(_inc, [], timeout=1) == []


def test_map_async_calls_back_once_with_every_result():
    got = []
    done = threading.Event()
    with WorkerPool(2) as pool:
        job = pool.map_async(_inc, [(i,) for i in range(20)] + [(60,)], timeout=10, callback=lambda r: (got.append(list(r)), done.set()))
        assert done.wait(20) and job.done()
        assert got[0][:20] == [i + 1 for i in range(20)] and got[0][20] == 61 and len(got) == 1
        empty = pool.map_async(_inc, [], timeout=1, callback=got.append)
        assert empty.done() and got[-1] == []
        pool.call(_inc, 0, timeout=10)
        blocker = pool.map_async(_sleep, [(0.5,), (0.5,)], timeout=10)
        dropped = pool.map_async(_boom, [()] * 5, timeout=10)
        dropped.cancel()
        assert blocker.wait(20) and blocker.results == [0.5, 0.5]
        time.sleep(0.2)
        assert pool.errors == 0 and not dropped.done()


def test_many_threads_submit_at_once_and_each_gets_its_own_answers():
    with WorkerPool(2) as pool:
        answers = {}

        def client(k):
            answers[k] = pool.map(_inc, [(k * 1000 + i,) for i in range(200)], timeout=30)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(answers[k] == [k * 1000 + i + 1 for i in range(200)] for k in range(8))


def test_many_tiny_calls_keep_a_high_throughput():
    """The dispatcher must not be the bottleneck: thousands of calls a second even on a
    busy two-core machine (about 20,000 a second when idle)."""
    with WorkerPool(2) as pool:
        pool.start(timeout=30)
        n = 5000
        t0 = time.perf_counter()
        assert pool.map(_inc, [(i,) for i in range(n)], timeout=30) == [i + 1 for i in range(n)]
        rate = n / (time.perf_counter() - t0)
    assert rate > 2000, f"{rate:.0f} calls/s"


def _use_inherited_pool(pool, q):
    try:
        q.put(("ok", pool.call(_pid, timeout=10) != os.getppid()))
    except BaseException as e:  # noqa: BLE001
        q.put(("error", repr(e)))


def test_a_forked_child_can_use_a_pool_it_inherited():
    ctx = multiprocessing.get_context("fork")
    with WorkerPool(1) as pool:
        pool.call(_inc, 0, timeout=10)
        q = ctx.Queue()
        child = ctx.Process(target=_use_inherited_pool, args=(pool, q))
        child.start()
        assert q.get(timeout=30) == ("ok", True)
        child.join(10)
        assert pool.call(_inc, 1, timeout=10) == 2  # and the parent's is untouched


def _nested_pids():
    inner = WorkerPool(1)
    return os.getpid(), inner.call(_pid, timeout=10), in_worker()


def test_a_worker_can_run_a_pool_of_its_own():
    with WorkerPool(1) as pool:
        outer, inner, flag = pool.call(_nested_pids, timeout=30)
        assert outer != inner and flag is True


# --------------------------------------------------------------------------- dying with the parent


def run_until_ready(script, tmp_path, env=None):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    proc = subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=str(tmp_path), env=dict(os.environ, **(env or {})),
    )  # fmt: skip
    end = time.monotonic() + 90
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready and "READY" in proc.stdout.readline():
            return proc
        if proc.poll() is not None:
            break
    proc.kill()
    pytest.fail(f"the script did not get ready: {proc.stderr.read()[-3000:]}")


POOL_SCRIPT = """
import re, threading, time
from prolong.pool import WorkerPool

def regex_forever():  # holds the GIL in C: only the kernel's death signal can stop it
    return re.match(r"(a+)+$", "a" * 64 + "b")

def nested():
    inner = WorkerPool(2)
    inner.map(time.sleep, [(0,), (0,)], timeout=10)
    time.sleep(600)

made = {}
def make():  # a pool created by a thread that exits at once
    made["pool"] = WorkerPool(3)
t = threading.Thread(target=make)
t.start(); t.join()
pool = made["pool"]
pool.start(30)
pool.submit(regex_forever, timeout=600)
pool.submit(nested, timeout=600)
pool.submit(time.sleep, 600, timeout=600)
time.sleep(1.5)
print("READY", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_and_their_own_workers_die_with_the_parent(tmp_path, sig):
    proc = run_until_ready(POOL_SCRIPT, tmp_path)
    pids = []
    try:
        pids = descendants(proc.pid)
        assert len(pids) >= 5, pids  # 3 workers, 2 nested ones
        os.kill(proc.pid, sig)
        proc.wait(10)
        t0 = time.monotonic()
        left = wait_gone(pids, 3.0)
        assert not left, f"{len(left)} workers outlived their parent"
        assert time.monotonic() - t0 < 2.0
    finally:
        proc.kill()
        for p in alive(pids):  # what this test started, should it fail
            os.kill(p, signal.SIGKILL)


VERIFY_SCRIPT = """
import time
import prolong
import my_tasks

answers = [str(i) for i in range(8)]
verdicts = prolong.verify_batch("pool_add", answers, answers)
assert all(v.correct for v in verdicts), verdicts
verdicts = prolong.verify_batch("math", ["\\\\boxed{(x+1)^2}", "\\\\boxed{x^2+2x+1}"], ["x^2+2x+1", "(x+1)^2"])
assert all(v.correct for v in verdicts), verdicts
print("READY", flush=True)
time.sleep(600)
"""

MY_TASKS = """
import prolong

def problems(rng, index):
    return {"prompt": "?", "answer": str(index)}

def verifier(response, answer):
    return prolong.Verdict.right(response) if response == answer else prolong.Verdict.wrong()

prolong.register_task("pool/add-v0", problems=problems, verifier=verifier, domain="pool_add")
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_script_using_verify_batch_leaves_no_worker_when_killed(tmp_path, sig):
    (tmp_path / "my_tasks.py").write_text(MY_TASKS)
    proc = run_until_ready(VERIFY_SCRIPT, tmp_path, env={"PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    pids = []
    try:
        pids = descendants(proc.pid)
        assert pids, "verify_batch started no worker process"
        os.kill(proc.pid, sig)
        proc.wait(10)
        left = wait_gone(pids, 2.0)
        assert not left, f"{len(left)} of {len(pids)} workers outlived the script"
    finally:
        proc.kill()
        for p in alive(pids):
            os.kill(p, signal.SIGKILL)
