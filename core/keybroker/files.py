"""Updating a user's tool configuration file (kubeconfig, docker config.json, .netrc) safely.

Other programs write these files too, sometimes at the same moment, and users
arrange them their own way (a symlink into a dotfiles repository, a file made
read-only on purpose). :func:`locked_tool_file` is the one way keybroker
changes such a file:

- **Locked.** It takes ``<file>.lock``, created with ``O_CREAT | O_EXCL`` and
  removed afterwards: the lock kubectl (client-go) takes before it writes a
  kubeconfig. Docker does not lock its config.json; keybroker uses the same
  convention there, so concurrent keybroker logins never lose each other's
  entries. A lock that stays is waited for a bounded time, then reported with
  the name of the lock file.
- **Re-read under the lock.** The caller reads, merges and writes while it
  holds the lock, so an entry another process added a moment ago is kept.
- **Atomic and private.** The new text goes to a temporary file next to the
  file and replaces it in one rename, mode 0600 (or the file's own mode, if
  stricter): readers see the old file or the new one, never half of either.
- **Through symlinks.** A symlinked file is updated at its final target; the
  link stays a link.
- **Read-only is respected.** A file without write permission is refused with
  a one-line error before anything is written.
"""

from __future__ import annotations

import os
import random
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from keybroker.errors import OperationError, UsageError

#: how long a lock held by another program is waited for
LOCK_WAIT_SECONDS = 10.0
LOCK_SUFFIX = ".lock"
PRIVATE_MODE = 0o600


class ToolFile:
    """One tool configuration file, locked for a read-merge-write by :func:`locked_tool_file`."""

    def __init__(self, path: Path, target: Path) -> None:
        self.path = path
        self.target = target

    def __repr__(self) -> str:
        return f"ToolFile({str(self.path)!r})"

    def _describe(self) -> str:
        if self.target == self.path:
            return str(self.path)
        return f"{self.path} (a link to {self.target})"

    def read_text(self) -> str | None:
        """The file's text as it is now, None if it does not exist."""
        try:
            data = self.target.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise UsageError(
                f"{self._describe()} is a directory, not a file; move it, then retry"
            ) from None
        except OSError as exc:
            raise OperationError(f"cannot read {self._describe()}: {exc.strerror}") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(
                f"{self._describe()} is not UTF-8 text; fix or move it, then retry "
                "(nothing was changed)"
            ) from None

    def write_text(self, text: str) -> None:
        """Replace the file's content atomically, keeping it private to its owner."""
        target = self.target
        try:
            existing = target.stat()
        except FileNotFoundError:
            existing = None
        mode = PRIVATE_MODE & existing.st_mode if existing is not None else PRIVATE_MODE
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        except OSError as exc:
            raise OperationError(
                f"cannot write {self._describe()}: {exc.strerror} ({target.parent})"
            ) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, mode)
            if existing is not None and _running_as_root():
                # e.g. 'sudo' with the user's HOME: the file stays the user's
                os.chown(temp, existing.st_uid, existing.st_gid)
            os.replace(temp, target)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise OperationError(f"cannot write {self._describe()}: {exc.strerror}") from None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _sync_directory(target.parent)

    def check_writable(self) -> None:
        """Refuse a file its owner made read-only (or that this user may not write)."""
        try:
            status = self.target.stat()
        except FileNotFoundError:
            return
        read_only = not status.st_mode & stat.S_IWUSR or not os.access(self.target, os.W_OK)
        if read_only:
            raise UsageError(
                f"{self._describe()} is read-only; keybroker does not change it (nothing was "
                f"changed). Make it writable (chmod u+w {self.target}) or point the tool at "
                "another file, then retry"
            )


def final_target(path: Path) -> Path:
    """The file ``path`` names after following every symlink (it may not exist yet)."""
    resolved = Path(os.path.realpath(path))
    if resolved.is_symlink():  # realpath stops inside a loop of links
        raise UsageError(f"{path} is a loop of symbolic links; fix it, then retry")
    return resolved


def lock_file_name(path: Path) -> Path:
    """The lock kubectl takes for ``path``: the same name with ``.lock`` appended."""
    return path.with_name(path.name + LOCK_SUFFIX)


def _acquire(lock: Path, file: Path, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    pause = 0.005
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
        except FileExistsError:
            if time.monotonic() >= deadline:
                raise OperationError(
                    f"{file} is locked: {lock} has existed for more than {wait_seconds:g} s "
                    f"(kubectl or another keybroker may be writing {file.name}). If none is "
                    f"running, remove {lock} and retry"
                ) from None
            time.sleep(pause * random.uniform(0.5, 1.5))  # noqa: S311 - jitter, not security
            pause = min(pause * 2, 0.1)
            continue
        except FileNotFoundError:
            try:
                lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise OperationError(f"cannot create {lock.parent}: {exc.strerror}") from None
            continue
        except OSError as exc:
            raise OperationError(f"cannot create the lock file {lock}: {exc.strerror}") from None
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        return


def _release(lock: Path) -> None:
    lock.unlink(missing_ok=True)


def _running_as_root() -> bool:
    geteuid = getattr(os, "geteuid", None)  # not on Windows
    return geteuid is not None and geteuid() == 0


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: not every system allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def locked_tool_file(path: Path, wait_seconds: float | None = None) -> Iterator[ToolFile]:
    """Hold ``path``'s lock while the caller reads, merges and writes it.

    Locks ``<path>.lock`` (kubectl's name for it) and, when ``path`` is a
    symlink, also the lock of its final target, which is the file written.
    Refuses a read-only file before returning, so a caller that enters every
    file it will change before writing any changes none of them on refusal.
    """
    wait = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    named = Path(os.path.abspath(path))
    target = final_target(named)
    locks: list[Path] = []
    for lock in (lock_file_name(named), lock_file_name(target)):
        # one lock file, however many names lead to it (a symlinked directory)
        if all(os.path.realpath(lock) != os.path.realpath(other) for other in locks):
            locks.append(lock)
    with ExitStack() as held:
        for lock in locks:
            _acquire(lock, named, wait)
            held.callback(_release, lock)
        tool_file = ToolFile(named, target)
        tool_file.check_writable()
        yield tool_file


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` under its lock, atomically, mode 0600.

    For a file whose current content does not matter; to merge into a file,
    read and write it inside :func:`locked_tool_file`.
    """
    with locked_tool_file(path) as tool_file:
        tool_file.write_text(text)
