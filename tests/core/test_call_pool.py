"""Plugin calls run on one bounded pool: a hung call never piles up threads across callers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from keybroker import fanout
from keybroker.caller import Caller
from keybroker.errors import ConnectionFailure
from keybroker.fanout import CallPool
from keybroker.service import ConnectorService, LocalOperations
from keybroker.settings import Settings
from keybroker.store.memory import MemoryConnectorStore
from peers.fake_plugins import register


def _pool_threads(pool: CallPool) -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith(pool._name + "-"))


def test_hung_calls_keep_their_workers_and_never_add_threads() -> None:
    pool = CallPool(2)
    release = threading.Event()
    try:
        started = time.monotonic()
        for _ in range(4):  # four "requests", each with three calls that hang
            outcomes = pool.run([lambda: release.wait(30)] * 3, timeout=0.3)
            assert all(o.timed_out for o in outcomes)
        # each request gave up after about one timeout, whatever was queued
        assert time.monotonic() - started < 4 * 0.3 * 2 + 1
        assert pool.threads == 2 and _pool_threads(pool) == 2
        # a call queued behind hung workers is given up, not left waiting for ever
        (queued,) = pool.run([lambda: "answer"], timeout=0.3)
        assert queued.timed_out and queued.value is None
    finally:
        release.set()
    (answered,) = pool.run([lambda: "answer"], timeout=5)
    assert answered.value == "answer"
    assert _pool_threads(pool) == 2


def test_results_and_errors_come_back_in_order() -> None:
    pool = CallPool(3)

    def fail() -> int:
        raise ValueError("boom")

    outcomes = pool.run([lambda: 1, fail, lambda: 3], timeout=5)
    assert [o.value for o in outcomes] == [1, None, 3]
    assert isinstance(outcomes[1].error, ValueError)


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch) -> CallPool:
    pool = CallPool(2)
    monkeypatch.setattr(fanout, "_shared", pool)
    return pool


def test_a_hung_plugin_on_many_concurrent_requests_holds_at_most_the_pool(
    fake_plugins: Path, tmp_path: Path, small_pool: CallPool
) -> None:
    settings = Settings(config_dir=tmp_path / "kb", timeout_seconds=0.5)
    store = MemoryConnectorStore()
    owner = ConnectorService(
        settings=settings,
        backend=LocalOperations(store=store, settings=settings, caller=Caller(name="alice")),
    )
    register(owner, "hangs", attributes={"delay": "5"}, resource_type="fake-bucket", verify=False)
    errors: list[BaseException] = []

    def request() -> None:  # what one server request does: its own operations, one verify
        backend = LocalOperations(store=store, settings=settings, caller=Caller(name="alice"))
        try:
            backend.verify("hangs")
        except ConnectionFailure as exc:
            errors.append(exc)

    before = threading.active_count()
    started = time.monotonic()
    requests = [threading.Thread(target=request) for _ in range(8)]
    for thread in requests:
        thread.start()
    for thread in requests:
        thread.join(10)
    assert len(errors) == 8
    assert all("did not answer within 0.5 s" in str(e) for e in errors)
    assert time.monotonic() - started < 4
    assert _pool_threads(small_pool) == 2
    assert threading.active_count() - before <= 2  # the hung calls hold only the pool's
    # list-resources fans out on the same pool and reports the hung connector as such
    reports = owner.list_resources(resource_type="fake-bucket")
    assert [r.error for r in reports] == ["connector 'hangs' did not answer within 0.5 s"]
    assert _pool_threads(small_pool) == 2
