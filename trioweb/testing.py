"""Testing without sockets: an httpx client whose connections are in-memory trio streams.

``app.test_client()`` serves the app exactly as `App.serve` does (listeners, tasks, the real
h11 connection code) on a listener that hands out ``trio.testing.memory_stream_pair()``
halves instead of sockets. Streaming both ways and disconnects behave as on a network.
``httpx.ASGITransport`` buffers whole responses, so it could not test any of that.

Nothing here imports pytest: the test client works in any trio program. The pytest fixture
lives in `trioweb.pytest_plugin`.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import httpcore
import httpx
import trio
import trio.testing
import trio_websocket

from .server.serve import Server, serve_listeners

if TYPE_CHECKING:
    from .app import App

__all__ = ["MemoryListener", "MemoryNetworkBackend", "TestClient"]


class MemoryListener(trio.abc.Listener[trio.abc.Stream]):
    """A listener whose connections come from `connect` instead of a socket."""

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[trio.abc.Stream](math.inf)

    async def connect(self) -> trio.abc.Stream:
        """Open a connection to the server; returns the client's end."""
        client, server = trio.testing.memory_stream_pair()
        try:
            self._send.send_nowait(server)
        except (trio.ClosedResourceError, trio.BrokenResourceError) as exc:
            raise httpcore.ConnectError("the test server is not running") from exc
        return client

    async def accept(self) -> trio.abc.Stream:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError) as exc:
            raise trio.ClosedResourceError("the listener is closed") from exc

    async def aclose(self) -> None:
        self._send.close()
        self._receive.close()
        await trio.lowlevel.checkpoint()


class _MemoryNetworkStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with trio.move_on_after(math.inf if timeout is None else timeout) as scope:
            try:
                return bytes(await self._stream.receive_some(max_bytes))
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise httpcore.ReadError(str(exc)) from exc
        if scope.cancelled_caught:
            raise httpcore.ReadTimeout("timed out reading from the test server")
        return b""  # pragma: no cover - unreachable

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with trio.move_on_after(math.inf if timeout is None else timeout) as scope:
            try:
                await self._stream.send_all(buffer)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise httpcore.WriteError(str(exc)) from exc
        if scope.cancelled_caught:
            raise httpcore.WriteTimeout("timed out writing to the test server")

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self._stream)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # An https:// URL: the bytes stay in memory, unencrypted. The server already serves
        # this client's connections as https (see `TestClient`), so nothing else changes.
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class MemoryNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend whose every TCP connection goes to a `MemoryListener`."""

    def __init__(self, listener: MemoryListener) -> None:
        self.listener = listener

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _MemoryNetworkStream(await self.listener.connect())

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)


class _MemoryTransport(httpx.AsyncHTTPTransport):
    def __init__(self, listener: MemoryListener) -> None:
        super().__init__()
        # httpx builds its pool without a backend argument; this one swap keeps its request
        # mapping and error translation while the bytes travel through memory.
        self._pool = httpcore.AsyncConnectionPool(network_backend=MemoryNetworkBackend(listener))


class TestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` wired to an app through in-memory streams.

    Entering it starts the app (``before/after_server_start``, ``add_task`` work); leaving it
    shuts the app down gracefully. ``client.server`` is the running `Server`, and
    ``client.websocket(path)`` opens a WebSocket over the same in-memory transport.

    The scheme of ``base_url`` (``http://testserver`` unless given) is the one the app sees:
    with ``base_url="https://testserver"``, ``request.scheme`` is ``"https"`` and httpx
    sends back ``Secure`` cookies. No TLS is involved; the bytes stay in memory.

    Args:
        app: The app to serve.
        **kwargs: Passed to ``httpx.AsyncClient`` (``base_url``, ``headers``, ``cookies``,
            ``follow_redirects``, ...); ``transport`` is set here.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: App, **kwargs: Any) -> None:
        self.app = app
        self.listener = MemoryListener()
        kwargs.setdefault("base_url", "http://testserver")
        super().__init__(transport=_MemoryTransport(self.listener), **kwargs)
        self._stack = AsyncExitStack()
        self.server: Server | None = None

    async def __aenter__(self) -> TestClient:
        nursery = await self._stack.enter_async_context(trio.open_nursery())
        try:
            self.server = await nursery.start(
                lambda task_status: serve_listeners(
                    self.app, [self.listener], scheme=self._scheme(), task_status=task_status
                )
            )
            self._stack.push_async_callback(self.server.shutdown)
            await super().__aenter__()
        except BaseException as exc:
            # Close the nursery here, so the app's own start-up error is what surfaces (as
            # itself, not inside the nursery's exception group).
            try:
                if not await self._stack.__aexit__(type(exc), exc, exc.__traceback__):
                    raise
            except BaseExceptionGroup as group:
                leaves = list(_leaves(group))
                if len(leaves) == 1:
                    raise leaves[0] from None
                raise
        return self

    def _scheme(self) -> str:
        return "https" if self.base_url.scheme == "https" else "http"

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            await super().__aexit__(exc_type, exc_value, traceback)
        finally:
            await self._stack.__aexit__(exc_type, exc_value, traceback)

    @asynccontextmanager
    async def websocket(
        self,
        path: str,
        *,
        subprotocols: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        max_message_size: int = 2**20,
    ) -> AsyncIterator[trio_websocket.WebSocketConnection]:
        """Open a WebSocket to ``path`` (``async with client.websocket("/ws") as ws:``).

        Yields trio-websocket's client connection; it is closed (1000) on leaving the block.

        Raises:
            trio_websocket.ConnectionRejected: the server answered with an HTTP response
                instead of ``101`` (its ``status_code``, ``headers`` and ``body`` are there).
        """
        stream = await self.listener.connect()
        try:
            async with trio.open_nursery() as nursery:
                ws = await trio_websocket.wrap_client_stream(
                    nursery,
                    # Annotated as a socket stream, but only the trio.abc.Stream methods are used.
                    cast(trio.SocketStream, stream),
                    self.base_url.host or "testserver",
                    path,
                    subprotocols=subprotocols,
                    extra_headers=[(k.encode(), v.encode()) for k, v in (headers or {}).items()],
                    max_message_size=max_message_size,
                )
                try:
                    yield ws
                finally:
                    await ws.aclose()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # One error (a rejection, or the test's own assertion) surfaces as itself, not
            # wrapped by the nursery that carried it.
            leaves = list(_leaves(group))
            if len(leaves) == 1:
                raise leaves[0] from None
            raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc
