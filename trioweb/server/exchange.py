"""One request/response exchange: its per-request state, and the writer.

`Exchange` carries the state of the request in flight (body, deadlines, watcher);
`H11Writer` is the only way response bytes leave a connection (it implements
`trioweb.response.ResponseWriter` on top of h11).
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import TYPE_CHECKING

import h11
import trio

from ..exceptions import ClientDisconnected
from ..request import Request
from ..response import HeaderList

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["STREAM_ERRORS", "Exchange", "H11Writer"]

_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}
_CLOSE = (b"connection", b"close")
#: Broken sockets look different on every platform and stream type; all mean "peer is gone".
STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
# Header sets made only of these names carry nothing secret, and repeat a lot (the same type
# and, for many endpoints, the same length): h11 validates each such set once (see _validated).
_CACHEABLE_HEADERS = frozenset({b"content-type", b"content-length", b"connection"})
_VALIDATED_LIMIT = 256
_validated: dict[tuple[tuple[bytes, bytes], ...], h11.Response] = {}
# Bodies larger than this leave in several writes, so no single write buffers them whole,
# and WRITE_IDLE_TIMEOUT bounds each piece: a client must take 64 KiB per timeout period.
_SPLIT_WRITES_OVER = 64 * 1024


class Exchange:
    """The state of one request/response exchange: its body, deadlines and watcher.

    Its deadlines are plain times that the server's timekeeper checks (see
    `Connection.check_deadlines`): RESPONSE_TIMEOUT until the response head goes out, and
    WRITE_IDLE_TIMEOUT while a write waits on the client.
    """

    __slots__ = (
        "body_error",
        "body_limit",
        "body_received",
        "content_length",
        "head_sent",
        "request",
        "response_deadline",
        "swept",
        "timed_out",
        "watch_done",
        "watcher",
        "write_deadline",
    )

    def __init__(self, request: Request) -> None:
        self.request = request
        #: The most body bytes the request may send (``None``: no limit); set when routed.
        self.body_limit: int | None = None
        self.body_received = 0  # through h11 (a direct body counts down _direct_left)
        #: The request's Content-Length, if it has one.
        self.content_length: int | None = None
        #: What made the body unreadable (too large, malformed); raised again on each read.
        self.body_error: Exception | None = None
        #: The scope of the task watching for a disconnect while the handler runs, if any.
        self.watcher: trio.CancelScope | None = None
        self.watch_done: trio.Event | None = None
        self.swept = False  # a timekeeper sweep saw the handler running
        self.timed_out = False
        self.head_sent = False
        self.response_deadline = math.inf
        self.write_deadline = math.inf

    def arm_response_timeout(self, timeout: float | None) -> None:
        """Start the RESPONSE_TIMEOUT clock now (no effect once the head has gone out).

        Called once the whole request has arrived: a streaming upload may take as long as
        it takes.
        """
        if timeout is not None and not self.head_sent:
            self.response_deadline = trio.current_time() + timeout

    def deadline(self) -> float:
        """When the exchange times out, as things stand."""
        if self.head_sent:
            return self.write_deadline
        return min(self.response_deadline, self.write_deadline)


def _h11_response(status: int, headers: HeaderList) -> h11.Response:
    """The h11 event for a response head, validating a common header set only once.

    h11 checks every header name and value against a regular expression, several
    microseconds a response. It skips that for headers taken from an event it built (its
    own validated type), so small header sets are validated once and remembered.
    """
    reason = _REASONS.get(status, b"")
    key = tuple(headers)
    known = _validated.get(key)
    if known is None:
        if not all(name in _CACHEABLE_HEADERS for name, _ in headers):
            return h11.Response(status_code=status, headers=headers, reason=reason)
        if len(_validated) >= _VALIDATED_LIMIT:
            _validated.clear()
        known = _validated[key] = h11.Response(status_code=200, headers=headers)
    return h11.Response(status_code=status, headers=known.headers, reason=reason)


class H11Writer:
    """The one way response bytes leave the connection (implements `ResponseWriter`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._h11 = conn.h11
        self.started = False
        self.finished = False
        self._no_body = False
        self._cycle: Exchange | None = None
        self.status = 0
        self.sent = 0

    def use(self, connection: h11.Connection) -> None:
        """Write through ``connection`` from now on (a new one for the next request)."""
        self._h11 = connection

    def begin(self, method: str, cycle: Exchange | None) -> None:
        """Reset for a new request; ``cycle`` learns when the head has gone out."""
        self.started = self.finished = False
        self._no_body = method == "HEAD"
        self._cycle = cycle
        self.status = self.sent = 0

    def _response(self, status: int, headers: HeaderList) -> h11.Response:
        # Decided as the head leaves, so a shutdown that began mid-request is honoured. A
        # request body that has not fully arrived cannot be skipped to reach the next request.
        if not self._conn.request_read() or self._conn.close_after_response():
            headers = [*headers, _CLOSE]
        # Built (and so validated by h11) before anything counts as sent: a bad header value
        # is still answered with a 500.
        response = _h11_response(status, headers)
        self._no_body = self._no_body or status in (204, 304)
        self.started = True
        self.status = status
        if self._cycle is not None:
            self._cycle.head_sent = True
        return response

    async def send_head(self, status: int, headers: HeaderList) -> None:
        if self.started:
            raise RuntimeError("the response head was already sent")
        await self._send(self._h11.send(self._response(status, headers)))

    async def send_data(self, data: bytes) -> None:
        if not self.started or self.finished:
            raise RuntimeError("response data can only follow the head and precede the end")
        if self._no_body:
            return
        self.sent += len(data)
        if len(data) <= _SPLIT_WRITES_OVER:
            await self._send(self._h11.send(h11.Data(data=data)))
            return
        for start in range(0, len(data), _SPLIT_WRITES_OVER):
            piece = data[start : start + _SPLIT_WRITES_OVER]
            await self._send(self._h11.send(h11.Data(data=piece)))

    async def send_end(self) -> None:
        if self.finished:
            return
        self.finished = True
        await self._send(self._h11.send(h11.EndOfMessage()))

    async def send_complete(self, status: int, headers: HeaderList, body: bytes) -> None:
        if self.started:
            raise RuntimeError("the response head was already sent")
        bodiless = self._no_body or status in (204, 304)
        for name, value in headers:
            # h11 would only notice at the body, after the head counts as sent; catch it here
            # so the client still gets a 500 instead of a cut connection.
            if name == b"content-length" and not bodiless and value != str(len(body)).encode():
                raise ValueError(
                    f"Content-Length says {value.decode()} but the body has {len(body)} bytes"
                )
        head = self._h11.send(self._response(status, headers))
        if self._no_body or not body:
            self.finished = True
            await self._send(head + self._h11.send(h11.EndOfMessage()))
            return
        self.sent = len(body)
        if len(body) <= _SPLIT_WRITES_OVER:
            data = self._h11.send(h11.Data(data=body))
            self.finished = True
            await self._send(head + data + self._h11.send(h11.EndOfMessage()))
            return
        await self._send(head)
        for start in range(0, len(body), _SPLIT_WRITES_OVER):
            await self._send(
                self._h11.send(h11.Data(data=body[start : start + _SPLIT_WRITES_OVER]))
            )
        await self.send_end()

    async def send_continue(self) -> None:
        """Send ``100 Continue`` if the client is still waiting for it."""
        if self._h11.they_are_waiting_for_100_continue:
            await self._send(self._h11.send(h11.InformationalResponse(status_code=100, headers=[])))

    async def _send(self, data: bytes | None) -> None:
        if not data:
            return
        timeout = self._conn.config.WRITE_IDLE_TIMEOUT
        cycle = self._cycle
        try:
            if cycle is None:
                # Between exchanges (100 Continue, errors for unreadable requests): rare.
                with trio.move_on_after(math.inf if timeout is None else timeout) as scope:
                    await self._conn.transport.send_all(data)
                if scope.cancelled_caught:
                    self._h11.send_failed()
                    raise ClientDisconnected("the client stopped reading")
            elif timeout is None:
                await self._conn.transport.send_all(data)
            else:
                cycle.write_deadline = trio.current_time() + timeout
                try:
                    await self._conn.transport.send_all(data)
                finally:
                    cycle.write_deadline = math.inf
        except trio.Cancelled:
            self._h11.send_failed()  # some of it may have gone out: the stream is unusable
            raise
        except STREAM_ERRORS as exc:
            self._h11.send_failed()
            raise ClientDisconnected("the client went away") from exc
