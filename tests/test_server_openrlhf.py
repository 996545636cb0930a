"""`prolong serve` speaks OpenRLHF's remote reward protocol (POST /openrlhf, /get_reward).

The client here posts exactly what OpenRLHF v0.11.0 posts to ``--reward.remote_url``
(``openrlhf/utils/agent.py``, ``SingleTurnAgentExecutor._fetch_rewards_via_http``): a JSON
body ``{"query": [...], "prompts": [...], "labels": [...]}`` with no extra headers, one
sample per request and many requests at once; the rewards must be env.step's.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time

import gymnasium as gym
import pytest
from serving import start_server, stop_server

import prolong
from prolong.adapters.export import openrlhf_records
from prolong.adapters.server import load_imports

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

TASKS = '''
import time
import prolong


def echo_problem(rng, index):
    word = rng.choice(["red", "green", "blue"])
    return {"prompt": f"Say {word}.", "answer": word}


def echo_verifier(response, answer):
    if response.strip() == "hang":
        time.sleep(600)
    if response.strip() == "crash":
        raise RuntimeError("verifier bug on purpose")
    return response.strip() == answer


prolong.register_task("orl-srv/echo-v0", problems=echo_problem, verifier=echo_verifier, domain="orl_srv_echo")
'''

# env id -> non-default arguments that change scoring (carried in the exported labels)
CASES = {
    "prolong/stem-v0": {"require_units": True},
    "prolong/ifeval-v0": {"all_or_nothing": True},
    "prolong/mix-v0": {"envs": {"prolong/stem-v0": {"weight": 1, "kwargs": {"require_units": True}}, "prolong/math-v0": 1}},
}
if shutil.which("bwrap"):
    CASES["prolong/code-v0"] = {"max_program_chars": 300}
N = 3


def template(text: str) -> str:
    """--data.apply_chat_template on one user turn (a Qwen-style template)."""
    return f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def tasks_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("orl-serve") / "orl_serve_tasks.py"
    path.write_text(TASKS)
    load_imports([str(path)])
    return str(path)


@pytest.fixture(scope="module")
def server(tasks_file):
    proc, url = start_server([
        "--workers", "2", "--timeout", "3", "--import", tasks_file, "--max-response-chars", "5000", "--label-domain", "stem",
    ])  # fmt: skip
    yield url
    stop_server(proc)


def samples(env_id: str, kwargs: dict) -> tuple[list[str], list[str], list[str], list[float]]:
    """(queries, prompts, labels, env.step rewards) of N exported problems, 3 responses each."""
    env = gym.make(env_id, **kwargs)
    task = env.unwrapped.task
    rows = openrlhf_records(env_id, N, env_kwargs=kwargs)
    queries, prompts, labels, rewards = [], [], [], []
    for i, row in enumerate(rows):
        _, info = env.reset(options={"index": i})
        ref = task.reference(info["problem"])
        num = re.search(r"\d+(?:\.\d+)?", ref)
        for response in (ref, "I do not know.", f"The answer is \\boxed{{{num.group(0) if num else 0}}}"):
            env.reset(options={"index": i})
            rewards.append(env.step(response)[1])
            prompt = template(row["input"])
            queries.append(prompt + response + "<|im_end|>")  # decode(prompt + response ids), special tokens kept
            prompts.append(prompt)
            labels.append(row["label"])
    return queries, prompts, labels, rewards


async def openrlhf_client(url: str, queries, prompts, labels) -> list[dict]:
    """OpenRLHF's HTTP path: every sample its own POST of {"query", "prompts", "labels"}, all at once."""
    async with httpx.AsyncClient(timeout=180) as client:

        async def one(q, p, lab):
            r = await client.post(url, json={"query": [q], "prompts": [p], "labels": [lab]})
            r.raise_for_status()
            return r.json()

        return await asyncio.gather(*(one(q, p, lab) for q, p, lab in zip(queries, prompts, labels)))


@pytest.mark.parametrize("env_id", list(CASES))
def test_openrlhf_http_rewards_equal_env_step(server, env_id):
    queries, prompts, labels, rewards = samples(env_id, CASES[env_id])
    answers = asyncio.run(openrlhf_client(f"{server}/openrlhf", queries, prompts, labels))
    assert [a["rewards"] for a in answers] == [[r] for r in rewards]
    assert [a["scores"] for a in answers] == [[r] for r in rewards]
    assert all(set(a["extra_logs"]) == {"prolong_accuracy", "prolong_no_answer"} for a in answers)
    assert 1.0 in rewards and 0.0 in rewards  # the responses earn different rewards
    # a batch (OpenRLHF before 0.9 posted whole batches) at the path of OpenRLHF's own server
    r = httpx.post(f"{server}/get_reward", json={"query": queries, "prompts": prompts, "labels": labels}, timeout=180)
    assert r.status_code == 200 and r.json()["rewards"] == rewards


