"""Code problems from files and datasets: the APPS / TACO / LiveCodeBench / Eurus-2-RL shapes.

Every record becomes a Problem whose ``answer`` is ``{"inputs", "outputs", "fn_name"?}``.
Recognised shapes (a ``fields=`` map renames columns first, as everywhere in prolong):

* APPS / TACO: ``question`` + ``input_output`` (a JSON string or a dict), optional
  ``starter_code``, ``solutions`` (a JSON list; the first becomes the reference), ``difficulty``;
* ``{"prompt", "tests"}`` (tests: the ``input_output`` dict, its JSON text, or a list of
  ``{"input", "output"}``); ``{"prompt", "answer"}`` the same;
* Eurus-2-RL / verl rows: ``prompt`` as chat messages and the tests under
  ``reward_model.ground_truth`` (``fields={"answer": "reward_model.ground_truth"}``);
* LiveCodeBench: ``question_content`` + ``public_test_cases`` (JSON list of
  ``{"input", "output", "testtype"}``), ``metadata.func_name``, ``starter_code``.

Assert tests (judged inside the sandbox, see :func:`~prolong.envs.code.compare.parse_assert_tests`):

* HumanEval: ``prompt`` (the function's signature and docstring, code), ``test``
  (``def check(candidate)``), ``entry_point``, ``canonical_solution`` (reference =
  prompt + it); answer ``{"test", "entry_point", "prompt"}``;
* MBPP (and sanitized MBPP): ``text`` or ``prompt``, ``test_list``, ``test_imports``,
  ``test_setup_code``, ``code`` (reference); the prompt shows the asserts (MBPP's own
  prompting: they name the function); answer ``{"test_list", "test_imports", "test_setup_code"}``;
* LeetCode-style (``test`` with ``check(candidate)``, ``entry_point`` such as
  ``Solution().twoSum``, ``prompt`` with the imports the solution may use);
* KodCode: ``question``, ``test`` (pytest code with ``from solution import f``),
  ``solution`` (reference).

APPS / TACO rows (``input_output``) get ``options={"wrapped_outputs": True}``: those
datasets store a call's result wrapped in a one-element list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from prolong.core import ListProblems, Problem, derive_seed
from prolong.data import FieldMap, load_problems
from prolong.envs.code.compare import parse_tests

__all__ = ["load_code_problems", "code_problem_from_record", "stdio_instructions", "call_instructions", "split_of"]

_PROMPT_KEYS = ("prompt", "question", "question_content", "problem", "description")
_TEST_KEYS = ("answer", "tests", "input_output", "ground_truth", "public_test_cases", "test_cases")


def stdio_instructions() -> str:
    return (
        "Write a Python 3 program that reads the input from standard input and prints the answer to "
        "standard output. Give the complete program in one ```python code block."
    )


def call_instructions(fn_name: str, starter_code: str = "") -> str:
    text = (
        f"Write the function `{fn_name}` in Python 3 (a top-level function, or a method of a class "
        "`Solution`). It must return the answer, not print it. Give the complete code in one ```python code block."
    )
    if starter_code.strip():
        text += f"\n\nStart from:\n```python\n{starter_code.rstrip()}\n```"
    return text


def _text_of_prompt(prompt: Any) -> str | None:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and prompt and all(isinstance(m, Mapping) for m in prompt):
        users = [str(m.get("content", "")) for m in prompt if m.get("role", "user") == "user"]
        return "\n\n".join(users) if users else None
    return None


def _maybe_json(x: Any) -> Any:
    if isinstance(x, str):
        try:
            return json.loads(x)
        except ValueError:
            return x
    return x


def _assert_record(rec: Mapping[str, Any], location: str) -> dict[str, Any] | None:
    """HumanEval / MBPP / LeetCode / KodCode rows (assert tests); None for other shapes."""
    test = rec.get("test")
    is_mbpp = rec.get("test_list") not in (None, "", [])
    is_check = isinstance(test, str) and ("def check" in test or "def test" in test)
    if not (is_mbpp or is_check):
        return None
    if is_mbpp:
        answer: dict[str, Any] = {"test_list": _maybe_json(rec["test_list"])}
        for k in ("test_imports", "test_setup_code"):
            if rec.get(k) not in (None, "", []):
                answer[k] = _maybe_json(rec[k]) if k == "test_imports" else rec[k]
    else:
        answer = {"test": test}
        entry = rec.get("entry_point")
        if isinstance(entry, str) and entry.strip():
            answer["entry_point"] = entry.strip()
    if isinstance(rec.get("options"), (Mapping, str)):
        answer["options"] = _maybe_json(rec["options"])
    code_prompt = rec.get("prompt") if isinstance(rec.get("prompt"), str) else None
    if code_prompt is not None and not is_mbpp and "entry_point" in answer:
        answer["prompt"] = code_prompt  # HumanEval / LeetCode: helpers and imports the tests may use
    try:
        suite = parse_tests(answer)
    except ValueError as e:
        raise ValueError(f"{location}: the assert tests are not usable: {e}") from None
    metadata: dict[str, Any] = {"mode": "assert"}
    statement = next((rec[k] for k in ("text", "question", "query", "problem_description", "instruction")
                      if isinstance(rec.get(k), str) and rec[k].strip()), None)
    if is_mbpp:
        shown = "\n".join(suite.inputs)
        text = (statement or (code_prompt or "")).rstrip()
        text += f"\n\nYour code should pass these tests:\n```python\n{shown}\n```\n\nGive the complete code in one ```python code block."
        if isinstance(rec.get("code"), str):
            metadata["reference"] = rec["code"]
    elif statement is None and code_prompt is not None:  # HumanEval: the prompt is the code to complete
        text = (
            f"Complete the following Python function `{suite.fn_name}`. Give the complete code (the function and "
            f"anything it needs) in one ```python code block.\n\n```python\n{code_prompt.rstrip()}\n```"
        )
        if isinstance(rec.get("canonical_solution"), str):
            metadata["reference"] = code_prompt + rec["canonical_solution"]
    else:
        if statement is None:
            raise ValueError(f"{location}: no problem statement (text, question, query, problem_description)")
        text = statement.rstrip()
        fns = [n for n in suite.names if n != "candidate"]
        if suite.fn_name and suite.fn_name.isidentifier():
            text += f"\n\nWrite `{suite.fn_name}` in Python 3. Give the complete code in one ```python code block."
        elif suite.fn_name:  # LeetCode: "Solution().twoSum"
            text += "\n\nWrite the solution in Python 3 (the tests call "
            text += f"`{suite.fn_name}`). Give the complete code in one ```python code block."
        elif fns:
            text += f"\n\nWrite {', '.join(f'`{n}`' for n in fns)} in Python 3. Give the complete code in one ```python code block."
        starter = rec.get("starter_code")
        if isinstance(starter, str) and starter.strip():
            text += f"\n\nStart from:\n```python\n{starter.rstrip()}\n```"
        for k in ("completion", "solution", "reference"):
            if isinstance(rec.get(k), str) and rec[k].strip():
                pre = rec.get("prompt") if k == "completion" and isinstance(rec.get("prompt"), str) else ""
                metadata["reference"] = (pre + "\n" + rec[k]) if pre else rec[k]
                break
    for k in ("difficulty", "title", "source", "url"):
        if isinstance(rec.get(k), (str, int, float)):
            metadata[k] = rec[k]
    out: dict[str, Any] = {"prompt": text, "answer": answer, "metadata": metadata}
    for k in ("id", "task_id", "problem_id", "question_id", "question_id"):
        if rec.get(k) not in (None, ""):
            out["id"] = str(rec[k])
            break
    return out


def code_problem_from_record(rec: Mapping[str, Any], location: str) -> dict[str, Any]:
    """A ``{"id", "prompt", "answer", "metadata"}`` dict from one record; ValueError names ``location``."""
    # assert tests first (LeetCodeDataset rows carry an input_output of text too); an explicit
    # answer / tests / ground_truth column wins
    if not any(rec.get(k) not in (None, "", []) for k in ("answer", "tests", "ground_truth")):
        found = _assert_record(rec, location)
        if found is not None:
            return found
    key = next((k for k in _TEST_KEYS if rec.get(k) not in (None, "", [])), None)
    if key is None:
        raise ValueError(
            f"{location}: no tests; expected one of {list(_TEST_KEYS)} (e.g. fields={{'answer': 'reward_model.ground_truth'}}); "
            f"fields present: {', '.join(sorted(map(str, rec))[:20])}"
        )
    raw = _maybe_json(rec[key])
    meta_in = _maybe_json(rec.get("metadata"))
    fn_from_meta = meta_in.get("func_name") if isinstance(meta_in, Mapping) else None
    if isinstance(raw, Mapping) and fn_from_meta and not raw.get("fn_name"):
        raw = {**raw, "fn_name": fn_from_meta}
    if isinstance(raw, list) and fn_from_meta:
        raw = [{**t, "fn_name": fn_from_meta} if isinstance(t, Mapping) else t for t in raw]
    try:
        suite = parse_tests(raw)
    except ValueError as e:
        raise ValueError(f"{location}: field {key!r} is not a usable test suite: {e}") from None
    if suite.mode == "assert":  # assert tests under a generic key ("answer", "tests", ...)
        answer: dict[str, Any] = raw if isinstance(raw, dict) else {}
    else:
        answer = {"inputs": list(suite.inputs), "outputs": list(suite.outputs)}
    if suite.mode == "call":
        answer["fn_name"] = suite.fn_name
    options = dict(suite.options)
    if key == "input_output" and suite.mode == "call":
        options.setdefault("wrapped_outputs", True)  # APPS / TACO wrap a call's result in a list
    if options and suite.mode != "assert":
        answer["options"] = options
    pkey = next((k for k in _PROMPT_KEYS if rec.get(k) not in (None, "")), None)
    if pkey is None:
        raise ValueError(f"{location}: no prompt; expected one of {list(_PROMPT_KEYS)} (or give fields={{'prompt': ...}})")
    text = _text_of_prompt(rec[pkey])
    if text is None:
        raise ValueError(f"{location}: field {pkey!r} is neither text nor chat messages")
    if pkey != "prompt":  # a bare problem statement: add how to answer
        starter = rec.get("starter_code") or ""
        if suite.mode == "assert":
            how = "Give the complete code in one ```python code block."
        else:
            how = call_instructions(suite.fn_name or "", starter) if suite.mode == "call" else stdio_instructions()
        if suite.mode != "call" and isinstance(starter, str) and starter.strip():
            how += f"\n\nStart from:\n```python\n{starter.rstrip()}\n```"
        text = f"{text.rstrip()}\n\n{how}"
    metadata: dict[str, Any] = {"mode": suite.mode}
    solutions = _maybe_json(rec.get("solutions"))
    if isinstance(solutions, list) and solutions and isinstance(solutions[0], str):
        metadata["reference"] = solutions[0]
    elif isinstance(rec.get("reference"), str):
        metadata["reference"] = rec["reference"]
    elif isinstance(rec.get("solution"), str):
        metadata["reference"] = rec["solution"]
    for k in ("difficulty", "title", "source", "url"):
        if isinstance(rec.get(k), (str, int, float)):
            metadata[k] = rec[k]
    out: dict[str, Any] = {"prompt": text, "answer": answer, "metadata": metadata}
    for k in ("id", "problem_id", "task_id", "question_id"):
        if rec.get(k) not in (None, ""):
            out["id"] = str(rec[k])
            break
    return out


def split_of(problem_id: str, validation_fraction: float = 0.1) -> str:
    """The split a problem belongs to: a stable hash of its id (independent of file order)."""
    return "validation" if derive_seed("code-split", problem_id) % 1000 < validation_fraction * 1000 else "train"


def load_code_problems(
    source: str | os.PathLike[str] | Sequence[Mapping[str, Any]],
    *,
    split: str = "train",
    fields: FieldMap | None = None,
    limit: int | None = None,
    validation_fraction: float = 0.1,
    hf_split: str = "train",
    config: str | None = None,
    **load_kwargs: Any,
) -> ListProblems:
    """Code problems from a .jsonl / .json / .parquet file, a saved dataset folder, a list of
    dicts or a Hugging Face dataset name (read with :func:`prolong.data.load_problems`).

    ``split``: ``"train"`` or ``"validation"``, a disjoint partition by a stable hash of the
    problem id (``validation_fraction`` of them), or ``"all"``. ``hf_split``: the split of a
    Hugging Face dataset to read.
    """
    if split not in ("train", "validation", "all"):
        raise ValueError(f"split must be 'train', 'validation' or 'all', got {split!r}")
    everything = load_problems(
        source,
        domain="code",
        convert=code_problem_from_record,
        fields=fields,
        split=hf_split,
        config=config,
        limit=limit,
        **load_kwargs,
    )
    if split == "all":
        return everything
    chosen: list[Problem] = [p for p in everything.problems if split_of(p.id, validation_fraction) == split]
    if not chosen:
        raise ValueError(
            f"{everything.name}: none of its {len(everything)} problems falls in split {split!r} "
            f"(validation is {validation_fraction:.0%} of ids); use split='all' for a small source"
        )
    return ListProblems(chosen, domain="code", name=f"{everything.name}[{split}]")
