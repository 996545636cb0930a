"""Finding the program in a model's response.

Order of preference (the first that yields a non-empty block wins):

1. the last fenced block tagged as Python (```` ```python ````, ```` ```py ````, ``python3``, ``py3``),
2. the last fenced block with no language tag,
3. an unclosed final Python or untagged fence (a response cut off by the length limit).

Blocks tagged with another language (``cpp``, ``text``, ``bash``, ``json`` ...) are never
run. Only the text after the reasoning section is searched (:mod:`prolong.text`, the
policy of every domain: a program that appears only inside ``<think>...</think>`` is not
the answer, and a ``<think>`` that never closes has no program). No fence at all: no program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prolong.text import UNCLOSED_REASONING, final_text

__all__ = ["extract_program", "Extraction", "PYTHON_TAGS"]

PYTHON_TAGS = frozenset({"python", "py", "python3", "py3", "python 3", "python3.x"})
_OPEN = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*?)[ \t]*$")
_INLINE = re.compile(r"```[ \t]*(?P<info>[A-Za-z0-9_+.#-]*)[ \t]*\n(?P<body>.*?)```", re.S)


@dataclass(frozen=True)
class Extraction:
    """``program`` is None when the response holds no runnable block; ``how`` says which rule found it."""

    program: str | None
    how: str


def _tag(info: str) -> str:
    info = info.strip().lower()
    if info.startswith("{") and info.endswith("}"):  # ```{python}
        info = info[1:-1].strip()
    return info.split()[0] if info else ""


def _blocks(text: str) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """Closed fenced blocks as (tag, body), and an unclosed final block if any."""
    blocks: list[tuple[str, str]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence, tag = m.group("fence"), _tag(m.group("info"))
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[j])
            j += 1
        if j >= len(lines):
            return blocks, (tag, "\n".join(body))
        blocks.append((tag, "\n".join(body)))
        i = j + 1
    return blocks, None


def _pick(text: str) -> Extraction:
    found = _choose(*_blocks(text))
    if found.program is None:
        # fences that do not start a line: "Here it is: ```python\n...```" or "...```</think>"
        inline = _choose([(_tag(m.group("info")), m.group("body")) for m in _INLINE.finditer(text)], None)
        if inline.program is not None:
            return Extraction(inline.program, inline.how + " (inline fence)")
    return found


def _choose(blocks: list[tuple[str, str]], unclosed: tuple[str, str] | None) -> Extraction:
    for tag, body in reversed(blocks):
        if tag in PYTHON_TAGS and body.strip():
            return Extraction(body.strip("\n") + "\n", "last python block")
    for tag, body in reversed(blocks):
        if tag == "" and body.strip():
            return Extraction(body.strip("\n") + "\n", "last untagged block")
    if unclosed is not None and (unclosed[0] in PYTHON_TAGS or unclosed[0] == "") and unclosed[1].strip():
        return Extraction(unclosed[1].strip("\n") + "\n", "unclosed final block")
    if blocks or unclosed is not None:
        return Extraction(None, "no program: no python or untagged code block (only other languages)")
    return Extraction(None, "no program: no fenced code block")


def extract_program(response: str) -> Extraction:
    """The program a response gives (see the module docstring for the rules)."""
    if not isinstance(response, str) or not response.strip():
        return Extraction(None, "no program: empty response")
    final = final_text(response.replace("\r\n", "\n"))
    if final is None:
        return Extraction(None, "no program: " + UNCLOSED_REASONING)
    return _pick(final)
