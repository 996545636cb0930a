"""Reading the final answer out of a model's response.

The rule is "the model must say what its final answer is": the last ``\\boxed{...}``
(or ``\\fbox{...}``, joined with the boxes right before it that continue the same
statement, unless a "Final Answer: ..." line follows it), else a final "Answer: ..." /
"the answer is ..." / "final answer is ..." statement near the end (display math on the
next lines included), else a markdown-bold or ``####`` last line, else a response that is
nothing but one short expression or one short line with one math span, else a last
sentence that concludes with one value ("Therefore, the area is $12$."; not hedged,
negated, ambiguous or cut off). Nothing is ever guessed from the middle of the text (no
"last number in the response").

Caps (documented in docs/math.md):

* only the last :data:`TAIL_CHARS` characters of a response are searched;
* a boxed answer longer than :data:`MAX_ANSWER_CHARS` (or never closed) is not an answer;
* reasoning models: when ``</think>`` is present only the text after the last one is
  read; a ``<think>`` that is never closed means the model did not finish (no answer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from prolong.text import BOX_NO_CONTENT, BOX_TOO_LONG, BOX_UNCLOSED, UNCLOSED_REASONING, Box, box_at, boxed_spans, final_text

__all__ = [
    "Extraction",
    "extract_answer",
    "extract_boxed",
    "last_boxed",
    "strip_math_delimiters",
    "TAIL_CHARS",
    "MAX_ANSWER_CHARS",
]

TAIL_CHARS = 200_000  # the final answer is at the end: a 1 MB response is read from its last 200k chars
MAX_ANSWER_CHARS = 1_000  # a longer "final answer" is not one
MAX_NUMBER_CHARS = 100_000  # ...unless it is one integer: two identical long integers are equal
MAX_JOINED_BOXES = 10  # "\boxed{1} and \boxed{2}" joins at most this many boxes
ANSWER_LINE_WINDOW = 3  # an "Answer:" statement must be on one of the last 3 non-empty lines
BARE_ANSWER_CHARS = 50  # a response that is only a short expression is its own answer
_PROSE = re.compile(r"[a-zA-Z]{3,}")
SHORT_RESPONSE_CHARS = 300  # a one-line response this short with one math span states that span
_NUMBER_WORDS = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?\s*%?(?:\s+[a-zA-Z]+){1,2}")
_WHOLE_SPAN = re.compile(r"\$\$[^$]+\$\$|\$[^$]+\$|\\\((?:(?!\\\)).)+\\\)|\\\[(?:(?!\\\]).)+\\\]")
_MATH_SPANS = re.compile(r"(\$\$[^$]+\$\$|(?<!\$)\$[^$]+\$(?!\$)|\\\((?:(?!\\\)).)+\\\)|\\\[(?:(?!\\\]).)+\\\])")

# Control characters other than tab/newline, and what non-raw Python strings make of
# LaTeX commands ("\boxed" -> backspace + "oxed", "\frac" -> form feed + "rac").
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MANGLED = {
    "\x08oxed": "\\boxed",
    "\x0cbox": "\\fbox",
    "\x0crac": "\\frac",
    "\x09ext": "\\text",
    "\x09imes": "\\times",
    "\x0bec": "\\vec",
}
_MANGLED_RE = re.compile("|".join(re.escape(k) for k in _MANGLED))


@dataclass(frozen=True)
class Extraction:
    """The final answer read from a response.

    Attributes:
        answer: the answer text (None when the response states no final answer).
        method: how it was found: ``boxed``, ``answer line``, ``bold line``, ``#### line``.
        problem: why there is no answer (None when there is one).
    """

    answer: str | None
    method: str | None = None
    problem: str | None = None

    @property
    def too_long(self) -> bool:
        """The response states an answer, but one longer than MAX_ANSWER_CHARS."""
        return self.problem is not None and "longer than" in self.problem


_BACKSLASHES = re.compile(r"\\+")
_DOUBLED_KNOWN = re.compile(
    r"(?<!\\)\\\\(?=(?:[dt]?frac|sqrt|text|mathrm|mathbf|boxed|fbox|pi|cdot|times|div|pm|mp|infty|leq?|geq?|neq?|circ|"
    r"left|right|sin|cos|tan|cot|sec|csc|log|ln|exp|alpha|beta|gamma|theta|lambda|mu|sigma|omega|phi|cup|cap|emptyset|"
    r"overline|ldots|cdots|dots|binom|angle)(?![a-zA-Z]))"
)
_DOUBLED_COMMAND = re.compile(r"\\\\[a-zA-Z]")


def undouble_backslashes(s: str) -> str:
    """``\\\\frac{1}{2}`` -> ``\\frac{1}{2}`` when every backslash of ``s`` is doubled and
    one of them starts a command (LaTeX escaped twice on its way through a data pipeline:
    a gold in a data file, or a response that went through ``json.dumps`` twice)."""
    if "\\\\" not in s or not _DOUBLED_COMMAND.search(s):
        return s
    if any(len(run) % 2 for run in _BACKSLASHES.findall(s)):
        # a single backslash somewhere: \\ is LaTeX's line break (matrices); outside a
        # matrix, \\ right before a known command is a doubled backslash ("\\dfrac{1}{2} +\frac{1}{72}")
        if "\\begin" in s or "&" in s:
            return s
        return _DOUBLED_KNOWN.sub(r"\\", s)
    return s.replace("\\\\", "\\")


def clean_text(text: str) -> str:
    """Repair mangled LaTeX escapes and drop control characters (NUL included)."""
    if _MANGLED_RE.search(text):
        text = _MANGLED_RE.sub(lambda m: _MANGLED[m.group(0)], text)
    return _CONTROL.sub("", text)


# Boxes are read by the scanner every domain shares (prolong.text.boxed_spans); math's
# caps: MAX_ANSWER_CHARS, or MAX_NUMBER_CHARS for a box holding one integer.
_LONG_INTEGER = re.compile(r"\s*([+-]?\d[\d,]*)\s*")
_NO_BOX = "no \\boxed answer"
_BOX_PROBLEMS = {
    BOX_UNCLOSED: "the last \\boxed{ is never closed (unbalanced braces)",
    BOX_TOO_LONG: f"the boxed answer is longer than {MAX_ANSWER_CHARS} characters",
    BOX_NO_CONTENT: "\\boxed without content",
}


def _math_box(text: str, box: Box) -> Box:
    """``box`` under math's caps: one too long for MAX_ANSWER_CHARS that holds a single
    integer of up to MAX_NUMBER_CHARS characters is an answer (the integer)."""
    if box.problem != BOX_TOO_LONG:
        return box
    big = box_at(text, box.start, max_chars=MAX_NUMBER_CHARS + 10)
    m = _LONG_INTEGER.fullmatch(big.content) if big is not None and big.content is not None else None
    return big._replace(content=m.group(1)) if m else box


def _boxes(text: str) -> Iterator[Box]:
    """The boxes of ``text`` under math's caps, the last one first."""
    for box in boxed_spans(text, max_chars=MAX_ANSWER_CHARS):
        yield _math_box(text, box)


