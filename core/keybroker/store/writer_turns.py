"""Writers to one SQLite database take turns, each woken as soon as the last one is done.

SQLite lets one connection at a time write. Another writer that finds the lock
taken sleeps in SQLite's busy handler, 1, 2, 5, 10 ... up to 100 ms between
tries, and under steady writes from several threads and processes it can lose
many rounds in a row: a server's audit appends saw a p99 of half a second.
:class:`WriterTurns` makes such writers queue instead: a lock per process, then
an advisory lock on a file beside the database (``<database>.writers``, created
0600) shared by every process writing it. A lock file that is not a regular file
of this user's, private to it (a link, or one another user made to hold the lock
forever), is not used: the threads of each process still take turns, and
processes meet at SQLite's lock as before. A writer that waited longer than the
database's own busy timeout stops waiting and writes anyway, so SQLite decides,
as it did before: a stuck writer never blocks the others for longer than that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the threads of one process still take turns
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

#: how long a writer waits for its turn before leaving it to SQLite (its busy timeout)
WAIT_SECONDS = 30.0
#: the pause between two tries of the file lock
_POLL_SECONDS = 0.0005


class WriterTurns:
    """Turns for the writers of one SQLite database file (None: in memory, one process)."""

    def __init__(self, database_file: Path | None, wait_seconds: float = WAIT_SECONDS) -> None:
        self._threads = threading.Lock()
        self._path = (
            None
            if database_file is None
            else database_file.with_name(database_file.name + ".writers")
        )
        self._fd: int | None = None
        self._wait_seconds = wait_seconds

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold this process's and then the file's turn while the block writes."""
        deadline = time.monotonic() + self._wait_seconds
        mine = self._threads.acquire(timeout=self._wait_seconds)
        try:
            locked = mine and self._lock_file(deadline)
            try:
                yield
            finally:
                if locked and self._fd is not None and fcntl is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            if mine:
                self._threads.release()

    def _lock_file(self, deadline: float) -> bool:
        """Take the file's lock (this thread holds the process's); False when there is no
        file lock to take, or the wait ran past ``deadline``."""
        if self._path is None or fcntl is None:
            return False
        if self._fd is None:
            self._fd = self._open(self._path)
            if self._fd is None:
                self._path = None  # never try again
                return False
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(_POLL_SECONDS)

    @staticmethod
    def _open(path: Path) -> int | None:
        """The lock file, opened; None when it is not this user's private regular file."""
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            log.warning("not using the writers' lock file %s: %s", path, exc.strerror or exc)
            return None
        status = os.fstat(fd)
        if (
            not stat.S_ISREG(status.st_mode)
            or status.st_uid != os.geteuid()
            or status.st_mode & 0o077
        ):
            os.close(fd)
            log.warning(
                "not using the writers' lock file %s: it must be a regular file of this "
                "user's, readable and writable by it alone",
                path,
            )
            return None
        return fd

    def close(self) -> None:
        """Close the lock file (a later turn opens it again)."""
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
