"""The one process-pool abstraction of prolong: worker processes with killable deadlines.

``concurrent.futures`` and ``multiprocessing.Pool`` cannot stop a call that hangs
(sympy on ``9^{9^{9^9}}``, a regex gone quadratic): the worker stays busy forever.
Here each call has a wall-clock deadline; a worker whose call runs past it is
SIGKILLed and replaced, and the call's result is a :class:`CallTimeout`. A worker that
dies (segfault, out of memory) yields a :class:`CallError` for its call only.

No ``signal.alarm`` anywhere, so calls may be issued from any thread.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

__all__ = ["WorkerPool", "CallTimeout", "CallError", "default_pool", "cpu_count", "in_worker"]


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CallTimeout:
    """The call ran past its deadline; its worker was killed."""

    seconds: float


@dataclass(frozen=True)
class CallError:
    """The call raised (``message`` holds the traceback's last lines) or its worker died."""

    message: str


_IN_WORKER = False


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def in_worker() -> bool:
    """True inside a WorkerPool worker: a call there is already under a killable deadline."""
    return _IN_WORKER


def _worker_main(conn: Connection, memory_limit_mb: int | None, initializer: Callable[[], None] | None) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    if memory_limit_mb:
        import resource

        # On top of what the worker already maps (a forked child of a torch process
        # inherits gigabytes of address space), so the limit bounds new allocations.
        limit = int(memory_limit_mb) * 1024 * 1024 + _address_space_bytes()
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError):
            pass
    if initializer is not None:
        initializer()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        except Exception as e:  # the call's arguments could not be unpickled here
            conn.send((False, f"the call could not be received by the worker: {type(e).__name__}: {e}"))
            continue
        if msg is None:
            return
        fn, args = msg
        try:
            out = (True, fn(*args))
        except MemoryError:
            out = (False, "MemoryError: the worker's memory limit was reached")
        except BaseException:  # noqa: BLE001 - report anything the call raised, keep serving
            out = (False, "".join(traceback.format_exc().splitlines(keepends=True)[-6:]))
        try:
            conn.send(out)
        except Exception as e:  # unpicklable result
            conn.send((False, f"result could not be sent back: {e!r}"))


class _Worker:
    __slots__ = ("proc", "conn", "busy_with", "deadline", "started")

    def __init__(self, ctx: Any, memory_limit_mb: int | None, initializer: Callable[[], None] | None) -> None:
        parent, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_worker_main, args=(child, memory_limit_mb, initializer), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        self.busy_with: int | None = None
        self.deadline = 0.0
        self.started = 0.0

    def kill(self) -> None:
        try:
            self.proc.kill()
        except Exception:
            pass
        self.proc.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except Exception:
            pass
        self.proc.join(timeout=1)
        if self.proc.is_alive():
            self.kill()
        else:
            self.conn.close()


