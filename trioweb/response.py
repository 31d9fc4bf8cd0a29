"""Responses and the helpers that build them.

A response holds no socket. The connection hands it a `ResponseWriter` and the response
decides what to write: `HTTPResponse` writes its whole body at once, `StreamingHTTPResponse`
lets a callback (or the handler, through ``request.respond()``) write pieces, each write
waiting while the client is not reading.
"""

from __future__ import annotations

import json as jsonlib
import mimetypes
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import trio

if TYPE_CHECKING:
    from .request import Request

__all__ = [
    "BaseHTTPResponse",
    "HTTPResponse",
    "ResponseWriter",
    "StreamingFunction",
    "StreamingHTTPResponse",
    "empty",
    "file",
    "file_stream",
    "html",
    "json",
    "raw",
    "redirect",
    "stream",
    "text",
]

HeaderList = list[tuple[bytes, bytes]]


class ResponseWriter(Protocol):
    """What the server gives a response to write itself with. Only the server implements it.

    Every method waits while the client is not reading. A client that went away raises
    `trioweb.exceptions.ClientDisconnected`.
    """

    @property
    def started(self) -> bool:
        """Whether the status line and headers went out."""
        ...

    async def send_head(self, status: int, headers: HeaderList) -> None:
        """Send the status line and headers; the body follows with `send_data`."""
        ...

    async def send_data(self, data: bytes) -> None:
        """Send one piece of the body (dropped for HEAD, 204 and 304 responses)."""
        ...

    async def send_end(self) -> None:
        """Finish the body. Writing anything afterwards is an error."""
        ...

    async def send_complete(self, status: int, headers: HeaderList, body: bytes) -> None:
        """Send head, body and end in a single write."""
        ...


def _encode_headers(headers: Mapping[str, str], content_type: str | None) -> HeaderList:
    encoded: HeaderList = []
    has_type = False
    for name, value in headers.items():
        lname = name.lower()
        if lname == "content-type":
            has_type = True
        encoded.append((lname.encode("latin-1"), str(value).encode("latin-1")))
    if content_type is not None and not has_type:
        encoded.append((b"content-type", content_type.encode("latin-1")))
    return encoded


class BaseHTTPResponse:
    """What every response shares: a status, headers and a content type.

    Args:
        status: The HTTP status code.
        headers: Response headers; names are case-insensitive on the wire.
        content_type: Sent as ``Content-Type`` unless ``headers`` already has one.

    Raises:
        ValueError: ``status`` is not a final status (1xx are interim, sent by the server).
    """

    __slots__ = ("content_type", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        # 1xx are interim responses only the server sends; h11 cannot send one as the answer.
        if not 200 <= status <= 999:
            raise ValueError(f"status must be a final HTTP status (200-999), got {status!r}")
        self.status = status
        self.headers: dict[str, str] = dict(headers) if headers else {}
        self.content_type = content_type

    def for_request(self, request: Request) -> BaseHTTPResponse:
        """The response to actually send for ``request``; by default this one.

        The app calls it once, after the handler and before response middleware. A file
        response overrides it to answer conditional (304) and range (206/416) requests.
        """
        return self

    def encoded_headers(self) -> HeaderList:
        """The headers as the byte pairs the writer sends, ``Content-Type`` included."""
        return _encode_headers(self.headers, self.content_type)

    async def write_to(self, writer: ResponseWriter) -> None:
        """Send this response through ``writer``; the server calls it once."""
        raise NotImplementedError


class HTTPResponse(BaseHTTPResponse):
    """A response whose whole body is known up front; sent with ``Content-Length``.

    Args:
        body: ``str`` is encoded as UTF-8; ``None`` means an empty body.
        status: The HTTP status code.
        headers: Response headers.
        content_type: The ``Content-Type`` header.
    """

    __slots__ = ("body",)

    def __init__(
        self,
        body: str | bytes | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(status, headers, content_type)
        if body is None:
            self.body = b""
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
        elif isinstance(body, bytes | bytearray | memoryview):
            self.body = bytes(body)
        else:
            raise TypeError(f"response body must be str or bytes, not {type(body).__name__}")

    async def write_to(self, writer: ResponseWriter) -> None:
        headers = self.encoded_headers()
        if (
            not any(name == b"content-length" for name, _ in headers)
            and self.status
            not in (
                204,
                304,
            )
            and self.status >= 200
        ):
            headers.append((b"content-length", str(len(self.body)).encode("ascii")))
        await writer.send_complete(self.status, headers, self.body)

    def __repr__(self) -> str:
        return f"<HTTPResponse {self.status} {len(self.body)} bytes>"


StreamingFunction = Callable[["StreamingHTTPResponse"], Awaitable[None]]


class StreamingHTTPResponse(BaseHTTPResponse):
    """A response written in pieces; chunked unless a ``Content-Length`` header is set.

    Returned by `stream` (a callback writes the body) and by ``await request.respond()`` (the
    handler writes it). Each `write`/`send` waits while the client is not reading, so a
    producer never runs ahead of a slow client.
    """

    __slots__ = ("_writer", "streaming_fn")

    def __init__(
        self,
        streaming_fn: StreamingFunction | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "text/plain; charset=utf-8",
    ) -> None:
        super().__init__(status, headers, content_type)
        self.streaming_fn = streaming_fn
        self._writer: ResponseWriter | None = None

    async def write_to(self, writer: ResponseWriter) -> None:
        await self._start(writer)
        if self.streaming_fn is not None:
            await self.streaming_fn(self)
        await self.eof()

    async def _start(self, writer: ResponseWriter) -> None:
        self._writer = writer
        await writer.send_head(self.status, self.encoded_headers())

    async def write(self, data: str | bytes) -> None:
        """Send one piece of the body (``str`` as UTF-8); waits while the client is slow.

        Raises:
            RuntimeError: the response has not started or has already ended.
            trioweb.exceptions.ClientDisconnected: the client went away.
        """
        if self._writer is None:
            raise RuntimeError("this response has not been started, or it has ended")
        if isinstance(data, str):
            data = data.encode("utf-8")
        if data:
            await self._writer.send_data(data)

    send = write

    async def eof(self) -> None:
        """End the body. Called for you when the streaming function or handler returns."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await writer.send_end()

    @property
    def ended(self) -> bool:
        """Whether `eof` has been called (or the response never started)."""
        return self._writer is None


def text(
    body: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> HTTPResponse:
    """A plain-text response. ``body`` must be a ``str``.

    Raises:
        TypeError: ``body`` is not a ``str`` (use `raw` for bytes).
    """
    if not isinstance(body, str):
        raise TypeError(f"text() takes a str body, not {type(body).__name__}; use raw() for bytes")
    return HTTPResponse(body, status, headers, content_type)


def html(
    body: str | bytes,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTTPResponse:
    """An HTML response (``text/html; charset=utf-8``)."""
    return HTTPResponse(body, status, headers, "text/html; charset=utf-8")


def json(
    body: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
    dumps: Callable[..., str] | None = None,
    **kwargs: Any,
) -> HTTPResponse:
    """A JSON response, compact (no spaces) and UTF-8 (non-ASCII is not escaped).

    Args:
        body: Anything ``dumps`` can serialise.
        dumps: Replaces ``json.dumps``; ``kwargs`` are passed to it.
    """
    if dumps is None:
        kwargs.setdefault("separators", (",", ":"))
        kwargs.setdefault("ensure_ascii", False)
        dumps = jsonlib.dumps
    return HTTPResponse(dumps(body, **kwargs), status, headers, content_type)


def raw(
    body: bytes | str | None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/octet-stream",
) -> HTTPResponse:
    """A response with a byte body sent as it is."""
    return HTTPResponse(body, status, headers, content_type)


def empty(status: int = 204, headers: Mapping[str, str] | None = None) -> HTTPResponse:
    """A response with no body (204 No Content by default)."""
    return HTTPResponse(None, status, headers)


def redirect(
    to: str,
    status: int = 302,
    headers: Mapping[str, str] | None = None,
    content_type: str = "text/html; charset=utf-8",
) -> HTTPResponse:
    """A redirect to ``to``; characters not allowed in a URL are percent-encoded."""
    location = quote(to, safe=":/%#?&=@[]!$&'()*+,;")
    return HTTPResponse(None, status, {**(headers or {}), "Location": location}, content_type)


def stream(
    streaming_fn: StreamingFunction,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> StreamingHTTPResponse:
    """A response whose body ``streaming_fn(response)`` writes with ``await response.write()``.

    The body is chunked unless ``headers`` sets ``Content-Length``. The response ends when
    ``streaming_fn`` returns.
    """
    return StreamingHTTPResponse(streaming_fn, status, headers, content_type)


def _file_headers(
    location: str | os.PathLike[str], filename: str | None, headers: Mapping[str, str] | None
) -> dict[str, str]:
    result = dict(headers or {})
    if filename is not None:
        result["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return result


def _guess_type(location: str | os.PathLike[str], mime_type: str | None) -> str:
    if mime_type is not None:
        return mime_type
    guessed = mimetypes.guess_type(os.fspath(location))[0] or "application/octet-stream"
    return guessed + "; charset=utf-8" if guessed.startswith("text/") else guessed


async def file(
    location: str | os.PathLike[str],
    status: int = 200,
    mime_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
) -> HTTPResponse:
    """A response with the whole file at ``location`` read into memory (trio's async file API).

    The content type is guessed from the name unless ``mime_type`` is given; ``filename``
    makes the client save it (``Content-Disposition: attachment``). For large files use
    `file_stream`.

    Raises:
        FileNotFoundError: nothing is at ``location``.
    """
    body = await trio.Path(location).read_bytes()
    return HTTPResponse(
        body, status, _file_headers(location, filename, headers), _guess_type(location, mime_type)
    )


async def file_stream(
    location: str | os.PathLike[str],
    status: int = 200,
    chunk_size: int = 64 * 1024,
    mime_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
) -> StreamingHTTPResponse:
    """A response that sends the file at ``location`` in ``chunk_size`` pieces.

    Memory use stays at one chunk however large the file; each piece waits for the client.
    ``Content-Length`` is the file's size when the response is built.

    Raises:
        FileNotFoundError: nothing is at ``location``.
        ValueError: ``chunk_size`` is not positive.
    """
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    size = (await trio.Path(location).stat()).st_size
    all_headers = {"Content-Length": str(size), **_file_headers(location, filename, headers)}

    async def send_file(response: StreamingHTTPResponse) -> None:
        async with await trio.open_file(location, "rb") as handle:
            remaining = size
            while remaining > 0:
                chunk = await handle.read(min(chunk_size, remaining))
                if not chunk:
                    break  # the file shrank; the connection will close on the short body
                remaining -= len(chunk)
                await response.write(chunk)

    return StreamingHTTPResponse(send_file, status, all_headers, _guess_type(location, mime_type))
