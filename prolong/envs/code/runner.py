"""The sandboxed worker: runs inside bubblewrap and forks one limited child per execution.

This file is run as a script (``python -I -S runner.py CTRL_FD [HOST_PID]``) and imports
only the standard library. It never sees expected outputs, and it never reads a program, its
input or its output itself: those travel as file descriptors that only the forked child
reads (program and input: sealed memfds; stdout, stderr and the call result: pipes whose
read ends the host holds). So a hostile program cannot find another program's source or
another run's output in the memory it inherits from the worker.

Protocol over the inherited AF_UNIX SOCK_SEQPACKET socket ``CTRL_FD``:

* host -> worker, first message: JSON config ``{"bpf": hex or null, "sys_path": [...],
  "workdir": path, "clean_workdir": bool, "env": {...}}``; the worker answers
  ``{"ready": true, "pid": N}``.
* host -> worker: one execution: JSON ``{"id", "mode": "stdio"|"call", "fn_name",
  "timeout", "cpu", "memory", "nproc", "nofile", "fsize", "stack"}`` with 5 fds
  (program, input, stdout, stderr, result).
* host -> worker while it runs: ``kill <id>``: stop that execution now.
* worker -> host: ``{"id", "exit", "signal", "timed_out", "killed", "wall", "cpu",
  "maxrss_kb", "clean"}`` once the child and everything it started are dead.

The worker dies with its host: it asks for SIGKILL when its parent dies (bwrap, itself
started with ``--die-with-parent``; or, without a pid namespace, the host, whose pid is
``HOST_PID``: if the parent is already another process, the worker exits at once), and it
exits when the control socket closes, killing whatever the program left behind.

Exit codes of the child: 0 ok, 1 the program raised, 201 MemoryError, 202 the call's return
value is not JSON data, 203 the call-based function was not found, 204 setup failed
(a program may exit with these codes too: they only label a failure).
"""

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import time

EXIT_RAISED, EXIT_MEMORY, EXIT_NOT_JSON, EXIT_NO_FUNCTION, EXIT_SETUP = 1, 201, 202, 203, 204
MAX_PROGRAM = 4 << 20

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
SECCOMP_MODE_FILTER = 2

# What honest programs import, imported once here so a forked child finds them ready.
_WARM = (
    "math", "cmath", "collections", "itertools", "functools", "heapq", "bisect", "re", "string",
    "random", "fractions", "decimal", "statistics", "operator", "copy", "typing", "array",
    "threading", "io", "datetime", "queue", "dataclasses", "enum", "traceback", "types",
    "builtins", "json", "struct", "time",
)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _recv(ctrl):
    """One message and the fds that came with it (the fds are ours to close)."""
    msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1 << 16, 8)
    return msg, fds


