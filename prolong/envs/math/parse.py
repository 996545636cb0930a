"""Normalising answers and reading their structure.

An answer string (gold or extracted) goes through :func:`normalize` (unicode, spacing,
``\\left``, ``\\dfrac``, currency, trailing punctuation, thousands separators, ...) and
:func:`parse_structure`, which returns a small tree of plain, picklable nodes:

* :class:`Text` words (``\\text{Monday}``) (multiple-choice letters are read by
  :func:`parse_choice` before the structure);
* :class:`Scalar` one expression (with ``percent`` / ``degree`` flags and units removed);
* :class:`Equation` ``lhs = rhs``;
* :class:`Seq` a tuple (ordered, with its brackets: intervals are 2-tuples with mixed
  brackets), a set ``\\{...\\}`` or an unbracketed list ``1, 2`` / ``x=1 or x=2`` (unordered);
* :class:`Union` of intervals; :class:`Matrix`.

Numbers are read exactly (:func:`parse_number`: integers with separators, decimals,
fractions, mixed numbers, scientific notation) without sympy; everything else is
handed to :func:`to_sympy` (common forms: :mod:`prolong.envs.math.fast_latex`; the rest:
latex2sympy2_extended, which builds the same trees), behind size guards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Union as _U

__all__ = [
    "Unparseable",
    "Text",
    "Scalar",
    "Equation",
    "Seq",
    "Union",
    "Matrix",
    "Relation",
    "Node",
    "Number",
    "normalize",
    "parse_structure",
    "parse_number",
    "parse_choice",
    "parse_choices",
    "to_sympy",
    "MAX_NESTING",
    "MAX_ITEMS",
    "MAX_PARSE_CHARS",
]

MAX_PARSE_CHARS = 1_000  # longer answers are not parsed (a gold that long is compared as a string)
MAX_NESTING = 24  # bracket depth
MAX_ITEMS = 100  # elements of a tuple/set/list, cells of a matrix
MAX_DIGITS = 5_000  # digits of an exact number
MAX_EXPONENT = 10_000  # |n| in 10^n and a^n evaluated exactly


class Unparseable(ValueError):
    """The answer cannot be read (unbalanced, too deep, too long, too large)."""


# --------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class Text:
    words: str


@dataclass(frozen=True)
class Scalar:
    text: str
    percent: bool = False
    degree: bool = False


@dataclass(frozen=True)
class Equation:
    lhs: str
    rhs: str


@dataclass(frozen=True)
class Relation:
    text: str  # squashed, for string comparison
    raw: str = ""  # as normalised, for sympy


@dataclass(frozen=True)
class Seq:
    kind: str  # "tuple" (ordered), "set" (\{...\}), "list" (unbracketed, unordered)
    items: tuple
    brackets: str = ""  # "()", "[)", ... for tuples


@dataclass(frozen=True)
class Union:
    items: tuple


@dataclass(frozen=True)
class Matrix:
    rows: tuple  # tuple of tuples of nodes


Node = _U[Text, Scalar, Equation, Relation, Seq, Union, Matrix]


@dataclass(frozen=True)
class Number:
    """An exact number; ``tol`` is half a unit of the last written decimal (None: exact)."""

    value: Fraction
    tol: Fraction | None = None


# --------------------------------------------------------------------------- normalize

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-", "\u2010": "-",
    "\u00d7": "\\times ", "\u22c5": "\\cdot ", "\u00b7": "\\cdot ", "\u2219": "\\cdot ", "\u00f7": "\\div ",
    "\u221a": "\\sqrt", "\u03c0": "\\pi ", "\u00b0": "^\\circ", "\u221e": "\\infty ", "\u2218": "^\\circ",
    "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ", "\u222a": "\\cup ", "\u2229": "\\cap ",
    "\u00bd": "\\frac{1}{2}", "\u00bc": "\\frac{1}{4}", "\u00be": "\\frac{3}{4}",
    "\u2153": "\\frac{1}{3}", "\u2154": "\\frac{2}{3}", "\u215b": "\\frac{1}{8}",
    "\u00b2": "^2", "\u00b3": "^3", "\u00b9": "^1", "\u2070": "^0", "\u2074": "^4", "\u2075": "^5",
    "\u2076": "^6", "\u2077": "^7", "\u2078": "^8", "\u2079": "^9", "\u207b": "^-",
    "\u00b1": "\\pm ", "\u2213": "\\mp ", "\u2009": " ", "\u202f": " ", "\u00a0": " ", "\u2002": " ",
    "\u2003": " ", "\u200b": "", "\ufeff": "", "\u2032": "'", "\uff0c": ",", "\u3001": ",", "\uff1a": ":",
    "\u2208": "\\in ", "\u2205": "\\emptyset ", "\u211d": "\\mathbb{R}", "\u2217": "*", "\u2044": "/",
    "\u2215": "/", "\u2148": "i", "\u2147": "e", "\u2192": "\\to ", "\uff08": "(", "\uff09": ")",
    "\u27e8": "\\langle ", "\u27e9": "\\rangle ", "\u2329": "\\langle ", "\u232a": "\\rangle ",
    "\uff05": "%", "\u066a": "%", "\u2026": "\\ldots ", "\u2248": "\\approx ",
}
_UNICODE_TABLE = str.maketrans(_UNICODE)
_FULLWIDTH_DIGITS = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SIZE_CMDS = re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg|middle)(?![a-zA-Z])\s*")
_DROP = re.compile(r"(?<!\\)\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|mathstrut|strut|phantom\{[^{}]*\}|hphantom\{[^{}]*\}|vphantom\{[^{}]*\})(?![a-zA-Z])|\\!\s*")
_SPACES = re.compile(r"\\(?:quad|qquad|enspace|thinspace|medspace|thickspace|negthinspace)(?![a-zA-Z])|(?<!\\)\\[,;: ]|~")
_THOUSANDS_SPACE = re.compile(r"(?<=\d)(?:(?<!\\)\\[,;: !]|\{,\}|\s|\\thinspace\s*)+(?=\d{3}(?![\d.]))")
_FRAC_CMDS = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_BINOM_CMDS = re.compile(r"\\[dt]binom(?![a-zA-Z])")
_TEXT_CMDS = re.compile(
    r"\\(?:textbf|textit|textrm|textnormal|textsf|texttt|mathrm|mathbf|mathit|mathsf|mathtt|mathnormal|boldsymbol|bm|mbox|hbox|operatorname\*?|emph|textup|mathup)(?![a-zA-Z])"
)
_DEGREE = re.compile(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\degree(?![a-zA-Z])|\\textdegree(?![a-zA-Z])|\^\s*\{\s*o\s*\}(?=\s*$)")
_DEGREE_WORD = re.compile(r"(?<=[\d}])\s*(?:\\text\{\s*(?:degrees?|deg)\.?\s*\}|(?:degrees?|deg)(?![a-zA-Z]))")
_PERCENT = re.compile(r"\\text\{\s*(?:percent|percentage|\\%|%)\s*\}|\\%|(?<![a-zA-Z\\])(?:percentage|percent|pct)(?![a-zA-Z])")
_DOLLAR = re.compile(r"\\\$|\$|\\textdollar|\\dollar|\\euro|\\pounds|€|£|¥")
_SCALE_WORD = re.compile(
    r"(?<=\d)\s*(?:\\text\{\s*)?(thousand|million|billion|trillion)s?(?:\s*\})?(?![a-zA-Z])", re.IGNORECASE
)
_SCALE = {"thousand": "3", "million": "6", "billion": "9", "trillion": "12"}
_ORDINAL = re.compile(r"(?<=\d)(?:\^\s*\{?\s*(?:\\text\s*\{|\\mathrm\s*\{)?\s*(?:st|nd|rd|th)\s*\}?\s*\}?|(?:st|nd|rd|th))(?![a-zA-Z])")
_NUMBER_NAMES = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_NAMES.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100"})
_PLAIN_FUNCS = re.compile(
    r"(?<![\\a-zA-Z])(arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|sec|csc|cot|log|ln|exp)(?![a-zA-Z])(?=\s*[\({\d\\a-z])"
)
_PLAIN_CONSTS = re.compile(r"(?<![\\a-zA-Z])(pi|infty|infinity|inf)(?![a-zA-Z])")


def _fix_escapes(s: str) -> str:
    from prolong.envs.math.extract import clean_text

    return clean_text(s)


def _balanced_group(s: str, i: int, open_c: str, close_c: str) -> int:
    """Index of the bracket closing the one at ``s[i]``, or -1."""
    depth = 0
    for j in range(i, len(s)):
        c = s[j]
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return j
    return -1


def _paren_to_brace(s: str, head: str) -> str:
    """``sqrt(x+1)`` / ``\\sqrt(x)`` / ``^(n+1)`` -> ``\\sqrt{x+1}`` / ``^{n+1}``."""
    out = []
    i = 0
    while True:
        j = s.find(head, i)
        if j < 0:
            out.append(s[i:])
            break
        k = j + len(head)
        while k < len(s) and s[k] == " ":
            k += 1
        if k < len(s) and s[k] == "(":
            close = _balanced_group(s, k, "(", ")")
            if close > 0:
                out.append(s[i:j])
                out.append(head + "{" + s[k + 1 : close] + "}")
                i = close + 1
                continue
        out.append(s[i:k])
        i = k
    return "".join(out)


_SQRT_BARE = re.compile(r"\\sqrt\s*(\d+(?:\.\d+)?|[a-zA-Z](?![a-zA-Z])|\\pi(?![a-zA-Z]))")
_FRAC_BARE2 = re.compile(r"\\frac\s*(\d)\s*(\d)")
_FRAC_BARE1 = re.compile(r"\\frac\s*(\d)\s*(?=\{)")
_FRAC_BARE_TAIL = re.compile(r"\\frac\s*(\{[^{}]*\})\s*(\d)")
_POW_BARE_NEG = re.compile(r"\^\s*(-\s*\d+)")


def _fix_bare_args(s: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}``, ``\\frac12`` -> ``\\frac{1}{2}``, ``x^-1`` -> ``x^{-1}``."""
    if "\\sqrt" in s:
        s = _paren_to_brace(s.replace("\\sqrt ", "\\sqrt"), "\\sqrt")
        s = _SQRT_BARE.sub(lambda m: "\\sqrt{" + m.group(1) + "}", s)
    if "\\frac" in s:
        s = _FRAC_BARE2.sub(r"\\frac{\1}{\2}", s)
        s = _FRAC_BARE1.sub(r"\\frac{\1}", s)
        s = _FRAC_BARE_TAIL.sub(r"\\frac\1{\2}", s)
    if "^" in s:
        s = _paren_to_brace(s, "^")
        s = _POW_BARE_NEG.sub(lambda m: "^{" + m.group(1).replace(" ", "") + "}", s)
    return s


