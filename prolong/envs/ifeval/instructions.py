"""IFEval's 25 verifiable instructions: their checkers, descriptions and conflict table.

Each instruction is an :class:`Instruction`: its id (``"keywords:existence"``), the
names of its keyword arguments (as in the public IFEval data), a checker
``check(response, kwargs) -> bool`` and the description IFEval puts in a prompt.

The checkers reproduce the semantics of Google's reference implementation
(``instruction_following_eval/instructions.py``, Zhou et al. 2023), including its
quirks: keywords are matched as case-insensitive substrings (forbidden words as whole
words), paragraphs split on ``***`` for ``number_paragraphs`` but on ``\\n\\n`` for
``nth_paragraph_first_word``, language checks give the benefit of the doubt when
langdetect cannot decide. The places where prolong differs on purpose:

* Missing arguments (absent or None) are an error in the ground truth, never drawn at
  random as the reference's ``build_description`` does: a reward must be reproducible.
* Every scan is linear in the response length (the reference's regular expressions
  for bullets, placeholders, titles and postscripts backtrack quadratically on
  hostile input), and deeply nested JSON is "not JSON" instead of a crash.
* langdetect runs with a fixed seed (``DetectorFactory.seed = 0``), so a verdict on
  the same text never changes between runs.
* Ground truth is untrusted input (it arrives from HTTP clients, data files, other
  RL stacks), so **no ground-truth text is ever compiled as a regular expression**.
  The reference passes keywords, forbidden words, postscript markers and section
  splitters to ``re`` unescaped, which lets one keyword such as ``(a|aa)+$`` take
  minutes on a short response (catastrophic backtracking). Here every such argument
  is the literal text it means:

  - ``keywords:existence``: the keyword is a case-insensitive substring
    (``keyword.lower() in response.lower()``);
  - ``keywords:frequency``: the number of non-overlapping case-insensitive
    occurrences (``str.count``, which is what ``re.findall`` counts for a literal);
  - ``keywords:forbidden_words``: a case-insensitive occurrence with a word boundary
    at both ends, where "word boundary" is exactly ``re``'s ``\\b`` (the boundaries
    of the response are marked with ``re.sub(r"\\b", ...)``, a fixed pattern, and the
    marked word is then a plain substring);
  - ``detectable_content:postscript`` (markers other than ``P.S.``/``P.P.S``): a
    case-insensitive substring;
  - ``detectable_format:multiple_sections``: the escaped splitter followed by
    ``\\s?\\d+\\s?`` (a pattern with a literal prefix, which ``re`` scans in linear time);
  - letter frequency, ``first_word``, ``end_phrase`` and ``prompt_to_repeat`` were
    already plain string operations in the reference and stay so.

  For arguments without regular-expression metacharacters (``.^$*+?{}[]\\|()``), such
  as ordinary words and phrases, the verdicts are the reference's. With them they
  differ on purpose: ``U.S.`` matches only ``u.s.``, not ``uxsx``; ``C++``, which
  crashes the reference, is the text ``c++``. Case-insensitivity is ``str.lower()`` on
  both sides (``re.IGNORECASE`` folds a few non-ASCII characters, such as the Kelvin
  sign, differently).
* Arguments are bounded so that one ground truth cannot buy unbounded work: at most
  :data:`MAX_INSTRUCTIONS` instructions, :data:`MAX_WORDS` words in a keyword list,
  :data:`MAX_TEXT_CHARS` characters in a keyword/marker/splitter/first word
  (:data:`MAX_LONG_TEXT_CHARS` in ``end_phrase`` and ``prompt_to_repeat``), counts from
  0 to :data:`MAX_COUNT`, languages among the codes langdetect can answer with
  (:data:`DETECTABLE_LANGUAGES`, any case). Anything else raises :class:`InvalidInstruction`
  naming the instruction and the argument (the verifier's "invalid ground truth").
"""

from __future__ import annotations

import functools
import json
import numbers
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prolong.envs.ifeval import text as T

