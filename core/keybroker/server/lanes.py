"""Which threads run a request's blocking work.

FastAPI runs every synchronous handler and dependency on anyio's default pool of
worker threads (40 per worker process). That suits work that mostly waits: a plugin
asking a cloud, a password hash. Short database work is different: it holds the
GIL for most of its time, so many threads doing it at once only take turns, each
hand-over of the GIL costs up to a switch interval (5 ms), and every request gets
slower. Handlers and dependencies marked :func:`database_lane` therefore run on a
few threads of their own per worker (``KEYBROKER_SERVER_DATABASE_THREADS``, 4 by
default); the rest keep the default pool, so a request stuck on a slow cloud never
holds up the short ones.

Only work that does nothing but read or write the database (and render the answer)
belongs in the database lane: a plugin call there would stall every other request.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

#: database-lane threads per worker process unless the settings say otherwise
DEFAULT_DATABASE_THREADS = 4

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")

_limiter: RunVar[CapacityLimiter] = RunVar("keybroker_database_lane")


def open_database_lane(threads: int) -> None:
    """Size the database lane of the running event loop (at the application's start)."""
    _limiter.set(CapacityLimiter(threads))


def _database_limiter() -> CapacityLimiter:
    try:
        return _limiter.get()
    except LookupError:  # an application started without its lifespan (some tests)
        limiter = CapacityLimiter(DEFAULT_DATABASE_THREADS)
        _limiter.set(limiter)
        return limiter


def database_lane(
    function: Callable[_Params, _Result],
) -> Callable[_Params, Awaitable[_Result]]:
    """Run a synchronous handler or dependency on the database lane's threads.

    FastAPI still reads the parameters of ``function`` (the wrapper keeps its
    signature), and awaits the wrapper instead of handing it to the default pool.
    """

    @functools.wraps(function)
    async def in_database_lane(*args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        call = functools.partial(function, *args, **kwargs)
        return await to_thread.run_sync(call, limiter=_database_limiter())

    return in_database_lane
