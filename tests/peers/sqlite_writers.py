"""Other processes writing one SQLite database, for the writer-turn tests (spawned)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from keybroker.store.writer_turns import WriterTurns


def hold_turn(database: str, held: Any, go: Any) -> None:
    """Take the writers' turn of ``database``, say so on ``held``, keep it until ``go``."""
    turns = WriterTurns(Path(database))
    with turns.turn():
        held.set()
        go.wait(10)


def hold_file_lock(path: str, held: Any, go: Any) -> None:
    """Hold an advisory lock on ``path`` (as another user's process could), until ``go``."""
    import fcntl
    import os

    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held.set()
    go.wait(60)
    os.close(fd)


def append_audit_entries(count: int, threads: int = 4) -> None:
    """Append ``count`` audit entries from each of ``threads`` threads, to the server
    database the environment names."""
    from keybroker.server.audit import AuditLog
    from keybroker.server.database import create_engine
    from keybroker.server.settings import ServerSettings

    engine = create_engine(ServerSettings.from_env())
    log = AuditLog(engine)

    def append() -> None:
        for _ in range(count):
            log.append("test.turn", principal=None)

    running = [threading.Thread(target=append) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    log.close()
    engine.dispose()
