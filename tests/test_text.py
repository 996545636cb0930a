"""prolong.text: the reasoning-section split and the one ``\\boxed{}`` scanner every domain uses."""

from __future__ import annotations

import random
import time

import pytest

import prolong.text as text_mod
from prolong.envs.math.extract import extract_answer as math_extract_answer
from prolong.envs.math.extract import last_boxed as math_last_boxed
from prolong.envs.reasoning_gym.extract import extract_answer as rg_extract_answer
from prolong.envs.reasoning_gym.extract import extract_last_boxed as rg_last_boxed
from prolong.envs.stem.extract import extract_boxed as stem_last_boxed
from prolong.envs.stem.extract import final_answer as stem_final_answer
from prolong.text import (
    BOX_NO_CONTENT,
    BOX_TOO_LONG,
    BOX_UNCLOSED,
    MAX_TOKEN_CHARS,
    Box,
    box_at,
    boxed_spans,
    final_text,
    last_box,
    last_boxed,
    split_reasoning,
)


def test_split_reasoning():
    assert split_reasoning("<think>a</think>b</think>c") == ("<think>a</think>b", "c")
    assert split_reasoning("<think>a") == ("<think>a", None)
    assert final_text("plain") == "plain"
    # a section that reopens after the last </think> never closes: no final answer
    assert final_text("<think>a</think>The answer is 4.<think>or 5") is None
    assert final_text("<think>a</think>b<think>c</think>d") == "d"


# ----------------------------------------------------------------------------- the last box