# Text allowed between two boxes that together state one answer: "\boxed{1}, \boxed{2}",
# "$x = \boxed{1}$ or $x = \boxed{2}$".
_JOIN_DELIMS = r"(?:\s|\$|\\[()\[\]]|\\[,;: ]|\\q?quad(?![a-zA-Z])|\\\\|[,;&]|\*\*)*"
_JOINABLE = re.compile(
    r"^" + _JOIN_DELIMS + r"(?:(?:and|or|\\text\{\s*(?:and|or)\s*\}|\\(?:text|mathrm)\{\s*,?\s*(?:and|or)?\s*\})" + _JOIN_DELIMS + r")?"
    r"(?:[a-zA-Z](?:_\{?\w+\}?)?\s*=\s*)?" + _JOIN_DELIMS + r"$"
)


# Part labels between the boxes of a multi-part answer: "\boxed{3} \text{ for part (a) and }
# \boxed{1}", "(a) \boxed{3}\n(b) \boxed{1}", "**Part (b):** \boxed{1}".
_PART_LABEL = re.compile(
    r"(?:\bfor\s+)?(?:\b[Pp]art\s*)?\((?:[a-hA-H]|i{1,3}|iv|vi{0,3}|[1-9])\)\s*[:.]?"
    r"|(?:\bfor\s+)?\b[Pp]art\s+(?:[a-hA-H]|[1-9])\b\s*[:.]?"
)


