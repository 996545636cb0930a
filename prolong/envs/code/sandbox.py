"""Run untrusted programs: warm bubblewrap sandboxes that fork one limited child per test.

Design (see docs/code.md for the security properties and what is weak):

* A **worker** is one ``bwrap`` sandbox (new user, pid, mount, network, ipc, uts and cgroup
  namespaces; uid/gid 65534 inside; no host environment; read-only ``/usr`` and Python
  standard library; no ``/etc``, no home, no project files; a private size-capped tmpfs
  ``/tmp``; read-only root and ``/dev``) running ``runner.py``, which has imported what
  programs commonly need and then waits on a control socket.
* Each **execution** (one program on one test) gets sealed memfds for the program and
  its input and pipes for stdout, stderr and the call result, passed to the worker over
  the socket. The worker forks; the child sets rlimits (CPU, address space, processes,
  file size, open files, stack, core 0), ``no_new_privs`` and a seccomp filter, reads the
  program and runs it. The worker enforces the wall-clock deadline, then kills every
  process in the sandbox's pid namespace and empties ``/tmp``. This host process reads the
  output pipes itself (with a size cap) and compares: expected outputs never enter the
  sandbox, and the worker never holds a program, an input or an output in its memory.
* A worker that dies or misses its deadline is killed as a whole sandbox and replaced; the
  run it lost is not the program's doing (a program cannot signal, trace or re-limit its
  worker: seccomp, and the worker is not dumpable), so it is retried once, and a second
  loss in the same problem is a ``sandbox failure``, never the program's runtime error.
* One scheduler thread per pool owns the workers and serves every calling thread: free
  workers go to the batch, then the problem, that has used the least sandbox time (fair
  share), so stuck programs of one caller or one batch cannot stall anyone else's items.
  :meth:`SandboxPool.run` takes a ``deadline`` (seconds) after which a call's runs stop.
* Workers die with the process that owns the pool (SIGKILL included): they are started
  from one thread that lives as long as the process (``PR_SET_PDEATHSIG`` fires when the
  starting *thread* ends), bwrap runs with ``--die-with-parent``, the runner asks for
  SIGKILL at its parent's death and exits when its control socket closes.

Where bubblewrap is missing or cannot create namespaces, :class:`SandboxPool` refuses to
run anything (:class:`SandboxUnavailableError` says how to install it) unless the caller
opted into ``sandbox="unsafe-rlimits-only"`` (or set ``PROLONG_ALLOW_UNSANDBOXED=1``):
the same workers without namespaces, with rlimits and seccomp only.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import errno
import fcntl
import functools
import heapq
import importlib.util
import json
import math
import os
import queue
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prolong.envs.code.runner import descendants
from prolong.pool import cpu_count

__all__ = [
    "Limits",
    "Execution",
    "ExecResult",
    "SandboxPool",
    "STATUSES",
    "SandboxUnavailableError",
    "get_pool",
    "resolve_mode",
    "bwrap_path",
    "child_seccomp_filter",
    "BWRAP",
    "UNSAFE",
    "INSTALL_HINT",
]

BWRAP = "bwrap"
UNSAFE = "unsafe-rlimits-only"
MODES = (BWRAP, UNSAFE)
RUNNER = Path(__file__).with_name("runner.py")
SANDBOX_RUNNER = "/opt/prolong/runner.py"
SANDBOX_SITE = "/opt/prolong/site"
SANDBOX_UID = 65534  # nobody
INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
    "bubblewrap`; or `make system-deps` in the prolong checkout) on a Linux kernel with unprivileged "
    "user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04+ also "
    "kernel.apparmor_restrict_unprivileged_userns=0). To run programs WITHOUT isolation anyway "
    "(rlimits and seccomp only: a program can read your files and write where you can), pass "
    "sandbox='unsafe-rlimits-only' or set PROLONG_ALLOW_UNSANDBOXED=1."
)
# statuses of an execution
OK, TIMEOUT, MEMORY, OUTPUT, RUNTIME, SKIPPED = "ok", "timeout", "memory limit", "output limit", "runtime error", "skipped"
LOST = "sandbox failure"  # the sandbox, not the program, failed this run (twice)
STATUSES = (OK, TIMEOUT, MEMORY, OUTPUT, RUNTIME, SKIPPED, LOST)
EXIT_RAISED, EXIT_MEMORY, EXIT_NOT_JSON, EXIT_NO_FUNCTION, EXIT_SETUP = 1, 201, 202, 203, 204
_STDERR_KEEP = 8192  # bytes of the end of stderr kept for the verdict


class SandboxUnavailableError(RuntimeError):
    """Untrusted code was about to run, but no working bubblewrap sandbox is available."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one execution (one program on one test).

    Attributes:
        timeout: wall-clock seconds (the worker kills the program past it).
        cpu_seconds: RLIMIT_CPU; default ``ceil(timeout)``.
        memory_mb: RLIMIT_AS (address space) of the program's process.
        nproc: RLIMIT_NPROC: processes and threads of the sandbox's user.
        nofile: RLIMIT_NOFILE.
        fsize_mb: RLIMIT_FSIZE: the largest file the program may write (in its /tmp).
        stack_mb: RLIMIT_STACK (deep recursion).
        output_mb: cap on stdout (and on a call's JSON result); past it the program is
            killed and the test fails with ``output limit``.
    """

    timeout: float = 6.0
    cpu_seconds: float | None = None
    memory_mb: int = 1024
    nproc: int = 64
    nofile: int = 64
    fsize_mb: int = 16
    stack_mb: int = 64
    output_mb: float = 16.0

    def __post_init__(self) -> None:
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ValueError(f"Limits.timeout must be a positive number of seconds, got {self.timeout!r}")
        for name in ("memory_mb", "nproc", "nofile", "fsize_mb", "stack_mb", "output_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")

    @property
    def cpu(self) -> int:
        return max(1, math.ceil(self.cpu_seconds if self.cpu_seconds is not None else self.timeout))

    @property
    def output_bytes(self) -> int:
        return int(self.output_mb * (1 << 20))


@dataclass(frozen=True)
class Execution:
    """One program run on one test.

    ``mode="stdio"``: ``input`` (str) is the program's stdin. ``mode="call"``: the program
    is imported as a module and ``fn_name(*input)`` is called (``input`` a list of JSON
    values); a top-level function or a method of a ``Solution`` class. ``mode="assert"``:
    ``input`` is a judge spec (``TestSuite.spec()``: the tests' code, or ``"calls"``); the
    program loads once, a judge process runs the tests against it, and ``result`` holds the
    judge's verdict lines (one JSON object per test: ``i``, ``s`` status, ``t``, ``e``,
    ``v`` a call's returned value). ``group`` names the executions that share a wall-clock
    budget (one problem's tests).

    ``timeout``: this run's wall-clock limit (default ``Limits.timeout``; an assert run's
    limit for all its tests); ``test_timeout``: one test's limit (RLIMIT_CPU follows it);
    ``budget``: seconds its group may use together (default: ``run``'s ``group_budget``);
    ``preamble``: the judges' import preamble before a call-based program; ``start``: an
    assert run's first test.
    """

    program: str
    input: Any = ""
    mode: str = "stdio"
    fn_name: str | None = None
    group: Any = None
    timeout: float | None = None
    test_timeout: float | None = None
    budget: float | None = None
    preamble: bool = False
    start: int = 0


@dataclass
class ExecResult:
    """What happened. ``status``: ``ok`` (exited 0), ``timeout``, ``memory limit``,
    ``output limit``, ``runtime error``, ``skipped`` (its problem's budget was spent, or
    the call's deadline passed first) or ``sandbox failure`` (its sandbox worker died or
    missed its own deadline, on the retry too: not the program's doing).
    ``result`` is the JSON text of a call's return value (call mode, status ok).
    ``extra``: ``deadline`` True when the call's deadline stopped or skipped it, ``start``
    and ``end`` (seconds from the call), ``attempts`` (2 when it was retried)."""

    status: str
    stdout: bytes = b""
    result: bytes | None = None
    stderr: str = ""
    exit_code: int | None = None
    signal: int | None = None
    wall: float = 0.0
    cpu: float = 0.0
    maxrss_kb: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _cpu_limit(limits: Limits, test_timeout: float, timeout: float) -> int:
    """RLIMIT_CPU of a process that runs one test: the test's own limit, never past the run's."""
    per_test = limits.cpu_seconds if limits.cpu_seconds is not None else test_timeout
    return max(1, min(math.ceil(per_test), math.ceil(timeout)))


# --------------------------------------------------------------------------- environment


def bwrap_path() -> str | None:
    """The bubblewrap binary: ``$PROLONG_BWRAP`` or ``bwrap`` on PATH (or /usr/bin/bwrap)."""
    env = os.environ.get("PROLONG_BWRAP")
    if env is not None:
        return env if env and os.access(env, os.X_OK) else None
    found = shutil.which("bwrap")
    if found:
        return found
    return "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None


def resolve_mode(sandbox: str | None) -> str:
    """``bwrap`` or ``unsafe-rlimits-only``. None means bwrap, or the unsafe mode when
    ``PROLONG_ALLOW_UNSANDBOXED=1`` and bubblewrap is not installed."""
    if sandbox is None:
        if bwrap_path() is None and _allow_unsandboxed():
            return UNSAFE
        return BWRAP
    if sandbox not in MODES:
        raise ValueError(f"sandbox must be one of {MODES}, got {sandbox!r}")
    return sandbox


def _allow_unsandboxed() -> bool:
    return os.environ.get("PROLONG_ALLOW_UNSANDBOXED", "").strip().lower() in ("1", "true", "yes")


@functools.lru_cache(maxsize=None)
def _bwrap_help(path: str) -> str:
    try:
        r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
        return r.stdout + r.stderr
    except (OSError, subprocess.SubprocessError):
        return ""


@functools.lru_cache(maxsize=1)
def child_seccomp_filter() -> bytes | None:
    """The seccomp BPF program every child loads before the program runs (None without pyseccomp).

    Default allow; denied (EPERM unless noted): sockets other than AF_UNIX (EAFNOSUPPORT),
    ptrace and reading/writing other processes' memory, signals to any process but the
    caller's own group (so not the worker or ``kill(-1)``; nor SIGIO ownership), changing
    other processes' (or the user's) limits, priority or scheduling, SysV IPC and POSIX
    message queues, mounts and namespaces (``clone`` with namespace flags; ``clone3`` gets
    ENOSYS so libc falls back to ``clone``), keyrings, bpf, perf events, userfaultfd,
    io_uring, kernel modules, kexec, reboot, swap, clocks, raw I/O ports, handles, mknod
    and terminal injection (TIOCSTI).
    """
    try:
        import pyseccomp as sc
    except Exception:  # noqa: BLE001 - missing package or libseccomp
        return None
    f = sc.SyscallFilter(sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)

    def rule(action: int, name: str, *args: Any) -> None:
        try:
            f.add_rule(action, name, *args)
        except (OSError, ValueError, RuntimeError):
            pass  # not a syscall on this architecture

    for name in (
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open", "pidfd_getfd",
        "pidfd_send_signal", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
        "process_madvise", "process_mrelease", "mount", "umount2", "pivot_root", "chroot", "unshare",
        "setns", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
        "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "kexec_load", "kexec_file_load", "init_module",
        "finit_module", "delete_module", "reboot", "swapon", "swapoff", "syslog", "acct", "quotactl",
        "quotactl_fd", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm",
        "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "vhangup", "mknod", "mknodat",
        "fanotify_init", "nfsservctl", "uselib", "sethostname", "setdomainname", "personality",
    ):
        rule(eperm, name)
    for name in ("socket", "socketpair"):
        rule(sc.ERRNO(errno.EAFNOSUPPORT), name, sc.Arg(0, sc.NE, socket.AF_UNIX))
    rule(eperm, "kill", sc.Arg(0, sc.NE, 0))  # only kill(0, sig): the caller's own group
    for name in ("prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr",
                 "migrate_pages", "move_pages"):
        rule(eperm, name, sc.Arg(0, sc.NE, 0))  # only on itself
    # setpriority(PRIO_USER, 0, 19) would renice the worker (same uid): only PRIO_PROCESS of itself
    rule(eperm, "setpriority", sc.Arg(0, sc.NE, 0))
    rule(eperm, "setpriority", sc.Arg(1, sc.NE, 0))
    rule(eperm, "ioprio_set", sc.Arg(0, sc.NE, 1))  # IOPRIO_WHO_PROCESS
    rule(eperm, "ioprio_set", sc.Arg(1, sc.NE, 0))
    # SysV IPC objects and POSIX message queues outlive the process (in the worker's ipc
    # namespace): state between runs and memory no rlimit bounds.
    for name in ("shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semtimedop", "semctl", "msgget",
                 "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
                 "mq_notify", "mq_getsetattr"):
        rule(eperm, name)
    # SIGIO/SIGURG ownership would let a program signal another process of the same uid
    for cmd in (8, 10, 15):  # F_SETOWN, F_SETSIG, F_SETOWN_EX
        rule(eperm, "fcntl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, cmd))  # the kernel reads an unsigned int
    for cmd in (0x8901, 0x8902):  # FIOSETOWN, SIOCSPGRP
        rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, cmd))
    for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080):
        # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
        rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    rule(sc.ERRNO(errno.ENOSYS), "clone3")
    rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, 0x5412))  # TIOCSTI
    with tempfile.TemporaryFile() as tmp:
        f.export_bpf(tmp)
        tmp.seek(0)
        return tmp.read()


def _python_for_sandbox() -> tuple[str, str]:
    """(interpreter binary, installation prefix) of the running Python, venv resolved."""
    exe = os.path.realpath(sys.executable)
    return exe, os.path.realpath(sys.base_prefix)


def _package_binds(packages: Sequence[str]) -> list[tuple[str, str]]:
    binds = []
    for name in packages:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        src = os.path.realpath(list(spec.submodule_search_locations)[0])
        binds.append((src, f"{SANDBOX_SITE}/{name}"))
        libs = os.path.join(os.path.dirname(src), f"{name}.libs")  # auditwheel-vendored libraries
        if os.path.isdir(libs):
            binds.append((libs, f"{SANDBOX_SITE}/{name}.libs"))
    return binds


_SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def bwrap_argv(bwrap: str, ctrl_fd: int, *, packages: Sequence[str] = (), tmp_mb: int = 64) -> list[str]:
    """The bubblewrap command line of one worker."""
    python, prefix = _python_for_sandbox()
    helptext = _bwrap_help(bwrap)
    # --as-pid-1: the worker itself is the pid namespace's init. With bwrap's own init as
    # pid 1, a program could write into that process's memory (/proc/1/mem: same uid,
    # dumpable) and live on past its verdict, outside its rlimits and seccomp filter.
    argv = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--as-pid-1"]
    if "--disable-userns" in helptext:
        argv.append("--disable-userns")  # no nested user namespaces (kernel attack surface)
    argv += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        path = f"/{top}"
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    if not (prefix == "/usr" or prefix.startswith("/usr/")):
        argv += ["--ro-bind", prefix, prefix]
        site = sysconfig.get_path("purelib", vars={"base": prefix, "platbase": prefix})
        if site and os.path.isdir(site):
            argv += ["--tmpfs", site]  # third-party packages of the base install stay out
    pydir = os.path.dirname(python)
    if not (pydir.startswith(prefix + os.sep) or pydir.startswith("/usr/")):
        argv += ["--ro-bind", python, python]
    argv += ["--ro-bind", str(RUNNER), SANDBOX_RUNNER]
    for src, dest in _package_binds(packages):
        argv += ["--ro-bind", src, dest]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    if "--size" in helptext:
        argv += ["--size", str(int(tmp_mb) << 20)]
    argv += ["--perms", "1777"] if "--perms" in helptext else []
    argv += ["--tmpfs", "/tmp", "--remount-ro", "/dev", "--remount-ro", "/"]
    argv += ["--clearenv"]
    for key, value in _SANDBOX_ENV.items():
        argv += ["--setenv", key, value]
    argv += ["--chdir", "/tmp", python, "-I", "-S", SANDBOX_RUNNER, str(ctrl_fd)]
    return argv



# --------------------------------------------------------------------------- workers

# Every worker is started from one thread that lives as long as the process: bwrap's
# --die-with-parent and the runner's own PR_SET_PDEATHSIG fire when the *thread* that
# started the process ends, so a worker started from a short-lived caller thread (or from
# a thread pool's thread, which its pool's shutdown ends) would die with that thread.
class _Spawner:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self._todo: "queue.SimpleQueue[tuple[Any, concurrent.futures.Future]]" = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="prolong-sandbox-spawner", daemon=True).start()

    def _serve(self) -> None:
        while True:
            fn, fut = self._todo.get()
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except BaseException as e:  # noqa: BLE001 - handed to the caller
                    fut.set_exception(e)

    def call(self, fn: Any) -> Any:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._todo.put((fn, fut))
        return fut.result()


_SPAWNER: _Spawner | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> _Spawner:
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None or _SPAWNER.pid != os.getpid():  # threads do not survive a fork
            _SPAWNER = _Spawner()
        return _SPAWNER


STARTING, IDLE, BUSY, DEAD = "starting", "idle", "busy", "dead"


class _Worker:
    """One sandbox. Started by :meth:`launch` (no waiting); the pool's scheduler reads the
    runner's ``ready`` reply (state ``starting`` -> ``idle``), then hands it executions."""

    __slots__ = ("proc", "ctrl", "runs", "completed", "mode", "workdir", "stderr_r", "dead", "state", "run", "start_deadline")

    def __init__(self, pool: "SandboxPool") -> None:
        self.mode = pool.mode
        self.runs = 0  # executions sent
        self.completed = 0  # executions that ended with the runner's report
        self.dead = False
        self.state = STARTING
        self.run: _Run | None = None
        self.workdir: str | None = None
        self.start_deadline = time.monotonic() + pool.start_timeout
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        err_r, err_w = os.pipe()
        try:
            if self.mode == BWRAP:
                argv = bwrap_argv(pool.bwrap, child.fileno(), packages=pool.packages, tmp_mb=pool.tmp_mb)
                env = {"PATH": "/usr/bin:/bin"}  # bwrap's own environment: nothing of ours
                cwd = "/"
            else:
                python, _ = _python_for_sandbox()
                self.workdir = tempfile.mkdtemp(prefix="prolong-code-")
                os.chmod(self.workdir, 0o700)
                if os.geteuid() == 0:  # programs will run as nobody: give them the work directory
                    os.chown(self.workdir, SANDBOX_UID, SANDBOX_UID)
                # the host's pid: the runner checks it still has this parent once it has
                # asked for SIGKILL at the parent's death (no pid namespace to do it)
                argv = [python, "-I", "-S", str(RUNNER), str(child.fileno()), str(os.getpid())]
                env = dict(_SANDBOX_ENV, HOME=self.workdir, TMPDIR=self.workdir)
                cwd = self.workdir
            self.proc = _spawner().call(
                functools.partial(
                    subprocess.Popen,
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err_w,
                    pass_fds=[child.fileno()],
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                )
            )
        except BaseException:
            parent.close()
            os.close(err_r)
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        finally:
            child.close()
            os.close(err_w)
        self.ctrl = parent
        self.stderr_r = err_r
        os.set_blocking(err_r, False)
        config = {
            "bpf": pool.bpf.hex() if pool.bpf else None,
            "sys_path": [SANDBOX_SITE] if self.mode == BWRAP else [],
            "workdir": "/tmp" if self.mode == BWRAP else self.workdir,
            "clean_workdir": True,
            "pid_namespace": self.mode == BWRAP,
            "drop_uid": SANDBOX_UID if self.mode == UNSAFE and os.geteuid() == 0 else None,
        }
        try:
            parent.send(json.dumps(config).encode())
        except OSError:
            pass  # it died at once: the scheduler sees the closed socket
        parent.setblocking(False)

    def startup_error(self) -> str:
        try:
            self.proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
        try:
            return os.read(self.stderr_r, 1 << 16).decode(errors="replace").strip()[-2000:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def runner_pid(self) -> int | None:
        """The host pid of the runner process (bwrap's child; the worker itself in unsafe mode)."""
        if self.mode == UNSAFE:
            return self.proc.pid
        pid = self.proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except (OSError, ValueError):
            kids = descendants(pid)[:1]
        return kids[0] if kids else None

    def kill(self) -> None:
        """Kill the whole sandbox (bwrap and, through its pid namespace, everything inside)."""
        self.dead = True
        self.state = DEAD
        if self.mode == UNSAFE:
            _kill_tree(self.proc.pid)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._close()

    def shutdown(self) -> None:
        """Ask the runner to exit (it does when its channel closes); :meth:`reap` waits."""
        self.dead = True
        self.state = DEAD
        try:
            self.ctrl.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def reap(self, timeout: float = 1.0) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self._close()

    def stop(self) -> None:
        self.shutdown()
        self.reap()

    def forget(self) -> None:
        """In a forked child: close this process's copies of the worker's descriptors (no kill)."""
        self.dead = True
        self.state = DEAD
        for close in (self.ctrl.close, lambda: os.close(self.stderr_r)):
            try:
                close()
            except OSError:
                pass

    def _close(self) -> None:
        for close in (self.ctrl.close, lambda: os.close(self.stderr_r)):
            try:
                close()
            except OSError:
                pass
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


def _kill_tree(pid: int) -> None:
    """SIGKILL a process's descendants (unsafe mode has no pid namespace to do it)."""
    for child in descendants(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass


def _memfd(name: str, data: bytes) -> int:
    """A sealed, read-only-content file descriptor holding ``data`` (offset 0)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create(name, os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 0))
    else:  # pragma: no cover - not Linux
        f = tempfile.TemporaryFile()
        fd = os.dup(f.fileno())
        f.close()
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if hasattr(fcntl, "F_ADD_SEALS"):
            try:
                fcntl.fcntl(
                    fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
                )
            except OSError:
                pass
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


# --------------------------------------------------------------------------- the pool

# The runner's own work past a run's deadline is bounded: kill and reap everything (at most
# 3 s), then empty /tmp (at most 2 s). A worker that has not reported by the run's
# deadline + this + half the per-test timeout missed its deadline: it is killed as a whole.
_RUNNER_SLACK = 6.0
# Past an item's deadline, a run whose worker has not reported after this is abandoned
# (its worker killed) so the caller gets its verdicts on time.
_DEADLINE_SLACK = 1.0
# Runs of one item (group) lost to a sandbox failure: the first is retried, the second
# fails the item (status ``sandbox failure``). A bound, so nothing can cause unbounded retries.
_MAX_LOSSES = 2
# Workers that fail to start (or die before running anything) in a row before the callers
# waiting on them get a SandboxUnavailableError.
_MAX_START_FAILURES = 3


class _Run:
    __slots__ = (
        "job", "group", "index", "rid", "worker", "limits", "mode", "timeout", "fds", "stdout", "stderr", "stderr_total",
        "result", "status", "started", "status_at", "output_exceeded", "kill_sent", "worker_lost", "by_deadline", "hard",
        "budget",
    )

    def __init__(self, job: "_Job", group: "_Group", index: int, rid: int, worker: _Worker, timeout: float, by_deadline: bool) -> None:
        self.job, self.group, self.index, self.rid, self.worker = job, group, index, rid, worker
        self.limits, self.mode, self.timeout = job.limits, job.executions[index].mode, timeout
        per_test = job.executions[index].timeout
        self.by_deadline = by_deadline  # the item's deadline, not the per-test limit, set ``timeout``
        self.fds: dict[str, int] = {}
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.stderr_total = 0
        self.result = bytearray()
        self.status: dict[str, Any] | None = None
        self.started = time.monotonic()
        self.status_at = 0.0
        self.output_exceeded = False
        self.kill_sent = False
        self.worker_lost = ""
        self.budget: float | None = None  # the problem's budget, when it (not the test's limit) set ``timeout``
        slack = _RUNNER_SLACK + 0.5 * min(job.limits.timeout, per_test if per_test is not None else job.limits.timeout)
        self.hard = min(self.started + timeout + slack, job.deadline_at + _DEADLINE_SLACK)

    def deadline(self) -> float:
        if self.status is None:
            return self.hard
        return self.status_at + 1.0  # output pipes should reach EOF at once: every writer is dead

    def done(self) -> bool:
        return self.status is not None and not self.fds


class _Group:
    """One problem's executions within one call (they share ``group_budget``)."""

    __slots__ = ("order", "queue", "used", "started", "running", "losses", "failed", "in_heap", "retried")

    def __init__(self, order: int) -> None:
        self.order = order
        self.queue: deque[int] = deque()  # executions not started yet, in order
        self.used = 0.0  # sandbox seconds of its finished runs
        self.started = 0  # runs started
        self.running: set[_Run] = set()
        self.losses = 0  # runs lost to a sandbox failure
        self.failed = ""  # why the sandbox failed it (then its verdict is not the program's)
        self.in_heap = False
        self.retried: set[int] = set()


class _Job:
    """One :meth:`SandboxPool.run` call (or a :meth:`SandboxPool.start`: ``warm``)."""

    def __init__(
        self, seq: int, executions: Sequence[Execution], limits: Limits, budget: float | None, deadline: float | None, warm: bool = False
    ) -> None:
        self.seq = seq
        self.t0 = time.monotonic()
        self.executions = executions
        self.limits = limits
        self.budget = budget
        self.deadline = deadline
        self.deadline_at = self.t0 + deadline if deadline is not None else math.inf
        self.deadline_swept = False
        self.warm = warm
        self.results: list[ExecResult | None] = [None] * len(executions)
        self.remaining = len(executions)
        self.pending = len(executions)  # not started yet
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.cancelled = False  # set by the caller (interrupted)
        self.closed = False  # finished, failed or cancelled: late results are dropped
        self.vbase = 0.0
        self.used = 0.0
        self.running: set[_Run] = set()
        # assert runs given back after a slice of time: what they did so far, where they go on
        self.partial: dict[int, dict[str, Any]] = {}
        self.groups: list[_Group] = []
        self.heap: list[tuple[float, int, int, _Group]] = []  # groups with nothing running and something to start
        self.busy: set[_Group] = set()  # groups with something running
        by_key: dict[Any, _Group] = {}
        for i, ex in enumerate(executions):
            key = ex.group if ex.group is not None else ("__single__", i)
            g = by_key.get(key)
            if g is None:
                g = by_key[key] = _Group(i)
                self.groups.append(g)
            g.queue.append(i)
        for g in self.groups:
            heapq.heappush(self.heap, (0.0, 0, g.order, g))
            g.in_heap = True

    def vused(self, now: float) -> float:
        """Sandbox seconds used (running runs included), from the share it joined at."""
        return self.vbase + self.used + sum(now - r.started for r in self.running)


class SandboxPool:
    """Warm sandbox workers shared by every thread of the process.

    One scheduler thread per pool owns the workers: :meth:`run` hands it a batch and waits
    (no lock is held for a batch, so concurrent callers share the workers). Whenever a
    worker is free it starts, from the caller (batch) that has used the least sandbox
    time, the problem (``group``) of that batch that has used the least: an item submitted
    while others' stuck programs run starts as soon as a worker frees (within one test
    timeout), and one problem's many slow tests never hold more than its share. A batch
    joins at the least usage of the batches already running, so a long-running caller and
    a new one then share equally; a new caller never waits for an old caller's backlog.

    A run lost to the sandbox (its worker died, or missed its own deadline) is not the
    program's: it is retried once; a second loss in the same problem gives its tests the
    status ``sandbox failure`` (the verifier makes that a ``verifier error`` verdict).

    Args:
        sandbox: ``"bwrap"`` (default) or ``"unsafe-rlimits-only"``; None reads
            ``PROLONG_ALLOW_UNSANDBOXED`` (see :func:`resolve_mode`).
        processes: number of workers (default: the CPUs this process may use).
        packages: installed packages made importable (read-only) inside the sandbox.
        tmp_mb: size of the sandbox's private /tmp.
        max_runs_per_worker: a worker is replaced after this many executions.
        start_timeout: seconds a new worker may take to report ready.

    Counters: ``replaced`` (workers killed and replaced), ``lost`` (runs lost to a sandbox
    failure), ``retried`` (of those, runs started again).

    A pool lives (its thread and workers) until :meth:`close` or the end of the process
    (every pool is closed at exit); it can be used as a context manager.
    """

    def __init__(
        self,
        sandbox: str | None = None,
        *,
        processes: int | None = None,
        packages: Sequence[str] = ("numpy",),
        tmp_mb: int = 64,
        max_runs_per_worker: int = 5000,
        start_timeout: float = 30.0,
    ) -> None:
        self.mode = resolve_mode(sandbox)
        self.processes = max(1, int(processes or cpu_count()))
        self.packages = tuple(packages)
        self.tmp_mb = int(tmp_mb)
        self.max_runs_per_worker = int(max_runs_per_worker)
        self.start_timeout = float(start_timeout)
        self.bwrap = bwrap_path() or ""
        self.bpf: bytes | None = None
        self.replaced = 0  # workers killed and replaced (a program broke one, or it missed its deadline)
        self.lost = 0  # runs lost to a sandbox failure
        self.retried = 0  # runs started again after a sandbox failure
        self._checked = False
        self._init_process_state()
        _ALL_POOLS.add(self)

    def _init_process_state(self) -> None:
        self._pid = os.getpid()
        self._workers: list[_Worker] = []  # every worker (starting, idle or busy); owned by the scheduler
        self._admin = threading.Lock()  # sandbox checks, starting and closing the scheduler
        self._inbox_lock = threading.Lock()
        self._inbox: list[_Job] = []
        self._closing = False
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = os.pipe()  # not inherited by children (PEP 446)
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._seq = 0
        self._next_id = 0
        # the scheduler thread's own state
        self._sel: selectors.BaseSelector | None = None
        self._idle: deque[_Worker] = deque()
        self._jobs: list[_Job] = []
        self._warm: list[_Job] = []
        self._floor = 0  # workers to keep started (start() asks for all of them)
        self._start_failures = 0
        self._start_error = ""
        self._grow_after = 0.0

    def _after_fork(self) -> None:
        """In a forked child: drop the parent's sandboxes (never touch them) and its thread."""
        for w in list(self._workers):
            w.forget()
        for job in list(self._jobs):
            for run in list(job.running):
                for fd in run.fds.values():
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._sel is not None:
            try:
                self._sel.close()
            except (OSError, RuntimeError):
                pass
        self._init_process_state()

    # -- lifecycle ---------------------------------------------------------------
    def _check(self) -> None:
        if self._checked:
            return
        if self.mode == BWRAP:
            if not self.bwrap:
                if _allow_unsandboxed():
                    warnings.warn(
                        "bubblewrap not found; PROLONG_ALLOW_UNSANDBOXED=1 is set, so programs run "
                        "WITHOUT isolation (rlimits and seccomp only)",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                    self.mode = UNSAFE
                else:
                    raise SandboxUnavailableError(
                        "refusing to run untrusted code: bubblewrap (bwrap) is not installed. " + INSTALL_HINT
                    )
            if not sys.platform.startswith("linux"):
                raise SandboxUnavailableError(f"the bubblewrap sandbox needs Linux (this is {sys.platform}). " + INSTALL_HINT)
        self.bpf = child_seccomp_filter() if sys.platform.startswith("linux") else None
        if self.bpf is None and sys.platform.startswith("linux"):
            # Without the filter a program may open network sockets, ptrace, signal other
            # processes...: refuse unless the user opted in (env var, or the attribute
            # ``allow_no_seccomp`` set on the pool, e.g. by a CodeVerifier argument).
            opted_in = bool(getattr(self, "allow_no_seccomp", False)) or os.environ.get(
                "PROLONG_ALLOW_NO_SECCOMP", ""
            ).strip().lower() in ("1", "true", "yes")
            if not opted_in:
                raise SandboxUnavailableError(
                    "refusing to run untrusted code without its seccomp filter: pyseccomp/libseccomp is not "
                    "available. Install it with pip install 'prolong[domains]' (or pip install pyseccomp; "
                    "it needs libseccomp), or set PROLONG_ALLOW_NO_SECCOMP=1 to run without the filter"
                )
            warnings.warn(
                "pyseccomp/libseccomp not available; PROLONG_ALLOW_NO_SECCOMP=1 is set, so sandboxed programs "
                "run without a seccomp filter",
                RuntimeWarning,
                stacklevel=4,
            )
        self._checked = True

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:  # full (a wake-up is pending anyway) or closed
            pass

    def _submit(self, job: _Job) -> None:
        with self._admin:
            self._check()
            with self._inbox_lock:
                self._seq += 1
                job.seq = self._seq
                self._inbox.append(job)
                start = self._thread is None
                if start:
                    self._thread = threading.Thread(target=self._serve, name="prolong-sandbox-scheduler", daemon=True)
            if start:
                self._thread.start()
        self._wake()

    def _wait(self, job: _Job) -> None:
        try:
            job.done.wait()
        except BaseException:  # interrupted (KeyboardInterrupt): stop this batch's runs
            job.cancelled = True
            self._wake()
            raise
        if job.error is not None:
            raise job.error

    def start(self) -> "SandboxPool":
        """Start every worker now and wait until they are ready (otherwise they start on first use)."""
        job = _Job(0, (), Limits(), None, None, warm=True)
        self._submit(job)
        self._wait(job)
        return self

    def close(self) -> None:
        """Stop every worker. Batches still running in other threads get ``sandbox failure``
        results. The pool can be used again (it starts new workers)."""
        if os.getpid() != self._pid:
            return
        locked = self._admin.acquire(timeout=10)
        try:
            with self._inbox_lock:
                thread = self._thread
                self._closing = True
            if thread is not None and thread is not threading.current_thread():
                self._wake()
                thread.join(timeout=15)
            if thread is None or not thread.is_alive():
                for w in list(self._workers):  # nothing else owns them now
                    w.kill()
                self._workers = []
        finally:
            with self._inbox_lock:
                self._closing = False
            if locked:
                self._admin.release()

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- running -----------------------------------------------------------------
    def run(
        self,
        executions: Sequence[Execution],
        limits: Limits | None = None,
        *,
        group_budget: float | None = None,
        deadline: float | None = None,
    ) -> list[ExecResult]:
        """Run every execution; results in order. Safe to call from many threads at once.

        ``group_budget``: seconds of sandbox wall-clock time that all executions sharing a
        ``group`` may use together (summed over them, so time spent waiting for a free
        worker does not count); what has not started when it is spent is ``skipped``, and
        an execution's deadline never passes what is left of it. A run lost to a sandbox
        failure is not charged to it (and is retried once per group; see the class).

        ``deadline``: seconds from this call (waiting for a worker included) by which
        every execution has ended: one still running then is stopped (``timeout``), one not
        started is ``skipped``; both carry ``extra["deadline"] = True``. Zero or less: all
        are skipped so. None: no deadline.

        ``ExecResult.extra``: ``end`` (seconds from the call to its result), ``start``
        (to its run's start; absent for one never run), ``attempts`` (2 when retried).
        """
        limits = limits or Limits()
        if not executions:
            return []
        if deadline is not None and math.isnan(deadline):
            raise ValueError("deadline must be a number of seconds or None")
        if deadline is not None and math.isinf(deadline):
            deadline = None if deadline > 0 else -1.0
        job = _Job(0, executions, limits, group_budget, deadline)
        self._submit(job)
        self._wait(job)
        return [r if r is not None else ExecResult(LOST, note="lost") for r in job.results]

    # -- the scheduler thread ------------------------------------------------------
    def _serve(self) -> None:
        self._sel = sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        error: BaseException | None = None
        try:
            while True:
                if self._take_inbox():
                    break
                now = time.monotonic()
                self._sweep(now)
                self._grow(now)
                self._dispatch()
                wake = math.inf
                for w in self._workers:
                    if w.run is not None:
                        wake = min(wake, w.run.deadline())
                    elif w.state == STARTING:
                        wake = min(wake, w.start_deadline)
                for job in self._jobs:
                    if not job.deadline_swept:
                        wake = min(wake, job.deadline_at)
                if self._grow_after > now:
                    wake = min(wake, self._grow_after)
                timeout = None if wake == math.inf else max(0.0, wake - time.monotonic())
                for key, _ in sel.select(timeout):
                    data = key.data
                    if data is None:
                        try:
                            while os.read(self._wake_r, 4096):
                                pass
                        except OSError:
                            pass
                    elif data[0] == "ctrl":
                        self._on_ctrl(data[1])
                    else:
                        self._on_pipe(data[0], data[1])
                now = time.monotonic()
                for w in list(self._workers):
                    run = w.run
                    if run is not None:
                        self._check_run(run, now)
                    elif w.state == STARTING and now >= w.start_deadline:
                        self._start_failed(w, f"no reply in {self.start_timeout:g} s")
        except BaseException as e:  # noqa: BLE001 - a bug here must not leave callers waiting
            error = e
        finally:
            self._stop_serving(error)

    def _take_inbox(self) -> bool:
        """New batches join; True when the pool is closing."""
        if not self._inbox and not self._closing:  # (a call that adds one also writes the wake-up pipe)
            return False
        with self._inbox_lock:
            new, self._inbox = self._inbox, []
            closing = self._closing
        if closing:
            self._jobs.extend(j for j in new if not j.warm)
            self._warm.extend(j for j in new if j.warm)
            return True
        if new:
            now = time.monotonic()
            if not any(w.state in (IDLE, BUSY) for w in self._workers):
                self._grow_after = 0.0  # a new call may try again at once (and fail fast)
            floor = min((j.vused(now) for j in self._jobs if not j.closed), default=0.0)
            for job in new:
                if job.warm:
                    self._floor = self.processes
                    self._warm.append(job)
                    self._ready()
                    continue
                job.vbase = floor
                self._jobs.append(job)
                if job.deadline_at <= now:
                    self._sweep_deadline(job, now)
        return False

    def _stop_serving(self, error: BaseException | None) -> None:
        """The scheduler ends (the pool closes, or a bug): nobody is left waiting."""
        jobs, self._jobs, self._warm = self._jobs + self._warm, [], []
        for w in self._workers:  # ask every runner to exit, then wait for them together
            if w.run is not None:
                self._close_fds(w.run)
                w.run = None
            if w.state != DEAD:
                self._unregister(w.ctrl)
                w.shutdown()
        until = time.monotonic() + 2.0
        for w in self._workers:
            w.reap(timeout=max(0.05, until - time.monotonic()))
        self._workers = []
        self._idle.clear()
        try:
            self._sel.close()
        except (OSError, RuntimeError, AttributeError):
            pass
        self._sel = None
        with self._inbox_lock:  # from here on a new call starts a new scheduler
            jobs += self._inbox
            self._inbox = []
            self._thread = None
        for job in jobs:
            if job.closed:
                continue
            if error is not None:
                job.error = SandboxUnavailableError(f"the sandbox scheduler failed: {type(error).__name__}: {error}")
                job.error.__cause__ = error
            elif job.warm:
                job.error = SandboxUnavailableError("the sandbox pool was closed while its workers started")
            else:
                for i, r in enumerate(job.results):
                    if r is None:
                        self._set(job, i, ExecResult(LOST, note="the sandbox pool was closed"))
            self._close_job(job)

    # -- workers -------------------------------------------------------------------
    def _launch(self, slot: int | None = None) -> bool:
        try:
            w = _Worker(self)
        except Exception as e:  # noqa: BLE001 - cannot even start the process
            if slot is not None:
                del self._workers[slot]
            self._count_start_failure(f"{type(e).__name__}: {e}")
            return False
        if slot is None:
            self._workers.append(w)
        else:
            self._workers[slot] = w
        self._sel.register(w.ctrl, selectors.EVENT_READ, ("ctrl", w))
        return True

    def _grow(self, now: float) -> None:
        if len(self._workers) >= self.processes or now < self._grow_after:
            return
        demand = sum(j.pending for j in self._jobs if not j.closed) + sum(1 for w in self._workers if w.run is not None)
        want = min(self.processes, max(self._floor, demand))
        while len(self._workers) < want:
            if not self._launch():
                break

    def _discard(self, w: _Worker) -> None:
        if w.state != DEAD:
            self._unregister(w.ctrl)
        if w.state == IDLE:
            try:
                self._idle.remove(w)
            except ValueError:
                pass
        w.kill()

    def _replace(self, w: _Worker, *, unused_death: bool = False) -> None:
        """Kill a worker and start another in its slot (the slot order stays).

        ``unused_death``: it died before it ran anything to the end (idle, or refusing its
        first run): counted like a failed start, so a sandbox that cannot work ends in a
        SandboxUnavailableError instead of an endless round of replacements."""
        self._discard(w)
        self.replaced += 1
        try:
            slot = self._workers.index(w)
        except ValueError:
            return
        if unused_death and self._count_start_failure("a sandbox worker died before it ran anything"):
            del self._workers[slot]  # no replacement for now
            return
        self._launch(slot)

    def _start_failed(self, w: _Worker, why: str) -> None:
        detail = w.startup_error()
        self._discard(w)
        try:
            self._workers.remove(w)
        except ValueError:
            pass
        self._count_start_failure(detail or why)

    def _count_start_failure(self, why: str) -> bool:
        """True when too many failed in a row: no more starts for a while (and, with no
        working worker left, every waiting caller gets a SandboxUnavailableError)."""
        self._start_failures += 1
        self._start_error = why
        if self._start_failures < _MAX_START_FAILURES:
            return False
        self._start_failures = 0
        self._grow_after = time.monotonic() + 5.0
        if any(w.state in (IDLE, BUSY) for w in self._workers):
            return True  # some workers work: carry on with them
        err = f"the {self.mode} sandbox workers do not start ({why or 'no reply'}). " + (INSTALL_HINT if self.mode == BWRAP else "")
        self._floor = 0
        for job in self._jobs + self._warm:
            if not job.closed:
                job.error = SandboxUnavailableError(err)
                self._close_job(job)
        self._jobs, self._warm = [], []
        return True

    def _ready(self) -> None:
        if not self._warm:
            return
        ready = sum(1 for w in self._workers if w.state in (IDLE, BUSY))
        if ready >= self.processes:
            for job in self._warm:
                self._close_job(job)
            self._warm = []

    def _unregister(self, fd: Any) -> None:
        try:
            self._sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    # -- choosing what runs next -----------------------------------------------------
    def _pick(self, now: float) -> tuple[_Job, _Group, bool] | None:
        best: _Job | None = None
        best_key: tuple[float, int] | None = None
        for job in self._jobs:
            if job.pending <= 0 or job.closed:
                continue
            key = (job.vused(now), job.seq)
            if best_key is None or key < best_key:
                best, best_key = job, key
        if best is None:
            return None
        heap = best.heap
        while heap and not heap[0][3].queue:
            heapq.heappop(heap)[3].in_heap = False
        group: _Group | None = None
        gkey: tuple[float, int, int] | None = None
        from_heap = False
        if heap:
            gkey, group, from_heap = heap[0][:3], heap[0][3], True
        for g in best.busy:
            if g.queue:
                k = (g.used + sum(now - r.started for r in g.running), g.started, g.order)
                if gkey is None or k < gkey:
                    gkey, group, from_heap = k, g, False
        if group is None:  # cannot happen (every group with work is in the heap or busy); stay safe
            best.heap = heap = [(g.used, g.started, g.order, g) for g in best.groups if g.queue and not g.running]
            heapq.heapify(heap)
            for g in best.groups:
                g.in_heap = False
            for entry in heap:
                entry[3].in_heap = True
            best.pending = sum(len(g.queue) for g in best.groups)
            return (best, heap[0][3], True) if heap else None
        return best, group, from_heap

    def _dispatch(self) -> None:
        while self._idle:
            now = time.monotonic()
            picked = self._pick(now)
            if picked is None:
                return
            job, g, from_heap = picked
            ex = job.executions[g.queue[0]]
            timeout = ex.timeout if ex.timeout is not None else job.limits.timeout
            part = job.partial.get(g.queue[0])
            if part is not None:  # an assert run going on after a slice: what is left of its time
                timeout = max(0.05, timeout - part["wall"])
            budget = ex.budget if ex.budget is not None else job.budget
            by_budget = False
            if budget is not None:
                left = budget - g.used - sum(now - r.started for r in g.running)
                if left <= 0:
                    self._skip_group(
                        job, g, ExecResult(SKIPPED, note=f"not run: the problem's {budget:g} s budget was spent", extra={"budget": budget})
                    )
                    continue
                if left < timeout:
                    timeout, by_budget = max(left, 0.05), True
            by_deadline = False
            left = job.deadline_at - now
            if left <= 0.01:
                self._sweep_deadline(job, now)
                continue
            if left < timeout:
                timeout, by_deadline = left, True
            w = self._idle.popleft()
            if not w.alive() or w.runs >= self.max_runs_per_worker:
                self._replace(w, unused_death=w.completed == 0)
                continue
            i = g.queue[0]
            run = self._start(w, job, g, i, timeout, by_deadline)
            if run is not None and by_budget:
                run.budget = budget
            if run is None:  # the worker died while idle: not this program's fault; it stays queued
                self._replace(w, unused_death=w.completed == 0)
                continue
            g.queue.popleft()
            job.pending -= 1
            if from_heap:
                heapq.heappop(job.heap)
                g.in_heap = False
            g.started += 1
            g.running.add(run)
            job.running.add(run)
            job.busy.add(g)

    def _skip_group(self, job: _Job, g: _Group, template: ExecResult) -> None:
        while g.queue:
            i = g.queue.popleft()
            job.pending -= 1
            res = ExecResult(template.status, note=template.note, extra=dict(template.extra))
            part = job.partial.get(i)
            if part is not None:  # the verdicts of its earlier slices stay
                res.result, res.wall, res.cpu, res.stderr = bytes(part["result"]), part["wall"], part["cpu"], part["stderr"]
            self._set(job, i, res)

    def _sweep(self, now: float) -> None:
        closed = False
        for job in self._jobs:
            if job.closed:
                closed = True
            elif job.cancelled:
                for run in list(job.running):
                    self._send_kill(run)
                self._close_job(job)
                closed = True
            elif now >= job.deadline_at and not job.deadline_swept:
                self._sweep_deadline(job, now)
        if closed:
            self._jobs = [j for j in self._jobs if not j.closed]

    def _sweep_deadline(self, job: _Job, now: float) -> None:
        job.deadline_swept = True
        note = "not run: the item's deadline was reached"
        for g in job.groups:
            if g.queue:
                self._skip_group(job, g, ExecResult(SKIPPED, note=note, extra={"deadline": True}))

    def _set(self, job: _Job, i: int, res: ExecResult) -> None:
        if job.closed or job.results[i] is not None:
            return
        res.extra["end"] = round(time.monotonic() - job.t0, 6)
        job.results[i] = res
        job.remaining -= 1
        if job.remaining <= 0:
            self._close_job(job)

    def _close_job(self, job: _Job) -> None:
        job.closed = True
        job.done.set()

    # -- one run -----------------------------------------------------------------
    def _start(self, w: _Worker, job: _Job, g: _Group, i: int, timeout: float, by_deadline: bool) -> _Run | None:
        ex = job.executions[i]
        limits = job.limits
        self._next_id += 1
        rid = self._next_id
        program = ex.program.encode("utf-8", "surrogatepass")
        test_timeout = ex.test_timeout if ex.test_timeout is not None else limits.timeout
        if ex.mode == "call":
            args = ex.input if isinstance(ex.input, list) else [ex.input]
            data = json.dumps(args).encode()
        elif ex.mode == "assert":
            data = json.dumps(ex.input).encode()
        else:
            data = ex.input.encode("utf-8", "surrogatepass") if isinstance(ex.input, str) else bytes(ex.input)
        header = {
            "id": rid,
            "mode": ex.mode if ex.mode in ("call", "assert") else "stdio",
            "fn_name": ex.fn_name,
            "timeout": timeout,
            "cpu": _cpu_limit(limits, test_timeout, timeout),
            "preamble": bool(ex.preamble),
            "memory": int(limits.memory_mb) << 20,
            "nproc": int(limits.nproc),
            "nofile": int(limits.nofile),
            "fsize": int(limits.fsize_mb) << 20,
            "stack": int(limits.stack_mb) << 20,
        }
        if ex.mode == "assert":
            part = job.partial.get(i)
            header["n_tests"] = len(ex.input.get("tests") or ())
            header["test_timeout"] = test_timeout
            header["start"] = int(part["start"] if part else ex.start)
            # a run gives its worker back after about one test's time (fair share), and goes on later
            header["slice"] = test_timeout
        send_fds: list[int] = []
        keep: dict[str, int] = {}
        sent = False
        try:
            send_fds.append(_memfd("program", program))
            send_fds.append(_memfd("input", data))
            for name in ("out", "err", "res"):
                r, wfd = os.pipe()
                keep[name] = r
                send_fds.append(wfd)
            if ex.mode != "call":
                try:
                    fcntl.fcntl(send_fds[2], getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
                except OSError:
                    pass
            run = _Run(job, g, i, rid, w, timeout, by_deadline)
            try:
                socket.send_fds(w.ctrl, [json.dumps(header).encode()], send_fds)
                sent = True
            except OSError:
                return None
        finally:
            for fd in send_fds:
                os.close(fd)
            if not sent:
                for fd in keep.values():
                    os.close(fd)
        w.runs += 1
        w.state = BUSY
        w.run = run
        for name, fd in keep.items():
            os.set_blocking(fd, False)
            self._sel.register(fd, selectors.EVENT_READ, (run, name))
        run.fds = keep
        return run

    def _on_ctrl(self, w: _Worker) -> None:
        try:
            msg = w.ctrl.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            msg = b""
        if w.state == STARTING:
            try:
                ready = json.loads(msg) if msg else {}
            except ValueError:
                ready = {}
            if isinstance(ready, dict) and ready.get("ready"):
                w.state = IDLE
                self._idle.append(w)
                self._ready()
            else:
                self._start_failed(w, "no reply" if not msg else "a garbled reply")
            return
        run = w.run
        if not msg:  # the worker died (killed from outside, or out of memory)
            self._unregister(w.ctrl)
            w.dead = True
            if run is None:  # while idle: start another in its place
                self._replace(w, unused_death=w.completed == 0)
            elif run.status is None:
                run.worker_lost = "the sandbox worker died during the run"
                run.status = {"exit": None, "signal": None, "timed_out": False}
                run.status_at = time.monotonic()
            return
        if run is None:
            return  # a late report of a run already given up: ignore
        try:
            status = json.loads(msg)
        except ValueError:
            return
        if isinstance(status, dict) and status.get("id") == run.rid and run.status is None:
            run.status = status
            run.status_at = time.monotonic()

    def _on_pipe(self, run: _Run, kind: str) -> None:
        fd = run.fds.get(kind)
        if fd is None:
            return
        try:
            data = os.read(fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_fd(run, kind)
            return
        if kind == "err":
            run.stderr_total += len(data)
            run.stderr += data
            if len(run.stderr) > 4 * _STDERR_KEEP:
                del run.stderr[: -_STDERR_KEEP]
            if run.stderr_total > run.limits.output_bytes:  # stop reading a flood; the writer gets EPIPE
                self._close_fd(run, kind)
            return
        buf = run.stdout if kind == "out" else run.result
        buf += data
        if len(buf) > run.limits.output_bytes:
            del buf[run.limits.output_bytes :]
            run.output_exceeded = True
            self._close_fd(run, kind)
            self._send_kill(run)

    def _check_run(self, run: _Run, now: float) -> None:
        w = run.worker
        if not run.done() and now >= run.deadline():
            if run.status is None:  # the worker missed its own deadline: kill the sandbox
                run.worker_lost = "the sandbox worker missed its deadline and was killed"
                run.status = {"timed_out": True, "exit": None, "signal": None}
                run.status_at = now
                self._unregister(w.ctrl)
                w.dead = True
            self._close_fds(run)
        if run.done():
            self._finish(run, now)

    def _finish(self, run: _Run, now: float) -> None:
        w, job, g, i = run.worker, run.job, run.group, run.index
        w.run = None
        g.running.discard(run)
        job.running.discard(run)
        if w.dead or not (run.status or {}).get("clean", True):
            self._replace(w)
        else:
            w.completed += 1
            w.state = IDLE
            self._idle.append(w)
        res: ExecResult | None = None
        if job.closed:
            pass
        elif run.worker_lost and (run.by_deadline or now >= job.deadline_at):
            res = ExecResult(
                TIMEOUT,
                wall=now - run.started,
                note=f"stopped: the item's deadline was reached ({run.worker_lost})",
                extra={"deadline": True},
            )
        elif run.worker_lost:
            self.lost += 1
            g.losses += 1
            note = f"{run.worker_lost} (test {i})"
            if g.losses < _MAX_LOSSES and not g.failed:
                g.queue.appendleft(i)  # again, on another worker; its time is not charged
                g.retried.add(i)
                job.pending += 1
                self.retried += 1
            else:
                if not g.failed:
                    g.failed = note
                res = ExecResult(LOST, wall=now - run.started, note=f"{note}; the item lost {g.losses} runs so, no more retries")
                self._skip_group(job, g, ExecResult(SKIPPED, note=f"not run: the sandbox failed ({g.failed})"))
                for other in list(g.running):
                    self._send_kill(other)
        else:
            self._start_failures = 0
            res = self._result(run)
            g.used += res.wall
            job.used += res.wall
            part = job.partial.get(i)
            nxt = (run.status or {}).get("next")
            ex = job.executions[i]
            n_tests = len(ex.input.get("tests") or ()) if run.mode == "assert" and isinstance(ex.input, dict) else 0
            if (
                run.mode == "assert" and res.status == OK and isinstance(nxt, int) and not g.failed
                and (part["start"] if part else ex.start) < nxt < n_tests
            ):
                # the run gave its worker back after a slice of time: go on later from test ``nxt``
                if part is None:
                    part = job.partial[i] = {"result": bytearray(), "wall": 0.0, "cpu": 0.0, "stderr": ""}
                part["result"] += res.result or b""
                part["wall"] += res.wall
                part["cpu"] += res.cpu
                part["stderr"] = res.stderr or part["stderr"]
                part["start"] = nxt
                g.queue.appendleft(i)
                job.pending += 1
                res = None
            elif part is not None:
                res.result = bytes(part["result"]) + (res.result or b"")
                res.wall += part["wall"]
                res.cpu += part["cpu"]
            if res is not None and g.failed:  # the item is a sandbox failure whatever this run did
                res.note = (res.note + "; " if res.note else "") + f"the item failed: {g.failed}"
        if not g.running:
            job.busy.discard(g)
            if g.queue and not g.in_heap:
                heapq.heappush(job.heap, (g.used, g.started, g.order, g))
                g.in_heap = True
        if res is not None:
            res.extra["start"] = round(run.started - job.t0, 6)
            if i in g.retried:
                res.extra["attempts"] = 2
            self._set(job, i, res)

    def _send_kill(self, run: _Run) -> None:
        if run.kill_sent or run.status is not None:
            return
        run.kill_sent = True
        try:
            run.worker.ctrl.send(f"kill {run.rid}".encode())
        except OSError:
            pass

    def _close_fd(self, run: _Run, kind: str) -> None:
        fd = run.fds.pop(kind, None)
        if fd is not None:
            self._unregister(fd)
            os.close(fd)

    def _close_fds(self, run: _Run) -> None:
        for kind in list(run.fds):
            self._close_fd(run, kind)

    def _result(self, run: _Run) -> ExecResult:
        st = run.status or {}
        code, sig = st.get("exit"), st.get("signal")
        stderr = bytes(run.stderr[-_STDERR_KEEP:]).decode("utf-8", "replace")
        res = ExecResult(
            RUNTIME,
            stdout=bytes(run.stdout),
            result=bytes(run.result) if run.mode in ("call", "assert") else None,
            stderr=stderr,
            exit_code=code,
            signal=sig,
            wall=float(st.get("wall") or (time.monotonic() - run.started)),
            cpu=float(st.get("cpu") or 0.0),
            maxrss_kb=int(st.get("maxrss_kb") or 0),
        )
        ex = run.job.executions[run.index]
        cpu_limit = float(_cpu_limit(run.limits, ex.test_timeout if ex.test_timeout is not None else run.limits.timeout, run.timeout))
        if run.output_exceeded:
            res.status, res.note = OUTPUT, f"output exceeded {run.limits.output_mb:g} MiB"
        elif st.get("timed_out") and run.budget is not None:
            res.status, res.note = SKIPPED, f"stopped: the problem's {run.budget:g} s budget was spent (not this test's own limit)"
            res.extra["budget"] = run.budget
        elif st.get("timed_out") and run.by_deadline:
            res.status, res.note = TIMEOUT, "stopped: the item's deadline was reached"
            res.extra["deadline"] = True
        elif st.get("timed_out"):
            res.status, res.note = TIMEOUT, f"ran past the {run.timeout:g} s wall-clock limit"
        elif run.mode == "assert" and code == 0 and sig is None:
            res.status = OK  # the verdicts are on the result pipe; a crash of the program is in them
        elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and res.cpu >= cpu_limit - 0.05):
            res.status, res.note = TIMEOUT, f"ran past the {cpu_limit:g} s CPU-time limit"
        elif code == EXIT_MEMORY or (code == EXIT_RAISED and "MemoryError" in stderr[-400:]):
            res.status, res.note = MEMORY, f"memory limit of {run.limits.memory_mb} MiB reached"
        elif st.get("killed"):
            res.status, res.note = RUNTIME, "killed"
        elif code == 0:
            res.status = OK
        elif sig is not None:
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            res.status, res.note = RUNTIME, f"killed by signal {name}"
        else:
            res.status = RUNTIME
            res.note = {
                EXIT_NOT_JSON: "the return value is not JSON data",
                EXIT_NO_FUNCTION: "the function to call was not found",
            }.get(code, f"exit code {code}")
        return res


# --------------------------------------------------------------------------- shared pools

_ALL_POOLS: "weakref.WeakSet[SandboxPool]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_ALL_POOLS):
        try:
            pool._after_fork()
        except Exception:  # noqa: BLE001 - a half-updated copy of the parent's state: start clean anyway
            pool._init_process_state()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_POOLS: dict[tuple, SandboxPool] = {}
_POOLS_LOCK = threading.Lock()


def get_pool(sandbox: str | None = None, *, processes: int | None = None, packages: Sequence[str] = ("numpy",), tmp_mb: int = 64) -> SandboxPool:
    """The process-wide pool for a configuration (created on first use, closed at exit)."""
    mode = resolve_mode(sandbox)
    key = (mode, int(processes or cpu_count()), tuple(packages), int(tmp_mb), os.getpid())
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = SandboxPool(mode, processes=processes, packages=packages, tmp_mb=tmp_mb)
            _POOLS[key] = pool
        return pool


@atexit.register
def _close_pools() -> None:
    # every pool, not only get_pool's: a pool's scheduler thread keeps it alive until closed
    for pool in list(_ALL_POOLS):
        try:
            pool.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
