"""keybroker.files: the one way a user's tool configuration file is changed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from keybroker.errors import OperationError, UsageError
from keybroker.files import locked_tool_file, write_private


def read_locked(path: Path, wait_seconds: float | None = None) -> str | None:
    """Take the file's lock and read it."""
    with locked_tool_file(path, wait_seconds) as tool_file:
        return tool_file.read_text()


def test_a_relative_path_and_a_symlinked_directory_take_one_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    (tmp_path / "linked").symlink_to(real_dir)
    monkeypatch.chdir(tmp_path / "linked")
    # 'config' and 'linked/config' and 'real/config' are one file with one lock: taking
    # it twice would wait for ourselves until the bounded wait ran out
    with locked_tool_file(Path("config"), wait_seconds=0.2) as tool_file:
        assert tool_file.read_text() is None
        tool_file.write_text("a: 1\n")
        assert (real_dir / "config.lock").exists()
    assert (real_dir / "config").read_text() == "a: 1\n"
    assert not (real_dir / "config.lock").exists()


def test_a_symlinked_file_is_locked_under_both_names(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "config"
    target.parent.mkdir()
    link = tmp_path / "config"
    link.symlink_to(target)
    with locked_tool_file(link) as tool_file:
        assert (tmp_path / "config.lock").exists()  # what kubectl takes for the link
        assert (tmp_path / "dotfiles" / "config.lock").exists()  # the file really written
        tool_file.write_text("x")
    assert link.is_symlink() and target.read_text() == "x"
    with locked_tool_file(target), pytest.raises(OperationError, match="lock has existed"):
        read_locked(link, wait_seconds=0.1)


def test_a_loop_of_links_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(UsageError, match="loop of symbolic links"):
        read_locked(tmp_path / "a")


def test_a_directory_or_binary_file_is_refused_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        read_locked(tmp_path / "dir")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        read_locked(tmp_path / "binary")
    assert not list(tmp_path.glob("*.lock"))


def test_a_failed_merge_leaves_the_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "tool" / "config"
    path.parent.mkdir()
    path.write_text("old")
    with pytest.raises(RuntimeError), locked_tool_file(path):
        raise RuntimeError("merge failed")
    assert path.read_text() == "old"
    assert sorted(p.name for p in path.parent.iterdir()) == ["config"]


def test_write_private_creates_an_owner_only_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "netrc"
    write_private(path, "machine h login u password p\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o400)
    with pytest.raises(UsageError, match="read-only"):
        write_private(path, "other")
    assert path.read_text() == "machine h login u password p\n"
    assert os.listdir(path.parent) == ["netrc"]
