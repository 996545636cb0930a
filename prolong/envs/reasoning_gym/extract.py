"""Reading the final answer out of a response, as reasoning-gym's users do.

Order of preference:

1. the last complete ``<answer>...</answer>`` block (tags in any letter case; the
   innermost block when blocks nest); its text, stripped, is the answer;
2. only when the response has no ``<answer>``/``</answer>`` tag at all: the last
   ``\\boxed{...}`` with balanced braces (read by the scanner every domain shares,
   :func:`prolong.text.boxed_spans`, with no cap on its length but the response's);
3. then the last line that reads ``Answer: ...`` or ``Final answer: ...`` (markdown
   bold around the label allowed).

A response with an ``<answer>`` tag but no complete block (a truncated response, or a
stray ``</answer>``) has no answer: the model chose the tag format and did not finish it.
An empty block is no answer either. Everything here is linear in the response length,
so a 1 MB response costs milliseconds.
"""

from __future__ import annotations

import re
from collections import deque

from prolong.text import final_text, last_boxed

__all__ = ["extract_answer", "extract_last_boxed", "ANSWER_TAG", "BOXED", "ANSWER_LINE"]

ANSWER_TAG = "answer tag"
BOXED = "boxed"
ANSWER_LINE = "answer line"

_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
_ANY_TAG = re.compile(r"</?answer>", re.IGNORECASE)
_LABELS = ("final answer", "answer")


def _last(pattern: re.Pattern[str], text: str, end: int | None = None) -> re.Match[str] | None:
    last = None
    for m in pattern.finditer(text, 0, len(text) if end is None else end):
        last = m
    return last


def extract_last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}``, or ``\\boxed 5``);
    None when there is none or its braces never balance."""
    return last_boxed(text, max_chars=len(text))


_WORD = re.compile(r"answer", re.IGNORECASE)


def _answer_line(text: str) -> str | None:
    # Look only at the lines holding the last few occurrences of "answer", so that a
    # response of a million short lines (or one line repeating "Answer:") stays linear.
    last = deque((m.start() for m in _WORD.finditer(text)), maxlen=64)
    seen = -2
    for pos in reversed(last):
        start = text.rfind("\n", 0, pos) + 1
        if start == seen:
            continue
        seen = start
        end = text.find("\n", pos)
        line = text[start : len(text) if end == -1 else end].strip().lstrip("*_# ")
        low = line.lower()
        for label in _LABELS:
            if low.startswith(label):
                rest = line[len(label) :].lstrip("*_ ")
                if rest[:1] in (":", "\uff1a"):
                    value = rest[1:].strip().strip("*_").strip()
                    if value:
                        return value
    return None


def extract_answer(response: str) -> tuple[str | None, str | None]:
    """``(answer, how)``: the final answer of ``response`` and which rule found it.

    ``how`` is ``"answer tag"``, ``"boxed"``, ``"answer line"``, or None with no answer.
    Only the text after the reasoning section counts (:mod:`prolong.text`).
    """
    if not isinstance(response, str):
        return None, None
    response = final_text(response)  # the text after the reasoning section (prolong.text)
    if response is None:  # an unclosed <think>: no final answer
        return None, None
    close = _last(_CLOSE, response)
    if close is not None:
        opened = _last(_OPEN, response, close.start())
        if opened is not None:
            answer = response[opened.end() : close.start()].strip()
            return (answer, ANSWER_TAG) if answer else (None, None)
    if _ANY_TAG.search(response):
        return None, None
    boxed = extract_last_boxed(response)
    if boxed is not None and boxed.strip():
        return boxed.strip(), BOXED
    line = _answer_line(response)
    if line is not None:
        return line, ANSWER_LINE
    return None, None
