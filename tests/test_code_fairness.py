"""The code sandbox under stuck programs, deadlines and dying workers.

* Fair share: stuck programs (of another caller, or of the same batch) delay an honest
  item by about one test timeout, not by their whole budget.
* ``deadline=``: each item is scored within it, waiting for a worker included.
* Infrastructure failures are not the program's: a run lost because its worker died is
  retried once; lost again, the item is a ``verifier error``, never a runtime error.
* Workers die with the process that owns them (SIGKILL, SIGTERM), also when the pool
  was made from a short-lived thread.

Limits are small (1 s per test, 2 workers) so the file runs in well under a minute.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from prolong import Reason
from prolong.envs.code import CodeVerifier, Execution, Limits, SandboxPool
from prolong.envs.code.sandbox import LOST, SKIPPED, TIMEOUT

T = 1.0  # seconds per test
W = 2  # workers
SLACK = 2.5  # scheduling, worker start-up and a loaded machine
STUCK = "while True:\n    pass"
HONEST = "print(int(input()) * 2)"
TESTS3 = {"inputs": ["1\n", "2\n", "3\n"], "outputs": ["2\n", "4\n", "6\n"]}


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


@pytest.fixture(scope="module")
def verifier():
    # packages= makes this pool its own (tests here kill its workers)
    v = CodeVerifier(timeout=T, problem_timeout=60.0, processes=W, packages=("numpy", "fairness-tests"))
    v.pool.start()
    yield v
    v.pool.close()


# -- fair share ------------------------------------------------------------------------------


def test_stuck_items_of_another_caller_delay_an_honest_item_by_one_test_timeout(verifier):
    n = W + 2  # more stuck programs than workers, 3 tests each: 12 s of sandbox time
    stuck_elapsed: list[float] = []
    stuck_verdicts: list = []

    def stuck_caller():
        t0 = time.monotonic()
        stuck_verdicts.extend(verifier.verify_batch([fenced(STUCK)] * n, [TESTS3] * n))
        stuck_elapsed.append(time.monotonic() - t0)

    thread = threading.Thread(target=stuck_caller)
    thread.start()
    time.sleep(0.4)  # every worker is now busy with a stuck program
    t0 = time.monotonic()
    honest = verifier(fenced(HONEST), TESTS3)
    honest_latency = time.monotonic() - t0
    thread.join()
    assert honest.correct, honest
    assert len(stuck_verdicts) == n and all(v.reward == 0.0 and v.reason == Reason.SANDBOX_LIMIT for v in stuck_verdicts)
    # it starts when the first worker frees (one test timeout), not after 12 s / 2 workers
    assert honest_latency < T + SLACK, f"honest item took {honest_latency:.2f} s"
    assert stuck_elapsed[0] >= n * 3 * T / W - 0.5
    assert honest_latency < stuck_elapsed[0] / 2


def test_stuck_items_in_the_same_batch_do_not_hold_back_an_honest_item(verifier):
    n = W + 2
    pool = verifier.pool
    stuck = [Execution(STUCK, "1\n", group=k) for k in range(n) for _ in range(3)]
    honest = [Execution(HONEST, x, group="honest") for x in ("1\n", "2\n", "3\n")]
    results = pool.run(stuck + honest, Limits(timeout=T), group_budget=60.0)
    mine = results[len(stuck) :]
    assert [r.stdout for r in mine] == [b"2\n", b"4\n", b"6\n"]
    honest_end = max(r.extra["end"] for r in mine)
    stuck_end = max(r.extra["end"] for r in results[: len(stuck)])
    # the first test of every stuck item goes first (nothing tells them apart yet), then the
    # honest item, which has used the least, runs all its tests: ~2 s, not the ~6 s a
    # round robin over tests would take
    rounds = -(-n // W)
    assert honest_end < rounds * T + SLACK, f"honest item ended at {honest_end:.2f} s"
    assert stuck_end >= n * 3 * T / W - 0.5
    assert all(r.status == TIMEOUT for r in results[: len(stuck)])


# -- deadline --------------------------------------------------------------------------------


def test_deadline_bounds_each_item_and_says_so(verifier):
    sleeper = fenced("import time\ntime.sleep(30)")
    responses = [fenced(HONEST)] + [sleeper] * (W + 2)
    answers = [{"inputs": ["1\n"], "outputs": ["2\n"]}] + [TESTS3] * (W + 2)
    start = time.monotonic()
    verdicts = verifier.verify_batch(responses, answers, deadline=1.5)
    elapsed = time.monotonic() - start
    assert elapsed < 1.5 + 1.5, f"took {elapsed:.2f} s"
    assert verdicts[0].correct
    for v in verdicts[1:]:
        assert v.reward == 0.0 and v.reason == Reason.TIMEOUT
        assert v.details["deadline_reached"] and v.details["deadline"] == 1.5
        assert {t["status"] for t in v.details["tests"]} <= {"timeout", "skipped"}
        # a test that ran its whole 1 s is the program's own timeout; the rest the deadline's
        assert any("deadline" in t["error"] for t in v.details["tests"])
    # without a deadline the same program is the program's own slowness
    slow = verifier(fenced("import time\ntime.sleep(30)"), {"inputs": ["1\n"], "outputs": ["2\n"]})
    assert slow.reason == Reason.SANDBOX_LIMIT and "deadline" not in slow.details
    with pytest.raises(ValueError, match="deadline"):
        verifier(fenced(HONEST), TESTS3, deadline=0)


def test_deadline_skips_what_never_started_and_keeps_passed_tests(verifier):
    # one worker's worth of tests pass at once, the rest are slow: partial reward, timeout reason
    program = "import time\nx = int(input())\nif x > 1:\n    time.sleep(30)\nprint(2 * x)"
    v = verifier(fenced(program), TESTS3, deadline=1.0)
    assert v.reason == Reason.TIMEOUT and v.details["deadline_reached"]
    assert v.details["tests"][0]["status"] == "passed" and v.reward == pytest.approx(1 / 3)
    raw = verifier.pool.run([Execution(HONEST, "1\n")] * 3, Limits(timeout=T), deadline=0)
    assert all(r.status == SKIPPED and r.extra["deadline"] for r in raw)


# -- infrastructure failures ---------------------------------------------------------------------


def _kill_runners(pool: SandboxPool, stop: threading.Event, once: bool, killed: list[int]) -> None:
    """Kill the runner of every worker 0.3 s into a run (once, or every run until stopped)."""
    seen: set[int] = set()
    while not stop.is_set():
        for w in list(pool._workers):
            run = w.run
            if run is None or id(run) in seen or time.monotonic() - run.started < 0.3:
                continue
            pid = w.runner_pid()
            if pid is None:
                continue
            seen.add(id(run))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            if once:
                return
        time.sleep(0.01)


def _with_killer(verifier, once: bool, fn):
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_runners, args=(verifier.pool, stop, once, killed))
    killer.start()
    try:
        return fn(), killed
    finally:
        stop.set()
        killer.join()


SLOW_HONEST = "import time\nx = int(input())\ntime.sleep(0.6)\nprint(2 * x)"


def test_a_worker_killed_mid_run_is_retried_and_the_program_is_not_charged(verifier):
    pool = verifier.pool
    retried, lost = pool.retried, pool.lost
    one = {"inputs": ["21\n"], "outputs": ["42\n"]}
    v, killed = _with_killer(verifier, True, lambda: verifier(fenced(SLOW_HONEST), one))
    assert len(killed) == 1
    assert v.correct and v.reason == Reason.CORRECT, v
    assert pool.retried == retried + 1 and pool.lost == lost + 1
    raw = verifier.pool.run([Execution(HONEST, "1\n")], Limits(timeout=T))
    assert raw[0].status == "ok" and "attempts" not in raw[0].extra


def test_a_worker_that_keeps_dying_is_a_verifier_error_not_a_runtime_error(verifier):
    pool = verifier.pool
    lost = pool.lost
    v, killed = _with_killer(verifier, False, lambda: verifier(fenced(SLOW_HONEST), TESTS3))
    assert v.reward == 0.0 and not v.correct and v.reason == Reason.ERROR, v
    assert "sandbox failed on test" in v.details["error"]
    statuses = [t["status"] for t in v.details["tests"]]
    assert LOST in statuses and "runtime error" not in statuses
    # one retry per item, then it stops (runs of the item already started when it failed may be lost too)
    assert 2 <= pool.lost - lost <= 2 + W - 1 and len(killed) >= 2
    assert verifier(fenced(HONEST), TESTS3).correct  # the pool recovered


def test_a_program_cannot_make_its_own_run_a_sandbox_failure(verifier):
    # what a program could try against its worker: every one is refused, so its failures stay its own
    program = textwrap.dedent(
        """
        import ctypes, os, signal, resource
        libc = ctypes.CDLL(None, use_errno=True)
        for target in (os.getppid(), 1, -1, 0 - os.getppid()):
            try:
                os.kill(target, signal.SIGKILL)
            except OSError:
                pass
        for call in (lambda: os.setpgid(0, 1), lambda: resource.prlimit(1, resource.RLIMIT_NOFILE, (1, 1))):
            try:
                call()
            except OSError:
                pass
        try:
            open("/proc/1/oom_score_adj", "w").write("1000")
        except OSError:
            pass
        raise SystemExit(3)
        """
    )
    pool = verifier.pool
    lost, replaced = pool.lost, pool.replaced
    v = verifier(fenced(program), TESTS3)
    assert v.reason == Reason.RUNTIME_ERROR and v.reward == 0.0
    assert pool.lost == lost and pool.replaced == replaced


# -- workers die with their owner ------------------------------------------------------------------

HOST = """
import json, os, sys, threading, time
from prolong.envs.code import CodeVerifier
from prolong.envs.code.runner import descendants

