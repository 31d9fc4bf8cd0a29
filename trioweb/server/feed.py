"""A streaming request body on its way from the connection's reader task to the handler.

The reader puts each piece of the body into a trio memory channel whose receive end the
handler holds (``request.stream``). The channel holds one piece, and a second waits in the
reader's hands until there is room, each at most half of ``REQUEST_STREAM_BUFFER``: at most
that many bytes sit between socket and handler. A handler that does not read stops the
reader, the kernel's buffer fills, and TCP stops the client: backpressure, with flat memory.

Full duplex with any client. Many clients (httpx, requests, urllib3) send the whole body
before they read a byte of the response. A handler that answers while it reads (an echo
route) then blocks in its first write the client does not take, stops reading, the reader
stops, the client's sends block, and both sides wait forever. So while a response write is
blocked *and* the channel is full, the reader goes on reading and spills what the handler has
not taken to a temporary file (trio's async file wrapper); a feeder task hands the spilled
pieces to the channel, in order, as the handler takes them. Nothing spills while no write is
blocked: a slow handler still slows the client. A spill is bounded per request
(``REQUEST_STREAM_SPOOL``) and per server (``REQUEST_STREAM_SPOOL_TOTAL``); past either,
`SpoolLimit` ends the connection.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import trio

if TYPE_CHECKING:
    from trio._file_io import AsyncIOWrapper

__all__ = ["BodyFeed", "SpoolBudget", "SpoolLimit", "WriteWatch"]


class SpoolLimit(Exception):
    """A spilled body would pass a limit; ``setting`` names the config setting."""

    def __init__(self, setting: str, limit: int) -> None:
        super().__init__(f"the request body spill would pass {setting} ({limit} bytes)")
        self.setting = setting
        self.limit = limit


class SpoolBudget:
    """The server-wide allowance of spilled body bytes (``REQUEST_STREAM_SPOOL_TOTAL``).

    Args:
        limit: The most bytes all spools of one server may hold (``None``: no limit).
    """

    __slots__ = ("limit", "used")

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; ``False`` (nothing reserved) if that would pass the limit."""
        if self.limit is not None and self.used + size > self.limit:
            return False
        self.used += size
        return True

    def release(self, size: int) -> None:
        """Give back ``size`` reserved bytes."""
        self.used -= size


class WriteWatch(Protocol):
    """How a feed learns that response writes are blocked (`Transport` implements it)."""

    on_blocked: Callable[[], None] | None

    def blocked(self) -> bool:
        """Whether a write is waiting for a client that is not reading."""
        ...


class _Spool:
    """A temporary file the reader appends to and the feeder reads from the front of.

    Every byte appended is reserved in the server's budget until the spool starts over
    (`reset`) or is discarded; the file closes once no transfer is using it.
    """

    __slots__ = (
        "_budget",
        "_discarded",
        "_held",
        "_transfers",
        "appending",
        "file",
        "lock",
        "read_at",
        "write_at",
    )

    def __init__(self, file: AsyncIOWrapper[Any], budget: SpoolBudget) -> None:
        self.file = file
        # One file position, two tasks: each seek-and-transfer happens under the lock.
        self.lock = trio.Lock()
        self.read_at = 0
        self.write_at = 0
        #: Whether the reader is appending (bytes not readable yet, but coming).
        self.appending = False
        self._budget = budget
        self._held = 0  # bytes reserved in the budget
        self._transfers = 0  # in progress: a worker thread may be using the file
        self._discarded = False

    @property
    def unread(self) -> int:
        """Bytes appended and not yet taken."""
        return self.write_at - self.read_at

    async def append(self, data: bytes) -> None:
        if not self._budget.take(len(data)):
            raise SpoolLimit("REQUEST_STREAM_SPOOL_TOTAL", self._budget.limit or 0)
        self._held += len(data)
        self.appending = True
        self._transfers += 1
        try:
            async with self.lock:
                self.file.wrapped.seek(self.write_at)
                await self.file.write(data)
            self.write_at += len(data)
        finally:
            self.appending = False
            self._transfers -= 1
            self._close_if_unused()

    async def take(self, max_bytes: int) -> bytes:
        size = min(self.unread, max_bytes)
        self._transfers += 1
        try:
            async with self.lock:
                self.file.wrapped.seek(self.read_at)
                data: bytes = await self.file.read(size)
        finally:
            self._transfers -= 1
            self._close_if_unused()
        self.read_at += len(data)
        return data

    def reset(self) -> None:
        """Everything written was taken: start the file over and give the bytes back."""
        self.read_at = self.write_at = 0
        self._budget.release(self._held)
        self._held = 0

    def discard(self) -> None:
        """Close the file (once no transfer uses it) and give its bytes back."""
        self._discarded = True
        self._close_if_unused()

    def _close_if_unused(self) -> None:
        if self._discarded and not self._transfers and not self.file.wrapped.closed:
            self._budget.release(self._held)
            self._held = 0
            self.file.wrapped.close()