def test_the_arguments_in_the_labels_matter(server):
    """Without the exported env arguments (require_units) a bare number would score 1."""
    queries, prompts, labels, rewards = samples("prolong/stem-v0", CASES["prolong/stem-v0"])
    stripped = [json.dumps({**json.loads(lab), "env_kwargs": {}}) for lab in labels]
    loose = httpx.post(f"{server}/openrlhf", json={"query": queries, "prompts": prompts, "labels": stripped}, timeout=180)
    assert loose.json()["rewards"] != rewards
    assert loose.json()["rewards"] == [
        v.reward for v in prolong.verify_batch("stem", [q.split("assistant\n", 1)[1][: -len("<|im_end|>")] for q in queries],
                                               [json.loads(lab)["answer"] for lab in labels])
    ]  # fmt: skip


def test_empty_lists_and_bare_labels(server):
    """A server among several gets empty lists when there are fewer samples than servers;
    a label that is not prolong's JSON is the answer in --label-domain (stem here)."""
    r = httpx.post(f"{server}/openrlhf", json={"query": [], "prompts": [], "labels": []}, timeout=30)
    assert r.status_code == 200 and r.json() == {"rewards": [], "scores": [], "extra_logs": {}}
    r = httpx.post(
        f"{server}/openrlhf",
        json={"query": ["Q: speed of light?\\boxed{300000 km/s}</s>", "Q: x\\boxed{3.0e8 kg}"], "prompts": ["Q: speed of light?", "Q: x"],
              "labels": ["3.0e8 m/s", "3.0e8 m/s"]},
        timeout=30,
    )  # fmt: skip
    assert r.json()["rewards"] == [1.0, 0.0]


def test_a_hang_is_a_zero_within_the_timeout_and_a_crash_a_zero(server):
    labels = [json.dumps({"domain": "orl_srv_echo", "env": "orl-srv/echo-v0", "answer": "red"})] * 3
    t0 = time.monotonic()
    r = httpx.post(f"{server}/openrlhf", json={"query": ["P:red", "P:hang", "P:crash"], "prompts": ["P:"] * 3, "labels": labels}, timeout=60)
    assert r.status_code == 200 and r.json()["rewards"] == [1.0, 0.0, 0.0]
    assert time.monotonic() - t0 < 3 + 10  # --timeout 3: the hang cost its own deadline only


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"query": ["x"], "prompts": ["x"], "labels": ['{"answer": "1", "env": "prolong/stem-v0", "env_kwargs": {"source": "/etc/passwd"}}']},
         422, r"labels\[0\].*source"),
        ({"query": ["x"], "prompts": ["x"], "labels": ['{"answer": "1", "env": "prolong/code-v0", "env_kwargs": {"sandbox": "unsafe-rlimits-only"}}']},
         422, r"labels\[0\].*sandbox"),
        ({"query": ["x", "y"], "prompts": ["x"], "labels": ["1", "2"]}, 422, "2 queries, 1 prompts, 2 labels"),
        ({"query": ["x"], "prompts": ["x"], "labels": ['{"answer": "1", "domain": "nosuch"}']}, 422, r"labels\[0\].*nosuch"),
        ({"prompts": ["x"], "labels": ["1"]}, 422, "query"),
        ({"query": ["x" * 6000], "prompts": [""], "labels": ["1"]}, 413, "5000"),
    ],
)
def test_bad_requests_say_what_is_wrong(server, body, status, words):
    r = httpx.post(f"{server}/openrlhf", json=body, timeout=30)
    assert r.status_code == status, r.text
    assert re.search(words, r.json()["error"]), r.json()["error"]


def test_the_route_needs_the_api_key_when_one_is_set(tasks_file):
    from fastapi.testclient import TestClient

    from prolong.adapters.server import ServerConfig, create_app

    body = {"query": ["Say red.red"], "prompts": ["Say red."], "labels": ['{"domain": "orl_srv_echo", "answer": "red"}']}
    with TestClient(create_app(ServerConfig(workers=1, api_key="k3y", imports=(tasks_file,)))) as client:
        assert client.post("/openrlhf", json=body).status_code == 401
        assert client.post("/get_reward", json=body).status_code == 401
        assert client.post("/openrlhf", json=body, headers={"Authorization": "Bearer k3y"}).json()["rewards"] == [1.0]
        metrics = client.get("/metrics", headers={"X-Prolong-Key": "k3y"}).text
        assert 'prolong_requests_total{path="/openrlhf",code="401"} 1' in metrics
        assert 'prolong_items_verified_total{domain="orl_srv_echo",outcome="correct"} 1' in metrics


def test_serve_refuses_an_unknown_label_domain(capsys):
    from prolong.adapters.server import main

    assert main(["--label-domain", "nosuch", "--port", "0"]) == 2
    assert "nosuch" in capsys.readouterr().err
