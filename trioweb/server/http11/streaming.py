"""A streaming route's exchange: a task of its own, fed its body by the connection's reader.

::

    reader (the connection task)            exchange task (in the connection nursery)
      [100 Continue once the handler asks]    middleware, handler, response
      body -> BodyFeed -> memory channel  ->  request.stream (a RequestStream on it)
      end of body: the channel closes         ...
      read on: end of file -> cancel it       ...
      wait until it is done                   done: the feed closes, the reader stops

What the reader meets on the way reaches the handler as an exception from
``request.stream.receive()``: 413 past the route's limit, 400 for broken framing, 408 when
the body stalls (``REQUEST_BODY_IDLE_TIMEOUT``). A client that leaves cancels the exchange.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from ...exceptions import ClientDisconnected, HTTPException, RequestTimeout
from ...request import BodyStatus, RequestStream
from ..feed import BodyFeed, SpoolLimit
from ..lifecycle import CancelReason, Event
from .body import READERS

if TYPE_CHECKING:
    from ...config import Config
    from ..exchange import Exchange
    from .connection import HTTP11Connection

__all__ = ["StreamedExchange"]

logger = logging.getLogger("trioweb.server")


def _piece_size(config: Config) -> int:
    """The largest piece of a streamed body: the channel holds one, the reader one more."""
    return max(1, config.REQUEST_STREAM_BUFFER // 2)


class StreamedExchange:
    """One streaming exchange in flight on a connection.

    Args:
        conn: The connection; its task is the one that calls `run`.
        exchange: The request, routed and checked.
        nursery: The connection's nursery, for the exchange task (and a spill's feeder).
    """

    __slots__ = (
        "_conn",
        "_pump_scope",
        "_task_scope",
        "_watch_scope",
        "done",
        "exchange",
        "feed",
        "status",
    )

    def __init__(self, conn: HTTP11Connection, exchange: Exchange, nursery: trio.Nursery) -> None:
        config = conn.config
        self._conn = conn
        self.exchange = exchange
        self.feed = BodyFeed(
            conn.transport,
            nursery,
            max_chunk=_piece_size(config),
            spool_limit=config.REQUEST_STREAM_SPOOL,
            budget=conn.host.spool_budget,
        )
        self.status = BodyStatus()
        exchange.request.stream = RequestStream(
            self.feed.receive, self.status, exchange.plan.memory_limit
        )
        self.done = trio.Event()
        self._task_scope = trio.CancelScope()
        self._pump_scope: trio.CancelScope | None = None  # while the body is being read
        self._watch_scope: trio.CancelScope | None = None  # while waiting for end of file

    async def run(self, nursery: trio.Nursery) -> None:
        """Start the exchange task, feed it the body, and return once it is done."""
        conn = self._conn
        conn.lifecycle.step(Event.DISPATCH)
        nursery.start_soon(self._task)
        await self._pump()
        if conn.lifecycle.body_done and not self.done.is_set():
            await self._watch_for_end_of_file()
        await self.done.wait()

    def cancel_exchange(self) -> None:
        """Cancel the exchange task (RESPONSE_TIMEOUT: it answers 503 itself)."""
        self._task_scope.cancel()

    def cancel_body(self) -> bool:
        """Stop reading the body (it stalled); ``False`` if it is not being read."""
        if self._pump_scope is None:
            return False
        self._pump_scope.cancel()
        return True

    def check(self) -> None:
        """The timekeeper's sweep: a response write that blocked without a partial send
        while the body waits for its handler starts the spill (`trioweb.server.feed`)."""
        transport = self._conn.transport
        if transport.on_blocked is not None and transport.blocked():
            transport.on_blocked()

    async def _task(self) -> None:
        """The exchange task: middleware, handler, response."""
        exchange = self.exchange
        try:
            with self._task_scope:
                await exchange.respond()
            error = self.status.error
            cancelled = self._task_scope.cancelled_caught
            if cancelled and isinstance(error, HTTPException) and not exchange.writer.started:
                # Cancelled while it waited on the raw channel for a body that failed.
                await exchange.answer(error)
                exchange.log_access()
        finally:
            self.feed.close()
            self.done.set()
            for scope in (self._pump_scope, self._watch_scope):
                if scope is not None:
                    scope.cancel()

    async def _pump(self) -> None:
        """Read the body into the feed until it ends, fails, or nobody wants the rest."""
        conn, exchange, feed = self._conn, self.exchange, self.feed
        config = conn.config
        reader = READERS[exchange.framing](conn, exchange)
        # Reads ask for a whole piece: what a fast client has sent arrives in one read, and
        # with it one hand-over to the handler's task instead of several.
        largest = _piece_size(config)
        with trio.CancelScope() as scope:
            self._pump_scope = scope
            try:
                if exchange.expects_continue:
                    await self.status.wanted.wait()
                    if exchange.continue_now(asked=True):
                        await conn.writer.send_continue()
                while (chunk := await reader.read(largest)) is not None:
                    if feed.offer(chunk):
                        # Let the handler take it before reading on. A reader that runs
                        # ahead empties the socket, then sleeps and is woken for every
                        # segment the client sends: small pieces, twice the CPU per byte
                        # (measured). Reading when the handler is ready finds more there.
                        await trio.lowlevel.checkpoint()
                    elif not await feed.put(chunk):
                        return  # nobody reads on: the rest of the body is not read
                feed.end()
                conn.arm_response()
            except ClientDisconnected as exc:
                self.status.fail(exc)
                conn.cancel(CancelReason.CLIENT_GONE)
            except HTTPException as exc:
                self._fail_body(exc)
            except SpoolLimit as exc:
                request = exchange.request
                logger.warning(
                    "%s %s from %s: %s; closing the connection",
                    request.method,
                    request.path,
                    request.client_ip,
                    exc,
                )
                conn.cancel(CancelReason.SPOOL_FULL)
            finally:
                self._pump_scope = None
        lifecycle = conn.lifecycle
        if scope.cancelled_caught and lifecycle.reason is CancelReason.BODY_STALLED:
            lifecycle.take_reason()
            self._fail_body(RequestTimeout("the request body stalled"))

    def _fail_body(self, error: HTTPException) -> None:
        """The body cannot be read on: raise ``error`` in its readers; the connection closes.

        ``request.stream`` raises it (now, or at the next read); a handler that took the raw
        channel is cancelled instead (and its exchange answers ``error``), since the channel
        can only show an end.
        """
        self._conn.lifecycle.closing = True
        self.status.fail(error)
        if self.status.raw:
            self._task_scope.cancel()
        self.feed.fail()

    async def _watch_for_end_of_file(self) -> None:
        """After the body, read once: end of file means the client left; cancel the exchange.

        Bytes that arrive instead (a pipelined request) wait for the next exchange.
        """
        conn = self._conn
        with trio.CancelScope() as scope:
            self._watch_scope = scope
            try:
                data = await conn.receive()
            finally:
                self._watch_scope = None
            if not data:
                conn.cancel(CancelReason.CLIENT_GONE)
            else:
                conn.keep(data)
