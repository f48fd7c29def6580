"""Where a request's short database work runs: on a few threads of its own, or on the
event loop.

FastAPI runs every synchronous handler and dependency on anyio's default pool of
worker threads (40 per worker process). That suits work that mostly waits: a plugin
asking a cloud, a password hash. Short database work is different: it holds the
GIL for most of its time, so many threads doing it at once only take turns, each
hand-over of the GIL costs up to a switch interval (5 ms), and every request gets
slower. Handlers and dependencies marked :func:`database_lane` therefore run in
the *database lane* (``KEYBROKER_SERVER_DATABASE_THREADS`` per worker):

- ``0`` runs them on the event loop itself, one at a time, with no hand-over at
  all: the default for a database on this host (SQLite, whose reads never wait
  for another process, or PostgreSQL/MariaDB over loopback or a Unix socket);
- ``N`` runs them on ``N`` threads of their own: the default (4) for a database
  across the network, so that the round trips of several requests overlap.

Either way the rest keep the default pool, so a request stuck on a slow cloud
never holds up the short ones. Only work that does nothing but read or write the
database (and render the answer) belongs in the lane: a plugin call there would
stall every other request of the worker.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

from keybroker.server.settings import NETWORK_DATABASE_THREADS

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")

#: the lane of the running event loop: its threads, or None for the loop itself
_lane: RunVar[CapacityLimiter | None] = RunVar("keybroker_database_lane")


def open_database_lane(threads: int) -> None:
    """Set up the database lane of the running event loop (at the application's start):
    ``threads`` threads, or the event loop itself for 0."""
    _lane.set(CapacityLimiter(threads) if threads > 0 else None)


def _threads() -> CapacityLimiter | None:
    try:
        return _lane.get()
    except LookupError:  # an application started without its lifespan (some tests)
        limiter = CapacityLimiter(NETWORK_DATABASE_THREADS)
        _lane.set(limiter)
        return limiter


def database_lane(
    function: Callable[_Params, _Result],
) -> Callable[_Params, Awaitable[_Result]]:
    """Run a synchronous handler or dependency in the database lane.

    FastAPI still reads the parameters of ``function`` (the wrapper keeps its
    signature), and awaits the wrapper instead of handing it to the default pool.
    """

    @functools.wraps(function)
    async def in_database_lane(*args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        threads = _threads()
        if threads is None:
            return function(*args, **kwargs)
        call = functools.partial(function, *args, **kwargs)
        return await to_thread.run_sync(call, limiter=threads)

    return in_database_lane