@pytest.mark.parametrize(
    "text, content",
    [
        ("so \\boxed{5}.", "5"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\fbox{7} is it", "7"),
        ("\\boxed {1}", "1"),  # spaces before the brace
        ("\\boxed\t{1}", "1"),
        ("\\boxed\n{1}", "1"),  # one line break
        ("\\boxed\r\n  {1}", "1"),
        ("first \\boxed{4}, then \\boxed{5}", "5"),
        ("\\boxed{\\boxed{5}}", "5"),  # the inner command starts last
        ("\\boxed{}", ""),
        ("the set \\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces are content
        ("\\boxed{\\}}", "\\}"),
        ("\\boxed{x \\{ }", "x \\{ "),  # an escaped brace opens nothing
        ("\\boxed{a\\\\}", "a\\\\"),  # \\ is a line break, not an escape of the }
        ("\\boxed{\\begin{pmatrix}1\\\\2\\end{pmatrix}}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
        ("\\boxed{3} and then \\boxedfoo{4}", "3"),  # \boxedfoo is another command
        ("\\boxed{3} with \\fboxsep=2pt", "3"),
        ("\\\\boxed{1}", "1"),
        # the unbraced form: one token on the line
        ("So the answer is \\boxed 5.", "5"),
        ("\\boxed5", "5"),
        ("$\\boxed 5$", "5"),
        ("\\(\\boxed 5\\)", "5"),
        ("{\\boxed 5}", "5"),
        ("\\boxed 2^{10},", "2^{10}"),
        ("\\boxed{3} \\boxed -7; done", "-7"),
    ],
)
def test_last_box_content(text, content):
    box = last_box(text)
    assert box is not None and box.problem is None
    assert box.content == content == last_boxed(text)
    piece = text[box.start : box.end]  # the box itself: its command to its "}" or its token
    commands = ("\\boxed", "\\fbox")
    braced = piece.endswith("{" + content + "}") and piece[: len(piece) - len(content) - 2].rstrip() in commands
    assert braced or (piece.endswith(content) and piece[: len(piece) - len(content)].rstrip() in commands)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("so we get \\boxed{\\frac{1}{2}", BOX_UNCLOSED),
        ("\\boxed{A} and then \\boxed{B", BOX_UNCLOSED),  # the last box counts, broken or not
        ("\\boxed{1} \\boxed{x \\}", BOX_UNCLOSED),  # \} does not close it
        ("\\boxed{5} \\boxed", BOX_NO_CONTENT),
        ("\\boxed{5} \\boxed $x$", BOX_NO_CONTENT),
        ("\\boxed{5} \\boxed\n5", BOX_NO_CONTENT),  # the unbraced form stays on its line
        ("\\boxed{5} \\boxed\n\n{5}", BOX_NO_CONTENT),  # one line break, not a paragraph
        ("\\boxed{5} \\boxed .", BOX_NO_CONTENT),
        ("\\boxed{5} {\\boxed}", BOX_NO_CONTENT),
        ("\\boxed " + "9" * (MAX_TOKEN_CHARS + 1), BOX_TOO_LONG),
    ],
)
def test_last_box_problems(text, problem):
    box = last_box(text)
    assert box is not None and box.content is None and box.problem == problem
    assert last_boxed(text) is None
    assert text.startswith(("\\boxed", "\\fbox"), box.start)


def test_no_box():
    assert last_box("no box here, \\boxedfoo and \\fboxsep") is None
    assert last_boxed("") is None
    assert list(boxed_spans("x")) == []


def test_cap_tells_too_long_from_never_closed():
    assert last_box("\\boxed{12345}", max_chars=5).content == "12345"
    assert last_box("\\boxed{123456}", max_chars=5).problem == BOX_TOO_LONG
    assert last_box("\\boxed{123456} and more", max_chars=5).problem == BOX_TOO_LONG
    # the brace closes only far beyond the cap, or never: text after it either way
    assert last_box("\\boxed{" + "x" * 50 + "} tail", max_chars=5).problem == BOX_TOO_LONG
    assert last_box("\\boxed{{" + "x" * 50 + "} tail", max_chars=5).problem == BOX_UNCLOSED
    assert last_box("\\boxed{" + "{}" * 50 + "} tail", max_chars=5).problem == BOX_TOO_LONG
    assert last_box("\\boxed{" + "\\}" * 50 + "} tail", max_chars=5).problem == BOX_TOO_LONG
    assert last_box("\\boxed{" + "\\}" * 50 + " tail", max_chars=5).problem == BOX_UNCLOSED
    # a long box read again with a larger cap (what math does for one long integer)
    text = "\\boxed{" + "9" * 3000 + "}"
    assert last_box(text, max_chars=1000).problem == BOX_TOO_LONG
    assert box_at(text, 0, max_chars=5000).content == "9" * 3000
    assert box_at(text, 1) is None and box_at("\\boxedfoo{1}", 0) is None


def test_boxed_spans_last_first_and_before():
    text = "\\boxed{1} \\fbox{2} \\boxed 3 \\boxed{4"
    boxes = list(boxed_spans(text))
    assert [b.content for b in boxes] == [None, "3", "2", "1"]
    assert [b.start for b in boxes] == sorted((b.start for b in boxes), reverse=True)
    assert all(isinstance(b, Box) for b in boxes)
    assert [b.content for b in boxed_spans(text, before=boxes[1].start)] == ["2", "1"]
    assert [b.content for b in boxed_spans(text, before=boxes[1].start + 1)] == ["3", "2", "1"]
    assert list(boxed_spans(text, before=0)) == []


# ------------------------------------------------------- the fast paths agree with a plain scan


def _plain_boxes(text: str, max_chars: int) -> list[tuple[int, str | None, str | None]]:
    """The scanner's rules written the slow, obvious way: (start, content, problem), last first."""
    starts = []
    for cmd in ("\\boxed", "\\fbox"):
        i = text.find(cmd)
        while i >= 0:
            after = i + len(cmd)
            if not (after < len(text) and text[after].isalpha()):
                starts.append((i, after))
            i = text.find(cmd, i + 1)
    out = []
    for start, after in sorted(starts, reverse=True):
        k = after
        while k < len(text) and text[k] in " \t":
            k += 1
        brace = k if text[k : k + 1] == "{" else -1
        if brace < 0 and text[k : k + 1] == "\n":
            m = k + 1
            while m < len(text) and text[m] in " \t":
                m += 1
            brace = m if text[m : m + 1] == "{" else -1
        if brace >= 0:
            depth, i, close = 0, brace, -1
            while i < len(text):
                if text[i] == "\\" and text[i + 1 : i + 2] in ("{", "}", "\\") and i + 1 < len(text):
                    i += 2
                    continue
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                if depth == 0:
                    close = i
                    break
                i += 1
            if close < 0:
                out.append((start, None, BOX_UNCLOSED))
            elif close - brace - 1 > max_chars:
                out.append((start, None, BOX_TOO_LONG))
            else:
                out.append((start, text[brace + 1 : close], None))
            continue
        token = ""
        while k < len(text) and not text[k].isspace() and text[k] != "$" and text[k : k + 2] not in ("\\)", "\\]"):
            token += text[k]
            k += 1
        depth, i, cut = 0, 0, len(token)
        while i < len(token):
            if token[i] == "\\" and token[i + 1 : i + 2] in ("{", "}", "\\"):
                i += 2
                continue
            if token[i] == "{":
                depth += 1
            elif token[i] == "}":
                if depth == 0:
                    cut = i
                    break
                depth -= 1
            i += 1
        content = token[:cut].rstrip(".,;:")
        if cut > min(max_chars, MAX_TOKEN_CHARS):
            out.append((start, None, BOX_TOO_LONG))
        elif not content:
            out.append((start, None, BOX_NO_CONTENT))
        else:
            out.append((start, content, None))
    return out


_PIECES = ["\\boxed", "\\fbox", "{", "{", "}", "}", "\\{", "\\}", "\\\\", " ", "\n", "x", "5", "$", ".", "foo", "\\)"]


@pytest.mark.parametrize("budget", [65_536, 0])  # 0: every box is read from the one-pass brace table
def test_scanner_agrees_with_a_plain_scan_on_random_texts(budget, monkeypatch):
    monkeypatch.setattr(text_mod, "_SCAN_BUDGET", budget)
    rng = random.Random(1234)
    for _ in range(3000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 40)))
        max_chars = rng.choice([0, 3, 8, 1000])
        got = [(b.start, b.content, b.problem) for b in boxed_spans(text, max_chars=max_chars)]
        assert got == _plain_boxes(text, max_chars), (text, max_chars)


