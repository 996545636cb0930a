"""Finding the program in a response, and comparing outputs like the APPS/TACO judges."""

import pytest

from prolong.envs.code import extract_program, outputs_match, parse_tests, values_match

# -- extraction ----------------------------------------------------------------------------


def test_last_python_block_is_the_program():
    response = "First try:\n```python\nprint(1)\n```\nBetter:\n```python\nprint(2)\n```\nDone."
    assert extract_program(response).program == "print(2)\n"


def test_python_block_wins_over_a_later_untagged_sample_output():
    response = "```python\nprint(input())\n```\nSample run prints:\n```\n42\n```"
    assert extract_program(response).program == "print(input())\n"


@pytest.mark.parametrize("tag", ["py", "python3", "Python", "py3"])
def test_python_tag_variants_are_python(tag):
    assert extract_program(f"```{tag}\nx = 1\n```").program == "x = 1\n"


def test_untagged_block_is_used_when_no_python_block():
    assert extract_program("Here:\n```\nprint('a')\n```").program == "print('a')\n"


def test_other_languages_are_never_run():
    found = extract_program("```cpp\nint main(){}\n```\n```text\nhello\n```")
    assert found.program is None and "no program" in found.how


def test_no_fence_is_no_program():
    found = extract_program("The answer is to print 3.\nprint(3)")
    assert found.program is None and "no program" in found.how


def test_empty_block_is_skipped_for_an_earlier_real_one():
    assert extract_program("```python\nprint(5)\n```\n```python\n\n```").program == "print(5)\n"


def test_unclosed_final_block_from_a_truncated_response_is_used():
    assert extract_program("Solution:\n```python\nn = int(input())\nprint(n)").program == "n = int(input())\nprint(n)\n"


def test_text_after_think_is_preferred_to_drafts_inside_it():
    response = "<think>draft:\n```python\nprint('draft')\n```\n</think>\nFinal:\n```python\nprint('final')\n```"
    assert extract_program(response).program == "print('final')\n"


def test_a_draft_inside_think_is_not_the_answer():
    # one reasoning-section policy for every domain (prolong.text): only what follows </think> counts
    assert extract_program("<think>```python\nprint(7)\n```</think>").program is None
    assert extract_program("<think>```python\nprint(7)\n```</think>\n```python\nprint(8)\n```").program == "print(8)\n"


def test_an_unclosed_think_has_no_program():
    found = extract_program("<think>```python\nprint(7)\n```")
    assert found.program is None and "never closed" in found.how


def test_inline_fence_not_at_line_start():
    assert extract_program("Code: ```python\nprint(9)\n```").program == "print(9)\n"


def test_tilde_fence_and_windows_newlines():
    assert extract_program("~~~python\r\nprint(1)\r\n~~~").program == "print(1)\n"


@pytest.mark.parametrize("response", ["", "   ", "```", "``````", "```python\n```"])
def test_degenerate_responses_have_no_program(response):
    assert extract_program(response).program is None


# -- test suites ---------------------------------------------------------------------------


def test_stdin_tests_parse_from_json_text():
    suite = parse_tests('{"inputs": ["1 2\\n"], "outputs": ["3\\n"]}')
    assert suite.mode == "stdio" and suite.inputs == ("1 2\n",) and suite.outputs == ("3\n",)


def test_call_based_tests_keep_argument_lists():
    suite = parse_tests({"fn_name": "add", "inputs": [[1, 2], [3, 4]], "outputs": [3, 7]})
    assert suite.mode == "call" and suite.fn_name == "add" and suite.inputs == ([1, 2], [3, 4])


def test_lines_given_as_lists_are_joined():
    suite = parse_tests({"inputs": [["1", "2"]], "outputs": [["3"]]})
    assert suite.inputs == ("1\n2\n",) and suite.outputs == ("3\n",)


