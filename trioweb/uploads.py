"""Uploaded files: `File`, held in memory while small and in a temporary file past that.

A file part of a form body is written into a `tempfile.SpooledTemporaryFile` as it arrives:
in memory up to ``config.FORM_SPOOL_SIZE`` bytes, on disk past that. Writes that stay in
memory are made directly (they cannot block); the first write that would pass the threshold,
and every one after it, runs in a worker thread through trio's async file wrapper, so a large
upload never blocks the event loop on the disk. Disk writes are batched to about a MiB, so a
gigabyte costs a thousand thread hops rather than a hundred thousand.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import trio

__all__ = ["File"]

# Bytes handed to the worker thread in one disk write: large enough that the thread hop
# (tens of microseconds) is small beside the write, small enough to be no memory concern.
_WRITE_BATCH = 1024 * 1024

# The chunk size of ``async for chunk in file`` and of `File.save`'s copy.
_CHUNK = 64 * 1024


class File:
    """One uploaded file of a ``multipart/form-data`` body.

    It keeps Sanic's fields, ``name`` (the file name the client sent), ``type`` (the part's
    ``Content-Type``) and ``body`` (the bytes, for a file small enough to stay in memory),
    and reads like an async file: ``await file.read()``, ``await file.save(path)``,
    ``async for chunk in file``. A file larger than ``config.FORM_SPOOL_SIZE`` waits in a
    temporary file, which is removed when the request's exchange ends (or on `aclose`).

    ``name`` is what the client sent: it may hold path separators, ``..`` or be empty (an
    unfilled file input). Never use it as a path unchecked.

    Attributes:
        name: The client's file name.
        type: The part's ``Content-Type`` (``text/plain`` when it had none, per RFC 7578).
        size: The file's length in bytes.
        headers: The part's headers, names lower-case (``content-disposition``, ...).
    """

    __slots__ = ("_file", "_memory", "_position", "headers", "name", "size", "type")

    def __init__(
        self,
        name: str,
        type: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A file held in memory (the form parser builds spooled ones itself).

        Raises:
            TypeError: ``body`` is not ``bytes``.
        """
        if not isinstance(body, bytes):
            raise TypeError(f"File.body must be bytes, not {body.__class__.__name__}")
        self.name = name
        self.type = type
        self.size = len(body)
        self.headers = headers if headers is not None else {}
        self._memory: bytes | None = body
        # trio.wrap_file()'s wrapper of the spool; its class is not public in trio.
        self._file: Any = None
        self._position = 0

    @property
    def body(self) -> bytes:
        """The file's bytes, for a file that stayed in memory.

        Raises:
            RuntimeError: the file is on disk (larger than ``config.FORM_SPOOL_SIZE``):
                read it with ``await file.read()`` or store it with ``await file.save(path)``.
        """
        if self._memory is None:
            raise RuntimeError(
                f"the upload {self.name!r} ({self.size} bytes) is larger than FORM_SPOOL_SIZE "
                "and waits in a temporary file: use 'await file.read()' or "
                "'await file.save(path)' instead of file.body"
            )
        return self._memory

    @property
    def in_memory(self) -> bool:
        """Whether the file's bytes are in memory (``body`` works) rather than on disk."""
        return self._memory is not None

    async def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes from the current position (all that is left if ``-1``).

        Returns ``b""`` at the end. A file on disk is read in a worker thread.

        Raises:
            ValueError: the file was closed.
        """
        memory = self._memory
        if memory is not None:
            await trio.lowlevel.checkpoint()
            start = self._position
            end = len(memory) if size < 0 else min(len(memory), start + size)
            self._position = max(start, end)
            return memory[start:end]
        data: bytes = await self._disk().read(size)
        return data

    async def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the read position, as `io.IOBase.seek`; returns the new position."""
        memory = self._memory
        if memory is not None:
            await trio.lowlevel.checkpoint()
            base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: len(memory)}
            if whence not in base:
                raise ValueError(f"invalid whence {whence!r}")
            position = base[whence] + offset
            if position < 0:
                raise ValueError(f"negative seek position {position}")
            self._position = position
            return position
        moved: int = await self._disk().seek(offset, whence)
        return moved

    async def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole file (from its start, whatever was read) to ``path``.

        The copy runs in a worker thread; an existing file at ``path`` is replaced. The
        read position is left at the end.

        Raises:
            OSError: ``path`` cannot be written.
        """
        memory = self._memory
        if memory is not None:
            await trio.Path(path).write_bytes(memory)
            self._position = len(memory)
            return
        spool = self._disk().wrapped

        def copy() -> None:
            spool.seek(0)
            with open(path, "wb") as target:
                shutil.copyfileobj(spool, target, _CHUNK * 16)

        await trio.to_thread.run_sync(copy)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The file's bytes from the current position, in chunks of up to 64 KiB."""
        while chunk := await self.read(_CHUNK):
            yield chunk

    async def aclose(self) -> None:
        """Remove the temporary file now (it is removed when the exchange ends anyway)."""
        if self._file is not None:
            file, self._file = self._file, None
            await file.aclose()

    def close(self) -> None:
        """Remove the temporary file without waiting (the exchange does this at its end)."""
        if self._file is not None:
            file, self._file = self._file, None
            file.wrapped.close()

    def _disk(self) -> Any:
        if self._file is None:
            raise ValueError(f"the upload {self.name!r} was closed")
        return self._file

    def __eq__(self, other: object) -> bool:
        # Files in memory compare by value, as Sanic's (a named tuple) do; spooled ones by
        # identity, since comparing them would read the disk.
        if not isinstance(other, File):
            return NotImplemented
        if self._memory is None or other._memory is None:
            return self is other
        return (self.name, self.type, self._memory) == (other.name, other.type, other._memory)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = "in memory" if self._memory is not None else "on disk"
        return f"File(name={self.name!r}, type={self.type!r}, size={self.size}, {where})"


