"""Listeners, the server nursery tree, the accept loop, the timekeeper and graceful shutdown.

    serve_listeners(app, listeners)     app nursery: the app's lifespan, add_task() work, and
                                        the timekeeper
      -> handler nursery                one task per connection; given a deadline on shutdown
           -> accept loop per listener  its own cancel scope, cancelled first on shutdown
           -> HTTP11Connection.run()    one connection, in a nursery of its own

Shutdown: stop accepting and close the listeners, drain (responses say ``Connection: close``,
idle connections close now, a request that already arrived is still answered, WebSockets get
1001), ``before_server_stop``, a ``GRACEFUL_SHUTDOWN_TIMEOUT`` deadline on the handler
nursery, ``after_server_stop``, then the ``add_task`` work is cancelled.
"""

from __future__ import annotations

import errno
import logging
import math
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

import trio

from ..proxy import ProxyTrust
from ..request import ConnInfo
from .feed import SpoolBudget
from .http11 import HTTP11Connection
from .sockets import describe

if TYPE_CHECKING:
    from ..app import App

__all__ = ["Server", "serve_listeners"]

logger = logging.getLogger("trioweb.server")

# Out of descriptors or memory: the condition passes as connections close, so wait and retry
# instead of failing the server (trio.serve_listeners does the same).
_ACCEPT_CAPACITY_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
_ACCEPT_RETRY_DELAY = 0.1
_TASK_NAME = "trioweb connection"
#: How late a connection timeout may fire, in seconds (the timekeeper's sweep interval).
TIMER_RESOLUTION = 0.25


class Server:
    """A running server, as ``await nursery.start(app.serve, host, port)`` returns it.

    Attributes:
        host: The address served (the first listener's when several; a Unix socket's path).
        port: The real port (useful when ``0`` was asked for); 0 for a Unix socket.
        url: ``http://host:port`` (``https`` with TLS); ``http://localhost`` for a Unix
            socket (reach it with ``httpx.AsyncHTTPTransport(uds=server.host)``).
        addresses: Every listener's address, as logs show it: ``127.0.0.1:8000``,
            ``[::1]:8000``, ``unix:/run/app.sock``.
        unix: Whether the (first) listener is a Unix socket.
        connections: The open connections.
        spool_budget: What request bodies may spill to disk, all connections together.

    Raises:
        ValueError: a setting the server reads once at start is invalid (``PROXIES_COUNT``).
    """

    def __init__(
        self, app: App, listeners: Sequence[trio.abc.Listener[trio.abc.Stream]], scheme: str
    ) -> None:
        self.app = app
        self.listeners = list(listeners)
        self.scheme = scheme
        self.host, self.port, self.unix = _listener_address(self.listeners)
        self.addresses = [describe(sock) for sock in _listener_sockets(self.listeners)]
        self.connections: set[HTTP11Connection] = set()
        self.spool_budget = SpoolBudget(app.config.REQUEST_STREAM_SPOOL_TOTAL)
        self._proxy = ProxyTrust.from_config(app.config)
        self._draining = False
        self._stop_requested = trio.Event()
        self._stopped = trio.Event()
        self._accept_scope = trio.CancelScope()
        self._slots = (
            trio.Semaphore(app.config.MAX_CONNECTIONS) if app.config.MAX_CONNECTIONS else None
        )

    @property
    def url(self) -> str:
        """The base URL clients use to reach this server."""
        if self.unix:
            return f"{self.scheme}://localhost"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def draining(self) -> bool:
        """Whether shutdown has begun: responses close their connections afterwards."""
        return self._draining

    async def shutdown(self) -> None:
        """Stop gracefully and wait until `serve` has returned.

        Stops accepting, closes idle keep-alive connections at once, lets in-flight requests
        finish (for up to ``GRACEFUL_SHUTDOWN_TIMEOUT`` seconds, then cancels them), runs the
        stop listeners and cancels ``add_task`` work.
        """
        self._stop_requested.set()
        await self._stopped.wait()

    def _begin_drain(self) -> None:
        self._draining = True
        for connection in list(self.connections):
            connection.drain()

    async def _accept_loop(
        self, listener: trio.abc.Listener[trio.abc.Stream], nursery: trio.Nursery
    ) -> None:
        while True:
            if self._slots is not None:
                await self._slots.acquire()
            try:
                stream = await listener.accept()
            except OSError as exc:
                if self._slots is not None:
                    self._slots.release()
                if exc.errno in _ACCEPT_CAPACITY_ERRNOS:
                    logger.error("accept failed (%s); retrying shortly", exc)
                    await trio.sleep(_ACCEPT_RETRY_DELAY)
                    continue
                raise
            except BaseException:
                if self._slots is not None:
                    self._slots.release()
                raise
            self._start_connection(stream, nursery)
            del stream  # the connection owns it now; this frame must not keep it alive

    def _start_connection(self, stream: trio.abc.Stream, nursery: trio.Nursery) -> None:
        # Made and counted here, not in its task: a drain that begins before the task runs
        # must still reach it.
        info = _conn_info(stream, self.scheme, self._proxy)
        connection = HTTP11Connection(self.app, stream, info, self)
        self.connections.add(connection)
        # A name of our own: trio would make one per task from the function's, in memory
        # for as long as the connection is open.
        nursery.start_soon(connection.run, name=_TASK_NAME)

    def closed(self, connection: HTTP11Connection) -> None:
        """``connection`` has closed: forget it, and free its slot (MAX_CONNECTIONS)."""
        self.connections.discard(connection)
        if self._slots is not None:
            self._slots.release()


