"""One HTTP/1.1 connection: the h11 reader, the exchanges it runs, and the response writer.

The connection's own task reads the socket, feeds h11 and runs each exchange itself
(`trioweb.server.exchange`): middleware, handler, response. There is no task, channel or
task switch per request. A buffered route's body is read before its handler runs; a
streaming route's handler pulls its body through ``request.stream``, each ``receive()``
reading the socket, so a handler that reads slowly stops the reading and TCP stops the
client, with nothing buffered in between.

A client that disconnects cancels its handler. While the handler runs, nothing reads the
socket, so a handler seen running by two timekeeper sweeps in a row (so for at least 0.25 s),
its request read whole, gets a watcher task that does one read
(`Connection.check_deadlines`). Handlers that answer quicker, almost all, never need one.

The connection task runs in one cancel scope for its whole life, and so do its handlers:
whatever cancels a handler ends the connection anyway. Timeouts are plain deadlines that the
server's timekeeper checks. The writer is the only way bytes go out.
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import TYPE_CHECKING, Protocol

import h11
import trio

from ..config import Config
from ..datastructures import Headers
from ..exceptions import (
    BadRequest,
    ClientDisconnected,
    ExpectationFailed,
    HTTPException,
    HTTPVersionNotSupported,
    PayloadTooLarge,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    UpgradeRequired,
)
from ..request import ConnInfo, Request, RequestStream
from ..response import BaseHTTPResponse
from .exchange import STREAM_ERRORS, Exchange, H11Writer
from .transport import Transport
from .websocket import WebSocketSession, handshake_problem, is_upgrade, serialize_head

if TYPE_CHECKING:
    from ..app import App

__all__ = ["Connection", "ConnectionHost"]

logger = logging.getLogger("trioweb.server")
access_logger = logging.getLogger("trioweb.access")

# How long a closing connection keeps reading what the client still sends (see _linger).
_LINGER_SECONDS = 2.0
_LINGER_IDLE_SECONDS = 0.5


class ConnectionHost(Protocol):
    """What a connection needs from the server that runs it."""

    @property
    def draining(self) -> bool:
        """Whether the server is shutting down (finish the current request, then close)."""
        ...


class Connection:
    """Serves HTTP/1.1 on one stream until either side closes it.

    Args:
        app: Routes and answers the requests.
        stream: The accepted stream; `run` closes it.
        conn_info: Addresses and per-connection ``ctx`` handed to every request.
        host: The server, asked whether it is draining.
    """

    def __init__(
        self, app: App, stream: trio.abc.Stream, conn_info: ConnInfo, host: ConnectionHost
    ) -> None:
        self.app = app
        self.config: Config = app.config
        self.stream = stream
        self.transport = Transport(stream)
        self.conn_info = conn_info
        self.host = host
        self.h11 = self._new_h11()
        self.writer = H11Writer(self)
        self.requests_served = 0
        self._cycle: Exchange | None = None  # the exchange whose handler is running
        # One scope for the connection task's whole life; cancelling it ends the connection.
        # Deadlines are plain times the server's timekeeper enforces, because a trio scope or
        # deadline per wait costs more than the rest of a small request.
        self._reader_scope = trio.CancelScope()
        #: When the reader's current wait for a request ends the connection (idle timeout).
        self.read_deadline = math.inf
        self._idle = False  # the reader waits between requests: a drain may close it now
        self._closing = False  # a 503 for a timed-out handler: it is the last response
        self._reading_body = False  # waiting for request body bytes
        self._body_stalled = False  # ... and that wait outlived REQUEST_BODY_IDLE_TIMEOUT
        self._body_cycle: Exchange | None = None  # the exchange whose body is being read
        # A streamed body with a Content-Length is read past h11 (see _pull_direct): the bytes
        # of it still to come, and what was read beyond what was handed out.
        self._direct_left: int | None = None
        self._direct_buffer = b""
        self._nursery: trio.Nursery | None = None
        self._websocket: WebSocketSession | None = None

    # -- lifetime -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve requests until the connection ends, then close the stream.

        Never raises for anything a client can cause; cancellation propagates as usual.
        """
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                with self._reader_scope:
                    await self._read_loop()
                if self._body_stalled and self._body_cycle is not None:
                    await self._answer_stalled_body(self._body_cycle)
                nursery.cancel_scope.cancel()  # a watcher, if one is still reading
            await self._linger()
        except Exception:
            logger.exception("connection from %s failed", self.conn_info.client_ip)
        finally:
            await trio.aclose_forcefully(self.stream)

    async def _answer_stalled_body(self, cycle: Exchange) -> None:
        """A request body sent nothing for REQUEST_BODY_IDLE_TIMEOUT: 408 if nothing went out.

        The wait was cancelled, and with it the handler if one was reading the body.
        """
        if not self.writer.started and self.h11.our_state is h11.SEND_RESPONSE:
            self.writer.begin(cycle.request.method, None)
            await self._send_error(cycle.request, RequestTimeout("the request body stalled"))
            self._log_access(cycle.request)

    async def _linger(self) -> None:
        """Before closing on a client that may still be sending, let it read our answer.

        Closing a socket with unread input makes the kernel send a reset, which can destroy
        the response in the client's buffers. So: send EOF, then read and discard for a
        moment, the way nginx's lingering close does.
        """
        h = self.h11
        if self._direct_left is not None:
            if self._direct_left <= len(self._direct_buffer):
                return  # the whole body is here already
            await self._linger_reading()
            return
        # Whatever of the body is already buffered needs no waiting for (often all of it).
        while h.their_state is h11.SEND_BODY:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError:
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
        if h.their_state is not h11.SEND_BODY or h.trailing_data[1]:
            return
        await self._linger_reading()

    async def _linger_reading(self) -> None:
        if not isinstance(self.stream, trio.abc.HalfCloseableStream):
            return
        with trio.move_on_after(_LINGER_SECONDS):
            try:
                await self.stream.send_eof()
                while True:
                    with trio.move_on_after(_LINGER_IDLE_SECONDS):
                        if not await self.stream.receive_some(self.config.READ_SIZE):
                            return
                        continue
                    return
            except STREAM_ERRORS:
                pass

    def drain(self) -> None:
        """Shutdown has begun: close now if idle between requests, else after this response.

        A WebSocket connection is closed with 1001 (going away).
        """
        if self._idle:
            self._reader_scope.cancel()
        if self._websocket is not None:
            self._websocket.going_away()

    def check_deadlines(self, now: float) -> None:
        """End whatever has outlived its deadline; the server's timekeeper calls it.

        An idle wait for a request closes the connection; an exchange past RESPONSE_TIMEOUT
        or stuck writing past WRITE_IDLE_TIMEOUT is cancelled (and answered with 503 when
        nothing was sent yet). A handler still running at two sweeps in a row gets a task that
        watches for the client leaving.
        """
        if self.read_deadline <= now:
            self.read_deadline = math.inf
            self._body_stalled = self._reading_body
            self._reader_scope.cancel()
        cycle = self._cycle
        if cycle is None:
            return
        if cycle.deadline() <= now:
            cycle.timed_out = True
            self._reader_scope.cancel()
        elif not cycle.swept:
            # Seen by a sweep for the first time: it may finish any moment, and most do. Only
            # one still running at the next sweep has surely run for a while.
            cycle.swept = True
        elif (
            cycle.watcher is None
            and self._nursery is not None
            # Bytes after the request (pipelining) must wait: reading on would buffer more.
            and self.request_read()
            and not self._buffered()
        ):
            cycle.watcher = trio.CancelScope()
            cycle.watch_done = trio.Event()
            self._nursery.start_soon(self._watch, cycle)

    async def _watch(self, cycle: Exchange) -> None:
        """While the connection task runs a handler, read once: if the client left, cancel.

        Anything read (a pipelined request) is kept for the next request.
        """
        if cycle.watcher is None or cycle.watch_done is None:
            raise RuntimeError("a watch needs its scope and event")
        try:
            with cycle.watcher:
                if await self._receive() == 0:
                    self._reader_scope.cancel()
        finally:
            cycle.watch_done.set()

    async def _stop_watching(self, cycle: Exchange) -> None:
        """Stop the exchange's watcher before the connection reads again."""
        if cycle.watcher is not None and cycle.watch_done is not None:
            cycle.watcher.cancel()
            with trio.CancelScope(shield=True):
                await cycle.watch_done.wait()

    async def _upgrade(
        self, event: h11.Request, request: Request, subprotocols: tuple[str, ...]
    ) -> None:
        """Hand the connection to trio-websocket, unless middleware or the request refuses.

        From here on the socket belongs to the WebSocket; the HTTP timeouts no longer apply.
        """
        refusal: BaseHTTPResponse | None = None
        try:
            body_event = self.h11.next_event()
        except h11.RemoteProtocolError as exc:
            body_event = None
            refusal = self.app.error_response(_protocol_error(exc), request)
        if refusal is not None:
            pass
        elif not isinstance(body_event, h11.EndOfMessage):
            refusal = self.app.error_response(
                BadRequest("a WebSocket upgrade request may not have a body"), request
            )
        elif (problem := handshake_problem(request)) is not None:
            refusal = self.app.error_response(problem, request)
        elif not self.host.draining:
            refusal = await self.app.before_upgrade(request)
        if refusal is None and self.host.draining:
            # Checked after middleware too: a shutdown may have begun while it ran.
            refusal = self.app.error_response(
                ServiceUnavailable("the server is shutting down"), request
            )
        if refusal is not None:
            self.writer.begin(request.method, None)
            with contextlib.suppress(ClientDisconnected):
                await refusal.write_to(self.writer)
            self._log_access(request)
            return
        if self._nursery is None:  # pragma: no cover - set for as long as run() runs
            raise RuntimeError("the connection is not running")
        handshake = serialize_head(event) + self.h11.trailing_data[0]
        self._websocket = WebSocketSession(request, self.config, self._nursery)
        try:
            await self._websocket.run(handshake, self.stream, subprotocols)
        finally:
            self._websocket = None

    # -- the reader -------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        first = True
        while True:
            try:
                event = await self._read_head(first)
            except HTTPException as exc:
                await self._reject(exc)
                return
            if event is None:
                return
            first = False
            if not await self._serve_request(event) or self.host.draining:
                return
            if not self._next_cycle():
                return

    def _new_h11(self) -> h11.Connection:
        return h11.Connection(
            h11.SERVER, max_incomplete_event_size=self.config.REQUEST_MAX_HEADER_SIZE
        )

    def request_read(self) -> bool:
        """Whether the current request has arrived whole, body included."""
        if self._direct_left is not None:
            return self._direct_left == 0
        return self.h11.their_state is h11.DONE

    def _buffered(self) -> bytes:
        """What was read from the client but not yet used."""
        if self._direct_left is not None:
            return self._direct_buffer
        return self.h11.trailing_data[0]

    def _next_cycle(self) -> bool:
        """Get ready for the next request on this connection; ``False`` if there is none."""
        h = self.h11
        if h.our_state is not h11.DONE or not self.request_read():
            return False
        if self._direct_left is None:
            h.start_next_cycle()
            return True
        # h11 never saw the body, so it waits for it still: the next request gets a new h11
        # connection, with whatever arrived after the body.
        self.h11 = self._new_h11()
        if self._direct_buffer:  # (receive_data(b"") would mean end of file)
            self.h11.receive_data(self._direct_buffer)
        self.writer.use(self.h11)
        self._direct_left = None
        self._direct_buffer = b""
        return True

    async def _receive(self) -> int:
        """Read once from the socket into h11; a broken or closed socket reads as EOF."""
        try:
            data = await self.transport.receive_some(self.config.READ_SIZE)
        except STREAM_ERRORS:
            data = b""
        if self._direct_left is None:
            self.h11.receive_data(data)
        else:  # the watcher, after a direct body: the next request, for the next h11
            self._direct_buffer += data
        return len(data)

    async def _read_head(self, first: bool) -> h11.Request | None:
        """The next request head, or ``None`` when the client closed or idled out.

        Raises:
            HTTPException: the head is malformed (400), too large (431) or too slow (408).
        """
        h = self.h11
        config = self.config
        buffered, closed = h.trailing_data
        leftover = len(buffered)
        received = 0
        # The head's clock starts with its first byte: now if pipelined bytes are here.
        deadline = trio.current_time() + (config.REQUEST_TIMEOUT or math.inf) if leftover else None
        if not leftover and not closed:
            # Nothing buffered: h11 could only say NEED_DATA, so wait for bytes first.
            received = await self._receive_first(first)
            if received == 0:
                return None
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                raise _protocol_error(exc) from exc
            if event is h11.NEED_DATA:
                if deadline is None:  # a partial head: its clock starts with the first bytes
                    deadline = trio.current_time() + (config.REQUEST_TIMEOUT or math.inf)
                with trio.move_on_at(deadline):
                    received += await self._receive()
                    continue
                raise RequestTimeout("the request head did not arrive in time")
            if isinstance(event, h11.Request):
                # h11 checks max_incomplete_event_size only while a head is incomplete, so a
                # whole oversized head arriving in one read passes it (h11#182): measure it.
                fed = leftover + received
                limit = config.REQUEST_MAX_HEADER_SIZE
                if fed > limit and fed - len(h.trailing_data[0]) > limit:
                    raise RequestHeaderFieldsTooLarge(
                        f"the request head exceeds {config.REQUEST_MAX_HEADER_SIZE} bytes"
                    )
                return event
            if isinstance(event, h11.ConnectionClosed):
                return None
            raise RuntimeError(f"unexpected {event!r} while waiting for a request")

    async def _receive_first(self, first: bool) -> int:
        """Wait for the first bytes of a request; 0 on EOF or when the server drains.

        A connection that never sends anything, or idles between requests, is closed quietly
        when its deadline passes (the reader's scope is cancelled).
        """
        if self.host.draining:
            return 0
        timeout = self.config.REQUEST_TIMEOUT if first else self.config.KEEP_ALIVE_TIMEOUT
        if timeout is not None:
            self.read_deadline = trio.current_time() + timeout
        self._idle = True
        try:
            return await self._receive()
        finally:
            self.read_deadline = math.inf
            self._idle = False

    async def _serve_request(self, event: h11.Request) -> bool:
        """Run one request to completion; ``False`` when the connection must close."""
        # raw_items() is a plain list, much cheaper to go through than h11's Headers.
        pairs = event.headers.raw_items()
        request = Request(
            event.method.decode("ascii"),
            event.target,
            Headers(pairs),
            app=self.app,
            http_version=event.http_version.decode("ascii"),
            conn_info=self.conn_info,
        )
        cycle = Exchange(request)
        self.writer.begin(request.method, None)  # until the handler runs
        streaming = self.app.match(request)
        cycle.body_limit = self.app.body_limit(request, streaming)
        rejection = self._check_head(cycle, pairs)
        subprotocols = self.app.websocket_subprotocols(request)
        if subprotocols is not None and rejection is None:
            if is_upgrade(request):
                await self._upgrade(event, request, subprotocols)
                return False
            rejection = UpgradeRequired("this path serves WebSocket connections only")
        self._body_cycle = cycle
        if rejection is not None:
            request._route_error = rejection
            request.route = None
        elif streaming:
            expects = self.h11.they_are_waiting_for_100_continue
            if cycle.content_length is not None:
                self._direct_left = cycle.content_length
                self._direct_buffer = self.h11.trailing_data[0]
            request.stream = RequestStream(
                self._pull_body, self.writer.send_continue if expects else None
            )
        else:
            if request.route is not None and self.h11.they_are_waiting_for_100_continue:
                await self.writer.send_continue()
            body = await self._read_body(cycle)
            if body is None:
                return False
            request.body = body
        self._cycle = cycle
        try:
            await self._respond(cycle)
        finally:
            self._cycle = None
            self.requests_served += 1
            if request.stream is not None:
                request.stream.close()
        if cycle.watcher is not None:
            await self._stop_watching(cycle)
        return True

    def _check_head(
        self, cycle: Exchange, pairs: list[tuple[bytes, bytes]]
    ) -> HTTPException | None:
        """What is wrong with a parsed head before any of its body is read, if anything.

        Also records the request's Content-Length on ``cycle``. ``pairs`` are the raw header
        pairs: one pass over them costs less than looking the
        names up, which would index every header of every request.
        """
        request = cycle.request
        limit = cycle.body_limit
        if request.http_version not in ("1.0", "1.1"):
            return HTTPVersionNotSupported(
                f"HTTP/{request.http_version} is not supported", quiet=True
            )
        length = expect = None
        chunked = False
        for name, value in pairs:
            lname = name.lower()
            if lname == b"content-length":
                length = value
            elif lname == b"transfer-encoding":
                chunked = True
            elif lname == b"expect" and expect is None:
                expect = value.decode("latin-1")
        if length is not None and chunked:
            # h11 lets chunked win (RFC 9112), but a proxy in front may have used the length:
            # the classic request-smuggling disagreement. Refuse and close instead.
            return BadRequest("a request may not carry both Content-Length and Transfer-Encoding")
        if expect is not None and expect.lower() != "100-continue":
            return ExpectationFailed(f"cannot meet the expectation {expect!r}")
        if length is not None:
            cycle.content_length = int(length)
            if limit is not None and cycle.content_length > limit:
                return PayloadTooLarge(f"the request body exceeds {limit} bytes")
        if request.route is None and self.h11.they_are_waiting_for_100_continue:
            # Answer the routing error without inviting a body we do not want.
            return request._route_error  # type: ignore[return-value]
        return None

    async def _pull_body(self) -> bytes | None:
        """The next piece of the current request's body; ``None`` at its end.

        Raises:
            ClientDisconnected: the client left mid-body.
            HTTPException: the body is malformed (400) or over the route's limit (413).
        """
        cycle = self._body_cycle
        if cycle is None:  # pragma: no cover - the stream is closed once the exchange ends
            raise RuntimeError("no request body is being read")
        if cycle.body_error is not None:
            raise cycle.body_error  # the same again: the rest of the body is unreadable
        if self._direct_left is not None:
            return await self._pull_direct(cycle)
        h = self.h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if h.trailing_data[1]:  # EOF in the middle of the body
                    raise ClientDisconnected("the client left mid-body") from exc
                cycle.body_error = _protocol_error(exc)
                raise cycle.body_error from exc
            if event is h11.NEED_DATA:
                # b"" (the client is gone) tells h11 the same: its next event says so.
                h.receive_data(await self._receive_body(self.config.READ_SIZE))
                continue
            if type(event) is h11.Data:
                cycle.body_received += len(event.data)
                limit = cycle.body_limit
                if limit is not None and cycle.body_received > limit:
                    cycle.body_error = PayloadTooLarge(f"the request body exceeds {limit} bytes")
                    raise cycle.body_error
                return bytes(event.data)
            if type(event) is h11.EndOfMessage:
                cycle.arm_response_timeout(self.config.RESPONSE_TIMEOUT)
                return None
            raise ClientDisconnected("the client closed the connection mid-body")

    async def _pull_direct(self, cycle: Exchange) -> bytes | None:
        """`_pull_body` for a body with a Content-Length: straight from the socket.

        Going through h11 costs two copies of every body byte (into its buffer, then out),
        a third to make ``bytes`` of its ``bytearray``. The length is all the framing there
        is, and h11 has checked it, so the body's bytes go to the handler as read.
        """
        left = self._direct_left
        if left is None:  # pragma: no cover - only called in direct mode
            raise RuntimeError("the body is not being read directly")
        if left == 0:
            cycle.arm_response_timeout(self.config.RESPONSE_TIMEOUT)
            return None
        buffered = self._direct_buffer
        if buffered:
            chunk = buffered[:left]
            self._direct_buffer = buffered[len(chunk) :]
        else:
            chunk = await self._receive_body(min(left, self.config.READ_SIZE))
            if not chunk:
                raise ClientDisconnected("the client left mid-body")
        # No limit check here: a Content-Length over the limit was refused with the head.
        self._direct_left = left - len(chunk)
        return chunk

    async def _receive_body(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of body from the socket; ``b""`` when the client is gone.

        The wait lasts at most REQUEST_BODY_IDLE_TIMEOUT.

        A plain deadline, not a scope per read: if it passes, the timekeeper cancels the
        connection task (and a handler reading the body) and `_answer_stalled_body`
        replies 408.
        """
        idle = self.config.REQUEST_BODY_IDLE_TIMEOUT
        if idle is not None:
            self.read_deadline = trio.current_time() + idle
        self._reading_body = True
        try:
            return await self.transport.receive_some(max_bytes)
        except STREAM_ERRORS:
            return b""
        finally:
            self._reading_body = False
            self.read_deadline = math.inf

    async def _read_body(self, cycle: Exchange) -> bytes | None:
        """The whole body of a buffered request; ``None`` when the client went away.

        A body over the limit or malformed leaves its error on the request, so the handler
        is skipped and the error answered (then the connection closes).
        """
        parts: list[bytes] = []
        try:
            while (chunk := await self._pull_body()) is not None:
                parts.append(chunk)
        except ClientDisconnected:
            return None
        except HTTPException as exc:
            cycle.request._route_error = exc
            cycle.request.route = None
            return b""
        return b"".join(parts)

    def close_after_response(self) -> bool:
        """Whether the response being sent must end the connection (keep-alive is over)."""
        config = self.config
        limit = config.KEEP_ALIVE_MAX_REQUESTS
        return (
            self._closing
            or not config.KEEP_ALIVE
            or self.host.draining
            or (limit is not None and self.requests_served + 1 >= limit)
        )

    async def _respond(self, cycle: Exchange) -> None:
        request = cycle.request
        writer = self.writer
        if request.stream is None and cycle.response_deadline == math.inf:
            cycle.arm_response_timeout(self.config.RESPONSE_TIMEOUT)  # no body was read
        writer.begin(request.method, cycle)
        request._writer = writer
        try:
            response = await self.app.dispatch(request)
            if response is not None and not writer.started:
                await response.write_to(writer)
        except ClientDisconnected:
            return
        except Exception as exc:
            await self._fail(request, exc)
        except BaseException:
            # Cancelled. Past RESPONSE_TIMEOUT with nothing sent, the client still gets a 503.
            if cycle.timed_out and not writer.started and self.h11.our_state is h11.SEND_RESPONSE:
                with trio.CancelScope(shield=True) as shield:
                    shield.deadline = trio.current_time() + (
                        self.config.WRITE_IDLE_TIMEOUT or math.inf
                    )
                    writer.begin(request.method, None)
                    self._closing = True
                    logger.warning(
                        "%s %s: no response within RESPONSE_TIMEOUT; handler cancelled",
                        request.method,
                        request.path,
                    )
                    error = ServiceUnavailable("the handler did not respond in time", quiet=True)
                    await self._send_error(request, error)
            raise
        finally:
            if writer.started:
                self._log_access(request)

    async def _fail(self, request: Request, exc: Exception) -> None:
        """An error escaped the app: a 500 if nothing went out yet, else abort the message."""
        if not self.writer.started:
            await self._send_error(request, exc)
            return
        logger.error(
            "error after the response to %s %s started; closing",
            request.method,
            request.path,
            exc_info=exc,
        )
        if self.h11.our_state is h11.SEND_BODY:
            self.h11.send_failed()

    async def _send_error(self, request: Request, exc: Exception) -> None:
        response = await self.app.handle_error(request, exc)
        with contextlib.suppress(ClientDisconnected):
            await response.write_to(self.writer)

    async def _reject(self, exc: HTTPException) -> None:
        """Answer a request whose head could not be parsed, then close.

        Error handlers get an empty ``GET /`` request standing in for the unreadable one, so
        ``@app.exception`` can shape these answers too.
        """
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        stand_in = Request("GET", b"/", Headers(), app=self.app, conn_info=self.conn_info)
        self.writer.begin("GET", None)
        with trio.move_on_after(self.config.RESPONSE_TIMEOUT or math.inf):
            await self._send_error(stand_in, exc)
        self._log_access(stand_in)

    def _log_access(self, request: Request) -> None:
        if self.config.ACCESS_LOG and access_logger.isEnabledFor(logging.INFO):
            access_logger.info(
                "%s %s %s %d %d",
                request.client_ip,
                request.method,
                request.raw_path,
                self.writer.status,
                self.writer.sent,
            )


_PROTOCOL_ERRORS: dict[int, type[HTTPException]] = {
    400: BadRequest,
    431: RequestHeaderFieldsTooLarge,
    505: HTTPVersionNotSupported,
}


def _protocol_error(exc: h11.RemoteProtocolError) -> HTTPException:
    """Translate an h11 parse error into the trioweb exception for its status.

    Always quiet: any client can send garbage, and it must not be able to flood the logs.
    """
    status = exc.error_status_hint
    error_class = _PROTOCOL_ERRORS.get(status)
    if error_class is None:
        return HTTPException(str(exc), status_code=status, quiet=True)
    return error_class(str(exc), quiet=True)
