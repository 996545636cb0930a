"""Math answer equivalence: every answer class, right and wrong (prolong.envs.math.verify).

Each case is (gold, final answer, expected). The answer is put in a realistic response
("...reasoning... The answer is $\\boxed{ANSWER}$.") before it is scored.
"""

import pickle
import threading

import pytest

import prolong
from prolong import Reason
from prolong.envs.math import MathVerifier

VERIFIER = MathVerifier()


def respond(answer: str) -> str:
    return f"Let me work through this.\n\nFirst, 3 + 4 = 7, then we simplify.\n\nThe answer is $\\boxed{{{answer}}}$."


def check(gold: str, answer: str) -> bool:
    verdict = VERIFIER(respond(answer), gold)
    assert verdict.reward == (1.0 if verdict.correct else 0.0)
    return verdict.correct


CASES = {
    "integers with separators": [
        ("1000", "1,000", True), ("1000", "1\\,000", True), ("1000", "1{,}000", True), ("1000", "1 000", True),
        ("1234567", "1,234,567", True), ("1000", "100", False), ("1000", "1,001", False), ("42", "42.0", True),
        ("-7", "- 7", True), ("0", "0.0", True), ("42", "24", False),
    ],
    "fractions": [
        ("\\frac{1}{2}", "\\dfrac{1}{2}", True), ("\\frac{1}{2}", "\\tfrac12", True), ("\\frac{1}{2}", "1/2", True),
        ("\\frac{1}{2}", "\\frac{2}{4}", True), ("-\\frac{2}{3}", "\\frac{-2}{3}", True), ("-\\frac{2}{3}", "-2/3", True),
        ("\\frac{1}{2}", "\\frac{1}{3}", False), ("-\\frac{2}{3}", "\\frac{2}{3}", False), ("\\frac34", "\\frac{3}{4}", True),
    ],
    "mixed numbers": [
        ("\\frac{7}{2}", "3\\frac12", True), ("\\frac{7}{2}", "3\\frac{1}{2}", True), ("\\frac{14}{3}", "4\\frac{2}{3}", True),
        ("-\\frac{7}{2}", "-3\\frac{1}{2}", True), ("\\frac{7}{2}", "3\\frac{1}{3}", False),
    ],
    "decimals against exact values": [
        ("\\frac{1}{2}", "0.5", True), ("\\frac{3}{4}", "0.75", True), ("\\frac{1}{3}", "0.333", False),
        ("\\frac{1}{3}", "0.3333333", False), ("\\frac{1}{7}", "0.142857", False), ("\\frac{\\sqrt{2}}{2}", "0.7071", False),
        ("\\sqrt{2}", "1.414", False), ("\\pi", "3.14", False), ("\\frac{9}{4}", "2.25", True), ("3", "3.000", True),
        ("3", "2.9999999", False),
    ],
    "decimal golds are rounded": [
        ("0.33", "\\frac{1}{3}", True), ("0.33", "0.333", True), ("0.33", "0.34", False), ("3.14", "\\pi", True),
        ("3.14", "3.1", False), ("2.5", "\\frac{5}{2}", True), ("5.00", "5", True), ("1.41", "\\sqrt{2}", True),
        ("1.41", "\\sqrt{3}", False),
    ],
    "percentages": [
        ("50\\%", "50\\%", True), ("50\\%", "50", True), ("50\\%", "0.5", True), ("50\\%", "50 percent", True),
        ("50\\%", "5\\%", False), ("50\\%", "0.05", False), ("0.25", "25\\%", True), ("\\frac{3}{5}", "60\\%", True),
        ("12.5\\%", "\\frac{1}{8}", True), ("12.5\\%", "12\\%", False),
    ],
    "radicals": [
        ("2\\sqrt{3}", "\\sqrt{12}", True), ("2\\sqrt{3}", "2 \\sqrt 3", True), ("2\\sqrt{3}", "3\\sqrt{2}", False),
        ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", True), ("3+2\\sqrt{2}", "(1+\\sqrt{2})^2", True),
        ("3+2\\sqrt{2}", "3-2\\sqrt{2}", False), ("\\sqrt[3]{2}", "2^{1/3}", True), ("\\sqrt{5}", "5^{1/2}", True),
        ("\\frac{\\sqrt{6}}{3}", "\\sqrt{\\frac{2}{3}}", True), ("\\sqrt{2}", "sqrt(2)", True),
    ],
    "pi and e": [
        ("4\\pi", "\\pi \\cdot 4", True), ("4\\pi", "2\\pi", False), ("\\frac{\\pi}{3}", "\\pi/3", True),
        ("e^{2}", "\\exp(2)", True), ("e^{2}", "2e", False), ("\\pi^2", "pi^2", True), ("\\log_2 3", "\\frac{\\ln 3}{\\ln 2}", True),
    ],
    "symbolic expressions": [
        ("x^2+2x+1", "(x+1)^2", True), ("x^2+2x+1", "(x-1)^2", False), ("(x-2)(x+3)", "x^2+x-6", True),
        ("(x-2)(x+3)", "(x+2)(x-3)", False), ("\\frac{x+1}{x-1}", "(x+1)/(x-1)", True), ("3x+6", "3(x+2)", True),
        ("3x+6", "3x+2", False), ("\\frac{1}{2}x^2", "x^2/2", True), ("x^2+1", "5", False), ("2n+1", "1+2n", True),
    ],
    "equations": [
        ("x=2", "2", True), ("2", "x=2", True), ("x=2", "x=-2", False), ("y=2x+1", "2x+1=y", True),
        ("y=2x+1", "2x+1", True), ("y=2x+1", "y=2x-1", False), ("x^2+y^2=25", "x^2 + y^2 - 25 = 0", True),
        ("x^2+y^2=25", "x^2-y^2=25", False), ("y = -\\frac{1}{2}x + 4", "y=-0.5x+4", True), ("x=2", "y=2", False),
        ("2x", "f'(x) = 2x", True),
    ],
    "intervals and unions": [
        ("(-\\infty, 3)", "(-\\infty,3)", True), ("(-\\infty, 3)", "(-\\infty,3]", False), ("(-\\infty, 3)", "x<3", True),
        ("[2, 5)", "[2,5)", True), ("[2, 5)", "(2,5)", False), ("[2, 5)", "[2,5]", False), ("[2, 5)", "2 \\le x < 5", True),
        ("(-\\infty,-2] \\cup [3,\\infty)", "[3,\\infty)\\cup(-\\infty,-2]", True),
        ("(-\\infty,-2] \\cup [3,\\infty)", "(-\\infty,-2)\\cup(3,\\infty)", False),
        ("(-\\infty, -1) \\cup (1, \\infty)", "x<-1 \\text{ or } x>1", True), ("x \\in [2, 5]", "[2,5]", True),
    ],
    "unordered roots and ordered tuples": [
        ("1, 2", "2, 1", True), ("1, 2", "x=1 \\text{ or } x=2", True), ("1, 2", "\\{1,2\\}", True), ("1, 2", "1", False),
        ("1, 2", "1, 3", False), ("-3, 5", "x = -3 \\text{ and } x = 5", True), ("(1, 2)", "(2, 1)", False),
        ("(1, 2)", "\\left(1, 2\\right)", True), ("(3, -4)", "(-4, 3)", False), ("(1,2,3)", "\\langle 1,2,3\\rangle", True),
        ("\\left( \\frac{1}{2}, 3 \\right)", "(0.5, 3)", True),
    ],
    "matrices": [
        ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", True),
        ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}", False),
        ("\\begin{pmatrix} 2 \\\\ -1 \\end{pmatrix}", "\\begin{pmatrix}2\\\\-1\\end{pmatrix}", True),
        ("\\begin{pmatrix} 2 \\\\ -1 \\end{pmatrix}", "(2, -1)", True),
        ("\\begin{pmatrix} 2 \\\\ -1 \\end{pmatrix}", "\\begin{pmatrix}-1\\\\2\\end{pmatrix}", False),
        ("\\begin{pmatrix} \\frac{1}{2} & 0 \\\\ 0 & 1 \\end{pmatrix}", "\\begin{pmatrix}0.5&0\\\\0&1\\end{pmatrix}", True),
    ],
    "degrees": [
        ("30^\\circ", "30", True), ("30^\\circ", "30^{\\circ}", True), ("30^\\circ", "30 degrees", True),
        ("30^\\circ", "\\frac{\\pi}{6}", True), ("30^\\circ", "60^\\circ", False), ("\\frac{\\pi}{6}", "30^\\circ", True),
        ("\\frac{\\pi}{6}", "30", False), ("120^\\circ", "\\frac{\\pi}{3}", False), ("\\frac{\\pi}{6}", "30 degrees", True),
    ],
    "units and text": [
        ("5", "5 \\text{ cm}", True), ("5", "5\\text{ cm}^2", True), ("5", "5 dollars", True), ("5", "\\$5", True),
        ("18.90", "\\$18.90", True), ("5", "6 \\text{ cm}", False), ("\\text{Monday}", "Monday", True),
        ("\\text{Monday}", "\\text{Tuesday}", False), ("\\text{no solution}", "No solution", True), ("\\$42", "42", True),
        ("12\\pi", "12 \\pi \\text{ cm}^2", True), ("1000", "1,000 dollars", True), ("2x + h", "h + 2x", True),
        ("\\mathbb{R}", "all real numbers", True),
    ],
    "multiple choice": [
        ("\\text{(C)}", "C", True), ("\\text{(C)}", "(C)", True), ("\\text{(C)}", "\\textbf{(C)}", True),
        ("\\text{(C)}", "\\text{C}", True), ("\\text{(C)}", "B", False), ("B", "(B)", True), ("B", "\\textbf{(B)} 12", True),
        ("B", "(E)", False), ("B", "12", False),
    ],
    "plus-minus": [
        ("\\pm 3", "3, -3", True), ("\\pm 3", "x = \\pm 3", True), ("\\pm 3", "3", False), ("1 \\pm \\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2", True),
        ("1 \\pm \\sqrt{2}", "1+\\sqrt{2}", False), ("2, -2", "\\pm 2", True),
    ],
    "scientific notation": [
        ("3 \\times 10^{8}", "3e8", True), ("3 \\times 10^{8}", "300000000", True), ("3 \\times 10^{8}", "3 \\cdot 10^{8}", True),
        ("3 \\times 10^{8}", "3e7", False), ("6.02 \\times 10^{23}", "6.02e23", True), ("6.02 \\times 10^{23}", "6.2\\times 10^{23}", False),
        ("1.5 \\times 10^{-3}", "0.0015", True),
    ],
    "complex numbers": [
        ("3+4i", "4i+3", True), ("3+4i", "3 + 4\\mathrm{i}", True), ("3+4i", "3-4i", False), ("i", "\\sqrt{-1}", True),
        ("-1 + i", "i-1", True), ("\\frac{1}{2} + \\frac{\\sqrt{3}}{2}i", "\\frac{1+i\\sqrt{3}}{2}", True), ("i", "-i", False),
    ],
    "unicode": [
        ("-\\frac{1}{2}", "\u2212\\frac{1}{2}", True), ("-5", "\u22125", True), ("\\sqrt{3}", "\u221a3", True),
        ("\\sqrt{3}", "\u221a(3)", True), ("\\pi", "\u03c0", True), ("45^\\circ", "45\u00b0", True), ("2\\pi", "2\u03c0", True),
        ("\\sqrt{3}", "\u221a2", False), ("\\frac{1}{2}", "\u00bd", True),
    ],
    "model-output regressions": [
        ("16386.20", "\\$16,\\!386.20", True), ("14916", "14 {, }916", True), ("\\frac{5\\sqrt{42}}{27}", "\\frac{10\\sqrt{10.5}}{27}", True),
        ("x = \\frac13", "x = 5+5+1 = 1/3 \\approx 11", True), ("x = 11", "x = 5+5+1 = 7 =11", True), ("28\\%", "28 percentage", True),
        ("\\{1\\pm\\sqrt{5},-2\\}", "1+\\sqrt5, 1-\\sqrt5, -2", True), ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}", True),
        ("x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4", True), ("\\tan^2(y)+1", "\\sec^2(y)", True), ("x \\le 5", "5 \\ge x", True),
        ("\\begin{pmatrix}1 & 2 \\\\3 & 4\\end{pmatrix}", "\\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right]", True),
        ("[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0) \\cup (1, \\infty)", "[-1, -\\tfrac12) \\cup (-\\tfrac12, 0) \\cup (1, \\infty)", True),
        ("\\{-1\\} \\cup [0,7)", "\\{-1\\} \\cup [0,7)", True), ("125", "125\\textnormal{ miles}", True), ("204_5", "204_5", True),
        ("f(2) < f(1) < f(4)", "f(2) < f(1) < f(4)", True), ("2 \\sin b \\cos a", "2 \\cos a \\sin b", True), ("12", "12\\text{ and }13", False),
        ("11111111100", "11,\\! 111,\\! 111,\\! 100", True), ("32349", "32, 349", False), ("19, 46, and 82", "19, 46, \\text{ and } 82", True),
        ("1 - \\frac{1}{\\mathrm{e}}", "1 + \\frac{1}{\\mathrm{e}}", False), ("\\pm 2021", "\\{-2021, 2021\\}", True), ("\\pm 2021", "2021", False),
        ("12:00", "1:00", False), ("12:00", "12:00", True), ("D = (0, 1)", "D = (0, 1.5)", False), ("1112112_3", "1112122_3", False),
        ("\\boxed{1}\\boxed{2}", "1,2", True), ("5", "\\frac{5}{0}", False),
    ],
    "tiny differences": [
        ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False), ("\\frac{1}{2004!}", "1/2004!", True), ("2^{100}", "4^{50}", True),
        ("2^{100}", "1267650600228229401496703205377", False), ("1000001", "1000000", False), ("\\frac{10001}{10000}", "1.001", False),
        ("\\frac{10001}{10000}", "1.0001", True),
    ],
}