def main():
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    # Die with the parent (even SIGKILLed). The signal comes when the parent *thread* ends:
    # the host starts workers from a thread that lives as long as it does.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    host = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if host and os.getppid() != host:
        return  # the host died before we asked
    # Children may not ptrace us, read /proc/<worker>/mem or open /proc/<worker>/fd/*.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Orphans of a child are re-parented to us, so we can wait until every one is dead.
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # As the pid namespace's init we only get the signals we handle: handle none.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    msg, fds = _recv(ctrl)
    for fd in fds:
        os.close(fd)
    if not msg:
        return
    config = json.loads(msg)
    for path in reversed(config.get("sys_path") or []):
        sys.path.insert(0, path)
    for key, value in (config.get("env") or {}).items():
        os.environ[key] = value
    bpf = bytes.fromhex(config["bpf"]) if config.get("bpf") else None
    prog = None
    if bpf:
        buf = ctypes.create_string_buffer(bpf, len(bpf))
        prog = _SockFprog(len(bpf) // 8, ctypes.addressof(buf))
        prog._buffer = buf  # keep the filter's memory alive
    workdir = config.get("workdir") or "/tmp"
    drop_uid = config.get("drop_uid")
    global _IN_PID_NAMESPACE
    _IN_PID_NAMESPACE = bool(config.get("pid_namespace"))
    clean_workdir = bool(config.get("clean_workdir", True))
    for name in _WARM:
        try:
            __import__(name)
        except Exception:
            pass
    # -S skips site, which is what defines exit() and quit(); honest programs call them.
    import _sitebuiltins
    import builtins

    builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
    builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
    import gc

    gc.collect()
    gc.freeze()  # children's collections skip the worker's objects: fewer copy-on-write faults
    ctrl.send(json.dumps({"ready": True, "pid": os.getpid()}).encode())
    while True:
        try:
            msg, fds = _recv(ctrl)
        except OSError:
            return
        if not msg:
            return  # the host closed the channel
        if len(fds) != 5:  # a late "kill" for a finished run, or garbage: ignore
            for fd in fds:
                os.close(fd)
            continue
        req = json.loads(msg)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(req, fds, libc, prog, workdir, drop_uid)  # never returns
        for fd in fds:
            os.close(fd)
        status = _supervise(ctrl, req, pid, started)
        if clean_workdir and not _clean(workdir):
            status["clean"] = False  # too much left behind: the host replaces this sandbox
        ctrl.send(json.dumps(status).encode())


def _supervise(ctrl, req, pid, started):
    """Wait for the child (wall deadline, or a kill from the host), then kill everything."""
    timed_out = killed = False
    deadline = started + float(req["timeout"])
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    poller.register(ctrl.fileno(), select.POLLIN)
    exited = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        wait_ms = remaining * 1000 if pidfd is not None else min(remaining * 1000, 5)
        events = poller.poll(wait_ms)
        if pidfd is None:
            got, st, ru = os.wait4(pid, os.WNOHANG)
            if got == pid:
                exited = (st, ru)
                break
        if any(fd == pidfd for fd, _ in events):
            break
        if any(fd == ctrl.fileno() for fd, _ in events):
            msg, fds = _recv(ctrl)
            for fd in fds:
                os.close(fd)
            if not msg:  # the host is gone: so are we, and everything the program started
                _kill_all(pid)
                os._exit(0)
            if msg == f"kill {req['id']}".encode():
                killed = True
                break
    if pidfd is not None:
        os.close(pidfd)
    wall = time.monotonic() - started
    code = sig = None
    cpu = 0.0
    maxrss = 0
    if exited is not None:
        st, ru = exited
        cpu += ru.ru_utime + ru.ru_stime
        maxrss = max(maxrss, ru.ru_maxrss)
        code, sig = _decode(st)
    # Kill the child and everything it started (daemons, double forks: re-parented to us as
    # the subreaper), then reap them all. kill(-1) in a pid namespace reaches all of its
    # processes but init and us; outside one (unsafe mode) the process group must do.
    clean = False
    stop = time.monotonic() + 3.0
    while time.monotonic() < stop:
        _kill_all(pid)
        try:
            got, st, ru = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            clean = True
            break
        if got == 0:
            time.sleep(0.001)
            continue
        if got == pid:
            cpu += ru.ru_utime + ru.ru_stime
            maxrss = max(maxrss, ru.ru_maxrss)
            code, sig = _decode(st)
    return {
        "id": req["id"],
        "exit": code,
        "signal": sig,
        "timed_out": timed_out,
        "killed": killed,
        "wall": round(wall, 6),
        "cpu": round(cpu, 6),
        "maxrss_kb": maxrss,
        "clean": clean,
    }


_IN_PID_NAMESPACE = False  # set from the config: True inside bubblewrap's pid namespace


def _kill_all(pid):
    if _IN_PID_NAMESPACE:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        return
    # No pid namespace (unsafe mode): the child's group, then every descendant of ours
    # (orphans are re-parented to us, the subreaper), found through /proc.
    targets = [-pid, pid] + descendants(os.getpid())
    for target in targets:
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass


def descendants(root):
    """Every descendant pid of ``root``, from one snapshot of /proc (also used by the host)."""
    children = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def _decode(st):
    if os.WIFEXITED(st):
        return os.WEXITSTATUS(st), None
    if os.WIFSIGNALED(st):
        return None, os.WTERMSIG(st)
    return None, None


def _clean(workdir, budget=2.0, max_entries=100000):
    """Empty the work directory; False when what is left is too much to remove quickly.

    Deep trees are flattened (sub-directories renamed to the top) so paths stay short and
    nothing recurses; directories a program made unreadable are chmod-ed back (same uid).
    """
    deadline = time.monotonic() + budget
    count = moved = 0
    while True:
        try:
            entries = list(os.scandir(workdir))
        except OSError:
            return False
        if not entries:
            return True
        for entry in entries:
            count += 1
            if count > max_entries or time.monotonic() > deadline:
                return False
            try:
                if not entry.is_dir(follow_symlinks=False):
                    os.unlink(entry.path)
                    continue
                os.chmod(entry.path, 0o700)
                for sub in os.scandir(entry.path):
                    count += 1
                    if sub.is_dir(follow_symlinks=False):
                        os.chmod(sub.path, 0o700)
                        moved += 1
                        os.rename(sub.path, os.path.join(workdir, f".prolong-clean-{moved}"))
                    else:
                        os.unlink(sub.path)
                os.rmdir(entry.path)
            except OSError:
                pass


# --------------------------------------------------------------------------- the child


def _pread_all(fd, limit):
    chunks, offset = [], 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)
        if offset > limit:
            raise ValueError("program too large")


def _child(req, fds, libc, prog, workdir, drop_uid=None):
    code = EXIT_SETUP
    try:
        code = _child_main(req, fds, libc, prog, workdir, drop_uid)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - a setup failure; the program never ran
        try:
            os.write(2, b"sandbox setup failed\n")
        except OSError:
            pass
    os._exit(code & 0xFF if isinstance(code, int) else 1)