async def serve_listeners(
    app: App,
    listeners: Sequence[trio.abc.Listener[trio.abc.Stream]],
    *,
    scheme: str | None = None,
    task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on already-open listeners until `Server.shutdown` or cancellation.

    ``task_status.started()`` receives the `Server` once every listener accepts. The
    listeners are closed before this returns. Cancelling it stops everything at once, without
    the stop listeners.
    """
    app.config.validate()  # raises trioweb.config.ConfigError, one line per invalid setting
    if scheme is None:
        scheme = "https" if any(isinstance(lsn, trio.SSLListener) for lsn in listeners) else "http"
    server = Server(app, listeners, scheme)
    lifespan = app.lifespan()
    try:
        async with trio.open_nursery() as app_nursery:
            await lifespan.start(app_nursery)
            app_nursery.start_soon(_keep_time, server)
            async with trio.open_nursery() as handler_nursery:
                handler_nursery.start_soon(_accept_all, server, handler_nursery)
                await lifespan.started()
                task_status.started(server)
                await server._stop_requested.wait()
                server._accept_scope.cancel()
                for listener in server.listeners:
                    await trio.aclose_forcefully(listener)
                server._begin_drain()
                await lifespan.stopping()
                grace = app.config.GRACEFUL_SHUTDOWN_TIMEOUT
                handler_nursery.cancel_scope.deadline = trio.current_time() + (
                    math.inf if grace is None else grace
                )
            await lifespan.stopped()
            app_nursery.cancel_scope.cancel()
    finally:
        lifespan.detach()
        with trio.CancelScope(shield=True):
            for listener in server.listeners:
                await trio.aclose_forcefully(listener)
        server._stopped.set()


async def _keep_time(server: Server) -> None:
    """Enforce every connection's timeouts from one task (see `HTTP11Connection.check_deadlines`).

    A trio deadline per wait would be exact but costs more than the rest of a small request;
    one sweep every `TIMER_RESOLUTION` seconds costs a few microseconds per open connection,
    and timeouts fire up to that late.
    """
    while True:
        await trio.sleep(TIMER_RESOLUTION)
        _sweep(server.connections, trio.current_time())


def _sweep(connections: set[HTTP11Connection], now: float) -> None:
    # A function of its own so that no loop variable outlives the sweep: one in _keep_time
    # kept the last connection (and its buffers) alive until the next sweep.
    for connection in list(connections):
        connection.check_deadlines(now)


async def _accept_all(server: Server, nursery: trio.Nursery) -> None:
    with server._accept_scope:
        async with trio.open_nursery() as accept_nursery:
            for listener in server.listeners:
                accept_nursery.start_soon(server._accept_loop, listener, nursery)


def _listener_sockets(
    listeners: Sequence[trio.abc.Listener[trio.abc.Stream]],
) -> list[trio.socket.SocketType]:
    sockets = []
    for listener in listeners:
        while isinstance(listener, trio.SSLListener):
            listener = listener.transport_listener
        if isinstance(listener, trio.SocketListener):
            sockets.append(listener.socket)
    return sockets


def _listener_address(
    listeners: Sequence[trio.abc.Listener[trio.abc.Stream]],
) -> tuple[str, int, bool]:
    """(host, port, is_unix) of the first socket listener; ``("memory", 0, False)`` for none."""
    for sock in _listener_sockets(listeners):
        sockname = sock.getsockname()
        if sock.family == socket.AF_UNIX:
            return describe(sock).removeprefix("unix:"), 0, True
        return str(sockname[0]), int(sockname[1]), False
    return "memory", 0, False


def _conn_info(stream: trio.abc.Stream, scheme: str, proxy: ProxyTrust) -> ConnInfo:
    """The connection's addresses, and which proxy headers to believe from this peer.

    A Unix-socket peer has no address: ``""`` and port 0 (``request.ip`` is empty; a proxy in
    front, when trusted, says who the client is). A stream that is not a socket (the test
    client's memory streams) is ``127.0.0.1``.
    """
    inner: trio.abc.Stream = stream
    while isinstance(inner, trio.SSLStream):
        inner = inner.transport_stream
    if isinstance(inner, trio.SocketStream):
        sock = inner.socket
        if sock.family == socket.AF_UNIX:
            return ConnInfo("", 0, "", 0, scheme, proxy.for_peer(""))
        try:
            peer = sock.getpeername()
            local = sock.getsockname()
        except OSError:
            return ConnInfo(scheme=scheme, proxy=proxy.for_peer(""))
        ip = str(peer[0])
        return ConnInfo(ip, int(peer[1]), str(local[0]), int(local[1]), scheme, proxy.for_peer(ip))
    return ConnInfo("127.0.0.1", 0, "127.0.0.1", 0, scheme, proxy.for_peer("127.0.0.1"))
