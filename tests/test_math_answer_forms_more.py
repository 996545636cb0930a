"""More answer forms of real model output and datasets (issue 11, second round).

Classes found by running other graders' labelled test suites against prolong (math-verify,
NeMo-Skills' math_equal, hendrycks-style is_equiv tests, Qwen2.5-Math's grader examples):
decimal commas, a final conclusion sentence without an "answer" marker, bare answers,
multi-part boxes, assignments against tuple golds, nonlinear inequalities, computations
that end in their value, constant approximations, long float renderings, partly doubled
backslashes, matrix arithmetic, choice golds with a value, golds of several boxes or a
whole worked solution. The cases are our own; every class has near-misses that must stay
wrong. Each case is (gold, response, expected) and the whole response is scored.
"""

from __future__ import annotations

import time

import pytest

from prolong.envs.math import MathVerifier, extract_answer

VERIFIER = MathVerifier()


def box(ans: str) -> str:
    return f"Let me work through this carefully.\n\nSo the final result is $\\boxed{{{ans}}}$."


CASES: dict[str, list[tuple[str, str, bool]]] = {
    "decimal comma": [
        ("3.5", box("3{,}5"), True),
        ("3.5", box("3,5"), True),
        ("2.75", "Die Antwort ist $\\boxed{2,75}$.", True),
        ("0.25", box("0,25"), True),
        ("0,25", box("0.25"), True),
        ("1,5", "The answer is $1.5$.", True),
        ("3.5", box("3, 5"), False),  # a list of two numbers
        ("35", box("3,5"), False),
        ("1", box("1,000"), False),  # a thousand
        ("1000", box("1,000"), True),
        ("3.5", box("3,4"), False),
        ("(3,5)", box("3.5"), False),  # a point is not a decimal
        ("0,25", box("25"), False),
    ],
    "conclusion sentence": [
        ("\\frac{2}{3}", "Each round Alice wins with probability 1/2, and the game restarts otherwise.\n"
                         "Summing the geometric series gives the total.\n"
                         "Therefore, the probability that Alice wins the game is 2/3.", True),
        ("12", "We list the differences 1 through 12 and check each one.\n"
               "Thus, there are 12 arithmetic sequences that satisfy all the conditions.", True),
        ("(7,6)", "Substituting back, $y = 8.8 - 0.4 \\cdot 7 = 6$.\n"
                  "So, the ordered pair $(x, y)$ that solves the system is $(7, 6)$.", True),
        ("36", "The rectangle has sides 4 and 9.\nHence the area of the rectangle is $36$.", True),
        ("x = 4", "Subtracting 3 from both sides and dividing by 2,\nTherefore $x = 4$ is the solution.", True),
        ("25", "Adding the two counts we get the total.\nIn total, the shop sold 25 bicycles on Saturday.", True),
        ("25", "Adding the two counts we get the total.\nIn total, the shop sold 24 bicycles on Saturday.", False),
        ("5", "We test the candidates one by one.\nTherefore, the answer is not 5.", False),
        ("5", "We test the candidates one by one.\nSo maybe the smallest value is 5.", False),
        ("10", "We need 3 more apples.\nThus, we need 3 more apples, giving 10 apples in total.", False),
        ("12", "We count the cases.\nTherefore, the total number of cases is 12 and then we subtract the", False),
        ("5", "We try again.\nTherefore, x = 5. Next we check the second equation to be sure.", False),
        ("7", "The value of $x$ is 7 for the first case.\nBut the second case needs more work.", False),
    ],
    "bare answer": [
        ("odd", "\\text{odd}", True),
        ("\\text{odd}", "odd", True),
        ("even", "\\text{odd}", False),
        ("17", "17\\text{ cm}", True),
        ("\\begin{pmatrix}1&0\\\\0&2\\end{pmatrix}", "\\begin{bmatrix} 1 & 0 \\\\ 0 & 2 \\end{bmatrix}", True),
        ("\\begin{pmatrix}1&0\\\\0&2\\end{pmatrix}", "\\begin{bmatrix} 1 & 0 \\\\ 2 & 0 \\end{bmatrix}", False),
        ("\\frac{x^2+1}{(x-1)^3}", "\\frac{x^{2}+1}{x^{3}-3x^{2}+3x-1} + \\frac{0}{x-1}", True),
        ("8", "I think it is 8", False),
    ],
    "multi-part boxes": [
        ("5, 7", "**(a)** $\\boxed{5}$\n\n**(b)** $\\boxed{7}$", True),
        ("12, 20", "$$\\boxed{12} \\text{ for (i) and } \\boxed{20} \\text{ for (ii)}$$", True),
        ("(2,1), (0,3)", "\\[\\boxed{(2, 1)} \\text{ for part (a) and } \\boxed{(0, 3)}\\]", True),
        ("5, 7", "**Part (a):** $\\boxed{5}$\n\n**Part (b):** $\\boxed{8}$", False),
        ("7", "**(a)** $\\boxed{5}$\n\n**(b)** $\\boxed{7}$", False),
        ("3, 4", "The farmer has $\\boxed{3}$ cows and $\\boxed{4}$ goats.", True),
    ],
    "assignments as tuples": [
        ("(5, 2)", box("p = 5,\\ q = 2"), True),
        ("(5, 2)", box("q = 2, p = 5"), True),
        ("(1, 2)", box("a=1; b=2"), True),
        ("x=3, y=-1", box("(3, -1)"), True),
        ("(2,3),(3,2)", box("x=2, y=3; x=3, y=2"), True),
        ("p=5,q=2;p=7,q=2", box("(5,2),(7,2)"), True),
        ("(5, 2)", box("p = 2, q = 5"), False),
        ("(3, -1)", box("x = 3"), False),
        ("(2,3),(3,2)", box("x=2, y=3"), False),
        ("(1, 2)", box("a = 2, b = 1"), False),
    ],
    "nonlinear inequality": [
        ("x^2 < 9", box("-3 < x < 3"), True),
        ("-3 < x < 3", box("x^2 < 9"), True),
        ("x^2 < 9", box("(-3, 3)"), True),
        ("x^2 < 9", box("x^2 - 9 < 0"), True),
        ("|x - 1| \\le 2", box("[-1, 3]"), True),
        ("x^2 \\ge 4", box("x \\le -2 \\text{ or } x \\ge 2"), True),
        ("(-\\infty,-1)\\cup(2,\\infty)", box("\\frac{x-2}{x+1} > 0"), True),
        ("1 \\le |t| \\le 2", box("t \\in [-2,-1] \\cup [1,2]"), True),
        ("x^2 < 9", box("[-3, 3]"), False),
        ("x^2 < 9", box("x < 3"), False),
        ("|x - 1| \\le 2", box("(-1, 3)"), False),
        ("x^2 \\ge 4", box("x \\ge 2"), False),
        ("(-\\infty,-1)\\cup(2,\\infty)", box("\\frac{x-2}{x+1} \\ge 0"), False),
    ],
    "computation with its value": [
        ("12", box("3 \\times 4 = 12"), True),
        ("4", "Answer: $\\frac{1}{2} \\cdot 8 = 4$", True),
        ("12", box("12 = n"), True),
        ("12", box("3 \\times 4 = 13"), False),
        ("12", box("2x + y = 12"), False),
    ],
    "approximation of a constant": [
        ("\\frac{\\sqrt{3}}{3}", box("\\frac{\\sqrt{3}}{3} \\approx 0.577"), True),
        ("0.577", box("\\frac{\\sqrt{3}}{3} \\approx 0.577"), True),
        ("\\frac{\\sqrt{3}}{3}", box("\\frac{\\sqrt{2}}{2} \\approx 0.707"), False),
        ("\\frac{\\sqrt{3}}{3}", box("x \\approx 0.577"), False),
    ],
    "float rendering": [
        ("\\frac{1}{12}", box("0.0833333333333333"), True),
        ("\\sqrt{2}", box("1.4142135624"), True),
        ("\\sqrt{2}", box("1.4142135623"), True),  # cut off, not rounded
        ("\\frac{1}{7}", box("0.142857142857"), True),
        ("\\frac{1}{12}", box("0.08333"), False),
        ("\\sqrt{2}", box("1.4142135625"), False),
        ("\\frac{1}{7}", box("0.142857"), False),
        ("\\frac{3}{10}", box("0.30000000000000004"), False),
        ("2", box("1.9999999999999998"), False),
    ],
    "partly doubled backslashes": [
        ("\\frac{5}{6}", "So the sum is $\\boxed{\\\\dfrac{1}{2}+\\frac{1}{3}}$.", True),
        ("2\\sqrt{2}", "The length is $\\boxed{\\\\sqrt{8}}$.", True),
        ("\\frac{5}{6}", "So the sum is $\\boxed{\\\\dfrac{1}{2}+\\frac{1}{4}}$.", False),
    ],
    "matrix arithmetic": [
        ("\\begin{pmatrix}2&2\\\\0&2\\end{pmatrix}",
         box("\\begin{pmatrix}1&2\\\\0&1\\end{pmatrix}+\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}"), True),
        ("\\begin{pmatrix}1&4\\\\0&1\\end{pmatrix}",
         box("\\begin{pmatrix}1&2\\\\0&1\\end{pmatrix}\\begin{pmatrix}1&2\\\\0&1\\end{pmatrix}"), True),
        ("\\begin{pmatrix}2&2\\\\0&2\\end{pmatrix}",
         box("\\begin{pmatrix}1&2\\\\0&1\\end{pmatrix}+\\begin{pmatrix}1&0\\\\1&1\\end{pmatrix}"), False),
    ],
    "choice gold with a value": [
        ("B. 12", box("B"), True),
        ("B. 12", box("\\text{(B)}"), True),
        ("B. 12", box("12"), True),
        ("B. 12", box("C"), False),
        ("D: x = 4", box("D"), True),
    ],
    "gold of several boxes": [
        ("\\boxed{3} cats and \\boxed{4} dogs", box("3, 4"), True),
        ("\\boxed{3} cats and \\boxed{4} dogs", box("4"), False),
        ("$\\boxed{2} \\; \\boxed{9}$", box("\\{2, 9\\}"), True),
    ],
    "plain-brace pair": [
        ("(2,5)", box("{2,5}"), True),
        ("(2,5)", box("{5,2}"), False),
        ("{2,5}", box("(5,2)"), True),  # a set gold accepts the elements in any order
    ],
    "worked solution as gold": [
        ("The store first lowers the price by $20\\%$ and then by another $10\\%$ of the new price, so the "
         "price is multiplied by $0.8 \\cdot 0.9 = 0.72$. The overall discount is therefore $28\\%$ of the "
         "original price. Final Answer: The final answer is $28\\%$. I hope it is correct.", box("28\\%"), True),
        ("The store first lowers the price by $20\\%$ and then by another $10\\%$ of the new price, so the "
         "price is multiplied by $0.8 \\cdot 0.9 = 0.72$. The overall discount is therefore $28\\%$ of the "
         "original price. Final Answer: The final answer is $28\\%$. I hope it is correct.", box("30\\%"), False),
    ],
    "currency and units": [
        ("1250.5", "so the bill comes to 1,250.50€", True),
        ("1250.5", "The total is 1,250.50 €.", True),
        ("62.5", "The area of the floor is 62.5m²", True),
        ("1250.5", "so the bill comes to 1,205.50€", False),
    ],
    "number words and scales": [
        ("5000000", box("5 \\text{ million}"), True),
        ("2500000000", "The debt reached 2.5 billion dollars.\n\nAnswer: 2.5 billion", True),
        ("5000", box("5 thousand"), True),
        ("5000000", box("5 billion"), False),
        ("7", "seven", True),
        ("\\text{twelve}", box("12"), True),
        ("7", "six", False),
    ],
    "ordinals and unit words": [
        ("5", box("5^{\\text{th}}"), True),
        ("21", "She finished in the 21st place.\n\nAnswer: 21st", True),
        ("10", box("10 \\text{ edges}"), True),
        ("6", box("\\mbox{6 meals}"), True),
        ("10", box("11 edges"), False),
        ("3", box("3 x"), False),  # a variable, not a unit
    ],
    "set-builder and excluded points": [
        ("(2,\\infty)", box("\\{x \\mid x > 2\\}"), True),
        ("[-1, 4]", box("\\{t : -1 \\le t \\le 4\\}"), True),
        ("(-\\infty,3)\\cup(3,\\infty)", box("x \\neq 3"), True),
        ("x \\ne 3", box("\\mathbb{R} \\setminus \\{3\\}"), True),
        ("(-\\infty,-1)\\cup(-1,2)\\cup(2,\\infty)", box("\\mathbb{R}\\setminus\\{2, -1\\}"), True),
        ("(2,\\infty)", box("\\{x \\mid x \\ge 2\\}"), False),
        ("(-\\infty,3)\\cup(3,\\infty)", box("x \\neq -3"), False),
    ],
    "several choice letters": [
        ("AC", box("A, C"), True),
        ("A, C", box("\\text{(C) and (A)}"), True),
        ("(B), (D)", box("BD"), True),
        ("AC", box("A"), False),
        ("A, C", box("A, B"), False),
    ],
}

