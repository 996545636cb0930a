"""Hostile programs: each gets reward 0, returns within its bound, and leaves the host as it was.

Every case is checked for its effect, not only its reward: no process of the program is
left (in the sandbox's pid namespace or anywhere on the host, found by a marker in its
name or command line), this process has no more open files than before, the sandbox
workers were not harmed (none replaced), and the case's own target (a listener, a host
file, a secret) shows nothing happened. Where a passing program would need what the
attack tries to steal (a secret, an expected output), the secret *is* the expected
output, so a successful attack would score.
"""

import json
import os
import socket
import time
import uuid

import pytest

from prolong import Reason
from prolong.envs.code import CodeVerifier, SandboxPool
from prolong.envs.code.env import PROBLEMS_FILE, builtin_problems

MARKER = "pevil" + uuid.uuid4().hex[:8]  # fits in a 15-character process name
STDIO = {"inputs": ["1 2\n", "5 7\n"], "outputs": ["3\n", "12\n"]}
CALL = {"fn_name": "add", "inputs": [[1, 2], [5, 7]], "outputs": [3, 12]}
TIMEOUT = 1.0
BOUND = 20.0  # seconds a hostile response may take to be scored (2 tests of at most 1 s, a loaded machine)


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier(timeout=TIMEOUT, memory_mb=512, problem_timeout=6.0, processes=2)
    v.pool.start()
    return v


