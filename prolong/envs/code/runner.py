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
* host -> worker: one execution: JSON ``{"id", "mode": "stdio"|"call"|"assert", "fn_name",
  "timeout", "cpu", "memory", "nproc", "nofile", "fsize", "stack", "preamble"}`` (assert:
  also ``"n_tests", "test_timeout", "start", "slice"``) with 5 fds (program, input, stdout,
  stderr, result). Assert runs: see "assert tests" below; the report has ``"next"``, the
  test to go on from when the run gave its worker back after ``slice`` seconds.
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
        if req.get("mode") == "assert":
            status = _run_asserts(ctrl, req, fds, libc, prog, workdir, drop_uid, clean_workdir)
            ctrl.send(json.dumps(status).encode())
            continue
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
            time.sleep(0.0002)
            continue
        if got == pid:
            cpu += ru.ru_utime + ru.ru_stime
            maxrss = max(maxrss, ru.ru_maxrss)
            code, sig = _decode(st)
    return _status(req, code, sig, timed_out, killed, wall, cpu, maxrss, clean)


def _status(req, code, sig, timed_out, killed, wall, cpu, maxrss, clean):
    """The report of one run, as the host reads it."""
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
    source = _pread_all(prog_fd, MAX_PROGRAM)
    call = req["mode"] == "call"
    args_raw = _pread_all(in_fd, 1 << 30) if call else None
    stdin_fd = os.open(os.devnull, os.O_RDONLY) if call else in_fd
    os.dup2(stdin_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.dup2(res_fd, 3)
    os.closerange(4, max(1 << 16, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))  # control socket, originals

    # session, rlimits (the stack's hard limit stays: programs that raise their stack
    # limit before deep recursion still fit in the address-space limit), uid drop in
    # unsafe mode, parent-death signal (after the uid change, which would clear it),
    # no_new_privs, seccomp
    _child_common(req, libc, prog, workdir, drop_uid, req["cpu"])

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
        if call and req.get("preamble"):
            exec(compile(_PREAMBLE, "<preamble>", "exec", dont_inherit=True), module.__dict__)
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


# --------------------------------------------------------------------------- assert tests
#
# Mode "assert": tests are code that calls the program (HumanEval's check(candidate),
# MBPP's assert lines, pytest-style test functions). Two processes per execution, both
# forked from the worker, both under the same rlimits and seccomp filter:
#
# * the JUDGE runs only the tests' code. It holds the verdict pipe (the host's "result"
#   pipe) and writes one line per test, only after that test's code has returned or raised.
# * the PROGRAM process runs the response's module once (imports, module-level code), then
#   forks one child per test from that loaded state; the child serves the judge's calls.
#
# The judge calls the program through pipes: arguments go in, return values come back as
# plain data (numbers, strings, bytes, lists, tuples, dicts, sets, None) that the judge
# rebuilds from a tagged JSON encoding; anything else stays in the program as an opaque
# handle (equal only to itself, no truth value). So comparisons in the tests run on the
# judge's own plain values: an object whose __eq__ always says True never reaches it, an
# exit of the program (sys.exit, os._exit, SystemExit, a crash) is a failed test, and the
# program cannot write a verdict: it never holds the verdict pipe, cannot signal, trace or
# read the judge (seccomp, separate sessions, not dumpable), and whatever it writes on its
# reply pipe is at most a value.
#
# A test that times out or loses the program process ends the judge; the worker then kills
# everything and starts a fresh pair from the next test (the judge tells it which, on a pipe
# only the two of them hold).

_T_INT, _T_FLOAT, _T_TUPLE, _T_DICT, _T_SET, _T_FSET, _T_BYTES, _T_COMPLEX, _T_REF = "I", "F", "T", "D", "S", "Z", "B", "C", "R"
_MAX_MSG = 64 << 20
_END_OF_TEST = 87  # a test child's exit status when the judge ended its test


class _NotPlain(Exception):
    pass


def _encode(value, refs=None, depth=0):
    """Tagged-JSON-ready plain data (untrusted side: the judge checks what it decodes)."""
    if depth > 100:
        raise _NotPlain("nested too deeply")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if -(1 << 900) < value < (1 << 900) else {_T_INT: hex(value)}
    if t is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else {_T_FLOAT: repr(value)}
    if t is list:
        return [_encode(v, refs, depth + 1) for v in value]
    if t is tuple:
        return {_T_TUPLE: [_encode(v, refs, depth + 1) for v in value]}
    if t is dict:
        return {_T_DICT: [[_encode(k, refs, depth + 1), _encode(v, refs, depth + 1)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {(_T_SET if t is set else _T_FSET): [_encode(v, refs, depth + 1) for v in value]}
    if t is bytes or t is bytearray:
        return {_T_BYTES: bytes(value).hex()}
    if t is complex:
        return {_T_COMPLEX: [_encode(value.real), _encode(value.imag)]}
    # subclasses of the plain types: their plain value (what the base type holds)
    for base in (bool, int, float, str, bytes, complex, tuple, list, dict, frozenset, set):
        if isinstance(value, base):
            if base in (tuple, list, set, frozenset):
                plain = base(base.__iter__(value))
            elif base is dict:
                plain = dict(dict.items(value))
            elif base is bool:
                plain = bool(int.__int__(value))
            else:
                plain = getattr(base, "__new__")(base, value) if base is not int else int.__int__(value)
            return _encode(plain, refs, depth)
    mod = getattr(t, "__module__", "") or ""
    if mod.split(".")[0] == "numpy" and hasattr(value, "tolist"):
        return _encode(value.tolist(), refs, depth)
    if t.__name__ in ("Fraction", "Decimal") and mod in ("fractions", "decimal"):
        return _encode(float(value), refs, depth)
    if refs is None:
        raise _NotPlain(f"a {t.__name__} is not plain data")
    refs.append(value)
    return {_T_REF: [len(refs) - 1, t.__name__[:80]]}


def _decode_hook(remote):
    """object_hook for the judge: tagged objects back to plain values (or remote handles)."""

    def hook(d):
        if len(d) != 1:
            raise ValueError("not a tagged value")
        (tag, v), = d.items()
        if tag == _T_INT:
            return int(v, 16)
        if tag == _T_FLOAT:
            return float(v)
        if tag == _T_TUPLE:
            return tuple(v)
        if tag == _T_DICT:
            return {k: x for k, x in v}
        if tag == _T_SET:
            return set(v)
        if tag == _T_FSET:
            return frozenset(v)
        if tag == _T_BYTES:
            return bytes.fromhex(v)
        if tag == _T_COMPLEX:
            return complex(v[0], v[1])
        if tag == _T_REF and remote is not None:
            return remote(int(v[0]), str(v[1]))
        raise ValueError(f"unknown tag {tag!r}")

    return hook


def _judge_encode(value, depth=0):
    """Arguments the judge sends: plain data, or handles the program gave it."""
    if isinstance(value, _Remote):
        return {_T_REF: [value._ref, ""]}
    if depth > 100:
        raise TypeError("an argument nested too deeply")
    if isinstance(value, list):
        return [_judge_encode(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {_T_TUPLE: [_judge_encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {_T_DICT: [[_judge_encode(k, depth + 1), _judge_encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, (set, frozenset)):
        return {(_T_SET if isinstance(value, set) else _T_FSET): [_judge_encode(v, depth + 1) for v in value]}
    try:
        return _encode(value)
    except _NotPlain:
        raise TypeError(f"the test passes a {type(value).__name__} to the program; only plain data can cross") from None


_DUMPS, _LOADS = json.dumps, json.loads  # bound here: a program that patches json does not break the channel


def _send_msg(fd, obj):
    data = _DUMPS(obj, separators=(",", ":")).encode()
    data = len(data).to_bytes(4, "big") + data
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _recv_msg(fd, limit=_MAX_MSG):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    n = int.from_bytes(head, "big")
    if n > limit:
        raise _Protocol(f"a reply of {n} bytes (more than {limit})")
    data = _read_exact(fd, n)
    if data is None:
        return None
    return data


class _Protocol(BaseException):
    """The program process sent something that is not a reply."""


class _ProgramGone(BaseException):
    """The program process ended (exit, crash, killed): its test fails."""


class _TestTimeout(BaseException):
    """The judge's alarm: the test ran past its time limit."""


class _RemoteError(Exception):
    """The program raised an exception the judge has no class for."""


class _NotJson(Exception):
    """A call-based test's return value is not JSON data."""


def _not_json(value):
    raise TypeError(f"a {type(value).__name__} is not JSON data")


_PREAMBLE = (
    "import sys, math, cmath, collections, heapq, bisect, itertools, functools, string, re, typing, operator, copy, random\n"
    "from typing import *\n"
    "from collections import defaultdict, deque, Counter, OrderedDict, namedtuple, ChainMap\n"
    "from heapq import heappush, heappop, heapify, heappushpop, heapreplace, nlargest, nsmallest\n"
    "from bisect import bisect, bisect_left, bisect_right, insort, insort_left, insort_right\n"
    "from itertools import accumulate, chain, combinations, combinations_with_replacement, count, cycle, groupby, islice, permutations, product, repeat, starmap, zip_longest, pairwise\n"
    "from functools import lru_cache, cache, reduce, cmp_to_key, partial\n"
    "from math import inf, gcd, lcm, sqrt, isqrt, ceil, floor, log, log2, log10, comb, perm, factorial, prod, hypot\n"
    "sys.setrecursionlimit(100000)\n"
)


def _child_common(req, libc, prog, workdir, drop_uid, cpu):
    """Session, rlimits, no_new_privs, seccomp: what every process that runs test or program code gets."""
    os.setsid()
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_CPU, int(cpu), int(cpu) + 1)
    _limit(resource.RLIMIT_NOFILE, int(req["nofile"]))
    _limit(resource.RLIMIT_FSIZE, int(req["fsize"]))
    _limit(resource.RLIMIT_NPROC, int(req["nproc"]))
    _limit(resource.RLIMIT_STACK, int(req["stack"]), resource.getrlimit(resource.RLIMIT_STACK)[1])
    _limit(resource.RLIMIT_AS, int(req["memory"]))
    if drop_uid is not None:
        os.setgroups([])
        os.setresgid(drop_uid, drop_uid, drop_uid)
        os.setresuid(drop_uid, drop_uid, drop_uid)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError("PR_SET_NO_NEW_PRIVS failed")
    if prog is not None:
        if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "seccomp filter could not be installed")
    os.chdir(workdir)


def _place_fds(wanted):
    """dup2 ``wanted`` (a list of fds) onto 0, 1, 2, ... and close everything else."""
    import fcntl

    tmp = [fcntl.fcntl(fd, fcntl.F_DUPFD, 200) for fd in wanted]  # first out of the way of the targets
    for target, fd in enumerate(tmp):
        os.dup2(fd, target)
    os.closerange(len(wanted), max(1 << 16, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))


_RAW_FORK = []


def _fork():
    """fork(2) without Python's at-fork hooks (random's reseeding, threading's): the worker is
    single-threaded, and those hooks cost more than the fork itself."""
    if not _RAW_FORK:
        try:
            f = ctypes.PyDLL(None).fork
            f.restype, f.argtypes = ctypes.c_int, []
            _RAW_FORK.append(f)
        except (AttributeError, OSError):
            _RAW_FORK.append(os.fork)
    pid = _RAW_FORK[0]()
    if pid < 0:
        raise OSError(ctypes.get_errno(), "fork failed")
    return pid


def _run_asserts(ctrl, req, fds, libc, prog, workdir, drop_uid, clean_workdir):
    """Supervise judge/program pairs until every test from ``req["start"]`` has a verdict."""
    prog_fd, in_fd, out_fd, err_fd, res_fd = fds
    started = time.monotonic()
    deadline = started + float(req["timeout"])
    n = int(req["n_tests"])
    start = int(req.get("start") or 0)
    cpu = maxrss = 0.0
    code = sig = None
    timed_out = killed = False
    clean = True
    slice_s = float(req.get("slice") or 0) or float("inf")
    nxt = None
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        while start < n:
            q_r, q_w = os.pipe()  # judge -> program: requests
            a_r, a_w = os.pipe()  # program -> judge: replies
            c_r, c_w = os.pipe()  # judge -> worker: where to start again
            judge = _fork()
            if judge == 0:
                _exit_child(_judge_main, req, libc, prog, workdir, drop_uid,
                            [devnull, devnull, err_fd, res_fd, q_w, a_r, c_w, in_fd], start)
            program = _fork()
            if program == 0:
                _exit_child(_program_main, req, libc, prog, workdir, drop_uid,
                            [devnull, out_fd, err_fd, devnull, q_r, a_w, prog_fd], start)
            for fd in (q_r, q_w, a_r, a_w, c_w):
                os.close(fd)
            status = _supervise(ctrl, dict(req, timeout=max(0.0, deadline - time.monotonic())), judge, time.monotonic())
            os.set_blocking(c_r, False)
            try:
                raw = os.read(c_r, 64)
            except OSError:
                raw = b""
            os.close(c_r)
            cpu += status["cpu"]
            maxrss = max(maxrss, status["maxrss_kb"])
            code, sig = status["exit"], status["signal"]
            timed_out, killed = status["timed_out"], status["killed"]
            if clean_workdir and not _clean(workdir):
                clean = False
                nxt = None
                break
            if not status["clean"]:
                clean = False
                nxt = None
                break
            try:
                word, again = raw.decode().split()[-2:]
                again = int(again)
            except (ValueError, IndexError):
                word, again = "", None
            if timed_out or killed or again is None or again <= start:
                nxt = None
                break
            start = nxt = again
            if word == "yield" or time.monotonic() - started >= slice_s:
                break  # the worker goes back to the scheduler; the host starts the rest later
    finally:
        os.close(devnull)
        for fd in fds:
            os.close(fd)
    status = _status(req, code, sig, timed_out, killed, time.monotonic() - started, cpu, maxrss, clean)
    status["next"] = nxt if nxt is not None and nxt < n else None
    return status


def _exit_child(fn, req, libc, prog, workdir, drop_uid, fds, start):
    code = EXIT_SETUP
    try:
        code = fn(req, libc, prog, workdir, drop_uid, fds, start)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001
        try:
            import traceback

            os.write(2, ("sandbox setup failed\n" + traceback.format_exc()[-2000:]).encode())
        except BaseException:  # noqa: BLE001
            pass
    os._exit(code & 0xFF if isinstance(code, int) else 1)


def _std_streams():
    import io

    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False), 1 << 16), encoding="utf-8", errors="surrogateescape"
    )
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16), encoding="utf-8", errors="surrogateescape"
    )
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False), 1 << 12), encoding="utf-8", errors="backslashreplace",
        line_buffering=True,
    )


