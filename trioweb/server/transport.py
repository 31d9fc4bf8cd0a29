"""A connection's bytes in and out, and whether its writes are waiting for the client.

`trio.SocketStream` wraps every call in a conflict detector and a context manager that
translates socket errors, about 4 microseconds a request and response, which is several
percent of a small request. A connection is read by one task at a time and written by one
task at a time anyway, and it treats every `OSError` as the client being gone, so for a plain
TCP or Unix stream `Transport` calls the socket (`trio.SocketStream.socket`) directly. TLS and
in-memory streams go through the stream as usual.

A streaming request body spills to disk only while a response write is blocked on a client
that is not reading (see `trioweb.server.feed`). trio's ``send`` gives no sign of blocking,
so `Transport` tells by itself: a partial send means the kernel's buffer is full, and
`Transport.blocked` asks the kernel (``poll``) whether the socket under the stream, TLS
included, could take more right now.
"""

from __future__ import annotations

import select
from collections.abc import Callable

import trio

__all__ = ["STREAM_ERRORS", "Transport"]


def _socket_fd(stream: trio.abc.Stream) -> int:
    """The descriptor of the socket under ``stream`` (through TLS), or -1 when there is none."""
    while isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    if isinstance(stream, trio.SocketStream):
        return stream.socket.fileno()
    return -1


def _ready(fd: int, events: int) -> bool:
    """Whether ``fd`` is ready for ``events`` (POLLIN or POLLOUT) right now, without waiting."""
    if fd < 0:
        return False
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, events)
        return bool(poller.poll(0))
    # Windows has no poll(); select's FD_SETSIZE limit does not apply to its sockets.
    readers, writers, _ = select.select(  # pragma: no cover - not on POSIX
        [fd] if events & select.POLLIN else [], [fd] if events & select.POLLOUT else [], [], 0
    )
    return bool(readers or writers)  # pragma: no cover


_POLLIN = getattr(select, "POLLIN", 1)
_POLLOUT = getattr(select, "POLLOUT", 4)


class Transport:
    """Sends and receives a connection's bytes.

    Errors are those of the stream or of its socket: `trio.BrokenResourceError`,
    `trio.ClosedResourceError` or `OSError` all mean the peer is gone.

    Attributes:
        sending: Whether a `send_all` is in progress.
        on_blocked: Called when a send finds the client's buffers full (set by whoever wants
            to know; the body feed does while the handler's channel is full).
    """

    __slots__ = ("_fd", "_socket", "on_blocked", "sending", "stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        # Exactly a SocketStream: a subclass may have reasons of its own to be called.
        self._socket = stream.socket if type(stream) is trio.SocketStream else None
        self._fd = _socket_fd(stream)
        self.sending = False
        self.on_blocked: Callable[[], None] | None = None

    async def receive_some(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes``, waiting for at least one; ``b""`` at end of file."""
        if self._socket is not None:
            return await self._socket.recv(max_bytes)
        return bytes(await self.stream.receive_some(max_bytes))

    async def send_all(self, data: bytes) -> None:
        """Send all of ``data``, waiting while the peer is not reading."""
        self.sending = True
        try:
            sock = self._socket
            if sock is None:
                await self.stream.send_all(data)
                return
            sent = await sock.send(data)
            if sent < len(data):
                # The kernel took part of it: its buffer is full, and the rest will wait.
                if self.on_blocked is not None:
                    self.on_blocked()
                with memoryview(data) as view:
                    while sent < len(data):
                        sent += await sock.send(view[sent:])
        finally:
            self.sending = False

    def blocked(self) -> bool:
        """Whether a send is in progress and the socket cannot take more bytes right now.

        Always ``False`` for a stream with no socket under it (in-memory streams never block).
        """
        return self.sending and self._fd >= 0 and not _ready(self._fd, _POLLOUT)

    def readable(self) -> bool:
        """Whether the socket has bytes (or an end of file) waiting to be read right now."""
        return _ready(self._fd, _POLLIN)


#: Broken sockets look different on every platform and stream type; all mean "peer is gone".
STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)