def fenced(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
                out.setdefault(int(stat[stat.rindex(b")") + 2 :].split()[1]), []).append(int(name))
            except (OSError, ValueError):
                pass
    return out


def sandbox_leftovers(pool: SandboxPool) -> list[int]:
    """Processes inside the sandboxes besides the worker (bwrap's only child, the namespace's init)."""
    kids = _children()
    extra = []
    for w in pool._workers:
        todo = list(kids.get(w.proc.pid, []))  # the worker
        while todo:
            for c in kids.get(todo.pop(), []):
                extra.append(c)
                todo.append(c)
    return extra


def marked_processes() -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read()
                with open(f"/proc/{name}/comm", "rb") as f:
                    comm = f.read()
            except OSError:
                continue
            if MARKER.encode() in cmd or MARKER.encode() in comm:
                found.append(int(name))
    return found


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def assert_contained(verifier, program, tests=STDIO, *, bound=BOUND):
    """Run a hostile response; check reward, time and the host; return the verdict."""
    pool = verifier.pool
    fds, replaced, workers = open_fds(), pool.replaced, [w.proc.pid for w in pool._workers]
    start = time.monotonic()
    verdict = verifier(fenced(program), tests)
    elapsed = time.monotonic() - start
    assert verdict.reward == 0.0 and not verdict.correct, verdict
    assert elapsed < bound, f"took {elapsed:.1f} s"
    assert sandbox_leftovers(pool) == [], "a process of the program outlived its verdict"
    assert marked_processes() == [], "a marked process of the program is still running"
    assert open_fds() <= fds, "the host process leaks file descriptors"
    assert pool.replaced == replaced and [w.proc.pid for w in pool._workers] == workers, "a worker was broken"
    return verdict


def statuses(verdict):
    return {t["status"] for t in verdict.details["tests"]}


# =========================================================================== hanging


def test_infinite_loop_times_out(verifier):
    assert statuses(assert_contained(verifier, "while True:\n    pass")) == {"timeout"}


def test_sleeping_forever_is_caught_by_the_wall_clock(verifier):
    assert statuses(assert_contained(verifier, "import time\ntime.sleep(10**6)")) == {"timeout"}


def test_ignoring_sigterm_sigint_and_sigxcpu_does_not_help(verifier):
    program = """
import signal
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
while True:
    pass
"""
    assert statuses(assert_contained(verifier, program)) == {"timeout"}


def test_blocking_forever_on_a_pipe_times_out(verifier):
    assert statuses(assert_contained(verifier, "import os\nr, w = os.pipe()\nos.read(r, 1)")) == {"timeout"}


def test_right_answer_then_hanging_in_a_thread_is_a_timeout(verifier):
    program = """
import threading
a, b = map(int, input().split())
print(a + b, flush=True)
threading.Thread(target=lambda: [None for _ in iter(int, 1)]).start()
"""
    assert statuses(assert_contained(verifier, program)) == {"timeout"}


# =========================================================================== resource exhaustion


def test_fork_bomb_is_contained(verifier):
    program = f"""
import os
open("/proc/self/comm", "w").write("{MARKER}")
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
    assert_contained(verifier, program)


def test_thread_bomb_is_contained(verifier):
    program = """
import threading
def spin():
    while True:
        pass
while True:
    threading.Thread(target=spin, daemon=True).start()
"""
    assert_contained(verifier, program)


def test_huge_allocation_hits_the_memory_limit(verifier):
    assert statuses(assert_contained(verifier, "x = [0] * 10**9")) == {"memory limit"}


def test_growing_memory_bomb_is_contained(verifier):
    v = assert_contained(verifier, "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))")
    assert statuses(v) <= {"memory limit", "timeout"}  # which comes first depends on the machine's speed


def test_huge_anonymous_mapping_is_refused(verifier):
    program = "import mmap\nm = mmap.mmap(-1, 64 << 30)\nm[-1] = 1\nprint(3)"
    assert_contained(verifier, program)


def test_stdout_flood_hits_the_output_limit_quickly(verifier):
    v = assert_contained(verifier, "import sys\nwhile True:\n    sys.stdout.write('A' * 65536)", bound=10)
    assert statuses(v) == {"output limit"}


def test_stderr_flood_is_cut_and_does_not_pass(verifier):
    v = assert_contained(verifier, "import sys\nwhile True:\n    sys.stderr.write('E' * 65536)")
    assert all(len(t.get("error", "")) < 4000 for t in v.details["tests"])


def test_giant_single_line_is_refused(verifier):
    assert_contained(verifier, "print('9' * 10**9)")


def test_file_descriptor_exhaustion_stays_in_the_sandbox(verifier):
    program = """
import os
fds = []
try:
    while True:
        fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
print(len(fds))
"""
    assert_contained(verifier, program)


def test_filling_tmp_is_bounded_and_cleaned(verifier):
    program = """
for i in range(10**6):
    with open(f"/tmp/fill{i}", "wb") as f:
        f.write(b"x" * (1 << 20))
"""
    assert_contained(verifier, program)
    raw = verifier.run_program("import os\nprint(sorted(os.listdir('/tmp')))", {"inputs": [""], "outputs": [""]})
    assert raw[0].stdout == b"[]\n"


# =========================================================================== crashes and early exits


def test_segfault_through_ctypes(verifier):
    v = assert_contained(verifier, "import ctypes\nctypes.string_at(0)")
    assert all("SIGSEGV" in t["error"] for t in v.details["tests"])


def test_unbounded_recursion_with_a_huge_recursion_limit(verifier):
    assert_contained(verifier, "import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1) + 1\nf(0)")


def test_abort(verifier):
    assert_contained(verifier, "import os\nos.abort()")


@pytest.mark.parametrize(
    "exit_call", ["import sys; sys.exit(0)", "raise SystemExit", "quit()", "import os; os._exit(0)"]
)
def test_exiting_before_printing(verifier, exit_call):
    assert_contained(verifier, f"a, b = map(int, input().split())\n{exit_call}\nprint(a + b)")


def test_hard_exit_loses_unflushed_output(verifier):
    assert_contained(verifier, "import os\na, b = map(int, input().split())\nprint(a + b)\nos._exit(0)")


# =========================================================================== attacking the worker and the host


def test_killing_the_parent_init_and_everyone_fails(verifier):
    program = """
import os, signal
for target, sig in ((os.getppid(), 9), (1, 9), (-1, 9), (2, signal.SIGSTOP), (-os.getppid(), 9)):
    try:
        os.kill(target, sig)
        print("killed", target)
    except OSError as e:
        print("refused", target, e.errno)
"""
    assert_contained(verifier, program)
    raw = verifier.run_program(program, {"inputs": [""], "outputs": [""]})[0].stdout.decode()
    assert "killed" not in raw and raw.count("refused") == 5


def test_ptrace_and_memory_writes_into_the_worker_fail(verifier):
    program = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print("ptrace", libc.ptrace(16, os.getppid(), 0, 0), ctypes.get_errno())
for path in (f"/proc/{os.getppid()}/mem", f"/proc/{os.getppid()}/fd/3", "/proc/1/mem"):
    try:
        open(path, "r+b").write(b"x")
        print("wrote", path)
    except OSError as e:
        print("refused", path, e.errno)
"""
    assert_contained(verifier, program)
    raw = verifier.run_program(program, {"inputs": [""], "outputs": [""]})[0].stdout.decode()
    assert raw.startswith("ptrace -1") and "wrote" not in raw


def test_lowering_the_workers_limits_fails_and_the_next_run_works(verifier):
    program = """
import os, resource
for r in (resource.RLIMIT_NOFILE, resource.RLIMIT_AS, resource.RLIMIT_CPU):
    try:
        resource.prlimit(os.getppid(), r, (1, 1))
        print("changed")
    except OSError:
        pass
"""
    assert_contained(verifier, program)
    honest = "a, b = map(int, input().split())\nprint(a + b)"
    assert verifier(fenced(honest), STDIO).reward == 1.0


def test_new_namespaces_mounts_and_kernel_interfaces_are_refused(verifier):
    program = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
results = [
    libc.unshare(0x10000000),               # CLONE_NEWUSER
    libc.unshare(0x00020000),               # CLONE_NEWNS
    libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
    libc.syscall(425, 8, 0),                # io_uring_setup
    libc.syscall(321, 0, 0, 0),             # bpf
    libc.syscall(298, 0, 0, -1, -1, 0),     # perf_event_open
    libc.syscall(323, 0),                   # userfaultfd
    libc.ioctl(0, 0x5412, b"x"),            # TIOCSTI
]
try:
    os.chroot("/tmp")
    results.append(0)
except OSError:
    results.append(-1)
print(*results)
"""
    assert_contained(verifier, program)
    raw = verifier.run_program(program, {"inputs": [""], "outputs": [""]})[0].stdout.decode().split()
    assert raw and all(x == "-1" for x in raw), raw


def test_os_system_and_subprocess_cannot_touch_host_files(verifier, tmp_path):
    target = tmp_path / "pwned-by-shell"
    program = f"""
import os, subprocess
os.system("mkdir -p {tmp_path}; echo pwned > {target}")
subprocess.run(["sh", "-c", "echo pwned > /tmp/{MARKER}; echo pwned > /work/{MARKER}"])
print(open("{target}").read() if os.path.exists("{target}") else "")
"""
    assert_contained(verifier, program)
    assert not target.exists() and not os.path.exists(f"/tmp/{MARKER}") and not os.path.exists(f"/work/{MARKER}")


def test_writes_outside_the_sandbox_do_not_reach_the_host(verifier, tmp_path):
    before = PROBLEMS_FILE.stat()
    targets = [tmp_path / "out.txt", f"/tmp/{MARKER}-w", f"/root/{MARKER}", f"/usr/{MARKER}", f"/{MARKER}", str(PROBLEMS_FILE)]
    program = f"""
import os
for path in {[str(t) for t in targets]!r}:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("pwned")
    except OSError:
        pass
"""
    assert_contained(verifier, program)
    for t in targets[:-1]:
        assert not os.path.exists(t), t
    after = PROBLEMS_FILE.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_network_cannot_reach_a_listener_on_the_host_loopback(verifier):
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tport, uport = tcp.getsockname()[1], udp.getsockname()[1]
    program = f"""
import socket
attempts = [
    lambda: socket.create_connection(("127.0.0.1", {tport}), timeout=0.5).sendall(b"leak"),
    lambda: socket.create_connection(("localhost", {tport}), timeout=0.5).sendall(b"leak"),
    lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"leak", ("127.0.0.1", {uport})),
    lambda: socket.create_connection(("::1", {tport}), timeout=0.5),
    lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW),
    lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW),
    lambda: socket.getaddrinfo("example.com", 80),
]
for attempt in attempts:
    try:
        attempt()
        print("connected")
    except Exception as e:
        print("refused", type(e).__name__)