# "\boxed{1} papers and \boxed{2} bins": a unit word, then "and"/"or"
_UNIT_AND = re.compile(r"\s*\$?\s*(?:\\text\{\s*[A-Za-z]{1,15}\s*\}|[A-Za-z]{1,15})\s*,?\s*(?:and|or)\s*\$?\s*")


def _joinable(between: str) -> bool:
    """Whether the text between two boxes continues one answer (see _JOINABLE)."""
    if len(between) <= 40 and (_JOINABLE.match(between) or _UNIT_AND.fullmatch(between)):
        return True
    if len(between) > 80:
        return False
    rest = re.sub(r"\\text(?:bf|rm)?\s*\{([^{}]*)\}", r" \1 ", between)
    if not _PART_LABEL.search(rest):
        return False
    rest = re.sub(r"\b(?:for|and)\b", " ", _PART_LABEL.sub(" ", rest))
    return len(rest) <= 40 and bool(_JOINABLE.match(rest))


def joined_gold_boxes(text: str) -> str | None:
    """A gold written as several boxes (``\boxed{1} papers and \boxed{2} bins``,
    ``$\boxed{35} ++ \boxed{4}$``): their contents joined with ", " when every text between
    two of them continues one answer or holds no letters; None otherwise."""
    boxes = []
    for box in _boxes(text):
        if box.content is None or len(boxes) == 20:
            return None
        boxes.append(box)
    if len(boxes) < 2:
        return None
    boxes.reverse()
    for prev, nxt in zip(boxes, boxes[1:]):
        between = text[prev.end : nxt.start]
        if not (_joinable(between) or (len(between) <= 20 and not re.search(r"[A-Za-z]", between))):
            return None
    return ", ".join(b.content.strip() for b in boxes)


