"""redactors/langmodel.py maps py3langid's model from an unpacked copy kept beside the gazetteer:
it must hand LanguageIdentifier the values py3langid's own loader does, derive the copy again
when it is missing or damaged, and still load when the directory cannot be written."""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np
import pytest
from py3langid import modelio
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from redactors import gazetteer, langmodel


@pytest.fixture(scope="module")
def reference() -> tuple:
    return modelio.load_model(langmodel.source_path())


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(gazetteer.ENV, str(tmp_path / "share" / "gazetteer.txt.gz"))
    return tmp_path / "share"


def _assert_same_model(got: tuple, want: tuple) -> None:
    assert len(got) == len(want)
    for ours, theirs in zip(got, want, strict=True):
        if isinstance(theirs, np.ndarray):
            assert type(ours) is np.ndarray and ours.dtype == theirs.dtype
            assert np.array_equal(ours, theirs)
        elif isinstance(theirs, array):  # the DFA tables: a memoryview of the map, same items
            assert isinstance(ours, memoryview) and ours.format == theirs.typecode and ours.itemsize == theirs.itemsize
            assert ours.tobytes() == theirs.tobytes()
        else:
            assert type(ours) is type(theirs) and ours == theirs


def test_derived_then_cached_arrays_equal_py3langids_loader(cache_dir: Path, reference: tuple) -> None:
    _assert_same_model(langmodel.load_arrays(), reference)  # derived: no copy yet
    (copy,) = cache_dir.glob("langid-*.bin")
    stamp = copy.stat().st_mtime_ns
    _assert_same_model(langmodel.load_arrays(), reference)  # read from the copy
    assert copy.stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"not a model file", id="no-header"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data.replace(b"<f2", b"|O8", 1), id="object-dtype"),
        pytest.param(lambda data: data.replace(b"tracevault-langid-1", b"tracevault-langid-0", 1), id="other-format"),
    ],
)
def test_a_damaged_copy_is_derived_again(cache_dir: Path, reference: tuple, damage) -> None:  # noqa: ANN001
    target = langmodel.cache_path(langmodel.source_path())
    langmodel.load_arrays()  # derives the copy
    target.write_bytes(damage(target.read_bytes()))
    _assert_same_model(langmodel.load_arrays(), reference)
    assert target.stat().st_size > 60_000_000  # written again, whole


def test_an_unwritable_directory_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: tuple) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    monkeypatch.setenv(gazetteer.ENV, str(blocker / "gazetteer.txt.gz"))  # its directory is a file

    def no_compressing(*args: object, **kwargs: object) -> None:
        raise AssertionError("compressed a copy that cannot be written")

    monkeypatch.setattr(langmodel.np, "savez_compressed", no_compressing)
    _assert_same_model(langmodel.load_arrays(), reference)
    assert not list(tmp_path.glob("**/langid-*"))


TEXTS = [
    ("Could you please check why my invoice was charged twice this month?", "en"),
    ("Könnten Sie bitte prüfen, warum meine Rechnung zweimal belastet wurde?", "de"),
    ("Pourriez-vous vérifier pourquoi ma facture a été débitée deux fois ce mois-ci ?", "fr"),
    ("¿Podrían revisar por qué mi factura se cobró dos veces este mes?", "es"),
]


@pytest.fixture(scope="module")
def identifiers(tmp_path_factory: pytest.TempPathFactory) -> tuple[LanguageIdentifier, LanguageIdentifier]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(gazetteer.ENV, str(tmp_path_factory.mktemp("share") / "gazetteer.txt.gz"))
        langmodel.identifier()  # derives the copy
        return langmodel.identifier(), LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@pytest.mark.parametrize(("text", "code"), TEXTS)
def test_identifier_answers_as_py3langids_own(identifiers: tuple[LanguageIdentifier, LanguageIdentifier], text: str, code: str) -> None:
    ours, theirs = identifiers
    assert ours.classify(text) == theirs.classify(text)
    assert ours.classify(text)[0] == code