mode = sys.argv[1]
box = {}

def make():  # the pool is made and first used from a thread that then ends
    box["v"] = CodeVerifier(timeout=30, processes=2, sandbox=None if mode == "bwrap" else "unsafe-rlimits-only")
    box["v"].pool.start()
    assert box["v"]("```python\\nprint(1)\\n```", {"inputs": [""], "outputs": ["1"]}).reward == 1.0
    box["pids"] = [w.proc.pid for w in box["v"].pool._workers]

t = threading.Thread(target=make)
t.start()
t.join()
time.sleep(0.3)
v = box["v"]
assert v("```python\\nprint(2)\\n```", {"inputs": [""], "outputs": ["2"]}).reward == 1.0
# the workers outlived the thread that made the pool: the same processes, none replaced
assert [w.proc.pid for w in v.pool._workers] == box["pids"] and v.pool.replaced == 0, (box["pids"], v.pool.replaced)
threading.Thread(target=v, args=("```python\\nimport time\\ntime.sleep(100)\\n```", {"inputs": [""], "outputs": [""]}), daemon=True).start()
time.sleep(1.0)  # one program is running
child = os.fork()  # a forked process (a process pool's worker) holds copies of our descriptors
if child == 0:
    time.sleep(100)
    os._exit(0)
print(child, flush=True)
pids = []
for w in v.pool._workers:
    pids.append(w.proc.pid)
    pids.extend(descendants(w.proc.pid))
print(json.dumps(pids), flush=True)
time.sleep(100)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"  # a zombie is dead


@pytest.mark.parametrize(("mode", "sig"), [("bwrap", signal.SIGKILL), ("bwrap", signal.SIGTERM), ("unsafe", signal.SIGKILL)])
def test_sandboxes_die_with_their_owner_even_when_it_is_killed(tmp_path, mode, sig):
    script = tmp_path / "host.py"
    script.write_text(HOST)
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        forked = proc.stdout.readline()
        line = proc.stdout.readline()
        assert line, proc.stderr.read()[-3000:]
        forked, pids = int(forked), json.loads(line)
        assert len(pids) >= 2 * (1 if mode == "unsafe" else 2) + 1  # workers (and runners), and a running program
        assert all(_alive(p) for p in pids)
        proc.send_signal(sig)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        assert not [p for p in pids if _alive(p)], "a sandbox process outlived its owner"
    finally:
        try:
            os.kill(forked, signal.SIGKILL)
        except (OSError, UnboundLocalError):
            pass