def _plain_math_to_latex(s: str) -> str:
    """Plain-text math some models write: ``sqrt(2)``, ``pi``, ``x**2``, ``ln(x)``."""
    if "**" in s:
        s = s.replace("**", "^")
    if "sqrt" in s:
        s = re.sub(r"(?<![\\a-zA-Z])sqrt", r"\\sqrt", s)
    if _PLAIN_CONSTS.search(s):
        s = _PLAIN_CONSTS.sub(lambda m: "\\pi" if m.group(1) == "pi" else "\\infty", s)
    if _PLAIN_FUNCS.search(s):
        s = _PLAIN_FUNCS.sub(r"\\\1", s)
    return s


def _strip_wrappers(s: str) -> str:
    from prolong.envs.math.extract import strip_math_delimiters

    for _ in range(4):
        t = strip_math_delimiters(s)
        m = re.fullmatch(r"\\(?:boxed|fbox)\s*\{(.*)\}", t, re.S)
        if m and _balanced_group(t, t.index("{"), "{", "}") == len(t) - 1:
            t = m.group(1).strip()
        if t == s:
            break
        s = t
    return s


_TRAILING_PUNCT = re.compile(r"(?:\s|\\[,;:!]|[.;:,]|\\+(?=[\s.;:,]*$))+$")
_LEADING_PUNCT = re.compile(r"^(?:\s|\\[,;:!]|[:=,;])+(?=\S)")
_LEADING_SAYS = re.compile(
    r"^(?:(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)\s*|so\s+|thus,?\s+|therefore,?\s+|hence,?\s+|approximately\s+|about\s+|≈\s*|\\approx\s*)",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)