class FileWriter:
    """Builds one `File` as its bytes arrive: in memory up to ``spool_size``, then on disk.

    Used by the form parser; `finish` returns the `File`, `discard` drops what was written.
    """

    __slots__ = (
        "_batch",
        "_batched",
        "_file",
        "_headers",
        "_name",
        "_spool",
        "_spool_size",
        "_type",
        "size",
    )

    def __init__(self, name: str, type: str, headers: dict[str, str], spool_size: int) -> None:
        self._name = name
        self._type = type
        self._headers = headers
        # Closed by finish() (memory) or by the File it becomes, or by discard().
        self._spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=spool_size
        )
        self._spool_size = spool_size
        self._file: Any = None  # trio.wrap_file(self._spool) once on disk
        self._batch: list[bytes] = []
        self._batched = 0
        self.size = 0

    async def write(self, data: bytes) -> None:
        """Add ``data``: kept in memory while the file is small, else batched to disk."""
        self.size += len(data)
        if self._file is None:
            if self.size <= self._spool_size:
                self._spool.write(data)  # memory only: cannot block
                return
            # This write rolls the spool over to disk (in the worker thread, below).
            self._file = trio.wrap_file(self._spool)
        self._batch.append(data)
        self._batched += len(data)
        if self._batched >= _WRITE_BATCH:
            await self._flush()

    async def _flush(self) -> None:
        if self._batch and self._file is not None:
            data = b"".join(self._batch)
            self._batch.clear()
            self._batched = 0
            await self._file.write(data)

    async def finish(self) -> File:
        """The finished `File`, its read position at the start."""
        upload = File(self._name, self._type, headers=self._headers)
        upload.size = self.size
        if self._file is None:
            self._spool.seek(0)  # (in memory: no blocking)
            upload._memory = self._spool.read()
            self._spool.close()
            return upload
        await self._flush()
        await self._file.seek(0)
        upload._memory = None
        upload._file = self._file
        return upload

    def discard(self) -> None:
        """Drop the bytes written so far (the temporary file, if any, is removed)."""
        self._batch.clear()
        self._spool.close()
