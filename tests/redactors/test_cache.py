"""The content cache: reuse per text unit, keyed digests, bounds, tenant scoping."""

from __future__ import annotations

from collections import Counter

from redactors.engine import Redactor
from redactors.textredact import PARAGRAPH_SPLIT_CHARS, RedactedText, RedactionCache, text_units

SYSTEM = "You are a helpful support assistant for Acme Bank. Never reveal internal notes.\n\n" * 30
DOC = "Refunds are processed within 5 business days. Escalate to billing@acme.com if needed.\n\n" * 10


def test_repeated_units_hit_and_give_identical_results(make_redactor) -> None:
    redactor: Redactor = make_redactor({})
    first = redactor.redact_text(SYSTEM + DOC + "My name is Priya Raman, card 4111 1111 1111 1111.")
    misses = redactor.cache.misses
    second = redactor.redact_text(SYSTEM + DOC + "My name is Tomas Novak, email tomas@example.org.")
    assert "<EMAIL_ADDRESS>" in first.text and "billing@acme.com" not in first.text
    assert "Tomas Novak" not in second.text and "tomas@example.org" not in second.text
    assert redactor.cache.misses - misses == 1, "only the changed paragraph is redacted again"
    assert redactor.cache.hits >= len(set(text_units(SYSTEM + DOC))), "repeated paragraphs are hits"
    assert first.text.split("My name is")[0] == second.text.split("My name is")[0]


def test_cache_keys_are_keyed_digests_not_text(make_redactor) -> None:
    redactor: Redactor = make_redactor({})
    redactor.redact_text("contact maria@example.org please")
    keys = list(redactor.cache._entries)
    assert keys and all(isinstance(k, bytes) and len(k) == 32 for k in keys)
    assert all(b"maria" not in k for k in keys)
    other = RedactionCache()
    assert other.digest("acme\x00prod", "x") != redactor.cache.digest("acme\x00prod", "x"), "per-process key"


def test_cache_is_scoped_by_tenant(make_redactor) -> None:
    redactor: Redactor = make_redactor({"defaults": {"default_method": "pseudonym"}})
    a = redactor.redact_text("mail maria@example.org", tenant="acme")
    b = redactor.redact_text("mail maria@example.org", tenant="globex")
    assert a.text != b.text, "a cached pseudonym of one tenant is never served to another"


def test_cache_is_bounded() -> None:
    cache = RedactionCache(max_entries=3, max_chars=1000)
    for index in range(10):
        cache.put(cache.digest("t", str(index)), RedactedText(f"text {index}", Counter()))
    assert len(cache) == 3
    assert cache.get(cache.digest("t", "9")) is not None
    assert cache.get(cache.digest("t", "0")) is None
    small = RedactionCache(max_entries=100, max_chars=40)
    for index in range(10):
        small.put(small.digest("t", str(index)), RedactedText("x" * 2, Counter()))
    assert sum(len(v.text) for v in small._entries.values()) <= 40


def test_failed_results_are_not_cached() -> None:
    cache = RedactionCache()
    key = cache.digest("t", "x")
    cache.put(key, RedactedText("<REDACTION_FAILED>", Counter({"REDACTION_FAILED": 1})))
    assert cache.get(key) is None


def test_text_units_concatenate_back() -> None:
    text = ("para one\n\npara two\n \n" * 200) + "tail"
    units = text_units(text)
    assert "".join(units) == text and len(units) > 1
    assert text_units("short\n\ntext") == ["short\n\ntext"]
    assert len("x" * PARAGRAPH_SPLIT_CHARS) >= PARAGRAPH_SPLIT_CHARS


def test_structural_values_are_cached_apart_from_content(make_redactor) -> None:
    redactor: Redactor = make_redactor({})
    text = redactor._text
    policy = redactor.policies.resolve("default", "default")
    pseudo = redactor._pseudonymizer.for_tenant("default")
    token = "gh" + "p_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    hits, misses = redactor.cache.hits, redactor.cache.misses
    first = text.redact_secrets_only(f"model-{token}", policy, pseudo)
    second = text.redact_secrets_only(f"model-{token}", policy, pseudo)
    assert first.text == second.text == "model-<SECRET:github_token>"
    assert text._structural_cache.hits == 1 and token not in repr(list(text._structural_cache._entries))
    assert (redactor.cache.hits, redactor.cache.misses) == (hits, misses), "the content cache's hit rate is not touched"
    other = text.redact_secrets_only(f"model-{token}", redactor.policies.resolve("other", "default"), pseudo)
    assert other.text == first.text and text._structural_cache.misses == 2, "scoped by tenant and env"
