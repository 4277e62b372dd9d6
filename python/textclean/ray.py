"""textclean on Ray Data: a callable class for ``Dataset.map_batches``.

The recipe, whose records equal ``textclean clean``'s on the same input::

    import ray
    import textclean
    from textclean.ray import Cleaner

    profile = textclean.build_profile(["corpus.jsonl"], "profile.bin")
    (ray.data.read_json("corpus.jsonl")
        .map_batches(Cleaner, fn_constructor_kwargs={"profile": profile}, concurrency=4)
        .write_json("cleaned/"))

Each actor builds the pipeline once (and loads the profile once); Ray runs the
actors in parallel, so each cleans its batches on ``threads`` threads (one by
default). The profile must be built over the whole corpus, with the same
config, for the output to equal the CLI's: it is what the CLI's pass 1 makes.
This module imports nothing from Ray; it works with any batch of
``dict[str, numpy.ndarray | list]``, a ``pandas.DataFrame`` or a
``pyarrow.Table``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Union

from ._native import Pipeline

__all__ = ["Cleaner"]


class Cleaner:
    """Cleans the ``text_column`` of each batch and adds ``sentences``.

    ``config`` and ``profile`` are as for :class:`textclean.Pipeline`. When
    the batch has ``id_column`` it names the documents (as ``Cleaned.id``);
    when it has ``source_column``, each row's source is used as the CLI uses
    a record's ``source`` field (the corpus profile is counted per source).
    A batch comes back in the format it came in (``dict``, ``DataFrame`` or
    ``pyarrow.Table``), with every other column unchanged.
    """

    def __init__(
        self,
        config: Union[None, str, "os.PathLike[str]"] = None,
        profile: Union[None, str, "os.PathLike[str]"] = None,
        *,
        threads: int = 1,
        text_column: str = "text",
        id_column: str = "id",
        source_column: Optional[str] = "source",
    ) -> None:
        self.pipeline = Pipeline(config, profile=profile)
        self.threads = threads
        self.text_column = text_column
        self.id_column = id_column
        self.source_column = source_column

    def _clean(self, columns: Dict[str, Any]) -> tuple:
        ids = columns.get(self.id_column)
        sources = columns.get(self.source_column) if self.source_column else None
        cleaned = self.pipeline.clean_batch(
            columns[self.text_column],
            ids=None if ids is None else [_plain(i) for i in ids],
            sources=None if sources is None else [_plain(s) for s in sources],
            threads=self.threads,
        )
        return [c.text for c in cleaned], [c.sentences for c in cleaned]

    def __call__(self, batch: Any) -> Any:
        names = [n for n in (self.text_column, self.id_column, self.source_column) if n]
        if _is_arrow_table(batch):
            columns = {n: batch.column(n).to_pylist() for n in names if n in batch.column_names}
            texts, sentences = self._clean(columns)
            import pyarrow as pa

            out = batch.set_column(
                batch.column_names.index(self.text_column),
                self.text_column,
                pa.array(texts, type=pa.string()),
            )
            if "sentences" in out.column_names:
                out = out.drop_columns(["sentences"])
            return out.append_column("sentences", pa.array(sentences, type=pa.list_(pa.string())))
        if hasattr(batch, "to_dict") and hasattr(batch, "columns"):
            # A pandas DataFrame.
            texts, sentences = self._clean({n: batch[n].tolist() for n in names if n in batch.columns})
            out = batch.copy()
            out[self.text_column] = texts
            out["sentences"] = sentences
            return out
        texts, sentences = self._clean(batch)
        out = dict(batch)
        out[self.text_column] = texts
        out["sentences"] = sentences
        return out


def _is_arrow_table(batch: Any) -> bool:
    return type(batch).__name__ == "Table" and hasattr(batch, "column_names")


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (ids may be numbers)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value
