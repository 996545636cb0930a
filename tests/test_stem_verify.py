"""The STEM verifier: option letters, numbers with units, hostile responses."""

import pickle

import pytest

import prolong
from prolong import Problem, Reason
from prolong.envs.stem import StemVerifier

verify = StemVerifier()

OPTIONS = ["1.2 m/s", "4.2 m/s", "8.4 m/s", "0.42 m/s"]


def mc(answer="B", options=OPTIONS, **extra):
    return Problem("t/mc", "q", answer, "stem", {"kind": "choice", "options": options, **extra})


def num(answer, **metadata):
    return Problem("t/num", "q", answer, "stem", metadata)


# ----------------------------------------------------------------------------- letters


@pytest.mark.parametrize(
    "response",
    [
        "so \\boxed{B}",
        "\\boxed{b}",
        "\\boxed{(B)}",
        "\\boxed{B)}",
        "\\boxed{\\text{B}}",
        "\\boxed{\\textbf{(B)}}",
        "\\boxed{\\text{Option B}}",
        "$\\boxed{B}$.",
        "\\boxed{B) 4.2 m/s}",
        "Answer: B",
        "Answer: (B)",
        "Answer: Option B",
        "The answer is (B).",
        "the answer is B because the speed doubles",
        "**Answer:** B",
        "**Final Answer: B**",
        "The correct option is B.",
        "Final answer: b)",
        "Answer: I believe the answer is B.",
        "\\boxed{4.2 m/s}",  # the option's text names option B
    ],
)
def test_letter_answer_forms_are_read(response):
    v = verify(response, "B", mc())
    assert v.correct and v.extracted == "B", v


@pytest.mark.parametrize("response", ["\\boxed{A or C}", "\\boxed{A, C}", "Answer: A and C", "\\boxed{AC}", "The answer is (A) or (C)."])
def test_several_letters_are_ambiguous(response):
    v = verify(response, "A", mc("A"))
    assert v.reason == Reason.AMBIGUOUS and v.reward == 0.0


def test_ambiguous_even_when_the_gold_is_among_them():
    assert verify("\\boxed{B, D}", "B", mc()).reason == Reason.AMBIGUOUS


def test_wrong_letter_scores_zero():
    v = verify("\\boxed{C}", "B", mc())
    assert v.reason == Reason.WRONG and v.extracted == "C"


@pytest.mark.parametrize("letter", ["E", "J", "Z"])
def test_letter_outside_the_options_is_wrong(letter):
    v = verify(f"\\boxed{{{letter}}}", "B", mc())
    assert not v.correct and v.reason == Reason.WRONG and "not an option" in v.details["why"]


def test_without_options_metadata_letters_run_to_J():
    assert verify("\\boxed{J}", "J").correct
    assert verify("\\boxed{K}", "J").reason == Reason.WRONG


def test_later_answer_line_overrides_earlier_box():
    assert verify("First \\boxed{A}. On reflection, Answer: B", "B", mc()).correct


def test_later_box_overrides_earlier_answer_line():
    assert verify("Answer: A\nWait, recheck. \\boxed{B}", "B", mc()).correct


def test_answer_inside_thinking_is_ignored_after_think_close():
    assert verify("<think>maybe \\boxed{A}</think>The answer is B.", "B", mc()).correct


def test_no_box_and_no_answer_line_is_no_answer():
    v = verify("I think it's B, the second option.", "B", mc())
    assert v.reason == Reason.NO_ANSWER


def test_article_a_is_not_option_a():
    v = verify("Answer: a larger force is needed", "A", mc("A"))
    assert not v.correct and v.reason == Reason.UNPARSEABLE


@pytest.mark.parametrize("response", ["\\boxed{A} or \\boxed{C}", "\\boxed{A}, \\boxed{C}", "Answer: (A) 5 N or (C) 7 N"])
def test_hedging_across_boxes_or_labels_is_ambiguous(response):
    assert verify(response, "C", mc("C")).reason == Reason.AMBIGUOUS