class BodyFeed:
    """The reader's end of a streaming body; `receive` is the handler's.

    Args:
        watch: Tells whether response writes are blocked (the connection's transport).
        nursery: Where the feeder task runs while a spill is handed over.
        max_chunk: The largest piece handed over from a spill.
        spool_limit: ``REQUEST_STREAM_SPOOL``: the most bytes this body may have spilled
            and not yet taken (``None``: no limit).
        budget: ``REQUEST_STREAM_SPOOL_TOTAL``, shared by the server's connections.
    """

    __slots__ = (
        "_budget",
        "_closed",
        "_ended",
        "_max_chunk",
        "_moved",
        "_nursery",
        "_send",
        "_spilling",
        "_spool",
        "_spool_limit",
        "_watch",
        "receive",
    )

    def __init__(
        self,
        watch: WriteWatch,
        nursery: trio.Nursery,
        *,
        max_chunk: int,
        spool_limit: int | None,
        budget: SpoolBudget,
    ) -> None:
        self._send, self.receive = trio.open_memory_channel[bytes](1)
        self._watch = watch
        self._nursery = nursery
        self._max_chunk = max_chunk
        self._spool_limit = spool_limit
        self._budget = budget
        self._spool: _Spool | None = None
        self._spilling = False  # pieces go to the spool until the feeder has handed it all
        self._moved = trio.Event()  # set (and replaced) whenever the spill moved on
        self._ended = False
        self._closed = False

    @property
    def spilling(self) -> bool:
        """Whether pieces are going to the spool file (a write is blocked, the handler busy)."""
        return self._spilling

    def offer(self, chunk: bytes) -> bool:
        """Hand ``chunk`` over if that needs no wait (the usual case); ``False`` if not done.

        A synchronous fast path for `put`: no coroutine when a receiver waits or the
        channel has room, and nothing is spilling.
        """
        if self._spilling or self._closed:
            return False
        try:
            self._send.send_nowait(chunk)
        except (trio.WouldBlock, trio.BrokenResourceError):
            return False
        return True

    async def put(self, chunk: bytes) -> bool:
        """Hand ``chunk`` to the handler, waiting while it is busy and no write is blocked.

        Returns ``False`` when every receiver has closed: the rest of the body is unwanted.

        Raises:
            SpoolLimit: the chunk had to spill, and the spill would pass a limit.
        """
        while not self._closed:
            if self._spilling:
                if self._watch.blocked():
                    await self._spill(chunk)
                    return True
                # The client reads again: let the handler catch up before reading on.
                await self._wait(self._moved)
                continue
            try:
                self._send.send_nowait(chunk)
                return True
            except trio.WouldBlock:
                pass
            except trio.BrokenResourceError:
                break
            if not await self._wait(None, chunk):
                return not self._closed
            await self._spill(chunk)
            return True
        self.close()
        return False

    async def _wait(self, event: trio.Event | None, chunk: bytes = b"") -> bool:
        """Wait for ``event`` (or, without one, to send ``chunk``) unless a write blocks.

        Returns ``True`` when a blocked write cut the wait short (``chunk`` was not sent).
        """
        watch = self._watch
        with trio.CancelScope() as wake:
            watch.on_blocked = wake.cancel
            try:
                if watch.blocked():
                    wake.cancel()
                if event is not None:
                    await event.wait()
                else:
                    await self._send.send(chunk)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.close()  # no receivers left, or the exchange is over
            finally:
                watch.on_blocked = None
        return wake.cancelled_caught

    async def _spill(self, chunk: bytes) -> None:
        spool = self._spool
        held = 0 if spool is None else spool.unread
        if self._spool_limit is not None and held + len(chunk) > self._spool_limit:
            raise SpoolLimit("REQUEST_STREAM_SPOOL", self._spool_limit)
        if spool is None:
            raw = await trio.to_thread.run_sync(tempfile.TemporaryFile)
            spool = self._spool = _Spool(trio.wrap_file(raw), self._budget)
        await spool.append(chunk)
        if self._closed:
            spool.discard()
            return
        if not self._spilling:
            self._spilling = True
            self._nursery.start_soon(self._hand_over, spool)
        self._wake()

    def _wake(self) -> None:
        moved, self._moved = self._moved, trio.Event()
        moved.set()

    async def _hand_over(self, spool: _Spool) -> None:
        """The feeder: move spilled pieces into the channel, in order, until none are left."""
        try:
            while not self._closed:
                if spool.unread:
                    data = await spool.take(self._max_chunk)
                    if self._closed:
                        return
                    try:
                        await self._send.send(data)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        return
                    self._wake()
                elif spool.appending:
                    await self._moved.wait()  # the append wakes us
                else:
                    # Everything spilled is in a receiver's hands: start the file over.
                    spool.reset()
                    self._spilling = False
                    self._wake()
                    if self._ended:
                        self._send.close()
                    return
        finally:
            if self._closed:
                spool.discard()  # (close() did; a no-op unless it raced a transfer)

    def end(self) -> None:
        """The whole body was put: receivers see its end once they have taken every piece."""
        self._ended = True
        if self._spilling:
            self._wake()  # the feeder closes the channel once the spill is handed over
        else:
            self._send.close()

    def fail(self) -> None:
        """The body failed: its receivers see the end now (and the failure, from the status).

        Nothing more is put or handed over; any spill is dropped.
        """
        if self._closed:
            return
        self._closed = True
        self._send.close()
        if self._spool is not None:
            self._spool.discard()  # closed once a transfer in a worker thread is done
        self._wake()  # a feeder waiting for the reader sees the feed closed

    def close(self) -> None:
        """The exchange is over: close both ends of the channel and drop any spill."""
        self.receive.close()
        self.fail()
