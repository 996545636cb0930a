"""Reading the final answer out of model responses (prolong.envs.math.extract)."""

import pytest

from prolong.envs.math import extract_answer, last_boxed


@pytest.mark.parametrize(
    "response, expected",
    [
        ("We get $x = 3$. So the answer is $\\boxed{3}$.", "3"),
        ("Thus $\\boxed{\\frac{1}{2}}$", "\\frac{1}{2}"),
        ("$\\boxed{\\frac{\\sqrt{3}}{2}}$", "\\frac{\\sqrt{3}}{2}"),
        ("nested: \\boxed{\\left(\\frac{1}{2}, \\sqrt{\\frac{3}{4}}\\right)}", "\\left(\\frac{1}{2}, \\sqrt{\\frac{3}{4}}\\right)"),
        ("first \\boxed{4}, then I fixed a mistake: \\boxed{5}", "5"),
        ("\\fbox{7} is it", "7"),
        ("So the answer is \\boxed 5.", "5"),
        ("**Final Answer**\n\\[\n\\boxed{\\dfrac{3}{4}}\n\\]", "\\dfrac{3}{4}"),
        ("the set is \\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("$$\\boxed{\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}}$$", "\\begin{pmatrix}1 & 2\\\\3 & 4\\end{pmatrix}"),
    ],
)
def test_last_boxed_answer_with_nested_braces(response, expected):
    ex = extract_answer(response)
    assert ex.answer == expected and ex.method == "boxed"


@pytest.mark.parametrize(
    "response, expected",
    [
        ("Reasoning...\n\nAnswer: 42", "42"),
        ("Reasoning...\n\n**Answer:** $\\frac{1}{2}$", "\\frac{1}{2}"),
        ("Reasoning...\n\n**Answer: 6**", "6"),
        ("So the answer is 12.", "12"),
        ("Therefore, the answer is $x = 3$.", "x = 3"),
        ("Final Answer: The final answer is $5$. I hope it is correct.", "5"),
        ("The final answer is: \\(7\\)", "7"),
        ("The answer is **6**.", "6"),
        ("The answer is 3, since 1 + 2 = 3.", "3"),
        ("We compute.\n\n**Final Answer**\n\n$$18$$", "18"),
        ("We compute.\n\n#### 27", "27"),
        ("We compute.\n\n**27**", "27"),
        ("The final answer is:\n$$\\frac{3}{5}$$", "\\frac{3}{5}"),
        ("Answer: \\$18.90", "\\$18.90"),
        ("The answer is 3.5.", "3.5"),
        ("The correct answer is 5.", "5"),
        ("Answer \\[ 9 \\]", "9"),
        ("Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", "120"),
        ("Final Answer: The largest $n$ is 34.", "34"),
        ("Final Answer: Jane started growing the culture 3 hours ago. I hope it is correct.", "3"),
    ],
)
def test_answer_line_bold_and_minerva_formats(response, expected):
    assert extract_answer(response).answer == expected


def test_only_text_after_the_last_think_close_counts():
    response = "<think>\nThe answer is \\boxed{5}. Hmm, no.\n</think>\nThe answer is $\\boxed{4}$."
    assert extract_answer(response).answer == "4"
    assert extract_answer("<think>\n\\boxed{5}\n</think>\nI am not sure.").answer is None


def test_unclosed_think_block_has_no_answer():
    assert extract_answer("<think>\nso the answer is \\boxed{5}").answer is None


@pytest.mark.parametrize(
    "response",
    [
        "We have 3 + 4 = 7, and then 7 * 2 = 14, so",
        "The answer is 5 if we ignore the constraint.\n\nBut we cannot.\n\nLet's redo it.\n\nWe get 2 + 2 = 4.\n\nThen more work is needed.",
        "I am not sure. It could be 5 or 6.",
        "",
        "   \n\n  ",
    ],
)
def test_no_final_answer_is_never_guessed_from_mid_text(response):
    assert extract_answer(response).answer is None


@pytest.mark.parametrize("response, expected", [("8", "8"), ("  $\\frac{1}{2}$ ", "\\frac{1}{2}"), ("x = 3.", "x = 3")])
def test_a_response_that_is_only_an_expression_is_its_answer(response, expected):
    assert extract_answer(response).answer == expected


def test_a_short_sentence_is_not_a_bare_answer():
    assert extract_answer("I think it is 8").answer is None
    assert extract_answer("7\n8").answer is None


def test_unbalanced_brace_is_not_an_answer():
    ex = extract_answer("so we get \\boxed{\\frac{1}{2}")
    assert ex.answer is None and "never closed" in ex.problem


def test_empty_box_is_not_an_answer():
    assert extract_answer("\\boxed{}").answer is None


def test_boxed_answer_longer_than_cap_is_too_long():
    ex = extract_answer("\\boxed{" + "1+" * 2000 + "1}")
    assert ex.answer is None and ex.too_long


def test_adjacent_boxes_of_one_statement_are_joined():
    assert extract_answer("So $x = \\boxed{1}$ or $x = \\boxed{2}$.").answer == "1, 2"
    assert extract_answer("The roots are \\boxed{-3} and \\boxed{5}.").answer == "-3, 5"


def test_boxes_in_separate_sentences_are_not_joined():
    assert extract_answer("I first thought \\boxed{3}. After checking the second case, the answer is \\boxed{4}.").answer == "4"


def test_mangled_escapes_and_control_characters_are_repaired():
    assert extract_answer("the answer is \x08oxed{5}").answer == "5"  # "\b" of a non-raw Python string
    assert extract_answer("\x00\x01\\boxed{\x00 12\x7f}").answer == "12"


def test_one_megabyte_response_is_read_from_its_end():
    ex = extract_answer("x" * 1_000_000 + " so \\boxed{42}")
    assert ex.answer == "42"


def test_last_boxed_reads_a_math_solution():
    solution = "We have $x^2 = 4$, so $x = \\pm 2$. The sum is $\\boxed{0}$."
    assert last_boxed(solution) == "0"
    assert last_boxed("no box here") is None


def test_chat_template_tokens_end_the_response():
    response = "So the answer is $\\boxed{2}$. <|im_start|>user\nNext problem... \\boxed{8}"
    assert extract_answer(response).answer == "2"
    assert extract_answer("The answer is 7.<|im_end|>\n<|im_start|>user Answer: 9").answer == "7"
