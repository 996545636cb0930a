"""STEM final answers as real model output writes them (issue 11): labelled cases per class.

Each class has correct answers (full marks) and near misses that must score 0: hedges
between options or values, a final answer taken back, a restatement that disagrees.
Responses are written the way R1-style models write them: reasoning closed by
``</think>``, Markdown bold, ``**Answer: (B)**``, ``\\boxed{}``, ``\\text{}``, LaTeX units.
"""

import pytest

from prolong import Problem, Reason
from prolong.envs.stem import StemVerifier

verify = StemVerifier()
OPTIONS = ["1.2 J", "4.2 J", "8.4 J", "0.42 J"]
THINK = "<think>\nThe block slides down the incline; friction does work -mu m g cos(theta) d. Let me compute.\n</think>\n\n"


def mc(gold):
    return Problem("t/mc", "q", gold, "stem", {"kind": "choice", "options": OPTIONS})


def num(gold):
    return Problem("t/num", "q", gold, "stem", {})


# (class, response, gold, right?) -- a wrong or hedged response must score 0
CASES = [
    # --- 1. the answer line goes on to say why other options fail
    ("reasons", "The answer is B, because A ignores friction and D doubles it.", "B", True),
    ("reasons", THINK + "**Answer: (B)** — A ignores friction, C uses the wrong sign and D doubles the normal force.", "B", True),
    ("reasons", THINK + "The correct option is (D) 0.42 J, since (A) and (B) forget the factor of 1/2.", "D", True),
    ("reasons", "Answer: C. Option A neglects air resistance, while B and D confuse mass with weight.", "C", True),
    ("reasons", "**Final Answer: B** (not A or C, which both drop the cos θ factor)", "B", True),
    ("reasons", "The answer is $\\boxed{B}$ because A and C assume a frictionless surface.", "B", True),
    ("reasons", THINK + "Thus the correct answer is **(C)**: unlike A or D, it conserves energy.", "C", True),
    ("reasons", "Final answer: B, since there is no friction and A assumes there is.", "B", True),
    ("reasons", "The answer is B. Actually, A is tempting but it ignores friction.", "B", True),
    ("reasons", "The answer is B and not D.", "B", True),
    ("reasons", "The best choice is (B); (A) and (C) ignore friction.", "B", True),
    ("reasons", "Answer: B, and C is wrong because it double counts.", "B", True),
    ("reasons", "Answer: C — the second law (A and B concern the first law)", "C", True),
    ("reasons", "The answer is B, with A and D being common mistakes.", "B", True),
    ("reasons", "The answer is B, C is also correct.", "B", False),  # hedge
    ("reasons", "Answer: A (or C)", "A", False),
    ("reasons", "The answer is B or D, both work.", "B", False),
    ("reasons", "The answer is B, because A ignores friction and D doubles it.", "A", False),  # chose B
    ("reasons", "The answer is A or C, because both ignore friction.", "A", False),  # hedge
    ("reasons", "**Answer: (A) or (C)**, since both conserve energy.", "C", False),
    ("reasons", "The answer is B or D; A and C are wrong.", "B", False),
    ("reasons", "Answer: (A) 1.2 J or (C) 8.4 J", "C", False),
    ("reasons", "The answer is A. Actually, no, it's C.", "C", False),  # taken back: a hedge
    ("reasons", "The answer is A. Actually, no, it's C.", "A", False),
    ("reasons", "Answer: B. Wait, I think it should be D.", "B", False),
    ("reasons", "I first thought A, but friction matters.\n\nFinal answer: C", "C", True),  # the last line is final
    ("reasons", "I first thought A, but friction matters.\n\nFinal answer: C", "A", False),
    # --- 2. dash or em dash between the letter and the option text
    ("dash", "B — 4.2 J\n\nAnswer: B — 4.2 J", "B", True),
    ("dash", THINK + "**Answer:** B — 4.2 J", "B", True),
    ("dash", "The correct option is (C) - 8.4 J", "C", True),
    ("dash", "Final answer: (C) – 8.4 J", "C", True),
    ("dash", "\\boxed{B — 4.2\\ \\text{J}}", "B", True),
    ("dash", "**Answer: D — 0.42 J**", "D", True),
    ("dash", "Answer: (B) — 4.2 J", "C", False),
    ("dash", "Answer: A – C", "A", False),  # two letters
    ("dash", "\\boxed{B — 4.2 J or D — 0.42 J}", "B", False),
    # --- 3. "Answer:" then a blank line, then the letter
    ("blank line", "Answer:\n\nB", "B", True),
    ("blank line", THINK + "**Answer:**\n\n**(B)**", "B", True),
    ("blank line", "Final Answer:\n\n\\text{B}", "B", True),
    ("blank line", "The correct answer is:\n\n(D) 0.42 J", "D", True),
    ("blank line", "**Final Answer**:\n\n  B) 4.2 J", "B", True),
    ("blank line", "Answer:\n\nB", "C", False),
    ("blank line", "Answer:\n\nA or B", "B", False),
    ("blank line", "Answer:\n\nLet me think about which option fits best.", "B", False),  # no letter
    # --- 4. a value restated in another unit, or rounded
    ("restated", THINK + "**Answer:** $P = 2.5\\ \\text{kW}$ (2500 W)", "2.5 kW", True),
    ("restated", "\\boxed{2.5\\times10^{3}\\ \\text{W}\\ (2.5\\ \\text{kW})}", "2500 W", True),
    ("restated", "Answer: 12 m/s, i.e. about 43 km/h", "12 m/s", True),
    ("restated", "\\boxed{12\\ \\mathrm{m/s}\\ (\\approx 43\\ \\mathrm{km/h})}", "12 m/s", True),
    ("restated", "**Final answer:** $t = 2.449\\,\\mathrm{s} \\approx 2.4\\,\\mathrm{s}$", "2.449 s", True),
    ("restated", "The answer is 2.5 kW, or 2500 W.", "2.5 kW", True),
    ("restated", "\\boxed{3.0\\,\\mathrm{m/s^2}\\ (\\text{about } 0.31\\,g_0)}", "3.0 m/s^2", True),  # an aside in an unknown unit
    ("restated", "\\boxed{300\\ \\text{K}\\ (27\\ ^\\circ\\text{C})}", "300 K", True),
    ("restated", "Answer: $4.2 \\times 10^{3}$ J (4.2 kJ)", "4200 J", True),
    ("restated", "The final answer is 9.8 m/s² (≈ 1 g).", "9.8 m/s^2", True),
    ("restated", "\\boxed{3 m/s or 5 kg}", "3 m/s", False),
    ("restated", "\\boxed{2.5 kW (250 W)}", "2.5 kW", False),  # the restatement disagrees
    ("restated", "Answer: 12 m/s, i.e. about 34 km/h", "12 m/s", False),
    ("restated", "\\boxed{3 m/s or 5 m/s}", "3 m/s", False),
    ("restated", "\\boxed{3 m/s or 3.2 m/s}", "3.2 m/s", False),  # "or": only an exact restatement
    ("restated", "\\boxed{2.5 kW (2500 W)}", "25 kW", False),  # consistent, but wrong
    ("restated", "\\boxed{3-5 m/s}", "4 m/s", False),
    # --- forms that already worked, as models write them
    ("forms", THINK + "**Answer: (B)**", "B", True),
    ("forms", "The correct option is (D) 0.42 J", "D", True),
    ("forms", "So the answer is $\\boxed{B}$.", "B", True),
    ("forms", "$$\\boxed{\\text{B}}$$", "B", True),
    ("forms", "\\boxed{3.0\\,\\mathrm{m/s^2}}", "3.0 m/s^2", True),
    ("forms", "\\boxed{2.5\\times10^{3}\\ \\text{W}}", "2.5 kW", True),
    ("forms", "Answer: B (4.2 J)", "B", True),
    ("forms", "\\boxed{A, C}", "A", False),
    ("forms", "\\boxed{A} or \\boxed{C}", "C", False),
]


