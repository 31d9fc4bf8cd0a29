"""Server-sent events: a ``text/event-stream`` response written event by event.

`event_stream` turns ``async def fn(send)`` into a streaming response. Each ``await
send(...)`` writes one whole event, framed as the WHATWG HTML standard's "Server-sent
events" section says, and waits while the client is not reading. While ``fn`` is idle, a
keep-alive comment goes out every ``ping`` seconds, so proxies that drop quiet connections
leave the stream open. The stream ends when ``fn`` returns, or when the client leaves: the
handler is then cancelled, and its ``finally`` blocks run.

A browser's ``EventSource`` reconnects by itself and sends the id of the last event it saw
as the ``Last-Event-ID`` request header; the handler reads it from
``request.headers.get("last-event-id")`` to resume from there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import trio

from .datastructures import MutableHeaders
from .response import StreamingHTTPResponse

__all__ = [
    "EventFunction",
    "EventSender",
    "EventStreamResponse",
    "ServerSentEvent",
    "event_stream",
]

#: Seconds of silence before a keep-alive comment. The HTML standard suggests a comment
#: "every 15 seconds or so" against proxies that drop idle connections; the usual idle
#: limits are longer (nginx's proxy_read_timeout and AWS load balancers: 60 s, Heroku: 55 s).
#: sse-starlette uses 15 s too.
DEFAULT_PING = 15.0

_PING = b": ping\n\n"
# The event stream format ends a line with CRLF, LF or CR (and nothing else: str.splitlines
# would also split on form feeds, U+2028 and more, changing the data).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Compact and UTF-8, as trioweb's json() sends; a JSON text never contains a raw line break.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _data_text(data: Any) -> str | None:
    if data is None or isinstance(data, str):
        return data
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"event data bytes must be UTF-8 text: {exc}") from None
    try:
        return _dumps(data)
    except (TypeError, ValueError) as exc:
        kind = type(data).__name__
        message = f"event data must be str, bytes or JSON-serialisable, not {kind} ({exc})"
        raise TypeError(message) from exc


def _one_line(name: str, value: object, forbidden: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"event {name} must be a str, not {type(value).__name__}")
    for char in forbidden:
        if char in value:
            raise ValueError(f"event {name} must not contain {char!r}: {value!r}")
    return value


@dataclass(frozen=True, slots=True, init=False)
class ServerSentEvent:
    """One event of an event stream, validated when made; `encode` gives its bytes.

    Args:
        data: The event's data: ``str`` as it is, ``bytes`` decoded as UTF-8, anything else
            serialised as compact JSON; ``None`` for no data field. Line breaks (CRLF, LF,
            CR) split it over several ``data:`` lines, which the client joins with LF. A
            browser dispatches only events that have data (``""`` counts).
        event: The event's type (``EventSource.addEventListener(type, ...)``); browsers use
            ``"message"`` when there is none.
        id: The event's id: the client sends the last one it saw as ``Last-Event-ID`` when
            it reconnects. An ``int`` is sent as its decimal digits; ``""`` resets it.
        retry: How many milliseconds the client waits before reconnecting.
        comment: Text the client ignores (each line sent as a ``:`` line).

    Raises:
        TypeError: ``data`` cannot be serialised, ``event``/``comment`` is not a ``str``,
            ``id`` neither a ``str`` nor an ``int``, ``retry`` not an ``int``.
        ValueError: ``event`` or ``id`` contains a line break (``id`` a NUL, which makes
            browsers ignore it), ``retry`` is negative, ``data`` bytes are not UTF-8, or
            every field is ``None``.
    """

    data: str | None
    event: str | None
    id: str | None
    retry: int | None
    comment: str | None

    def __init__(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        if isinstance(id, int) and not isinstance(id, bool):
            id = str(id)
        if retry is not None:
            if not isinstance(retry, int) or isinstance(retry, bool):
                raise TypeError(
                    f"event retry must be an int (milliseconds), not {type(retry).__name__}"
                )
            if retry < 0:
                raise ValueError(f"event retry must not be negative, got {retry}")
        if comment is not None and not isinstance(comment, str):
            raise TypeError(f"event comment must be a str, not {type(comment).__name__}")
        text = _data_text(data)
        if id is not None and not isinstance(id, str):
            raise TypeError(f"event id must be a str or an int, not {type(id).__name__}")
        object.__setattr__(self, "data", text)
        object.__setattr__(self, "event", _one_line("event", event, "\r\n"))
        object.__setattr__(self, "id", _one_line("id", id, "\r\n\0"))
        object.__setattr__(self, "retry", retry)
        object.__setattr__(self, "comment", comment)
        if text is None and event is None and id is None and retry is None and comment is None:
            raise ValueError("an event needs data, an event type, an id, a retry or a comment")

    def encode(self) -> bytes:
        """The event as it goes on the wire: its field lines and the blank line ending it."""
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(": " + line for line in _LINE_BREAK.split(self.comment))
        if self.id is not None:
            lines.append("id: " + self.id)
        if self.event is not None:
            lines.append("event: " + self.event)
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        if self.data is not None:
            lines.extend("data: " + line for line in _LINE_BREAK.split(self.data))
        lines.append("\n")
        return "\n".join(lines).encode("utf-8")


class EventSender:
    """The ``send`` that `event_stream` passes to its function: ``await send(data, ...)``.

    Each call writes one whole event, and waits while the client is not reading (so a
    producer never runs ahead of a slow client). It may be called from several tasks at
    once: events and keep-alive comments go out one at a time, never interleaved.
    """

    __slots__ = ("_last_write", "_lock", "_response")

    def __init__(self, response: StreamingHTTPResponse) -> None:
        self._response = response
        self._lock = trio.Lock()
        self._last_write = trio.current_time()

    async def __call__(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        """Send one event; the arguments are those of `ServerSentEvent`, or one of them.

        Args:
            data: The data (see `ServerSentEvent`), or a whole `ServerSentEvent`.
            event: The event's type.
            id: The event's id (what the client sends back as ``Last-Event-ID``).
            retry: The client's reconnection delay, in milliseconds.
            comment: Text the client ignores.

        Raises:
            TypeError, ValueError: as for `ServerSentEvent`; TypeError also for a
                `ServerSentEvent` given with other arguments.
            trioweb.exceptions.ClientDisconnected: the client went away.
            RuntimeError: the stream has ended (``send`` was kept and called after it).
        """
        if isinstance(data, ServerSentEvent):
            if not (event is None and id is None and retry is None and comment is None):
                raise TypeError("send() takes a ServerSentEvent alone, without other arguments")
            message = data
        else:
            message = ServerSentEvent(data, event=event, id=id, retry=retry, comment=comment)
        await self._write(message.encode())

    async def _write(self, payload: bytes) -> None:
        async with self._lock:
            await self._response.write(payload)
            self._last_write = trio.current_time()

    async def _keep_alive(self, interval: float) -> None:
        """Send a comment whenever nothing went out for ``interval`` seconds; runs until
        cancelled."""
        while True:
            await trio.sleep_until(self._last_write + interval)
            async with self._lock:
                # An event may have gone out while this task slept or waited for the lock.
                if trio.current_time() >= self._last_write + interval:
                    await self._response.write(_PING)
                    self._last_write = trio.current_time()

    async def _stop(self, scope: trio.CancelScope) -> None:
        """Cancel the keep-alive task once it is not writing (a cut write would break the
        response's framing)."""
        async with self._lock:
            scope.cancel()


#: What `event_stream` takes: ``async def fn(send)``.
EventFunction = Callable[[EventSender], Awaitable[None]]


class EventStreamResponse(StreamingHTTPResponse):
    """The response `event_stream` returns: a `StreamingHTTPResponse` of events.

    Like every streaming response, it answers ``HEAD`` with the head alone, and the event
    function never runs: a stream with no end would otherwise hold the connection for ever.
    """

    __slots__ = ()


def _sole_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        if len(exc.exceptions) != 1:
            return None
        exc = exc.exceptions[0]
    return exc


def event_stream(
    fn: EventFunction,
    *,
    ping: float | None = DEFAULT_PING,
    headers: Mapping[str, str] | None = None,
    retry: int | None = None,
) -> EventStreamResponse:
    """A ``text/event-stream`` response whose events ``await fn(send)`` sends.

    ``fn`` runs after the head has gone out; the response ends when it returns. A client
    that leaves cancels it (its ``finally`` blocks run), or makes its next ``send`` raise
    `trioweb.exceptions.ClientDisconnected`: let either propagate. ``fn`` and the
    keep-alive task run in a nursery this response owns; both have stopped when the
    response ends. To resume after a reconnection, read the id of the last event the client
    saw from ``request.headers.get("last-event-id")`` in the handler.

    The head has ``Content-Type: text/event-stream; charset=utf-8``, ``Cache-Control:
    no-cache`` and ``X-Accel-Buffering: no`` (nginx then does not buffer it); the
    body is chunked.

    Args:
        fn: ``async def fn(send)``; each ``await send(data, event=, id=, retry=,
            comment=)`` sends one event (see `EventSender`).
        ping: Send a ``: ping`` comment after this many seconds without a write; ``None``
            sends none.
        headers: More headers; they replace the ``Cache-Control`` and
            ``X-Accel-Buffering`` defaults of the same name.
        retry: Send this reconnection delay (milliseconds) first, before ``fn`` runs.

    Returns:
        The response, to return from the handler (an `EventStreamResponse`: a ``HEAD``
        request gets its head alone, without running ``fn``).

    Raises:
        TypeError: ``fn`` is not callable, ``ping`` not a number, ``retry`` not an int.
        ValueError: ``ping`` is not positive, ``retry`` is negative, or ``headers`` sets
            ``Content-Type`` or ``Content-Length`` (an event stream has its own type and
            no length).
    """
    if not callable(fn):
        raise TypeError(f"event_stream() takes an async function, not {type(fn).__name__}")
    if ping is not None:
        if not isinstance(ping, int | float) or isinstance(ping, bool):
            raise TypeError(f"ping must be a number of seconds or None, not {ping!r}")
        if not ping > 0:
            raise ValueError(f"ping must be positive (seconds), got {ping!r}")
    first = None if retry is None else ServerSentEvent(retry=retry).encode()
    merged = MutableHeaders({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    for name, value in (headers or {}).items():
        if name.lower() in ("content-type", "content-length"):
            raise ValueError(f"an event stream sets no {name} header of its own choosing")
        merged[name] = value

    async def write_events(response: StreamingHTTPResponse) -> None:
        send = EventSender(response)
        try:
            async with trio.open_nursery() as nursery:
                if first is not None:
                    await send._write(first)
                if ping is not None:
                    nursery.start_soon(send._keep_alive, ping)
                await fn(send)
                await send._stop(nursery.cancel_scope)
        except BaseExceptionGroup as group:
            # One error (ClientDisconnected above all, which ends a response quietly) is
            # raised as itself, as it would be from a stream() function.
            leaf = _sole_leaf(group)
            if leaf is None:
                raise
            raise leaf from leaf.__cause__

    return EventStreamResponse(
        write_events, 200, merged, content_type="text/event-stream; charset=utf-8"
    )