def normalize(s: str) -> str:
    """A canonical LaTeX-ish form of an answer (still a string)."""
    s = _fix_escapes(s)
    s = s.translate(_UNICODE_TABLE).translate(_FULLWIDTH_DIGITS)
    s = s.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    s = _strip_wrappers(s.strip())
    s = _LEADING_SAYS.sub("", s)
    m = re.fullmatch(r"\\(?:text|textbf|mathrm|mbox)\s*\{\s*([^{}]*?\d[^{}]*?)\s*\}", s)
    if m:  # "\text{10 inches}", "\mbox{5 meals}"
        s = m.group(1)
    word = re.sub(r"^\\(?:text|textbf|mathrm)\s*\{\s*([a-zA-Z]+)\s*\}$", r"\1", s).lower()
    if word in _NUMBER_NAMES:  # "five"
        s = _NUMBER_NAMES[word]
    if "\\approx" in s:
        i = s.find("\\approx")
        # "x = 1/3 \approx 0.33" is the exact value; "x \approx 0.33" states the approximation
        # "\frac{\sqrt3}{3} \approx 0.577" (a constant on the left) is the exact value too
        left = s[:i].strip()
        exact = "=" in left or (bool(left) and has_variables(left) is False)
        s = left if exact else re.sub(r"\\approx(?![a-zA-Z])", "=", s)
    s = _SIZE_CMDS.sub("", s)
    s = _DROP.sub("", s)
    s = _THOUSANDS_SPACE.sub("", s)
    s = re.sub(r"\s*\{\s*,\s*\}\s*", ",", s)
    s = _SPACES.sub(" ", s)
    s = _FRAC_CMDS.sub(r"\\frac", s)
    s = _BINOM_CMDS.sub(r"\\binom", s)
    s = _TEXT_CMDS.sub(r"\\text", s)
    s = s.replace("\\text {", "\\text{")
    if _SCALE_WORD.search(s):  # "2.5 million"
        s = _SCALE_WORD.sub(lambda m: " \\times 10^{" + _SCALE[m.group(1).lower()] + "}", s)
    if _ORDINAL.search(s):  # "5^{\text{th}}", "21st"
        s = _ORDINAL.sub("", s)
    s = _DEGREE.sub("°", s)
    s = _DEGREE_WORD.sub("°", s)
    s = _PERCENT.sub("%", s)
    s = _DOLLAR.sub("", s)
    s = s.replace("\\lt", "<").replace("\\gt", ">").replace("\\leqslant", "\\le").replace("\\geqslant", "\\ge")
    s = re.sub(r"\\leq?(?![a-zA-Z])", r"\\le ", s)
    s = re.sub(r"\\geq?(?![a-zA-Z])", r"\\ge ", s)
    s = re.sub(r"\\neq?(?![a-zA-Z])", r"\\ne ", s)
    s = s.replace("<=", "\\le ").replace(">=", "\\ge ").replace("!=", "\\ne ")
    s = s.replace("\\varnothing", "\\emptyset").replace("\\lbrace", "\\{").replace("\\rbrace", "\\}")
    s = s.replace("\\lbrack", "[").replace("\\rbrack", "]").replace("\\vert", "|").replace("\\lvert", "|").replace("\\rvert", "|")
    if "\\langle" in s:
        s = re.sub(r"\\langle(?![a-zA-Z])", "(", s)
        s = re.sub(r"\\rangle(?![a-zA-Z])", ")", s)
    s = s.replace("\\imath", "i").replace("\\jmath", "j").replace("\\infin", "\\infty")
    s = re.sub(r"\\text\{\s*([a-zA-Z])\s*\}", r"\1", s)  # \mathrm{i}, \text{e}
    s = re.sub(r"\\text\{([^{}a-zA-Z%]*\d[^{}a-zA-Z%]*)\}", r"\1", s)  # \text{5}, \text{(1, 2)}
    s = re.sub(r"\\text\{\s*(and|or|,)\s*\}", lambda m: "," if m.group(1) == "," else f" {m.group(1)} ", s)
    if "or" in s:
        s = re.sub(r"\)\s*or\s*\(", "), (", s)  # "(11,7)or(7,11)"
    s = _plain_math_to_latex(s)
    s = _fix_bare_args(s)
    s = re.sub(r"\s+", " ", s).strip()
    s = _TRAILING_PUNCT.sub("", s)
    if s[:1] in ":=,;":
        s = _LEADING_PUNCT.sub("", s)
    s = s.strip()
    return s


def squash(s: str) -> str:
    """``s`` without spaces that carry no meaning, for string comparison."""
    s = re.sub(r"(?<=[^\w])\s+|\s+(?=[^\w])", "", s)
    s = re.sub(r"\^\{(\w)\}", r"^\1", s)
    s = re.sub(r"_\{(\w)\}", r"_\1", s)
    s = re.sub(r"\\frac\{(\d)\}\{(\d)\}", r"\\frac\1\2", s)
    return s


# --------------------------------------------------------------------------- splitting

_OPEN = "([{"
_CLOSE = ")]}"


def check_brackets(s: str) -> None:
    """Raise Unparseable for unbalanced braces or nesting deeper than MAX_NESTING."""
    depth = 0
    braces = 0
    for c in s:
        if c in _OPEN:
            depth += 1
            if depth > MAX_NESTING:
                raise Unparseable(f"nested deeper than {MAX_NESTING} brackets")
        elif c in _CLOSE:
            depth -= 1
        if c == "{":
            braces += 1
        elif c == "}":
            braces -= 1
            if braces < 0:
                raise Unparseable("unbalanced braces: a } closes nothing")
    if braces != 0:
        raise Unparseable("unbalanced braces: a { is never closed")
    if depth != 0:
        raise Unparseable("unbalanced brackets")


def split_top(s: str, seps: tuple[str, ...]) -> list[str]:
    """Split ``s`` at separators that are outside every bracket (of any type)."""
    parts = []
    depth = 0
    start = 0
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if c == "\\" and s.startswith("\\begin", i):
            depth += 1
        elif c == "\\" and s.startswith("\\end", i):
            depth -= 1
        elif c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        elif depth == 0:
            for sep in seps:
                if s.startswith(sep, i):
                    parts.append(s[start:i])
                    i += len(sep)
                    start = i
                    break
            else:
                i += 1
                continue
            continue
        i += 1
    parts.append(s[start:])
    return parts


def _outer_bracket(s: str) -> tuple[str, str, str] | None:
    """(open, inner, close) when the whole of ``s`` is one bracketed group."""
    if len(s) < 2:
        return None
    pairs = (("\\{", "\\}"), ("\\langle", "\\rangle"), ("(", ")"), ("[", "]"), ("(", "]"), ("[", ")"))
    for o, c in pairs:
        if s.startswith(o) and s.endswith(c):
            inner = s[len(o) : len(s) - len(c)]
            # the opening bracket must close at the very end (not "(1)+(2)")
            depth = 0
            ok = True
            i = 0
            while i < len(inner):
                ch = inner[i]
                if ch == "\\" and i + 1 < len(inner) and inner[i + 1] in "{}":
                    depth += 1 if inner[i + 1] == "{" else -1
                    i += 2
                    if depth < 0:
                        ok = False
                        break
                    continue
                if ch in _OPEN:
                    depth += 1
                elif ch in _CLOSE:
                    depth -= 1
                    if depth < 0:
                        ok = False
                        break
                i += 1
            if ok and depth == 0:
                return o, inner, c
    return None


# --------------------------------------------------------------------------- numbers

_NUM_RE = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)$")
_THOUSANDS_RE = re.compile(r"^([+-]?)([1-9]\d{0,2}(?:,\d{3})+)(\.\d+)?$")  # "0,111" is not a thousand
_FRAC_RE = re.compile(r"^([+-]?)\\frac\{\s*([+-]?)\s*(\d+)\s*\}\{\s*([+-]?)\s*(\d+)\s*\}$")
_SLASH_RE = re.compile(r"^([+-]?)\(?\s*([+-]?)(\d+)\s*\)?\s*/\s*\(?\s*([+-]?)(\d+)\s*\)?$")
_MIXED_RE = re.compile(r"^([+-]?)(\d+)\s*\\frac\{\s*(\d+)\s*\}\{\s*(\d+)\s*\}$")
_MIXED_SLASH_RE = re.compile(r"^([+-]?)(\d+)\s+(\d+)\s*/\s*(\d+)$")
_SCI_RE = re.compile(
    r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*(?:\{\s*([+-]?\d+)\s*\}|([+-]?\d))$"
)
_E_RE = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)[eE]([+-]?\d+)$")
_REPEATING_RE = re.compile(r"^([+-]?)(\d*)\.(\d*)\\(?:overline|dot|bar)\s*(?:\{\s*(\d+)\s*\}|(\d))$")
REPEATING_IN_TEXT = re.compile(r"(?<![\w.])(\d*)\.(\d*)\\(?:overline|dot|bar)\s*(?:\{\s*(\d+)\s*\}|(\d))")


