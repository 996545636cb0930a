"""The one process-pool abstraction of prolong: worker processes with killable deadlines.

``concurrent.futures`` and ``multiprocessing.Pool`` cannot stop a call that hangs
(sympy on ``9^{9^{9^9}}``, a regex gone quadratic): the worker stays busy forever.
Here each call has a wall-clock deadline, counted from when the call starts in a
worker; a worker whose call runs past it is SIGKILLed and replaced, and the call's
result is a :class:`CallTimeout`. A worker that dies (segfault, out of memory) yields a
:class:`CallError` for its call only.

How it works: each pool has one dispatcher thread that owns the workers. Callers put
calls on a queue (:meth:`WorkerPool.submit` returns a ``concurrent.futures.Future`` per
call; :meth:`WorkerPool.call`, :meth:`WorkerPool.map` and :meth:`WorkerPool.map_async`
use the same queue, map with one lighter handle for all its calls) and wake the
dispatcher through a pipe; the pool's lock is held only to hand calls out. The
dispatcher waits on every worker's pipe, the wake-up pipe and the nearest deadline at
once, so a stuck call holds its own worker and nothing else: the other workers keep
taking calls from the queue. A worker is handed calls only once it has started
(initializer done), so start-up time never counts against a call's deadline.

Workers die with their parent. Each worker asks the kernel for SIGKILL when the thread
that created it exits (``PR_SET_PDEATHSIG``; that thread is the pool's dispatcher, which
lives as long as the pool) and runs a watchdog thread that exits the worker as soon as
its parent process changes (the parent died: SIGKILL, SIGTERM, a crash). So no worker,
and no worker of a pool nested inside a worker, outlives the process that made it.

No ``signal.alarm`` anywhere, so calls may be issued from any thread.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import pickle
import selectors
import signal
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

__all__ = ["WorkerPool", "MapJob", "CallTimeout", "CallError", "default_pool", "cpu_count", "in_worker", "close_all_pools"]

#: How often a worker's watchdog checks that its parent is still alive (seconds).
PARENT_WATCH_INTERVAL = 0.25


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


# --------------------------------------------------------------------------- the worker side

_PR_SET_PDEATHSIG = 1
_LIBC: Any = None


def _load_libc() -> Any:
    """libc for prctl, loaded in the parent so that a forked worker does not pay for it."""
    global _LIBC
    if _LIBC is None and sys.platform.startswith("linux"):
        try:
            import ctypes

            _LIBC = ctypes.CDLL(None, use_errno=True)
        except Exception:  # noqa: BLE001 - the watchdog thread still covers it
            _LIBC = False
    return _LIBC


def _watch_parent(ppid: int) -> None:
    while True:
        time.sleep(PARENT_WATCH_INTERVAL)
        if os.getppid() != ppid:  # re-parented: the process that made us is gone
            os._exit(1)


def _die_with_parent(parent_pid: int | None) -> None:
    """SIGKILL when the creating thread exits (kernel), and a watchdog on the parent's pid.

    The kernel's signal also fires while this worker holds the GIL in a long C call (a
    regex); the watchdog covers what it misses (a creating thread that exited first).
    """
    libc = _load_libc()
    if libc:
        try:
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except Exception:  # noqa: BLE001
            pass
    ppid = os.getppid()
    if parent_pid is not None and ppid != parent_pid:  # the parent died before prctl
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(ppid,), name="prolong-parent-watch", daemon=True).start()


def _allow_children() -> None:
    """multiprocessing refuses children to a daemonic process; a verifier running here may
    start its own WorkerPool (whose workers die with this one, see _die_with_parent)."""
    try:
        mp.current_process()._config["daemon"] = False  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        pass


def _worker_main(
    conn: Connection, memory_limit_mb: int | None, initializer: Callable[[], None] | None, parent_pid: int | None
) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    _die_with_parent(parent_pid)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; we die with it
    except (ValueError, OSError):
        pass
    _allow_children()
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
        try:
            initializer()
        except BaseException:  # noqa: BLE001 - reported to the pool, which fails the waiting calls
            try:
                conn.send((None, "".join(traceback.format_exc().splitlines(keepends=True)[-6:])))
            except Exception:  # noqa: BLE001
                pass
            return
    conn.send((None, None))  # ready: calls may come now
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


# --------------------------------------------------------------------------- the pool side


class _Call:
    __slots__ = ("payload", "timeout", "future", "dispatched")

    def __init__(self, payload: Any, timeout: float, future: Future) -> None:
        self.payload = payload
        self.timeout = timeout
        self.future = future
        self.dispatched = False


class _Worker:
    __slots__ = ("proc", "conn", "call", "deadline", "ready", "start_deadline")

    def __init__(self, proc: Any, conn: Connection, start_deadline: float) -> None:
        self.proc = proc
        self.conn = conn
        self.call: _Call | None = None
        self.deadline = 0.0
        self.ready = False
        self.start_deadline = start_deadline


class MapJob:
    """Calls queued together by :meth:`WorkerPool.map_async`; ``results`` once :meth:`done`."""

    __slots__ = ("n", "results", "finished", "event", "cancelled", "callback")

    def __init__(self, n: int, callback: Callable[[list[Any]], None] | None = None) -> None:
        self.n = n
        self.results: list[Any] = [None] * n
        self.finished: list[None] = []  # list.append is atomic: slots may finish in two threads
        self.event = threading.Event()
        self.cancelled = False
        self.callback = callback

    def done(self) -> bool:
        return self.event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every call has finished (True), or ``timeout`` seconds (False)."""
        return self.event.wait(timeout)

    def cancel(self) -> None:
        """Drop the calls no worker has taken yet: they never run, and the job is never done."""
        self.cancelled = True

    def _finish_one(self) -> None:
        self.finished.append(None)
        if len(self.finished) == self.n:
            self.event.set()
            if self.callback is not None:
                self.callback(self.results)


