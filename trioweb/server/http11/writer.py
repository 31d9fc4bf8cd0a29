"""The response writer: heads and bodies through h11 onto the connection's transport."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus

import h11
import trio

from ...exceptions import ClientDisconnected
from ...response import HeaderList
from ..exchange import says_close
from ..lifecycle import Event, Lifecycle
from ..transport import STREAM_ERRORS, Transport

__all__ = ["H11Writer"]

_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}
_CLOSE = (b"connection", b"close")
# Header sets made only of these names carry nothing secret, and repeat a lot (the same type
# and, for many endpoints, the same length): h11 validates each such set once (see _validated).
_CACHEABLE_HEADERS = frozenset({b"content-type", b"content-length", b"connection"})
_VALIDATED_LIMIT = 256
_validated: dict[tuple[tuple[bytes, bytes], ...], h11.Response] = {}
# The bytes h11 wrote for such a set, as the head of a whole response on a connection that
# stays open, by (status, bodiless, headers): see H11Writer._head.
_heads: dict[tuple[int, bool, tuple[tuple[bytes, bytes], ...]], bytes] = {}
# Bodies larger than this leave in several writes, so no single write buffers them whole,
# and WRITE_IDLE_TIMEOUT bounds each piece: a client must take 256 KiB per timeout period
# (60 s: about 4 KiB/s). Measured on loopback: 100 MiB in 256 KiB writes ~5,300 MB/s, in
# 64 KiB writes ~3,800 (each write is a trip through the kernel's TCP send path).
_SPLIT_WRITES_OVER = 256 * 1024
# A body up to this size is copied behind its head (one write); a larger one is not copied:
# head and body leave in one vectored write.
_JOIN_UNDER = 16 * 1024


class _Clock:
    """The ``Date`` header (RFC 9110 section 6.6.1: a server with a clock MUST send it).

    Formatted once a second; the validated header sets and the heads written from them,
    which include it, start over then.
    """

    second = -1
    value = b""

    @classmethod
    def date(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second = now
            cls.value = formatdate(now, usegmt=True).encode("ascii")
            _validated.clear()
            _heads.clear()
        return cls.value


def _h11_response(
    status: int, headers: HeaderList, key: tuple[tuple[bytes, bytes], ...] | None = None
) -> h11.Response:
    """The h11 event for a response head, with ``Date``, validating a common set only once.

    h11 checks every header name and value against a regular expression, several
    microseconds a response. It skips that for headers taken from an event it built (its
    own validated type), so small header sets are validated once a second and remembered
    (in `_validated`, under ``key``: ``tuple(headers)``, made here unless given).
    """
    reason = _REASONS.get(status, b"")
    date = _Clock.date()
    if key is None:
        key = tuple(headers)
    known = _validated.get(key)
    if known is None:
        if not all(name in _CACHEABLE_HEADERS for name, _ in headers):
            if not any(name == b"date" for name, _ in headers):
                headers = [*headers, (b"date", date)]
            return h11.Response(status_code=status, headers=headers, reason=reason)
        if len(_validated) >= _VALIDATED_LIMIT:
            _validated.clear()
        known = _validated[key] = h11.Response(status_code=200, headers=[*headers, (b"date", date)])
    return h11.Response(status_code=status, headers=known.headers, reason=reason)


class H11Writer:
    """The one way response bytes leave a connection (an `ExchangeWriter`).

    It knows the h11 connection, the transport and the lifecycle, and nothing of the
    connection that owns them. Each write arms the lifecycle's write deadline
    (``WRITE_IDLE_TIMEOUT``), which the timekeeper enforces.

    A response with a ``Content-Length`` has its head written by h11 and its body passed
    past it, as a Content-Length request body is read past it: the length is all the
    framing there is. h11's Data and EndOfMessage events were two of the five state-machine
    steps of a small request (about 10% of GET / throughput), and one step per 64 KiB of a
    streamed body. The writer keeps h11's count instead: a body longer or shorter than its
    Content-Length raises, as h11 would. h11's state stays at SEND_BODY; `done` says the
    response is complete, and the connection's parser is replaced before the next request.
    """

    __slots__ = (
        "_h11",
        "_left",
        "_lifecycle",
        "_no_body",
        "_passed",
        "_timeout",
        "_transport",
        "finished",
        "head_hook",
        "sent",
        "started",
        "status",
    )

    def __init__(
        self,
        connection: h11.Connection,
        transport: Transport,
        lifecycle: Lifecycle,
        write_timeout: float | None,
    ) -> None:
        self._h11 = connection
        self._transport = transport
        self._lifecycle = lifecycle
        self._timeout = write_timeout
        self.started = False
        self.finished = False
        self._no_body = False
        self._passed = False  # the body goes past h11 (see the class docstring)
        self._left = 0  # ... and this much of its Content-Length is still to come
        self.status = 0
        self.sent = 0
        # Set per request by its exchange (the request id echo); sees the head's headers.
        self.head_hook: Callable[[HeaderList], HeaderList] | None = None

    def use(self, connection: h11.Connection) -> None:
        """Write through ``connection`` from now on (a fresh one for the next request)."""
        self._h11 = connection

    def begin(self, method: str) -> None:
        """Get ready to answer a ``method`` request."""
        self.started = self.finished = False
        self._no_body = method == "HEAD"
        self._passed = False
        self.status = self.sent = 0
        self.head_hook = None

    def _head(
        self, status: int, headers: HeaderList, complete: bool, passed: bool = False
    ) -> bytes:
        """The head's bytes, as h11 writes them; from then on the response has started.

        ``passed``: a whole response whose body goes past h11 (see the class docstring).
        Its head is then the same bytes whenever the status and headers are, on any
        connection that stays open (h11 adds nothing for one, and ``Date`` changes once a
        second): for a small header set (`_CACHEABLE_HEADERS`), the bytes h11 wrote are
        kept for the second and written again without h11. Turning a Response event into
        bytes is half of h11's work for a small request (~15 us of ~30 here); what h11
        does for the connection's state is not needed, since its parser is replaced
        before the next request.
        """
        # Decided as the head leaves, so a shutdown that began mid-request is honoured. A
        # whole response sent while the request body is still unread closes the connection:
        # nobody will read the rest of it. A streamed one does not say so yet: its handler
        # may read the body to its end while it writes (see HTTP11Connection.next_cycle).
        lifecycle = self._lifecycle
        hook = self.head_hook
        if hook is not None:
            headers = hook(headers)
        last = not lifecycle.keep_alive if complete else lifecycle.closing
        key = frozen = None
        if last:
            headers = [*headers, _CLOSE]
        elif passed:
            _Clock.date()  # (a new second empties _heads)
            frozen = tuple(headers)
            key = (status, self._no_body, frozen)
            head = _heads.get(key)
            if head is not None:
                self._started(status)
                return head
        # Built (and so validated by h11) before anything counts as sent: a bad header value
        # is still answered with a 500.
        event = _h11_response(status, headers, frozen)
        self._started(status)
        head = self._h11.send(event) or b""
        if key is not None and frozen in _validated:  # a small, plain set: see _h11_response
            if len(_heads) >= _VALIDATED_LIMIT:
                _heads.clear()
            _heads[key] = head
        return head

    def _started(self, status: int) -> None:
        self._no_body = self._no_body or status in (204, 304)
        self.started = True
        self.status = status
        self._lifecycle.step(Event.HEAD_SENT)

    async def send_head(self, status: int, headers: HeaderList) -> None:
        if self.started:
            raise RuntimeError("the response head was already sent")
        head = self._head(status, headers, complete=False)
        length = None if self._no_body else self._framing_length(headers)
        if length is not None:
            self._passed, self._left = True, length
        await self._send(head)

    def _framing_length(self, headers: HeaderList) -> int | None:
        """The Content-Length that alone frames the body (h11 validated it), if one does.

        Also notes a ``Connection: close`` among ``headers``: h11 would close after it.
        """
        length = None
        for name, value in headers:
            if name == b"content-length":
                length = int(value.partition(b",")[0])  # "10, 10": h11 checked they agree
            elif name == b"transfer-encoding":
                return None
            elif name == b"connection" and says_close(value):
                self._lifecycle.closing = True
        return length

    async def send_data(self, data: bytes) -> None:
        if not self.started or self.finished:
            raise RuntimeError("response data can only follow the head and precede the end")
        if self._no_body:
            return
        if self._passed:
            left = self._left - len(data)
            if left < 0:
                raise RuntimeError(
                    f"the response body is longer than its Content-Length "
                    f"({self.sent + self._left} bytes)"
                )
            self._left = left
            self.sent += len(data)
            if len(data) <= _SPLIT_WRITES_OVER:
                await self._send(data, more=True)
                return
            with memoryview(data) as view:
                for start in range(0, len(data), _SPLIT_WRITES_OVER):
                    await self._send(view[start : start + _SPLIT_WRITES_OVER], more=True)
            return
        self.sent += len(data)
        if len(data) <= _SPLIT_WRITES_OVER:
            await self._send_data(data)
            return
        for start in range(0, len(data), _SPLIT_WRITES_OVER):
            await self._send_data(data[start : start + _SPLIT_WRITES_OVER])

    async def _send_data(self, data: bytes) -> None:
        # h11 would join a chunk's size line, the data and its CRLF into new bytes: a copy
        # of every byte. Passed through, the pieces leave in one vectored write instead.
        pieces = self._h11.send_with_data_passthrough(h11.Data(data=data)) or []
        if len(pieces) == 1:
            await self._send(pieces[0], more=True)
        elif pieces:
            await self._send(pieces, more=True)

    async def send_end(self) -> None:
        if self.finished:
            return
        if self._passed:
            if self._left:
                raise RuntimeError(
                    f"the response body ended {self._left} bytes short of its Content-Length "
                    f"({self.sent + self._left} bytes)"
                )
            self.finished = True
            return
        self.finished = True
        await self._send(self._h11.send(h11.EndOfMessage()) or b"")

    async def send_complete(self, status: int, headers: HeaderList, body: bytes) -> None:
        if self.started:
            raise RuntimeError("the response head was already sent")
        bodiless = self._no_body or status in (204, 304)
        # One pass over the headers: is the length right, and is the body framed by it alone?
        length = chunked = False
        for name, value in headers:
            if name == b"content-length":
                # h11 would only notice at the body, after the head counts as sent; catch it
                # here so the client still gets a 500 instead of a cut connection.
                if not bodiless and value != b"%d" % len(body):
                    raise ValueError(
                        f"Content-Length says {value.decode()} but the body has {len(body)} bytes"
                    )
                length = True
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"connection" and says_close(value):
                self._lifecycle.closing = True  # h11 would close after it: so do we
        h = self._h11
        if self._no_body and h.their_http_version is None:
            # HEAD, said by a head h11 could not parse: h11 would hold a Content-Length to a
            # body; without one it ends the answer by closing, which is what happens anyway.
            headers = [(name, value) for name, value in headers if name != b"content-length"]
        passed = bodiless or (length and not chunked)
        head = self._head(status, headers, complete=True, passed=passed)
        if passed:
            # The head says how long the body is (nothing, for these): it goes as it is.
            self._passed = self.finished = True
            if bodiless or not body:
                await self._send(head)
                return
            self.sent = len(body)
            if len(body) <= _JOIN_UNDER:
                await self._send(head + body)
                return
            if len(body) <= _SPLIT_WRITES_OVER:
                await self._send([head, body])
                return
            await self._send(head, more=True)
            with memoryview(body) as view:
                for start in range(0, len(body), _SPLIT_WRITES_OVER):
                    more = start + _SPLIT_WRITES_OVER < len(body)
                    await self._send(view[start : start + _SPLIT_WRITES_OVER], more=more)
            return
        # Framed by h11 (chunked, or to the end of the connection): through its events.
        if len(body) <= _SPLIT_WRITES_OVER:
            data = (h.send(h11.Data(data=body)) or b"") if body else b""
            self.sent = len(body)
            self.finished = True
            await self._send(head + data + (h.send(h11.EndOfMessage()) or b""))
            return
        await self._send(head, more=True)
        await self.send_data(body)  # (counts what it sends)
        await self.send_end()

    @property
    def done(self) -> bool:
        """Whether the response went out whole, so the connection can serve another request
        (if the lifecycle agrees)."""
        return (self.finished and self._passed) or self._h11.our_state is h11.DONE

    async def send_continue(self) -> None:
        """Send ``100 Continue`` if the client is still waiting for it."""
        h = self._h11
        if h.they_are_waiting_for_100_continue:
            await self._send(h.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")

    def abort(self) -> None:
        """The response cannot be completed: no end is sent, and the connection closes."""
        self._lifecycle.closing = True
        if self._h11.our_state is h11.SEND_BODY:
            self._h11.send_failed()

    async def _send(self, data: bytes | memoryview | list[bytes], *, more: bool = False) -> None:
        if not data:
            return
        lifecycle = self._lifecycle
        if self._timeout is not None:
            lifecycle.write_deadline = trio.current_time() + self._timeout
        try:
            if isinstance(data, list):
                await self._transport.send_pieces(data, more=more)
            else:
                await self._transport.send_all(data, more=more)
        except trio.Cancelled:
            self._h11.send_failed()  # some of it may have gone out: the stream is unusable
            raise
        except STREAM_ERRORS as exc:
            self._h11.send_failed()
            raise ClientDisconnected("the client went away") from exc
        finally:
            lifecycle.write_deadline = math.inf