def repeating_value(whole: str, nonrep: str, rep: str) -> Fraction:
    """``0.1\\overline{6}`` -> 1/6: the exact value of a repeating decimal."""
    if len(whole) + len(nonrep) + len(rep) > MAX_DIGITS:
        raise Unparseable("number too long")
    full = int((whole or "0") + nonrep + rep)
    head = int((whole or "0") + nonrep)
    return Fraction(full - head, 10 ** len(nonrep) * (10 ** len(rep) - 1))


_POW10_RE = re.compile(r"^([+-]?)10\s*\^\s*(?:\{\s*([+-]?\d+)\s*\}|(\d))$")


def _decimal(sign: str, digits: str, exp10: int = 0) -> Number:
    if len(digits) > MAX_DIGITS or abs(exp10) > MAX_EXPONENT:
        raise Unparseable("number too long")
    if "." in digits:
        whole, frac = digits.split(".", 1)
        value = Fraction(int((whole or "0") + frac), 10 ** len(frac)) if (whole or frac) else Fraction(0)
        tol = Fraction(1, 2 * 10 ** len(frac)) if frac else Fraction(1, 2)
        if not frac:  # "5." is the integer 5 with a stray point
            tol = None
    else:
        value = Fraction(int(digits))
        tol = None
    scale = Fraction(10) ** exp10
    value *= scale
    if tol is not None:
        tol *= scale
    if sign == "-":
        value = -value
    return Number(value, tol)


def _sgn(*signs: str) -> int:
    return -1 if sum(1 for s in signs if s == "-") % 2 else 1


@lru_cache(maxsize=8192)
def parse_number(s: str) -> Number | None:
    """An exact number from a (normalised, flag-free) scalar string, or None."""
    s = s.strip()
    if not s or len(s) > MAX_DIGITS + 20:
        return None
    if s.startswith("+"):
        s = s[1:].lstrip()
    if s.startswith("{") and s.endswith("}") and s.count("{") == 1:
        s = s[1:-1].strip()
    if s.startswith("(") and s.endswith(")") and s.count("(") == 1:
        s = s[1:-1].strip()
    m = _NUM_RE.match(s)
    if m:
        return _decimal(m.group(1), m.group(2))
    m = _THOUSANDS_RE.match(s)
    if m:
        return _decimal(m.group(1), m.group(2).replace(",", "") + (m.group(3) or ""))
    m = _FRAC_RE.match(s) or _SLASH_RE.match(s)
    if m:
        s0, s1, a, s2, b = m.groups()
        if len(a) > MAX_DIGITS or len(b) > MAX_DIGITS or int(b) == 0:
            return None
        return Number(_sgn(s0, s1, s2) * Fraction(int(a), int(b)))
    m = _MIXED_RE.match(s) or _MIXED_SLASH_RE.match(s)
    if m:
        sign, whole, a, b = m.groups()
        if int(b) == 0 or max(len(whole), len(a), len(b)) > MAX_DIGITS:
            return None
        if int(a) >= int(b):  # "2 \frac{3}{2}" is not a mixed number: leave it to sympy
            return None
        v = int(whole) + Fraction(int(a), int(b))
        return Number(-v if sign == "-" else v)
    m = _SCI_RE.match(s)
    if m:
        sign, mant, e1, e2 = m.groups()
        return _decimal(sign, mant, int(e1 if e1 is not None else e2))
    m = _E_RE.match(s)
    if m:
        return _decimal(m.group(1), m.group(2), int(m.group(3)))
    m = _REPEATING_RE.match(s)
    if m:
        v = repeating_value(m.group(2), m.group(3), m.group(4) or m.group(5))
        return Number(-v if m.group(1) == "-" else v)
    m = _POW10_RE.match(s)
    if m:
        e = int(m.group(2) if m.group(2) is not None else m.group(3))
        if abs(e) > MAX_EXPONENT:
            raise Unparseable("number too large")
        v = Fraction(10) ** e
        return Number(-v if m.group(1) == "-" else v)
    return None


# --------------------------------------------------------------------------- choices, text

_CHOICE_GOLD = re.compile(r"^\(?([A-J])\)?$|^\(([a-j])\)$")
_CHOICE_PAREN = re.compile(r"^\(\s*([A-Ja-j])\s*\)(?:\s|$|[.:,])")
_CHOICE_BARE = re.compile(r"^([A-J])(?:$|[.:)]\s*.*$)", re.S)
_CHOICE_LEAD = re.compile(r"^(?:option|choice|answer)\s*:?\s*", re.IGNORECASE)


def _unwrap_text(s: str) -> str:
    s = s.strip()
    for _ in range(3):
        m = re.fullmatch(r"\\text\s*\{(.*)\}", s, re.S)
        if not m:
            break
        s = m.group(1).strip()
    return s


_CHOICE_GOLD_VALUE = re.compile(r"^(?:\(([A-J])\)\s*|([A-J])[.:)]\s+)(.+)$", re.S)  # "(A) 5", "C. x = 42"


def parse_choice_with_value(s: str) -> tuple[str, str] | None:
    """A gold like ``(A) 5`` / ``\\textbf{(A)}\\ 5``: (letter, value)."""
    t = re.sub(r"\\text\s*\{([^{}]*)\}", r"\1", s).strip()
    m = _CHOICE_GOLD_VALUE.match(t)
    return (m.group(1) or m.group(2), m.group(3).strip()) if m else None


_CHOICE_SET = re.compile(r"\(?([A-J])\)?(?:\s*(?:,|;|&|\band\b)\s*\(?([A-J])\)?){1,4}")
_CHOICE_ONE = re.compile(r"\(?([A-J])\)?")


def parse_choices(s: str) -> frozenset[str] | None:
    """Several multiple-choice letters: ``AC``, ``A, C``, ``(A) and (C)``, ``\\text{(A), (C)}``;
    None unless at least two distinct letters."""
    t = re.sub(r"\\text(?:bf)?\s*\{([^{}]*)\}", r"\1", s).strip()
    if re.fullmatch(r"[A-J]{2,5}", t):
        letters = frozenset(t)
    elif _CHOICE_SET.fullmatch(t):
        letters = frozenset(m.group(1) for m in _CHOICE_ONE.finditer(t))
    else:
        return None
    return letters if len(letters) >= 2 else None


