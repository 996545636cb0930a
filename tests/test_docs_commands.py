"""The commands and snippets in README.md and docs/*.md run as written.

Every fenced block is found here. A shell line runs (``prolong ...`` in one runner
process, through ``prolong.cli.main``, the console script's entry point), a python block
runs statement by statement, and an expression followed by a literal in its comment
(``prolong.verify(...).reward   # 1.0``) must give that value. What cannot run on a CPU
machine without a network is in the rules below with the reason; sizes are cut where a
command would take minutes (``--n 20000`` exports 20 rows). ``prolong train`` runs take
minutes, so their configs are resolved with ``--print-config`` instead. The servers of
``prolong serve`` blocks start for real and the blocks' ``curl`` lines are sent to them.

A block nobody can run, or a new doc block that fails, fails here: fix the doc, or add
a rule with its reason.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", *sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))]
BWRAP = shutil.which("bwrap") is not None

# ---------------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Block:
    file: str
    line: int  # 1-based line of the block's first content line
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


def doc_blocks() -> list[Block]:
    out = []
    for name in DOCS:
        lines = (ROOT / name).read_text(encoding="utf-8").split("\n")
        i = 0
        while i < len(lines):
            m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
            if not m:
                i += 1
                continue
            indent, j = len(m.group(1)), i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            body = "\n".join(ln[indent:] if ln[:indent].strip() == "" else ln for ln in lines[i + 1 : j])
            out.append(Block(name, i + 2, m.group(2).lower(), body))
            i = j + 1
    return out


def shell_commands(block: Block) -> list[tuple[int, str]]:
    """``(line, command)`` of a shell block: continuation lines and quoted newlines joined,
    comment lines dropped. An untyped block holds commands only where its lines start with
    ``prolong `` (the README's command table: the command is what comes before the
    description's run of spaces)."""
    if block.lang == "":
        return [
            (block.line + k, re.split(r"\s{2,}", ln.strip())[0])
            for k, ln in enumerate(block.text.split("\n"))
            if ln.startswith("prolong ")
        ]
    out, acc, start, joined = [], "", 0, False
    for k, ln in enumerate(block.text.split("\n")):
        if not acc:
            start = block.line + k
        acc = (f"{acc} {ln}" if joined else f"{acc}\n{ln}") if acc else ln
        joined = acc.endswith("\\")  # a continuation line: joined with a space, as the shell does
        if joined:
            acc = acc[:-1].rstrip()
            continue
        try:
            words = shlex.split(acc, comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        if words:
            out.append((start, acc.strip()))
        acc = ""
    return out


# ---------------------------------------------------------------------------------- rules

# First matching rule wins. A rule skips (reason), or changes how the command runs.
SKIP_COMMANDS: list[tuple[str, str]] = [
    (r"^make train\b", "the embedded default's 3-minute training run (tests/test_trainer_default.py runs it)"),
    (r"^make test\b", "the whole test suite, which includes this file"),
    (r"^pip install\b", "installs packages from the network"),
    (r"^python -m verl\.", "verl is not installed here and trains on GPUs (tests/test_adapters_verl.py calls compute_score as verl does)"),
    (r"^python -m openrlhf\.", "OpenRLHF is not installed here and trains on GPUs (tests/test_server_openrlhf.py posts what it posts)"),
    (r"^python -m benchmarks", "benchmarks run for minutes (make bench)"),
    (r"^prolong demo\b", "starts every env's verifier cold (20 s here); tests/test_cli.py runs `prolong demo -n 2`"),
    (r"^prolong plot\b", "needs a run directory from prolong train (tests/test_trainer_train.py plots one)"),
    (r"--engine vllm", "vLLM needs a CUDA GPU (tests/test_vllm.py runs on one)"),
    (r"https://rewards\.example\.org", "a remote deployment example (tests/test_server.py covers --api-key-file)"),
    (r"^umask\b", "writes the operator's ~/.prolong-key (tests/test_server.py covers --api-key-file)"),
    (r"--api-key-file ~/", "the operator's key file from the line above (tests/test_server.py covers --api-key-file)"),
    (r"\b(ID|PATH|RUN_DIR|CONFIG\.yaml)\b|\[key=value", "a usage line with placeholders (the same command runs with real values elsewhere in the docs)"),
]

# A python block is skipped (reason), or cut before the first line matching `until`.
PYTHON_RULES: list[dict[str, Any]] = [
    {"match": r"trainer = GRPOTrainer", "until": r"^trainer = GRPOTrainer", "subs": [(r"n=2000,", "n=20,")],
     "why": "GRPOTrainer downloads the model and trains (tests/test_adapters_trl.py trains TRL on a tiny model); "
            "the dataset part runs, with 20 rows"},
    {"match": r"verify_batch_ray|route_to_ray", "skip": "starts a Ray cluster (10-30 s here; tests/test_ray.py and tests/test_one_reward_path.py run verify_batch_ray)"},
    {"match": r'build_engine\("vllm"', "skip": "vLLM needs a CUDA GPU (tests/test_vllm.py)"},
    {"match": r'source="deepscaler\.jsonl"', "skip": "reads the reader's data files and downloads a Hugging Face dataset"},
    {"match": r'load_ifeval_problems\("input_data\.jsonl"\)', "skip": "reads the reader's IFEval data files"},
    {"match": r'source="mbpp\.jsonl"', "skip": "reads the reader's data files (tests/test_code_problems.py loads each of these shapes)"},
    {"match": r"result = train\(cfg\)", "until": r"^result = train\(cfg\)",
     "why": "training 20 steps takes minutes on CPU (tests/test_trainer_train.py); the config part runs"},
    {"match": r"# GPQA / MMLU-Pro / SCP-116K", "until": r"^# GPQA / MMLU-Pro",
     "why": "the file-loading lines read the reader's GPQA/SCP files"},
    {"match": r'gym\.make\("prolong/code-v0"\)', "needs_bwrap": True},
    {"match": r'gym\.make\("prolong/mix-v0"\)', "needs_bwrap": True},
]

# What the snippets use without defining (the reader's own data and model).
PRELUDE = """\
import gymnasium as gym
import prolong
responses = ["The answer is \\\\boxed{1}."] * 8
answers = ["1"] * 8
"""
MODEL_PRELUDE = """\
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained("runs/default/final")
tokenizer = AutoTokenizer.from_pretrained("runs/default/final")
"""
# size cuts: (pattern, replacement), applied to python blocks that evaluate models
PYTHON_SIZE_CUTS = [
    (r"num_problems=50\)", "num_problems=2, max_new_tokens=4)"),
    (r"max_new_tokens=1024, progress=False", "max_new_tokens=4, progress=False, num_problems=2"),
]
EVAL_CUT = ["--num-problems", "2", "--max-new-tokens", "4"]  # prolong eval: 2 problems, 4 tokens each

# Files the commands name, made in the working directory: {"response", "answer"} lines,
# and the mini HumanEval file of tests/fixtures under the name the docs use.
RESPONSES = [{"response": "so the answer is \\boxed{1/2}", "answer": "0.5"}, {"response": "I think 3", "answer": "4"}]


@dataclass
class Item:
    """One thing to run: a shell command or a python block."""

    id: str
    kind: str  # "cli", "python", "file_of", "pkg", "serve", "curl", "skip", "unplanned"
    payload: Any = None
    why: str = ""  # skip reason, or what was changed
    env: dict[str, str] = field(default_factory=dict)
    block: str = ""  # the id of the block it comes from


def _subshells(cmd: str) -> list[str]:
    return re.findall(r'\$\(python -c "([^"]+)"\)', cmd)


def plan() -> list[Item]:
    items: list[Item] = []
    for b in doc_blocks():
        if b.lang == "python":
            planned = [_plan_python(b)]
        elif b.lang in ("bash", "sh", "shell", ""):
            planned = [it for line, cmd in shell_commands(b) for it in _plan_shell(b, line, cmd)]
        else:
            continue
        for it in planned:
            it.block = b.id
        items.extend(planned)
    return items


def _plan_python(b: Block) -> Item:
    code, why = b.text, ""
    for rule in PYTHON_RULES:
        if not re.search(rule["match"], code):
            continue
        if "skip" in rule:
            return Item(b.id, "skip", why=rule["skip"])
        if rule.get("needs_bwrap") and not BWRAP:
            return Item(b.id, "skip", why="the code sandbox needs bubblewrap (bwrap), which is not installed")
        if "until" in rule:
            lines = code.split("\n")
            cut = next(i for i, ln in enumerate(lines) if re.search(rule["until"], ln))
            code, why = "\n".join(lines[:cut]), f"cut before line {b.line + cut}: {rule['why']}"
        for pat, rep in rule.get("subs", ()):
            code = re.sub(pat, rep, code)
    prelude = PRELUDE
    if re.search(r"\b(model|tokenizer)\b", code) and "build_engine" in code:
        prelude += MODEL_PRELUDE
        why = why or "a tiny model stands in for the reader's model"
        for pat, rep in PYTHON_SIZE_CUTS:
            if re.search(pat, code):
                code, why = re.sub(pat, rep, code), "a tiny model stands in for runs/default/final; sizes cut: 2 problems, 4 new tokens"
    return Item(b.id, "python", {"prelude": prelude, "code": code, "first_line": b.line}, why=why)


def _plan_shell(b: Block, line: int, cmd: str) -> list[Item]:
    ident = f"{b.file}:{line} {' '.join(cmd.split())[:60]}"
    out = [Item(f"{ident} $(python -c)", "file_of", code) for code in _subshells(cmd)]
    out += [Item(f"{ident} {m}", "pkg", m) for m in re.findall(r"pkg://([\w.]+)", cmd)]
    for pat, why in SKIP_COMMANDS:
        if re.search(pat, cmd):
            return out + [Item(ident, "skip", why=why)]
    words = shlex.split(re.sub(r"\s\[--[^\]]*\]", "", cmd), comments=True)  # "[--import x.py]": usage notation
    env = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, _, val = words.pop(0).partition("=")
        env[key] = val
    if words[:1] == ["torchrun"]:
        argv = words[words.index("prolong.cli") + 1 :]
        return out + [Item(ident, "cli", [*argv, "--print-config"], "torchrun training takes minutes: the config is resolved (--print-config)", env)]
    if words[:1] == ["curl"]:
        return out + [Item(ident, "curl", cmd)]
    if words[:1] != ["prolong"]:
        return out + [Item(ident, "unplanned", why=f"{words[0]} is not a prolong command and no rule above runs or skips it")]
    argv, why = words[1:], ""
    if argv[:1] == ["serve"]:
        argv = [a for i, a in enumerate(argv) if a != "--workers" and (i == 0 or argv[i - 1] != "--workers")]
        return out + [Item(ident, "serve", argv, "on a free port, with 2 workers")]
    if argv[:1] == ["train"] and "--help-config" not in argv:
        argv, why = [*argv, "--print-config"], "a training run takes minutes (GPUs for prorl-1.5b): the config is resolved (--print-config)"
    if argv[:1] == ["export"] and "--n" in argv and int(argv[argv.index("--n") + 1]) > 50:
        argv = list(argv)
        argv[argv.index("--n") + 1] = "20"
        why = "--n cut to 20"
    if argv[:1] == ["eval"]:
        argv, why = [*argv, *EVAL_CUT], "a tiny model stands in for the trained one; 2 problems, 4 new tokens"
    return out + [Item(ident, "cli", argv, why, env)]


# ---------------------------------------------------------------------------------- runner (a subprocess)


def _literal(comment: str) -> Any:
    """The Python literal a comment starts with (``1.0``, ``'wrong answer' (strict)``,
    ``[1.0, 0.0], in parallel``), or a sentinel. ``...`` inside a string is a wildcard."""
    text = comment.strip()
    cuts = [len(text)] + [m.start() for m in re.finditer(r"\s", text)][::-1]
    for cut in cuts:
        head = text[:cut].rstrip(",:;")
        if not head:
            continue
        try:
            return ast.literal_eval(head)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
    return _NONE


_NONE = object()


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(value, str) and "..." in expected:
        head, _, tail = expected.partition("...")
        return value.startswith(head) and value.endswith(tail)
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return abs(value - expected) <= 1e-9 * max(1.0, abs(expected))
    if isinstance(expected, (list, tuple)) and isinstance(value, (list, tuple)):
        return len(value) == len(expected) and all(_same(v, e) for v, e in zip(value, expected))
    return value == expected


def _comparable(value: Any, expected: Any) -> bool:
    """Compare only where the comment's literal is the kind of thing the expression gives
    (``reward, details   # 1.0 {...}`` documents a tuple loosely: not checked)."""
    num = (int, float)
    if isinstance(expected, num) and not isinstance(expected, bool):
        return isinstance(value, num) and not isinstance(value, bool)
    return isinstance(value, type(expected)) or (isinstance(expected, (list, tuple)) and isinstance(value, (list, tuple)))


def run_python(prelude: str, code: str, first_line: int) -> list[str]:
    """Run a block statement by statement; the mismatches between expressions and the
    literals in their comments."""
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(prelude, "<prelude>", "exec"), ns)
    lines = code.split("\n")
    tree = ast.parse(code)
    wrong = []
    for stmt in tree.body:
        where = f"line {first_line + stmt.lineno - 1}"
        if isinstance(stmt, ast.Expr):
            value = eval(compile(ast.Expression(stmt.value), where, "eval"), ns)
            src_line = lines[stmt.end_lineno - 1]
            comment = src_line[stmt.end_col_offset :].strip()
            if comment.startswith("#"):
                expected = _literal(comment[1:])
                if expected is not _NONE and _comparable(value, expected) and not _same(value, expected):
                    wrong.append(f"{where}: {ast.get_source_segment(code, stmt)} gives {value!r}, the doc says {comment}")
        else:
            exec(compile(ast.Module([stmt], type_ignores=[]), where, "exec"), ns)
    return wrong


def _alarm(signum: int, frame: Any) -> None:
    raise TimeoutError("timed out")


def runner_main(jobs_path: str, out_path: str) -> None:
    jobs = json.loads(Path(jobs_path).read_text())
    results: dict[str, Any] = {}
    if any(j["kind"] == "cli" and j["payload"][:1] == ["eval"] or j["kind"] == "python" and MODEL_PRELUDE in j["payload"]["prelude"] for j in jobs):
        _make_tiny_model(Path.cwd())
    signal.signal(signal.SIGALRM, _alarm)
    for job in jobs:
        buf = io.StringIO()
        t0 = time.monotonic()
        res: dict[str, Any] = {"ok": False}
        saved_env = dict(os.environ)
        os.environ.update(job.get("env") or {})
        signal.alarm(int(job.get("timeout", 120)))
        try:
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                if job["kind"] == "cli":
                    from prolong.cli import main

                    try:
                        rc = main(job["payload"])
                    except SystemExit as e:
                        rc = e.code
                    res["ok"], res["error"] = rc in (0, None), f"exit status {rc}"
                elif job["kind"] == "python":
                    wrong = run_python(**job["payload"])
                    res["ok"], res["error"] = not wrong, "; ".join(wrong)
                elif job["kind"] == "file_of":
                    exec(compile(job["payload"], "<python -c>", "exec"), {"__name__": "__main__"})
                    printed = buf.getvalue().strip().splitlines()[-1:]
                    res["ok"] = bool(printed) and os.path.isfile(printed[0])
                    res["error"] = f"printed {printed!r}, not a file"
                elif job["kind"] == "pkg":
                    import importlib

                    mod = importlib.import_module(job["payload"])
                    res["ok"], res["error"] = hasattr(mod, "compute_score"), "no compute_score in it"
        except BaseException as e:  # noqa: BLE001 - reported as the job's failure
            res["error"] = "".join(traceback.format_exception(type(e), e, e.__traceback__)[-6:])
        finally:
            signal.alarm(0)
            os.environ.clear()
            os.environ.update(saved_env)
        res["output"] = buf.getvalue()[-3000:]
        res["seconds"] = round(time.monotonic() - t0, 2)
        results[job["id"]] = res
    Path(out_path).write_text(json.dumps(results))


def _make_workdir(path: Path) -> None:
    """What the docs' commands expect around them: configs/, the files they read, and a
    tiny model where they expect a trained one."""
    (path / "configs").symlink_to(ROOT / "configs")
    for name in ("FILE.jsonl", "responses.jsonl"):
        (path / name).write_text("".join(json.dumps(r) + "\n" for r in RESPONSES))
    shutil.copy(ROOT / "tests/fixtures/humaneval_mini.jsonl", path / "HumanEval.jsonl")


def _make_tiny_model(path: Path) -> None:
    from prolong.trainer.tiny import build_tiny_model, build_tokenizer

    texts = [f"What is {a} + {b}?\nThe answer is \\boxed{{{a + b}}}." for a in range(21) for b in range(21)]
    tok = build_tokenizer(texts, vocab_size=280)
    model = build_tiny_model(tok, hidden_size=32, layers=1, heads=2, seed=0)
    final = path / "runs/default/final"
    model.save_pretrained(final)
    tok.save_pretrained(final)
    (path / "my-model").symlink_to(final)


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--run":
    runner_main(sys.argv[2], sys.argv[3])
    sys.exit(0)

# ---------------------------------------------------------------------------------- tests

import pytest  # noqa: E402 - the runner above runs without pytest's plugins
from serving import start_server, stop_server  # noqa: E402

ITEMS = plan()
RUN_KINDS = ("cli", "python", "file_of", "pkg")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("docs")
    _make_workdir(path)
    return path


@pytest.fixture(scope="module")
def results(workdir) -> dict[str, Any]:
    """Every runnable item, in doc order, in one runner process in the work directory."""
    jobs = [{"id": it.id, "kind": it.kind, "payload": it.payload, "env": it.env} for it in ITEMS if it.kind in RUN_KINDS]
    (workdir / "jobs.json").write_text(json.dumps(jobs))
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--run", "jobs.json", "out.json"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((workdir / "out.json").read_text())


def test_every_block_is_run_or_skipped_for_a_reason():
    blocks = doc_blocks()
    assert len(blocks) > 30 and {b.file for b in blocks} >= {"README.md", "docs/adapters.md", "docs/eval.md"}
    ids = [it.id for it in ITEMS]
    assert len(ids) == len(set(ids)), "two items share an id"
    for it in ITEMS:
        assert it.kind != "skip" or len(it.why) > 20, it.id
    ran = [it for it in ITEMS if it.kind != "skip"]
    assert len(ran) > 3 * len(ITEMS) // 5, f"only {len(ran)} of {len(ITEMS)} doc items run"
    # every python block is planned (run, cut or skipped), and every command of a shell block
    assert {b.id for b in blocks if b.lang == "python"} <= {it.id for it in ITEMS}


@pytest.mark.parametrize("item", [it for it in ITEMS if it.kind in RUN_KINDS + ("skip", "unplanned")], ids=lambda it: it.id)
def test_doc_item_runs(item, request):
    if item.kind == "skip":
        pytest.skip(item.why)
    assert item.kind != "unplanned", f"{item.id}: {item.why}: add a rule (run it, or skip it with the reason)"
    res = request.getfixturevalue("results")[item.id]
    assert res["ok"], f"{item.id} failed ({item.why or 'as written'}):\n{res['error']}\n--- output ---\n{res['output']}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_argv(it: Item, port: int) -> list[str]:
    return [str(port) if a == "8000" else a for a in it.payload] + ["--workers", "2"]


def _serve_plan() -> list[tuple[Item, list[Item], list[str]]]:
    """One server per distinct ``prolong serve`` command (after the port and workers are
    chosen): (the serve item started, the curl lines of every block with that command,
    the ids of the serve items it stands for)."""
    from prolong.adapters.server import build_parser

    groups: dict[str, list[Item]] = {}
    for it in ITEMS:
        if it.kind == "serve":
            key = repr(sorted(vars(build_parser().parse_args(_serve_argv(it, 1)[1:])).items()))
            groups.setdefault(key, []).append(it)
    return [
        (group[0], [c for c in ITEMS if c.kind == "curl" and c.block in {g.block for g in group}], [g.id for g in group])
        for group in groups.values()
    ]


SERVES = _serve_plan()


@pytest.mark.parametrize("serve, curls, covers", SERVES, ids=[s[0].id for s in SERVES])
def test_serve_blocks_answer_their_curl_lines(serve, curls, covers, workdir):
    """Each distinct `prolong serve` command of the docs starts (on a free port, 2
    workers), and the curl lines of its blocks, sent to it, get every item right."""
    pytest.importorskip("fastapi")
    port = _free_port()
    proc, _ = start_server(_serve_argv(serve, port)[1:], cwd=workdir)
    try:
        for it in curls:
            cmd = it.payload.replace("localhost:8000", f"127.0.0.1:{port}")
            r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120, cwd=workdir)
            assert r.returncode == 0, (it.id, r.stderr)
            body = json.loads(r.stdout)
            assert body["results"] and all(x.get("reward") == 1.0 for x in body["results"]), (it.id, body)
    finally:
        stop_server(proc)


def test_trl_snippets_say_what_cpu_users_must_set():
    trl = [b for b in doc_blocks() if b.lang == "python" and "GRPOConfig(" in b.text]
    assert {b.file for b in trl} >= {"README.md", "docs/adapters.md"}
    for b in trl:
        assert re.search(r"use_cpu=True, bf16=False", b.text), f"{b.id}: the TRL snippet must say use_cpu=True, bf16=False for CPU"


def test_literal_comments_are_read_as_the_docs_mean_them():
    assert _literal(" 1.0") == 1.0 and _literal(" 'wrong answer' (strict)") == "wrong answer"
    assert _literal(" [1.0, 0.0], in parallel") == [1.0, 0.0] and _literal(" 1.0, with that env's verifier") == 1.0
    assert _literal(" Verdict(reward, ...)") is _NONE and _literal(" tuple of 8 prompts") is _NONE
    assert _same("dimension mismatch: m/s vs kg", "dimension mismatch: ...") and not _same(0.5, 1.0)
    assert not _comparable((1.0, {}), 1.0) and _comparable(1, 1.0) and not _comparable(True, 1.0)
    assert run_python("", "x = 2\nx + 1   # 3\nx * 2  # 5", 10) == ["line 12: x * 2 gives 4, the doc says # 5"]