class WorkerPool:
    """A fixed number of worker processes running calls with per-call deadlines.

    Args:
        processes: number of workers (default: the CPUs this process may use).
        memory_limit_mb: how much memory a worker may allocate beyond what it maps at
            start (enforced with RLIMIT_AS; None: no limit).
        context: multiprocessing start method. ``fork`` (default on Linux) starts warm
            and, unlike ``forkserver`` and ``spawn``, does not re-import the user's
            ``__main__`` (a script without a main guard would run twice); workers only run
            verifiers, and a worker deadlocked by a lock held at fork time is killed at its
            deadline like any stuck call.
        initializer: called once in each worker (e.g. to warm imports).
    """

    def __init__(
        self,
        processes: int | None = None,
        *,
        memory_limit_mb: int | None = None,
        context: str | None = None,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        self.processes = int(processes or cpu_count())
        if self.processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        if context is None:
            context = "fork" if "fork" in mp.get_all_start_methods() and sys.platform.startswith("linux") else "spawn"
        self._ctx = mp.get_context(context)
        self._memory_limit_mb = memory_limit_mb
        self._initializer = initializer
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self.timeouts = 0
        self.errors = 0

    def _spawn(self) -> _Worker:
        return _Worker(self._ctx, self._memory_limit_mb, self._initializer)

    def _ensure_workers(self, n: int) -> None:
        while len(self._workers) < min(n, self.processes):
            self._workers.append(self._spawn())

    def map(
        self,
        fn: Callable[..., Any],
        args_list: Iterable[Sequence[Any]],
        *,
        timeout: float,
        progress: Callable[[int], None] | None = None,
    ) -> list[Any]:
        """Run ``fn(*args)`` for each args; results in order.

        Each result is the return value, a :class:`CallTimeout`, or a :class:`CallError`.
        ``progress(k)`` is called as calls finish (k of them at a time).
        """
        jobs = [tuple(a) for a in args_list]
        results: list[Any] = [None] * len(jobs)
        if not jobs:
            return results
        with self._lock:
            if self._closed:
                raise RuntimeError("this WorkerPool is closed")
            self._ensure_workers(len(jobs))
            pending = deque(range(len(jobs)))
            running: dict[Connection, _Worker] = {}
            done = 0
            while done < len(jobs):
                for w in self._workers:
                    if w.busy_with is None and pending:
                        i = pending.popleft()
                        try:
                            w.conn.send((fn, jobs[i]))
                        except Exception as e:  # unpicklable arguments: that call's error, not the batch's
                            results[i] = CallError(f"could not send the call to a worker: {e!r}")
                            done += 1
                            if progress:
                                progress(1)
                            continue
                        w.busy_with, w.started = i, time.monotonic()
                        w.deadline = w.started + timeout
                        running[w.conn] = w
                if not running:
                    continue
                now = time.monotonic()
                next_deadline = min(w.deadline for w in running.values())
                ready = wait(list(running), timeout=max(0.0, next_deadline - now))
                finished = 0
                for conn in ready:
                    w = running.pop(conn)
                    i = w.busy_with
                    try:
                        ok, value = conn.recv()
                        results[i] = value if ok else CallError(value)
                        if not ok:
                            self.errors += 1
                        w.busy_with = None
                    except (EOFError, OSError):  # the worker died mid-call
                        code = w.proc.exitcode
                        w.proc.join(timeout=1)
                        code = w.proc.exitcode if code is None else code
                        results[i] = CallError(f"worker process died (exit code {code})")
                        self.errors += 1
                        self._replace(w)
                    finished += 1
                now = time.monotonic()
                for conn, w in list(running.items()):
                    if w.deadline <= now:
                        running.pop(conn)
                        results[w.busy_with] = CallTimeout(timeout)
                        self.timeouts += 1
                        self._replace(w)
                        finished += 1
                done += finished
                if progress and finished:
                    progress(finished)
        return results

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """One call; raises TimeoutError past the deadline, RuntimeError if it raised."""
        (out,) = self.map(fn, [args], timeout=timeout)
        if isinstance(out, CallTimeout):
            raise TimeoutError(f"call to {getattr(fn, '__name__', fn)} ran past {timeout} s")
        if isinstance(out, CallError):
            raise RuntimeError(out.message)
        return out

    def _replace(self, w: _Worker) -> None:
        w.kill()
        idx = self._workers.index(w)
        self._workers[idx] = self._spawn()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for w in self._workers:
                w.stop()
            self._workers.clear()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_DEFAULT: WorkerPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool() -> WorkerPool:
    """The process-wide pool used by :func:`prolong.verify_batch` (one worker per CPU).

    Each worker may allocate 4 GiB beyond its start (``PROLONG_WORKER_MEMORY_MB``), so a
    hostile input cannot exhaust the machine's memory.
    """
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT._closed:
            _DEFAULT = WorkerPool(memory_limit_mb=int(os.environ.get("PROLONG_WORKER_MEMORY_MB", "4096")))
            atexit.register(_DEFAULT.close)
        return _DEFAULT
