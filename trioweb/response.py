"""Responses and the helpers that build them.

A response holds no socket. The connection hands it a `ResponseWriter` and the response
decides what to write: `HTTPResponse` writes its whole body at once, `StreamingHTTPResponse`
lets a callback (or the handler, through ``request.respond()``) write pieces, each write
waiting while the client is not reading.
"""

from __future__ import annotations

import json as jsonlib
import os
import stat
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import trio

from .cookies import Cookie, CookieJar
from .datastructures import MutableHeaders

if TYPE_CHECKING:
    from datetime import datetime

    from .files import FileResponse
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
        """Send head, body and end: in one write, unless the body is large."""
        ...


# Content types seen so far, encoded: an app uses a handful, and this is the hot path.
_ENCODED_TYPES: dict[str, bytes] = {}


def _encode_type(content_type: str) -> bytes:
    encoded = _ENCODED_TYPES.get(content_type)
    if encoded is None:
        encoded = content_type.encode("latin-1")
        if len(_ENCODED_TYPES) < 256:
            _ENCODED_TYPES[content_type] = encoded
    return encoded


def _encode_headers(headers: MutableHeaders, content_type: str | None) -> HeaderList:
    if not headers:
        return [] if content_type is None else [(b"content-type", _encode_type(content_type))]
    encoded: HeaderList = []
    has_type = False
    for name, value in headers.multi_items():
        lname = name.lower()
        if lname == "content-type":
            has_type = True
        encoded.append((lname.encode("latin-1"), str(value).encode("latin-1")))
    if content_type is not None and not has_type:
        encoded.append((b"content-type", _encode_type(content_type)))
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

    __slots__ = ("_cookies", "content_type", "headers", "status")

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
        #: Case-insensitive; assigning replaces, ``headers.add(name, value)`` repeats a name.
        self.headers = MutableHeaders(headers)
        self.content_type = content_type
        # Made on first use: most responses set no cookie, and this is the hot path.
        self._cookies: CookieJar | None = None

    @property
    def cookies(self) -> CookieJar:
        """The cookies this response sets, one ``Set-Cookie`` header each."""
        if self._cookies is None:
            self._cookies = CookieJar()
        return self._cookies

    def add_cookie(
        self,
        key: str,
        value: str,
        *,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = True,
        httponly: bool = False,
        samesite: str | None = "Lax",
        max_age: int | None = None,
        expires: datetime | None = None,
        partitioned: bool = False,
        comment: str | None = None,
    ) -> Cookie:
        """Set a cookie; one of the same key, path and domain set earlier is replaced.

        The arguments are those of `trioweb.cookies.Cookie`. Secure by default: pass
        ``secure=False`` for a site served over plain HTTP (other than ``localhost``).
        Cookies go out with the response head: ``request.respond()`` sends it at once, so
        cookies added to the response it returns are never sent.

        Raises:
            ValueError: ``key`` is not a token; ``samesite`` is not Strict, Lax or None;
                ``samesite="None"`` or ``partitioned`` without ``secure``; ``path``,
                ``domain`` or ``comment`` contains ``;`` or a control character; a
                ``__Secure-``/``__Host-`` name breaks its prefix's rules.
            TypeError: ``expires`` is not a datetime or ``max_age`` not an int.
        """
        cookie = Cookie(
            key,
            value,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
            max_age=max_age,
            expires=expires,
            partitioned=partitioned,
            comment=comment,
        )
        return self.cookies.add(cookie)

    def delete_cookie(
        self, key: str, *, path: str | None = "/", domain: str | None = None
    ) -> Cookie:
        """Tell the client to drop cookie ``key`` (an expired, empty ``Set-Cookie``).

        ``path`` and ``domain`` must match those the cookie was set with. A cookie of the
        same key, path and domain added to this response is replaced.

        Raises:
            ValueError: ``key`` is not a token, or ``path``/``domain`` are invalid.
        """
        return self.cookies.delete(key, path=path, domain=domain)

    def for_request(self, request: Request) -> BaseHTTPResponse:
        """The response to actually send for ``request``; by default this one.

        The app calls it once, after the handler and before response middleware. A file
        response overrides it to answer conditional (304) and range (206/416) requests.
        """
        return self

    def encoded_headers(self) -> HeaderList:
        """The headers as the byte pairs the writer sends: ``Content-Type`` and cookies included."""
        encoded = _encode_headers(self.headers, self.content_type)
        if self._cookies:
            encoded.extend(
                (b"set-cookie", value.encode("latin-1")) for value in self._cookies.header_values()
            )
        return encoded

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
        if self.status not in (204, 304) and (
            not self.headers or "content-length" not in self.headers
        ):
            headers.append((b"content-length", b"%d" % len(self.body)))
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