@pytest.mark.parametrize("cls,response,gold,right", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_answer_forms(cls, response, gold, right):
    problem = mc(gold) if len(gold) == 1 else num(gold)
    v = verify(response, gold, problem)
    assert v.correct is right, (v.reason, v.extracted, v.details)
    assert v.reward == (1.0 if right else 0.0)


@pytest.mark.parametrize(
    "response",
    ["The answer is A or C, because both ignore friction.", "The answer is A. Actually, no, it's C.",
     "\\boxed{2.5 kW (250 W)}", "\\boxed{3 m/s or 3.2 m/s}"],
)  # fmt: skip
def test_hedges_are_ambiguous_not_wrong(response):
    gold = "A" if "friction" in response or "Actually" in response else "2.5 kW"
    problem = mc(gold) if len(gold) == 1 else num(gold)
    assert verify(response, gold, problem).reason == Reason.AMBIGUOUS


def test_the_more_precise_of_two_consistent_values_is_judged():
    v = verify("\\boxed{t = 2.449 s \\approx 2.4 s}", "2.449 s")
    assert v.correct and v.details["value"] == pytest.approx(2.449)
    assert verify("\\boxed{2.4 s (2.449 s)}", "2.449 s").correct
    assert not verify("\\boxed{2.4 s (2.449 s)}", "2.40 s").correct  # judged on 2.449, 2 % off