# ---- the program side (untrusted once the module has run)


def _program_main(req, libc, prog, workdir, drop_uid, fds, start):
    _place_fds(fds)  # 0 null, 1 stdout, 2 stderr, 3 null (where call runs had their result pipe), 4 requests, 5 replies, 6 program
    source = _pread_all(6, MAX_PROGRAM)
    os.close(6)
    _child_common(req, libc, prog, workdir, drop_uid, req["cpu"])
    import builtins
    import random
    import types

    random.seed()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = ["solution.py"]
    _std_streams()
    module = types.ModuleType("solution")
    module.__dict__.update({"__builtins__": builtins, "__file__": "solution.py"})
    sys.modules["solution"] = module
    send, recv, fork, waitpid, exit_ = _send_msg, _recv_msg, os.fork, os.waitpid, os._exit
    try:
        if req.get("preamble"):
            exec(compile(_PREAMBLE, "<preamble>", "exec", dont_inherit=True), module.__dict__)
        code = compile(source.decode("utf-8", "surrogateescape"), "solution.py", "exec", dont_inherit=True)
        del source
        exec(code, module.__dict__)
    except BaseException as e:  # noqa: BLE001 - SystemExit included: the program ended before any test
        _flush()
        if isinstance(e, SystemExit):
            send(5, {"load_error": f"it exited (SystemExit({e.code!r})) before the tests ran"})
        else:
            send(5, {"load_error": _describe(e, program=True)})
        return 0
    _flush()
    send(5, {"loaded": True})
    try:  # fork(2) itself: Python's at-fork hooks (reseeding random, threading's) cost more than the fork
        fork = ctypes.PyDLL(None).fork
        fork.restype = ctypes.c_int
        fork.argtypes = []
    except (AttributeError, OSError):
        pass
    while True:
        msg = recv(4)
        if msg is None:
            return 0
        if msg == b'{"op":"here"}':  # this test in this process (the last one, or no isolation asked)
            code = _serve_test(module)
            if code != _END_OF_TEST:
                send(5, ["gone", f"exit code {code}"])
            continue
        if msg != b'{"op":"fork"}':
            continue
        pid = fork()
        if pid < 0:
            send(5, ["gone", "the program's process could not fork a test (too many processes?)"])
            continue
        if pid == 0:
            exit_(_serve_test(module))  # _END_OF_TEST when the judge ended the test
        while True:
            try:
                _, st = waitpid(pid, 0)
                break
            except ChildProcessError:
                st = 0
                break
            except InterruptedError:
                continue
        _flush()
        code, sig = _decode(st)
        if code == _END_OF_TEST and sig is None:
            continue
        send(5, ["gone", f"exit code {code}" if sig is None else f"killed by signal {sig}"])


