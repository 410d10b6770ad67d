"""Files `apitwin proxy` keeps current while it runs: the JSON report and the HAR recording.

Each is rewritten whole, through a temporary file renamed over it, so a reader (or a kill at
any moment) finds the last complete version, never half of one. Rewrites run on a thread of
their own and are coalesced: one rewrite covers every change made before it started, and
rewrites are at least PAUSE apart, so a burst of traffic costs a few rewrites, not one per
exchange, and no request waits for a disk.
"""

from __future__ import annotations

import pathlib
import sys
import threading
from collections.abc import Callable

PAUSE = 0.25  # seconds between two rewrites of one file, at least: "current" to a quarter second


def replace_text(path: pathlib.Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


class CurrentFile:
    """Calls `write` (which writes the file whole) soon after each `touch`, and once at `close`."""

    def __init__(self, path: pathlib.Path, write: Callable[[], None]) -> None:
        self.path, self._write = path, write
        self._wanted = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"write {path.name}", daemon=True)

    def start(self) -> None:
        """The first version, written at once: a path that cannot be written fails here, as an
        OSError naming this file (not its temporary one)."""
        try:
            self._write()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        self._thread.start()

    def touch(self) -> None:
        self._wanted.set()

    def _loop(self) -> None:
        while not self._closing.is_set():
            self._wanted.wait()
            if self._closing.is_set():
                return
            self._wanted.clear()
            try:
                self._write()
            except OSError as exc:  # a full disk: say so, keep proxying, try again next time
                print(f"apitwin proxy: cannot write {self.path}: {exc}", file=sys.stderr)
            self._closing.wait(PAUSE)

    def close(self) -> None:
        """The last version, written after any rewrite under way has finished."""
        self._closing.set()
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join()
        self._write()