def test_livecodebench_test_case_lists_parse():
    suite = parse_tests([{"input": "3\n", "output": "9\n", "testtype": "stdin"}])
    assert suite.mode == "stdio" and suite.outputs == ("9\n",)
    fn = parse_tests([{"input": "[1, 2]\n5", "output": "true", "testtype": "functional", "fn_name": "f"}])
    assert fn.mode == "call" and fn.inputs == ([[1, 2], 5],) and fn.outputs == (True,)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("not json", "not JSON"),
        ({"inputs": ["1"]}, "no 'outputs'"),
        ({"inputs": ["1", "2"], "outputs": ["1"]}, "2 inputs but 1 outputs"),
        ({"inputs": [], "outputs": []}, "no test cases"),
        ({"inputs": [[1]], "outputs": [1], "fn_name": "not an identifier"}, "identifier"),
        (42, "must be a dict"),
    ],
)
def test_malformed_tests_name_what_is_wrong(bad, message):
    with pytest.raises(ValueError, match=message):
        parse_tests(bad)


# -- stdout comparison -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "got, expected",
    [
        ("3\n", "3"),
        ("1 2 \n3\n\n\n", "1 2\n3\n"),
        ("a\r\nb\r\n", "a\nb\n"),
        ("1  2\n3", "1 2\n3"),  # token-wise within a line
        ("0.3333333", "0.333333"),
        ("2.0", "2"),
        ("1e-7", "0.0000001"),
    ],
)
def test_outputs_that_match(got, expected):
    assert outputs_match(got, expected)


@pytest.mark.parametrize(
    "got, expected",
    [
        ("", "3"),
        ("3 4", "3"),
        ("YES", "yes"),
        ("1000000.4", "1000000"),  # an integer answer needs the integer, not a close float
        ("0.34", "0.333333"),
        ("nan", "0.5"),
        ("inf", "1e400"),
        ("2 1", "1 2"),  # no sorting or set comparison
        ("3\n3", "3"),
        ("0x10", "16"),
        ("1_000", "1000"),
        ("1 2\n3", "1\n2 3"),  # the lines of a multi-line answer count (default match="lines")
        ("1 2 3", "1\n2\n3"),
    ],
)
def test_garbage_does_not_match(got, expected):
    assert not outputs_match(got, expected)


def test_token_matching_over_lines_and_exact_decimals_are_options():
    assert outputs_match("1 2\n3", "1\n2 3", match="tokens")
    assert outputs_match("1 2 3", "1\n2\n3", match="tokens")
    assert outputs_match("0.3333333", "0.333333")  # default: within 1e-6
    assert not outputs_match("0.3333333", "0.333333", float_mode="exact")  # LiveCodeBench: exact decimals
    assert outputs_match("0.50", "0.5", float_mode="exact")
    assert outputs_match("2.0", "2", float_mode="exact")


def test_huge_integers_beyond_the_digit_limit_do_not_crash():
    big = "9" * 5000
    assert outputs_match(big, big)
    assert not outputs_match(big, "8" + big[1:])


# -- call-based value comparison ------------------------------------------------------------------


@pytest.mark.parametrize(
    "got, expected",
    [
        ([1, 2], [1, 2]),
        ([[1, 2]], [[1, 2]]),
        (True, 1),  # as Python and every peer judge (bool_is_int=True, the default)
        (0, False),
        (0.30000000000000004, 0.3),
        (2.0, 2),
        ({"a": [1]}, {"a": [1]}),
        (None, None),
    ],
)
def test_values_that_match(got, expected):
    assert values_match(got, expected)


@pytest.mark.parametrize(
    "got, expected",
    [
        ([1, 2], [[1, 2]]),  # a bare value is not a one-element list (unless wrapped_outputs)
        (3, [3]),
        (2, True),
        ("1", 1),
        ([1, 2], [2, 1]),
        (2.5, 2),
        (float("nan"), float("nan")),
        ({"a": 1}, {"a": 1, "b": 2}),
        ([], None),
    ],
)
def test_values_that_do_not_match(got, expected):
    assert not values_match(got, expected)


def test_value_options():
    assert values_match([1, 2], [[1, 2]], wrapped_outputs=True)  # APPS / TACO wrapping
    assert values_match(3, [3], wrapped_outputs=True)
    assert not values_match(True, 1, bool_is_int=False)
    assert not values_match(1, True, bool_is_int=False)
    assert values_match(0.1 + 0.2, 0.3)
    assert not values_match(0.1 + 0.2, 0.3, float_mode="exact")
    assert values_match(0.5, 0.5, float_mode="exact")