def _serve_test(module):
    """One test: answer the judge's calls until it says the test is over."""
    refs = []
    roots = {}
    send, recv, dumps, loads = _send_msg, _recv_msg, _DUMPS, _LOADS
    while True:
        msg = recv(4)
        if msg is None:
            _flush()
            return 0
        try:
            req = loads(msg)
        except ValueError:
            continue
        op = req.get("op")
        if op == "end":
            _flush()
            return _END_OF_TEST
        try:
            if op == "name":
                name = req["name"]
                if name not in roots:
                    roots[name] = _resolve(module, name)
                value = roots[name]
            else:
                if "name" in req and op == "call":
                    name = req["name"]
                    if name not in roots:
                        roots[name] = _resolve(module, name, bool(req.get("cls")))
                    target = roots[name]
                else:
                    target = refs[int(req["ref"])]
                if op == "call":
                    args = loads(dumps(req["args"]), object_hook=_decode_hook(lambda r, _label: refs[r]))
                    kwargs = loads(dumps(req["kwargs"]), object_hook=_decode_hook(lambda r, _label: refs[r]))
                    value = target(*args, **kwargs)
                elif op == "getattr":
                    value = getattr(target, str(req["name"]))
                elif op == "list":
                    value = list(target)
                elif op == "repr":
                    value = repr(target)[:2000]
                else:
                    continue
            reply = ["ok", _encode(value, refs)]
        except MemoryError:
            reply = ["raised", ["MemoryError", "the memory limit was reached"]]
        except BaseException as e:  # noqa: BLE001 - SystemExit included: the judge decides
            if isinstance(e, SystemExit):
                _flush()
                return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            reply = ["raised", [type(e).__name__, _describe(e, program=True)]]
        _flush()
        send(5, reply)


