"""The text layer every domain's answer extraction shares: the reasoning-section split
and the ``\\boxed{}`` scanner.

Policy (one for every domain): a verifier judges what comes after the reasoning
section, i.e. the text after the last ``</think>``. A response that opens ``<think>``
and never closes it has no final answer: the model did not finish thinking, and
nothing inside its reasoning counts (a ``\\boxed{}`` there, an IFEval constraint met
there). A response without tags is all final answer.

    >>> split_reasoning("<think>maybe 3</think>The answer is 4.")
    ('<think>maybe 3', 'The answer is 4.')
    >>> split_reasoning("<think>maybe 3, or 4")
    ('<think>maybe 3, or 4', None)
    >>> split_reasoning("<think>3?</think>4<think>or 5")
    ('<think>3?</think>4<think>or 5', None)
    >>> final_text("The answer is 4.")
    'The answer is 4.'

Boxes (one reading for every domain; what a domain does with several boxes, e.g.
math joining ``\\boxed{1}, \\boxed{2}`` or STEM calling ``\\boxed{A} or \\boxed{C}`` a
hedge, is the domain's):

* a box is ``\\boxed`` or ``\\fbox`` not followed by a letter (``\\boxedfoo``,
  ``\\fboxsep`` are other commands), then spaces/tabs and at most one line break;
* ``{...}`` with balanced braces is the braced form; ``\\{``, ``\\}`` and ``\\\\`` are
  escapes, not braces; content longer than ``max_chars`` is :data:`BOX_TOO_LONG`, a
  brace never closed is :data:`BOX_UNCLOSED`;
* otherwise the unbraced form ``\\boxed 5`` (as TeX reads it: one token): the run of
  non-space characters on the same line up to a ``$``, an unmatched ``}`` or ``\\)`` /
  ``\\]``, less trailing ``.,;:``; more than :data:`MAX_TOKEN_CHARS` (before that
  strip) is :data:`BOX_TOO_LONG`, nothing there is :data:`BOX_NO_CONTENT`;
* the last box is the one whose command starts last (in ``\\boxed{\\boxed{5}}`` the
  inner one); a last box with a problem is still the last box (no falling back to an
  earlier one).

    >>> last_boxed("first \\\\boxed{4}, then \\\\boxed{\\\\frac{1}{2}}.")
    '\\\\frac{1}{2}'
    >>> last_box("so \\\\boxed{12")
    Box(start=3, end=9, content=None, problem='never closed')

Every scan is linear in the text: commands are found with ``str.rfind``, a box's
braces are matched within ``max_chars`` characters with a C-level regex, and when
that is not enough (a long box, or many boxes read) one pass over the text's braces
matches them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

__all__ = [
    "THINK_OPEN",
    "THINK_CLOSE",
    "split_reasoning",
    "final_text",
    "UNCLOSED_REASONING",
    "BOX_COMMANDS",
    "MAX_BOX_CHARS",
    "MAX_TOKEN_CHARS",
    "BOX_UNCLOSED",
    "BOX_TOO_LONG",
    "BOX_NO_CONTENT",
    "Box",
    "boxed_spans",
    "last_box",
    "last_boxed",
    "box_at",
]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
#: The note verifiers give when the reasoning section never closes.
UNCLOSED_REASONING = "the <think> block is never closed: the response has no final answer"


def split_reasoning(response: str) -> tuple[str, str | None]:
    """``(reasoning, final)``: the text up to the last ``</think>`` and the text after it.

    ``final`` is None when a ``<think>`` opens and no ``</think>`` follows (no final
    answer), also when a section reopens after the last ``</think>``
    (``<think>a</think>b<think>c``); with no tags at all the reasoning is empty and the whole response is final.
    """
    close = response.rfind(THINK_CLOSE)
    if response.find(THINK_OPEN, close + 1 if close >= 0 else 0) >= 0:
        return response, None  # a <think> opens after the last </think> (or none closes)
    if close >= 0:
        return response[:close], response[close + len(THINK_CLOSE) :]
    return "", response


def final_text(response: str) -> str | None:
    """The part of ``response`` a verifier judges (see :func:`split_reasoning`), or None."""
    return split_reasoning(response)[1]


# --------------------------------------------------------------------------- boxes

BOX_COMMANDS = ("\\boxed", "\\fbox")
#: The default cap on a box's content (each domain passes its own).
MAX_BOX_CHARS = 2_000
#: The unbraced form ``\\boxed 5`` holds at most this many characters (and ``max_chars``).
MAX_TOKEN_CHARS = 100
#: :attr:`Box.problem` values.
BOX_UNCLOSED = "never closed"
BOX_TOO_LONG = "too long"
BOX_NO_CONTENT = "no content"


class Box(NamedTuple):
    """One ``\\boxed``/``\\fbox`` of a text.

    Attributes:
        start: index of the command's backslash.
        end: index just past the box (its closing brace, or its unbraced token); for a
            box with a problem, just past the command.
        content: what the box holds (``""`` for ``\\boxed{}``), None when it has a problem.
        problem: None, :data:`BOX_UNCLOSED`, :data:`BOX_TOO_LONG` or :data:`BOX_NO_CONTENT`.
    """

    start: int
    end: int
    content: str | None
    problem: str | None


_BRACE_TOKEN = re.compile(r"\\[\\{}]|[{}]")  # an escape (\{ \} \\) or a brace
_BLANKS = re.compile(r"[ \t]*")
_TOKEN = re.compile(r"[^\s$]+")  # the unbraced form: "\boxed 5"
_TOKEN_END = re.compile(r"\\[)\]]")  # "\(\boxed 5\)": the math span ends the token
# a braced box up to its "{" (what _opening reads: blanks, at most one line break)
_BRACED_COMMAND = re.compile(r"\\(?:boxed|fbox)[ \t]*(?:\r?\n[ \t]*)?\{")
_SCAN_BUDGET = 65_536  # characters of per-box scanning before one pass matches all braces


def _is_command(text: str, i: int, cmd_len: int) -> bool:
    """The command at ``i`` is not the start of a longer one (``\\boxedfoo``, ``\\fboxsep``)."""
    after = i + cmd_len
    return after >= len(text) or not text[after].isalpha()


def _rfind_box(text: str, cmd: str, end: int) -> int:
    """Start of the last ``cmd`` (a box, not a longer command) lying within ``text[:end]``; -1 if none."""
    i = text.rfind(cmd, 0, end)
    while i >= 0 and not _is_command(text, i, len(cmd)):
        i = text.rfind(cmd, 0, i)
    return i


def _opening(text: str, after: int) -> tuple[int, bool]:
    """``(index, braced)`` for the command ending at ``after``: the index of its ``{``
    (spaces, tabs and one line break may come first), else where an unbraced token
    would start (spaces and tabs skipped, the line not left)."""
    k = _BLANKS.match(text, after).end()
    if text.startswith("{", k):
        return k, True
    m = k + 2 if text.startswith("\r\n", k) else k + 1 if text.startswith("\n", k) else -1
    if m >= 0:
        m = _BLANKS.match(text, m).end()
        if text.startswith("{", m):
            return m, True
    return k, False


def _box_partners(text: str) -> dict[int, int]:
    """The closing brace of every box's ``{`` that closes (one pass over the text's braces)."""
    opens = {m.end() - 1 for m in _BRACED_COMMAND.finditer(text)}
    partners: dict[int, int] = {}
    if not opens:
        return partners
    depth = 0
    stack: list[tuple[int, int]] = []  # (depth before it, index) of the open box braces
    for m in _BRACE_TOKEN.finditer(text, min(opens)):
        c = m.group()
        if c == "{":
            if m.start() in opens:
                stack.append((depth, m.start()))
            depth += 1
        elif c == "}" and depth:  # a "}" at depth 0 closes nothing
            depth -= 1
            if stack and stack[-1][0] == depth:
                partners[stack.pop()[1]] = m.start()
    return partners


class _Scanner:
    """Reads the boxes of one text; matches all its braces at once when per-box scans
    would cost more than one pass (so reading every box of a text stays linear)."""

    def __init__(self, text: str, max_chars: int) -> None:
        if max_chars < 0:
            raise ValueError(f"max_chars must be >= 0, got {max_chars}")
        self.text = text
        self.max_chars = max_chars
        self.budget = _SCAN_BUDGET + 4 * max_chars
        self.partners: dict[int, int] | None = None

    def _close(self, k: int) -> int:
        """Index of the brace closing the ``{`` at ``k``, -1 if none; beyond the cap only
        when the scan had to look further to tell "too long" from "never closed"."""
        text = self.text
        if self.partners is None and self.budget > 0:
            stop = min(len(text), k + self.max_chars + 2)
            self.budget -= stop - k
            depth = 0
            for m in _BRACE_TOKEN.finditer(text, k, stop):
                c = m.group()
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        return m.start()
            if stop == len(text):
                return -1  # the text ends inside the box
        if self.partners is None:
            self.partners = _box_partners(text)
        return self.partners.get(k, -1)

    def read(self, start: int, cmd_len: int) -> Box:
        text = self.text
        after = start + cmd_len
        k, braced = _opening(text, after)
        if braced:
            close = self._close(k)
            if close < 0:
                return Box(start, after, None, BOX_UNCLOSED)
            if close - k - 1 > self.max_chars:
                return Box(start, after, None, BOX_TOO_LONG)
            return Box(start, close + 1, text[k + 1 : close], None)
        cap = min(self.max_chars, MAX_TOKEN_CHARS)
        m = _TOKEN.match(text, k, min(len(text), k + cap + 2))  # +2: a "\)" right after the cap
        if m is None:
            return Box(start, after, None, BOX_NO_CONTENT)
        token = m.group()
        cut = _TOKEN_END.search(token)
        if cut:
            token = token[: cut.start()]
        if "}" in token:  # "{\boxed 5}": the group's brace ends the token
            depth = 0
            for b in _BRACE_TOKEN.finditer(token):
                c = b.group()
                if c == "{":
                    depth += 1
                elif c == "}":
                    if depth == 0:
                        token = token[: b.start()]
                        break
                    depth -= 1
        if len(token) > cap:
            return Box(start, after, None, BOX_TOO_LONG)
        content = token.rstrip(".,;:")  # "the answer is \boxed 5."
        if not content:
            return Box(start, after, None, BOX_NO_CONTENT)
        return Box(start, k + len(content), content, None)


def boxed_spans(text: str, *, max_chars: int = MAX_BOX_CHARS, before: int | None = None) -> Iterator[Box]:
    """Every box of ``text`` (see the module docstring), the last one first.

    Args:
        text: the text to scan.
        max_chars: the longest content a box may hold (longer: :data:`BOX_TOO_LONG`).
        before: only boxes whose command starts before this index.

    Lazy: reading the last box or two costs ``str.rfind`` and ``max_chars``; reading
    them all is linear in ``len(text)``.
    """
    scanner = _Scanner(text, max_chars)
    pos = len(text) if before is None else max(0, min(before, len(text)))
    boxed, fbox = BOX_COMMANDS
    b = _rfind_box(text, boxed, pos + len(boxed) - 1)
    f = _rfind_box(text, fbox, pos + len(fbox) - 1)
    while b >= 0 or f >= 0:
        if b > f:
            yield scanner.read(b, len(boxed))
            b = _rfind_box(text, boxed, b)
        else:
            yield scanner.read(f, len(fbox))
            f = _rfind_box(text, fbox, f)


def last_box(text: str, *, max_chars: int = MAX_BOX_CHARS, before: int | None = None) -> Box | None:
    """The last box of ``text`` (before ``before``), problem or not; None if there is none."""
    return next(boxed_spans(text, max_chars=max_chars, before=before), None)


def last_boxed(text: str, *, max_chars: int = MAX_BOX_CHARS) -> str | None:
    """The content of the last box of ``text``, unstripped; None when there is no box or
    the last one has a problem (never closed, too long, empty unbraced form)."""
    box = last_box(text, max_chars=max_chars)
    return box.content if box is not None else None


def box_at(text: str, start: int, *, max_chars: int = MAX_BOX_CHARS) -> Box | None:
    """The box whose command starts at ``start`` (None if no box command starts there),
    e.g. to read a box found with a small cap again with a larger one."""
    for cmd in BOX_COMMANDS:
        if text.startswith(cmd, start) and _is_command(text, start, len(cmd)):
            return _Scanner(text, max_chars).read(start, len(cmd))
    return None