def extract_boxed(text: str) -> Extraction:
    """The last boxed answer of ``text`` (joined with boxes right before it that
    continue the same statement, e.g. ``x = \\boxed{1}`` or ``x = \\boxed{2}``)."""
    boxes = _boxes(text)
    last = next(boxes, None)
    if last is None:
        return Extraction(None, None, _NO_BOX)
    if last.content is None:
        return Extraction(None, "boxed", _BOX_PROBLEMS[last.problem])
    parts = [last.content]
    cursor = last.start
    for _ in range(MAX_JOINED_BOXES - 1):
        prev = next(boxes, None)
        if prev is None or cursor - prev.start > MAX_ANSWER_CHARS + 100:
            break
        if prev.content is None or prev.end > cursor:
            break
        between = text[prev.end : cursor]
        if not _joinable(between):
            break
        if prev.content != parts[-1]:
            parts.append(prev.content)
        cursor = prev.start
    answer = ", ".join(p.strip() for p in reversed(parts))
    return Extraction(answer.strip(), "boxed", None)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{}`` in ``text`` (e.g. a MATH solution), or None."""
    box = next(_boxes(text), None)
    return box.content.strip() if box is not None and box.content is not None else None


# ------------------------------------------------------------------ "Answer:" statements

_ANSWER_PHRASES = re.compile(
    r"(?:final\s+answer\s*(?:is|:|：|=)|\banswers?\s+(?:is|are|would\s+be|should\s+be)\b\s*:?|"
    r"\banswer\s*(?:is)?\s*[:：=]|\banswer\s*\*\*\s*[:：]|^\W*answer\s*(?=\$|\\\(|\\\[))",
    re.IGNORECASE,
)
_END_TOKENS = re.compile(r"<\|im_end\|>|<\|im_start\|>|<\|endoftext\|>|<\|eot_id\|>|<\|end\|>|<\|user\|>|</s>")
_ANSWER_HEADER = re.compile(r"^[#*_\s]*(?:final\s+)?answer[\s*_:：]*$", re.IGNORECASE)
_HOPE = re.compile(r"\s*I hope it is correct\.?\s*$", re.IGNORECASE)


def strip_math_delimiters(s: str) -> str:
    """``$x$``, ``\\(x\\)``, ``\\[x\\]``, ``**x**`` -> ``x`` (repeatedly)."""
    for _ in range(6):
        t = s.strip()
        if t.startswith("**") and t.endswith("**") and len(t) > 4:
            t = t[2:-2]
        elif t.startswith("__") and t.endswith("__") and len(t) > 4:
            t = t[2:-2]
        elif t.startswith("$$") and t.endswith("$$") and len(t) > 4:
            t = t[2:-2]
        elif t.startswith("$") and t.endswith("$") and len(t) > 2:
            t = t[1:-1]
        elif t.startswith("\\(") and t.endswith("\\)"):
            t = t[2:-2]
        elif t.startswith("\\[") and t.endswith("\\]"):
            t = t[2:-2]
        elif t.startswith("`") and t.endswith("`") and len(t) > 2:
            t = t.strip("`")
        if t == s.strip():
            return t
        s = t
    return s.strip()


def _first_math_span(s: str) -> str | None:
    """The first $...$ (or \\(...\\)) span of ``s``, if any."""
    m = re.search(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", s)
    if not m:
        return None
    return next(g for g in m.groups() if g is not None)


def _cut_statement(rest: str) -> str:
    """The answer part of what follows "Answer:" on its line."""
    rest = _HOPE.sub("", rest.strip())
    rest = rest.strip().lstrip(":：").strip()
    if rest.startswith(("**", "__")) and rest[2:3] in (":", "：", " ") and rest.count(rest[:2]) % 2:
        rest = rest[2:].lstrip(":： ")  # "**Answer:** 5" leaves "** 5"
    if rest.endswith(("**", "__")) and rest.count(rest[-2:]) % 2:
        rest = rest[:-2].rstrip()  # "**Answer: 5**" leaves "5**"
    span = _first_math_span(rest)
    if span is not None and rest.lstrip("*_ ").startswith(("$", "\\(", "\\[")):
        return span
    # cut at the end of the sentence: ". " followed by a word, or a final period; or at
    # an explanation: "3, since 1 + 2 = 3"
    m = re.search(r"(?<!\d)\.(?:\s|$)|(?<=\d)\.(?:\s+[A-Z]|\s*$)|,?\s+(?:since|because|as|which|where|so that)\s", rest)
    if m:
        rest = rest[: m.start()]
    rest = strip_math_delimiters(rest.strip().rstrip(".").strip())
    return _answer_in_sentence(rest)


_WORDY = re.compile(r"(?:\b[a-zA-Z]{2,}\b[^$]*){3,}")
_NUMBER_TOKEN = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?%?(?![\w.])")


def _answer_in_sentence(rest: str) -> str:
    """"The volume of $ABCD$ is 120" -> "120"; "Jane started 3 hours ago" -> "3"."""
    plain = re.sub(r"\$[^$]*\$", " ", rest)
    if not _WORDY.match(plain):
        return rest
    m = list(re.finditer(r"\b(?:is|are|equals|was|be)\s+(?:equal\s+to\s+|approximately\s+|about\s+)?", rest))
    if m:
        tail = rest[m[-1].end() :].strip()
        tail_plain = re.sub(r"\$[^$]*\$", " ", tail)
        if tail and not _WORDY.match(tail_plain):
            return strip_math_delimiters(tail)
    spans = re.findall(r"(?<!\\)\$([^$]+)(?<!\\)\$", rest)
    numbers = _NUMBER_TOKEN.findall(plain)
    if len(spans) == 1 and not numbers:
        return spans[0].strip()
    if len(numbers) == 1 and not spans:
        return numbers[0]
    return rest


def _nonempty_lines(text: str) -> list[tuple[int, str]]:
    """(start offset, line) of the non-empty lines of ``text``."""
    out = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, line))
        pos += len(line) + 1
    return out


_DISPLAY_BLOCK = re.compile(r"\$\$[^$]{0,2000}?\$\$|\\\[(?:[^\\]|\\(?!\])){0,2000}?\\\]")
_LONG_NUMBER_LINE = re.compile(r"[\s:*$]*[+-]?\d[\d,]*[\s.*$]*")
STATEMENT_TAIL_CHARS = 6_000  # display blocks spanning lines are joined in this tail


def _join_display_blocks(text: str) -> str:
    """``$$\n x \n$$`` and ``\\[\n x \n\\]`` spanning several lines become one line, so that
    "Final Answer:" followed by display math on the next lines reads it."""
    if "\n" not in text or ("$$" not in text and "\\[" not in text):
        return text
    head, tail = text[:-STATEMENT_TAIL_CHARS], text[-STATEMENT_TAIL_CHARS:]
    tail = _DISPLAY_BLOCK.sub(lambda m: m.group(0).replace("\n", " ") if len(m.group(0)) <= 2004 else m.group(0), tail)
    return head + tail


def _too_long(answer: str) -> bool:
    return len(answer) > MAX_ANSWER_CHARS and not (
        len(answer) <= MAX_NUMBER_CHARS and _LONG_NUMBER_LINE.fullmatch(answer)
    )


def extract_answer_statement(text: str) -> Extraction:
    """A final "Answer: ..." / "The answer is ..." statement on one of the last lines."""
    text = _join_display_blocks(text)
    lines = _nonempty_lines(text)
    if not lines:
        return Extraction(None, None, "empty response")
    window = lines[-ANSWER_LINE_WINDOW:]
    for idx in range(len(window) - 1, -1, -1):
        _, line = window[idx]
        matches = list(_ANSWER_PHRASES.finditer(line))
        if not matches:
            continue
        rest = line[matches[-1].end() :]
        if len(rest) > 4 * MAX_ANSWER_CHARS and _too_long(rest):
            return Extraction(None, "answer line", f"the stated answer is longer than {MAX_ANSWER_CHARS} characters")
        if not strip_math_delimiters(rest.strip(" :：*")) and idx + 1 < len(window):
            rest = window[idx + 1][1]  # "The final answer is:\n$$42$$"
        answer = _cut_statement(rest)
        answer = strip_math_delimiters(answer)
        if answer:
            if _too_long(answer):
                return Extraction(None, "answer line", f"the stated answer is longer than {MAX_ANSWER_CHARS} characters")
            return Extraction(answer, "answer line", None)
    # "**Final Answer**" / "## Answer" on its own line, the answer on the next one
    for idx in range(len(window) - 2, -1, -1):
        if _ANSWER_HEADER.match(window[idx][1].strip()):
            answer = strip_math_delimiters(_cut_statement(window[idx + 1][1]))
            if answer and len(answer) <= MAX_ANSWER_CHARS:
                return Extraction(answer, "answer line", None)
    last = window[-1][1].strip()
    m = re.fullmatch(r"#{4}\s*(.+)", last)
    if m:
        return Extraction(strip_math_delimiters(m.group(1).strip().rstrip(".")), "#### line", None)
    m = re.fullmatch(r"(\*\*|__)(.+?)\1\.?", last)
    if m and len(m.group(2)) <= 200 and ("*" not in m.group(2)):
        return Extraction(strip_math_delimiters(m.group(2).strip().rstrip(".")), "bold line", None)
    # the whole response is one short expression ("8", "$\frac12$", "28 percent"): it is the answer
    if len(lines) == 1:
        bare = _bare_answer(last)
        if bare:
            return Extraction(bare, "bare answer", None)
    if len(lines) == 1 and len(last) <= SHORT_RESPONSE_CHARS:
        # the whole response is one math span, or one short sentence with one math span:
        # "$\frac{1}{3} \text{meters}$", "Therefore $x \geq 5$ is the solution."
        whole = last.strip().rstrip(".").strip()
        if _WHOLE_SPAN.fullmatch(whole):
            return Extraction(strip_math_delimiters(whole), "bare answer", None)
        spans = _MATH_SPANS.findall(last)
        if len(spans) == 1 and last.count("$") <= 4:
            span = strip_math_delimiters(spans[0])
            if span:
                return Extraction(span, "sentence", None)
    concluded = _conclusion_answer(last, one_line=len(lines) == 1)
    if concluded:
        return Extraction(concluded, "conclusion", None)
    return Extraction(None, None, "no final answer (no \\boxed{} and no 'Answer:' line at the end)")


_UNIT_SUFFIX = r"(?:\s*(?:%|\\%|€|£|¥|\\\$|\$))?(?:\s*[a-zA-Z]+(?:\^?[23²³])?\.?){0,2}"
_SHORT_NUMBER = re.compile(r"(?:\\\$|\$)?\s*[+-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?" + _UNIT_SUFFIX)


def _bare_answer(line: str) -> str | None:
    """A one-line response that is nothing but an answer: ``8``, ``$\\frac12$``,
    ``28 percent``, ``\\text{odd}``, ``17\\text{ cm}``, a formula of up to 300 characters
    without words, or one word (``odd``)."""
    if len(line) > SHORT_RESPONSE_CHARS:
        return None
    bare = strip_math_delimiters(line.strip().rstrip("."))
    if not bare:
        return None
    if len(line) <= BARE_ANSWER_CHARS and (_NUMBER_WORDS.fullmatch(bare) or re.fullmatch(r"[A-Za-z]{1,20}", bare)):
        return bare
    if "$" in bare:  # several math spans with text between them: a sentence
        return None
    words = re.sub(r"\\(?:text|textbf|mathrm|mbox)\s*\{[^{}]*\}|\\(?:begin|end)\s*\{[a-zA-Z*]+\}", " ", bare)  # \text{odd}, 17\text{ cm}
    if _PROSE.search(re.sub(r"\\[a-zA-Z]+|(?<![A-Za-z])(?:and|or)(?![A-Za-z])", " ", words)):
        return None  # "1, 2, and 3" is an answer; "I think it is 8" is not
    return bare


# A final sentence that states the answer without "answer": "Therefore, the probability
# that Alice wins is 2/3." (the last sentence of the response only; see docs/math.md).
_CONCLUSION = re.compile(
    r"(?<![A-Za-z])(?:Therefore|Thus|Hence|So|Consequently|In conclusion|In summary|In total|Finally|Altogether|As a result)\b,?\s*"
)
_COPULA_WORDS = r"(?<![A-Za-z'])(?:is|are|was|were|equals|equal\s+to|be|becomes|gives|makes|totals|it's|of|by)(?:\s+(?:exactly|approximately|about|equal\s+to))?"
_COPULA = re.compile(_COPULA_WORDS + r"\s+(?=\S)", re.IGNORECASE)
_ENDS_WITH_COPULA = re.compile(r"(?:" + _COPULA_WORDS + r"|[=:])\s*$", re.IGNORECASE)
_HEDGE = re.compile(r"(?<![A-Za-z])(?:maybe|perhaps|might|could|guess|think|unsure|if|suppose|assume)(?![A-Za-z])", re.IGNORECASE)
_NEGATION = re.compile(r"(?<![A-Za-z])(?:not|never|cannot|no)(?![A-Za-z])|n't(?![A-Za-z])", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<!\d)[.!?]\s+(?=[A-Z(])|(?<=\d)\.\s+(?=[A-Z])")


def _conclusion_answer(line: str, one_line: bool) -> str | None:
    """The answer of a last sentence such as "Therefore, the area is $12$." or "Thus, there
    are 12 ways." (or, for a one-line response, "the number is 1,000.99")."""
    hoped = bool(_HOPE.search(line))
    line = _HOPE.sub("", line).strip()
    if not line or len(line) > 4 * MAX_ANSWER_CHARS:
        return None
    if not (one_line or hoped or re.search(r"(?:[.!]|\$|\\\]|\\\))\s*$", line)):
        return None  # a sentence cut off (a truncated response) states nothing
    starts = list(_CONCLUSION.finditer(line))
    if starts:
        sentence = line[starts[-1].end() :]
    elif one_line and len(line) <= SHORT_RESPONSE_CHARS:
        breaks = list(_SENTENCE_BREAK.finditer(line))
        sentence = line[breaks[-1].end() :] if breaks else line
    else:
        return None
    sentence = sentence.strip().rstrip(".!").strip()
    if not sentence or _SENTENCE_BREAK.search(sentence) or len(sentence) > SHORT_RESPONSE_CHARS:
        return None  # "Therefore x = 5. Then we check ...": not the last sentence
    if _HEDGE.search(sentence):
        return None  # "I think it is 8", "if x = 2 then ..."
    spans = list(_MATH_SPANS.finditer(sentence))
    if spans:
        last_span = spans[-1]
        if not sentence[last_span.end() :].strip(" .,;:!") and _ENDS_WITH_COPULA.search(sentence[: last_span.start()]):
            return strip_math_delimiters(last_span.group(0)) or None  # "... is $(7, 6)$"
        plain = _MATH_SPANS.sub(" ", sentence)
        if len(spans) == 1 and not re.search(r"\d", plain) and not _NEGATION.search(plain):
            return strip_math_delimiters(spans[0].group(0)) or None  # "Thus $x = 5$ is the solution"
        return None
    copulas = list(_COPULA.finditer(sentence))
    if copulas:  # "... which is 1,000.99", "the probability that Alice wins is 2/3"
        tail = sentence[copulas[-1].end() :].strip()
        if _SHORT_NUMBER.fullmatch(tail) or (len(tail) <= BARE_ANSWER_CHARS and not _PROSE.search(re.sub(r"\\[a-zA-Z]+", " ", tail))):
            return tail
    if _NEGATION.search(sentence):
        return None
    numbers = _NUMBER_TOKEN.findall(sentence)  # "Thus, there are 12 ways to seat them"
    if len(numbers) == 1 and not re.search(r"\d", _NUMBER_TOKEN.sub(" ", sentence)):
        return numbers[0]
    return None