__all__ = [
    "Instruction",
    "INSTRUCTIONS",
    "INSTRUCTION_IDS",
    "CONFLICTS",
    "LANGUAGE_CODES",
    "RELATIONS",
    "CONSTRAINED_RESPONSE_OPTIONS",
    "InvalidInstruction",
    "MAX_INSTRUCTIONS",
    "MAX_WORDS",
    "MAX_TEXT_CHARS",
    "MAX_LONG_TEXT_CHARS",
    "MAX_COUNT",
    "DETECTABLE_LANGUAGES",
    "normalize_kwargs",
    "check_instruction",
    "describe_instruction",
    "conflicts_with",
]

RELATIONS = ("less than", "at least")
CONSTRAINED_RESPONSE_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

# ISO 639-1 codes IFEval's language instruction uses, with the names its prompts say.
LANGUAGE_CODES: dict[str, str] = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "hi": "Hindi",
    "fr": "French", "ru": "Russian", "de": "German", "ja": "Japanese", "it": "Italian",
    "bn": "Bengali", "uk": "Ukrainian", "th": "Thai", "ur": "Urdu", "ta": "Tamil",
    "te": "Telugu", "bg": "Bulgarian", "ko": "Korean", "pl": "Polish", "he": "Hebrew",
    "fa": "Persian", "vi": "Vietnamese", "ne": "Nepali", "sw": "Swahili", "kn": "Kannada",
    "mr": "Marathi", "gu": "Gujarati", "pa": "Punjabi", "ml": "Malayalam", "fi": "Finnish",
}  # fmt: skip


# Every code langdetect can answer with (its profiles): a language instruction with any
# other code could never be followed.
DETECTABLE_LANGUAGES = frozenset(
    "af ar bg bn ca cs cy da de el en es et fa fi fr gu he hi hr hu id it ja kn ko lt lv mk ml mr ne "
    "nl no pa pl pt ro ru sk sl so sq sv sw ta te th tl tr uk ur vi zh-cn zh-tw".split()
)

# Bounds on ground truth (see the module docstring).
MAX_INSTRUCTIONS = 64  # instructions in one ground truth (IFEval prompts have a handful)
MAX_WORDS = 100  # words in a keywords / forbidden_words list
MAX_TEXT_CHARS = 1_000  # a keyword, forbidden word, marker, splitter or first word
MAX_LONG_TEXT_CHARS = 100_000  # end_phrase, prompt_to_repeat
MAX_COUNT = 10**9  # a number of words, sentences, paragraphs, letters, ...
_LONG_TEXT_ARGS = frozenset({"end_phrase", "prompt_to_repeat"})


class InvalidInstruction(ValueError):
    """An instruction id or its arguments cannot be checked (bad ground truth)."""


class _ShortRepr(reprlib.Repr):
    """``repr`` for error messages about hostile values: short, never recursing deeply,
    never converting a huge int to text (which raises past 4300 digits)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxstring = 80
        self.maxother = 80
        self.maxlong = 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 6

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<an integer of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_SHORT_REPR = _ShortRepr()


def short_repr(value: Any) -> str:
    """A short, safe ``repr`` of a ground-truth value for error messages."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _SHORT_REPR.repr_int(value, 0)
    try:
        return _SHORT_REPR.repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__, a recursion limit
        return f"<{type(value).__name__}>"


# --------------------------------------------------------------------------- helpers


def _compare(count: int, relation: str, threshold: int) -> bool:
    return count < threshold if relation == "less than" else count >= threshold


# Measures of a response are cached per text: loose mode checks 8 variants of one
# response, and a ground truth may repeat an instruction; each variant is measured once.
_cached = functools.lru_cache(maxsize=16)


@_cached
def _lower(text: str) -> str:
    return text.lower()


_BOUNDARY = re.compile(r"\b")
_MARK = "\x00"


def _mark_boundaries(text: str) -> str:
    """``text`` with NUL inserted wherever ``re``'s ``\\b`` matches (NULs in the text
    become U+0001 first: both are non-word characters, so no boundary moves)."""
    return _BOUNDARY.sub(_MARK, text.replace(_MARK, "\x01"))


@_cached
def _marked_lower(text: str) -> str:
    return _mark_boundaries(_lower(text))


