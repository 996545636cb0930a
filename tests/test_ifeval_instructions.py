"""Each IFEval checker on following and violating responses, with the reference's semantics."""

import pytest

from prolong.envs.ifeval.instructions import CONFLICTS, INSTRUCTION_IDS, InvalidInstruction, normalize_kwargs
from prolong.envs.ifeval.verify import IFEvalVerifier


def strict(iid, response, **kwargs):
    v = IFEvalVerifier()(response, {"instruction_id_list": [iid], "kwargs": [kwargs]})
    assert v.reason != "invalid ground truth", v.details
    return v.correct


def loose(iid, response, **kwargs):
    return IFEvalVerifier(mode="loose")(response, {"instruction_id_list": [iid], "kwargs": [kwargs]}).correct


def test_all_25_instruction_ids_with_their_kwargs_names():
    assert len(INSTRUCTION_IDS) == 25
    assert normalize_kwargs("keywords:letter_frequency", {"letter": "Z", "let_frequency": 3, "let_relation": "at least"}) == {
        "letter": "z", "let_frequency": 3, "let_relation": "at least"}  # fmt: skip


def test_keywords_existence_is_a_case_insensitive_substring():
    assert strict("keywords:existence", "The Planetarium was fun.", keywords=["planet"])
    assert not strict("keywords:existence", "The moon was fun.", keywords=["planet", "moon"])


def test_keyword_frequency_counts_substrings():
    assert strict("keywords:frequency", "cat catalog Cat", keyword="cat", frequency=3, relation="at least")
    assert not strict("keywords:frequency", "cat catalog Cat", keyword="cat", frequency=3, relation="less than")
    assert strict("keywords:frequency", "a dog", keyword="cat", frequency=1, relation="less than")


def test_forbidden_words_match_whole_words_only():
    assert strict("keywords:forbidden_words", "The catalog is here.", forbidden_words=["cat"])
    assert not strict("keywords:forbidden_words", "The CAT is here.", forbidden_words=["cat", "dog"])


def test_letter_frequency_counts_either_case():
    assert strict("keywords:letter_frequency", "Zebra zoo", letter="z", let_frequency=2, let_relation="at least")
    assert not strict("keywords:letter_frequency", "Zebra zoo", letter="z", let_frequency=2, let_relation="less than")


def test_response_language_uses_langdetect_and_gives_benefit_of_doubt():
    spanish = "Hola amigos. Este es un texto escrito completamente en español para la prueba."
    assert strict("language:response_language", spanish, language="es")
    assert not strict("language:response_language", "This is plainly an English sentence about cats.", language="es")
    assert strict("language:response_language", "12345 !!!", language="fr")  # undetectable: counted as followed


def test_number_sentences_relations():
    text = "One here. Two here. Three here."
    assert strict("length_constraints:number_sentences", text, num_sentences=3, relation="at least")
    assert not strict("length_constraints:number_sentences", text, num_sentences=3, relation="less than")
    assert strict("length_constraints:number_sentences", text, num_sentences=4, relation="less than")


def test_number_paragraphs_split_on_markdown_divider():
    assert strict("length_constraints:number_paragraphs", "A\n***\nB\n***\nC", num_paragraphs=3)
    assert strict("length_constraints:number_paragraphs", "***\nA\n***\nB\n***", num_paragraphs=2)  # empty ends ignored
    assert not strict("length_constraints:number_paragraphs", "A\n***\n***\nB", num_paragraphs=2)  # empty middle fails
    assert not strict("length_constraints:number_paragraphs", "A\n\nB\n\nC", num_paragraphs=3)  # blank lines are not dividers


def test_number_words_counts_word_character_runs():
    assert strict("length_constraints:number_words", "one two three", num_words=3, relation="at least")
    assert strict("length_constraints:number_words", "one two three", num_words=4, relation="less than")
    assert not strict("length_constraints:number_words", "it's well-known", num_words=4, relation="less than")


def test_nth_paragraph_first_word_splits_on_blank_lines():
    text = "Intro here.\n\n\"Apples, are red.\n\nEnd."
    kw = dict(num_paragraphs=3, nth_paragraph=2, first_word="apples")
    assert strict("length_constraints:nth_paragraph_first_word", text, **kw)
    assert not strict("length_constraints:nth_paragraph_first_word", text.replace("\n\nEnd.", ""), **kw)  # 2 paragraphs
    assert not strict("length_constraints:nth_paragraph_first_word", "A\n***\nApples x\n***\nB", **kw)
    # markdown bold around the word fails strict, passes loose (stars removed)
    bold = "Intro.\n\n**Apples** are red.\n\nEnd."
    assert not strict("length_constraints:nth_paragraph_first_word", bold, **kw)
    assert loose("length_constraints:nth_paragraph_first_word", bold, **kw)


def test_placeholders_are_square_brackets_on_one_line():
    assert strict("detectable_content:number_placeholders", "Dear [name], at [address].", num_placeholders=2)
    assert not strict("detectable_content:number_placeholders", "Dear [name\n], hi", num_placeholders=1)


def test_postscript_markers():
    assert strict("detectable_content:postscript", "Bye.\nP.S. see you", postscript_marker="P.S.")
    assert strict("detectable_content:postscript", "Bye.\np. s. later", postscript_marker="P.S.")
    assert strict("detectable_content:postscript", "Bye.\nP.P.S more", postscript_marker="P.P.S")
    assert not strict("detectable_content:postscript", "Bye. PS nothing", postscript_marker="P.S.")