# ------------------------------------------------------------------------- bounded on 1 MB


@pytest.mark.parametrize(
    "text",
    [
        "\\boxed{" * 150_000,
        "\\boxed{" * 70_000 + "}" * 70_000,
        "\\boxed " * 150_000,
        "\\boxed\\" * 150_000,
        "\\boxed{" + "{" * 1_000_000 + " tail",
        "\\boxed{" + "x" * 1_000_000 + "} tail",
        " ".join(f"\\boxed{{{i}}}" for i in range(100_000)),
        ("\\boxed{" + "a" * 30_000 + "} ") * 30,
        "\\boxedfoo" * 120_000,
        "\\boxed" + " " * 1_000_000 + "{1}",
    ],
    ids=lambda t: repr(t[:16]),
)
def test_reading_every_box_of_a_megabyte_is_linear(text):
    # a large cap: a scan of up to max_chars per box would take minutes here
    t0 = time.perf_counter()
    n = sum(1 for _ in boxed_spans(text, max_chars=20_000))
    assert time.perf_counter() - t0 < 6.0
    assert n == text.count("\\boxed") - text.count("\\boxedfoo")


# ------------------------------------------------------------ the domains read the same box

TRICKY = [
    ("\\boxed{3} then \\boxed{5}", "5"),
    ("\\boxed{\\boxed{5}}", "5"),
    ("\\boxed{4} \\boxedfoo{7}", "4"),
    ("\\fbox{4} \\fboxsep", "4"),
    ("\\boxed{3} so \\fbox{6}", "6"),
    ("\\boxed{3} so \\boxed 5", "5"),  # reasoning_gym used to skip the unbraced form
    ("\\boxed{3} so \\boxed {8}", "8"),
    ("\\boxed{3} so \\boxed\n{8}", "8"),
    ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
    ("\\boxed{x \\{ }", "x \\{"),  # stem and reasoning_gym used to count \{ as a brace
    ("\\boxed{\\}}", "\\}"),
    ("\\boxed{1} \\boxed{2", None),  # a broken last box: no falling back to the one before
    ("\\boxed{1} \\boxed{", None),
    ("\\boxed{1} \\boxed", None),
    ("\\boxed{ 12 }", "12"),
]


@pytest.mark.parametrize("text, expected", TRICKY)
def test_the_domains_agree_on_the_last_box(text, expected):
    def strip(s):
        return s.strip() if s is not None else None

    assert strip(last_boxed(text)) == expected
    assert math_last_boxed(text) == expected
    assert strip(stem_last_boxed(text)) == expected
    assert strip(rg_last_boxed(text)) == expected


@pytest.mark.parametrize("text, expected", [(t, e) for t, e in TRICKY if e])
def test_the_domains_answer_with_the_last_box(text, expected):
    assert math_extract_answer(text).answer == expected
    assert stem_final_answer(text).text.strip() == expected
    assert rg_extract_answer(text) == (expected, "boxed")


def test_domain_policies_stay_in_the_domains():
    # math joins boxes of one statement; stem calls two boxes a hedge; the scanner reads one
    assert math_extract_answer("So $x = \\boxed{1}$ or $x = \\boxed{2}$.").answer == "1, 2"
    assert stem_final_answer("\\boxed{A} or \\boxed{C}").text == "A or C"
    assert rg_extract_answer("\\boxed{A} or \\boxed{C}") == ("C", "boxed")
    # math repairs "\boxed" typed in a non-raw Python string ("\b" is a backspace)
    assert math_extract_answer("\x08oxed{3}").answer == "3"
    # a box too long for math's cap is too long, unless it is one integer
    assert math_extract_answer("\\boxed{" + "1+" * 600 + "1}").too_long
    assert math_extract_answer("\\boxed{" + "7" * 5000 + "}").answer == "7" * 5000
    # no real box: math falls back to the answer line
    assert math_extract_answer("\\boxedfoo{1}\nAnswer: 7").answer == "7"