"""
    try:
        assert_contained(verifier, program)
        tcp.setblocking(False)
        with pytest.raises(BlockingIOError):
            tcp.accept()
        udp.setblocking(False)
        with pytest.raises(BlockingIOError):
            udp.recvfrom(100)
        raw = verifier.run_program(program, {"inputs": [""], "outputs": [""]})[0].stdout.decode()
        assert "connected" not in raw and raw.count("refused") == 7
    finally:
        tcp.close()
        udp.close()


# =========================================================================== stealing secrets and answers


def test_host_environment_variables_are_not_visible(monkeypatch):
    secret = f"SECRET-{uuid.uuid4().hex}"
    monkeypatch.setenv("PROLONG_TEST_SECRET", secret)
    v = CodeVerifier(timeout=TIMEOUT, processes=1)
    v._pool = SandboxPool(processes=1).start()  # started after the secret was set
    try:
        program = """
import os, glob
found = [v for v in os.environ.values() if v.startswith("SECRET-")]
for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        found += [x for x in open(path, "rb").read().decode(errors="replace").replace("=", "\\0").split("\\0") if x.startswith("SECRET-")]
    except OSError:
        pass
print(found[0] if found else "")
"""
        tests = {"inputs": [""], "outputs": [secret]}  # only a program that found the secret passes
        assert_contained(v, program, tests)
        raw = v.run_program(program.replace('print(found[0] if found else "")', "print(found, dict(os.environ))"), tests)[0]
        assert secret not in raw.stdout.decode() and b"PROLONG_TEST_SECRET" not in raw.stdout
    finally:
        v._pool.close()


def test_etc_shadow_and_host_files_are_not_readable(verifier):
    try:
        shadow = open("/etc/shadow").read()
    except OSError:
        shadow = "root:*:0:0::::\n"
    program = """
