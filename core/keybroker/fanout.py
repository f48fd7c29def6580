"""Run independent calls concurrently, each with its own timeout, on a bounded pool.

Every call runs on :func:`shared_pool`: a fixed number of daemon worker threads
that the whole process shares (on a server, every request). A call that hangs
past its timeout is abandoned (reported as timed out) and keeps its worker
until it returns, but never makes the process start another thread: when hung
calls hold every worker, new calls wait in the queue and are reported as timed
out once the pool has made no progress for a whole timeout. So a hung cloud
call never piles up threads across requests, and nothing keeps the process
from exiting.

A call made from inside a pool worker (a connector checked during a fan-out
calling its plugin) runs inline: the outer call's timeout already covers it,
and waiting for another worker from a worker could starve the pool.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: environment variable sizing the shared pool (worker threads for plugin calls)
WORKERS_ENV = "KEYBROKER_PLUGIN_CALL_THREADS"
DEFAULT_WORKERS = 32


@dataclass
class Outcome(Generic[T]):
    """The result of one call: a value, an exception, or a timeout."""

    value: T | None = None
    error: BaseException | None = None
    timed_out: bool = False


@dataclass
class _Task:
    call: Callable[[], Any]
    outcome: Outcome[Any]
    submitted: float
    started: float | None = None
    done: bool = False
    abandoned: bool = field(default=False)


_worker_state = threading.local()


def in_worker() -> bool:
    """Whether the current thread is a pool worker."""
    return bool(getattr(_worker_state, "in_pool", False))


class CallPool:
    """At most ``workers`` daemon threads running submitted calls, started on demand."""

    _numbers = itertools.count(1)

    def __init__(self, workers: int) -> None:
        self.size = max(1, workers)
        self._queue: deque[_Task] = deque()
        self._changed = threading.Condition()
        self._threads = 0
        self._idle = 0
        self._last_progress = time.monotonic()
        self._name = f"keybroker-calls-{next(self._numbers)}"

    @property
    def threads(self) -> int:
        """How many worker threads the pool has started (never more than ``size``)."""
        with self._changed:
            return self._threads

    def run(self, calls: Sequence[Callable[[], T]], timeout: float) -> list[Outcome[T]]:
        """Run ``calls`` on the pool; return their outcomes in order.

        ``timeout`` counts from the moment each call starts; a call still
        queued is given up once the pool has made no progress for ``timeout``.
        """
        now = time.monotonic()
        tasks = [_Task(call, Outcome(), now) for call in calls]
        with self._changed:
            self._queue.extend(tasks)
            missing = min(len(self._queue) - self._idle, self.size - self._threads)
            for _ in range(max(0, missing)):
                self._threads += 1
                threading.Thread(
                    target=self._work, name=f"{self._name}-{self._threads}", daemon=True
                ).start()
            self._changed.notify_all()
            self._wait(tasks, timeout)
        return [task.outcome for task in tasks]

    def _wait(self, tasks: list[_Task], timeout: float) -> None:
        """Wait (holding the condition) until every task finished or timed out."""
        while True:
            now = time.monotonic()
            pending = False
            next_deadline = now + timeout
            for task in tasks:
                if task.done or task.abandoned:
                    continue
                if task.started is not None:
                    deadline = task.started + timeout
                else:
                    deadline = max(task.submitted, self._last_progress) + timeout
                if now >= deadline:
                    task.abandoned = True
                    task.outcome.timed_out = True
                    continue
                pending = True
                next_deadline = min(next_deadline, deadline)
            if not pending:
                return
            self._changed.wait(max(0.01, next_deadline - now))

    def _work(self) -> None:
        _worker_state.in_pool = True
        while True:
            with self._changed:
                while not self._queue:
                    self._idle += 1
                    self._changed.wait()
                    self._idle -= 1
                task = self._queue.popleft()
                if task.abandoned:
                    continue
                task.started = self._last_progress = time.monotonic()
            value: Any = None
            error: BaseException | None = None
            try:
                value = task.call()
            except BaseException as exc:  # reported to the caller, never lost
                error = exc
            with self._changed:
                if not task.abandoned:
                    task.outcome.value, task.outcome.error = value, error
                task.done = True
                self._last_progress = time.monotonic()
                self._changed.notify_all()


_shared: CallPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> CallPool:
    """The process's pool, sized by ``KEYBROKER_PLUGIN_CALL_THREADS`` (default 32)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            text = os.environ.get(WORKERS_ENV, "")
            workers = int(text) if text.isdigit() and int(text) > 0 else DEFAULT_WORKERS
            _shared = CallPool(workers)
        return _shared


def run_concurrently(
    calls: Sequence[Callable[[], T]], timeout: float, pool: CallPool | None = None
) -> list[Outcome[T]]:
    """Run ``calls`` on ``pool`` (the shared one by default); return outcomes in order.

    From inside a pool worker the calls run inline, one after the other.
    """
    if in_worker():
        return [_inline(call) for call in calls]
    return (pool or shared_pool()).run(calls, timeout)


def _inline(call: Callable[[], T]) -> Outcome[T]:
    try:
        return Outcome(value=call())
    except BaseException as exc:  # reported to the caller, never lost
        return Outcome(error=exc)