@pytest.mark.parametrize(
    "gold, answer, expected",
    [pytest.param(g, a, e, id=f"{cls}: {g} vs {a}") for cls, cases in CASES.items() for g, a, e in cases],
)
def test_answer_classes(gold, answer, expected):
    assert check(gold, answer) is expected


def test_no_final_answer_gets_zero_with_reason():
    v = VERIFIER("We have 3 + 4 = 7 and 7 * 2 = 14, so", "14")
    assert v.reward == 0.0 and v.reason == Reason.NO_ANSWER and v.extracted is None


def test_details_say_which_path_decided():
    assert VERIFIER(respond("1/2"), "0.5").details["path"] == "numeric"
    assert VERIFIER(respond("\\frac{1}{\\sqrt2}"), "\\frac{\\sqrt{2}}{2}").details["path"] == "sympy"
    assert VERIFIER(respond("B"), "\\text{(B)}").details["path"] == "choice"
    assert VERIFIER(respond("7"), "7").details["method"] == "boxed"


def test_gold_may_be_a_number_or_a_solution_with_a_box():
    assert VERIFIER(respond("0.5"), 0.5).correct
    assert VERIFIER(respond("12"), 12).correct
    assert VERIFIER(respond("12"), "We add them to get $\\boxed{12}$, which is the final total of apples.").correct
    assert VERIFIER(respond("12"), None).reason == Reason.INVALID_ANSWER