def _resolve(module, name, prefer_class=False):
    ns = module.__dict__
    if name.isidentifier():
        cls = ns.get("Solution")
        if prefer_class and isinstance(cls, type) and hasattr(cls, name):  # call-based tests, as TACO
            fn = getattr(cls(), name, None)
            if callable(fn):
                return fn
        if name in ns:
            return ns[name]
        if isinstance(cls, type) and hasattr(cls, name):
            return getattr(cls(), name)
        raise NameError(f"no function named {name!r} (nor a Solution class with that method)")
    return eval(name, ns)  # an entry point such as "Solution().twoSum" (the program's own code)


def _describe(e, program=False):
    try:
        import traceback

        tb = e.__traceback__
        if program:
            while tb is not None and tb.tb_frame.f_code.co_filename != "solution.py":
                tb = tb.tb_next
        return "".join(traceback.format_exception(type(e), e, tb))[-3000:]
    except BaseException:  # noqa: BLE001
        return type(e).__name__


# ---- the judge side (runs only the tests' code)


class _Remote:
    """A value that stayed in the program (a function, an object): call it, read its
    attributes, iterate it. Equal only to the same handle; no truth value."""

    __slots__ = ("_judge", "_ref", "_label", "__weakref__")

    def __init__(self, judge, ref, label):
        object.__setattr__(self, "_judge", judge)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_label", label)

    def __call__(self, *args, **kwargs):
        return self._judge.ask({"op": "call", "ref": self._ref, "args": _judge_encode(list(args)), "kwargs": _judge_encode(kwargs)})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._judge.ask({"op": "getattr", "ref": self._ref, "name": name})

    def __setattr__(self, name, value):
        raise TypeError("a value of the program cannot be changed by the test")

    def __iter__(self):
        value = self._judge.ask({"op": "list", "ref": self._ref})
        return iter(value if isinstance(value, list) else [value])

    def __eq__(self, other):
        return isinstance(other, _Remote) and other._judge is self._judge and other._ref == self._ref

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("remote", self._ref))

    def __bool__(self):
        raise TypeError(f"a {self._label or 'program object'} returned by the program has no truth value for the test")

    def __repr__(self):
        return f"<{self._label or 'object'} of the program>"