async def _file_response(
    location: str | os.PathLike[str],
    status: int,
    chunk_size: int | None,
    mime_type: str | None,
    headers: Mapping[str, str] | None,
    filename: str | None,
    max_age: int | None,
    no_store: bool,
) -> FileResponse:
    # Imported here: files.py builds on this module's BaseHTTPResponse.
    from .files import FileResponse

    stat_result = await trio.Path(location).stat()
    if not stat.S_ISREG(stat_result.st_mode):
        raise IsADirectoryError(f"not a regular file: {os.fspath(location)!r}")
    return FileResponse(
        location,
        stat_result,
        status=status,
        headers=headers,
        mime_type=mime_type,
        filename=filename,
        max_age=max_age,
        no_store=no_store,
        chunk_size=chunk_size,
    )


async def file(
    location: str | os.PathLike[str],
    status: int = 200,
    mime_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
    max_age: int | None = None,
    no_store: bool = False,
) -> FileResponse:
    """The file at ``location``, read in one go when it is sent (trio's async file API).

    The response answers conditional requests (304) and single byte ranges (206/416) by
    itself; see `trioweb.files.FileResponse`. Only the selected bytes are read, but they are
    held in memory at once: for large files use `file_stream`.

    Args:
        location: The file's path.
        status: The status when the whole file is sent; with anything but 200 the file is
            always sent whole, without 304/206 handling.
        mime_type: The content type; guessed from the extension when ``None`` (``text/*``
            types get ``; charset=utf-8``).
        headers: Extra headers; they override the computed ones except ``Content-Length``.
        filename: Make the client save the file under this name (``Content-Disposition``).
        max_age: Let caches keep it this many seconds (``Cache-Control: public, max-age=N``).
        no_store: Forbid caching (``Cache-Control: no-store``).

    Raises:
        FileNotFoundError: nothing is at ``location`` (checked now, with ``stat``).
        IsADirectoryError: ``location`` is not a regular file.
        ValueError: ``max_age`` is negative or given together with ``no_store``.
    """
    return await _file_response(
        location, status, None, mime_type, headers, filename, max_age, no_store
    )


async def file_stream(
    location: str | os.PathLike[str],
    status: int = 200,
    chunk_size: int = 64 * 1024,
    mime_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
    max_age: int | None = None,
    no_store: bool = False,
) -> FileResponse:
    """The file at ``location``, sent in ``chunk_size`` pieces with its ``Content-Length``.

    Memory use stays at one chunk however large the file; each piece waits for the client.
    Sizes and validators come from the ``stat`` taken now. Conditional and range requests are
    answered as for `file`, whose arguments these are too.

    Raises:
        FileNotFoundError: nothing is at ``location`` (checked now, with ``stat``).
        IsADirectoryError: ``location`` is not a regular file.
        ValueError: ``chunk_size`` is not positive, or ``max_age`` is invalid as for `file`.
    """
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    return await _file_response(
        location, status, chunk_size, mime_type, headers, filename, max_age, no_store
    )
