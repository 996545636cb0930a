"""`prolong serve`: the HTTP reward server, run as a subprocess on loopback."""

import asyncio
import http.client
import importlib.util
import json
import os
import re
import threading
import time

import pytest
from processes import alive, descendants
from serving import start_server, stop_server

import prolong
from prolong.adapters.server import load_imports
from prolong.adapters.server import main as serve_main

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

# The tasks the server imports with --import (and this test process too, to compute
# the expected verdicts in-process).
SERVE_TASKS = '''
import time
import prolong


def add_problem(rng, index):
    a, b = rng.randint(1, 99), rng.randint(1, 99)
    return {"prompt": f"What is {a}+{b}?", "answer": str(a + b)}


def add_verifier(response, answer):
    if response == "crash":
        raise RuntimeError("verifier bug on purpose")
    if response == "hang":
        time.sleep(600)
    text = response.strip()
    if not text:
        return prolong.Verdict.wrong(prolong.Reason.NO_ANSWER)
    last = text.split()[-1]
    return prolong.Verdict.right(last) if last == answer else prolong.Verdict.wrong(extracted=last)


prolong.register_task("srv/add-v0", problems=add_problem, verifier=add_verifier, domain="srv_add")


class SlowEnv(prolong.TaskEnv):
    """An env that takes ``delay`` seconds to make (a row's new arguments build it)."""

    def __init__(self, delay: float = 0.0, **kw):
        time.sleep(delay)
        super().__init__("registered:srv/add-v0", **kw)


prolong.register_env("srv/slow-v0", SlowEnv, domain="srv_add")
'''

MATH = importlib.util.find_spec("prolong.envs.math") is not None


@pytest.fixture(scope="module")
def tasks_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "serve_tasks.py"
    path.write_text(SERVE_TASKS)
    load_imports([str(path)])
    return str(path)


@pytest.fixture(scope="module")
def server(tasks_file):
    proc, url = start_server([
        "--workers", "2", "--timeout", "2", "--import", tasks_file, "--max-items", "64", "--max-body-mb", "1",
        "--max-response-chars", "10000",
    ])  # fmt: skip
    yield url
    stop_server(proc)


def post(url, body, **kw):
    if isinstance(body, (bytes, str)):
        headers = {"content-type": "application/json", **kw.pop("headers", {})}
        return httpx.post(f"{url}/verify", content=body, headers=headers, timeout=60, **kw)
    return httpx.post(f"{url}/verify", json=body, timeout=60, **kw)


def add_problems(n):
    import gymnasium as gym

    env = gym.make("srv/add-v0").unwrapped
    return [env.task.problems[i] for i in range(n)]


# --- endpoints ---------------------------------------------------------------------------


def test_health_and_envs(server):
    h = httpx.get(f"{server}/health", timeout=10).json()
    assert h["status"] == "ok" and h["workers"] == 2
    envs = httpx.get(f"{server}/envs", timeout=10).json()
    ids = {e["id"]: e["domain"] for e in envs["envs"]}
    assert ids["srv/add-v0"] == "srv_add" and ids["prolong/math-v0"] == "math"
    assert "srv_add" in envs["domains"]


def test_verify_by_env_or_domain_gives_the_in_process_verdicts(server):
    p = add_problems(2)
    items = [
        {"env": "srv/add-v0", "response": f"It is {p[0].answer}", "answer": p[0].answer},
        {"domain": "srv_add", "response": "It is 0", "answer": p[1].answer},
        {"domain": "srv_add", "response": "", "answer": "1"},
        {"domain": "srv_add", "response": "7", "problem": {"prompt": "3+4?", "answer": "7", "id": "x"}},
    ]
    r = post(server, {"items": items})
    assert r.status_code == 200
    expected = [prolong.verify("srv_add", it["response"], it.get("answer", "7")).to_dict() for it in items]
    assert r.json()["results"] == expected
    assert [x["reward"] for x in r.json()["results"]] == [1.0, 0.0, 0.0, 1.0]