def _contains_whole(text: str, word: str) -> bool:
    """``re.search(r"\\b" + re.escape(word) + r"\\b", text, re.IGNORECASE)``, in linear time.

    A boundary inside an occurrence of the word depends only on the word's own
    characters, so with every boundary of the text and of the word marked, the word
    occurs between two boundaries exactly when its marked form, with a mark at each
    end, is a substring of the marked text.
    """
    inner = _mark_boundaries(word.lower()).strip(_MARK)
    return f"{_MARK}{inner}{_MARK}" in _marked_lower(text)


@_cached
def _sentence_count(text: str) -> int:
    return T.count_sentences(text)


@_cached
def _word_count(text: str) -> int:
    return T.count_words(text)


@_cached
def _capital_word_count(text: str) -> int:
    return sum(1 for tok in T.word_tokens(text) if tok.isupper())


@functools.lru_cache(maxsize=512)
def _section_pattern(splitter: str) -> re.Pattern[str]:
    """The reference's ``\\s?SPLITTER\\s?\\d+\\s?`` with the splitter escaped. The leading
    ``\\s?`` is dropped: it can only widen a match to the left, never change how many
    matches there are, and without it the pattern starts with a literal, which ``re``
    finds with a linear scan (KMP over the literal prefix)."""
    return re.compile(re.escape(splitter) + r"\s?\d+\s?")


_detect_ready = False


@_cached
def _detect_language(text: str) -> str | None:
    """langdetect's language code, or None when it cannot decide (empty text, digits)."""
    global _detect_ready
    from prolong.core import require_extra

    langdetect = require_extra("langdetect", "IFEval's language instructions")
    from langdetect.lang_detect_exception import LangDetectException

    if not _detect_ready:
        langdetect.DetectorFactory.seed = 0
        _detect_ready = True
    try:
        return langdetect.detect(text)
    except LangDetectException:
        return None


def _line_starts(text: str) -> list[int]:
    """Offsets where ``^`` matches in MULTILINE mode: 0 and after every newline."""
    starts = [0]
    i = text.find("\n")
    while i != -1:
        starts.append(i + 1)
        i = text.find("\n", i + 1)
    return starts


def _count_line_items(text: str, marker: str) -> int:
    """``len(re.findall(r"^\\s*<marker>.*$", text, re.M))`` for the two bullet markers, in linear time.

    ``marker`` is ``"*"`` (a star not followed by another star: ``\\*[^\\*]``) or ``"-"``.
    A match runs from a line start over whitespace (newlines included) to the marker and
    on to the end of that line; matches do not overlap, as with ``findall``.
    """
    n = len(text)
    count = 0
    pos = 0  # findall resumes here after a match
    for p in _line_starts(text):
        if p < pos:
            continue
        q = p
        while q < n and text[q].isspace():
            q += 1
        if q >= n or text[q] != marker:
            pos = q  # every line start up to q scans to the same q and fails the same way
            continue
        if marker == "*":
            if q + 1 >= n or text[q + 1] == "*":
                pos = q
                continue
            body_start = q + 2  # [^\*] may itself be a newline; .* starts after it
        else:
            body_start = q + 1
        end = text.find("\n", body_start)
        end = n if end == -1 else end
        count += 1
        pos = end
    return count


def _count_placeholders(text: str) -> int:
    """``len(re.findall(r"\\[.*?\\]", text))`` in linear time."""
    count = 0
    i = text.find("[")
    while i != -1:
        close = text.find("]", i + 1)
        newline = text.find("\n", i + 1)
        if close != -1 and (newline == -1 or close < newline):
            count += 1
            i = text.find("[", close + 1)
        elif newline != -1:
            i = text.find("[", newline + 1)  # no "]" on this line: no "[" on it can match
        else:
            break
    return count


def _has_title(text: str) -> bool:
    """Whether ``re.findall(r"<<[^\\n]+>>")`` finds a title with text, in linear time."""
    for line in text.split("\n"):
        i = line.find("<<")
        if i == -1:
            continue
        j = line.rfind(">>")
        if j >= i + 3 and line[i : j + 2].lstrip("<").rstrip(">").strip():
            return True
    return False


# --------------------------------------------------------------------------- checkers


def _keywords_existence(r: str, kw: Mapping[str, Any]) -> bool:
    low = _lower(r)
    return all(k.lower() in low for k in kw["keywords"])


