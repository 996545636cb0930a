"""Sentence splitting and word counting as IFEval's reference does them (NLTK Punkt, no download).

Expected counts are what NLTK 3.8.1's pre-trained English Punkt model gives.
"""

import pytest

from prolong.envs.ifeval.text import count_sentences, count_words, split_sentences, word_tokens

PUNKT_COUNTS = [
    ("Hello world.", 1),
    ("Hello world. How are you?", 2),
    ("Mr. Smith went to Washington. He arrived at 3 p.m. on Monday.", 2),
    ("Dr. Jones is here. She brought e.g. apples and pears.", 3),  # "e.g" is not in Punkt's English abbreviations
    ("We use tools, i.e. hammers. Then we build.", 3),
    ("The value of pi is 3.14 roughly. It never ends.", 2),
    ("Wait... What happened? Nobody knows!", 2),
    ('He said "Stop." Then he left.', 2),
    ("(This is in parentheses.) This is not.", 2),
    ("Really?! Yes!!! Okay.", 3),
    ("The U.S. economy grew. The U.K. did too.", 2),
    ("1. First item\n2. Second item\n3. Third item", 4),
    ("Title line without period\nFirst sentence here. Second one here.", 2),
    ("J. R. R. Tolkien wrote books. They sold well.", 2),
    ("no capital start. still counts as two.", 2),
    ("Ellipsis at the end...", 1),
    ("Email me at john.doe@example.com. Thanks.", 2),
    ("Version 2.0 is out. Update now.", 2),
    ("She works at Acme Inc. The firm is big.", 2),
    ("", 0),
    ("   ", 0),
    ("One\n\nTwo\n\nThree", 1),  # Punkt never breaks on newlines alone
    ("What? No way. Sure!", 3),
    ("I like it. i like it too.", 2),
    ("See Fig. 3 for details. It is clear.", 3),
]


@pytest.mark.parametrize("text,expected", PUNKT_COUNTS)
def test_sentence_count_matches_punkt_english(text, expected):
    assert count_sentences(text) == expected


def test_closing_quote_and_bracket_stay_with_their_sentence():
    assert split_sentences('He said "Stop." Then he left.') == ['He said "Stop."', "Then he left."]
    assert split_sentences("(This is in parentheses.) This is not.") == ["(This is in parentheses.)", "This is not."]


def test_abbreviation_title_does_not_end_a_sentence():
    assert split_sentences("Mr. Smith went home. Mrs. Smith stayed.") == ["Mr. Smith went home.", "Mrs. Smith stayed."]


def test_words_are_runs_of_word_characters():
    assert count_words("Hello, world! It's 3.14 -- well-known.") == 8  # Hello world It s 3 14 well known
    assert count_words("") == 0
    assert count_words("naïve café 東京") == 3


def test_word_tokens_match_nltk_word_tokenize():
    text = "I LOVE NEW YORK AND DON'T CARE. THE U.S.A. IS BIG, OK? \"YES\" SHE SAID. well-KNOWN CAN'T CANNOT JOHN'S"
    assert word_tokens(text) == [
        "I", "LOVE", "NEW", "YORK", "AND", "DO", "N'T", "CARE", ".", "THE", "U.S.A.", "IS", "BIG", ",", "OK", "?",
        "``", "YES", "''", "SHE", "SAID", ".", "well-KNOWN", "CA", "N'T", "CAN", "NOT", "JOHN", "'S",
    ]  # fmt: skip


@pytest.mark.timeout(60)  # a quadratic splitter would take many minutes on these
@pytest.mark.parametrize(
    "text",
    ["a. " * 20000, "!" * 50000, "Mr. " * 20000, " " * 50000 + ".", "[" * 50000, '"' * 50000, ". " + " " * 50000 + "x"],
)
def test_degenerate_text_is_split_in_linear_time(text):
    assert count_sentences(text) >= 1
    assert len(word_tokens(text)) >= 1
