"""English dictionary words from the model's lemmatizer tables (redactors/englishwords.py) and the
lower-case pairs of known names that they let through ("flavio ellis"), beside English twins."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from redactors.englishwords import EnglishWords, read_english_words

WORDS = [
    # (word, English dictionary word): common words that are names too, and names that are no word.
    ("mark", True),
    ("grant", True),
    ("will", True),
    ("bill", True),
    ("ruby", True),
    ("apple", True),
    ("flavio", False),
    ("ellis", False),
    ("javier", False),
]


@pytest.mark.parametrize(("word", "english"), WORDS)
def test_the_models_word_index_tells_english_words(analyzer, word: str, english: bool) -> None:
    assert (word in EnglishWords(analyzer._nlp)) is english


def test_a_model_without_the_table_reads_every_word_as_english(tmp_path: Path) -> None:
    assert read_english_words(tmp_path) == frozenset()
    assert read_english_words(None) == frozenset()
    assert "flavio" in EnglishWords(SimpleNamespace(path=tmp_path))


PAIRS = [
    # (first, last, candidate): lower-case pairs proposed to the model, and twins that never are.
    ("flavio", "ellis", True),  # both seen by the model, both no English word
    ("harold", "moseti", True),  # a word the model never saw
    ("will", "grant", False),  # both English words
    ("will", "ellis", False),  # the first is an English word
    ("flavio", "smith", False),  # the surname is an English word
    ("the", "ellis", False),  # a stop word
    ("tajudinn", "qaasim", True),  # no known first name: two words the model never saw, where a person stands
    ("kubectl", "deploy", False),  # an English word after one the model never saw
    ("gcp", "pubsub", False),  # an acronym
]


@pytest.mark.parametrize(("first", "last", "candidate"), PAIRS)
def test_lower_case_pairs_of_known_names(analyzer, first: str, last: str, candidate: bool) -> None:
    assert analyzer._second._lower_pair_candidate(first, last, lambda: True) is candidate


def test_unseen_pairs_need_a_persons_place(analyzer) -> None:
    assert analyzer._second._lower_pair_candidate("tajudinn", "qaasim", lambda: False) is False
    assert analyzer._second._lower_pair_candidate("flavio", "ellis", lambda: False) is True  # a known first name needs none
