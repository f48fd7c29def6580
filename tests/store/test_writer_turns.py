"""Writers to one SQLite database take turns: threads of a process, then processes.

The turns only order writers; SQLite's own lock still guards the data. These
tests check the order (a writer waits while another holds the turn, in this
process or another), that a turn held too long is given up to SQLite rather than
waited for forever, the lock file's mode, and that audit appends from several
processes and threads all land.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keybroker.store.writer_turns import WriterTurns
from peers.sqlite_writers import append_audit_entries, hold_file_lock, hold_turn

pytestmark = pytest.mark.skipif(os.name != "posix", reason="advisory file locks are POSIX")


@contextlib.contextmanager
def _held_by_another_process(target: Callable[..., None], path: Path) -> Iterator[None]:
    """Run ``target(path, held, go)`` in another process while the block runs, once it
    says it holds its lock."""
    context = multiprocessing.get_context("spawn")
    held, go = context.Event(), context.Event()
    child = context.Process(target=target, args=(str(path), held, go))
    child.start()
    try:
        assert held.wait(30)
        yield
    finally:
        go.set()
        child.join(10)


def _start_writing(turns: WriterTurns) -> tuple[threading.Thread, threading.Event]:
    """A thread taking a turn of ``turns``, and the event it sets once it has it."""
    entered = threading.Event()

    def write() -> None:
        with turns.turn():
            entered.set()

    writer = threading.Thread(target=write)
    writer.start()
    return writer, entered


def test_a_thread_waits_while_another_holds_the_turn(tmp_path: Path) -> None:
    turns = WriterTurns(tmp_path / "kb.db")
    events: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with turns.turn():
            events.append("first in")
            holding.set()
            release.wait(10)
            events.append("first out")

    def second() -> None:
        holding.wait(10)
        with turns.turn():
            events.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    holding.wait(10)
    threading.Timer(0.2, release.set).start()
    for thread in threads:
        thread.join(10)
    assert events == ["first in", "first out", "second in"]
    mode = stat.S_IMODE((tmp_path / "kb.db.writers").stat().st_mode)
    assert mode == 0o600
    turns.close()


def test_another_process_holding_the_turn_makes_this_one_wait_then_give_up(
    tmp_path: Path,
) -> None:
    with _held_by_another_process(hold_turn, tmp_path / "kb.db"):
        turns = WriterTurns(tmp_path / "kb.db", wait_seconds=0.3)
        writer, entered = _start_writing(turns)
        assert not entered.wait(0.1)  # the other process has the turn
        writer.join(10)
        assert entered.is_set()  # after its wait it leaves the decision to SQLite
        turns.close()


def test_audit_appends_of_several_processes_and_threads_all_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, select

    from keybroker.server.context import ServerContext
    from keybroker.server.schema import audit_log
    from keybroker.server.settings import ServerSettings

    monkeypatch.setenv("KEYBROKER_SERVER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEYBROKER_SERVER_DATABASE_URL", raising=False)
    monkeypatch.setenv("KEYBROKER_ADMIN_PASSWORD", "turns-admin-password")
    context = ServerContext.create(ServerSettings.from_env())
    context.prepare()
    spawn = multiprocessing.get_context("spawn")
    children = [spawn.Process(target=append_audit_entries, args=(50,)) for _ in range(2)]
    for child in children:
        child.start()
    append_audit_entries(50)
    for child in children:
        child.join(120)
        assert child.exitcode == 0
    with context.engine.connect() as connection:
        written = connection.execute(
            select(func.count()).where(audit_log.c.action == "test.turn")
        ).scalar()
    context.close()
    assert written == 3 * 4 * 50


def test_a_link_at_the_lock_files_place_is_not_followed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "precious"
    target.write_text("unchanged\n")
    target.chmod(0o600)  # a file the lock could use, were the link followed
    (tmp_path / "kb.db.writers").symlink_to(target)
    turns = WriterTurns(tmp_path / "kb.db")
    with caplog.at_level("WARNING"), turns.turn():
        pass
    assert "not using the writers' lock file" in caplog.text
    assert target.read_text() == "unchanged\n"
    assert (tmp_path / "kb.db.writers").is_symlink()
    turns.close()


def test_a_lock_file_others_may_open_is_not_used(tmp_path: Path) -> None:
    """Someone else could hold it forever: this writer leaves the order to SQLite."""
    lock_file = tmp_path / "kb.db.writers"
    lock_file.touch()
    lock_file.chmod(0o666)
    with _held_by_another_process(hold_file_lock, lock_file):
        turns = WriterTurns(tmp_path / "kb.db", wait_seconds=20)
        writer, entered = _start_writing(turns)
        assert entered.wait(5)  # long before the 20 s wait for a turn would end
        writer.join(10)
        turns.close()
