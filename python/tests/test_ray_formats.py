"""textclean.ray.Cleaner on each batch format, without a Ray cluster."""

from __future__ import annotations

import pytest

from textclean.ray import Cleaner

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")

TEXTS = ["Hide Ad\nHe waved. Mr. Smith left.", "“Hi,” she said."]
WANT_TEXT = ["He waved. Mr. Smith left.", '"Hi," she said.']
WANT_SENTENCES = [["He waved.", "Mr. Smith left."], ['"Hi," she said.']]


def test_numpy_dict_batches():
    out = Cleaner()({"id": np.array(["a", "b"]), "text": np.array(TEXTS, dtype=object), "n": np.array([1, 2])})
    assert list(out["text"]) == WANT_TEXT
    assert [list(s) for s in out["sentences"]] == WANT_SENTENCES
    assert list(out["n"]) == [1, 2]


def test_pandas_batches():
    out = Cleaner()(pd.DataFrame({"id": [7, 8], "text": TEXTS}))
    assert out["text"].tolist() == WANT_TEXT
    assert out["sentences"].tolist() == WANT_SENTENCES
    assert out["id"].tolist() == [7, 8]


def test_arrow_batches():
    out = Cleaner()(pa.table({"text": TEXTS, "n": [1, 2]}))
    assert out.column("text").to_pylist() == WANT_TEXT
    assert out.column("sentences").to_pylist() == WANT_SENTENCES
    assert out.column_names == ["text", "n", "sentences"]


def test_non_str_text_in_a_batch_is_a_type_error():
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        Cleaner()({"text": np.array(["ok", 3], dtype=object)})
