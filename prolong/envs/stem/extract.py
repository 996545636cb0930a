"""Where the final answer is in a response, and which option letter it names.

The final answer is whichever comes last in the response (after a closing
``</think>``, when there is one):

* the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; a last ``\\boxed{``
  whose brace never closes is no answer at all (a truncated response), or
* the last "answer line": ``Answer: X``, ``The answer is (X)``, ``Final answer: X``,
  ``The correct option is X``, ``**Answer:** X`` (the rest of that line, or of the
  first non-blank line within three lines after a label that ends its line).

Nothing else is read: no "last number in the text" fallback, which rewards guessing.

Every scan is bounded: boxes are read by the scanner every domain shares
(:func:`prolong.text.boxed_spans`: ``str.rfind``, linear in the text), answer lines are
searched in the last :data:`TAIL_CHARS` characters only, and a boxed answer longer than
:data:`MAX_BOXED_CHARS` is not read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from prolong.text import BOX_NO_CONTENT, BOX_TOO_LONG, BOX_UNCLOSED, UNCLOSED_REASONING, Box, last_box, final_text

__all__ = [
    "FinalAnswer",
    "final_answer",
    "extract_boxed",
    "read_letter",
    "LetterReading",
    "TAIL_CHARS",
    "MAX_BOXED_CHARS",
]

TAIL_CHARS = 6000  # answer lines are looked for in this many trailing characters
MAX_BOXED_CHARS = 2000  # a \boxed{} longer than this is not an answer

_ANSWER_LINE = re.compile(
    r"(?i)\b(?:final\s+answer|answer|correct\s+(?:answer|option|choice)|best\s+(?:answer|option|choice))\b"
    r"[ \t*_]{0,8}(?:\([^()\n]{0,30}\)[ \t*_]{0,8})?"
    r"(?:is\b|:|=|should\s+be\b|would\s+be\b|will\s+be\b)"
    r"[ \t*_:]{0,8}(?:[ \t]{0,8}\n[ \t*_>]{0,8}){0,3}(?P<content>[^\n]{1,300})"
)


@dataclass(frozen=True)
class FinalAnswer:
    """The final answer read from a response.

    Attributes:
        text: what was read (the boxed content or the rest of the answer line);
            None when there is no final answer.
        source: ``"boxed"``, ``"answer line"``, or ``None``.
        problem: why nothing could be read (``"unbalanced \\boxed"``, ...), or None.
    """

    text: str | None
    source: str | None
    problem: str | None = None


# Boxes are read by the scanner every domain shares (prolong.text), capped at MAX_BOXED_CHARS.
_BOX_PROBLEMS = {
    BOX_UNCLOSED: "unbalanced \\boxed{}: its brace is never closed",
    BOX_TOO_LONG: f"overlong \\boxed{{}}: more than {MAX_BOXED_CHARS} characters",
    BOX_NO_CONTENT: "\\boxed without content",
}


def _last_box(text: str, before: int | None = None) -> Box | None:
    return last_box(text, max_chars=MAX_BOXED_CHARS, before=before)


def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``, or None (none, unbalanced or too long)."""
    box = _last_box(text)
    return box.content if box is not None else None


_HEDGE_GAP = re.compile(r"^[\s$.,;]*(?:or|and|/|,|;)[\s$]*$", re.I)


def _hedged_box(text: str, last: int) -> str | None:
    """The content of a box just before the one at ``last`` when only "or"/"and"/"," separates them."""
    prev = _last_box(text, before=last)
    if prev is None or prev.content is None:
        return None
    if 0 <= last - prev.end <= 40 and _HEDGE_GAP.match(text[prev.end : last]):
        return prev.content
    return None