def parse_choice(s: str, *, gold: bool) -> str | None:
    """The letter of a multiple-choice answer: ``(B)``, ``\\text{(B)}``, ``B``, ``B) 12``.

    A gold is a choice when it is one capital letter A-J, or a letter in parentheses.
    An answer names a choice as ``(B)``/``(b)`` (anything may follow), or as a capital
    ``B`` alone or followed by ``.``, ``:`` or ``)``; a bare lowercase letter is a variable.
    """
    t = _unwrap_text(s)
    t = re.sub(r"\\text\s*\{([^{}]*)\}", r"\1", t).strip()
    if gold:
        m = _CHOICE_GOLD.match(t)
        return (m.group(1) or m.group(2)).upper() if m else None
    t = _CHOICE_LEAD.sub("", t)
    m = _CHOICE_PAREN.match(t) or _CHOICE_BARE.match(t)
    return m.group(1).upper() if m else None


_LATEX_WORDS = re.compile(
    r"\\[a-zA-Z]+|(?<![a-zA-Z])(?:sin|cos|tan|sec|csc|cot|log|ln|exp|arcsin|arccos|arctan|sinh|cosh|tanh|lcm|gcd|det|max|min|mod)(?![a-zA-Z])"
)
_WORD = re.compile(r"[a-zA-Z]{3,}")


def text_words(s: str) -> str | None:
    """The words of a text answer (``\\text{Monday}`` -> ``monday``), or None if it is math."""
    t = re.sub(r"\\text\s*\{([^{}]*)\}", r" \1 ", s)
    if not _WORD.search(_LATEX_WORDS.sub(" ", t)):
        return None
    words = re.sub(r"[^a-zA-Z0-9]+", " ", t).strip().lower()
    words = re.sub(r"^(?:the|a|an)\s+", "", words)
    return words or None


# --------------------------------------------------------------------------- units

_UNIT_WORDS = (
    "units?|square units?|sq units?|cubic units?|sq|square|cubic|cm|mm|km|m|meters?|metres?|centimeters?|"
    "millimeters?|kilometers?|inches|inch|in|feet|foot|ft|yards?|yd|miles?|mi|mph|kph|km/h|m/s|cm/s|"
    "seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?|years?|yrs?|"
    "grams?|g|kg|kilograms?|mg|pounds?|lbs?|lb|ounces?|oz|tons?|liters?|litres?|l|ml|gallons?|gal|"
    "dollars?|cents?|usd|euros?|rs|rupees?|yuan|yen|pesos?|points?|marbles?|apples?|people|persons?|"
    "students?|children|kids|boys?|girls?|men|women|ways?|times|steps?|cookies?|books?|pages?|cars?|"
    "boxes?|balls?|coins?|cups?|eggs?|pieces?|items?|tickets?|pens?|pencils?|candies|candy|cats?|dogs?|"
    "trees?|rows?|games?|hands?|handshakes?|triangles?|squares?|numbers?|integers?|digits?|"
    "degrees?|deg|radians?|rad|sq\\.?\\s*(?:cm|m|ft|in|units?)|cm\\^?2|m\\^?2|cm\\^?3|m\\^?3|ft\\^?2|percentage points?"
)
_UNIT_TAIL = re.compile(
    r"(?<=[\d}\)a-zA-Z.])\s*(?:\\text\{\s*(?:[^{}]*)\}|\\mbox\{[^{}]*\}|(?<=[\d}\)\s])(?:" + _UNIT_WORDS + r")(?![a-zA-Z]))"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?\s*$",
    re.IGNORECASE,
)


_NUMBER_THEN_WORDS = re.compile(r"([+-]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)(?:\s*/\s*\d+)?)\s+[a-zA-Z]{3,}(?:\s+[a-zA-Z]{3,})?")


def strip_units(s: str) -> str:
    """``5 \\text{ cm}^2`` -> ``5``; ``12 dollars`` -> ``12``; ``10 edges`` -> ``10``
    (a number and one or two words); ``3 x`` stays."""
    m = _NUMBER_THEN_WORDS.fullmatch(s.strip())
    if m and not re.search(r"\b(?:and|or|not)\b", s):
        return m.group(1)
    for _ in range(3):
        m = _UNIT_TAIL.search(s)
        if not m or m.start() == 0:
            break
        cut = s[m.start() :]
        inner = re.sub(r"^\s*\\(?:text|mbox)\{([^{}]*)\}.*$", r"\1", cut.strip(), flags=re.S)
        if cut.strip().startswith(("\\text", "\\mbox")):
            # \text{...} after a number is a unit unless it holds math or "or"/"and"
            if re.search(r"\d|\\|=|\bor\b|\band\b", re.sub(r"^\s*[a-zA-Z]{1,3}\s*\^\s*\{?\s*[23]\s*\}?\s*$", "m", inner)):
                break
        elif not re.search(r"[\d})]$", s[: m.start()].rstrip()):
            break  # a plain unit word only follows a number: "5 cm", not "all real numbers"
        s = s[: m.start()].rstrip()
    return s


# --------------------------------------------------------------------------- structure

_SEP_LIST = (",", ";", " or ", " and ", "\\text{or}", "\\text{and}", "\\quad")
_REL_OPS = re.compile(r"\\le |\\ge |<|>|\\le$|\\ge$")
_MATRIX_RE = re.compile(
    r"^\\begin\{(pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|matrix|smallmatrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.S
)
_SIMPLE_LHS = re.compile(r"^(?:[a-zA-Z](?:_\{?\w+\}?)?'*|\\[a-zA-Z]+(?:_\{?\w+\}?)?|[a-zA-Z]'*\([a-zA-Z0-9 ,]*\)|\\text\{[^{}]*\})$")


_KNOWN_COMMANDS = re.compile(
    r"\\(?:frac|dfrac|sqrt|pi|cdot|times|div|infty|sin|cos|tan|sec|csc|cot|arcsin|arccos|arctan|sinh|cosh|tanh|"
    r"log|ln|exp|binom|left|right|circ|pm|mp|le|ge|ne|lfloor|rfloor|lceil|rceil)(?![a-zA-Z])"
)


def has_variables(s: str) -> bool | None:
    """Whether a scalar names variables (letters other than e and i); None when unsure
    (unknown commands, text, subscripts)."""
    if "\\text" in s or "_" in s or "\\operatorname" in s:
        return None
    t = _KNOWN_COMMANDS.sub(" ", s)
    if "\\" in t:
        return None
    return bool(re.search(r"[a-df-hj-zA-Z]", t))


def is_simple_lhs(lhs: str) -> bool:
    """``x``, ``x_1``, ``f(x)``, ``\\theta``: the left side of an assignment."""
    return bool(_SIMPLE_LHS.match(lhs.strip()))


_TRIG = re.compile(r"\\(?:sin|cos|tan|sec|csc|cot)(?![a-zA-Z])")
_DEGREE_ARG = re.compile(r"(\d+(?:\.\d+)?|\\frac\{\d+\}\{\d+\})\s*°")


