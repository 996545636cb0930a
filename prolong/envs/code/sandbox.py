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
* A worker that dies or misses its deadline is killed as a whole sandbox and replaced.

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
import importlib.util
import json
import math
import os
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
    values); a top-level function or a method of a ``Solution`` class. ``group`` names
    the executions that share a wall-clock budget (one problem's tests).
    """

    program: str
    input: Any = ""
    mode: str = "stdio"
    fn_name: str | None = None
    group: Any = None


@dataclass
class ExecResult:
    """What happened. ``status``: ``ok`` (exited 0), ``timeout``, ``memory limit``,
    ``output limit``, ``runtime error`` or ``skipped`` (its problem's budget was spent).
    ``result`` is the JSON text of a call's return value (call mode, status ok)."""

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

# Workers are started from one long-lived thread: bwrap's --die-with-parent (PDEATHSIG)
# fires when the *thread* that started it ends, so a short-lived caller thread would take
# its sandboxes with it.
_SPAWNER: tuple[int, concurrent.futures.ThreadPoolExecutor] | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> concurrent.futures.ThreadPoolExecutor:
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None or _SPAWNER[0] != os.getpid():  # threads do not survive a fork
            _SPAWNER = (os.getpid(), concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="prolong-sandbox-spawner"))
        return _SPAWNER[1]


class _Worker:
    __slots__ = ("proc", "ctrl", "runs", "mode", "workdir", "stderr_r", "dead")

    def __init__(self, pool: "SandboxPool") -> None:
        self.mode = pool.mode
        self.runs = 0
        self.dead = False
        self.workdir: str | None = None
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
                argv = [python, "-I", "-S", str(RUNNER), str(child.fileno())]
                env = dict(_SANDBOX_ENV, HOME=self.workdir, TMPDIR=self.workdir)
                cwd = self.workdir
            self.proc = _spawner().submit(
                subprocess.Popen,
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err_w,
                pass_fds=[child.fileno()],
                env=env,
                cwd=cwd,
                start_new_session=True,
            ).result()
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
            parent.settimeout(pool.start_timeout)
            reply = parent.recv(1 << 16)
            parent.settimeout(None)
            ready = json.loads(reply) if reply else {}
        except (OSError, ValueError):
            ready = {}
        if not ready.get("ready"):
            why = self.startup_error()
            self.kill()
            raise SandboxUnavailableError(
                f"the {self.mode} sandbox worker did not start ({why or 'no reply'}). "
                + (INSTALL_HINT if self.mode == BWRAP else "")
            )

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

    def kill(self) -> None:
        """Kill the whole sandbox (bwrap and, through its pid namespace, everything inside)."""
        self.dead = True
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

    def stop(self) -> None:
        self.dead = True
        try:
            self.ctrl.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self._close()

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


class _Run:
    __slots__ = (
        "index", "rid", "worker", "limits", "mode", "timeout", "group", "fds", "stdout", "stderr", "stderr_total",
        "result", "status", "started", "status_at", "output_exceeded", "kill_sent", "worker_lost",
    )

    def __init__(self, index: int, rid: int, worker: _Worker, limits: Limits, mode: str, timeout: float) -> None:
        self.index, self.rid, self.worker, self.limits, self.mode, self.timeout = index, rid, worker, limits, mode, timeout
        self.group: Any = None
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

    def deadline(self, grace: float) -> float:
        if self.status is None:
            return self.started + self.timeout + grace
        return self.status_at + 1.0  # output pipes should reach EOF at once: every writer is dead

    def done(self) -> bool:
        return self.status is not None and not self.fds


class SandboxPool:
    """Warm sandbox workers that run :class:`Execution` batches in parallel.

    Args:
        sandbox: ``"bwrap"`` (default) or ``"unsafe-rlimits-only"``; None reads
            ``PROLONG_ALLOW_UNSANDBOXED`` (see :func:`resolve_mode`).
        processes: number of workers (default: the CPUs this process may use).
        packages: installed packages made importable (read-only) inside the sandbox.
        tmp_mb: size of the sandbox's private /tmp.
        max_runs_per_worker: a worker is replaced after this many executions.
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
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._next_id = 0
        self._checked = False
        self.replaced = 0  # workers killed and replaced (a program broke one, or it missed its deadline)

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
                        stacklevel=3,
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
            warnings.warn("pyseccomp/libseccomp not available: sandboxed programs run without a seccomp filter", RuntimeWarning, stacklevel=3)
        self._checked = True

    def _ensure_workers(self, n: int) -> None:
        want = min(self.processes, max(1, n))
        while len(self._workers) < want:
            self._workers.append(_Worker(self))

    def _replace(self, w: _Worker) -> _Worker:
        w.kill()
        self.replaced += 1
        new = _Worker(self)
        self._workers[self._workers.index(w)] = new
        return new

    def start(self) -> "SandboxPool":
        """Start every worker now (otherwise they start on first use)."""
        with self._lock:
            self._check()
            self._ensure_workers(self.processes)
        return self

    def close(self) -> None:
        """Stop every worker (a batch still running in another thread loses its sandboxes)."""
        locked = self._lock.acquire(timeout=5)
        try:
            if os.getpid() == self._pid:
                for w in list(self._workers):
                    w.stop() if locked else w.kill()
            self._workers.clear()
        finally:
            if locked:
                self._lock.release()

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- running -----------------------------------------------------------------
    def run(
        self, executions: Sequence[Execution], limits: Limits | None = None, *, group_budget: float | None = None
    ) -> list[ExecResult]:
        """Run every execution; results in order.

        ``group_budget``: seconds of sandbox wall-clock time that all executions sharing a
        ``group`` may use together (summed over them, so time spent waiting for a free
        worker does not count); what has not started when it is spent is ``skipped``, and
        an execution's deadline never passes what is left of it.
        """
        limits = limits or Limits()
        results: list[ExecResult | None] = [None] * len(executions)
        if not executions:
            return []
        with self._lock:
            if os.getpid() != self._pid:  # a forked copy: never touch the parent's sandboxes
                self._workers, self._pid = [], os.getpid()
            self._check()
            self._ensure_workers(len(executions))
            self._loop(executions, limits, group_budget, results)
        return [r if r is not None else ExecResult(RUNTIME, note="lost") for r in results]

    def _loop(self, executions: Sequence[Execution], limits: Limits, budget: float | None, results: list) -> None:
        pending = deque(_round_robin(executions))
        group_used: dict[Any, float] = {}
        idle = deque(self._workers)
        running: dict[_Worker, _Run] = {}
        sel = selectors.DefaultSelector()
        grace = 3.0 + 0.5 * limits.timeout
        send_failures = 0
        try:
            while pending or running:
                while pending and idle:
                    i = pending.popleft()
                    ex = executions[i]
                    now = time.monotonic()
                    timeout = limits.timeout
                    if budget is not None:
                        used = group_used.get(ex.group, 0.0)
                        used += sum(now - r.started for r in running.values() if r.group == ex.group)
                        left = budget - used
                        if left <= 0:
                            results[i] = ExecResult(SKIPPED, note=f"the problem's {budget:g} s budget was spent")
                            continue
                        timeout = min(timeout, max(left, 0.05))
                    w = idle.popleft()
                    if not w.alive() or w.runs >= self.max_runs_per_worker:
                        w = self._replace(w)
                    run = self._start(w, i, ex, limits, timeout, sel)
                    if run is None:  # the worker died while idle: not this program's fault
                        send_failures += 1
                        if send_failures > 3:
                            raise SandboxUnavailableError("sandbox workers die as soon as they start; " + INSTALL_HINT)
                        idle.append(self._replace(w))
                        pending.appendleft(i)
                        continue
                    send_failures = 0
                    run.group = ex.group
                    running[run.worker] = run
                if not running:
                    continue
                now = time.monotonic()
                wake = min(r.deadline(grace) for r in running.values())
                for key, _ in sel.select(max(0.0, wake - now)):
                    run, kind = key.data
                    self._on_ready(run, kind, sel)
                now = time.monotonic()
                for w, run in list(running.items()):
                    if not run.done() and now >= run.deadline(grace):
                        if run.status is None:  # the worker missed its own deadline: kill the sandbox
                            run.worker_lost = "the sandbox missed its deadline and was killed"
                            run.status = {"timed_out": True, "exit": None, "signal": None}
                            run.status_at = now
                            self._close_fds(run, sel)
                            self._unregister_ctrl(w, sel)
                            w.dead = True
                        else:
                            self._close_fds(run, sel)
                    if run.done():
                        del running[w]
                        spent = float((run.status or {}).get("wall") or (now - run.started))
                        group_used[run.group] = group_used.get(run.group, 0.0) + spent
                        self._unregister_ctrl(w, sel)
                        results[run.index] = self._result(run)
                        if w.dead or not run.status.get("clean", True):
                            w = self._replace(w)
                        idle.append(w)
        finally:
            for w, run in running.items():  # interrupted (KeyboardInterrupt): leave nothing running
                self._close_fds(run, sel)
                w.kill()
            if running:
                self._workers = [w for w in self._workers if not w.dead]
            sel.close()

    def _start(self, w: _Worker, i: int, ex: Execution, limits: Limits, timeout: float, sel: selectors.BaseSelector) -> _Run | None:
        self._next_id += 1
        rid = self._next_id
        program = ex.program.encode("utf-8", "surrogatepass")
        if ex.mode == "call":
            args = ex.input if isinstance(ex.input, list) else [ex.input]
            data = json.dumps(args).encode()
        else:
            data = ex.input.encode("utf-8", "surrogatepass") if isinstance(ex.input, str) else bytes(ex.input)
        header = {
            "id": rid,
            "mode": "call" if ex.mode == "call" else "stdio",
            "fn_name": ex.fn_name,
            "timeout": timeout,
            "cpu": min(limits.cpu, max(1, math.ceil(timeout))),
            "memory": int(limits.memory_mb) << 20,
            "nproc": int(limits.nproc),
            "nofile": int(limits.nofile),
            "fsize": int(limits.fsize_mb) << 20,
            "stack": int(limits.stack_mb) << 20,
        }
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
            run = _Run(i, rid, w, limits, ex.mode, timeout)
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
        for name, fd in keep.items():
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ, (run, name))
        run.fds = keep
        sel.register(w.ctrl, selectors.EVENT_READ, (run, "ctrl"))
        return run

    def _on_ready(self, run: _Run, kind: str, sel: selectors.BaseSelector) -> None:
        if kind == "ctrl":
            try:
                msg = run.worker.ctrl.recv(1 << 16)
            except OSError:
                msg = b""
            if not msg:  # the worker died mid-run (the program broke it): fail this test
                run.worker.dead = True
                self._unregister_ctrl(run.worker, sel)
                if run.status is None:
                    run.worker_lost = "the sandbox worker died during the run"
                    run.status = {"exit": None, "signal": None, "timed_out": False}
                    run.status_at = time.monotonic()
                return
            try:
                status = json.loads(msg)
            except ValueError:
                return
            if status.get("id") == run.rid and run.status is None:
                run.status = status
                run.status_at = time.monotonic()
            return
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
            self._close_fd(run, kind, sel)
            return
        if kind == "err":
            run.stderr_total += len(data)
            run.stderr += data
            if len(run.stderr) > 4 * _STDERR_KEEP:
                del run.stderr[: -_STDERR_KEEP]
            if run.stderr_total > run.limits.output_bytes:  # stop reading a flood; the writer gets EPIPE
                self._close_fd(run, kind, sel)
            return
        buf = run.stdout if kind == "out" else run.result
        buf += data
        if len(buf) > run.limits.output_bytes:
            del buf[run.limits.output_bytes :]
            run.output_exceeded = True
            self._close_fd(run, kind, sel)
            self._send_kill(run)

    def _send_kill(self, run: _Run) -> None:
        if run.kill_sent or run.status is not None:
            return
        run.kill_sent = True
        try:
            run.worker.ctrl.send(f"kill {run.rid}".encode())
        except OSError:
            pass

    def _close_fd(self, run: _Run, kind: str, sel: selectors.BaseSelector) -> None:
        fd = run.fds.pop(kind, None)
        if fd is not None:
            try:
                sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            os.close(fd)

    def _close_fds(self, run: _Run, sel: selectors.BaseSelector) -> None:
        for kind in list(run.fds):
            self._close_fd(run, kind, sel)

    @staticmethod
    def _unregister_ctrl(w: _Worker, sel: selectors.BaseSelector) -> None:
        try:
            sel.unregister(w.ctrl)
        except (KeyError, ValueError):
            pass

    def _result(self, run: _Run) -> ExecResult:
        st = run.status or {}
        code, sig = st.get("exit"), st.get("signal")
        stderr = bytes(run.stderr[-_STDERR_KEEP:]).decode("utf-8", "replace")
        res = ExecResult(
            RUNTIME,
            stdout=bytes(run.stdout),
            result=bytes(run.result) if run.mode == "call" else None,
            stderr=stderr,
            exit_code=code,
            signal=sig,
            wall=float(st.get("wall") or (time.monotonic() - run.started)),
            cpu=float(st.get("cpu") or 0.0),
            maxrss_kb=int(st.get("maxrss_kb") or 0),
        )
        cpu_limit = float(min(run.limits.cpu, max(1, math.ceil(run.timeout))))
        if run.output_exceeded:
            res.status, res.note = OUTPUT, f"output exceeded {run.limits.output_mb:g} MiB"
        elif st.get("timed_out"):
            res.status, res.note = TIMEOUT, run.worker_lost or f"ran past the {run.timeout:g} s wall-clock limit"
        elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and res.cpu >= cpu_limit - 0.05):
            res.status, res.note = TIMEOUT, f"ran past the {cpu_limit:g} s CPU-time limit"
        elif run.worker_lost:
            res.status, res.note = RUNTIME, run.worker_lost
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


def _round_robin(executions: Sequence[Execution]) -> list[int]:
    """Interleave groups (test 0 of every problem, then test 1, ...) so no problem hogs the pool."""
    groups: dict[Any, list[int]] = {}
    for i, ex in enumerate(executions):
        groups.setdefault(ex.group if ex.group is not None else ("__single__", i), []).append(i)
    order: list[int] = []
    queues = [deque(v) for v in groups.values()]
    while queues:
        nxt = []
        for q in queues:
            order.append(q.popleft())
            if q:
                nxt.append(q)
        queues = nxt
    return order


# --------------------------------------------------------------------------- shared pools

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
    for pool in list(_POOLS.values()):
        try:
            pool.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