class _MapSlot:
    """What a Future does for one call of a :class:`MapJob`, minus its locks."""

    __slots__ = ("batch", "index", "_done")

    def __init__(self, batch: MapJob, index: int) -> None:
        self.batch = batch
        self.index = index
        self._done = False

    def set_running_or_notify_cancel(self) -> bool:
        return not self.batch.cancelled

    def done(self) -> bool:
        return self._done

    def set_result(self, value: Any) -> None:
        self.batch.results[self.index] = value
        self._done = True
        self.batch._finish_one()


def _dumps(obj: Any) -> Any:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - what only multiprocessing's reducers know (sockets)
        return ForkingPickler.dumps(obj)


_POOLS: "weakref.WeakSet[WorkerPool]" = weakref.WeakSet()


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
        initializer: called once in each worker (e.g. to warm imports), before the worker
            takes calls; its time does not count against any call's deadline.
        start_timeout: seconds a worker may take to start (initializer included); past
            it the worker is killed and the calls waiting get a :class:`CallError`.

    Workers start on demand (or all at once with :meth:`start`) and die with this process.
    """

    def __init__(
        self,
        processes: int | None = None,
        *,
        memory_limit_mb: int | None = None,
        context: str | None = None,
        initializer: Callable[[], None] | None = None,
        start_timeout: float = 300.0,
    ) -> None:
        self.processes = int(processes or cpu_count())
        if self.processes < 1:
            raise ValueError(f"processes must be >= 1, got {processes}")
        if context is None:
            context = "fork" if "fork" in mp.get_all_start_methods() and sys.platform.startswith("linux") else "spawn"
        self._ctx = mp.get_context(context)
        self._context_name = context
        self._memory_limit_mb = memory_limit_mb
        self._initializer = initializer
        self._start_timeout = float(start_timeout)
        self.timeouts = 0
        self.errors = 0
        self._init_state()
        _POOLS.add(self)

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # workers ready / a start failed
        self._queue: deque[_Call] = deque()
        self._closed = getattr(self, "_closed", False)
        self._dispatcher: threading.Thread | None = None
        self._wake_r = self._wake_w = -1
        self._wake_armed = False
        self._workers: list[_Worker] = []  # the dispatcher's; others only read it
        self._min_workers = 0
        self._ready = 0
        self._start_error: str | None = None

    # ------------------------------------------------------------------ submitting

    def submit(self, fn: Callable[..., Any], /, *args: Any, timeout: float) -> Future:
        """Run ``fn(*args)`` in a worker; a ``Future`` of its outcome.

        The future's result is the return value, a :class:`CallTimeout` (the call ran
        ``timeout`` seconds, counted from its start in a worker, and its worker was
        killed) or a :class:`CallError` (it raised, its worker died, its arguments could
        not be pickled, or the pool was closed); ``result()`` never raises for those.
        ``cancel()`` works until a worker takes the call. Callbacks added with
        ``add_done_callback`` run in the pool's dispatcher thread: keep them short.
        """
        return self.submit_many(fn, [args], timeout=timeout)[0]

    def submit_many(self, fn: Callable[..., Any], args_list: Iterable[Sequence[Any]], *, timeout: float) -> list[Future]:
        """:meth:`submit` for each args, queued together (one lock, one wake-up): a future per call."""
        jobs = [tuple(a) for a in args_list]
        futures: list[Future] = [Future() for _ in jobs]
        self._enqueue(fn, jobs, timeout, futures)
        return futures

    def _enqueue(self, fn: Callable[..., Any], args_list: Sequence[Sequence[Any]], timeout: float, handles: Sequence[Any]) -> None:
        """Queue the calls; ``handles[i]`` (a Future, or map's lighter slot) gets call i's outcome."""
        timeout = float(timeout)
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if self._closed:
            raise RuntimeError("this WorkerPool is closed")
        calls: list[_Call] = []
        for args, handle in zip(args_list, handles):
            try:
                payload = _dumps((fn, tuple(args)))
            except Exception as e:  # unpicklable arguments: that call's error, not the batch's
                handle.set_result(CallError(f"could not send the call to a worker: {e!r}"))
                continue
            calls.append(_Call(payload, timeout, handle))
        if calls:
            with self._lock:
                if self._closed:
                    raise RuntimeError("this WorkerPool is closed")
                self._queue.extend(calls)
                self._ensure_dispatcher()
                self._wake()

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
        ``progress(k)`` is called (in this thread) as calls finish, k of them at a time.
        """
        job = self.map_async(fn, args_list, timeout=timeout)
        try:
            reported = 0
            # one wake-up at the end (or a few a second with a progress callback), not one per call
            while not job.wait(0.05 if progress else None):
                k = len(job.finished) - reported
                if k and progress:
                    progress(k)
                reported += k
            if progress and job.n > reported:
                progress(job.n - reported)
        except BaseException:  # interrupted: the calls not started yet are dropped
            job.cancel()
            raise
        return job.results

    def map_async(
        self,
        fn: Callable[..., Any],
        args_list: Iterable[Sequence[Any]],
        *,
        timeout: float,
        callback: Callable[[list[Any]], None] | None = None,
    ) -> MapJob:
        """:meth:`map` without waiting: the calls go to the same queue as :meth:`submit`'s
        (each with its own deadline) and a :class:`MapJob` stands in for their futures
        (cheaper for many calls). ``callback(results)`` runs once all have finished, in
        the pool's dispatcher thread (keep it short) or, if they all finished at once
        (an empty list, unpicklable arguments), in this one.
        """
        jobs = [tuple(a) for a in args_list]
        job = MapJob(len(jobs), callback)
        if not jobs:
            job.event.set()
            if callback is not None:
                callback(job.results)
            return job
        self._enqueue(fn, jobs, timeout, [_MapSlot(job, i) for i in range(len(jobs))])
        return job

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """One call; raises TimeoutError past the deadline, RuntimeError if it raised."""
        out = self.submit(fn, *args, timeout=timeout).result()
        if isinstance(out, CallTimeout):
            raise TimeoutError(f"call to {getattr(fn, '__name__', fn)} ran past {timeout} s")
        if isinstance(out, CallError):
            raise RuntimeError(out.message)
        return out

    def start(self, timeout: float | None = None) -> None:
        """Start every worker now and wait until all have started (initializer done).

        Afterwards the pool keeps ``processes`` workers alive: a killed worker's
        replacement starts at once, before the next call needs it.
        """
        end = time.monotonic() + (self._start_timeout if timeout is None else float(timeout))
        with self._cond:
            if self._closed:
                raise RuntimeError("this WorkerPool is closed")
            self._min_workers = self.processes
            self._start_error = None
            self._ensure_dispatcher()
            self._wake()
            while self._ready < self.processes:
                if self._start_error is not None:
                    raise RuntimeError(f"a worker could not start: {self._start_error}")
                if self._closed:
                    raise RuntimeError("this WorkerPool is closed")
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.processes - self._ready} of {self.processes} workers did not start in time")
                self._cond.wait(left)

    # called with the lock held
    def _ensure_dispatcher(self) -> None:
        if self._dispatcher is not None:
            return
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._wake_armed = False
        _load_libc()
        t = threading.Thread(target=self._run, name="prolong-pool-dispatcher", daemon=True)
        self._dispatcher = t
        t.start()

    # called with the lock held
    def _wake(self) -> None:
        if self._wake_armed and self._wake_w >= 0:
            self._wake_armed = False
            try:
                os.write(self._wake_w, b"\0")
            except (BlockingIOError, OSError):  # full: the dispatcher is awake anyway
                pass

    # ------------------------------------------------------------------ the dispatcher

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        parent_pid = None if self._context_name == "forkserver" else os.getpid()
        proc = self._ctx.Process(
            target=_worker_main,
            args=(child, self._memory_limit_mb, self._initializer, parent_pid),
            daemon=True,
            name="prolong-worker",
        )
        try:
            proc.start()
        finally:
            child.close()
        return _Worker(proc, parent, time.monotonic() + self._start_timeout)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        idle: list[_Worker] = []
        busy: set[_Worker] = set()
        dying: list[Any] = []
        reason = "the WorkerPool was closed"
        try:
            sel.register(self._wake_r, selectors.EVENT_READ, None)
            self._loop(sel, idle, busy, dying)
        except BaseException as e:  # noqa: BLE001 - a bug here must not leave callers waiting forever
            reason = f"the WorkerPool's dispatcher failed: {type(e).__name__}: {e}"
        self._shutdown(sel, idle, busy, dying, reason)

    def _take(self) -> _Call | None:
        """The next call of the queue (lock held by the caller), or None."""
        q = self._queue
        while q:
            call = q.popleft()
            if call.dispatched or call.future.set_running_or_notify_cancel():
                call.dispatched = True
                return call
            # cancelled while it waited
        return None

    def _send(self, w: _Worker, call: _Call, busy: set[_Worker]) -> bool:
        try:
            w.conn.send_bytes(call.payload)
        except (OSError, ValueError):  # the worker died while idle: the call waits for another
            with self._lock:
                self._queue.appendleft(call)
            return False
        w.call, w.deadline = call, time.monotonic() + call.timeout
        busy.add(w)
        return True

    def _loop(self, sel: selectors.BaseSelector, idle: list[_Worker], busy: set[_Worker], dying: list[Any]) -> None:
        workers = self._workers
        lock = self._lock
        while True:
            # 1. hand waiting calls to idle workers (the lock is held only to take them)
            handed: list[tuple[_Worker, _Call]] = []
            with lock:
                if self._closed:
                    return
                while idle:
                    call = self._take()
                    if call is None:
                        break
                    handed.append((idle.pop(), call))
                need = len(busy) + len(handed) + len(self._queue)
                min_workers = self._min_workers
                self._wake_armed = True
            for w, call in handed:
                if not self._send(w, call, busy):
                    self._retire(w, sel, idle, dying)
            # 2. keep enough workers
            target = min(self.processes, max(min_workers, need))
            while len(workers) < target:
                w = self._spawn()
                workers.append(w)
                sel.register(w.conn, selectors.EVENT_READ, w)
            # 3. wait for a result, a wake-up or the nearest deadline
            wait: float | None = None
            if busy or len(workers) > len(busy) + len(idle):
                soonest = min([w.deadline for w in busy] + [w.start_deadline for w in workers if not w.ready])
                wait = max(0.0, soonest - time.monotonic())
            if dying:
                wait = 0.05 if wait is None else min(wait, 0.05)
            events = sel.select(wait)
            finished: list[tuple[_Call, Any]] = []
            for key, _ in events:
                w = key.data
                if w is None:
                    try:
                        while os.read(self._wake_r, 4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                try:
                    ok, value = w.conn.recv()
                except (EOFError, OSError):  # the worker died
                    if w.call is not None:
                        code = w.proc.exitcode
                        if code is None:
                            w.proc.join(timeout=0.1)
                            code = w.proc.exitcode
                        finished.append((w.call, CallError(f"worker process died (exit code {code})")))
                        self.errors += 1
                        busy.discard(w)
                        w.call = None
                    elif not w.ready:
                        self._start_failed(f"the worker exited while starting (exit code {w.proc.exitcode})")
                    self._retire(w, sel, idle, dying)
                    continue
                except Exception as e:  # noqa: BLE001 - a result this process cannot unpickle
                    ok, value = False, f"the result could not be received from the worker: {type(e).__name__}: {e}"
                if ok is None:  # a worker's start-up message
                    if value is None:
                        w.ready = True
                        idle.append(w)
                        with self._cond:
                            self._ready += 1
                            self._cond.notify_all()
                    else:
                        self._start_failed(f"its initializer raised:\n{value}")
                        self._retire(w, sel, idle, dying)
                    continue
                call = w.call
                if call is None:  # nothing was asked: ignore
                    continue
                w.call = None
                busy.discard(w)
                if not ok:
                    self.errors += 1
                    value = CallError(value)
                finished.append((call, value))
                # the next call goes out before anything else: the worker never waits for us
                with lock:
                    nxt = None if self._closed else self._take()
                if nxt is None:
                    idle.append(w)
                elif not self._send(w, nxt, busy):
                    self._retire(w, sel, idle, dying)
            # 4. deadlines
            now = time.monotonic()
            for w in [w for w in busy if w.deadline <= now]:
                busy.discard(w)
                assert w.call is not None
                finished.append((w.call, CallTimeout(w.call.timeout)))
                w.call = None
                self.timeouts += 1
                self._retire(w, sel, idle, dying)
            for w in [w for w in workers if not w.ready and w.start_deadline <= now]:
                self._start_failed(f"it did not start within {self._start_timeout:g} s")
                self._retire(w, sel, idle, dying)
            if dying:
                dying[:] = [p for p in dying if not _reaped(p)]
            for call, value in finished:
                call.future.set_result(value)

    def _start_failed(self, why: str) -> None:
        """A worker could not start: fail the calls waiting (they would wait forever)."""
        with self._cond:
            self._start_error = why
            self._min_workers = 0
            waiting = [c for c in self._queue if c.dispatched or c.future.set_running_or_notify_cancel()]
            self._queue.clear()
            self._cond.notify_all()
        for c in waiting:
            c.future.set_result(CallError(f"a worker could not start: {why}"))

    def _retire(self, w: _Worker, sel: selectors.BaseSelector, idle: list[_Worker], dying: list[Any]) -> None:
        try:
            sel.unregister(w.conn)
        except (KeyError, ValueError, OSError):
            pass
        try:
            w.proc.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            w.conn.close()
        except OSError:
            pass
        if w in idle:
            idle.remove(w)
        if w in self._workers:
            self._workers.remove(w)
        if w.ready:
            with self._cond:
                self._ready -= 1
        if not _reaped(w.proc):
            dying.append(w.proc)

    def _shutdown(
        self, sel: selectors.BaseSelector, idle: list[_Worker], busy: set[_Worker], dying: list[Any], reason: str
    ) -> None:
        with self._cond:
            waiting = [c for c in self._queue if c.dispatched or c.future.set_running_or_notify_cancel()]
            self._queue.clear()
            crashed = not self._closed
            self._start_error = self._start_error or reason
            self._cond.notify_all()
        for w in busy:
            if w.call is not None:
                waiting.append(w.call)
                w.call = None
        for w in self._workers:
            if w in idle:
                try:
                    w.conn.send(None)  # stop: exit at once
                except Exception:  # noqa: BLE001
                    w.proc.kill()
            else:
                try:
                    w.proc.kill()
                except Exception:  # noqa: BLE001
                    pass
        end = time.monotonic() + 1.0
        for w in self._workers:
            w.proc.join(timeout=max(0.0, end - time.monotonic()))
            if w.proc.exitcode is None:
                w.proc.kill()
                w.proc.join(timeout=1)
            try:
                w.conn.close()
            except OSError:
                pass
            _reaped(w.proc)
        for p in dying:
            p.join(timeout=1)
            _reaped(p)
        self._workers.clear()
        sel.close()
        with self._cond:
            for fd in (self._wake_r, self._wake_w):
                if fd >= 0:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._wake_r = self._wake_w = -1
            self._ready = 0
            if crashed:  # a later submit starts a new dispatcher
                self._dispatcher = None
        for c in waiting:
            if not c.future.done():
                c.future.set_result(CallError(reason))

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        """Stop the workers. Calls still waiting or running get a :class:`CallError`."""
        with self._cond:
            if self._closed and self._dispatcher is None:
                return
            self._closed = True
            waiting = [c for c in self._queue if c.dispatched or c.future.set_running_or_notify_cancel()]
            self._queue.clear()
            self._wake_armed = True
            self._wake()
            self._cond.notify_all()
            t = self._dispatcher
        for c in waiting:
            c.future.set_result(CallError("the WorkerPool was closed"))
        if t is not None and t is not threading.current_thread():
            t.join(timeout=15)
        _POOLS.discard(self)

    def _after_fork_in_child(self) -> None:
        """A forked child inherits this object but none of its workers or its thread."""
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._init_state()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _reaped(proc: Any) -> bool:
    """Collect a finished worker (its exit status and its sentinel fd); False if it still runs."""
    try:
        if proc.exitcode is None:
            return False
        proc.close()
    except ValueError:  # already closed
        pass
    except Exception:  # noqa: BLE001
        return True
    return True


def close_all_pools() -> None:
    """Close every WorkerPool of this process (a server's shutdown, interpreter exit)."""
    for pool in list(_POOLS):
        try:
            pool.close()
        except Exception:  # noqa: BLE001
            pass


def _reset_pools_in_child() -> None:
    global _DEFAULT_LOCK
    _DEFAULT_LOCK = threading.Lock()  # another thread may have held it at fork time
    for pool in list(_POOLS):
        pool._after_fork_in_child()


atexit.register(close_all_pools)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools_in_child)


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
        return _DEFAULT