def _keywords_frequency(r: str, kw: Mapping[str, Any]) -> bool:
    keyword = kw["keyword"].strip().lower()
    n = _lower(r).count(keyword) if keyword else 0
    return _compare(n, kw["relation"], kw["frequency"])


def _forbidden_words(r: str, kw: Mapping[str, Any]) -> bool:
    return not any(_contains_whole(r, w) for w in kw["forbidden_words"])


def _letter_frequency(r: str, kw: Mapping[str, Any]) -> bool:
    return _compare(_lower(r).count(kw["letter"].strip().lower()), kw["let_relation"], kw["let_frequency"])


def _response_language(r: str, kw: Mapping[str, Any]) -> bool:
    lang = _detect_language(r)
    return True if lang is None else lang == kw["language"]


def _number_sentences(r: str, kw: Mapping[str, Any]) -> bool:
    return _compare(_sentence_count(r), kw["relation"], kw["num_sentences"])


_PARAGRAPH_DIVIDER = re.compile(r"\s?\*\*\*\s?")


def _number_paragraphs(r: str, kw: Mapping[str, Any]) -> bool:
    parts = _PARAGRAPH_DIVIDER.split(r)
    count = len(parts)
    for i, part in enumerate(parts):
        if not part.strip():
            if i in (0, len(parts) - 1):
                count -= 1
            else:
                return False  # an empty paragraph between two dividers
    return count == kw["num_paragraphs"]


def _number_words(r: str, kw: Mapping[str, Any]) -> bool:
    return _compare(_word_count(r), kw["relation"], kw["num_words"])


def _nth_paragraph_first_word(r: str, kw: Mapping[str, Any]) -> bool:
    paragraphs = r.split("\n\n")
    count = sum(1 for p in paragraphs if p.strip())
    nth = kw["nth_paragraph"]
    # As in the reference: the count skips empty paragraphs, the index does not.
    if nth > count or nth < 1:
        return False
    paragraph = paragraphs[nth - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    first = []
    for ch in word:
        if ch in ".,?!'\"":
            break
        first.append(ch.lower())
    return count == kw["num_paragraphs"] and "".join(first) == kw["first_word"].lower()


def _number_placeholders(r: str, kw: Mapping[str, Any]) -> bool:
    return _count_placeholders(r) >= kw["num_placeholders"]


def _postscript(r: str, kw: Mapping[str, Any]) -> bool:
    marker = kw["postscript_marker"].strip()
    low = _lower(r)
    # The reference's patterns start with \s* and end with .*$ (MULTILINE), which
    # only widen a match: searching for the core is the same test, in linear time.
    if marker == "P.P.S":
        return re.search(r"p\.\s?p\.\s?s", low) is not None
    if marker == "P.S.":
        return re.search(r"p\.\s?s\.", low) is not None
    return marker.lower() in low  # the reference's pattern is the marker itself: here its text


def _number_bullet_lists(r: str, kw: Mapping[str, Any]) -> bool:
    return _count_line_items(r, "*") + _count_line_items(r, "-") == kw["num_bullets"]


def _constrained_response(r: str, kw: Mapping[str, Any]) -> bool:
    r = r.strip()
    return any(option in r for option in CONSTRAINED_RESPONSE_OPTIONS)


_STAR_HIGHLIGHT = re.compile(r"\*[^\n*]*\*")
_DOUBLE_STAR_HIGHLIGHT = re.compile(r"\*\*[^\n*]*\*\*")


def _number_highlighted_sections(r: str, kw: Mapping[str, Any]) -> bool:
    n = sum(1 for m in _STAR_HIGHLIGHT.finditer(r) if m.group().strip("*").strip())
    n += sum(1 for m in _DOUBLE_STAR_HIGHLIGHT.finditer(r) if m.group()[2:-2].strip())
    return n >= kw["num_highlights"]


def _multiple_sections(r: str, kw: Mapping[str, Any]) -> bool:
    splitter = kw["section_spliter"].strip()
    if not splitter or len(splitter) >= len(r):
        return kw["num_sections"] <= 0
    n = sum(1 for _ in _section_pattern(splitter).finditer(r))  # = len(re.split(...)) - 1
    return n >= kw["num_sections"]


def _json_format(r: str, kw: Mapping[str, Any]) -> bool:
    value = r.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):  # each removed in turn, as the reference does
        if value.startswith(fence):
            value = value[len(fence) :]
    if value.endswith("```"):
        value = value[:-3]
    try:
        json.loads(value.strip())
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        return False
    return True