FLAT = [(cls, g, r, e) for cls, items in CASES.items() for g, r, e in items]


@pytest.mark.parametrize(
    "cls,gold,response,expected", FLAT, ids=[f"{c}-{i}" for i, (c, *_rest) in enumerate(FLAT)]
)
def test_more_answer_forms(cls: str, gold: str, response: str, expected: bool) -> None:
    verdict = VERIFIER(response, gold)
    assert verdict.correct is expected, (verdict.extracted, verdict.reason, verdict.details)


def test_conclusion_sentence_is_read_only_at_the_very_end() -> None:
    ex = extract_answer("First we find the sides.\nTherefore, the perimeter is $24$.")
    assert ex.answer == "24" and ex.method == "conclusion"
    # a conclusion earlier in the response, followed by more work, states nothing
    assert extract_answer("Therefore, the perimeter is $24$.\nNow we check the other case.").answer is None


@pytest.mark.parametrize(
    "response",
    [
        "\\boxed{||||x-1|-2|-3|-4| < |x|+|x-5|+|x-7|}",  # nested absolute values: not solved
        "\\boxed{x^{6}-3x^5+x^4-7x^3+2x^2-x+1 > 0}",  # an irreducible sextic: not solved
        "\\boxed{\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}^{999999999}}",
        "Therefore, " + "the value is 3 and " * 200 + "so it is 5.",
        "\\boxed{1}" + " papers and \\boxed{2}" * 3000,
    ],
)
def test_new_forms_stay_bounded(response: str) -> None:
    start = time.monotonic()
    verdict = VERIFIER(response, "x < 3")
    assert time.monotonic() - start < 5.0
    assert not verdict.correct


def _main() -> None:  # pragma: no cover - a measuring script
    print(f"{'class':32}{'n':>4}{'prolong':>10}")
    total = good = 0
    for cls, items in CASES.items():
        ok = sum(VERIFIER(r, g).correct is e for g, r, e in items)
        total += len(items)
        good += ok
        print(f"{cls:32}{len(items):>4}{ok / len(items):>10.1%}")
    print(f"{'all':32}{total:>4}{good / total:>10.1%}")


if __name__ == "__main__":
    _main()
