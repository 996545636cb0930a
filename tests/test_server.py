"""`prolong serve`: the HTTP reward server, run as a subprocess on loopback."""

import asyncio
import http.client
import importlib.util
import json
import os
import re
import select
import subprocess
import sys
import threading
import time

import pytest

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
    cmd = [
        sys.executable, "-m", "prolong.cli", "serve", "--host", "127.0.0.1", "--port", "0", "--workers", "2",
        "--timeout", "2", "--import", tasks_file, "--max-items", "64", "--max-body-mb", "1",
        "--max-response-chars", "10000",
    ]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    url = None
    while time.monotonic() < deadline and url is None:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            line = proc.stdout.readline()
            m = re.search(r"ready on (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
        if proc.poll() is not None:
            break
    if url is None:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stderr.read()[-3000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