def final_answer(response: str) -> FinalAnswer:
    """The response's final answer: the later of the last box and the last answer line."""
    text = final_text(response)  # the one reasoning-section policy (prolong.text)
    if text is None:
        return FinalAnswer(None, None, UNCLOSED_REASONING)
    box = _last_box(text)
    tail_start = max(0, len(text) - TAIL_CHARS)
    line = None
    for m in _ANSWER_LINE.finditer(text, tail_start):
        line = m
    line_pos = line.start() if line is not None else -1
    if box is not None and box.start >= line_pos:
        if box.content is None:
            return FinalAnswer(None, None, _BOX_PROBLEMS[box.problem])
        # "Answer: \boxed{B}" is one answer: the box wins over the line that holds it
        hedged = _hedged_box(text, box.start)
        if hedged is not None:  # "\boxed{A} or \boxed{C}": both, so the reading is ambiguous
            return FinalAnswer(f"{hedged} or {box.content}", "boxed")
        return FinalAnswer(box.content, "boxed")
    if line is not None:
        content = line.group("content").strip()
        for _ in range(3):  # "Answer: I believe the answer is C" -> "C"
            inner = None
            for m in _ANSWER_LINE.finditer(content):
                inner = m
            if inner is None:
                break
            content = inner.group("content").strip()
        box_in_line = _last_box(content)
        if box_in_line is not None:
            if box_in_line.content is None:
                return FinalAnswer(None, None, _BOX_PROBLEMS[box_in_line.problem])
            return FinalAnswer(box_in_line.content, "boxed")
        return FinalAnswer(content, "answer line")
    return FinalAnswer(None, None, None)


# --------------------------------------------------------------------------- letters

_LETTER_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|textrm|texttt|mathrm|mathbf|mathit|mathtt|mathsf|bf|rm|it|emph|underline|boxed|fbox)"
    r"(?![A-Za-z])\s*"
)
_FILLER = {
    "the", "final", "answer", "answers", "is", "therefore", "thus", "so", "hence", "option", "options", "choice",
    "choices", "letter", "correct", "right", "best", "would", "be", "should", "must", "it", "my", "clearly",
}  # fmt: skip
_CONNECTORS = {"or", "and", "/", ",", ";", "&", "+", "option", "options", "choice", "choices", "both", "either"}
_LABEL_PUNCT = {")", ".", ":", "]", "-"}
_AFTER_LETTER_WORDS = {"is", "because", "since", "as", "which", "for", "with", "option", "choice", "here"}
# Words that start an explanation after the chosen letter ("B, because A ignores
# friction and D doubles it"): letters named after them are reasons, not answers.
_DISMISSING_VERBS = {
    "ignores", "neglects", "assumes", "uses", "doubles", "forgets", "overestimates", "underestimates", "confuses",
    "omits", "drops", "fails", "violates", "halves", "reverses", "misses", "would", "only",
}  # fmt: skip
_NEGATIVE = {"wrong", "incorrect", "false", "not", "invalid", "tempting", "too", "a", "the", "only", "off", "out"}
_EXPLANATION_WORDS = {
    "with", "because", "since", "as", "while", "whereas", "unlike", "not", "rather", "instead", "than", "which", "who",
    "given", "due", "so", "but", "where", "hence", "thus", "therefore", "whereby", "although", "though",
    "however", "except", "ignoring", "ignores", "neglects", "is", "are", "was", "were", "gives", "matches",
}  # fmt: skip
# ... unless the explanation takes the answer back: "A. Actually, no, it's C" is a hedge.
_REVISION_WORDS = {"actually", "wait", "correction", "oops", "scratch", "hmm", "mean", "reconsider", "thought"}
_CHOICE_BEFORE = {"is", "s", "it", "with", "choose", "pick", "select", "be", "option", "choice", "to", "(", "["}
_CHOICE_AFTER = {"correct", "right", "instead", "the", "then"}


