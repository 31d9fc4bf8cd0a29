"""A connection's bytes in and out: straight through its trio socket when it has one.

`trio.SocketStream` wraps every call in a conflict detector and a context manager that
translates socket errors, about 4 microseconds a request and response, which is several
percent of a small request. A connection is read by one task at a time and written by one
task at a time anyway, and it treats every `OSError` as the client being gone, so for a plain
TCP or Unix stream `Transport` calls the socket (`trio.SocketStream.socket`) directly. TLS and
in-memory streams go through the stream as usual.
"""

from __future__ import annotations

import trio

__all__ = ["Transport"]


class Transport:
    """Sends and receives a connection's bytes.

    Errors are those of the stream or of its socket: `trio.BrokenResourceError`,
    `trio.ClosedResourceError` or `OSError` all mean the peer is gone.
    """

    __slots__ = ("_socket", "stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        # Exactly a SocketStream: a subclass may have reasons of its own to be called.
        self._socket = stream.socket if type(stream) is trio.SocketStream else None

    async def receive_some(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes``, waiting for at least one; ``b""`` at end of file."""
        if self._socket is not None:
            return await self._socket.recv(max_bytes)
        return bytes(await self.stream.receive_some(max_bytes))

    async def send_all(self, data: bytes) -> None:
        """Send all of ``data``, waiting while the peer is not reading."""
        sock = self._socket
        if sock is None:
            await self.stream.send_all(data)
            return
        sent = await sock.send(data)
        if sent < len(data):
            with memoryview(data) as view:
                while sent < len(data):
                    sent += await sock.send(view[sent:])