def extract_answer(response: str) -> Extraction:
    """The final answer of a model response (see the module docstring for the rules)."""
    if not isinstance(response, str):
        return Extraction(None, None, f"the response is not text ({type(response).__name__})")
    text = response
    end = _END_TOKENS.search(text, 1)
    if end:  # a chat template's end token leaked in: the response stops there
        text = text[: end.start()]
    final = final_text(text)  # the one reasoning-section policy (prolong.text)
    if final is None:
        return Extraction(None, None, UNCLOSED_REASONING)
    text = final
    if len(text) > TAIL_CHARS:
        text = text[-TAIL_CHARS:]
    text = undouble_backslashes(clean_text(text))
    if not text.strip():
        return Extraction(None, None, "empty response")
    if "\\boxed" in text or "\\fbox" in text:
        ex = extract_boxed(text)
        if ex.answer is not None or ex.problem != _NO_BOX:  # only \boxedfoo, \fboxsep: no box
            if ex.answer is not None:
                later = _later_final_answer(text, ex.answer)
                if later is not None:
                    return later
                ans = strip_math_delimiters(ex.answer)
                if not ans:
                    return Extraction(None, "boxed", "the \\boxed{} answer is empty")
                return Extraction(ans, "boxed", None)
            return ex
    return extract_answer_statement(text)


# "Final Answer: 6" / "**Answer:** 6" / "The final answer is 6" starting a line
_FINAL_LINE = re.compile(
    r"^[\s#*_>]*(?:(?:the\s+)?final\s+answer\s*(?:is\b|[:：])|answer\s*(?:\*\*|__)?\s*[:：]|final\s+answer[\s*_:：]*$)"
    r"|\bfinal\s+answer\s*[:：]\s*the\s+final\s+answer\s+is\b",
    re.IGNORECASE | re.MULTILINE,
)


def _later_final_answer(text: str, boxed: str) -> Extraction | None:
    """A "Final Answer: ..." line after the last box: the model changed its mind."""
    box = next(_boxes(text), None)
    if box is None:
        return None
    tail = text[box.end :]
    if len(tail) > 4 * MAX_ANSWER_CHARS or not _FINAL_LINE.search(tail):
        return None
    ex = extract_answer_statement(tail)
    if ex.answer is None or ex.method != "answer line" or ex.answer == strip_math_delimiters(boxed):
        return None
    if _PROSE.search(re.sub(r"\\[a-zA-Z]+|\\text\{[^{}]*\}", " ", ex.answer)):
        return None  # "Final Answer: as boxed above": the box stands
    return ex
