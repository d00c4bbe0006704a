"""NER input: long tokens and punctuation runs are split so that the tokenizer is linear, with
every offset unchanged and ordinary text left exactly as it is."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redactors.engine import Redactor
from redactors.nerinput import MAX_TOKEN_CHARS, ner_input


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, I am Sarah Connor. Write to me!", "Hi, I am Sarah Connor. Write to me!"),  # benign: unchanged
        ("Wait... what?! O'Brien-Smith's car", "Wait... what?! O'Brien-Smith's car"),  # short runs stay
        ("[[[[]]]]", "        "),
        ("Sarah!!!! Connor", "Sarah     Connor"),
        ("x" * 40, "x" * 40),  # a long run of letters alone is linear already
        ("Hello,John!How-are-you?I-am-Maria-from-Berlin", "Hello John How are you I am Maria from Berlin"),
        ("Theodor Ott\\nAid worker\\n", "Theodor Ott \nAid worker \n"),  # escaped line breaks made real
        ("C:\\new\\Folder", "C:\\new\\Folder"),  # benign: a path's "\\n" before a letter stays
    ],
)
def test_ner_input_table(text: str, expected: str) -> None:
    assert ner_input(text) == expected


@given(st.text(alphabet=st.sampled_from("ab [](){}!?.,'-_\n\té"), max_size=300))
def test_same_length_and_only_punctuation_changes(text: str) -> None:
    out = ner_input(text)
    assert len(out) == len(text), "offsets must not move"
    for before, after in zip(text, out):
        assert after == before or (after == " " and not before.isalnum() and not before.isspace())
    for token in out.split():
        assert len(token) <= MAX_TOKEN_CHARS or token.isalnum()


@pytest.mark.slow
def test_long_punctuation_runs_cost_linear_time_and_names_beside_them_are_found(redactor: Redactor) -> None:
    # Before the split, 8 KB of brackets took 10-12 s in spaCy's tokenizer and 6,000 characters
    # of `aaa...!!!` took 23 s. The bound is generous on purpose (a loaded CI machine).
    junk = "[" * 4000 + "]" * 4000 + " " + "a" * 3000 + "!" * 3000 + " " + "'s" * 2000
    text = f"{junk} My name is Sarah Connor and I live in Berlin. {junk}"
    started = time.perf_counter()
    redacted = redactor.redact_text(text)
    elapsed = time.perf_counter() - started
    assert "Sarah Connor" not in redacted.text and "<PERSON>" in redacted.text, "the name beside the junk is still found"
    assert "[[[[" in redacted.text, "only NER's view changed: the stored text keeps the brackets"
    assert elapsed < 8, f"{elapsed:.1f} s for {len(text)} characters"