def _scalar(s: str) -> Scalar:
    s = s.strip()
    if "°" in s and _TRIG.search(s):  # \sin 60^\circ: degrees inside a function are radians * pi/180
        s = _DEGREE_ARG.sub(lambda m: "(" + m.group(1) + "\\cdot\\frac{\\pi}{180})", s)
    degree = "°" in s
    if degree:
        s = s.replace("°", "").strip()
    s = strip_units(s)
    percent = s.endswith("%")
    if percent:
        s = s.rstrip("%").strip()
    if s.endswith("°"):
        degree = True
        s = s.rstrip("°").strip()
    if not s:
        raise Unparseable("empty answer")
    return Scalar(s, percent, degree)


def _expand_pm(s: str) -> list[str] | None:
    """``a \\pm b`` -> [``a + b``, ``a - b``] (up to 3 signs)."""
    k = s.count("\\pm") + s.count("\\mp")
    if k == 0:
        return None
    if k > 3:
        raise Unparseable("too many \\pm signs")
    outs = [s]
    for _ in range(k):
        nxt = []
        for t in outs:
            i_pm, i_mp = t.find("\\pm"), t.find("\\mp")
            i = min(x for x in (i_pm, i_mp) if x >= 0)
            is_pm = t.startswith("\\pm", i)
            a, b = ("+", "-") if is_pm else ("-", "+")
            nxt.append(t[:i] + a + t[i + 3 :])
            nxt.append(t[:i] + b + t[i + 3 :])
        outs = nxt
    return [re.sub(r"^\s*\+\s*", "", o).replace("+ -", "-").replace("- -", "+") for o in outs]


_EMPTY_WORDS = {
    "none", "no solution", "no solutions", "no real solution", "no real solutions", "no real roots",
    "no roots", "empty set", "the empty set", "no such number", "no such value", "no real number",
}
_ALL_REALS = {"all real numbers", "all reals", "real numbers", "all real x", "all real values", "r"}


def _inequality(s: str) -> Node | None:
    """``a < x \\le b``, ``x > 3``, ``x \\ge -1`` -> an interval (2-tuple with brackets)."""
    toks = re.split(r"(\\le |\\ge |<|>)", s)
    toks = [t.strip() for t in toks]
    if len(toks) == 3:
        left, op, right = toks
        lhs_var, rhs_var = is_simple_lhs(left), is_simple_lhs(right)
        if has_variables(right if lhs_var else left) is not False:
            return None  # y > 2x + 1 is a region, not an interval
        if lhs_var and not rhs_var:
            var_left, bound = True, right
        elif rhs_var and not lhs_var:
            var_left, bound = False, left
        else:
            return None
        upper = (op in ("<", "\\le")) == var_left  # x < b or b > x: b is the upper bound
        closed = op in ("\\le", "\\ge")
        b = _scalar(bound)
        if upper:
            return Seq("tuple", (_scalar("-\\infty"), b), "(" + ("]" if closed else ")"))
        return Seq("tuple", (b, _scalar("\\infty")), ("[" if closed else "(") + ")")
    if len(toks) == 5:
        a, op1, x, op2, b = toks
        if not is_simple_lhs(x):
            return None
        inc = {"<": True, "\\le": True, ">": False, "\\ge": False}
        if inc[op1] != inc[op2]:
            return None
        if not inc[op1]:
            a, b, op1, op2 = b, a, ("<" if op2 == ">" else "\\le"), ("<" if op1 == ">" else "\\le")
        return Seq("tuple", (_scalar(a), _scalar(b)), ("[" if op1 == "\\le" else "(") + ("]" if op2 == "\\le" else ")"))
    return None


_NOT_EQUAL = re.compile(r"[a-zA-Z]\s*\\ne\s*(.+)")
_SETMINUS = re.compile(r"(?:\\mathbb\s*\{?R\}?|\\R(?![a-zA-Z]))\s*(?:\\setminus|\\backslash|-|\\smallsetminus)\s*\\\{(.+)\\\}")


def _excluded_points(s: str) -> Node | None:
    """``x \\ne 2`` and ``\\mathbb{R} \\setminus \\{2, 5\\}``: the reals without some
    numbers, as a union of open intervals (plain numbers only)."""
    m = _NOT_EQUAL.fullmatch(s) or _SETMINUS.fullmatch(s)
    if not m:
        return None
    texts = [t.strip() for t in split_top(m.group(1), (",",))]
    if not texts or len(texts) > 10:
        return None
    try:
        values = [parse_number(t) for t in texts]
    except Unparseable:
        return None
    if any(v is None or v.tol is not None for v in values):
        return None
    order = sorted(zip((v.value for v in values), texts))  # type: ignore[union-attr]
    ends = [_scalar("-\\infty")] + [_scalar(t) for _, t in order] + [_scalar("\\infty")]
    return Union(tuple(Seq("tuple", (lo, hi), "()") for lo, hi in zip(ends, ends[1:])))


def _flatten_pm(nodes: Any) -> tuple:
    """``\\{1 \\pm \\sqrt5, -2\\}`` is the set of three numbers."""
    out: list = []
    for n in nodes:
        if isinstance(n, Seq) and n.kind == "list":
            out.extend(n.items)
        else:
            out.append(n)
    return tuple(out)


