"""`python -m apitwin`, and the `apitwin` command (pyproject's script entry point)."""

import gc
import sys


def run() -> int:
    # Start-up imports and builds much and frees little, so the cyclic collector's passes over it
    # are wasted time (about a tenth of it). cli.main turns the collector back on once a command
    # has started (`serve`: once its app is built and frozen out of the collector's way).
    gc.disable()
    from apitwin.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
