"""Type stubs of the Rust module ``textclean._native`` (re-exported by ``textclean``)."""

import os
from typing import Dict, Iterable, List, Optional, Tuple, Union, final

_PathLike = Union[str, "os.PathLike[str]"]

@final
class Pipeline:
    """A built pipeline: the stages of a config, compiled once.

    ``config``: ``None`` for the built-in default (``config/default.toml``),
    a path (``str`` or ``os.PathLike``) to a config file, or the TOML text
    itself (a ``str`` with a newline or ``=``). An invalid config raises
    ``ValueError`` naming the ``stages[i]`` and key, as the CLI does; an
    unreadable file raises ``OSError``.

    ``profile``: a corpus profile file (``textclean.build_profile`` or the
    CLI's ``merge-profile``), read by the boilerplate stage's corpus-repeat
    rule. Without one, that rule sees nothing. With the profile of a corpus
    and the same config, cleaning that corpus's documents gives exactly the
    CLI's output.

    A ``Pipeline`` is immutable and safe to share between threads.
    """

    def __init__(
        self,
        config: Union[None, _PathLike] = None,
        profile: Optional[_PathLike] = None,
    ) -> None: ...
    @property
    def stages(self) -> List[str]:
        """Names of the stages, in order."""
    @property
    def config(self) -> str:
        """The resolved config as TOML (what ``textclean check-config`` prints)."""
    @property
    def needs_profile(self) -> bool:
        """True when some stage reads the corpus profile."""
    def clean(
        self,
        text: str,
        id: Union[None, str, int] = None,
        source: Optional[str] = None,
    ) -> Cleaned:
        """Clean one text, releasing the GIL while it runs.

        ``source`` is the document's source (site, collection), as the CLI
        reads a record's ``source`` field: the corpus profile counts lines
        per source. Raises ``TypeError`` when ``text`` is not a ``str``.
        """
    def clean_batch(
        self,
        texts: Iterable[str],
        ids: Optional[Iterable[Union[str, int]]] = None,
        sources: Optional[Iterable[Optional[str]]] = None,
        threads: Optional[int] = None,
    ) -> List[Cleaned]:
        """Clean many texts on ``threads`` worker threads, without the GIL.

        Results are in input order and the same for any thread count.
        ``threads=None`` picks as the CLI does (Slurm's allocation, else the
        CPU count). ``ids`` default to the positions, as strings. Raises
        ``TypeError`` naming the first item that is not a ``str``, and
        ``ValueError`` when ``ids`` or ``sources`` differ in length.
        """

@final
class Cleaned:
    """The result of cleaning one text."""

    @property
    def id(self) -> str:
        """The document id (given, or the position in the batch)."""
    @property
    def source(self) -> Optional[str]:
        """The source given with the text, if any."""
    @property
    def text(self) -> str:
        """The cleaned text: kept lines as paragraphs separated by one blank line."""
    @property
    def sentences(self) -> Optional[List[str]]:
        """The sentences of ``text``; ``None`` when the pipeline has no sentences stage."""
    @property
    def removed(self) -> List[Tuple[int, str, str, str]]:
        """Every removed line as ``(input line number, stage, reason, text)``."""
    @property
    def stats(self) -> Dict[str, object]:
        """Counts: ``lines_in``, ``lines_out``, ``lines_removed``, ``bytes_in``,
        ``bytes_out``, ``sentences``, ``removed`` (``{stage: {reason: n}}``) and
        ``stages`` (``{stage: {"lines_edited": n, "lines_removed": n}}``)."""

def split_sentences(
    text: str, spans: bool = False
) -> Union[List[str], List[Tuple[int, int]]]:
    """Split ``text`` into sentences with the built-in English splitter.

    With ``spans=True``, ``(start, end)`` offsets in code points, so that
    ``text[start:end]`` is each sentence (the CLI's ``split-sentences
    --spans`` gives UTF-8 byte offsets). Raises ``TypeError`` when ``text``
    is not a ``str``.
    """

def build_profile(
    paths: List[_PathLike],
    out: _PathLike,
    config: Union[None, _PathLike] = None,
    threads: Optional[int] = None,
    text_field: str = "text",
    id_field: str = "id",
    source_field: str = "source",
) -> None:
    """Pass 1 over ``paths``, written to ``out`` (see ``textclean.build_profile``)."""

def cli_main(argv: List[str]) -> int:
    """Run the ``textclean`` command with ``argv`` (program name first); the exit status."""

def _panic_for_tests(message: str) -> None: ...
