"""Running the real CLI on a pseudo-terminal: read what a user would see, type answers.

The process gets the terminal as its controlling terminal (as a shell gives it),
so that hidden input (``getpass``) and ``isatty`` behave as for a person.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence

ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class Terminal:
    """``python -m keybroker ARGS`` on a fresh pseudo-terminal of ``columns`` x ``rows``."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        columns: int = 100,
        rows: int = 40,
    ) -> None:
        self.leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "keybroker", *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env={**environment, "TERM": "xterm", **(env or {})},
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(follower)
        self.seen = ""  # everything shown so far, \r\n as \n
        self._mark = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.leader], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            return False
        if not chunk:
            return False
        self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
        return True

    def expect(self, text: str, timeout: float = 30) -> str:
        """Wait until ``text`` appears after the previous match; return what came before it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.seen.find(text, self._mark)
            if found >= 0:
                before = self.seen[self._mark : found]
                self._mark = found + len(text)
                return before
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not shown; the terminal shows:\n{self.seen}")
            if not self._read(0.2) and self.process.poll() is not None:
                raise AssertionError(f"{text!r} not shown before exit; it showed:\n{self.seen}")

    def type(self, line: str) -> None:
        """Type ``line`` and Enter."""
        os.write(self.leader, line.encode() + b"\r")

    def finish(self, timeout: float = 60) -> int:
        """Read until the process exits; return its exit code."""
        deadline = time.monotonic() + timeout
        while self._read(0.2) and time.monotonic() < deadline:
            if self.process.poll() is not None and not select.select([self.leader], [], [], 0)[0]:
                break
        code = self.process.wait(max(0.1, deadline - time.monotonic()))
        os.close(self.leader)
        return code

    def close(self) -> None:
        """Stop the process if it still runs and release the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        with contextlib.suppress(OSError):  # already closed by finish()
            os.close(self.leader)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def text(self) -> str:
        """Everything shown, escape sequences removed."""
        return ESCAPES.sub("", self.seen)