def test_separate_boxes_far_apart_take_the_last():
    assert verify("Earlier I guessed \\boxed{A}. After checking the units again, \\boxed{C}", "C", mc("C")).correct


def test_answer_on_the_line_after_the_label_is_read():
    assert verify("Final Answer:\nB", "B", mc()).correct


def test_unbalanced_brace_is_not_an_answer():
    v = verify("\\boxed{A} and then \\boxed{B", "B", mc())
    assert v.reason == Reason.NO_ANSWER and "unbalanced" in v.details["why"]


def test_empty_box_is_unparseable():
    assert verify("\\boxed{}", "B", mc()).reason == Reason.UNPARSEABLE


# ----------------------------------------------------------------------------- numbers with units


@pytest.mark.parametrize(
    "gold, response",
    [
        ("3.0e8 m/s", "\\boxed{300000 km/s}"),
        ("3.0 \\times 10^8 m/s", "\\boxed{300000 km/s}"),
        ("3e8 m/s", "\\boxed{3 \\times 10^{8}\\ \\mathrm{m\\,s^{-1}}}"),
        ("3e8 m/s", "\\boxed{3.0\\times10^8\\,\\text{m/s}}"),
        ("2.5 \\times 10^{3} J", "\\boxed{2.5 kJ}"),
        ("2.5 \\times 10^{3} J", "\\boxed{2500\\ \\text{J}}"),
        ("9.81 m/s^2", "\\boxed{9.8 m/s²}"),
        ("0.25 mol", "\\boxed{250 mmol}"),
        ("1.5 kg", "\\boxed{1500 g}"),
        ("1500 g", "\\boxed{1.5 kg}"),
        ("-273.15 \\degree C", "\\boxed{0 K}"),
        ("25 °C", "\\boxed{298.15 K}"),
        ("300 K", "\\boxed{26.85 ^\\circ C}"),
        ("100 °C", "\\boxed{212 °F}"),
        ("25 °C", "\\boxed{25 C}"),  # "C" after a temperature means Celsius
        ("1 atm", "\\boxed{101.325 kPa}"),
        ("760 mmHg", "\\boxed{1 atm}"),
        ("4.7 kΩ", "\\boxed{4700 \\Omega}"),
        ("4.7 k\\Omega", "\\boxed{4.7 \\text{k}\\Omega}"),
        ("2.2 µF", "\\boxed{2.2 \\mu F}"),
        ("0.1 M", "\\boxed{100 mM}"),
        ("0.1 mol/L", "\\boxed{0.1 M}"),
        ("5 L", "\\boxed{5000 mL}"),
        ("1 eV", "\\boxed{1.602 \\times 10^{-19} J}"),
        ("8.314 J/(mol K)", "\\boxed{8.314 J mol^{-1} K^{-1}}"),
        ("60 km/h", "\\boxed{16.67 m/s}"),
        ("2 h", "\\boxed{120 min}"),
        ("50 Hz", "\\boxed{50 s^{-1}}"),
        ("10 N", "\\boxed{10 kg m/s^2}"),
        ("3 mA", "\\boxed{0.003 A}"),
        ("25 %", "\\boxed{0.25}"),
        ("0.25", "\\boxed{25\\%}"),
        ("3.0e8 m/s", "Answer: 3.0e8 m/s"),
        ("12 N", "The answer is 12 N."),
        ("12 N", "Final answer: F = 12 N"),
        ("12 N", "\\boxed{F \\approx 12.0\\ \\mathrm{N}}"),
        ("42", "\\boxed{42}"),
        ("42", "\\boxed{42 cells}"),
        ("1.2 \\times 10^{6} cells", "\\boxed{1.2e6}"),
        ("0 °C", "\\boxed{273 K}"),  # 0.2 K slack on absolute temperatures: 273 vs 273.15
        ("3e8 m/s", "\\boxed{3e8\\ \\mathrm{m}\\mathrm{s}^{-1}}"),  # "ms^-1" read as m s^-1 for a speed
        ("2 km/s", "\\boxed{2 kms^-1}"),
        ("1000 kg/m^3", "\\boxed{1 g/cm^3}"),
        ("30 °", "\\boxed{0.5236 rad}"),
        ("3e8 m/s", "The answer is 3.0 × 10^8 m/s, which is the speed of light."),
    ],
)
def test_numeric_answers_that_agree(gold, response):
    v = verify(response, gold)
    assert v.correct, v


