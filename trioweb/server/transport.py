"""A connection's bytes in and out, and whether its writes are waiting for the client.

`trio.SocketStream` wraps every call in a conflict detector and a context manager that
translates socket errors, about 4 microseconds a request and response, which is several
percent of a small request, and the stream and its detectors take memory on every open
connection. A connection is read by one task at a time and written by one task at a time
anyway, and it treats every `OSError` as the client being gone, so for a plain TCP or Unix
connection `Transport` keeps only the trio socket (`trio.SocketStream.socket`) and calls it
directly. TLS and in-memory streams go through the stream as usual.

A streaming request body spills to disk only while a response write is blocked on a client
that is not reading (see `trioweb.server.feed`). trio's ``send`` gives no sign of blocking,
so `Transport` tells by itself: a partial send means the kernel's buffer is full, and
`Transport.blocked` asks the kernel (``poll``) whether the socket under the stream, TLS
included, could take more right now.
"""

from __future__ import annotations

import os
import select
import socket
import sys
from collections.abc import Awaitable, Callable

import trio

__all__ = ["STREAM_ERRORS", "Transport"]

#: Broken sockets look different on every platform and stream type; all mean "peer is gone".
STREAM_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)

# A connected socket's descriptor can be read with os.read and written with os.write on POSIX
# (not on Windows).
_READ_FD = _WRITE_FD = sys.platform != "win32"
# Bytes written without waiting before a send lets other tasks run: 1 MiB is ~16 writes of
# 64 KiB, well under a millisecond on loopback. Each write also counts as _WRITE_WEIGHT
# bytes, so a loop of tiny writes yields every 64 of them.
_YIELD_EVERY = 1024 * 1024
_WRITE_WEIGHT = _YIELD_EVERY // 64
_POLLIN = getattr(select, "POLLIN", 1)
_POLLOUT = getattr(select, "POLLOUT", 4)


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
        [fd] if events & _POLLIN else [], [fd] if events & _POLLOUT else [], [], 0
    )
    return bool(readers or writers)  # pragma: no cover


async def _done() -> None:
    """Nothing to wait for."""