@dataclass(frozen=True)
class LetterReading:
    """The option letter an answer names: ``letter`` (upper case) or ``ambiguous``."""

    letter: str | None
    ambiguous: bool = False
    letters: tuple[str, ...] = ()


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = re.sub(r"\\[()\[\]]", " ", s)
    s = _LETTER_WRAPPERS.sub(" ", s)
    s = re.sub(r"\\[,;:! ]|\\quad|\\qquad|~", " ", s)
    s = s.translate(str.maketrans({c: " " for c in "${}*_`\"'“”"}))
    s = re.sub(r"[\u2010-\u2015\u2212]", " - ", s)  # en/em dashes and the minus sign: "B — 4.2 J"
    return " ".join(s.split())


def _norm_option(text: str) -> str:
    return _clean(text).lower().rstrip(".")


def read_letter(text: str, options: Sequence[str] | None = None) -> LetterReading:
    """The option letter an answer names.

    ``B``, ``b``, ``(B)``, ``B)``, ``B.``, ``\\text{B}``, ``\\textbf{(B)}``, ``Option B``,
    ``the answer is B because ...``, ``B) 4.2 m/s``: letter B. ``A or C``, ``A, C``,
    ``A and C``, ``AC``: ambiguous. A lower-case letter counts only alone or as a label
    (``b)``), so "a force of 5 N" names no letter. With ``options``, an answer equal to
    one option's text (case and spacing aside) names that option.
    """
    cleaned = _clean(text[:400])
    tokens = re.findall(r"[A-Za-z]+|[^\sA-Za-z]", cleaned)[:80]
    i = 0
    while i < len(tokens) and (tokens[i].lower() in _FILLER or tokens[i] in ":=-"):
        i += 1
    rest = tokens[i:]
    words = [t for t in rest if t not in "()[].:!?-"]
    # only letters and connectors: "B", "(b)", "A or C", "A, C", "AC"
    if words and all(len(w) == 1 and w.isalpha() or w.lower() in _CONNECTORS or _is_letter_run(w) for w in words):
        found: list[str] = []
        for w in words:
            if w.lower() in _CONNECTORS and not (len(w) == 1 and w.isalpha()):
                continue
            found.extend(w.upper())
        distinct = tuple(dict.fromkeys(found))
        if len(distinct) == 1:
            return LetterReading(distinct[0], False, distinct)
        if len(distinct) > 1:
            return LetterReading(None, True, distinct)
    # a label followed by text: "B) 4.2 m/s", "(B) 4.2 m/s", "B because ..."
    if rest:
        j = 0
        opened = rest[0] in "(["
        if opened:
            j = 1
        if j < len(rest) and len(rest[j]) == 1 and rest[j].isalpha():
            letter = rest[j]
            nxt = rest[j + 1] if j + 1 < len(rest) else None
            labelled = nxt in _LABEL_PUNCT or opened
            if nxt is not None and _names_another_letter(rest[j + 1 :]):
                return LetterReading(None, True, (letter.upper(),))
            if labelled or (letter.isupper() and (nxt is None or nxt in ",;([" or nxt.lower() in _AFTER_LETTER_WORDS | {"and", "or"})):
                tail = rest[j + 1 :]
                others = _labelled_letters(tail, _explanation_start(tail)) - {letter.upper()}
                others |= _revised_letters(rest[j + 1 :]) - {letter.upper()}
                if others:  # "(A) 5 N or (C) 7 N"
                    return LetterReading(None, True, (letter.upper(), *sorted(others)))
                return LetterReading(letter.upper(), False, (letter.upper(),))
    if options:
        target = _norm_option(text)
        for k, opt in enumerate(options):
            if target and target == _norm_option(str(opt)):
                letter = chr(ord("A") + k)
                return LetterReading(letter, False, (letter,))
    return LetterReading(None)


def _labelled_letters(tokens: list[str], stop: int | None = None) -> set[str]:
    """Letters written as option labels further on (before ``stop``): ``(C)``, ``C)``, ``or C``."""
    found = set()
    for k, t in enumerate(tokens[:stop]):
        if len(t) != 1 or not t.isalpha():
            continue
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        before = tokens[k - 1].lower() if k > 0 else None
        labelled = after in (")", "]") and before in (None, "(", "[", "or", "and", ",", "/", ";")  # not "4.2 J)"
        if (labelled or (t.isupper() and before in ("or", "and"))) and not _dismissed(tokens, k):
            found.add(t.upper())
    return found