def test_relative_tolerance_is_one_percent_by_default():
    assert verify("\\boxed{100.9 m}", "100 m").correct
    assert not verify("\\boxed{101.1 m}", "100 m").correct


def test_tolerance_is_configurable_per_problem():
    assert verify("\\boxed{105 m}", "100 m", num("100 m", rel_tol=0.1)).correct
    assert not verify("\\boxed{100.5 m}", "100 m", num("100 m", rel_tol=1e-3)).correct


def test_verifier_default_tolerance_is_configurable():
    assert StemVerifier(rel_tol=0.1)("\\boxed{105 m}", "100 m").correct


@pytest.mark.parametrize(
    "gold, response",
    [
        ("3.0e8 m/s", "\\boxed{3.0e8 km/s}"),
        ("300 km/s", "\\boxed{300 m/s}"),
        ("2.5 kJ", "\\boxed{2.5 J}"),
        ("2.5 J", "\\boxed{2.5 kJ}"),
        ("1.5 kg", "\\boxed{1.5 g}"),
        ("25 °C", "\\boxed{25 K}"),
        ("300 K", "\\boxed{300 °C}"),
        ("9.81 m/s^2", "\\boxed{98.1 m/s^2}"),
        ("0.25 mol", "\\boxed{-0.25 mol}"),
        ("3 s", "\\boxed{3 ms}"),
        ("0 °C", "\\boxed{0.5 °C}"),
    ],
)
def test_numeric_answers_that_disagree(gold, response):
    v = verify(response, gold)
    assert v.reason == Reason.WRONG and v.reward == 0.0, v


@pytest.mark.parametrize(
    "gold, response",
    [
        ("3.0e8 m/s", "\\boxed{3.0e8 kg}"),
        ("3.0e8 m/s", "\\boxed{3.0e8 m/s^2}"),
        ("2.5 kJ", "\\boxed{2.5 kW}"),
        ("0.1 M", "\\boxed{0.1 mol}"),
        ("25 °C", "\\boxed{25 J}"),
    ],
)
def test_wrong_dimension_is_wrong_with_dimension_mismatch(gold, response):
    v = verify(response, gold)
    assert v.reason == Reason.WRONG and "dimension mismatch" in v.details["why"], v


def test_missing_unit_is_read_in_gold_unit_by_default():
    v = verify("\\boxed{9.81}", "9.81 m/s^2")
    assert v.correct and "no unit" in v.details["note"]
    assert not verify("\\boxed{9810}", "9.81 m/s^2").correct


def test_missing_unit_is_wrong_when_units_are_required():
    assert verify("\\boxed{9.81}", "9.81 m/s^2", num("9.81 m/s^2", require_units=True)).reason == Reason.WRONG
    strict = StemVerifier(require_units=True)
    v = strict("\\boxed{9.81}", "9.81 m/s^2")
    assert not v.correct and "missing unit" in v.details["why"]
    assert strict("\\boxed{9.81 m/s^2}", "9.81 m/s^2").correct


def test_unitless_gold_does_not_check_a_dimensional_unit():
    v = verify("\\boxed{0.25 mol}", "0.25")
    assert v.correct and "not checked" in v.details["note"]


def test_percent_is_applied_against_a_unitless_gold():
    assert not verify("\\boxed{0.25\\%}", "0.25").correct


@pytest.mark.parametrize("response", ["\\boxed{3 m/s or 5 m/s}", "\\boxed{3 m/s} or \\boxed{5 m/s}", "\\boxed{3, 5}"])
def test_two_numbers_are_ambiguous(response):
    assert verify(response, "3 m/s").reason == Reason.AMBIGUOUS


