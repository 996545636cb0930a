"""A labelled corpus of (response, gold) pairs that look like real model output.

Each item is ``{"response", "gold", "label", "cls"}``: ``label`` is the intended truth
(under prolong's documented policy where a policy is needed: see docs/math.md), ``cls``
the answer class. Problems are drawn like GRPO groups (several responses per gold);
responses are chain-of-thought text with intermediate numbers, then the final answer
in one of several styles (``\\boxed{}``, an "Answer:" line, Minerva's "The final answer
is $x$. I hope it is correct.", ``</think>`` then a box, bold, an earlier abandoned box).

``build_corpus(seed)`` is deterministic.
"""

from __future__ import annotations

import random

__all__ = ["PROBLEMS", "STYLES", "build_corpus", "HOSTILE"]

# class -> list of (gold, [correct answers], [wrong answers])
PROBLEMS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "integer": [
        ("42", ["42", "42.0", "+42"], ["41", "-42", "24"]),
        ("-7", ["-7", "- 7", "(-7)"], ["7", "-17"]),
        ("2024", ["2024", "2,024"], ["2023", "2025"]),
        ("0", ["0", "0.0"], ["1", "-1"]),
    ],
    "separators": [
        ("1000", ["1,000", "1\\,000", "1{,}000", "1000"], ["100", "10000", "1,001"]),
        ("1234567", ["1,234,567", "1\\,234\\,567", "1234567"], ["1,234,576", "123,456"]),
    ],
    "fraction": [
        ("\\frac{1}{2}", ["\\frac{1}{2}", "\\dfrac{1}{2}", "1/2", "0.5", "\\tfrac12", "\\frac{2}{4}"], ["\\frac{1}{3}", "0.49", "2"]),
        ("\\frac{3}{4}", ["0.75", "\\frac34", "3/4", "\\dfrac{3}{4}"], ["\\frac{4}{3}", "0.7", "0.74"]),
        ("-\\frac{2}{3}", ["-\\frac{2}{3}", "\\frac{-2}{3}", "-2/3", "-\\dfrac{2}{3}"], ["\\frac{2}{3}", "-\\frac{3}{2}"]),
        ("\\frac{5}{12}", ["\\frac{5}{12}", "\\frac{10}{24}", "5/12"], ["\\frac{7}{12}", "\\frac{5}{11}"]),
    ],
    "mixed_number": [
        ("\\frac{7}{2}", ["3\\frac{1}{2}", "3\\frac12", "3.5", "7/2"], ["3\\frac{1}{3}", "\\frac{2}{7}", "3"]),
        ("\\frac{11}{4}", ["2\\frac{3}{4}", "2.75", "\\frac{11}{4}"], ["2\\frac{1}{4}", "11"]),
    ],
    "decimal_vs_exact": [
        ("\\frac{1}{3}", ["\\frac{1}{3}", "1/3", "\\frac{2}{6}"], ["0.333", "0.33", "0.3333333"]),
        ("\\frac{1}{7}", ["\\frac{1}{7}", "\\dfrac{1}{7}"], ["0.142857", "0.14", "0.1428571"]),
        ("\\frac{\\sqrt{2}}{2}", ["\\frac{\\sqrt2}{2}", "\\frac{1}{\\sqrt{2}}", "\\sqrt{2}/2"], ["0.7071", "0.707107", "\\sqrt{2}"]),
        ("\\frac{2}{3}", ["\\frac{2}{3}", "\\frac{4}{6}"], ["0.667", "0.6667", "0.66"]),
    ],
    "decimal_gold": [
        ("0.33", ["0.33", "\\frac{1}{3}", "0.333"], ["0.3", "0.34", "0.35"]),
        ("3.14", ["3.14", "\\pi", "3.141"], ["3.15", "3.1", "3.2"]),
        ("2.5", ["2.5", "\\frac{5}{2}", "2.50"], ["2.4", "25", "2.6"]),
    ],
    "percent": [
        ("50\\%", ["50\\%", "50", "50%", "0.5", "50 percent"], ["5\\%", "0.05", "500"]),
        ("12.5\\%", ["12.5\\%", "12.5", "\\frac{1}{8}"], ["12\\%", "1.25"]),
    ],
    "radical": [
        ("2\\sqrt{3}", ["2\\sqrt{3}", "\\sqrt{12}", "2 \\sqrt 3", "2\\sqrt3"], ["3\\sqrt{2}", "\\sqrt{6}", "3.464"]),
        ("\\sqrt{5}", ["\\sqrt5", "\\sqrt{5}", "5^{1/2}"], ["5", "\\sqrt{3}", "2.236"]),
        ("3+2\\sqrt{2}", ["3+2\\sqrt{2}", "2\\sqrt2+3", "(1+\\sqrt{2})^2"], ["3-2\\sqrt{2}", "5", "3+\\sqrt{2}"]),
        ("\\frac{\\sqrt{3}}{3}", ["\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt3}{3}"], ["\\frac{\\sqrt{3}}{2}", "\\sqrt{3}", "0.577"]),
    ],
    "pi_e": [
        ("4\\pi", ["4\\pi", "\\pi \\cdot 4", "4 \\pi"], ["2\\pi", "12.566", "4"]),
        ("\\frac{\\pi}{3}", ["\\frac{\\pi}{3}", "\\pi/3", "\\frac{1}{3}\\pi"], ["\\frac{\\pi}{6}", "1.047", "\\frac{2\\pi}{3}"]),
        ("e^{2}", ["e^2", "e^{2}", "\\exp(2)"], ["2e", "7.389", "e^{3}"]),
        ("18\\pi", ["18\\pi", "18 \\pi"], ["36\\pi", "9\\pi", "56.55"]),
    ],
    "symbolic": [
        ("x^2+2x+1", ["x^2+2x+1", "(x+1)^2", "1+2x+x^2"], ["x^2+1", "(x-1)^2", "x^2+2x"]),
        ("(x-2)(x+3)", ["(x-2)(x+3)", "x^2+x-6", "(x+3)(x-2)"], ["(x+2)(x-3)", "x^2-x-6"]),
        ("\\frac{x+1}{x-1}", ["\\frac{x+1}{x-1}", "\\frac{1+x}{x-1}", "(x+1)/(x-1)"], ["\\frac{x-1}{x+1}", "x+1"]),
        ("3x+6", ["3x+6", "3(x+2)", "6+3x"], ["3x+2", "x+6", "3x"]),
        ("2n+1", ["2n+1", "1+2n"], ["2n-1", "n+1"]),
    ],
    "equation": [
        ("x=2", ["2", "x=2", "x = 2"], ["3", "x=-2", "-2"]),
        ("y=2x+1", ["y=2x+1", "2x+1=y", "y = 1 + 2x"], ["y=2x-1", "y=x+1", "y = 2x"]),
        ("x^2+y^2=25", ["x^2+y^2=25", "y^2+x^2=25", "x^2 + y^2 - 25 = 0"], ["x^2+y^2=5", "x^2-y^2=25"]),
    ],
    "interval": [
        ("(-\\infty, 3)", ["(-\\infty,3)", "x<3", "\\left(-\\infty, 3\\right)"], ["(-\\infty,3]", "(3,\\infty)", "x \\le 3"]),
        ("[2, 5)", ["[2,5)", "2 \\le x < 5", "\\left[2, 5\\right)"], ["(2,5)", "[2,5]", "(2, 5]"]),
        ("(-\\infty,-2] \\cup [3,\\infty)", ["(-\\infty,-2]\\cup[3,\\infty)", "[3,\\infty)\\cup(-\\infty,-2]", "(-\\infty, -2] \\cup [3, \\infty)"], ["(-\\infty,-2)\\cup(3,\\infty)", "[-2,3]"]),
    ],
    "roots_set": [
        ("1, 2", ["1, 2", "2, 1", "x=1 \\text{ or } x=2", "\\{1,2\\}", "x = 1, x = 2"], ["1", "1, 3", "-1, -2"]),
        ("-3, 5", ["-3, 5", "5, -3", "x = -3 \\text{ and } x = 5"], ["3, -5", "-3", "-3, -5"]),
        ("-4, 0, 4", ["0, 4, -4", "-4, 0, 4", "\\{-4, 0, 4\\}"], ["0, 4", "-4, 4"]),
    ],
    "tuple": [
        ("(1, 2)", ["(1,2)", "\\left(1, 2\\right)", "(1, 2)"], ["(2, 1)", "(1, 3)", "(2, 2)"]),
        ("(3, -4)", ["(3,-4)", "(3, -4)", "\\left( 3, -4 \\right)"], ["(-4, 3)", "(3, 4)"]),
        ("(-\\frac{11}{5}, \\frac{13}{15})", ["\\left(-\\frac{11}{5}, \\frac{13}{15}\\right)", "(-11/5, 13/15)", "(-2.2, \\frac{13}{15})"], ["(\\frac{13}{15}, -\\frac{11}{5})", "(-\\frac{11}{5}, -\\frac{13}{15})"]),
    ],
    "matrix": [
        ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", ["\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1 & 2\\\\ 3 & 4\\end{bmatrix}"], ["\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&5\\end{pmatrix}"]),
        ("\\begin{pmatrix} 2 \\\\ -1 \\end{pmatrix}", ["\\begin{pmatrix}2\\\\-1\\end{pmatrix}", "\\begin{bmatrix} 2 \\\\ -1 \\end{bmatrix}"], ["\\begin{pmatrix}-1\\\\2\\end{pmatrix}", "\\begin{pmatrix}2\\\\1\\end{pmatrix}"]),
    ],
    "degrees": [
        ("30^\\circ", ["30^\\circ", "30", "30^{\\circ}", "30 degrees", "\\frac{\\pi}{6}"], ["60^\\circ", "150^\\circ", "0.5236"]),
        ("120^\\circ", ["120", "120^\\circ"], ["60", "\\frac{\\pi}{3}"]),
    ],
    "units_text": [
        ("5", ["5 \\text{ cm}", "5\\text{ cm}", "5 cm", "5 \\mbox{ meters}"], ["6 \\text{ cm}", "25 \\text{ cm}^2"]),
        ("18.90", ["\\$18.90", "18.90", "18.9", "\\$ 18.90"], ["18.09", "\\$19"]),
        ("\\text{Monday}", ["Monday", "\\text{Monday}", "\\textbf{Monday}"], ["Tuesday", "\\text{Sunday}"]),
        ("12", ["12 \\text{ inches}", "12 inches", "12\\text{ in}"], ["13 inches", "1 foot"]),
    ],
    "choice": [
        ("\\text{(C)}", ["C", "(C)", "\\text{(C)}", "\\textbf{(C)}", "\\text{C}"], ["B", "(D)", "\\text{(A)}"]),
        ("B", ["B", "(B)", "\\textbf{(B)}"], ["C", "A", "(E)"]),
    ],
    "plus_minus": [
        ("\\pm 3", ["\\pm 3", "3, -3", "-3, 3", "x = \\pm 3"], ["3", "-3", "\\pm 9"]),
        ("1 \\pm \\sqrt{2}", ["1\\pm\\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2"], ["1+\\sqrt{2}", "-1\\pm\\sqrt{2}"]),
    ],
    "scientific": [
        ("3 \\times 10^{8}", ["3\\times10^{8}", "3 \\times 10^8", "300000000", "3e8", "3 \\cdot 10^{8}"], ["3\\times10^{9}", "3e7", "30000000"]),
        ("6.02 \\times 10^{23}", ["6.02\\times10^{23}", "6.02e23", "6.020 \\times 10^{23}"], ["6.2\\times 10^{23}", "6.02\\times10^{22}"]),
    ],
    "complex": [
        ("3+4i", ["3+4i", "4i+3", "3 + 4\\mathrm{i}"], ["3-4i", "4+3i", "5"]),
        ("-1 + i", ["-1+i", "i-1"], ["1-i", "-1", "1+i"]),
        ("i", ["i", "\\mathrm{i}", "\\sqrt{-1}"], ["-i", "1"]),
    ],
    "unicode": [
        ("-\\frac{1}{2}", ["\u2212\\frac{1}{2}", "\u22121/2", "\u22120.5"], ["\\frac{1}{2}", "\u22122"]),
        ("\\sqrt{3}", ["\u221a3", "\u221a(3)", "\\sqrt{3}"], ["\u221a2", "3"]),
        ("\\pi", ["\u03c0", "\\pi"], ["2\u03c0", "3.14"]),
        ("45^\\circ", ["45\u00b0", "45"], ["135\u00b0", "44\u00b0"]),
    ],
    "tiny_difference": [
        ("\\frac{1}{2004!}", ["\\frac{1}{2004!}", "1/2004!"], ["\\frac{1}{2006!}", "\\frac{1}{2003!}"]),
        ("2^{100}", ["2^{100}", "1267650600228229401496703205376", "4^{50}"], ["2^{99}", "1267650600228229401496703205377"]),
        ("1000001", ["1000001", "1,000,001"], ["1000000", "1000002"]),
        ("\\frac{10001}{10000}", ["1.0001", "\\frac{10001}{10000}"], ["1", "1.001"]),
    ],
}

