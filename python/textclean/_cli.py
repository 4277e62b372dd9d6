"""The ``textclean`` console script: the Rust CLI, run in this process."""

from __future__ import annotations

import signal
import sys

from . import _native


def main() -> None:
    """Run ``textclean`` with ``sys.argv`` and exit with its status."""
    # Python turns Ctrl-C into KeyboardInterrupt, which it checks only
    # between bytecodes; the CLI runs in Rust for the whole command, so give
    # SIGINT back its default action (stop), as the binary has.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    argv = ["textclean", *sys.argv[1:]]
    sys.exit(_native.cli_main(argv))


if __name__ == "__main__":
    main()