@pytest.mark.parametrize("response", ["\\boxed{3 furlongs}", "\\boxed{\\sqrt{9} m}", "\\boxed{3\\pi m}", "\\boxed{fast}"])
def test_unreadable_numeric_answers_are_unparseable(response):
    assert verify(response, "3 m").reason == Reason.UNPARSEABLE


def test_numeric_without_final_answer_is_no_answer():
    assert verify("The speed is 3 m/s.", "3 m/s").reason == Reason.NO_ANSWER


def test_gold_zero_needs_abs_tol_or_exact():
    assert verify("\\boxed{0 J}", "0 J").correct
    assert not verify("\\boxed{0.001 J}", "0 J").correct
    assert verify("\\boxed{0.001 J}", "0 J", num("0 J", abs_tol=0.01)).correct


def test_free_form_gold_compares_normalized_text():
    assert verify("\\boxed{\\text{Mitochondria}}", "mitochondria", num("mitochondria", kind="free")).correct
    assert not verify("\\boxed{ribosome}", "mitochondria", num("mitochondria", kind="free")).correct


@pytest.mark.parametrize("answer", [None, "", "E", 3j])
def test_unusable_gold_is_invalid_ground_truth(answer):
    problem = mc("B") if answer == "E" else None
    v = verify("\\boxed{B}", answer, problem)
    assert v.reason == Reason.INVALID_ANSWER


def test_bad_rel_tol_metadata_is_invalid_ground_truth():
    assert verify("\\boxed{3 m}", "3 m", num("3 m", rel_tol="lots")).reason == Reason.INVALID_ANSWER


# ----------------------------------------------------------------------------- registry, pickling


def test_verifier_pickles_and_is_the_registered_stem_verifier():
    clone = pickle.loads(pickle.dumps(StemVerifier(rel_tol=0.05, require_units=True)))
    assert clone.rel_tol == 0.05 and clone.require_units
    assert prolong.verify("stem", "\\boxed{300000 km/s}", "3e8 m/s").correct
    assert prolong.verify("prolong/stem-v0", "\\boxed{B}", "B").correct


# ----------------------------------------------------------------------------- hostile input

HOSTILE = {
    "1 MB of text": "x" * 1_000_000,
    "1 MB box": "\\boxed{" + "1" * 1_000_000 + "}",
    "1 MB answer line": "Answer: " + "9" * 1_000_000,
    "deep braces": "\\boxed{" + "{" * 300_000 + "}" * 300_000 + "}",
    "deep parentheses in a unit": "\\boxed{3 " + "(" * 500 + "m" + ")" * 500 + "}",
    "many boxes": "\\boxed{1}" * 100_000,
    "open boxes": "\\boxed{" * 100_000,
    "control characters": "\\boxed{3\x00\x01\x1b m/s}\x00\x7f",
    "absurd exponent": "\\boxed{1e999999 m/s}",
    "absurd power of ten": "\\boxed{10^{99999999999999} m/s}",
    "absurd unit power": "\\boxed{3 m^{999999999}}",
    "huge unit string": "\\boxed{3 " + "m*" * 200_000 + "m}",
    "many answer lines": "Answer: A\n" * 100_000,
    "stars after answer": "answer" + "*" * 200_000 + ": B",
    "spaces after answer": "the answer is " + " " * 200_000 + "B",
    "letter list": "Answer: " + "A or " * 50_000 + "B",
    "emoji flood": "\\boxed{3 m}" + "😀" * 200_000,
    "nested fractions": "\\boxed{" + "\\frac{" * 2000 + "1" + "}{2}" * 2000 + " m/s}",
    "nested text": "\\boxed{3 " + "\\text{" * 1000 + "m" + "}" * 1000 + "}",
    "many numbers": "\\boxed{" + " 1" * 900 + "}",
    "lone surrogate-free junk": "\\boxed{\ufffd\ufeff\u202e3 m}",
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("gold", ["B", "3.0e8 m/s", "-273.15 \\degree C", "0.25"])
def test_hostile_response_returns_a_verdict_quickly(name, gold):
    v = verify(HOSTILE[name], gold)
    assert 0.0 <= v.reward <= 1.0 and v.reason != Reason.ERROR, v