_STEPS = [
    "First, note that {a} + {b} = {c}.",
    "We can rewrite the expression and simplify term by term.",
    "Multiplying both sides by {a} gives {d}.",
    "Let me double-check: {b} \\times {a} = {e}.",
    "So the intermediate value is ${c}$, which we substitute back.",
    "Now we consider the cases separately.",
    "Using the formula from before, we get ${d}$ for the second part.",
    "Hmm, wait. Let me reconsider the constraint on the variable.",
    "This matches the condition we found earlier, so it is consistent.",
    "Subtracting, we obtain {e} - {a} = {f}.",
]


def _reasoning(rng: random.Random, n: int) -> str:
    a, b = rng.randint(2, 40), rng.randint(2, 40)
    vals = {"a": a, "b": b, "c": a + b, "d": a * 3, "e": a * b, "f": a * b - a}
    lines = ["Let's solve this step by step."]
    for _ in range(n):
        lines.append(rng.choice(_STEPS).format(**vals))
    return "\n\n".join(lines)


STYLES = (
    "boxed after 'the final answer is'",
    "**Final Answer** then \\[\\boxed{}\\]",
    "plain 'Answer:' line",
    "Minerva 'The final answer is $x$. I hope it is correct.'",
    "</think> then a box",
    "'So the answer is' and a box",
    "an abandoned box, then the final box",
    "'**Answer:** $x$'",
    "$$\\boxed{}$$ on its own line",
)