@lru_cache(maxsize=8192)
def parse_structure(s: str, depth: int = 0) -> Node:
    """The structure of a normalised answer (see the module docstring)."""
    s = s.strip()
    if not s:
        raise Unparseable("empty answer")
    if depth > 6:
        raise Unparseable("structure nested too deeply")
    if len(s) > MAX_PARSE_CHARS:
        raise Unparseable(f"answer longer than {MAX_PARSE_CHARS} characters")
    if depth == 0:
        check_brackets(s)
        s = strip_units(s) or s  # "1,000 dollars" before "," splits it
    # a matrix or a vector (also wrapped: "[\begin{array}...\end{array}]")
    wrapped = re.fullmatch(r"[\[(]\s*(\\begin\{.*\\end\{[a-zA-Z]+\})\s*[\])]", s, re.S)
    if wrapped:
        s = wrapped.group(1)
    m = _MATRIX_RE.match(s)
    if m and "\\begin" not in m.group(2):  # one matrix, not "A + B" or "A B" (sympy)
        body = m.group(2).strip().rstrip("\\").strip()
        rows = [r for r in re.split(r"\\\\", body) if r.strip()]
        cells = [[c.strip() for c in r.split("&")] for r in rows]
        if sum(len(r) for r in cells) > MAX_ITEMS:
            raise Unparseable("matrix too large")
        return Matrix(tuple(tuple(parse_structure(c, depth + 1) for c in r) for r in cells))
    # "x \in [1, 2]" -> the set
    m = re.match(r"^[a-zA-Z]\s*\\in(?![a-zA-Z])\s*(.+)$", s)
    if m:
        return parse_structure(m.group(1), depth + 1)
    # set-builder notation: "\{x \mid x > 2\}", "\{x : x \ne 0\}"
    m = re.fullmatch(r"\\\{\s*[a-zA-Z]\s*(?:\\in\s*\\mathbb\s*\{?R\}?\s*)?(?:\\mid|\||:)\s*(.+?)\s*\\\}", s)
    if m:
        return parse_structure(m.group(1), depth + 1)
    excluded = _excluded_points(s)
    if excluded is not None:
        return excluded
    if s in ("\\mathbb{R}", "\\mathbb R", "\\R", "(-\\infty,\\infty)") or s == "\\text{all real numbers}":
        return Seq("tuple", (_scalar("-\\infty"), _scalar("\\infty")), "()")
    if s in ("\\emptyset", "\\{\\}", "\\{ \\}", "\\emptyset\\}"):
        return Seq("set", ())
    # unions of intervals or sets
    parts = split_top(s, ("\\cup", " U "))
    if len(parts) > 1:
        if len(parts) > MAX_ITEMS:
            raise Unparseable("too many parts")
        return Union(tuple(parse_structure(p.strip(), depth + 1) for p in parts))
    # unbracketed lists: "1, 2", "x = 1 or x = 2"
    if not _THOUSANDS_RE.match(s):
        parts = [p.strip() for p in split_top(s, _SEP_LIST)]
        parts = [p for p in parts if p]
        if len(parts) > 1:
            if len(parts) > MAX_ITEMS:
                raise Unparseable(f"more than {MAX_ITEMS} elements")
            return Seq("list", _flatten_pm(parse_structure(p, depth + 1) for p in parts))
    # {2, 4, 6}: a set written with plain braces; {5} is a group
    if s.startswith("{") and s.endswith("}") and _balanced_group(s, 0, "{", "}") == len(s) - 1:
        inner = s[1:-1].strip()
        items = [p.strip() for p in split_top(inner, (",", ";"))]
        if len(items) > MAX_ITEMS:
            raise Unparseable(f"more than {MAX_ITEMS} elements")
        if not inner:
            return Seq("set", ())
        if len(items) > 1 and all(items):  # "{}": LaTeX renders {1,3} as "1,3" (see verify._cmp)
            return Seq("set", _flatten_pm(parse_structure(p, depth + 1) for p in items), "{}")
        return parse_structure(inner, depth + 1)
    # one bracketed group: tuple, interval, set
    ob = _outer_bracket(s)
    if ob is not None:
        o, inner, c = ob
        items = [p.strip() for p in split_top(inner, (",", ";"))]
        if len(items) > MAX_ITEMS:
            raise Unparseable(f"more than {MAX_ITEMS} elements")
        if o == "\\{":
            if not inner.strip():
                return Seq("set", ())
            return Seq("set", _flatten_pm(parse_structure(p, depth + 1) for p in items))
        if len(items) >= 2 and all(items):
            if o == "\\langle":
                o, c = "(", ")"
            return Seq("tuple", tuple(parse_structure(p, depth + 1) for p in items), o[-1] + c[-1])
    # plus-minus
    pm = _expand_pm(s)
    if pm is not None:
        return Seq("list", tuple(parse_structure(p, depth + 1) for p in pm))
    # equations: x = 2, y = 2x + 1
    sides = split_top(s, ("=",))
    if len(sides) >= 2:
        lhs, rhs = sides[0].strip(), sides[-1].strip()
        if not lhs or not rhs:
            raise Unparseable("an equation with an empty side")
        if _REL_OPS.search(lhs) or _REL_OPS.search(rhs):
            return Relation(squash(s), s)
        return Equation(lhs, rhs)
    if _REL_OPS.search(s):
        iv = _inequality(s)
        return iv if iv is not None else Relation(squash(s), s)
    words = text_words(s)
    if words is not None and not re.search(r"\d", re.sub(r"\\text\{[^{}]*\}", "", s)):
        if words in _EMPTY_WORDS:
            return Seq("set", ())
        if words in _ALL_REALS:
            return Seq("tuple", (_scalar("-\\infty"), _scalar("\\infty")), "()")
        return Text(words)
    return _scalar(s)


# --------------------------------------------------------------------------- sympy


class TooLarge(Unparseable):
    """The expression would take too long or too much memory to evaluate."""


_DECIMAL_LITERAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)(?![\d.])|(?<![\w.])\.(\d+)(?![\d.])")


def _decimals_to_fractions(s: str) -> str:
    """``2.5x`` -> ``(25/10)x``: decimals are exact rationals, never floats."""

    def rep(m: re.Match) -> str:
        if m.group(1) is not None:
            whole, frac = m.group(1), m.group(2)
        else:
            whole, frac = "0", m.group(3)
        if len(whole) + len(frac) > MAX_DIGITS:
            raise Unparseable("number too long")
        return f"({int(whole + frac)}/{10 ** len(frac)})"

    return _DECIMAL_LITERAL.sub(rep, s)


def _log10_bound(e: Any, budget: list[int]) -> float:
    """An upper bound of log10 |value| of a sympy expression; raises TooLarge for towers."""
    import math

    import sympy

    budget[0] -= 1
    if budget[0] < 0:
        raise TooLarge("expression has too many parts")
    if isinstance(e, sympy.Integer):
        n = abs(int(e))
        return n.bit_length() * 0.30103 if n > 10**15 else math.log10(n + 1)
    if isinstance(e, sympy.Rational):
        return max(_log10_bound(sympy.Integer(e.p), budget), _log10_bound(sympy.Integer(e.q), budget))
    if isinstance(e, sympy.Float):
        return 20.0
    if isinstance(e, (sympy.Sum, sympy.Product)):
        for lim in e.limits:
            if len(lim) == 3 and lim[1].is_number and lim[2].is_number:
                lo, hi = _log10_bound(lim[1], budget), _log10_bound(lim[2], budget)
                if max(lo, hi) > 4.5:
                    raise TooLarge("sum or product over too many terms")
        return _log10_bound(e.function, budget) * 10**4.5
    if isinstance(e, sympy.Pow):
        b = _log10_bound(e.base, budget)
        x = _log10_bound(e.exp, budget)
        if e.exp.free_symbols:  # x^n: evaluated at points with floats, it cannot blow up
            return max(b, 1.0) * 10
        if x > 6:  # |exponent| > 10^6
            if b <= 0.31 and isinstance(e.base, sympy.Integer) and abs(int(e.base)) <= 1:
                return 0.0
            raise TooLarge("exponent tower too large to evaluate")
        if isinstance(e.exp, sympy.Rational):
            out = max(b, 1.0) * max(1.0, abs(float(e.exp)))  # 1/x, sqrt(x) do not grow
        else:
            out = max(b, 1.0) * (10**x)
        if out > MAX_DIGITS * 20:
            raise TooLarge("power too large to evaluate")
        return out
    if isinstance(e, (sympy.factorial, sympy.factorial2, sympy.gamma, sympy.subfactorial)):
        x = _log10_bound(e.args[0], budget)
        if x > 4.5:
            raise TooLarge("factorial too large to evaluate")
        n = 10**x
        return n * max(math.log10(n + 1), 1.0)
    if isinstance(e, sympy.binomial):
        x = max(_log10_bound(a, budget) for a in e.args)
        if x > 4.5:
            raise TooLarge("binomial too large to evaluate")
        return 10**x * 0.31
    if e.is_Atom:
        return 1.0
    if isinstance(e, sympy.exp):
        x = _log10_bound(e.args[0], budget)
        if x > 6:
            raise TooLarge("exponential too large to evaluate")
        return 0.44 * 10**x
    args = getattr(e, "args", ())
    if isinstance(e, sympy.Add) and args:  # |a + b + ...| <= n * max: log10 grows by log10(n)
        return max(_log10_bound(a, budget) for a in args) + math.log10(len(args))
    total = 0.0
    for a in args:
        total += _log10_bound(a, budget)
    if total > MAX_DIGITS * 40:
        raise TooLarge("expression too large to evaluate")
    if isinstance(e, sympy.Mul):
        return total  # log10 |a * b| = log10 |a| + log10 |b|
    return total + 1.0