def _title(r: str, kw: Mapping[str, Any]) -> bool:
    return _has_title(r)


def _two_responses(r: str, kw: Mapping[str, Any]) -> bool:
    parts = r.split("******")
    kept = []
    for i, part in enumerate(parts):
        if part.strip():
            kept.append(part)
        elif i not in (0, len(parts) - 1):
            return False
    return len(kept) == 2 and kept[0].strip() != kept[1].strip()


def _repeat_prompt(r: str, kw: Mapping[str, Any]) -> bool:
    return r.strip().lower().startswith(kw["prompt_to_repeat"].strip().lower())


def _end_checker(r: str, kw: Mapping[str, Any]) -> bool:
    return r.strip().strip('"').lower().endswith(kw["end_phrase"].strip().lower())


def _quotation(r: str, kw: Mapping[str, Any]) -> bool:
    r = r.strip()
    return len(r) > 1 and r[0] == '"' and r[-1] == '"'


def _capital_word_frequency(r: str, kw: Mapping[str, Any]) -> bool:
    return _compare(_capital_word_count(r), kw["capital_relation"], kw["capital_frequency"])


def _english_capital(r: str, kw: Mapping[str, Any]) -> bool:
    if not r.isupper():
        return False
    lang = _detect_language(r)
    return True if lang is None else lang == "en"


def _english_lowercase(r: str, kw: Mapping[str, Any]) -> bool:
    if not r.islower():
        return False
    lang = _detect_language(r)
    return True if lang is None else lang == "en"


def _no_comma(r: str, kw: Mapping[str, Any]) -> bool:
    return "," not in r


# --------------------------------------------------------------------------- descriptions


def _d_keywords(kw: Mapping[str, Any]) -> str:
    return f"Include keywords {sorted(kw['keywords'])} in the response."


def _d_frequency(kw: Mapping[str, Any]) -> str:
    return f"In your response, the word {kw['keyword']} should appear {kw['relation']} {kw['frequency']} times."


def _d_forbidden(kw: Mapping[str, Any]) -> str:
    return f"Do not include keywords {sorted(set(kw['forbidden_words']))} in the response."


def _d_letter(kw: Mapping[str, Any]) -> str:
    return (
        f"In your response, the letter {kw['letter']} should appear {kw['let_relation']} "
        f"{kw['let_frequency']} times."
    )


def _d_language(kw: Mapping[str, Any]) -> str:
    name = LANGUAGE_CODES.get(kw["language"], kw["language"])
    return f"Your ENTIRE response should be in {name} language, no other language is allowed."


def _d_sentences(kw: Mapping[str, Any]) -> str:
    return f"Your response should contain {kw['relation']} {kw['num_sentences']} sentences."


def _d_paragraphs(kw: Mapping[str, Any]) -> str:
    return f"There should be {kw['num_paragraphs']} paragraphs. Paragraphs are separated with the markdown divider: ***"


def _d_words(kw: Mapping[str, Any]) -> str:
    return f"Answer with {kw['relation']} {kw['num_words']} words."


def _d_nth(kw: Mapping[str, Any]) -> str:
    return (
        f"There should be {kw['num_paragraphs']} paragraphs. Paragraphs and only paragraphs are separated "
        "with each other by two new lines as if it was '\\n\\n' in python. "
        f"Paragraph {kw['nth_paragraph']} must start with word {kw['first_word']}."
    )


def _d_placeholders(kw: Mapping[str, Any]) -> str:
    return (
        f"The response must contain at least {kw['num_placeholders']} placeholders represented by "
        "square brackets, such as [address]."
    )


def _d_postscript(kw: Mapping[str, Any]) -> str:
    return f"At the end of your response, please explicitly add a postscript starting with {kw['postscript_marker']}"


