"""A spinner on stderr for slow operations, shown only when stderr is a terminal."""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@contextmanager
def spinner(message: str) -> Iterator[None]:
    """Show ``message`` with a spinner while the block runs; nothing when piped."""
    stream = sys.stderr
    if not stream.isatty():
        yield
        return
    from keybroker.cli.text import clean_line

    message = clean_line(message)
    done = threading.Event()

    def spin() -> None:
        for frame in itertools.cycle(FRAMES):
            stream.write(f"\r{frame} {message}")
            stream.flush()
            if done.wait(0.1):
                break
        stream.write("\r\x1b[2K")
        stream.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
