"""One HTTP/1.1 connection: the reader task, the lifecycle glue, and buffered exchanges.

The connection task is the h11 reader. It reads a head, has the app plan it, and then:

- on a buffered route reads the whole body (bounded by its limit) and runs the exchange
  itself: no task, no channel, the fast path for small requests;
- on a streaming route hands over to `StreamedExchange`, which runs the exchange as a task in
  this connection's nursery and feeds it the body through a memory channel;
- on a WebSocket route hands the connection to trio-websocket.

Timeouts are plain deadlines in the `Lifecycle`, which the server's timekeeper checks
(`HTTP11Connection.check_deadlines`); it records one cancel reason and cancels what the
reason concerns, and whatever was cancelled reads the reason to decide what to answer.

A handler on a buffered route runs in the reader task, so nothing reads the socket while it
runs: one seen running by two timekeeper sweeps in a row gets a watcher task that reads once,
to cancel it if the client leaves. Handlers that answer quicker, almost all, never need one.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Protocol

import h11
import trio

from ...app import RequestPlan
from ...config import Config
from ...datastructures import Headers
from ...exceptions import (
    BadRequest,
    ClientDisconnected,
    HTTPException,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    UpgradeRequired,
)
from ...request import ConnInfo, Request
from ..exchange import Exchange, Framing, must_propagate
from ..feed import SpoolBudget
from ..lifecycle import CancelReason, Deadline, Event, Lifecycle, Phase
from ..transport import STREAM_ERRORS, Transport
from ..websocket import WebSocketSession, handshake_problem, is_upgrade, serialize_head
from .body import READERS
from .errors import protocol_error
from .streaming import StreamedExchange
from .writer import H11Writer

if TYPE_CHECKING:
    from ...app import App

__all__ = ["ConnectionHost", "HTTP11Connection"]

logger = logging.getLogger("trioweb.server")

# How long a closing connection keeps reading what the client still sends (see _linger).
_LINGER_SECONDS = 2.0
_LINGER_IDLE_SECONDS = 0.5


# Cancel reasons that end the wait for a request; one may have arrived all the same.
_WAIT_ENDED = (CancelReason.DRAINING, CancelReason.IDLE_TIMEOUT)


class ConnectionHost(Protocol):
    """What a connection needs from the server that runs it."""

    @property
    def draining(self) -> bool:
        """Whether the server is shutting down (finish the current request, then close)."""
        ...

    @property
    def spool_budget(self) -> SpoolBudget:
        """The server-wide allowance for spilled request bodies."""
        ...

    def closed(self, connection: HTTP11Connection) -> None:
        """``connection`` has closed (its task is about to end)."""
        ...


# What a connection has in place of a parser before its first request: one for all of them,
# never fed (a connection makes its own when a request's first bytes arrive).
_IDLE = h11.Connection(h11.SERVER)


def _new_h11(config: Config) -> h11.Connection:
    return h11.Connection(h11.SERVER, max_incomplete_event_size=config.REQUEST_MAX_HEADER_SIZE)


# -- the connection -------------------------------------------------------------------------------


class HTTP11Connection:
    """Serves HTTP/1.1 on one stream until either side closes it.

    Args:
        app: Routes and answers the requests.
        stream: The accepted stream; `run` closes it.
        conn_info: Addresses, proxy trust and per-connection ``ctx`` for every request.
        host: The server: whether it drains, and its spill budget.
    """

    __slots__ = (
        "_exchange",
        "_nursery",
        "_streaming",
        "_sweeps",
        "_watcher",
        "_websocket",
        "app",
        "config",
        "conn_info",
        "h11",
        "host",
        "lifecycle",
        "pending",
        "transport",
        "writer",
    )

    def __init__(
        self, app: App, stream: trio.abc.Stream, conn_info: ConnInfo, host: ConnectionHost
    ) -> None:
        config = app.config
        self.app = app
        self.config = config
        self.conn_info = conn_info
        self.host = host
        self.transport = Transport(stream)
        self.lifecycle = Lifecycle(config.KEEP_ALIVE, config.KEEP_ALIVE_MAX_REQUESTS)
        self.h11 = _IDLE
        self.writer = H11Writer(_IDLE, self.transport, self.lifecycle, config.WRITE_IDLE_TIMEOUT)
        self._nursery: trio.Nursery | None = None
        self._exchange: Exchange | None = None  # the request being served
        self._streaming: StreamedExchange | None = None  # ... when its route streams
        # Bytes of the next request read ahead of its parser: pipelined behind the last one,
        # after a body h11 never saw, or as a drain began.
        self.pending = b""
        self._sweeps = 0  # timekeeper sweeps that saw the current buffered handler running
        self._watcher: tuple[trio.CancelScope, trio.Event] | None = None
        self._websocket: WebSocketSession | None = None

    # -- lifetime -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve requests until the connection ends, then close it.

        Never raises for anything a client or a handler can cause; cancellation, and the
        process ending (KeyboardInterrupt, SystemExit), propagate as usual. The server is
        told once the connection is closed (`ConnectionHost.closed`).

        The connection's nursery has the reader's cancel scope: the timekeeper cancels it
        for the reader's deadlines (and a drain, when idle), and the reason is answered
        after it (`_after_cancel`), outside. The wait for a request happens in this frame,
        not in a function it calls: the stack an idle connection holds is memory.
        """
        lifecycle = self.lifecycle
        transport = self.transport
        try:
            serving = True
            while serving:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    try:
                        while True:
                            data: bytes | None = self.pending
                            if data:
                                # A pipelined request: yield, as below (writes need not).
                                self.pending = b""
                                await trio.lowlevel.cancel_shielded_checkpoint()
                            else:
                                # When draining, only a request that has already arrived.
                                if self.host.draining and not transport.readable():
                                    break
                                # Under load the next request is often here already: then
                                # no wait and no deadline. One yield, as trio's recv makes:
                                # a task that reads a request and serves it in one step
                                # makes the others wait (p99 at 64 connections was 3x the
                                # floor's without it).
                                data = transport.read_now(self.config.READ_SIZE)
                                if data is not None:
                                    await trio.lowlevel.cancel_shielded_checkpoint()
                                else:
                                    self._arm_idle()
                                    await transport.wait_readable()
                                    if lifecycle.reason is None:
                                        data = transport.read_now(self.config.READ_SIZE)
                                if lifecycle.reason is not None:
                                    # A drain (or the idle timeout) came just as the request
                                    # did: this scope is spent; _after_cancel serves it.
                                    self.pending = data or b""
                                    break
                            event = await self._read_head(data)
                            if event is None or not await self._serve_request(event):
                                break
                            del event  # an idle connection holds this frame, not its request
                            if self._watcher is not None:
                                await self._stop_watching()
                            if not self.next_cycle():
                                break
                    finally:
                        nursery.cancel_scope.cancel()  # a watcher, if one is still reading
                        self._nursery = None
                serving = await self._after_cancel()
            await self._linger()
        except BaseException as exc:
            if must_propagate(exc):
                raise
            logger.error("connection from %s failed", self.conn_info.client_ip, exc_info=exc)
        finally:
            self._exchange = self._streaming = None
            if lifecycle.phase is not Phase.CLOSED:
                lifecycle.step(Event.CLOSE)
            await transport.aclose()
            self.host.closed(self)

    def _arm_idle(self) -> None:
        """The wait for a request's first byte: REQUEST_TIMEOUT first, then KEEP_ALIVE_TIMEOUT."""
        lifecycle = self.lifecycle
        config = self.config
        timeout = config.REQUEST_TIMEOUT if lifecycle.served == 0 else config.KEEP_ALIVE_TIMEOUT
        if timeout is not None:
            lifecycle.arm(Deadline.IDLE, trio.current_time() + timeout)

    async def _after_cancel(self) -> bool:
        """Answer what a recorded cancel reason calls for; ``True`` to serve again.

        A request that arrived just as the wait for one ended (a drain, the idle timeout) is
        still served, in a nursery of its own (after a drain, with Connection: close).
        """
        reason = self.lifecycle.take_reason()
        if reason is CancelReason.HEAD_TIMEOUT:
            # The head is incomplete, but may have said HEAD: no body then.
            said = b"HEAD" if self.h11.trailing_data[0].startswith(b"HEAD ") else None
            await self._reject(RequestTimeout("the request head did not arrive in time"), said)
        elif reason is CancelReason.BODY_STALLED:
            exchange = self._exchange
            if exchange is not None and not self.writer.started:
                await exchange.answer(RequestTimeout("the request body stalled"))
                exchange.log_access()
        elif reason in _WAIT_ENDED:
            return self._input_waiting()
        return False

    def drain(self) -> None:
        """Shutdown has begun: close now if idle between requests, else after this response.

        A request that has already arrived is answered (with ``Connection: close``). A
        WebSocket connection is closed with 1001 (going away). A connection that has not
        sent its first request yet (accepted just before the drain, its request maybe on
        the way) gets until the timekeeper's next sweep for it to arrive.
        """
        lifecycle = self.lifecycle
        if lifecycle.drain():
            if lifecycle.served == 0:
                lifecycle.arm(Deadline.IDLE, min(lifecycle.deadline, trio.current_time()))
                return
            lifecycle.cancel(CancelReason.DRAINING)
            self._cancel_reader()
        if self._websocket is not None:
            self._websocket.going_away()

    def _cancel_reader(self) -> None:
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()

    def check_deadlines(self, now: float) -> None:
        """Cancel whatever has outlived its deadline; the server's timekeeper calls this.

        Also, at two sweeps in a row, gives a buffered handler a task watching for the
        client leaving, and catches response writes that block without a partial send
        while a streaming body waits for its handler (the full-duplex spill).
        """
        reason = self.lifecycle.expired(now)
        if reason is not None:
            self.cancel(reason)
            return
        if self._streaming is not None:
            self._streaming.check()
            return
        if self.lifecycle.phase in (Phase.HANDLING, Phase.SENDING) and self._watcher is None:
            self._sweeps += 1
            # Seen by one sweep, a handler may finish any moment, and most do: only one
            # still running at the next has surely run for a while. Bytes after the request
            # (pipelining) must wait: reading on would buffer more.
            if self._sweeps >= 2 and self.lifecycle.body_done and not self._buffered():
                scope, done = trio.CancelScope(), trio.Event()
                self._watcher = (scope, done)
                if self._nursery is not None:
                    self._nursery.start_soon(self._watch, scope, done)

    def cancel(self, reason: CancelReason) -> None:
        """Cancel what ``reason`` concerns, having recorded it."""
        self.lifecycle.cancel(reason)
        run = self._streaming
        if run is not None and reason is CancelReason.BODY_STALLED and run.cancel_body():
            pass  # the reader's feed of a streaming body: its handler gets a 408 error
        elif run is not None and reason is CancelReason.RESPONSE_TIMEOUT:
            run.cancel_exchange()
        else:
            self._cancel_reader()  # and with it everything the connection runs

    async def _watch(self, scope: trio.CancelScope, done: trio.Event) -> None:
        """While the reader runs a buffered handler, read once: if the client left, cancel.

        Anything read (a pipelined request) is kept for the next request.
        """
        try:
            with scope:
                data = await self.receive()
                if not data:
                    self.cancel(CancelReason.CLIENT_GONE)
                else:
                    self.keep(data)
        finally:
            done.set()

    async def _stop_watching(self) -> None:
        """Stop the watcher (if one started) before the reader reads again."""
        if self._watcher is not None:
            scope, done = self._watcher
            scope.cancel()
            with trio.CancelScope(shield=True):
                await done.wait()
            self._watcher = None

    async def _linger(self) -> None:
        """Before closing on a client that may still be sending, let it read our answer.

        Closing a socket with unread input makes the kernel send a reset, which can destroy
        the response in the client's buffers. So: send EOF, then read and discard for a
        moment, the way nginx's lingering close does. Needed while a request body is
        unfinished, or whenever input is waiting (a malformed request's rest, a pipelined
        request we will not answer).
        """
        lifecycle = self.lifecycle
        transport = self.transport
        if lifecycle.phase in (Phase.UPGRADED, Phase.CLOSED) or not transport.half_closeable:
            return
        unfinished = lifecycle.phase is not Phase.IDLE and not lifecycle.body_done
        if not unfinished and not transport.readable():
            return
        lifecycle.step(Event.LINGER)
        with trio.move_on_after(_LINGER_SECONDS):
            try:
                await transport.send_eof()
                while True:
                    with trio.move_on_after(_LINGER_IDLE_SECONDS):
                        if not await transport.receive_some(self.config.READ_SIZE):
                            return
                        continue
                    return
            except STREAM_ERRORS:
                pass

    # -- reading --------------------------------------------------------------------------------

    async def receive(self) -> bytes:
        """Read once from the socket; a broken or closed socket reads as end of file."""
        try:
            return await self.transport.receive_some(self.config.READ_SIZE)
        except STREAM_ERRORS:
            return b""

    async def receive_body(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of body; ``b""`` when the client is gone.

        What is here already is read without a wait, a deadline or a yield: a fast upload
        moves in as few reads as the kernel allows, and its reader yields only when the
        handler's channel is full (a yield is a task switch per piece). A wait lasts at most
        REQUEST_BODY_IDLE_TIMEOUT: a plain deadline, not a scope per read; if it passes,
        the timekeeper cancels the reader and the client gets 408.
        """
        transport = self.transport
        data = transport.read_now(max_bytes)
        if data is not None:
            return data
        lifecycle = self.lifecycle
        timeout = self.config.REQUEST_BODY_IDLE_TIMEOUT
        if timeout is not None:
            lifecycle.arm(Deadline.BODY, trio.current_time() + timeout)
        try:
            while True:
                await transport.wait_readable()
                data = transport.read_now(max_bytes)
                if data is not None:
                    return data
                if not transport.reads_now:
                    return await transport.receive_some(max_bytes)
        except STREAM_ERRORS:
            return b""
        finally:
            lifecycle.disarm()

    def body_ended(self) -> None:
        """The request's body has arrived whole (it had none, or h11 never saw it)."""
        self.lifecycle.body_done = True
        if self.h11.their_state is not h11.DONE:
            # Its end went past h11: what h11 read beyond the head is the next request's.
            self.pending = self.h11.trailing_data[0]

    def keep(self, data: bytes) -> None:
        """Keep bytes read past the current request for the next one."""
        if self.h11.their_state is h11.DONE:
            self.h11.receive_data(data)
        else:  # after a body h11 never saw: for the next request's parser
            self.pending += data

    def _buffered(self) -> bool:
        """Whether bytes past the current request were read already."""
        return bool(self.pending or self.h11.trailing_data[0])

    def _input_waiting(self) -> bool:
        """Whether a request may have arrived: bytes read already, or waiting in the socket."""
        return self._buffered() or self.transport.readable()

    async def _read_head(self, data: bytes | None) -> h11.Request | None:
        """The next request head, or ``None`` when the connection is to end.

        ``data`` is what `run` read of it already (``b""``: the client closed); ``None``:
        read it here (a stream `Transport.read_now` cannot read, or a false alarm). A
        malformed (400), too large (431) or unsupported (505) head is answered here. The
        deadlines are the lifecycle's: the idle wait for a first byte, then REQUEST_TIMEOUT
        for the whole head (the timekeeper cancels, and `_after_cancel` answers 408).
        """
        lifecycle = self.lifecycle
        config = self.config
        if data is None:
            try:
                data = await self.transport.receive_some(config.READ_SIZE)
            except STREAM_ERRORS:
                data = b""
            if data and lifecycle.reason is not None:
                # Cancelled (a drain, the idle timeout) just as the request arrived: the
                # reader's scope is spent; _after_cancel serves it.
                self.pending = data
                return None
        lifecycle.disarm()
        if not data:
            return None
        h = self.h11
        if h is _IDLE:
            # A request's first bytes: a parser now. A connection between requests holds
            # none (it costs more memory than the rest of such a connection).
            h = self.h11 = _new_h11(config)
            self.writer.use(h)
        h.receive_data(data)
        fed = len(data)
        start = data[:5]  # enough to tell a HEAD request, whose answers have no body
        lifecycle.step(Event.BYTES)
        waited = False
        try:
            while True:
                try:
                    event = h.next_event()
                except h11.RemoteProtocolError as exc:
                    # A head too large or malformed may still have said HEAD: no body then.
                    said = b"HEAD" if start == b"HEAD " else None
                    await self._reject(protocol_error(exc, config, in_body=False), said)
                    return None
                if event is h11.NEED_DATA:
                    if not waited:
                        # The head's clock starts when a head must be waited for: a whole
                        # head in one read (almost every one) needs no deadline at all.
                        waited = True
                        timeout = config.REQUEST_TIMEOUT
                        if timeout is not None:
                            lifecycle.arm(Deadline.HEAD, trio.current_time() + timeout)
                    data = await self.receive()
                    h.receive_data(data)  # b"": end of file, which h11's next event reports
                    fed += len(data)
                    if len(start) < 5:
                        start += data[: 5 - len(start)]
                    continue
                if type(event) is h11.Request:
                    # h11 checks max_incomplete_event_size only while a head is incomplete,
                    # so a whole oversized head arriving in one read passes it (h11#182).
                    limit = config.REQUEST_MAX_HEADER_SIZE
                    if fed > limit and fed - len(h.trailing_data[0]) > limit:
                        error = RequestHeaderFieldsTooLarge(
                            f"the request head exceeds {limit} bytes", quiet=True
                        )
                        await self._reject(error, event.method)
                        return None
                    return event
                if type(event) is h11.ConnectionClosed:
                    return None
                raise RuntimeError(f"unexpected {event!r} while waiting for a request")
        finally:
            lifecycle.disarm()

    def next_cycle(self) -> bool:
        """Get ready for the next request on this connection; ``False`` if there is none."""
        self._exchange = None
        h = self.h11
        lifecycle = self.lifecycle
        if not self.writer.done:
            return False  # the response was cut off
        # Closing with the last response out without saying so: a drain began while it was
        # sent. A request that arrived meanwhile is still answered (Connection: close).
        if not lifecycle.keep_alive and not (
            lifecycle.body_done and self.host.draining and self._input_waiting()
        ):
            return False
        if h.their_state is h11.DONE:
            # What h11 read past the request (pipelining) goes to the next one's parser.
            self.pending = h.trailing_data[0]
        # else: the body's end went past h11 (see body.py): what followed it is in pending.
        # A fresh parser for the next request, made when its bytes arrive (see _read_head):
        # it costs no more time than h11's start_next_cycle(), and an idle keep-alive
        # connection then holds no parser (a kilobyte) between requests.
        self.h11 = _IDLE
        self.writer.use(_IDLE)
        self.writer.head_hook = None  # (it holds the exchange, and so the request)
        lifecycle.step(Event.NEXT)
        return True

    # -- one request ------------------------------------------------------------------------------

    async def _serve_request(self, event: h11.Request) -> bool:
        """Serve one request; ``False`` when the connection must end after it."""
        # raw_items() is a plain list, much cheaper to go through than h11's Headers.
        pairs = event.headers.raw_items()
        method = event.method.decode("ascii")
        request = Request(
            method,
            event.target,
            Headers(pairs),
            app=self.app,
            http_version=event.http_version.decode("ascii"),
            conn_info=self.conn_info,
        )
        writer = self.writer
        writer.begin(method)
        exchange = self._exchange = Exchange(self.app, request, writer, self.lifecycle)
        problem = exchange.check_head(pairs)
        plan = exchange.plan
        lifecycle = self.lifecycle
        if plan.websocket is not None and problem is None:
            if is_upgrade(request):
                lifecycle.step(Event.DISPATCH)
                await self._upgrade(event, exchange, plan.websocket)
                return False
            problem = UpgradeRequired("this path serves WebSocket connections only")
        if problem is not None:
            # Answered without reading the body: the connection closes after it.
            request._route_error = problem
            request.route = None
            lifecycle.closing = True
        elif plan.streaming:
            nursery = self._nursery
            if nursery is None:  # pragma: no cover - set for as long as run() runs
                raise RuntimeError("the connection is not running")
            run = self._streaming = StreamedExchange(self, exchange, nursery)
            try:
                await run.run(nursery)
            finally:
                self._streaming = None
            return True
        elif exchange.framing is Framing.NONE:
            # No body (almost every GET): no read, no wait, no task (see body.py's _NoBody).
            self.body_ended()
        elif not await self._read_body(exchange):
            return False
        self._sweeps = 0
        lifecycle.step(Event.DISPATCH)
        self.arm_response()
        await exchange.respond()
        return True

    def arm_response(self) -> None:
        """The whole request has arrived: RESPONSE_TIMEOUT runs until the response head."""
        timeout = self.config.RESPONSE_TIMEOUT
        if timeout is not None and self.lifecycle.phase is Phase.HANDLING:
            self.lifecycle.arm(Deadline.RESPONSE, trio.current_time() + timeout)

    async def _read_body(self, exchange: Exchange) -> bool:
        """Read a buffered route's whole body into ``request.body``; ``False``: client gone.

        A body past the limit or malformed becomes the request's routing error, so the
        handler is skipped and the error answered (then the connection closes).
        """
        self.lifecycle.step(Event.READ_BODY)
        if exchange.continue_now(asked=False):
            await self.writer.send_continue()
        request = exchange.request
        reader = READERS[exchange.framing](self, exchange)
        size = self.config.READ_SIZE
        parser = None
        try:
            # A form is parsed as it arrives (in slices that let other connections run),
            # and a multipart body is not kept whole: its files may be large.
            parser = request._form_parser()
            keep = parser is None or parser.keeps_body
            parts = []
            while (chunk := await reader.read(size)) is not None:
                if parser is not None:
                    await parser.feed(chunk)
                if keep:
                    parts.append(chunk)
                    if len(parts) % 16 == 0:
                        # Reads of what is already here do not yield: let other connections
                        # run once a MiB or so.
                        await trio.lowlevel.checkpoint()
            if parser is not None:
                request._set_form(await parser.finish())
        except ClientDisconnected:
            if parser is not None:
                parser.discard()
            return False
        except HTTPException as exc:
            if parser is not None:
                parser.discard()
            request._route_error = exc
            request.route = None
            self.lifecycle.closing = True
            return True
        except BaseException:
            if parser is not None:
                parser.discard()
            raise
        if parts:
            request.body = parts[0] if len(parts) == 1 else b"".join(parts)
        return True

    # -- answers without an exchange -------------------------------------------------------------

    async def _reject(self, error: HTTPException, method: bytes | None) -> None:
        """Answer a request whose head could not be served, then close.

        Error handlers get a stand-in request (``GET /``, or the real method when the head
        was parsed, so a HEAD request gets no body) so ``@app.exception`` shapes these too.
        """
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        name = "HEAD" if method == b"HEAD" else "GET"
        stand_in = Request(name, b"/", Headers(), app=self.app, conn_info=self.conn_info)
        self.writer.begin(name)
        self.lifecycle.closing = True
        plan = RequestPlan(False, None, None)
        exchange = Exchange(self.app, stand_in, self.writer, self.lifecycle, plan)
        await exchange.answer(error)
        exchange.log_access()

    async def _upgrade(
        self, event: h11.Request, exchange: Exchange, served: tuple[str, ...]
    ) -> None:
        """Hand the connection to trio-websocket, unless middleware or the request refuses.

        From here on the socket belongs to the WebSocket; the HTTP timeouts no longer apply.
        """
        request = exchange.request
        problem: HTTPException | None = None
        try:
            body_event = self.h11.next_event()
        except h11.RemoteProtocolError as exc:
            problem = protocol_error(exc, self.config, in_body=True)
        else:
            if not isinstance(body_event, h11.EndOfMessage):
                problem = BadRequest("a WebSocket upgrade request may not have a body")
            else:
                problem = handshake_problem(request)
        if problem is not None:
            self.lifecycle.closing = True
            await exchange.answer(problem)
            exchange.log_access()
            return
        refusal = None if self.host.draining else await self.app.before_upgrade(request)
        if refusal is None and self.host.draining:
            # Checked after middleware too: a shutdown may have begun while it ran.
            refusal = await self.app.handle_error(
                request, ServiceUnavailable("the server is shutting down")
            )
        if refusal is not None:
            self.lifecycle.closing = True
            with contextlib.suppress(ClientDisconnected):
                await refusal.write_to(self.writer)
            exchange.log_access()
            return
        if self._nursery is None:  # pragma: no cover - set for as long as run() runs
            raise RuntimeError("the connection is not running")
        self.lifecycle.step(Event.UPGRADE)
        self.lifecycle.disarm()
        pairs = event.headers.raw_items()
        handshake = serialize_head(event.method, event.target, event.http_version, pairs)
        self._websocket = WebSocketSession(request, self.config, self._nursery)
        try:
            await self._websocket.run(
                handshake + self.h11.trailing_data[0], self.transport.stream, served
            )
        finally:
            self._websocket = None