def _d_bullets(kw: Mapping[str, Any]) -> str:
    return (
        f"Your answer must contain exactly {kw['num_bullets']} bullet points. Use the markdown bullet "
        "points such as:\n* This is point 1. \n* This is point 2"
    )


def _d_constrained(kw: Mapping[str, Any]) -> str:
    return f"Answer with one of the following options: {CONSTRAINED_RESPONSE_OPTIONS}"


def _d_highlights(kw: Mapping[str, Any]) -> str:
    return (
        f"Highlight at least {kw['num_highlights']} sections in your answer with markdown, "
        "i.e. *highlighted section*."
    )


def _d_sections(kw: Mapping[str, Any]) -> str:
    s = kw["section_spliter"]
    return (
        f"Your response must have {kw['num_sections']} sections. Mark the beginning of each section "
        f"with {s} X, such as:\n{s} 1\n[content of section 1]\n{s} 2\n[content of section 2]"
    )


def _d_json(kw: Mapping[str, Any]) -> str:
    return "Entire output should be wrapped in JSON format. You can use markdown ticks such as ```."


def _d_title(kw: Mapping[str, Any]) -> str:
    return "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>."


def _d_two(kw: Mapping[str, Any]) -> str:
    return "Give two different responses. Responses and only responses should be separated by 6 asterisk symbols: ******."


def _d_repeat(kw: Mapping[str, Any]) -> str:
    return (
        "First repeat the request word for word without change, then give your answer (1. do not say any "
        "words or characters before repeating the request; 2. the request you need to repeat does not "
        "include this sentence)"
    )


def _d_end(kw: Mapping[str, Any]) -> str:
    return f"Finish your response with this exact phrase {kw['end_phrase']}. No other words should follow this phrase."


def _d_quotation(kw: Mapping[str, Any]) -> str:
    return "Wrap your entire response with double quotation marks."


def _d_capital_words(kw: Mapping[str, Any]) -> str:
    return (
        "In your response, words with all capital letters should appear "
        f"{kw['capital_relation']} {kw['capital_frequency']} times."
    )


def _d_english_capital(kw: Mapping[str, Any]) -> str:
    return "Your entire response should be in English, and in all capital letters."


def _d_english_lowercase(kw: Mapping[str, Any]) -> str:
    return "Your entire response should be in English, and in all lowercase letters. No capital letters are allowed."


def _d_no_comma(kw: Mapping[str, Any]) -> str:
    return "In your entire response, refrain from the use of any commas."


# --------------------------------------------------------------------------- the table

# argument kinds: "int" (>= 0), "str", "strs" (list of str), "relation", "letter", "language"
_Args = dict[str, str]


@dataclass(frozen=True)
class Instruction:
    """One IFEval instruction type."""

    id: str
    args: _Args
    check: Callable[[str, Mapping[str, Any]], bool] = field(repr=False)
    describe: Callable[[Mapping[str, Any]], str] = field(repr=False)


def _ins(id: str, check: Callable, describe: Callable, **args: str) -> Instruction:
    return Instruction(id, dict(args), check, describe)


