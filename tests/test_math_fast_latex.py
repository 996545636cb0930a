"""prolong.envs.math.fast_latex: the tree latex2sympy2_extended builds, or nothing (issue 11).

The fast path may decline any text (latex2sympy2_extended then parses it as before) but
must never build a different tree: every comparison here is structural (classes,
arguments and their order, symbol names and assumptions), on every answer of the
benchmark corpus and of the answer-form tests, on hand-picked quirks of the library's
grammar, and on thousands of random expressions of the subset (with noise that puts
the library's lexer traps in them).
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from prolong.envs.math import parse
from prolong.envs.math.extract import extract_answer
from prolong.envs.math.fast_latex import MAX_CHARS, convert

ROOT = Path(__file__).resolve().parents[1]


def tree(e):
    """A structural fingerprint: equal fingerprints are the same tree (argument order included)."""
    if isinstance(e, sympy.Symbol):
        return ("Symbol", e.name, tuple(sorted(e.assumptions0.items())))
    if not getattr(e, "args", ()):
        return (type(e).__name__, sympy.srepr(e))
    return (type(e).__name__, tuple(tree(a) for a in e.args))


def library(t: str):
    try:
        return parse.latex_to_sympy(t, fast_path=False)
    except Exception as e:  # noqa: BLE001 - the library's parse error is a result too
        return e


def disagreements(texts) -> tuple[int, list[str]]:
    """(how many texts the fast path read, the texts where it built another tree)."""
    parsed, bad = 0, []
    for t in texts:
        fast = convert(t)
        if fast is None:
            continue
        parsed += 1
        lib = library(t)
        if isinstance(lib, Exception):
            bad.append(f"{t!r}: the library fails ({type(lib).__name__}), fast path gives {sympy.srepr(fast)}")
        elif tree(lib) != tree(fast):
            bad.append(f"{t!r}: library {sympy.srepr(lib)}, fast path {sympy.srepr(fast)}")
    return parsed, bad


# --------------------------------------------------------------------------- real answers


def _strings(node):
    """The texts a structure hands to sympy."""
    if isinstance(node, parse.Scalar):
        yield node.text
    elif isinstance(node, parse.Equation):
        yield node.lhs
        yield node.rhs
    elif isinstance(node, parse.Relation):
        for part in re.split(r"\\le |\\ge |<|>", node.raw or node.text):
            if part.strip():
                yield part.strip()
    elif isinstance(node, (parse.Seq, parse.Union)):
        for item in node.items:
            yield from _strings(item)
    elif isinstance(node, parse.Matrix):
        for row in node.rows:
            for cell in row:
                yield from _strings(cell)


def _answer_texts() -> list[str]:
    sys.path.insert(0, str(ROOT / "benchmarks" / "data"))
    try:
        from math_corpus import HOSTILE, PROBLEMS
    finally:
        sys.path.pop(0)
    import test_math_answer_forms as forms

    answers = []
    for problems in PROBLEMS.values():
        for gold, rights, wrongs in problems:
            answers += [gold, *rights, *wrongs]
    for cases in forms.CASES.values():
        for gold, response, _ in cases:
            answers.append(gold)
            answers.append(extract_answer(response).answer)
    for gold, response, _ in HOSTILE:
        answers += [gold, extract_answer(response).answer]
    texts: list[str] = []
    for a in answers:
        if not a:
            continue
        try:
            texts.extend(_strings(parse.parse_structure(parse.normalize(a))))
        except parse.Unparseable:
            pass
    return list(dict.fromkeys(texts))


def _to_sympy_all(texts, fast_path: bool, monkeypatch) -> tuple[dict, list[str]]:
    """to_sympy of every text (a result or an exception), and the strings it handed to
    latex_to_sympy."""
    seen: list[str] = []
    convert_latex = parse.latex_to_sympy

    def recording(t: str, fast_path_: bool = True):
        seen.append(t)
        return convert_latex(t, fast_path)

    monkeypatch.setattr(parse, "_SYMPY_CACHE", {})
    monkeypatch.setattr(parse, "latex_to_sympy", recording)
    out = {}
    for t in texts:
        try:
            out[t] = tree(parse.to_sympy(t))
        except Exception as e:  # noqa: BLE001
            out[t] = (type(e).__name__, str(e))
    monkeypatch.setattr(parse, "latex_to_sympy", convert_latex)
    return out, seen


def test_every_answer_of_the_corpus_and_the_answer_forms_is_unchanged(monkeypatch):
    texts = _answer_texts()
    assert len(texts) > 250
    with_fast, inputs = _to_sympy_all(texts, True, monkeypatch)
    without, _ = _to_sympy_all(texts, False, monkeypatch)
    changed = [f"{t!r}: {without[t]} -> {with_fast[t]}" for t in texts if with_fast[t] != without[t]]
    assert not changed, "\n".join(changed)
    inputs = list(dict.fromkeys(inputs))
    parsed, bad = disagreements(inputs)
    assert not bad, "\n".join(bad)
    assert parsed > 350


def test_the_fast_path_reads_what_reaches_the_sympy_stage(monkeypatch):
    """The corpus answers the in-process stage cannot decide (``\\frac{\\sqrt{2}}{2}`` vs
    ``\\frac{1}{\\sqrt{2}}``, ``(x+1)^2``, ``3+4i``, ``\\frac{1}{2004!}``...) are read without
    latex2sympy2_extended: the point of the fast path (bench_math.py --cold)."""
    from prolong.envs.math.verify import MathVerifier

    sys.path.insert(0, str(ROOT / "benchmarks" / "data"))
    try:
        from math_corpus import build_corpus
    finally:
        sys.path.pop(0)
    verifier = MathVerifier()
    texts: list[str] = []
    for item in build_corpus(seed=0, hostile=False):
        verdict, gold, _, answer = verifier._first_stage(item["response"], item["gold"])
        if verdict is None:
            for a in (gold, answer):
                texts.extend(_strings(parse.parse_structure(parse.normalize(a))))
    _, inputs = _to_sympy_all(list(dict.fromkeys(texts)), True, monkeypatch)
    inputs = list(dict.fromkeys(inputs))
    assert len(inputs) > 60
    declined = [t for t in inputs if convert(t) is None]
    assert len(declined) <= 0.05 * len(inputs), declined


# --------------------------------------------------------------------------- the grammar's quirks

QUIRKS = [
    "2 3", "2\\frac{1}{2}", "-2\\frac{1}{2}", "2(25/10)", "2\\frac{3}{2}", "2\\frac{1}{2}x", "\\frac{1}{2}x",
    "1/2x", "a/b/c", "a/b c", "a \\cdot b c", "a \\div b \\times c", "-a/b", "2/-3", "-\\frac{1}{2}", "-x^2",
    "x+(a+b)", "x-(a+b)", "x-3", "x-\\frac{1}{2}", "x-\\pi", "x-\\infty", "-\\infty", "- - x", "+-x", "-(-2)",
    "\\sin x y", "\\sin(x) y", "\\sin x/2", "\\sin(x)/2", "\\sin x \\cdot y", "\\sin x \\cos x", "\\sin \\cos x",
    "\\sin x\\sqrt{2}", "\\sin \\sqrt{x} y", "\\sin(x)^2", "\\sin^2(x)", "\\sin^2 x", "\\sin^{-1} x", "\\tan^{-1}(1)",
    "\\sinh^{-1} x", "\\arcsin^2 x", "\\sin -x y", "\\sin(x)(y)", "\\sin x!", "\\cos 2x^2", "2\\sin x\\cos x",
    "\\ln e^2", "\\ln 2e", "\\ln(2)e", "\\ln 2x^2", "\\log 8", "\\log_2 8", "\\log_{10} 1000", "\\log_b x", "\\ln_2 x",
    "\\log^2 x", "\\exp(2)", "\\exp 2x", "e", "e^{x}", "e^2", "e^x y", "2e", "2e^2", "(e)^{2}", "e^{\\ln 5}",
    "e^{2\\ln 3}", "\\sqrt{2}", "\\sqrt[3]{x}", "\\sqrt[2]{8}", "\\sqrt{x}^2", "x^2", "x^{2}", "x^23", "2^34",
    "x^y", "x^\\pi", "x^\\infty", "\\pi^2", "\\theta^2", "(x)^2", "x^{-1}", "10^{-100}", "2^{-\\frac{1}{2}}",
    "x!", "2004!", "x!!", "(x+1)!", "x^2!", "\\frac{1}{2004!}", "1/2004!", "\\frac{1}{0}", "0/0", "\\frac{0}{0}",
    "3+4i", "3-4i", "i", "-i", "I", "2I", "x(x+1)", "(x-2)(x+3)", "3(x+2)", "\\pi(x+1)", "x (x + 1)",
    "{x}^2", "{2}x", "{1}{2}", "(((x)))", "\\frac {1} {2}", "\\dfrac{1}{2}", "\\tfrac{\\pi}{3}", "\\cfrac{1}{2}",
    "\\alpha\\beta", "\\Pi", "\\varphi + \\phi", "\\omega^2", "a\\,b", "a\\;b", "a\\!b", "a \\quad b", "0007",
    "d", "d+1", "d^2", "2d", "ad", "ed", "t", "r", "rt", "xy", "abc", "\\infty", "2\\infty", "\\infty^2",
    "+".join("\\" + g for g in (
        "alpha beta delta Delta epsilon varepsilon zeta eta theta Theta vartheta iota kappa lambda Lambda mu nu "
        "xi Xi omicron pi Pi varpi rho varrho sigma Sigma varsigma tau upsilon Upsilon phi Phi varphi chi psi Psi "
        "omega Omega"
    ).split()),
]


@pytest.mark.parametrize("text", QUIRKS)
def test_quirks_of_the_grammar_agree_with_the_library(text):
    parsed, bad = disagreements([text])
    assert not bad, bad[0]


def test_the_quirks_are_read_by_the_fast_path():
    read = [t for t in QUIRKS if convert(t) is not None]
    assert len(read) >= 0.9 * len(QUIRKS), [t for t in QUIRKS if convert(t) is None]


# texts the library's lexer or grammar reads differently than their look suggests, or
# forms outside the subset: the fast path must leave them to the library
DECLINED = [
    "dx", "2dx", "d \\pi", "d\\cdot 2", "x d y", "tr", "2tr", "rank", "eye", "eig", "gcd", "E", "2E5", "x^T", "x^{T}",
    "x(2)", "x(y)", "\\pi(2)", "x^2(3)", "f(x^2)", "x{(2)}", "x_1", "a_{12}", "2_3", "{x+1}", "({x})", "\\{1\\}",
    "1,2", "1,000", "x=1", "x<1", "x \\le 1", "3.5", ".5", "|x|", "\\left(x\\right)", "\\text{cm}", "\\mathrm{d}x",
    "x'", "30^\\circ", "50\\%", "50%", "\\gamma", "\\Gamma(x)", "\\binom{4}{2}", "\\pm 1", "\\sqrt x", "\\frac12",
    "x^-1", "x^y^z", "x^\\frac{1}{2}", "e^x^2", "\\sqrt[x]{2}", "\\sqrt[0]{2}", "\\sin_2 x", "\\log_2^3 x",
    "\\sin", "", "   ", "()", "{}", "x+", "(x", "x)", "\\unknown", "\\pix", "π", "x\u00a0y", "I^2", "\\lfloor x \\rfloor",
    "\\sum_{k=1}^{n} k", "\\int_0^1 x dx", "\\lim_{x \\to 0} x", "\\operatorname{lcm}(2, 3)", "\\max(1, 2)",
]


@pytest.mark.parametrize("text", DECLINED)
def test_traps_and_forms_outside_the_subset_are_declined(text):
    assert convert(text) is None


# --------------------------------------------------------------------------- hostile input


def test_hostile_input_is_declined_or_guarded():
    assert convert("1" * 1_000_000) is None
    assert convert("x+" * (MAX_CHARS // 2) + "x") is None  # longer than MAX_CHARS
    assert convert("(" * 200 + "x" + ")" * 200) is None  # deeper than MAX_DEPTH
    assert convert("-" * 200 + "x") is None
    assert convert("\\sqrt{" * 100 + "2" + "}" * 100) is None
    assert convert("2^{" * 100 + "2" + "}" * 100) is None
    # towers are built unevaluated, then the size guard of to_sympy refuses them as before
    for tower in ("9^{9^{9^{9}}}", "10^{10^{10}}", "2^{10^{100}}!", "\\frac{1}{10^{10^{10}}}"):
        assert convert(tower) is not None
        with pytest.raises(parse.TooLarge):
            parse.guard_size(convert(tower))
    assert convert("e^{10^{10^{10}}}") is None  # sympy.exp would evaluate it: the library's way


def test_the_fast_path_does_not_load_the_antlr_parser():
    code = (
        "import sys\n"
        "from prolong.envs.math.parse import to_sympy\n"
        "for t in ['\\\\frac{\\\\sqrt{2}}{2}', '(x+1)^2', '3+4i', '\\\\frac{1}{2004!}', '\\\\sin(30\\\\cdot\\\\frac{\\\\pi}{180})']:\n"
        "    to_sympy(t)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('latex2sympy2_extended', 'antlr4'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=str(ROOT))
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- random expressions

_LETTERS = "xyzabnkmtiI"
_GREEK = ["\\pi", "\\theta", "\\alpha", "\\pi", "\\omega", "\\phi", "\\Pi", "\\varphi"]
_FUNCS = ["\\sin", "\\cos", "\\tan", "\\sec", "\\csc", "\\cot", "\\ln", "\\log", "\\exp",
          "\\arcsin", "\\arccos", "\\arctan", "\\sinh", "\\cosh", "\\tanh"]
_BINARY = ["\\cdot", "\\times", "*", "\\cdot", "/", "\\div"]
_NOISE = ["d", "E", "T", "I", "e", ",", "|", "_1", "'", "^\\circ", "\\%", ".5", "tr", "\\gamma", "=", "[", "]",
          "dx", "\\left(", " ", "{", "}", "(", ")", "x(2)", "f(x)", "\\,", "!", "^T", "^{T}", "ey", "\\infty",
          "2.", "^", "\\sqrt", "\\frac", "d \\pi", "(3)", "^2", "^{2}", "x(y)", "\\pi(2)", "{(", "\\log", "\\sin",
          "-", "+", "/", "\\cdot", "2"]


class _Expressions:
    """Random expressions of the subset's grammar (bounded depth), sometimes with noise."""

    def __init__(self, seed: int, depth: int = 2) -> None:
        self.r = random.Random(seed)
        self.depth = depth

    def sp(self) -> str:
        return self.r.choice(("", "", "", " "))

    def atom(self) -> str:
        r, k = self.r, self.r.random()
        if k < 0.45:
            return str(r.choice((0, 1, 2, 2, 3, 3, 4, 5, 7, 9, 10, 12, 100, r.randint(0, 10**4))))
        if k < 0.78:
            return r.choice(_LETTERS)
        if k < 0.93:
            return r.choice(_GREEK)
        return "e" if k < 0.98 else "\\infty"

    def expr(self, d: int) -> str:
        s = self.term(d)
        for _ in range(self.r.choice((0, 0, 0, 1, 1, 2)) if d < self.depth else 0):
            s += self.sp() + self.r.choice("+-") + self.sp() + self.term(d)
        return s

    def term(self, d: int) -> str:
        r = self.r
        s = (r.choice("-+") + self.sp()) if r.random() < 0.15 else ""
        s += self.seq(d)
        for _ in range(r.choice((0, 0, 0, 1, 1, 2)) if d < self.depth else 0):
            if r.random() < 0.6:
                op = r.choice(_BINARY)
                s += self.sp() + op + (" " if op[0] == "\\" else self.sp())
            else:
                s += self.sp()
            s += self.seq(d)
        return s

    def seq(self, d: int) -> str:
        return self.sp().join(self.postfix(d) for _ in range(self.r.choice((1, 1, 1, 2, 2, 3))))

    def postfix(self, d: int) -> str:
        r = self.r
        s = self.primary(d)
        if r.random() < 0.2:
            kind = r.choice(("atom", "brace", "2", "{-1}", "neg"))
            if kind == "atom":
                e = self.atom()
                e = "3" if e == "e" else e
            elif kind == "brace":
                e = "{" + (self.expr(d + 1) if d < self.depth else self.atom()) + "}"
            elif kind == "neg":
                e = "{-" + self.atom() + "}"
            else:
                e = kind
            s += self.sp() + "^" + self.sp() + e
        if r.random() < 0.05:
            s += "!"
        return s

    def primary(self, d: int) -> str:
        r = self.r
        k = r.random() if d < self.depth else 0.0
        if k < 0.5:
            return self.atom()
        if k < 0.62:
            o = r.choice("((({")
            return o + self.expr(d + 1) + (")" if o == "(" else "}")
        if k < 0.74:
            frac = r.choice(("\\frac", "\\frac", "\\dfrac", "\\tfrac"))
            return frac + self.sp() + "{" + self.expr(d + 1) + "}" + self.sp() + "{" + self.expr(d + 1) + "}"
        if k < 0.84:
            root = "[" + r.choice(("3", "2", "4", "n", "1+1")) + "]" if r.random() < 0.25 else ""
            return "\\sqrt" + root + "{" + self.expr(d + 1) + "}"
        f = r.choice(_FUNCS)
        if r.random() < 0.25:
            f += "^" + r.choice(("2", "{2}", "{-1}", "3", "n", "{-1}"))
        if f.startswith(("\\log", "\\ln")) and r.random() < 0.5:
            f += "_" + r.choice(("2", "{10}", "3", "b", "{2}"))
        if r.random() < 0.5:
            return f + self.sp() + "(" + self.expr(d + 1) + ")"
        return f + " " + (self.seq(d + 1) if r.random() < 0.7 else self.term(d + 1))

    def sample(self, count: int, max_len: int = 48, noise: float = 0.3) -> list[str]:
        out: list[str] = []
        while len(out) < count:
            s = self.expr(0)
            if len(s) > max_len:
                continue
            if self.r.random() < noise:
                for _ in range(self.r.choice((1, 1, 2))):
                    p = self.r.randint(0, len(s))
                    s = s[:p] + self.r.choice(_NOISE) + s[p:]
            out.append(s)
        return out


def test_random_expressions_quick():
    texts = _Expressions(seed=7).sample(80)
    parsed, bad = disagreements(texts)
    assert not bad, "\n".join(bad)
    assert parsed > 30


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_expressions(seed):
    texts = _Expressions(seed=seed, depth=2 if seed < 4 else 3).sample(500, max_len=48 if seed < 4 else 90)
    parsed, bad = disagreements(texts)
    assert not bad, "\n".join(bad)
    assert parsed > 200