def test_bullet_lists_count_star_and_dash_lines_exactly():
    text = "Intro\n* one\n* two\n- three"
    assert strict("detectable_format:number_bullet_lists", text, num_bullets=3)
    assert not strict("detectable_format:number_bullet_lists", text, num_bullets=2)
    assert strict("detectable_format:number_bullet_lists", "**Bold** line\n* one", num_bullets=1)  # "**" is not a bullet


def test_constrained_response_options():
    assert strict("detectable_format:constrained_response", "  My answer is maybe.  ")
    assert not strict("detectable_format:constrained_response", "Yes.")


def test_highlights_count_single_and_double_stars():
    assert strict("detectable_format:number_highlighted_sections", "*a* and **b**", num_highlights=2)
    assert not strict("detectable_format:number_highlighted_sections", "* * and ** **", num_highlights=1)


def test_multiple_sections_count_splitter_with_number():
    text = "SECTION 1\nfoo\nSECTION 2\nbar"
    assert strict("detectable_format:multiple_sections", text, section_spliter="SECTION", num_sections=2)
    assert not strict("detectable_format:multiple_sections", text, section_spliter="Section", num_sections=2)


def test_json_format_with_and_without_fences():
    assert strict("detectable_format:json_format", '```json\n{"a": 1}\n```')
    assert strict("detectable_format:json_format", '[1, 2]')
    assert not strict("detectable_format:json_format", "Here is JSON: {\"a\": 1}")


def test_title_needs_text_inside_double_angular_brackets():
    assert strict("detectable_format:title", "<<Poem of Joy>>\nText")
    assert not strict("detectable_format:title", "<< >> and <<\n>>")


def test_two_responses_must_differ_and_be_separated_by_six_stars():
    assert strict("combination:two_responses", "First answer.\n******\nSecond answer.")
    assert not strict("combination:two_responses", "Same.\n******\nSame.")
    assert not strict("combination:two_responses", "A\n******\n\n******\nB")


def test_repeat_prompt_is_a_case_insensitive_prefix():
    assert strict("combination:repeat_prompt", "write a poem.\nRoses are red.", prompt_to_repeat="Write a poem.")
    assert not strict("combination:repeat_prompt", "Sure! Write a poem.", prompt_to_repeat="Write a poem.")


def test_end_checker_ignores_case_and_outer_quotes():
    assert strict("startend:end_checker", '"Done. any other questions?"', end_phrase="Any other questions?")
    assert not strict("startend:end_checker", "Any other questions? Bye.", end_phrase="Any other questions?")


def test_quotation_wraps_the_whole_response():
    assert strict("startend:quotation", '  "Hello there."  ')
    assert not strict("startend:quotation", '"')


def test_capital_word_frequency_counts_nltk_tokens():
    assert strict("change_case:capital_word_frequency", "I DON'T know", capital_frequency=3, capital_relation="at least")
    assert strict("change_case:capital_word_frequency", "HELLO-WORLD", capital_frequency=2, capital_relation="less than")


def test_english_capital_and_lowercase():
    assert strict("change_case:english_capital", "THIS IS AN ENGLISH SENTENCE ABOUT THE WEATHER TODAY.")
    assert not strict("change_case:english_capital", "THIS IS an ENGLISH SENTENCE.")
    assert strict("change_case:english_lowercase", "this is an english sentence about the weather today.")
    assert not strict("change_case:english_lowercase", "ceci est une phrase en français sur la météo du jour.")


def test_no_comma():
    assert strict("punctuation:no_comma", "No commas here.")
    assert not strict("punctuation:no_comma", "One, two.")


def test_loose_mode_forgives_a_preamble_line_that_strict_counts():
    response = "Sure, here it is:\n\"All of it quoted.\""
    assert not strict("startend:quotation", response)
    assert loose("startend:quotation", response)


def test_empty_response_follows_nothing():
    assert not strict("punctuation:no_comma", "   ")
    assert not loose("keywords:forbidden_words", "", forbidden_words=["x"])


def test_conflict_table_is_symmetric_and_matches_ifeval():
    for a, others in CONFLICTS.items():
        assert a in others
        for b in others:
            assert a in CONFLICTS[b]
    assert "detectable_format:title" in CONFLICTS["startend:quotation"]
    assert "keywords:existence" not in CONFLICTS["detectable_format:json_format"]
    assert "punctuation:no_comma" in CONFLICTS["detectable_format:json_format"]
    assert CONFLICTS["detectable_format:constrained_response"] == frozenset(INSTRUCTION_IDS)


def test_bad_arguments_name_the_instruction():
    with pytest.raises(InvalidInstruction, match="number_words needs argument 'relation'"):
        normalize_kwargs("length_constraints:number_words", {"num_words": 5, "relation": None})
    with pytest.raises(InvalidInstruction, match="must be one of"):
        normalize_kwargs("length_constraints:number_words", {"num_words": 5, "relation": "at most"})
    with pytest.raises(InvalidInstruction, match="unknown IFEval instruction"):
        normalize_kwargs("keywords:nope", {})
    assert normalize_kwargs("detectable_format:number_bullet_lists", {"num_bullets": 3.0, "keywords": None}) == {"num_bullets": 3}