def test_a_crashing_verifier_is_that_items_error_and_a_hang_its_timeout(server):
    items = [
        {"domain": "srv_add", "response": "2", "answer": "2"},
        {"domain": "srv_add", "response": "crash", "answer": "2"},
        {"domain": "srv_add", "response": "hang", "answer": "2"},
        {"domain": "srv_add", "response": "3", "answer": "2"},
    ]
    results = post(server, {"items": items}).json()["results"]
    assert results[0]["reward"] == 1.0 and results[3]["reward"] == 0.0
    assert set(results[1]) == {"error"} and "verifier bug on purpose" in results[1]["error"]
    assert results[2]["reason"] == "verifier timeout" and results[2]["reward"] == 0.0
    # the killed worker was replaced: the server still answers
    assert post(server, {"items": items[:1]}).json()["results"][0]["reward"] == 1.0


@pytest.mark.skipif(not MATH, reason="prolong.envs.math (the math domain) is not built yet")
def test_math_items_through_the_server(server):
    r = post(server, {"items": [
        {"env": "prolong/math-v0", "response": "so \\boxed{\\frac{1}{2}}", "answer": "0.5"},
        {"domain": "openai/gsm8k", "response": "so \\boxed{3}", "answer": "4"},
    ]})  # fmt: skip
    assert [x["correct"] for x in r.json()["results"]] == [True, False]


# --- bad requests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"items": [{"env": "srv/add-v0", "answer": "1"}]}, 422, r"items\[0\]\.response: Field required"),
        ({"items": [{"env": "srv/add-v0", "reponse": "1", "answer": "1"}]}, 422, r"items\[0\]\.reponse: Extra inputs are not permitted"),
        ({"items": [{"env": "srv/add-v0", "response": 5, "answer": "1"}]}, 422, r"items\[0\]\.response: Input should be a valid string"),
        ({"items": [{"env": "nope/none-v0", "response": "1", "answer": "1"}]}, 422, r"items\[0\]\.env: unknown env 'nope/none-v0'"),
        ({"items": [{"domain": "nope", "response": "1", "answer": "1"}]}, 422, r"items\[0\]\.domain: unknown domain 'nope'; known: .*srv_add"),
        ({"items": [{"response": "1", "answer": "1"}]}, 422, r"items\[0\]: give 'env'"),
        ({"items": [{"env": "srv/add-v0", "response": "1"}]}, 422, r"items\[0\]: no 'answer'"),
        ({"items": [{"env": "srv/add-v0", "domain": "math", "response": "1", "answer": "1"}]}, 422, r"env 'srv/add-v0' is domain 'srv_add', not 'math'"),
        ({"items": [{"domain": "srv_add", "response": "1", "problem": {"answer": "1"}}]}, 422, r"items\[0\]\.problem: .*'prompt'"),
        ({"things": []}, 422, r"items: Field required"),
        ('{"items": [', 422, r"not valid JSON"),
        ("[1, 2]", 422, r"must be a JSON object"),
        ({"items": [{"domain": "srv_add", "response": "1", "answer": "1"}] * 65}, 413, r"65 items .* limit is 64"),
        ({"items": [{"domain": "srv_add", "response": "x" * 10001, "answer": "1"}]}, 413, r"items\[0\]\.response has 10001 characters"),
    ],
)
def test_bad_requests_get_4xx_saying_what_is_wrong(server, body, status, message):
    r = post(server, body)
    assert r.status_code == status, r.text
    assert re.search(message, r.json()["error"]), r.json()["error"]


def test_a_body_over_the_size_limit_is_413_before_it_is_parsed(server):
    r = post(server, b'{"items": [' + b" " * (1024 * 1024 + 10) + b"]}")
    assert r.status_code == 413 and "over the limit of 1048576 bytes" in r.json()["error"]


def test_a_body_that_is_not_json_says_so(server):
    r = httpx.post(f"{server}/verify", content=b"response=1", headers={"content-type": "text/plain"}, timeout=10)
    assert r.status_code == 422 and "Content-Type: application/json (got Content-Type: text/plain)" in r.json()["error"]


