"""Hostile clients of `prolong serve`, end to end: the classes of docs/security.md.

Every request here is what an attacker who reaches the server can send: ground truth
that is code, configs that name host files, regexes that backtrack, programs that never
stop. The server must run nothing, open nothing, leak nothing, and answer every item
within its deadline while honest items beside them are scored as usual.
"""

import json
import os
import re
import select
import subprocess
import sys
import threading
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

TIMEOUT = 3.0  # the server's per-item deadline


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    cmd = [
        sys.executable, "-m", "prolong.cli", "serve", "--host", "127.0.0.1", "--port", "0",
        "--workers", "2", "--timeout", str(TIMEOUT),
    ]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    url = None
    while time.monotonic() < deadline and url is None and proc.poll() is None:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            m = re.search(r"ready on (http://127\.0\.0\.1:\d+)", proc.stdout.readline())
            if m:
                url = m.group(1)
    if url is None:
        proc.kill()
        pytest.fail(f"prolong serve did not start: {proc.stderr.read()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def post(url, items, timeout=60.0):
    t0 = time.monotonic()
    r = httpx.post(url + "/verify", json={"items": items}, timeout=timeout)
    return r, time.monotonic() - t0


def _canary_payloads(canary):
    p = str(canary)
    return [
        f"open({p!r}, 'w').write('x') and [1]",
        f"__import__('os').system('touch {p}')",
        f"[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0](['touch', {p!r}])",
        f"exec(\"open({p!r}, 'w').write('x')\")",
    ]


# ------------------------------------------------------------------ ground truth that is code


def test_reasoning_gym_gold_that_is_code_runs_nowhere(server, tmp_path):
    pytest.importorskip("reasoning_gym")
    canary = tmp_path / "pwned"
    items = []
    for payload in _canary_payloads(canary):
        items.append({
            "domain": "reasoning_gym",
            "response": "<answer>['1']</answer>",
            "answer": {"question": "q", "answer": payload, "metadata": {"source_dataset": "number_sorting"}},
        })  # fmt: skip
        items.append({
            "domain": "reasoning_gym",
            "response": "<answer>0x2</answer>",
            "answer": {
                "question": "q",
                "answer": "0x1",
                "metadata": {"source_dataset": "bitwise_arithmetic", "problem": payload},
            },
        })
    r, _ = post(server, items)
    assert r.status_code == 200, r.text
    for res in r.json()["results"]:
        assert not res.get("correct"), res  # neither the payload gold nor 0x2 against 0x1 is a match
    time.sleep(0.5)
    assert not canary.exists(), "a hostile ground truth ran as code in the server"


def test_math_and_stem_gold_that_is_code_runs_nowhere(server, tmp_path):
    canary = tmp_path / "pwned"
    items = []
    for payload in _canary_payloads(canary):
        for domain in ("math", "stem"):
            items.append({"domain": domain, "response": "The answer is \\boxed{1}.", "answer": payload})
    r, _ = post(server, items)
    assert r.status_code == 200, r.text
    for res in r.json()["results"]:
        assert res.get("reward", 0.0) == 0.0, res
    assert not canary.exists()


# ------------------------------------------------------------------ configs that name files


@pytest.mark.parametrize("task", ["spell_backward", "bitwise_arithmetic"])
def test_configs_that_name_host_files_are_refused_alike_and_reveal_nothing(server, tmp_path, task):
    rg = pytest.importorskip("reasoning_gym")
    entry = json.loads(json.dumps(rg.create_dataset(task, size=1, seed=0)[0]))
    real = tmp_path / "exists.txt"
    real.write_text("hello\nworld\n")
    answers = {}
    for name, path in (("existing", str(real)), ("missing", str(tmp_path / "nope.txt")), ("zero", "/dev/zero")):
        item = {
            "domain": "reasoning_gym",
            "response": "<answer>not it</answer>",
            "answer": entry,
            "problem": {"prompt": "q", "answer": entry, "metadata": {"task": task, "config": {"data_file": path}}},
        }
        r, dt = post(server, [item])
        assert r.status_code in (200, 422), r.text
        assert dt < TIMEOUT + 5
        text = r.text
        assert str(tmp_path) not in text and "site-packages" not in text and "/dev/zero" not in text, text
        answers[name] = (r.status_code, text)
    assert answers["existing"] == answers["missing"] == answers["zero"], answers


# ------------------------------------------------------------------ regexes in ground truth


@pytest.mark.parametrize("keyword", ["(a|aa)+$", "(x+x+)+y", "(.*a){20}"])
def test_a_backtracking_keyword_answers_at_once(server, keyword):
    item = {
        "domain": "ifeval",
        "response": "a" * 40 + "b " + "x" * 5000,
        "answer": {"instruction_id_list": ["keywords:existence"], "kwargs": [{"keywords": [keyword]}]},
    }
    r, dt = post(server, [item])
    assert r.status_code == 200, r.text
    assert dt < 2.0, f"{keyword!r} took {dt:.1f} s"


# ------------------------------------------------------------------ programs that never stop

STUCK = "```python\nwhile True:\n    pass\n```"
HONEST = "```python\nprint(int(input()) * 2)\n```"
TESTS = {"inputs": ["1\n", "2\n", "3\n", "4\n"], "outputs": ["2\n", "4\n", "6\n", "8\n"]}


def test_stuck_programs_do_not_delay_an_honest_one(server):
    stuck_times = []

    def send_stuck():
        r, dt = post(server, [{"domain": "code", "response": STUCK, "answer": TESTS}] * 3, timeout=120)
        assert r.status_code == 200
        assert all(not res.get("correct") for res in r.json()["results"])
        stuck_times.append(dt)

    threads = [threading.Thread(target=send_stuck) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # the stuck programs hold every sandbox worker now
    r, honest = post(server, [{"domain": "code", "response": HONEST, "answer": TESTS}])
    for t in threads:
        t.join()
    assert r.status_code == 200
    assert r.json()["results"][0]["correct"] is True, r.json()
    # The honest item waits at most for one stuck test to end, never for the stuck items' budgets.
    assert honest < TIMEOUT + 3.0, f"honest item took {honest:.1f} s beside stuck ones"
    # Each stuck item answers within its own deadline (plus the time to tear down its sandbox).
    assert max(stuck_times) < 2 * TIMEOUT + 6.0, stuck_times


def test_every_item_of_a_mixed_hostile_request_answers_within_its_deadline(server, tmp_path):
    items = [
        {"domain": "code", "response": STUCK, "answer": TESTS},
        {"domain": "math", "response": "\\boxed{9^{9^{9^{9^{9}}}}}", "answer": "9^{9^{9^{9}}}"},
        {"domain": "ifeval", "response": "a" * 5000, "answer": {"instruction_id_list": ["keywords:frequency"], "kwargs": [{"keyword": "(a*)*$", "frequency": 2, "relation": "at least"}]}},
        {"domain": "math", "response": "\\boxed{2}", "answer": "2"},
    ]  # fmt: skip
    r, dt = post(server, items)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[-1]["correct"] is True
    assert dt < TIMEOUT + 6.0, f"the request took {dt:.1f} s"
    assert json.dumps(results).count("Traceback") == 0


def test_a_crash_shown_to_a_client_names_no_host_path():
    from prolong.adapters.server import _short_error

    traceback_text = (
        "Traceback (most recent call last):\n"
        '  File "/opt/venv/lib/python3.11/site-packages/thing.py", line 3, in load\n'
        "FileNotFoundError: [Errno 2] No such file or directory: '/srv/data/secret.txt'"
    )
    shown = _short_error(traceback_text)
    assert shown.startswith("FileNotFoundError: [Errno 2] No such file or directory")
    assert "/srv" not in shown and "site-packages" not in shown and "secret" not in shown
