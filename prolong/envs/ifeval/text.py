"""Text measures IFEval's checkers need, with no download: sentences, words, tokens.

IFEval's reference implementation counts

* words with ``nltk.tokenize.RegexpTokenizer(r"\\w+")`` (:func:`count_words`),
* sentences with NLTK's pre-trained Punkt model for English (``english.pickle``),
  which is data nltk must download (:func:`split_sentences`, :func:`count_sentences`),
* capitalised words over ``nltk.word_tokenize`` tokens (:func:`word_tokens`).

This module re-implements the Punkt sentence boundary decision (Kiss & Strunk 2006,
as NLTK applies a trained model) and NLTK's Treebank-style word tokenizer, reading
the English model's parameters from ``punkt_english.txt`` beside it. Every step is
linear in the length of the text: no regular expression here can backtrack
quadratically on a hostile response.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["count_words", "split_sentences", "count_sentences", "word_tokens", "PunktModel"]

_WORD = re.compile(r"\w+")


def count_words(text: str) -> int:
    """The number of ``\\w+`` runs (IFEval's word count, NLTK's ``RegexpTokenizer(r"\\w+")``)."""
    return sum(1 for _ in _WORD.finditer(text))


# --------------------------------------------------------------------------- Punkt

# Orthographic digests of the English model's ortho_context table (see punkt_english.txt).
_UPPER_STARTS = 1  # seen lower-case and never capitalised mid-sentence
_SEEN_LOWER = 2  # seen lower-case at all
_LOWER_UNSURE = 4  # seen lower-case at a sentence start and never capitalised

_ENDERS = ".?!"
_NON_WORD = r"[)\";}\]*:@'({\[!?]"
_MULTI_CHAR = r"(?:-{2,}|\.{2,}|(?:\.\s){2,}\.)"
# Punkt's word tokenizer: punctuation other than the period is split from words.
_PUNKT_WORD = re.compile(
    rf"""(?:{_MULTI_CHAR}
        | (?=[^(\"`{{\[:;&\#*@)}}\]\-,])\S+?
          (?=\s|$|{_NON_WORD}|{_MULTI_CHAR}|,(?=$|\s|{_NON_WORD}|{_MULTI_CHAR}))
        | \S)""",
    re.VERBOSE,
)
# A potential sentence end and what follows it (punctuation, or whitespace and a token).
_PERIOD_CONTEXT = re.compile(rf"[.?!](?=(?P<after>{_NON_WORD}|\s+(?P<next>\S+)))")
_NUMERIC = re.compile(r"-?[.,]?\d[\d,.-]*\.?")
_ELLIPSIS = re.compile(r"\.\.+")
_INITIAL = re.compile(r"[^\W\d]\.")
_REALIGN = re.compile(r"[\"')\]}]+?(?:\s+|(?=--)|$)", re.MULTILINE)
_ASCII_SPACE = " \t\n\r\x0b\x0c"  # Python's string.whitespace, which Punkt uses to find the word before a period
_SENT_PUNCT = frozenset(";:,.!?")


@dataclass(frozen=True, eq=False)
class PunktModel:
    """The parameters of a trained Punkt model that sentence splitting needs."""

    abbreviations: frozenset[str]
    collocations: frozenset[tuple[str, str]]
    sent_starters: frozenset[str]
    ortho: dict[str, int]

    @classmethod
    def load(cls, path: Path) -> "PunktModel":
        sections: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            # A comment is "#" alone or "# ..."; "##number##|abreast" is data (the
            # type Punkt gives every number), and 31 of the 37 collocations start so.
            if not line.strip() or line == "#" or line.startswith("# "):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], [])
                continue
            if current is None:
                raise ValueError(f"{path}: data before the first [section]")
            # "\\x20" stands for a space inside an entry (the abbreviation ". . ")
            current.extend(item.replace("\\x20", " ") for item in line.split())
        ortho: dict[str, int] = {}
        for word in sections.get("ortho_upper_starts", []):
            ortho[word] = _UPPER_STARTS | _SEEN_LOWER
        for word in sections.get("ortho_lower_seen", []):
            ortho[word] = ortho.get(word, 0) | _SEEN_LOWER
        for word in sections.get("ortho_lower_unsure", []):
            ortho[word] = ortho.get(word, 0) | _LOWER_UNSURE
        return cls(
            abbreviations=frozenset(sections.get("abbreviations", [])),
            collocations=frozenset(tuple(p.split("|", 1)) for p in sections.get("collocations", [])),  # type: ignore[misc]
            sent_starters=frozenset(sections.get("sent_starters", [])),
            ortho=ortho,
        )


@functools.lru_cache(maxsize=1)
def english_model() -> PunktModel:
    return PunktModel.load(Path(__file__).with_name("punkt_english.txt"))


class _Token:
    """One Punkt word token with its first- and second-pass annotations."""

    __slots__ = ("tok", "type", "period_final", "sentbreak", "abbr", "ellipsis")

    def __init__(self, tok: str) -> None:
        self.tok = tok
        low = tok.lower()
        self.type = "##number##" if _NUMERIC.fullmatch(low) else low
        self.period_final = tok.endswith(".")
        self.sentbreak = False
        self.abbr = False
        self.ellipsis = False

    @property
    def type_no_period(self) -> str:
        t = self.type
        return t[:-1] if len(t) > 1 and t[-1] == "." else t

    @property
    def type_no_sentperiod(self) -> str:
        return self.type_no_period if self.sentbreak else self.type


def _punkt_tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for line in text.split("\n"):
        if line.strip():
            tokens.extend(_Token(t) for t in _PUNKT_WORD.findall(line))
    return tokens


def _first_pass(tok: _Token, model: PunktModel) -> None:
    t = tok.tok
    if t in _ENDERS:
        tok.sentbreak = True
    elif _ELLIPSIS.fullmatch(t):
        tok.ellipsis = True
    elif tok.period_final and not t.endswith(".."):
        stem = t[:-1].lower()
        if stem in model.abbreviations or stem.split("-")[-1] in model.abbreviations:
            tok.abbr = True
        else:
            tok.sentbreak = True


def _starts_sentence(tok: _Token, model: PunktModel) -> bool | None:
    """Punkt's orthographic heuristic: True, False, or None for unknown."""
    if tok.tok in _SENT_PUNCT:
        return False
    flags = model.ortho.get(tok.type_no_sentperiod, 0)
    first = tok.tok[0]
    if first.isupper() and flags & _UPPER_STARTS:
        return True
    if first.islower() and not flags & _LOWER_UNSURE:
        return False
    return None


def _second_pass(tok1: _Token, tok2: _Token, model: PunktModel) -> None:
    if not tok1.period_final:
        return
    typ = tok1.type_no_period
    next_typ = tok2.type_no_sentperiod
    is_initial = _INITIAL.fullmatch(tok1.tok) is not None
    if (typ, next_typ) in model.collocations:
        tok1.sentbreak, tok1.abbr = False, True
        return
    if (tok1.abbr or tok1.ellipsis) and not is_initial:
        if _starts_sentence(tok2, model) is True:
            tok1.sentbreak = True
            return
        if tok2.tok[0].isupper() and next_typ in model.sent_starters:
            tok1.sentbreak = True
            return
    if is_initial or typ == "##number##":
        starts = _starts_sentence(tok2, model)
        if starts is False:
            tok1.sentbreak, tok1.abbr = False, True
            return
        if (
            starts is None
            and is_initial
            and tok2.tok[0].isupper()
            and not model.ortho.get(next_typ, 0) & _SEEN_LOWER
        ):
            tok1.sentbreak, tok1.abbr = False, True


@functools.lru_cache(maxsize=8192)
def _contains_sentbreak(context: str, model: PunktModel) -> bool:
    """True if a token other than the last of ``context`` ends a sentence.

    Cached: contexts ("word. Next") repeat, most of all in degenerate responses.
    """
    tokens = _punkt_tokens(context)
    for tok in tokens:
        _first_pass(tok, model)
    for i, tok in enumerate(tokens[:-1]):
        _second_pass(tok, tokens[i + 1], model)
        if tok.sentbreak:
            return True
    return False


def _last_ascii_space(text: str) -> int:
    return max(text.rfind(c) for c in _ASCII_SPACE)


def _end_contexts(text: str) -> Iterator[tuple[re.Match[str], str]]:
    """Potential sentence ends with the word before and the token after each one.

    Adjacent enders ("?!", "...") share the word before them; only the last one of
    such a run is considered, as in NLTK's Punkt.
    """
    prev_start, prev_stop = 0, 0
    prev: re.Match[str] | None = None
    for m in _PERIOD_CONTEXT.finditer(text):
        idx = _last_ascii_space(text[prev_stop : m.start()])
        start = idx + prev_stop + 1 if idx > 0 else prev_start
        if prev is not None and prev_stop <= start:
            yield prev, text[prev_start:prev_stop] + prev.group() + prev.group("after")
        prev, prev_start, prev_stop = m, start, m.start()
    if prev is not None:
        yield prev, text[prev_start:prev_stop] + prev.group() + prev.group("after")


def sentence_spans(text: str, model: PunktModel | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence, as NLTK's Punkt English tokenizer gives them."""
    model = model or english_model()
    slices: list[tuple[int, int]] = []
    last_break = 0
    for m, context in _end_contexts(text):
        if _contains_sentbreak(context, model):
            slices.append((last_break, m.end()))
            last_break = m.start("next") if m.group("next") else m.end()
    slices.append((last_break, len(text.rstrip())))
    # Closing quotes and brackets after a break belong to the sentence before.
    out: list[tuple[int, int]] = []
    realign = 0
    for i, (start, stop) in enumerate(slices):
        start += realign
        if i + 1 < len(slices):
            nxt_start, nxt_stop = slices[i + 1]
            m = _REALIGN.match(text, nxt_start, max(nxt_start, nxt_stop))
            if m:
                out.append((start, nxt_start + len(m.group(0).rstrip())))
                realign = m.end() - nxt_start
                continue
            realign = 0
        if stop > start:
            out.append((start, stop))
    return out


@functools.lru_cache(maxsize=32)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(text[a:b] for a, b in sentence_spans(text))


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (NLTK Punkt English, without its download)."""
    return list(_sentences(text))


def count_sentences(text: str) -> int:
    """IFEval's sentence count: the number of Punkt sentences."""
    return len(_sentences(text))


# --------------------------------------------------------------------------- words

# Each rule: (characters without which it cannot match, pattern, replacement). The
# character check skips most substitutions on plain sentences, which is most of the time.
_STARTING_QUOTES = [
    ("«“‘„`", re.compile(r"([«“‘„]|`+)"), r" \1 "),
    ('"', re.compile(r'^"'), r"``"),
    ("`", re.compile(r"(``)"), r" \1 "),
    ("\"'", re.compile(r"([ (\[{<])(\"|'{2})"), r"\1 `` "),
    ("'", re.compile(r"(?i)(')(?!re|ve|ll|m|t|s|d|n)(\w)\b"), r"\1 \2"),
]
_CLOSERS_WIDE = frozenset("])}>\"'»”’ ")
_CLOSERS = frozenset("])}>\"'")
_PUNCT_MIDDLE = [
    (":,", re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (":,", re.compile(r"([:,])$"), r" \1 "),
    (".", re.compile(r"\.{2,}"), r" \g<0> "),
    (";@#$%&", re.compile(r"[;@#$%&]"), r" \g<0> "),
]
_PUNCT_LATE = [
    ("?!", re.compile(r"[?!]"), r" \g<0> "),
    ("'", re.compile(r"([^'])' "), r"\1 ' "),
    ("*", re.compile(r"[*]"), r" \g<0> "),
    ("[](){}<>", re.compile(r"[\]\[(){}<>]"), r" \g<0> "),
    ("-", re.compile(r"--"), r" -- "),
]
_ENDING_QUOTES = [
    ("»”’", re.compile(r"([»”’])"), r" \1 "),
    ("'", re.compile(r"''"), " '' "),
    ('"', re.compile(r'"'), " '' "),
    ("'", re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    ("'", re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
]
_CONTRACTION_HINT = re.compile(r"(?i)can|d'ye|gim|gon|got|lem|more'n|wan|'t")
_CONTRACTIONS = [
    re.compile(p)
    for p in (
        r"(?i)\b(can)(not)\b",
        r"(?i)\b(d)('ye)\b",
        r"(?i)\b(gim)(me)\b",
        r"(?i)\b(gon)(na)\b",
        r"(?i)\b(got)(ta)\b",
        r"(?i)\b(lem)(me)\b",
        r"(?i)\b(more)('n)\b",
        r"(?i)\b(wan)(na)(?=\s)",
        r"(?i) ('t)(is)\b",
        r"(?i) ('t)(was)\b",
    )
]


def _split_final_period(text: str, closers: frozenset[str], detach_closers: bool) -> str:
    """Separate a sentence's final period (followed only by closers and whitespace).

    The linear equivalent of NLTK's ``([^\\.])(\\.)([closers]*)\\s*$`` rule, whose
    regular expression backtracks quadratically on long runs of spaces.
    """
    k = len(text.rstrip())
    m = k
    while m > 0 and text[m - 1] in closers:
        m -= 1
    p = m - 1
    if p < 1 or text[p] != "." or text[p - 1] == ".":
        return text
    tail = text[m:k]
    return text[:p] + (" . " + tail if detach_closers else " ." + tail) + " "


def _apply(rules: list[tuple[str, re.Pattern[str], str]], t: str) -> str:
    for chars, rx, sub in rules:
        if any(c in t for c in chars):
            t = rx.sub(sub, t)
    return t


def _treebank_tokens(sentence: str) -> list[str]:
    t = _apply(_STARTING_QUOTES, sentence)
    t = _split_final_period(t, _CLOSERS_WIDE, True)
    t = _apply(_PUNCT_MIDDLE, t)
    t = _split_final_period(t, _CLOSERS, False)
    t = _apply(_PUNCT_LATE, t)
    t = _apply(_ENDING_QUOTES, " " + t + " ")
    if _CONTRACTION_HINT.search(t):
        for rx in _CONTRACTIONS:
            t = rx.sub(r" \1 \2 ", t)
    return t.split()


def word_tokens(text: str) -> list[str]:
    """Tokens as ``nltk.word_tokenize`` gives them (Punkt sentences, then Treebank rules)."""
    return [tok for sentence in split_sentences(text) for tok in _treebank_tokens(sentence)]