INSTRUCTIONS: dict[str, Instruction] = {
    i.id: i
    for i in [
        _ins("keywords:existence", _keywords_existence, _d_keywords, keywords="strs"),
        _ins("keywords:frequency", _keywords_frequency, _d_frequency, keyword="str", frequency="int", relation="relation"),
        _ins("keywords:forbidden_words", _forbidden_words, _d_forbidden, forbidden_words="strs"),
        _ins(
            "keywords:letter_frequency",
            _letter_frequency,
            _d_letter,
            letter="letter",
            let_frequency="int",
            let_relation="relation",
        ),
        _ins("language:response_language", _response_language, _d_language, language="language"),
        _ins("length_constraints:number_sentences", _number_sentences, _d_sentences, num_sentences="int", relation="relation"),
        _ins("length_constraints:number_paragraphs", _number_paragraphs, _d_paragraphs, num_paragraphs="int"),
        _ins("length_constraints:number_words", _number_words, _d_words, num_words="int", relation="relation"),
        _ins(
            "length_constraints:nth_paragraph_first_word",
            _nth_paragraph_first_word,
            _d_nth,
            num_paragraphs="int",
            nth_paragraph="int",
            first_word="str",
        ),
        _ins("detectable_content:number_placeholders", _number_placeholders, _d_placeholders, num_placeholders="int"),
        _ins("detectable_content:postscript", _postscript, _d_postscript, postscript_marker="str"),
        _ins("detectable_format:number_bullet_lists", _number_bullet_lists, _d_bullets, num_bullets="int"),
        _ins("detectable_format:constrained_response", _constrained_response, _d_constrained),
        _ins(
            "detectable_format:number_highlighted_sections",
            _number_highlighted_sections,
            _d_highlights,
            num_highlights="int",
        ),
        _ins("detectable_format:multiple_sections", _multiple_sections, _d_sections, section_spliter="str", num_sections="int"),
        _ins("detectable_format:json_format", _json_format, _d_json),
        _ins("detectable_format:title", _title, _d_title),
        _ins("combination:two_responses", _two_responses, _d_two),
        _ins("combination:repeat_prompt", _repeat_prompt, _d_repeat, prompt_to_repeat="str"),
        _ins("startend:end_checker", _end_checker, _d_end, end_phrase="str"),
        _ins("startend:quotation", _quotation, _d_quotation),
        _ins(
            "change_case:capital_word_frequency",
            _capital_word_frequency,
            _d_capital_words,
            capital_frequency="int",
            capital_relation="relation",
        ),
        _ins("change_case:english_capital", _english_capital, _d_english_capital),
        _ins("change_case:english_lowercase", _english_lowercase, _d_english_lowercase),
        _ins("punctuation:no_comma", _no_comma, _d_no_comma),
    ]
}
INSTRUCTION_IDS: tuple[str, ...] = tuple(INSTRUCTIONS)


def _conflict_table() -> dict[str, frozenset[str]]:
    """IFEval's table of instructions that cannot be combined, made symmetric."""
    every = set(INSTRUCTION_IDS)
    raw: dict[str, set[str]] = {i: {i} for i in INSTRUCTION_IDS}
    raw["language:response_language"] |= {
        "detectable_format:multiple_sections",
        "keywords:existence",
        "keywords:frequency",
        "keywords:forbidden_words",
        "startend:end_checker",
        "change_case:english_capital",
        "change_case:english_lowercase",
    }
    raw["length_constraints:number_paragraphs"] |= {
        "length_constraints:nth_paragraph_first_word",
        "length_constraints:number_sentences",
    }
    raw["length_constraints:nth_paragraph_first_word"] |= {"length_constraints:number_paragraphs"}
    raw["detectable_format:constrained_response"] = set(every)
    raw["detectable_format:multiple_sections"] |= {
        "language:response_language",
        "detectable_format:number_highlighted_sections",
    }
    raw["detectable_format:json_format"] = every - {"keywords:forbidden_words", "keywords:existence"}
    raw["combination:two_responses"] = every - {
        "keywords:forbidden_words",
        "keywords:existence",
        "language:response_language",
        "detectable_format:title",
        "punctuation:no_comma",
    }
    raw["combination:repeat_prompt"] = every - {"keywords:existence", "detectable_format:title", "punctuation:no_comma"}
    raw["change_case:capital_word_frequency"] |= {"change_case:english_lowercase", "change_case:english_capital"}
    raw["change_case:english_lowercase"] |= {"change_case:english_capital"}
    raw["startend:quotation"] |= {"detectable_format:title"}
    for key in list(raw):
        for other in list(raw[key]):
            raw[other].add(key)
        raw[key].add(key)
    return {k: frozenset(v) for k, v in raw.items()}


CONFLICTS: dict[str, frozenset[str]] = _conflict_table()


def conflicts_with(a: str, b: str) -> bool:
    """True if IFEval never combines instructions ``a`` and ``b`` in one prompt."""
    return b in CONFLICTS[a]


# --------------------------------------------------------------------------- kwargs


_INT_TEXT = re.compile(r"[+-]?[0-9]{1,19}")