class Transport:
    """Sends and receives a connection's bytes, and closes it.

    Errors are those of the stream or of its socket: `trio.BrokenResourceError`,
    `trio.ClosedResourceError` or `OSError` all mean the peer is gone.

    Args:
        stream: The accepted stream. A plain `trio.SocketStream` is not kept: only its
            socket is (`stream` makes a new one when one is needed).

    Attributes:
        sending: Whether a `send_all` is in progress.
        on_blocked: Called when a send finds the client's buffers full (set by whoever wants
            to know; the body feed does while the handler's channel is full).
    """

    __slots__ = ("_fd", "_socket", "_stream", "_unyielded", "on_blocked", "sending")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._fd = _socket_fd(stream)
        # Exactly a SocketStream: a subclass may have reasons of its own to be called.
        self._socket: trio.socket.SocketType | None = None
        self._stream: trio.abc.Stream | None = stream
        if type(stream) is trio.SocketStream:
            self._socket, self._stream = stream.socket, None
        self.sending = False
        self.on_blocked: Callable[[], None] | None = None
        self._unyielded = 0  # bytes written since a send last let other tasks run

    @property
    def stream(self) -> trio.abc.Stream:
        """The connection as a trio stream (to hand it to trio-websocket, say)."""
        if self._stream is None:
            if self._socket is None:  # pragma: no cover - one of the two is always set
                raise RuntimeError("the transport has no stream")
            self._stream = trio.SocketStream(self._socket)
        return self._stream

    async def receive_some(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes``, waiting for at least one; ``b""`` at end of file."""
        sock = self._socket
        if sock is not None:
            return await sock.recv(max_bytes)
        stream = self._stream
        if stream is None:  # pragma: no cover - one of the two is always set
            raise RuntimeError("the transport has no stream")
        return bytes(await stream.receive_some(max_bytes))

    def wait_readable(self) -> Awaitable[None]:
        """Wait until the socket has bytes (or an end of file) to read; then `read_now`.

        For a stream with no socket it returns at once (no checkpoint: the read that follows,
        `receive_some`, waits), and `read_now` says ``None``. A plain
        function returning trio's awaitable: while a connection idles here, no frame of
        trioweb's stands between it and trio's wait (memory per idle connection).
        """
        # Returned, not awaited here: the caller awaits it (see above).
        if self._socket is not None and _READ_FD:
            return trio.lowlevel.wait_readable(self._fd)  # noqa: ASYNC105
        return _done()

    @property
    def reads_now(self) -> bool:
        """Whether `read_now` can read this stream (else it always says ``None``)."""
        return self._socket is not None and _READ_FD

    def read_now(self, max_bytes: int) -> bytes | None:
        """Up to ``max_bytes`` that are here already (``b""``: end of file), without waiting.

        ``None`` when nothing is (a false alarm) or the stream cannot be read this way:
        read with `receive_some` then.
        """
        if self._socket is None or not _READ_FD:
            return None
        try:
            return os.read(self._fd, max_bytes)
        except BlockingIOError:
            return None
        except OSError:
            return b""  # reset by the peer, and the like: the client is gone

    async def send_all(self, data: bytes | memoryview, *, more: bool = False) -> None:
        """Send all of ``data``, waiting while the peer is not reading.

        Cancellation is checked before anything is sent, and the task yields to others
        after it, as trio's ``send`` does. With ``more`` (a piece of a longer body, more to
        come), what the kernel takes at once is written without that yield, and the task
        yields only once per `_YIELD_EVERY` bytes so written: a trip through the scheduler
        is a good part of the cost of a 64 KiB write to a fast client.
        """
        self.sending = True
        try:
            sock = self._socket
            if sock is None:
                await self.stream.send_all(data)  # (made once, if ever: see `stream`)
                return
            sent = 0
            if _WRITE_FD:
                await trio.lowlevel.checkpoint_if_cancelled()
                try:
                    sent = os.write(self._fd, data)
                except BlockingIOError:
                    sent = 0  # the kernel's buffer is full
                if sent == len(data):
                    if self._yields_after(sent, more):
                        await trio.lowlevel.cancel_shielded_checkpoint()
                    return
            await self._send_rest(sock, data, sent)
        finally:
            self.sending = False

    async def send_pieces(self, pieces: list[bytes], *, more: bool = False) -> None:
        """Send the pieces one after the other, in one vectored write where the socket
        takes them (no copy to join them); as `send_all` otherwise."""
        sock = self._socket
        if sock is None or not _WRITE_FD:
            await self.send_all(b"".join(pieces), more=more)
            return
        self.sending = True
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            size = sum(map(len, pieces))
            try:
                sent = os.writev(self._fd, pieces)
            except BlockingIOError:
                sent = 0  # the kernel's buffer is full
            if sent == size:
                if self._yields_after(sent, more):
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return
            await self._send_rest(sock, b"".join(pieces), sent)
        finally:
            self.sending = False

    def _yields_after(self, size: int, more: bool) -> bool:
        """Whether a write of ``size`` bytes that the kernel took whole lets others run now.

        A whole answer (or its last piece) yields, as trio's send would: without it, p99
        latency at 64 keep-alive connections was 4x the trio + h11 floor's. The pieces of a
        long body are counted in bytes and in writes: 256 KiB writes yield every 4, 64 KiB
        ones every 16, tiny ones every 64. (A plain function: a coroutine per write costs.)
        """
        self._unyielded += size + _WRITE_WEIGHT
        if not more or self._unyielded >= _YIELD_EVERY:
            self._unyielded = 0
            return True
        return False

    async def _send_rest(
        self, sock: trio.socket.SocketType, data: bytes | memoryview, sent: int
    ) -> None:
        """Send ``data[sent:]``, waiting in trio while the kernel's buffer is full."""
        self._unyielded = 0
        with memoryview(data) as view:
            if not _WRITE_FD:  # pragma: no cover - not on POSIX: nothing was tried yet
                sent = await sock.send(view)
                if sent == len(data):
                    return
            # The kernel took part of it (or none): its buffer is full, the rest will wait.
            if self.on_blocked is not None:
                self.on_blocked()
            while sent < len(data):
                if not _WRITE_FD:  # pragma: no cover - not on POSIX
                    sent += await sock.send(view[sent:])
                    continue
                # Full a moment ago: wait for room before trying again (trio's send would try
                # first, and fail, once per full buffer). A socket closed meanwhile raises
                # from the wait (ClosedResourceError), a reset one from the write (OSError).
                await trio.lowlevel.wait_writable(sock)
                try:
                    sent += os.write(self._fd, view[sent:])
                except BlockingIOError:
                    continue  # woken without room after all: wait again

    @property
    def half_closeable(self) -> bool:
        """Whether `send_eof` can end our side while the client's goes on."""
        return self._socket is not None or isinstance(self._stream, trio.abc.HalfCloseableStream)

    async def send_eof(self) -> None:
        """Tell the client nothing more will be sent (a half close), if the stream can."""
        if self._socket is not None:
            await trio.lowlevel.checkpoint()
            self._socket.shutdown(socket.SHUT_WR)
        elif isinstance(self._stream, trio.abc.HalfCloseableStream):
            await self._stream.send_eof()

    async def aclose(self) -> None:
        """Close the connection at once, whatever state it is in."""
        if self._socket is not None:
            self._socket.close()  # wakes any task waiting on it with ClosedResourceError
            await trio.lowlevel.cancel_shielded_checkpoint()
        else:
            await trio.aclose_forcefully(self.stream)

    def blocked(self) -> bool:
        """Whether a send is in progress and the socket cannot take more bytes right now.

        Always ``False`` for a stream with no socket under it (in-memory streams never block).
        """
        return self.sending and self._fd >= 0 and not _ready(self._fd, _POLLOUT)

    def readable(self) -> bool:
        """Whether the socket has bytes (or an end of file) waiting to be read right now."""
        return _ready(self._fd, _POLLIN)
