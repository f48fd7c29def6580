"""The embedded store's files on disk: a private directory, the key file, the database file.

Everything here assumes other local users may be hostile and other keybroker
processes may run at the same moment: the directory must not be writable by
others, files are created private before anything is written to them, and the
key file appears complete or not at all.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import uuid
from pathlib import Path

from keybroker.errors import StoreError
from keybroker.store.crypto import new_key_text, parse_key

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def _owned_by_someone_else(st: os.stat_result) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is not None and st.st_uid not in (getuid(), 0)


def prepare_private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) or check that an existing one is safe to keep keys in.

    A directory that other users can write to is refused: they could replace the
    key file or the database between two runs.
    """
    try:
        path.mkdir(parents=True, mode=PRIVATE_DIR_MODE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(
            f"cannot create the config directory {path}: {exc.strerror}; "
            "set KEYBROKER_CONFIG_DIR to a directory you can write"
        ) from None
    try:
        st = path.stat()
    except OSError as exc:
        raise StoreError(f"cannot read the config directory {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(
            f"the config directory {path} is not a directory; "
            "set KEYBROKER_CONFIG_DIR to a directory"
        )
    if _owned_by_someone_else(st):
        raise StoreError(
            f"the config directory {path} belongs to another user (uid {st.st_uid}); "
            "set KEYBROKER_CONFIG_DIR to a directory of your own"
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise StoreError(
            f"the config directory {path} is writable by other users (mode {mode:o}); "
            f"run 'chmod 700 {shlex.quote(str(path))}'"
        )


def read_key_file(path: Path) -> bytes | None:
    """The key in ``path``, or None when there is no key file.

    A key file that others can read, or that belongs to another user, is refused.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read the key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise StoreError(
                f"the key file {path} is readable by other users (mode {mode:o}); "
                f"run 'chmod 600 {shlex.quote(str(path))}'"
            )
        if _owned_by_someone_else(st):
            raise StoreError(
                f"the key file {path} belongs to another user (uid {st.st_uid}); "
                "use a config directory of your own"
            )
        text = handle.read(4096).decode("ascii", errors="replace")
    return parse_key(text, str(path))


def create_key_file(path: Path) -> bytes:
    """Create ``path`` with a fresh key, or read the one another process published first.

    The key is written to a private temporary file, flushed to disk, then linked
    into place, which fails instead of replacing an existing file. A reader
    therefore sees either no key file or a complete one.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        try:
            os.write(fd, (new_key_text() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(temporary, path)
        _sync_directory(path.parent)
    except OSError as exc:
        raise StoreError(
            f"cannot create the key file {path}: {exc.strerror}; set "
            "KEYBROKER_ENCRYPTION_KEY or make the config directory writable"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
    key = read_key_file(path)
    if key is None:
        raise StoreError(f"the key file {path} disappeared while it was being created")
    return key


def _sync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def prepare_database_file(path: Path, *, tighten: bool) -> None:
    """Create the SQLite database file with mode 0600 before SQLite opens it.

    SQLite gives its ``-wal``, ``-shm`` and ``-journal`` files the mode of the
    database file. With ``tighten`` (the database lives in keybroker's own config
    directory), existing files that others can read are made private as well.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    except OSError as exc:
        raise StoreError(f"cannot open the database file {path}: {exc.strerror}") from None
    os.close(fd)
    if not tighten:
        return
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        try:
            st = candidate.stat()
            if stat.S_IMODE(st.st_mode) & 0o077 and not _owned_by_someone_else(st):
                candidate.chmod(PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StoreError(f"cannot make {candidate} private: {exc.strerror}") from None