def _child_main(req, fds, libc, prog, workdir, drop_uid=None):
    prog_fd, in_fd, out_fd, err_fd, res_fd = fds
    os.setsid()
    source = _pread_all(prog_fd, MAX_PROGRAM)
    call = req["mode"] == "call"
    args_raw = _pread_all(in_fd, 1 << 30) if call else None
    stdin_fd = os.open(os.devnull, os.O_RDONLY) if call else in_fd
    os.dup2(stdin_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.dup2(res_fd, 3)
    os.closerange(4, max(1 << 16, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))  # control socket, originals

    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_CPU, int(req["cpu"]), int(req["cpu"]) + 1)
    _limit(resource.RLIMIT_NOFILE, int(req["nofile"]))
    _limit(resource.RLIMIT_FSIZE, int(req["fsize"]))
    _limit(resource.RLIMIT_NPROC, int(req["nproc"]))
    # the stack's hard limit stays: programs that raise their stack limit (a common idiom
    # before deep recursion) still fit in the address-space limit
    _limit(resource.RLIMIT_STACK, int(req["stack"]), resource.getrlimit(resource.RLIMIT_STACK)[1])
    _limit(resource.RLIMIT_AS, int(req["memory"]))
    if drop_uid is not None:  # unsafe mode started by root: at least not root
        os.setgroups([])
        os.setresgid(drop_uid, drop_uid, drop_uid)
        os.setresuid(drop_uid, drop_uid, drop_uid)
    # killed with the worker: a pid namespace does that anyway; without one (unsafe mode)
    # this helps. After the uid change, which would clear it.
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError("PR_SET_NO_NEW_PRIVS failed")
    if prog is not None:
        if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "seccomp filter could not be installed")
    os.chdir(workdir)

    import builtins
    import io
    import random
    import types

    random.seed()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the worker ignores it; programs get Python's default
    sys.argv = ["solution.py"]
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False), 1 << 16), encoding="utf-8", errors="surrogateescape"
    )
    out = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16), encoding="utf-8", errors="surrogateescape"
    )
    err = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False), 1 << 12),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,
    )
    sys.stdout = sys.__stdout__ = out
    sys.stderr = sys.__stderr__ = err
    name = "solution" if call else "__main__"
    module = types.ModuleType(name)
    module.__dict__.update({"__builtins__": builtins, "__file__": "solution.py"})
    sys.modules[name] = module
    write = os.write
    dumps = json.dumps
    try:
        code = compile(source.decode("utf-8", "surrogateescape"), "solution.py", "exec", dont_inherit=True)
        del source
        exec(code, module.__dict__)
        if not call:
            threading = sys.modules.get("threading")
            if threading is not None:
                threading._shutdown()  # what the interpreter does at exit: join non-daemon threads
            _flush()
            return 0
        # As TACO: a method of class Solution when there is one (LeetCode style), else a
        # top-level function (Codewars / APPS style).
        cls = module.__dict__.get("Solution")
        fn = None
        if isinstance(cls, type) and hasattr(cls, req["fn_name"]):
            fn = getattr(cls(), req["fn_name"], None)
        if not callable(fn):
            fn = module.__dict__.get(req["fn_name"])
        if not callable(fn):
            _flush()
            print(f"no function named {req['fn_name']!r} (nor a Solution class with that method)", file=sys.__stderr__)
            _flush()
            return EXIT_NO_FUNCTION
        args = json.loads(args_raw)
        result = fn(*args) if isinstance(args, list) else fn(args)
        try:
            data = dumps(result, default=_plain).encode()
        except (TypeError, ValueError, RecursionError) as e:
            _flush()
            print(f"the return value is not JSON data: {type(e).__name__}: {e}"[:500], file=sys.__stderr__)
            _flush()
            return EXIT_NOT_JSON
        view = memoryview(data)
        while view:
            view = view[write(3, view) :]
        _flush()
        return 0
    except SystemExit as e:
        _flush()
        c = e.code
        if c is None:
            return 0
        if isinstance(c, int):
            return c
        print(c, file=sys.__stderr__)
        _flush()
        return 1
    except MemoryError:
        _flush()
        try:
            os.write(2, b"MemoryError: the memory limit was reached\n")
        except OSError:
            pass
        return EXIT_MEMORY
    except BaseException:  # noqa: BLE001 - the program raised: report like the interpreter
        _flush()
        try:
            import traceback

            etype, value, tb = sys.exc_info()
            while tb is not None and tb.tb_frame.f_code.co_filename != "solution.py":
                tb = tb.tb_next  # the program's frames only, as the interpreter would show them
            traceback.print_exception(etype, value, tb, file=sys.__stderr__)
        except BaseException:  # noqa: BLE001
            pass
        _flush()
        return EXIT_RAISED


def _plain(value):
    """JSON for what honest code returns besides JSON types: numpy values, Fraction, Decimal."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if type(value).__name__ in ("Fraction", "Decimal"):
        return float(value)
    raise TypeError(f"a {type(value).__name__} is not JSON data")


def _flush():
    for stream in (sys.stdout, sys.__stdout__, sys.stderr, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a closed or replaced stream
            pass


def _limit(which, soft, hard=None):
    hard = soft if hard is None else hard
    cur_soft, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
        soft = min(soft, hard)
    resource.setrlimit(which, (soft, hard))


if __name__ == "__main__":
    main()