class _Judge:
    """The judge's end of the channel to the program process."""

    def __init__(self):
        self.refs = {}
        self.lost = None  # why the test's program was lost, even if the test's code caught it
        self.prefer_class = False  # call-based tests: a method of class Solution first, as TACO

    def begin(self, fork=True):
        self.lost = None
        _send_msg(4, {"op": "fork" if fork else "here"})
        self.refs = {}

    def end(self):
        try:
            _send_msg(4, {"op": "end"})
        except OSError:
            pass

    def ask(self, request):
        if self.lost is not None:  # no more calls once the program is lost in this test
            raise self.lost
        try:
            return self._ask(request)
        except (_ProgramGone, _Protocol, _TestTimeout) as e:
            self.lost = e  # a test that catches everything still fails (see _judge_main)
            raise

    def _ask(self, request):
        try:
            _send_msg(4, request)
        except OSError:
            raise _ProgramGone("the program's process is gone") from None
        data = _recv_msg(5)
        if data is None:
            raise _ProgramGone("the program's process ended")
        try:
            reply = json.loads(data, object_hook=_decode_hook(self._remote))
        except (ValueError, TypeError, RecursionError, KeyError, IndexError, MemoryError, OverflowError) as e:
            raise _Protocol(f"a reply that is not plain data ({type(e).__name__})") from None
        if not isinstance(reply, list) or len(reply) != 2:
            raise _Protocol("a reply that is not a reply")
        kind, value = reply
        if kind == "ok":
            return value
        if kind == "raised" and isinstance(value, list) and len(value) == 2:
            raise _remote_exception(str(value[0]), str(value[1]))
        if kind == "gone":
            raise _ProgramGone(f"the program ended during the test ({value})")
        raise _Protocol("a reply that is not a reply")

    def _remote(self, ref, label):
        return _Remote(self, ref, label)


