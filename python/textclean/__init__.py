"""textclean: the textclean pipeline in-process, with the CLI's exact output.

Quick start::

    import textclean
    pipeline = textclean.Pipeline()
    print(pipeline.clean("“Hello,” she said.\\nHide Ad\\nShe left.").sentences)

Everything here is the Rust crate's own code behind a thin binding: the same
config file, the same stages, the same bytes as ``textclean clean``. The
pipeline's boilerplate stage can read a *corpus profile* (lines that repeat
across many documents); without one, ``Pipeline`` sees each text alone. To get
exactly the CLI's output for a corpus, build the profile over that corpus
(:func:`build_profile`, or ``textclean plan/profile/merge-profile`` for a
sharded run) and pass its path as ``Pipeline(profile=...)``: every engine that
maps batches (``datasets``, Ray, Spark) then gives the CLI's records.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from . import _native
from ._native import Cleaned, Pipeline, split_sentences

__all__ = [
    "Cleaned",
    "Pipeline",
    "build_profile",
    "datasets_map",
    "split_sentences",
]

PathLike = Union[str, "os.PathLike[str]"]


def build_profile(
    paths: Union[PathLike, Iterable[PathLike]],
    out: Optional[PathLike] = None,
    *,
    config: Union[None, PathLike, str] = None,
    threads: Optional[int] = None,
    text_field: str = "text",
    id_field: str = "id",
    source_field: str = "source",
) -> str:
    """Run pass 1 (the corpus profile) over input files and write it.

    ``paths`` are what ``textclean clean`` takes: directories of ``.txt``
    files, ``.jsonl`` or ``.csv`` files, optionally ``.gz`` or ``.zst``. The
    profile depends on the config (its stages before the boilerplate stage
    and its ``[corpus]`` settings), so give the same ``config`` as the
    ``Pipeline`` that will read it. ``out`` defaults to a new temporary file,
    which the caller owns. Returns the path written; the bytes are the same
    for any thread count.

    Raises ``OSError`` for a missing or unreadable input or output,
    ``ValueError`` for an invalid config.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if out is None:
        fd, out = tempfile.mkstemp(prefix="textclean-profile-", suffix=".bin")
        os.close(fd)
    out = os.fspath(out)
    _native.build_profile(
        paths,
        out,
        config=config,
        threads=threads,
        text_field=text_field,
        id_field=id_field,
        source_field=source_field,
    )
    return out


def datasets_map(
    pipeline: Pipeline,
    *,
    text_column: str = "text",
    id_column: Optional[str] = None,
    source_column: Optional[str] = "source",
    threads: Optional[int] = None,
) -> Callable[[Dict[str, List[Any]]], Dict[str, List[Any]]]:
    """A function for ``Dataset.map(..., batched=True)``.

    It cleans the batch's ``text_column`` with :meth:`Pipeline.clean_batch`
    and returns that column cleaned plus a ``sentences`` column (a list of
    strings per row; ``None`` when the pipeline has no sentences stage).
    Other columns are left as they are. ``source_column``, when the batch has
    it, names each row's source, which the corpus profile is counted by (as
    the CLI reads a ``source`` field)::

        ds = ds.map(textclean.datasets_map(textclean.Pipeline(profile=p)), batched=True)
    """

    def clean_columns(batch: Dict[str, List[Any]]) -> Dict[str, List[Any]]:
        sources = batch.get(source_column) if source_column else None
        ids = batch.get(id_column) if id_column else None
        cleaned = pipeline.clean_batch(
            batch[text_column], ids=ids, sources=sources, threads=threads
        )
        return {
            text_column: [c.text for c in cleaned],
            "sentences": [c.sentences for c in cleaned],
        }

    return clean_columns
