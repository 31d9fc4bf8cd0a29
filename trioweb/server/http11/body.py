"""Request body readers, one per framing, chosen once per request (`READERS`).

Each reads the next piece of the current request's body, or ``None`` at its end, and marks
the lifecycle's ``body_done`` when the body has arrived whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import h11

from ...exceptions import ClientDisconnected, PayloadTooLarge
from ..exchange import Exchange, Framing
from .errors import protocol_error

if TYPE_CHECKING:
    from .connection import HTTP11Connection

__all__ = ["READERS", "BodyReader"]


class BodyReader(Protocol):
    """Reads one request's body."""

    async def read(self, max_bytes: int) -> bytes | None:
        """The next piece of the body (at most ``max_bytes``), or ``None`` at its end.

        Raises:
            ClientDisconnected: the client left mid-body.
            HTTPException: the body is malformed (400) or past the route's limit (413).
        """
        ...


class _NoBody:
    """A request without a body (no wait, so no checkpoint).

    h11 would report its end as one more event, a trip through its state machine that
    tells nothing the head did not (a tenth of the cost of a small request): it is not
    asked. What it read past the head is the next request's (`HTTP11Connection.body_ended`).
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: HTTP11Connection, exchange: Exchange) -> None:
        self._conn = conn

    async def read(self, max_bytes: int) -> bytes | None:
        conn = self._conn
        if not conn.lifecycle.body_done:
            conn.body_ended()
        return None


class _LengthBody:
    """A body with a Content-Length, read straight from the socket, past h11.

    Going through h11 costs two copies of every body byte (into its buffer, then out) and a
    third to make ``bytes`` of its ``bytearray``. The length is all the framing there is, and
    h11 has checked it, so the body's bytes go to the handler as read. h11 never sees them,
    so once the response is done the connection takes a fresh parser for what follows
    (`HTTP11Connection.next_cycle`); what arrived after the body waits for it in
    ``HTTP11Connection.pending``.
    """

    __slots__ = ("_buffer", "_conn", "_left")

    def __init__(self, conn: HTTP11Connection, exchange: Exchange) -> None:
        self._conn = conn
        self._left = exchange.content_length
        self._buffer = conn.h11.trailing_data[0]  # the body's start, read with the head

    async def read(self, max_bytes: int) -> bytes | None:
        left = self._left
        if left == 0:
            return None
        buffered = self._buffer
        if buffered:  # (no wait, so no checkpoint: the body's start came with the head)
            chunk = buffered[: min(left, max_bytes)]
            self._buffer = buffered[len(chunk) :]
        else:
            chunk = await self._conn.receive_body(min(left, max_bytes))
            if not chunk:
                raise ClientDisconnected("the client left mid-body")
        # No limit check: a Content-Length over the limit was refused with the head.
        self._left = left = left - len(chunk)
        if left == 0:
            self._conn.lifecycle.body_done = True
            self._conn.pending = self._buffer  # the next request's, if any
        return chunk


class _ChunkedBody:
    """A chunked body, decoded by h11; pieces already here are joined into one read."""

    __slots__ = ("_conn", "_limit", "_received")

    def __init__(self, conn: HTTP11Connection, exchange: Exchange) -> None:
        self._conn = conn
        self._limit = exchange.plan.body_limit
        self._received = 0

    async def read(self, max_bytes: int) -> bytes | None:
        conn = self._conn
        h = conn.h11
        if conn.lifecycle.body_done:
            return None
        pieces: list[bytes | bytearray] = []
        size = 0
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if h.trailing_data[1]:  # end of file in the middle of the body
                    raise ClientDisconnected("the client left mid-body") from exc
                raise protocol_error(exc, conn.config, in_body=True) from exc
            if event is h11.NEED_DATA:
                if pieces:
                    break
                # b"" (the client is gone) tells h11 the same: its next event says so.
                h.receive_data(await conn.receive_body(max_bytes))
                continue
            if type(event) is h11.Data:
                data = event.data
                self._received += len(data)
                limit = self._limit
                if limit is not None and self._received > limit:
                    raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
                pieces.append(data)
                size += len(data)
                if size >= max_bytes:
                    break
                continue
            if type(event) is h11.EndOfMessage:
                conn.lifecycle.body_done = True
                break
            raise ClientDisconnected("the client closed the connection mid-body")
        if not pieces:
            return None
        return bytes(pieces[0]) if len(pieces) == 1 else b"".join(pieces)


READERS: dict[Framing, type[_NoBody | _LengthBody | _ChunkedBody]] = {
    Framing.NONE: _NoBody,
    Framing.LENGTH: _LengthBody,
    Framing.CHUNKED: _ChunkedBody,
}
