"""``python -m textclean ...`` is the ``textclean`` command."""

from ._cli import main

main()