def _present(rng: random.Random, answer: str, wrong_decoy: str) -> tuple[str, int]:
    """A response ending with ``answer`` in one of several realistic styles (and the style)."""
    style = rng.randrange(9)
    return _styled(rng, answer, wrong_decoy, style), style


def _styled(rng: random.Random, answer: str, wrong_decoy: str, style: int) -> str:
    body = _reasoning(rng, rng.randint(2, 7))
    if style == 0:
        return f"{body}\n\nTherefore, the final answer is $\\boxed{{{answer}}}$."
    if style == 1:
        return f"{body}\n\n**Final Answer**\n\\[\n\\boxed{{{answer}}}\n\\]"
    if style == 2:
        return f"{body}\n\nAnswer: {answer}"
    if style == 3:
        return f"{body}\n\nThe final answer is ${answer}$. I hope it is correct."
    if style == 4:
        return f"<think>\n{body}\n</think>\n\nThe answer is $\\boxed{{{answer}}}$."
    if style == 5:
        return f"{body}\n\nSo the answer is $\\boxed{{{answer}}}$"
    if style == 6:
        return f"{body}\n\nAt first I got $\\boxed{{{wrong_decoy}}}$, but that ignores a case.\n\nCorrecting it, the answer is $\\boxed{{{answer}}}$."
    if style == 7:
        return f"{body}\n\n**Answer:** ${answer}$"
    return f"{body}\n\nThus\n$$\\boxed{{{answer}}}$$"