def _remote_exception(name, text):
    import builtins

    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or issubclass(cls, (_Protocol, _ProgramGone)):
        cls = _RemoteError
    try:
        exc = cls(f"raised by the program: {text.strip().splitlines()[-1] if text.strip() else name}")
    except BaseException:  # noqa: BLE001 - a class that wants other arguments
        exc = _RemoteError(f"{name} raised by the program")
    exc.prolong_remote = text
    return exc


class _Root(_Remote):
    """A name of the program the test uses (its function, its classes)."""

    __slots__ = ()

    def _get(self):
        j = self._judge
        if self._ref not in j.refs:
            j.refs[self._ref] = j.ask({"op": "name", "name": self._ref})
        return j.refs[self._ref]

    def __call__(self, *args, **kwargs):
        j = self._judge
        if self._ref in j.refs:
            return j.refs[self._ref](*args, **kwargs)
        # resolve and call in one round trip
        return j.ask({"op": "call", "name": self._ref, "cls": j.prefer_class, "args": _judge_encode(list(args)), "kwargs": _judge_encode(kwargs)})

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __iter__(self):
        return iter(self._get())

    def __eq__(self, other):
        return other is self

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"<{self._ref} of the program>"


class _SolutionModule:
    """``import solution`` / ``from solution import f`` inside pytest-style tests."""

    def __init__(self, judge):
        self._judge = judge

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Root(self._judge, name, name)