def guard_size(expr: Any) -> None:
    """Raise TooLarge before sympy evaluates a tower like ``9^{9^{9^9}}``."""
    _log10_bound(expr, [5_000])


_SYMPY_CACHE: dict[str, Any] = {}


def to_sympy(text: str) -> Any:
    """A sympy expression for a scalar string (latex2sympy2_extended), size-guarded.

    Decimals become exact rationals; the symbol ``i`` is the imaginary unit; numbers
    like ``9^{9^{9^9}}`` raise :class:`TooLarge` before anything evaluates them.
    """
    hit = _SYMPY_CACHE.get(text)
    if hit is not None:
        if isinstance(hit, Exception):
            raise hit
        return hit
    try:
        out = _to_sympy(text)
    except Exception as e:  # noqa: BLE001
        err = e if isinstance(e, Unparseable) else Unparseable(f"cannot parse {text[:80]!r}: {type(e).__name__}")
        if len(_SYMPY_CACHE) > 4096:
            _SYMPY_CACHE.clear()
        _SYMPY_CACHE[text] = err
        raise err from None
    if len(_SYMPY_CACHE) > 4096:
        _SYMPY_CACHE.clear()
    _SYMPY_CACHE[text] = out
    return out


_PARSER_CLASSES: tuple[Any, Any, Any] | None = None


def _parser_classes() -> tuple[Any, Any, Any]:
    """latex2sympy2_extended's converter, and one that predicts with ANTLR's SLL mode.

    Both rest on the library's internal ``_Latex2Sympy`` class; if a release renames it,
    parsing falls back to the public ``latex2sympy()`` function (slower, same trees).
    """
    global _PARSER_CLASSES
    if _PARSER_CLASSES is None:
        from latex2sympy2_extended.latex2sympy2 import ConversionConfig

        config = ConversionConfig(lowercase_symbols=False)
        try:
            from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy
        except ImportError:
            _PARSER_CLASSES = (None, None, config)
            return _PARSER_CLASSES
        import sympy

        class _LLLatex2Sympy(_Latex2Sympy):  # type: ignore[misc, valid-type]
            def parse_number(self, text: str) -> Any:
                # digits become an Integer directly: sympy.Number(str) goes through
                # parse_expr, which runs "from sympy import *" on every call (~2 ms)
                t = text.replace(",", "")
                if t.isdigit() and len(t) <= MAX_DIGITS:
                    return sympy.Integer(int(t))
                return super().parse_number(text)

        _Latex2Sympy = _LLLatex2Sympy
        try:
            from antlr4 import PredictionMode

            class _SLLLatex2Sympy(_LLLatex2Sympy):  # type: ignore[misc, valid-type]
                def create_parser(self, latex_str: str) -> Any:
                    parser = super().create_parser(latex_str)
                    parser._interp.predictionMode = PredictionMode.SLL
                    return parser

            fast: Any = _SLLLatex2Sympy
        except Exception:  # noqa: BLE001 - another antlr4 runtime: plain LL parsing
            fast = None
        _PARSER_CLASSES = (_Latex2Sympy, fast, config)
    return _PARSER_CLASSES


def latex_to_sympy(t: str, fast_path: bool = True) -> Any:
    """Parse LaTeX: common answer forms with :mod:`prolong.envs.math.fast_latex` (the tree
    latex2sympy2_extended would build, without loading or warming its ANTLR parser),
    anything else with latex2sympy2_extended, ANTLR's two-stage way: SLL prediction
    first (much faster on nested brackets), full LL when SLL reports an error. ANTLR
    guarantees that a successful SLL parse is the tree LL would build."""
    if fast_path:
        from prolong.envs.math.fast_latex import convert

        out = convert(t)
        if out is not None:
            return out
    slow, fast, config = _parser_classes()
    if slow is None:
        from latex2sympy2_extended import latex2sympy

        return latex2sympy(t, normalization_config=None, conversion_config=config)
    if fast is not None:
        try:
            return fast(config=config).parse(t)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - a syntax error in SLL mode: retry with LL
            pass
    return slow(config=config).parse(t)


# "x^{2}" makes the grammar's SLL prediction fail (the parse then takes 15-30 ms in full LL
# mode); "(x)^{2}" is the same expression and parses in about 2 ms. Only after an operator
# or an opening bracket: "\ln e^2" is ln(e^2), "\ln (e)^2" would be ln(e)^2.
_POWER_BASE = re.compile(
    r"(?:^|(?<=[\d+\-*/=(\[{,|])\s*)([a-zA-Z]|\\(?:pi|theta|alpha|beta|gamma|phi|varphi|omega|lambda|mu|sigma|tau|rho)(?![a-zA-Z]))(?=\s*\^)"
)


_FUNCTION_CMD = re.compile(r"\\(?:ln|log|lg|exp|sin|cos|tan|sec|csc|cot|arc\w+|sinh|cosh|tanh|operatorname)(?![a-zA-Z])")


def _to_sympy(text: str) -> Any:
    import sympy

    t = text.replace("\\cdot", "\\cdot ").replace("\\times", "\\times ")
    if "\\overline" in t or "\\dot" in t or "\\bar" in t:
        t = REPEATING_IN_TEXT.sub(lambda m: "(" + str(repeating_value(m.group(1), m.group(2), m.group(3) or m.group(4))) + ")", t)
    t = _decimals_to_fractions(t)
    t = re.sub(r"\\text\{\s*\}", "", t)
    if "^" in t and not _FUNCTION_CMD.search(t):  # "\ln 2x^2": leave function arguments alone
        t = _POWER_BASE.sub(r"(\1)", t)
    expr = latex_to_sympy(t)
    if isinstance(expr, (list, tuple)):
        raise Unparseable("not a single expression")
    if not isinstance(expr, (sympy.Basic, sympy.MatrixBase)):
        raise Unparseable(f"not an expression: {type(expr).__name__}")
    if isinstance(expr, sympy.Basic):
        if isinstance(expr, (sympy.Set, sympy.Tuple)) or expr.is_Relational:
            raise Unparseable("a set or relation where an expression was expected")
        guard_size(expr)
        subs = {}
        for sym in expr.free_symbols:
            name = str(sym)
            if name in ("i", "I"):
                subs[sym] = sympy.I
            elif name == "e":
                subs[sym] = sympy.E
        if subs:
            expr = expr.xreplace(subs)
    return expr