NO_ANSWER = [
    "Let's think. We have 3 + 4 = 7 and then 7 * 2 = 14. I need to check the other case, which gives",
    "<think>\nThe sum is 12, and then dividing by 3 gives 4. Let me verify this carefully, considering",
    "I am not sure how to solve this problem. It could be 5 or 6.",
    "We compute the derivative: f'(x) = 2x + 3, so f'(1) = 5. Then the integral from 0 to 1 is",
]

# (gold, response, label): must return quickly and must not be fooled
HOSTILE = [
    ("9^{9^{9^9}}", "\\boxed{9^{9^{9^{9}}}}", True),
    ("10", "The answer is $\\boxed{10^{10^{10}}}$", False),
    ("1", "\\boxed{" + "(" * 5000 + "1" + ")" * 5000 + "}", False),
    ("5", "\\boxed{\\frac{1}{2}", False),
    ("5", "Answer: \x00\x01\x02 5\x7f" + "\x00" * 100, True),
    ("3", "x" * 1_000_000 + " The answer is \\boxed{4}.", False),
    ("7", " ".join(f"\\boxed{{{i}}}" for i in range(1000)), False),
    ("2", "\\boxed{" + "+".join(f"x^{{{i}}}" for i in range(400)) + "}", False),
]


def build_corpus(seed: int = 0, responses_per_problem: int = 16, hostile: bool = True) -> list[dict]:
    """The labelled corpus: every problem gets ``responses_per_problem`` responses
    (about 60% right, 35% wrong, 5% without a final answer)."""
    rng = random.Random(seed)
    items: list[dict] = []
    for cls, problems in PROBLEMS.items():
        for gold, rights, wrongs in problems:
            for k in range(responses_per_problem):
                roll = rng.random()
                decoy = rng.choice(wrongs)
                if roll < 0.05:
                    items.append({"response": rng.choice(NO_ANSWER), "gold": gold, "label": False, "cls": "no_answer"})
                elif roll < 0.62 or k < len(rights):
                    ans = rights[k % len(rights)] if k < len(rights) else rng.choice(rights)
                    response, style = _present(rng, ans, decoy)
                    items.append({"response": response, "gold": gold, "label": True, "cls": cls, "answer": ans, "style": STYLES[style]})
                else:
                    ans = rng.choice(wrongs)
                    response, style = _present(rng, ans, rights[0])
                    items.append({"response": response, "gold": gold, "label": False, "cls": cls, "answer": ans, "style": STYLES[style]})
    if hostile:
        for gold, resp, label in HOSTILE:
            items.append({"response": resp, "gold": gold, "label": label, "cls": "hostile"})
    return items