def _pytest_shim():
    import types

    mod = types.ModuleType("pytest")

    class _Raises:
        def __init__(self, expected, match=None):
            self.expected, self.match, self.value = expected, match, None

        def __enter__(self):
            return self

        def __exit__(self, etype, value, tb):
            if etype is None:
                raise AssertionError(f"DID NOT RAISE {self.expected}")
            if isinstance(value, (_TestTimeout, _ProgramGone, _Protocol)) or not issubclass(etype, self.expected):
                return False
            if self.match is not None:
                import re

                if not re.search(self.match, str(getattr(value, "prolong_remote", "") or value)):
                    return False
            self.value = value
            return True

    def raises(expected, *args, match=None, **kwargs):
        if args:
            try:
                args[0](*args[1:], **kwargs)
            except expected:
                return None
            raise AssertionError(f"DID NOT RAISE {expected}")
        return _Raises(expected, match)

    class approx:
        def __init__(self, expected, rel=None, abs=None):
            self.expected, self.rel, self.abs = expected, rel, abs

        def _close(self, a, b):
            import math

            if isinstance(b, (list, tuple)):
                return isinstance(a, (list, tuple)) and len(a) == len(b) and all(self._close(x, y) for x, y in zip(a, b))
            if isinstance(b, dict):
                return isinstance(a, dict) and a.keys() == b.keys() and all(self._close(a[k], b[k]) for k in b)
            if type(a) not in (int, float, bool) or type(b) not in (int, float, bool):
                return a == b
            rel = 1e-6 if self.rel is None else self.rel
            abs_ = 1e-12 if self.abs is None else self.abs
            return math.isclose(a, b, rel_tol=rel, abs_tol=abs_) or a == b

        def __eq__(self, other):
            return self._close(other, self.expected)

        __hash__ = None

    class _Mark:
        def parametrize(self, names, values, **kwargs):
            names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)

            def deco(fn):
                def run():
                    for v in values:
                        vals = v if len(names) > 1 else (v,)
                        fn(**dict(zip(names, vals)))

                run.__name__ = fn.__name__
                run._prolong_parametrized = True
                return run

            return deco

        def __getattr__(self, name):
            return lambda *a, **k: (a[0] if len(a) == 1 and callable(a[0]) and not k else (lambda fn: fn))

    def fixture(*a, **k):
        if len(a) == 1 and callable(a[0]):
            return a[0]
        return lambda fn: fn

    mod.raises, mod.approx, mod.mark, mod.fixture = raises, approx, _Mark(), fixture
    return mod