def test_unknown_paths_and_methods_are_4xx(server):
    r = httpx.get(f"{server}/verify", timeout=10)
    assert r.status_code == 405 and r.json()["error"] == "Method Not Allowed"
    r = httpx.get(f"{server}/nothing", timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "Not Found"


# --- load ----------------------------------------------------------------------------------


def _load_cases(n_requests):
    problems = add_problems(50)
    math_cases = []
    if MATH:
        import gymnasium as gym

        task = gym.make("prolong/math-v0").unwrapped.task
        mp = [task.problems[i] for i in range(10)]
        for p in mp:
            math_cases.append((task.reference(p), p.answer))
            other = next(q for q in mp if q.answer != p.answer)
            math_cases.append((task.reference(other), p.answer))
    cases = []
    for k in range(n_requests):
        items = []
        for j in range(1 + k % 3):
            if math_cases and (k + j) % 5 == 0:
                resp, ans = math_cases[(k + j) % len(math_cases)]
                items.append({"env": "prolong/math-v0", "response": resp, "answer": ans})
            else:
                p = problems[(k * 3 + j) % len(problems)]
                resp = f"The sum is {p.answer}" if (k + j) % 2 else f"The sum is {int(p.answer) + 1}"
                items.append({"domain": "srv_add", "response": resp, "answer": p.answer})
        cases.append(items)
    return cases


def test_load_1200_requests_from_32_concurrent_clients_none_lost_every_answer_right(server):
    """32 client threads on keep-alive connections (stdlib http.client: a cheap client, so
    the test measures the server), 1,200 requests of 1-3 items, math and a user task."""
    cases = _load_cases(1200)
    expected_by_key = {}
    for items in cases:
        for it in items:
            key = (it.get("env") or it["domain"], it["response"], it["answer"])
            if key not in expected_by_key:
                expected_by_key[key] = prolong.verify(key[0], it["response"], it["answer"]).to_dict()
    answers = [None] * len(cases)
    host, port = server.rsplit("//", 1)[1].split(":")
    next_case = iter(range(len(cases)))
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        try:
            while True:
                with lock:
                    k = next(next_case, None)
                if k is None:
                    return
                conn.request("POST", "/verify", json.dumps({"items": cases[k]}), {"content-type": "application/json"})
                r = conn.getresponse()
                answers[k] = (r.status, json.loads(r.read()))
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    lost = [k for k, a in enumerate(answers) if a is None or a[0] != 200]
    assert not lost, f"{len(lost)} requests lost or failed, first: {answers[lost[0]]}"
    wrong = 0
    for items, (_, body) in zip(cases, answers):
        results = body["results"]
        assert len(results) == len(items)
        for it, res in zip(items, results):
            wrong += res != expected_by_key[(it.get("env") or it["domain"], it["response"], it["answer"])]
    assert wrong == 0
    n_items = sum(len(c) for c in cases)
    assert n_items >= 2000
    metrics = httpx.get(f"{server}/metrics", timeout=10).text
    verified = sum(int(v) for v in re.findall(r'^prolong_items_verified_total\{[^}]*\} (\d+)$', metrics, re.M))
    ok_requests = int(re.search(r'^prolong_requests_total\{path="/verify",code="200"\} (\d+)$', metrics, re.M).group(1))
    assert verified >= n_items and ok_requests >= len(cases)
    assert "# TYPE prolong_request_duration_seconds histogram" in metrics
    assert re.search(r"^prolong_items_in_flight 0$", metrics, re.M)


def test_concurrent_async_clients_get_their_own_answers(server):
    """httpx.AsyncClient, 16 at once, each checking the answer to its own request."""
    p = add_problems(16)

    async def run():
        async with httpx.AsyncClient(base_url=server, timeout=60) as client:

            async def one(k):
                resp = p[k].answer if k % 2 else "0"
                r = await client.post("/verify", json={"items": [{"domain": "srv_add", "response": resp, "answer": p[k].answer}]})
                return r.json()["results"][0]["reward"]

            return await asyncio.gather(*(one(k) for k in range(16)))

    assert asyncio.run(run()) == [float(k % 2) for k in range(16)]


# --- the command line -------------------------------------------------------------------


def test_serve_with_a_missing_import_file_exits_2_naming_it(capsys):
    assert serve_main(["--port", "0", "--import", "/nonexistent/tasks.py"]) == 2
    assert "/nonexistent/tasks.py" in capsys.readouterr().err


def test_serve_rejects_nonpositive_workers(capsys):
    assert serve_main(["--workers", "-1"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_a_streamed_body_over_the_limit_is_413_too(server):
    def chunks():
        yield b'{"items": ['
        for _ in range(300):
            yield b" " * 4096
        yield b"]}"

    r = httpx.post(f"{server}/verify", content=chunks(), headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and "over the limit of 1048576 bytes" in r.json()["error"]


# --- the API schema --------------------------------------------------------------------


def test_openapi_schema_and_docs_page(server):
    r = httpx.get(f"{server}/openapi.json", timeout=10)
    assert r.status_code == 200, r.text
    schema = r.json()
    assert "/verify" in schema["paths"] and "post" in schema["paths"]["/verify"]
    assert "VerifyRequest" in json.dumps(schema["components"])
    r = httpx.get(f"{server}/docs", timeout=10)
    assert r.status_code == 200 and "openapi.json" in r.text


# --- scheduling: each item on its own ---------------------------------------------------


def test_stuck_items_cost_their_own_deadline_not_their_neighbours(server):
    """Two hanging items and four honest ones in one request, two workers, --timeout 2:
    the hangs hold both workers for 2 s, then the honest items run at once (never a
    second 2 s behind a hang queued in the same slot)."""
    items = [{"domain": "srv_add", "response": "hang", "answer": "1"}] * 2
    items += [{"domain": "srv_add", "response": "1", "answer": "1"}] * 4
    t0 = time.monotonic()
    results = post(server, {"items": items}).json()["results"]
    dt = time.monotonic() - t0
    assert [r["reason"] for r in results[:2]] == ["verifier timeout"] * 2
    assert [r["reward"] for r in results[2:]] == [1.0] * 4
    assert dt < 3.5, f"{dt:.1f} s"


def test_an_honest_request_does_not_wait_for_a_stuck_one(server):
    box = {}
    stuck = threading.Thread(target=lambda: box.update(r=post(server, {"items": [{"domain": "srv_add", "response": "hang", "answer": "1"}]})))
    stuck.start()
    time.sleep(0.5)  # the hang holds one worker now
    t0 = time.monotonic()
    r = post(server, {"items": [{"domain": "srv_add", "response": "1", "answer": "1"}] * 16})
    dt = time.monotonic() - t0
    stuck.join(30)
    assert [x["reward"] for x in r.json()["results"]] == [1.0] * 16
    assert dt < 1.2, f"{dt:.1f} s behind a stuck item"
    assert box["r"].json()["results"][0]["reason"] == "verifier timeout"


def test_a_code_item_that_never_stops_answers_within_the_server_timeout(server):
    stuck = "```python\nwhile True:\n    pass\n```"
    tests = {"inputs": ["1\n", "2\n", "3\n"], "outputs": ["1\n", "2\n", "3\n"]}
    t0 = time.monotonic()
    r = post(server, {"items": [{"domain": "code", "response": stuck, "answer": tests}]})
    dt = time.monotonic() - t0
    assert r.status_code == 200 and r.json()["results"][0]["reward"] == 0.0
    # --timeout 2 plus the grace a verifier in a thread gets; the code sandbox alone would take 6 s a test
    assert dt < 2 + 2 + 1.5, f"{dt:.1f} s"


def test_a_crash_is_reported_without_the_hosts_traceback(server):
    (res,) = post(server, {"items": [{"domain": "srv_add", "response": "crash", "answer": "1"}]}).json()["results"]
    assert res["error"] == "RuntimeError: verifier bug on purpose"
    assert "File " not in res["error"] and "/" not in res["error"]


# --- limits, auth, slow clients ---------------------------------------------------------

API_KEY = "s3cret-key-for-tests-0123456789"


@pytest.fixture(scope="module")
def guarded(tasks_file, tmp_path_factory):
    key_file = tmp_path_factory.mktemp("key") / "key"
    key_file.write_text(API_KEY + "\n")
    key_file.chmod(0o600)
    proc, url = start_server(
        ["--workers", "1", "--timeout", "2", "--import", tasks_file, "--max-items", "16", "--max-pending", "4",
         "--read-timeout", "1", "--api-key-file", str(key_file)]
    )  # fmt: skip
    yield url
    stop_server(proc)


def authed(key=API_KEY):
    return {"Authorization": f"Bearer {key}"}


def test_a_request_larger_than_max_pending_is_413_even_on_an_idle_server(guarded):
    item = {"domain": "srv_add", "response": "1", "answer": "1"}
    r = post(guarded, {"items": [item] * 5}, headers=authed())
    assert r.status_code == 413 and "at most 4 items may wait at once (--max-pending)" in r.json()["error"]
    r = post(guarded, {"items": [item] * 4}, headers=authed())
    assert r.status_code == 200 and [x["reward"] for x in r.json()["results"]] == [1.0] * 4


@pytest.mark.parametrize("path", ["/verify", "/envs", "/metrics", "/openapi.json", "/docs", "/nothing"])
def test_every_endpoint_but_health_needs_the_key(guarded, path):
    method = httpx.post if path == "/verify" else httpx.get
    kw = {"json": {"items": [{"domain": "srv_add", "response": "1", "answer": "1"}]}} if path == "/verify" else {}
    for headers in ({}, authed("wrong"), {"Authorization": API_KEY}, {"X-Prolong-Key": API_KEY[:-1]}):
        r = method(f"{guarded}{path}", headers=headers, timeout=10, **kw)
        assert r.status_code == 401 and "API key" in r.json()["error"], (headers, r.text)
    for headers in (authed(), {"X-Prolong-Key": API_KEY}, {"authorization": f"bearer {API_KEY}"}):
        r = method(f"{guarded}{path}", headers=headers, timeout=10, **kw)
        assert r.status_code == (404 if path == "/nothing" else 200), (headers, r.text)
    assert httpx.get(f"{guarded}/health", timeout=10).json()["status"] == "ok"


def _raw(url, data, wait):
    """Send raw bytes, then read until the server closes; (bytes read, seconds to close)."""
    import socket

    host, port = url.rsplit("//", 1)[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=wait)
    t0 = time.monotonic()
    try:
        if data:
            s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got, time.monotonic() - t0
            got += chunk
    except socket.timeout:
        return got, None  # still open
    finally:
        s.close()


def test_a_client_that_never_sends_its_body_is_dropped(guarded):
    head = (
        f"POST /verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"items\": "
    ).encode()
    got, closed_after = _raw(guarded, head, wait=10)
    assert closed_after is not None and closed_after < 4, "the connection was held open"
    assert got.startswith(b"HTTP/1.1 408") and b"--read-timeout" in got


@pytest.mark.parametrize("data", [b"", b"POST /verify HTTP/1.1\r\nHost: x\r\nContent-Le"])
def test_a_client_that_never_finishes_its_headers_is_dropped(guarded, data):
    got, closed_after = _raw(guarded, data, wait=10)
    assert closed_after is not None and closed_after < 4, "the connection was held open"
    assert got == b""
    assert httpx.get(f"{guarded}/health", timeout=10).status_code == 200


def test_serve_refuses_a_public_address_without_a_key(capsys, monkeypatch):
    monkeypatch.delenv("PROLONG_API_KEY", raising=False)
    assert serve_main(["--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0 without an API key" in err and "--insecure-no-auth" in err
    monkeypatch.setenv("PROLONG_API_KEY", "  ")
    assert serve_main(["--port", "0"]) == 2
    assert "PROLONG_API_KEY is set but empty" in capsys.readouterr().err
    assert serve_main(["--port", "0", "--api-key-file", "/nonexistent/key"]) == 2
    assert "cannot read it" in capsys.readouterr().err


# --- shutdown -----------------------------------------------------------------------------


def _port_free(port, seconds):
    import socket

    end = time.monotonic() + seconds
    while True:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
            return True
        except OSError:
            if time.monotonic() > end:
                return False
            time.sleep(0.05)
        finally:
            s.close()


@pytest.mark.skipif(not MATH, reason="prolong.envs.math (the math domain) is not built yet")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_a_stopped_server_leaves_no_process_and_frees_its_port(tasks_file, sig):
    import signal

    proc, url = start_server(["--workers", "2", "--timeout", "1", "--import", tasks_file])
    pids = []
    try:
        r = post(url, {"items": [
            {"domain": "math", "response": "\\boxed{(x+1)^2}", "answer": "x^2+2x+1"},  # needs the sympy stage
            {"domain": "srv_add", "response": "2", "answer": "2"},
            {"domain": "srv_add", "response": "hang", "answer": "2"},  # a worker killed and replaced
        ]})  # fmt: skip
        assert [x["correct"] for x in r.json()["results"]] == [True, True, False]
        assert r.json()["results"][0]["details"]["path"] == "sympy"
        end = time.monotonic() + 10  # the killed worker's replacement may still be starting
        pids = descendants(proc.pid)
        while len(pids) < 2 and time.monotonic() < end:
            time.sleep(0.05)
            pids = descendants(proc.pid)
        assert len(pids) >= 2, pids
        in_flight = {}
        if sig == "SIGTERM":  # a request under way when the signal comes still gets its answer
            hang = {"items": [{"domain": "srv_add", "response": "hang", "answer": "2"}]}
            client = threading.Thread(target=lambda: in_flight.update(r=post(url, hang)))
            client.start()
            time.sleep(0.3)
        pids = sorted(set(pids) | set(descendants(proc.pid)))  # replacements started since
        t0 = time.monotonic()
        os.kill(proc.pid, getattr(signal, sig))
        proc.wait(timeout=20)
        if sig == "SIGTERM":
            client.join(10)
            assert in_flight["r"].status_code == 200
            assert in_flight["r"].json()["results"][0]["reason"] == "verifier timeout"
        end = time.monotonic() + 3
        while alive(pids) and time.monotonic() < end:
            time.sleep(0.02)
        assert not alive(pids), f"{len(alive(pids))} processes outlived the server"
        # SIGKILL: the workers go at once; SIGTERM: after the request in flight (--timeout 1)
        assert time.monotonic() - t0 < (2.0 if sig == "SIGKILL" else 3.0)
        assert _port_free(int(url.rsplit(":", 1)[1]), 2.0), "the port is still taken"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in alive(pids):  # what this test started, should it fail
            os.kill(p, signal.SIGKILL)


def test_building_a_rows_task_does_not_block_the_server(server):
    """A row whose env arguments make a new (slow) env is read off the event loop:
    /health answers while it is being built."""
    import threading

    p = add_problems(1)[0]
    item = {"env": "srv/slow-v0", "env_kwargs": {"delay": 4.0}, "response": p.answer, "answer": p.answer}
    out: dict = {}
    slow = threading.Thread(target=lambda: out.setdefault("r", post(server, {"items": [item]})))
    slow.start()
    time.sleep(0.5)
    health = httpx.get(f"{server}/health", timeout=60)
    still_building = slow.is_alive()
    slow.join(60)
    assert health.status_code == 200
    assert still_building, "/health waited for the slow request"
    assert out["r"].status_code == 200 and out["r"].json()["results"][0]["reward"] == 1.0
