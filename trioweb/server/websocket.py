"""HTTP/1.1 upgrades handed to trio-websocket, on the same port as HTTP.

The HTTP/1.1 reader has already parsed the upgrade request, and trio-websocket has no public
hook for a request parsed elsewhere (trio-websocket#1). So the connection gives
``trio_websocket.wrap_server_stream`` a `ReplayStream`: it first returns the request's bytes
(re-serialized, plus whatever h11 read past them) and then reads the socket, so
trio-websocket performs the handshake itself through its public API.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import trio
import trio_websocket

from ..exceptions import BadRequest, HTTPException, UpgradeRequired
from .exchange import must_propagate

if TYPE_CHECKING:
    from ..config import Config
    from ..request import Request

__all__ = [
    "ReplayStream",
    "WebSocketSession",
    "choose_subprotocol",
    "handshake_problem",
    "is_upgrade",
    "serialize_head",
]

logger = logging.getLogger("trioweb.websocket")

# Close codes (RFC 6455, section 7.4.1).
NORMAL_CLOSURE = 1000
GOING_AWAY = 1001
INTERNAL_ERROR = 1011


class ReplayStream(trio.abc.Stream):
    """A stream that yields ``prefix`` before anything it reads from ``stream``.

    Everything else (sending, closing) goes straight to ``stream``.
    """

    def __init__(self, prefix: bytes, stream: trio.abc.Stream) -> None:
        self._prefix = prefix
        self._stream = stream

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            await trio.lowlevel.checkpoint()
            size = len(self._prefix) if max_bytes is None else max_bytes
            chunk, self._prefix = self._prefix[:size], self._prefix[size:]
            return chunk
        return bytes(await self._stream.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._stream.aclose()


def _tokens(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def is_upgrade(request: Request) -> bool:
    """Whether ``request`` asks to switch to the WebSocket protocol."""
    headers = request.headers
    return (
        request.method == "GET"
        and "websocket" in _tokens(",".join(headers.getall("upgrade")))
        and "upgrade" in _tokens(",".join(headers.getall("connection")))
    )


def handshake_problem(request: Request) -> HTTPException | None:
    """Why trio-websocket would refuse this upgrade request, if it would.

    Checked before the hand-over, so a broken handshake is answered by trioweb (and the
    connection closed) instead of leaving trio-websocket waiting for a request it rejected.
    """
    key = request.headers.get("sec-websocket-key", "")
    try:
        valid_key = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        valid_key = False
    if not valid_key:
        return BadRequest("a WebSocket upgrade needs a valid Sec-WebSocket-Key")
    if request.headers.get("sec-websocket-version") != "13":
        return UpgradeRequired(
            "only WebSocket version 13 is supported",
            headers={"Sec-WebSocket-Version": "13"},
        )
    return None


def serialize_head(
    method: bytes, target: bytes, http_version: bytes, pairs: Iterable[tuple[bytes, bytes]]
) -> bytes:
    """The request head as bytes again, for trio-websocket to parse."""
    lines = [method + b" " + target + b" HTTP/" + http_version]
    lines.extend(name + b": " + value for name, value in pairs)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def choose_subprotocol(served: Iterable[str], offered: Iterable[str]) -> str | None:
    """The first of ``served`` (the server's preference order) the client offered, if any."""
    offered_set = set(offered)
    return next((protocol for protocol in served if protocol in offered_set), None)


def _only_connection_closed(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(trio_websocket.ConnectionClosed)[1] is None
    return isinstance(exc, trio_websocket.ConnectionClosed)


class WebSocketSession:
    """One accepted WebSocket connection and the handler serving it.

    The handler returning closes with 1000, raising closes with 1011 (and is logged), the peer
    going silent (no pong in time) closes with 1011 and cancels the handler, and a server
    shutdown closes with 1001.
    """

    def __init__(self, request: Request, config: Config, nursery: trio.Nursery) -> None:
        self.request = request
        self.config = config
        self._nursery = nursery
        self._ws: trio_websocket.WebSocketConnection | None = None
        self._handler_scope = trio.CancelScope()

    async def run(self, handshake: bytes, stream: trio.abc.Stream, served: Iterable[str]) -> None:
        """Complete the handshake on ``stream``, then run the route's handler to the end."""
        config = self.config
        ws_request = await trio_websocket.wrap_server_stream(
            self._nursery,
            ReplayStream(handshake, stream),
            message_queue_size=config.WEBSOCKET_MESSAGE_QUEUE_SIZE,
            max_message_size=config.WEBSOCKET_MAX_SIZE,
        )
        subprotocol = choose_subprotocol(served, ws_request.proposed_subprotocols)
        ws = self._ws = await ws_request.accept(subprotocol=subprotocol)
        route = self.request.route
        if route is None:  # pragma: no cover - the connection only upgrades routed requests
            raise RuntimeError("a websocket session needs a routed request")
        code = NORMAL_CLOSURE
        with self._handler_scope:
            async with trio.open_nursery() as pinger:
                if config.WEBSOCKET_PING_INTERVAL is not None:
                    pinger.start_soon(self._keep_alive, ws)
                try:
                    await route.handler(self.request, ws, **self.request.match_info)
                except BaseException as exc:
                    if must_propagate(exc):
                        raise
                    # The peer (or a shutdown) closing the socket under a handler is the
                    # normal way for it to end, even from inside the handler's own nursery.
                    # Anything else, even a BaseException that is not trio's, is a failure.
                    if not _only_connection_closed(exc):
                        logger.error("websocket handler %r failed", route.name, exc_info=exc)
                        code = INTERNAL_ERROR
                pinger.cancel_scope.cancel()
        if self._handler_scope.cancelled_caught:
            code = INTERNAL_ERROR
        await self._close(ws, code)

    async def _close(
        self, ws: trio_websocket.WebSocketConnection, code: int, reason: str | None = None
    ) -> None:
        # A peer that never answers the close frame must not hold the connection forever.
        with trio.move_on_after(self.config.WEBSOCKET_PING_TIMEOUT or math.inf):
            await ws.aclose(code, reason)

    async def _keep_alive(self, ws: trio_websocket.WebSocketConnection) -> None:
        interval = self.config.WEBSOCKET_PING_INTERVAL
        timeout = self.config.WEBSOCKET_PING_TIMEOUT
        if interval is None:  # pragma: no cover - not started then
            return
        while True:
            await trio.sleep(interval)
            with trio.move_on_after(timeout):
                try:
                    await ws.ping()
                except trio_websocket.ConnectionClosed:
                    self._handler_scope.cancel()
                    return
                continue
            logger.info("websocket peer %s sent no pong in %s s", self.request.ip, timeout)
            # run() closes with 1011 once the handler (and this task with it) is cancelled.
            self._handler_scope.cancel()
            return

    def going_away(self) -> None:
        """The server is shutting down: close with 1001 (the handler sees ConnectionClosed)."""
        if self._ws is not None:
            self._nursery.start_soon(self._close, self._ws, GOING_AWAY, "server shutting down")