def test_prolong_verify_uses_the_math_verifier():
    v = prolong.verify("math", response="So the answer is $\\boxed{\\frac{3}{4}}$.", answer="0.75")
    assert v.correct and v.extracted == "\\frac{3}{4}"
    assert prolong.verify("prolong/math-v0", response="Answer: 5", answer="6").reason == Reason.WRONG


def test_verify_batch_agrees_with_single_calls():
    golds = ["\\frac{1}{2}", "x^2-1", "\\sqrt{2}", "(1, 2)", "5", "3+4i"]
    answers = ["0.5", "(x-1)(x+1)", "1.414", "(2, 1)", "\\boxed{", "4i+3"]
    responses = [respond(a) for a in answers]
    batch = prolong.verify_batch("math", responses, golds)
    assert [v.correct for v in batch] == [True, True, False, False, False, True]
    assert [v.correct for v in batch] == [VERIFIER(r, g).correct for r, g in zip(responses, golds)]


def test_verifier_works_from_threads_and_pickles():
    results = []

    def work():
        results.append(VERIFIER(respond("\\frac{\\sqrt{3}}{2}"), "\\frac{\\sqrt3}{2}").correct)
        results.append(VERIFIER(respond("\\sqrt{8}"), "2\\sqrt2").correct)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 6
    clone = pickle.loads(pickle.dumps(VERIFIER))
    assert clone(respond("2"), "2").correct