def _judge_main(req, libc, prog, workdir, drop_uid, fds, start):
    _place_fds(fds)  # 0/1 null, 2 stderr, 3 verdicts, 4 requests, 5 replies, 6 control, 7 tests
    spec_raw = _pread_all(7, 1 << 30)
    os.close(7)
    total_cpu = max(int(req["cpu"]), int(float(req["timeout"])) + 2)
    _child_common(req, libc, prog, workdir, drop_uid, total_cpu)
    spec = json.loads(spec_raw)
    del spec_raw
    tests = spec["tests"]
    per_test = float(req["test_timeout"])
    verdict_w = 3

    pending = []
    flushed = [time.monotonic()]

    def flush():
        data = "".join(pending).encode()
        pending.clear()
        flushed[0] = time.monotonic()
        view = memoryview(data)
        while view:
            view = view[os.write(verdict_w, view) :]

    def verdict(i, status, t, error="", now=False, value=None):
        # passes are written in batches (one pipe write per ~20 ms, not per test); anything
        # else, and everything before the judge may end, at once
        line = {"i": i, "s": status, "t": round(t, 6), "e": error[-2000:]}
        if value is not None:
            line["v"] = value
        pending.append(json.dumps(line) + "\n")
        if now or status not in ("passed", "returned") or time.monotonic() - flushed[0] > 0.02:
            flush()

    def again(k, word="again"):
        try:
            os.write(6, f"{word} {k}\n".encode())
        except OSError:
            pass

    def alarm(signum, frame):
        judge.lost = _TestTimeout()
        raise judge.lost

    signal.signal(signal.SIGALRM, alarm)
    judge = _Judge()
    import builtins

    # what the program offers the tests: the entry point as ``candidate`` (HumanEval,
    # LeetCode), ``solution`` as a module (pytest-style), and free names of the tests
    sol = _SolutionModule(judge)
    sys.modules["solution"] = sol
    if "pytest" in (spec.get("setup") or "") or any("pytest" in t for t in tests):
        sys.modules["pytest"] = _pytest_shim()
    # wait for the program to load (its own time limit: one test's)
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, per_test)
    load_error = None
    try:
        data = _recv_msg(5)
        msg = json.loads(data) if data is not None else None
        if not isinstance(msg, dict):
            load_error = ("runtime error", "the program ended while it was loading")
        elif "load_error" in msg:
            load_error = ("runtime error", "the program failed while it was loading:\n" + str(msg["load_error"]))
        elif msg.get("loaded") is not True:
            load_error = ("runtime error", "the program sent garbage while it was loading")
    except _TestTimeout:
        load_error = ("timeout", f"loading the program took more than the {per_test:g} s limit of a test")
    except BaseException as e:  # noqa: BLE001
        load_error = ("runtime error", f"the program failed while it was loading ({type(e).__name__})")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if load_error is not None:
        status, text = load_error
        for i in range(start, len(tests)):
            verdict(i, status, time.monotonic() - t0 if i == start else 0.0, text)
        return 0
    ns = {"__name__": "__judge__", "__builtins__": builtins}
    try:
        if spec.get("prelude"):
            exec(compile(spec["prelude"], "<prompt>", "exec", dont_inherit=True, optimize=0), ns)
        if spec.get("setup"):
            exec(compile(spec["setup"], "<test>", "exec", dont_inherit=True, optimize=0), ns)
        for name in spec.get("names") or ():
            if name not in ns or name == spec.get("entry_point"):
                ns[name] = _Root(judge, name, name)
        if spec.get("entry_point"):
            ns["candidate"] = _Root(judge, spec["entry_point"], spec["entry_point"])
        calls = spec.get("calls")
        judge.prefer_class = calls is not None
        if calls is None:
            codes = [compile(t, f"<test {i}>", "exec", dont_inherit=True, optimize=0) if i >= start else None for i, t in enumerate(tests)]
    except BaseException as e:  # noqa: BLE001 - the tests themselves are broken: nobody passes
        text = "the tests could not be set up:\n" + _describe(e)
        for i in range(start, len(tests)):
            verdict(i, "invalid tests", 0.0, text)
        return 0
    stop = time.monotonic() + max(0.0, float(req["timeout"]) - 0.2)
    isolate = spec.get("isolate", True)
    slice_s = float(req.get("slice") or 0) or float("inf")
    longest = 0.0
    for i in range(start, len(tests)):
        t1 = time.monotonic()
        if i > start and t1 - t0 + longest >= slice_s:  # give the worker back; the rest runs later
            flush()
            again(i, "yield")
            return 0
        status, error, restart = "passed", "", False
        try:
            signal.setitimer(signal.ITIMER_REAL, per_test)
            # each test in a fork of the loaded program; the last one in the loaded program itself
            judge.begin(fork=isolate and i < len(tests) - 1)
            if calls is None:
                exec(codes[i], ns)
            else:  # a call-based test: the value goes to the host, which compares it (expected outputs stay there)
                args = calls[i]
                value = ns["candidate"](*args) if isinstance(args, list) else ns["candidate"](args)
                try:
                    returned = json.dumps(value, default=_not_json, allow_nan=True)
                except (TypeError, ValueError, RecursionError) as e:
                    raise _NotJson(f"the return value is not JSON data: {type(e).__name__}: {e}"[:500]) from None
        except _TestTimeout:
            status, error, restart = "timeout", f"ran past the {per_test:g} s limit of a test", True
        except _NotJson as e:
            status, error = "runtime error", str(e)
        except _ProgramGone as e:
            status, error = "runtime error", str(e)
            restart = "ended during" not in str(e)
            if calls is not None and "(exit code 0)" in str(e):  # as a fresh run that exits 0: no value
                status, error = "wrong answer", "the program exited (code 0) without returning a value"
        except _Protocol as e:
            status, error, restart = "runtime error", f"the program broke the test harness: {e}", True
        except AssertionError as e:
            remote = getattr(e, "prolong_remote", None)
            status = "runtime error" if remote else "wrong answer"
            error = remote or ("assertion failed" + (f": {e}" if str(e) else "") + "\n" + _describe(e)[-1500:])
        except BaseException as e:  # noqa: BLE001 - the program's error reached the test, or the test's own
            remote = getattr(e, "prolong_remote", None)
            status = "runtime error" if remote else "wrong answer"
            if remote and type(e) is MemoryError:
                status = "memory limit"
            error = remote or _describe(e)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        lost = judge.lost
        if status == "passed" and lost is not None:  # the test's code swallowed the loss: still a failure
            if isinstance(lost, _TestTimeout):
                status, error, restart = "timeout", f"ran past the {per_test:g} s limit of a test", True
            elif isinstance(lost, _Protocol):
                status, error, restart = "runtime error", f"the program broke the test harness: {lost}", True
            else:
                status, error = "runtime error", str(lost)
                restart = "ended during" not in str(lost)
        longest = max(longest, time.monotonic() - t1)
        if calls is not None and status == "passed":
            verdict(i, "returned", time.monotonic() - t1, value=returned)
        else:
            verdict(i, status, time.monotonic() - t1, error)
        if restart:
            flush()
            again(i + 1)
            return 0
        judge.end()
        if time.monotonic() > stop:
            flush()
            return 0
    flush()
    again(len(tests))
    return 0


if __name__ == "__main__":
    main()
