"""English dictionary words, from the spaCy model's own lemmatizer tables.

The model's vocabulary (``SecondOpinion``'s "seen" words) holds English words and the names of
its training text alike: "mark", "grant" and "flavio", "ellis" are all in it. The English
lemmatizer ships WordNet's index of nouns, verbs, adjectives and adverbs (``lemma_index``):
"mark", "will", "grant", "bill", "rose", "ruby", "apple" are there (as is "smith"), "flavio",
"ellis", "harold", "javier" are not. The pipeline never loads the lemmatizer (redactors/pii.py),
so the table is read from the model's directory, once, on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path

from spacy.language import Language
from spacy.lookups import Lookups

_TABLE = "lemma_index"


def read_english_words(model_path: Path | None) -> frozenset[str]:
    """Single words of the lemmatizer's index under `model_path`; empty when the model has none."""
    tables = model_path / "lemmatizer" / "lookups" if model_path is not None else None
    if tables is None or not (tables / "lookups.bin").is_file():
        return frozenset()
    lookups = Lookups().from_disk(tables)
    if not lookups.has_table(_TABLE):
        return frozenset()
    return frozenset(word for words in lookups.get_table(_TABLE).values() for word in words if "_" not in word)


class EnglishWords:
    """Whether a lower-case word is an English dictionary word; read on the first question.
    A model without the table answers True for every word: rules that need a word to be no
    English word then never fire."""

    def __init__(self, nlp: Language) -> None:
        self._path = nlp.path
        self._words: frozenset[str] | None = None
        self._lock = threading.Lock()

    def __contains__(self, word: str) -> bool:
        words = self._words
        if words is None:
            with self._lock:
                if self._words is None:
                    self._words = read_english_words(self._path)
                words = self._words
        return not words or word in words