import subprocess
for path in ("/etc/shadow", "/etc/passwd", "/root/.bash_history", "/work/main/pyproject.toml"):
    try:
        print(open(path).read(), end="")
    except OSError:
        pass
print(subprocess.run(["cat", "/etc/shadow"], capture_output=True, text=True).stdout, end="")
"""
    assert_contained(verifier, program, {"inputs": [""], "outputs": [shadow]})
    raw = verifier.run_program(program, {"inputs": [""], "outputs": [""]})[0].stdout.decode()
    assert "root:" not in raw and "[project]" not in raw


def test_expected_outputs_cannot_be_found_in_memory_proc_or_files(verifier):
    token = f"TOKEN-{uuid.uuid4().hex}"
    program = r"""
import gc, os, re
pattern = re.compile(rb"TOKEN-[0-9a-f]{32}")
found = set()
for obj in gc.get_objects():
    if isinstance(obj, (str, bytes)):
        b = obj.encode(errors="ignore") if isinstance(obj, str) else obj
        found.update(pattern.findall(b))
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for name in ("cmdline", "environ"):
        try:
            found.update(pattern.findall(open(f"/proc/{pid}/{name}", "rb").read()))
        except OSError:
            pass
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        with open(f"/proc/{pid}/mem", "rb") as mem:
            for line in maps:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if "r" in line.split()[1] and hi - lo < 1 << 28:
                    try:
                        mem.seek(lo)
                        found.update(pattern.findall(mem.read(hi - lo)))
                    except (OSError, ValueError, OverflowError):
                        pass
    except OSError:
        pass
    for fd in os.listdir(f"/proc/{pid}/fd") if os.access(f"/proc/{pid}/fd", os.R_OK) else []:
        try:
            found.update(pattern.findall(os.pread(os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY), 1 << 20, 0)))
        except OSError:
            pass
for root in ("/tmp", "/opt", "/dev/shm", "/proc/1/root/tmp"):
    for dirpath, _, files in os.walk(root):
        for f in files:
            try:
                found.update(pattern.findall(open(os.path.join(dirpath, f), "rb").read(1 << 20)))
            except OSError:
                pass
found.discard(b"TOKEN-" + b"0" * 32)
print(sorted(found)[0].decode() if found else "")
"""
    tests = {"inputs": ["x\n", "y\n"], "outputs": [token, token]}
    assert_contained(verifier, program, tests, bound=60)
    raw = verifier.run_program(program.replace("print(sorted(found)[0].decode() if found else \"\")", "print(found)"), tests)
    assert all(token not in r.stdout.decode() for r in raw)


def test_builtin_answers_on_the_host_disk_are_out_of_reach(verifier):
    problem = next(p for p in builtin_problems("all").problems if p.id == "code/sum-of-numbers")
    program = f"""
import json, sys
data = sys.stdin.read()
for path in ({str(PROBLEMS_FILE)!r}, "/opt/prolong/problems.json", "problems.json"):
    try:
        for rec in json.load(open(path))["problems"]:
            tests = rec["tests"]
            if data in tests["inputs"]:
                print(tests["outputs"][tests["inputs"].index(data)], end="")
                raise SystemExit
    except OSError:
        pass
"""
    assert_contained(verifier, program, problem.answer)


def test_always_equal_return_value_does_not_fool_call_tests(verifier):
    program = """
class AlwaysEqual:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__

def add(a, b):
    return AlwaysEqual()
