"""Run independent calls concurrently, each with its own timeout.

Calls run in daemon threads: a call that hangs past its timeout is abandoned
(reported as timed out) and never keeps the process from exiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """The result of one call: a value, an exception, or a timeout."""

    value: T | None = None
    error: BaseException | None = None
    timed_out: bool = False


def run_concurrently(
    calls: Sequence[Callable[[], T]], timeout: float, max_parallel: int = 32
) -> list[Outcome[T]]:
    """Run ``calls`` at most ``max_parallel`` at a time; return their outcomes in order.

    ``timeout`` counts from the moment each call starts.
    """
    outcomes: list[Outcome[T]] = [Outcome() for _ in calls]
    started: list[float | None] = [None] * len(calls)
    finished = [False] * len(calls)
    slots = threading.BoundedSemaphore(max(1, max_parallel))
    changed = threading.Condition()

    def worker(index: int, call: Callable[[], T]) -> None:
        with slots:
            with changed:
                started[index] = time.monotonic()
            try:
                outcomes[index].value = call()
            except BaseException as exc:  # reported to the caller, never lost
                outcomes[index].error = exc
            finally:
                with changed:
                    finished[index] = True
                    changed.notify_all()

    for index, call in enumerate(calls):
        threading.Thread(target=worker, args=(index, call), daemon=True).start()

    with changed:
        while True:
            now = time.monotonic()
            pending = False
            next_deadline = now + timeout
            for index in range(len(calls)):
                if finished[index] or outcomes[index].timed_out:
                    continue
                start = started[index]
                if start is not None and now - start >= timeout:
                    outcomes[index].timed_out = True
                    continue
                pending = True
                if start is not None:
                    next_deadline = min(next_deadline, start + timeout)
            if not pending:
                break
            changed.wait(max(0.01, next_deadline - now))
    return outcomes
