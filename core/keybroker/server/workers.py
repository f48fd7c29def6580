"""Several worker processes for one server, each accepting on a listening socket of its own.

uvicorn's ``--workers`` hands one listening socket to every worker. A worker that
wakes up accepts every connection waiting at that moment, so a client that opens
many keep-alive connections at once (a load balancer's pool, a CI runner, a
benchmark) often lands all of them on one worker while the others idle: that
worker then serves at the speed of one core.

On Linux each worker here gets its own socket bound to the same address with
``SO_REUSEPORT``, and the kernel spreads new connections across the sockets by
their addresses. The kernel lets only processes of the same user share a port
this way. Before binding, the address is probed without ``SO_REUSEPORT``, so a
server (or anything else) already listening there is refused as "address already
in use" rather than silently sharing its port.

:func:`serve` is the supervisor: it starts the workers, starts a worker again
when one dies, stops them all on SIGINT or SIGTERM (each finishing its requests,
as uvicorn does), and stops the server when a worker cannot start at all.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import signal
import socket
import threading
from typing import TYPE_CHECKING, Any

from keybroker.errors import UsageError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

log = logging.getLogger("uvicorn.error")  # beside the workers' own lines, in their format

#: how long a stopping worker may take to finish its requests before it is killed
STOP_SECONDS = 30
#: uvicorn's exit code for a worker that failed before serving (bad TLS files, say)
_STARTUP_FAILURE = 3


def spreads_connections() -> bool:
    """Whether this system can give each worker its own socket on one port."""
    return hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def bind_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on ``host:port`` sharing the port (``SO_REUSEPORT``).

    Refused with a one-line error when anything listens there already; with a
    ``count`` of 0 only that check is made.
    """
    family = _family(host)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {_reason(exc)}") from None
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(2048)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {_reason(exc)}") from None
    return sockets


_BIND_ADVICE = {
    errno.EADDRINUSE: "stop what listens there or choose another port",
    errno.EACCES: "choose a port above 1023, or run with the right to bind low ports",
    errno.EADDRNOTAVAIL: "give an address of this machine in --host",
}


def _reason(exc: OSError) -> str:
    """Why a bind failed, and what to do, in one line."""
    what = (exc.strerror or str(exc)).lower()
    advice = _BIND_ADVICE.get(exc.errno or 0, "check --host and --port")
    return f"{what}; {advice}"


def _run_worker(options: dict[str, Any], sock: socket.socket) -> None:
    """A worker process: uvicorn serving the application on ``sock``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(**options))
    try:
        server.run(sockets=[sock])
    except (Exception, SystemExit) as exc:
        if server.started:
            raise
        if not isinstance(exc, SystemExit):
            log.error("the worker could not start: %s: %s", type(exc).__name__, exc)
    if not server.started:  # the application or its TLS files failed: so would a restart
        raise SystemExit(_STARTUP_FAILURE)


class _Supervisor:
    """Keeps one worker process per socket running until told to stop."""

    def __init__(self, options: dict[str, Any], sockets: list[socket.socket]) -> None:
        self._options = options
        self._sockets = sockets
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[BaseProcess | None] = [None] * len(sockets)
        self._stop = threading.Event()
        self.failed = False

    def _start(self, index: int) -> None:
        process = self._context.Process(
            target=_run_worker,
            args=(self._options, self._sockets[index]),
            name=f"keybroker-worker-{index}",
        )
        process.start()
        self._workers[index] = process
        log.info("started worker %d (process %s)", index, process.pid)

    def stop(self, *_: object) -> None:
        self._stop.set()

    def run(self) -> None:
        for index in range(len(self._sockets)):
            self._start(index)
        while not self._stop.wait(0.5):
            for index, process in enumerate(self._workers):
                if process is None or process.is_alive():
                    continue
                process.join()
                if process.exitcode == _STARTUP_FAILURE:
                    log.error("worker %d could not start; stopping the server", index)
                    self.failed = True
                    self._stop.set()
                    break
                log.warning(
                    "worker %d exited (code %s); starting it again", index, process.exitcode
                )
                self._start(index)
        self._stop_workers()

    def _stop_workers(self) -> None:
        running = [p for p in self._workers if p is not None and p.is_alive()]
        for process in running:
            process.terminate()  # SIGTERM: uvicorn finishes the requests under way
        for process in running:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()


def serve(options: dict[str, Any], sockets: list[socket.socket]) -> int:
    """Run one worker per socket with uvicorn ``options`` until SIGINT or SIGTERM.

    Returns the exit status: 0 after a stop, 1 when a worker could not start.
    """
    import uvicorn

    uvicorn.Config(**options)  # checks the options and sets up logging as the workers do
    supervisor = _Supervisor(options, sockets)
    previous = {sig: signal.signal(sig, supervisor.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sock in sockets:
            sock.close()
    return 1 if supervisor.failed else 0