def _as_int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise InvalidInstruction(f"{where} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):  # int, numpy integers
        n = int(value)
    elif isinstance(value, float) and value.is_integer():
        n = int(value)  # Parquet and pandas turn integer columns with gaps into floats
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        n = int(value.strip())
    else:
        raise InvalidInstruction(f"{where} must be an integer, got {short_repr(value)}")
    if n < 0:
        raise InvalidInstruction(f"{where} must be >= 0, got {short_repr(n)}")
    if n > MAX_COUNT:
        raise InvalidInstruction(f"{where} must be at most {MAX_COUNT}, got {short_repr(n)}")
    return n


def _as_text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInstruction(f"{where} must be a non-empty string, got {short_repr(value)}")
    if len(value) > limit:
        raise InvalidInstruction(f"{where} is {len(value)} characters long (at most {limit})")
    return value


def normalize_kwargs(instruction_id: str, kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """The arguments an instruction needs, checked and typed; None values are ignored.

    Raises :class:`InvalidInstruction` naming the instruction and the argument.
    """
    ins = INSTRUCTIONS.get(instruction_id) if isinstance(instruction_id, str) else None
    if ins is None:
        raise InvalidInstruction(f"unknown IFEval instruction id {short_repr(instruction_id)}")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise InvalidInstruction(f"kwargs of {instruction_id} must be a dict, got {type(kwargs).__name__}")
    given = {k: v for k, v in (kwargs or {}).items() if v is not None}
    out: dict[str, Any] = {}
    for name, kind in ins.args.items():
        where = f"{instruction_id} argument {name!r}"
        if name not in given:
            names = sorted(k[:40] if isinstance(k, str) else short_repr(k) for k in given)
            got = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "") if names else "none"
            raise InvalidInstruction(f"{instruction_id} needs argument {name!r} (got {got})")
        value = given[name]
        if kind == "int":
            out[name] = _as_int(value, where)
        elif kind == "relation":
            if not isinstance(value, str) or value not in RELATIONS:
                raise InvalidInstruction(f"{where} must be one of {RELATIONS}, got {short_repr(value)}")
            out[name] = value
        elif kind == "strs":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) and v for v in value):
                raise InvalidInstruction(f"{where} must be a non-empty list of words, got {short_repr(value)}")
            if len(value) > MAX_WORDS:
                raise InvalidInstruction(f"{where} has {len(value)} words (at most {MAX_WORDS})")
            for i, v in enumerate(value):
                if len(v) > MAX_TEXT_CHARS:
                    raise InvalidInstruction(f"{where}[{i}] is {len(v)} characters long (at most {MAX_TEXT_CHARS})")
            out[name] = list(value)
        elif kind == "letter":
            if not isinstance(value, str) or len(value.strip()) != 1:
                raise InvalidInstruction(f"{where} must be a single letter, got {short_repr(value)}")
            out[name] = value.strip().lower()
        elif kind == "language":
            code = _as_text(value, where, MAX_TEXT_CHARS).strip().lower()
            if code not in DETECTABLE_LANGUAGES:
                raise InvalidInstruction(
                    f"{where} must be a language code langdetect can detect (ISO 639-1 such as 'en', 'fr', "
                    f"or 'zh-cn'), got {short_repr(value)}"
                )
            out[name] = code
        else:  # "str"
            out[name] = _as_text(value, where, MAX_LONG_TEXT_CHARS if name in _LONG_TEXT_ARGS else MAX_TEXT_CHARS)
    if instruction_id == "length_constraints:nth_paragraph_first_word":
        if not 1 <= out["nth_paragraph"] <= max(out["num_paragraphs"], 1):
            raise InvalidInstruction(
                f"{instruction_id}: nth_paragraph={out['nth_paragraph']} must be in 1..num_paragraphs={out['num_paragraphs']}"
            )
        out["first_word"] = out["first_word"].lower()
    return out


def check_instruction(instruction_id: str, response: str, kwargs: Mapping[str, Any]) -> bool:
    """Whether ``response`` follows one instruction (kwargs already normalized).

    An empty or all-whitespace response follows nothing, as in IFEval's evaluation.
    """
    if not response.strip():
        return False
    return bool(INSTRUCTIONS[instruction_id].check(response, kwargs))


def describe_instruction(instruction_id: str, kwargs: Mapping[str, Any]) -> str:
    """The sentence(s) IFEval's prompts use for this instruction."""
    return INSTRUCTIONS[instruction_id].describe(kwargs)