def _is_letter_run(w: str) -> bool:
    return 2 <= len(w) <= 10 and w.isupper() and all("A" <= c <= "J" for c in w) and len(set(w)) == len(w)


def _names_another_letter(tokens: list[str]) -> bool:
    """``or C``, ``, C``, ``/ (C)``, ``and option C`` right after a letter."""
    k = 0
    if k < len(tokens) and tokens[k] in ")]":
        k += 1
    if k >= len(tokens) or tokens[k].lower() not in {"or", "and", "/", ",", "&", "+"}:
        return False
    k += 1
    while k < len(tokens) and (tokens[k] in "([" or tokens[k].lower() in {"option", "choice", "maybe", "possibly"}):
        k += 1
    return k < len(tokens) and len(tokens[k]) == 1 and tokens[k].isalpha() and not _dismissed(tokens, k) and (
        tokens[k].isupper() or (k + 1 < len(tokens) and tokens[k + 1] in ")]") or k + 1 == len(tokens)
    )


def _explanation_start(tokens: list[str]) -> int:
    """Where an explanation starts in the tokens after a chosen letter (``len(tokens)``: none).

    The cut is at a sentence mark (``.`` not inside a number, ``;``, ``:``, ``!``,
    ``?``), a dash before a word, or an explanation word (``because``, ``since``,
    ``not``, ...). The letter's own label mark (``B.``, ``(B)``, ``B:``, ``B -``) is
    not a cut.
    """
    k = 0
    while k < len(tokens) and k < 2 and tokens[k] in ")].:-,":
        k += 1
    for i in range(k, len(tokens)):
        t = tokens[i]
        prev = tokens[i - 1] if i > 0 else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if t in ";:!?" or (t == "." and not (prev.isdigit() and nxt.isdigit())):
            return i
        if t == "-" and nxt[:1].isalpha() and len(nxt) > 1:
            return i
        if t.lower() in _EXPLANATION_WORDS:
            return i
        # a parenthesis that is not an option label or a hedge: "(A and B concern the first law)"
        if t in "([" and not (
            (len(nxt) == 1 and nxt.isalpha() and i + 2 < len(tokens) and tokens[i + 2] in ")]")
            or nxt.lower() in ("or", "and", "either", "maybe", "possibly", "perhaps", "option", "choice")
        ):
            return i
    return len(tokens)


def _revised_letters(tokens: list[str]) -> set[str]:
    """Letters an explanation switches to after a revision word: "Actually, no, it's C"."""
    found: set[str] = set()
    revising = False
    for k, t in enumerate(tokens):
        low = t.lower()
        before = tokens[k - 1].lower() if k > 0 else ""
        after = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
        after2 = tokens[k + 2].lower() if k + 2 < len(tokens) else ""
        if low in _REVISION_WORDS or (low == "no" and after in (",", ".", "!") and before in (",", ".", "!", "")):
            revising = True
        elif revising and len(t) == 1 and t.isalpha() and (t.isupper() or after in (")", "]")):
            # a choice, not a mention: "it's C", "(C)", "C is correct", not "A is tempting"
            if before in _CHOICE_BEFORE or after in (")", "]", "", ".", "!") or (after == "is" and after2 in _CHOICE_AFTER):
                found.add(t.upper())
    return found


def _dismissed(tokens: list[str], k: int) -> bool:
    """True when the letter at ``k`` is named to be ruled out: "A ignores friction", "C is wrong"."""
    after = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
    if after in (")", "]"):
        k += 1
        after = tokens[k + 1].lower() if k + 1 < len(tokens) else ""
    after2 = tokens[k + 2].lower() if k + 2 < len(tokens) else ""
    return after in _DISMISSING_VERBS or (after in ("is", "are", "was") and after2 in _NEGATIVE)