"""
    v = assert_contained(verifier, program, CALL)
    assert statuses(v) == {"runtime error"}  # not JSON data: nothing for the host to compare


def test_int_and_str_subclasses_with_lying_eq_compare_by_value(verifier):
    program = """
class Liar(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__

class LiarStr(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__

def add(a, b):
    return [Liar(-999), LiarStr("x")][a % 2]
"""
    assert statuses(assert_contained(verifier, program, CALL)) == {"wrong answer"}


def test_patching_json_and_writing_the_result_pipe_directly_does_not_pass(verifier):
    program = """
import json, os
json.dumps = lambda *a, **k: "true"
os.write(3, b"[")
def add(a, b):
    return None
"""
    assert statuses(assert_contained(verifier, program, CALL)) == {"wrong answer"}


def test_nan_inf_and_extra_tokens_do_not_match_float_answers(verifier):
    tests = {"inputs": ["", "", "", ""], "outputs": ["0.5\n"] * 4}
    program = "import random\nprint(['nan', 'inf', '0.5 0.5', '5e-1x'][random.randrange(4)])"
    assert_contained(verifier, program, tests)


# =========================================================================== nothing outlives the verdict


def test_double_forked_daemon_dies_with_the_verdict(verifier):
    program = f"""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open("/proc/self/comm", "w").write("{MARKER}")
        time.sleep(60)
    os._exit(0)
time.sleep(0.2)
print("0")
"""
    assert_contained(verifier, program)


def test_background_subprocess_dies_with_the_verdict(verifier):
    program = f"""
import subprocess
subprocess.Popen(["sh", "-c", "sleep 60", "{MARKER}"], start_new_session=True)
print("0")
"""
    assert_contained(verifier, program)


def test_nothing_a_run_leaves_in_tmp_is_seen_by_the_next_run(verifier):
    plant = f"import os\nopen('/tmp/{MARKER}', 'w').write('state')\nos.mkdir('/tmp/d{MARKER}')\nos.chmod('/tmp/d{MARKER}', 0)"
    assert_contained(verifier, plant)
    look = "import os\nprint(' '.join(sorted(os.listdir('/tmp'))))"
    assert_contained(verifier, look, {"inputs": [""] * 4, "outputs": [f"{MARKER} d{MARKER}"] * 4})


def test_the_verdict_reason_names_the_limit_not_a_crash(verifier):
    v = assert_contained(verifier, "while True:\n    pass")
    assert v.reason == Reason.SANDBOX_LIMIT and v.details["first_failure"]["status"] == "timeout"


def test_hostile_results_are_json_serialisable_verdicts(verifier):
    v = assert_contained(verifier, "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 10)")
    json.dumps(v.to_dict())


def test_signals_through_sigio_ownership_and_renicing_the_user_fail(verifier):
    program = """
import ctypes, fcntl, os, signal
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe()
out = []
for cmd in (fcntl.F_SETOWN, 10):  # F_SETOWN, F_SETSIG
    out.append(libc.syscall(72, r, cmd | (1 << 32), 1))  # upper bits set: the kernel ignores them
out.append(libc.setpriority(2, 0, 19))  # PRIO_USER: every process of this uid
out.append(libc.syscall(251, 3, 0, 7))  # ioprio_set(IOPRIO_WHO_USER, 0, ...)
print(*out)
"""
    assert_contained(verifier, program)
    raw = verifier.run_program(program, {"inputs": [""], "outputs": [""]})[0].stdout.decode().split()
    assert raw == ["-1"] * 4, raw
    assert verifier(fenced("a, b = map(int, input().split())\nprint(a + b)"), STDIO).reward == 1.0


def test_sysv_shared_memory_cannot_outlive_the_run(verifier):
    program = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
print(libc.shmget(0, 256 << 20, 0o1600), libc.msgget(0, 0o1600), libc.semget(0, 1, 0o1600))
"""
    assert_contained(verifier, program)
    raw = verifier.run_program(program, {"inputs": [""], "outputs": [""]})[0].stdout.decode().split()
    assert raw == ["-1", "-1", "-1"], raw


def test_a_deep_directory_tree_in_tmp_is_removed(verifier):
    program = """
import os
os.chdir("/tmp")
for i in range(3000):
    os.mkdir("d")
    os.chdir("d")
open("deep", "w").write("x")
os.chmod(".", 0)
"""
    assert_contained(verifier, program)
    raw = verifier.run_program("import os\nprint(os.listdir('/tmp'))", {"inputs": [""], "outputs": [""]})
    assert raw[0].stdout == b"[]\n"
