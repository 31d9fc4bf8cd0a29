"""Responses and the helpers that build them.

A response holds no socket. The connection hands it a `ResponseWriter` and the response
decides what to write: `HTTPResponse` writes its whole body at once, `StreamingHTTPResponse`
lets a callback (or the handler, through ``request.respond()``) write pieces, each write
waiting while the client is not reading.
"""

from __future__ import annotations

import json as jsonlib
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from .cookies import Cookie, CookieJar
from .datastructures import MutableHeaders

if TYPE_CHECKING:
    from datetime import datetime

    from .files import ByteRange, FileResponse
    from .request import Request

__all__ = [
    "BaseHTTPResponse",
    "HTTPResponse",
    "JSONResponse",
    "ResponseWriter",
    "StreamingFunction",
    "StreamingHTTPResponse",
    "empty",
    "file",
    "file_stream",
    "html",
    "json",
    "not_modified_headers",
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


# What describes a body (RFC 9110 8.3-8.6, plus framing, Content-Disposition and how ranges of
# it may be asked for). A 304 has no body, so it drops these and keeps the rest: validators
# (ETag, Last-Modified), caching metadata (Cache-Control, Expires, Vary, Content-Location),
# Date, and headers that describe no representation, like Set-Cookie (RFC 9110 15.4.5).
_REPRESENTATION_HEADERS = frozenset(
    {
        "accept-ranges",
        "content-disposition",
        "content-encoding",
        "content-language",
        "content-length",
        "content-md5",
        "content-range",
        "content-type",
        "trailer",
        "transfer-encoding",
    }
)


def not_modified_headers(headers: Iterable[tuple[str, str]]) -> MutableHeaders:
    """The headers of ``headers`` (name, value pairs) a ``304 Not Modified`` may carry.

    Every header that describes a body (``Content-Type``, ``Content-Length``,
    ``Content-Encoding``, ``Content-Language``, ``Content-Range``, ``Content-Disposition``,
    framing) is dropped; validators, caching headers and the rest are kept (RFC 9110 15.4.5).
    Responses apply it by themselves when their status is 304.
    """
    return MutableHeaders(
        (name, value) for name, value in headers if name.lower() not in _REPRESENTATION_HEADERS
    )


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
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
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
        """The `trioweb.cookies.CookieJar` of cookies this response sets, one ``Set-Cookie`` each.

        Besides ``add_cookie``/``delete_cookie``/``get_cookie``/``has_cookie`` it takes older
        Sanic's dictionary style: ``response.cookies["k"] = "v"``, ``del response.cookies["k"]``.
        """
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
        host_prefix: bool = False,
        secure_prefix: bool = False,
    ) -> Cookie:
        """Set a cookie; one of the same key, path and domain set earlier is replaced.

        The arguments are those of `trioweb.cookies.CookieJar.add_cookie`. Secure by default:
        pass ``secure=False`` for a site served over plain HTTP (other than ``localhost``).
        ``host_prefix=True`` names it ``__Host-<key>``, ``secure_prefix=True``
        ``__Secure-<key>``. Cookies go out with the response head: ``request.respond()``
        sends it at once, so cookies added to the response it returns are never sent.

        Returns:
            The `trioweb.cookies.Cookie`, which may still be changed.

        Raises:
            ValueError: ``key`` is not a token; ``samesite`` is not Strict, Lax or None;
                ``samesite="None"`` or ``partitioned`` without ``secure``; ``path``,
                ``domain`` or ``comment`` contains ``;`` or a control character; a
                ``__Secure-``/``__Host-`` name breaks its prefix's rules; both prefixes.
            TypeError: ``expires`` is not a datetime or ``max_age`` not an int.
        """
        return self.cookies.add_cookie(
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
            host_prefix=host_prefix,
            secure_prefix=secure_prefix,
        )

    def delete_cookie(
        self,
        key: str,
        *,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = True,
        host_prefix: bool = False,
        secure_prefix: bool = False,
    ) -> Cookie:
        """Tell the client to drop cookie ``key`` (an expired, empty ``Set-Cookie``).

        ``path`` and ``domain`` (and the prefix) must match those the cookie was set with.
        See `trioweb.cookies.CookieJar.delete_cookie`.

        Raises:
            ValueError: ``key`` is not a token, ``path``/``domain`` are invalid, or a
                prefix's rules are broken.
        """
        return self.cookies.delete_cookie(
            key,
            path=path,
            domain=domain,
            secure=secure,
            host_prefix=host_prefix,
            secure_prefix=secure_prefix,
        )

    def for_request(self, request: Request) -> BaseHTTPResponse:
        """The response to actually send for ``request``; by default this one.

        The app calls it once, after the handler and before response middleware. A file
        response overrides it to answer conditional (304) and range (206/416) requests.
        """
        return self

    def encoded_headers(self) -> HeaderList:
        """The headers as the byte pairs the writer sends: ``Content-Type`` and cookies included.

        A 204 gets no ``Content-Type`` from `content_type`; a 304 loses every header that
        describes a body (see `not_modified_headers`).
        """
        status = self.status
        if status != 204 and status != 304:  # the hot path: one comparison each, no lookup
            encoded = _encode_headers(self.headers, self.content_type)
        elif status == 204:
            encoded = _encode_headers(self.headers, None)
        else:
            encoded = _encode_headers(not_modified_headers(self.headers.multi_items()), None)
        if self._cookies:
            encoded.extend(
                (b"set-cookie", value.encode("latin-1")) for value in self._cookies.header_values()
            )
        return encoded

    async def write_to(self, writer: ResponseWriter) -> None:
        """Send this response through ``writer``; the server calls it once."""
        raise NotImplementedError


def _body_bytes(body: str | bytes | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    raise TypeError(f"response body must be str or bytes, not {type(body).__name__}")


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
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(status, headers, content_type)
        # The common case first: text() and json() bodies are str (this is the hot path).
        self.body = body.encode("utf-8") if type(body) is str else _body_bytes(body)

    async def write_to(self, writer: ResponseWriter) -> None:
        headers = self.encoded_headers()
        if self.status not in (204, 304) and (
            not self.headers or "content-length" not in self.headers
        ):
            headers.append((b"content-length", b"%d" % len(self.body)))
        await writer.send_complete(self.status, headers, self.body)

    def __repr__(self) -> str:
        return f"<HTTPResponse {self.status} {len(self.body)} bytes>"


class _Unset:
    """The type of `_UNSET`: "no argument given", where ``None`` is a meaningful value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


_UNSET = _Unset()


# json.dumps builds a new JSONEncoder on every call with non-default arguments, which costs
# as much as encoding a small body; the default settings get one encoder, made once.
_encode_compact = jsonlib.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _default_dumps(body: Any, **kwargs: Any) -> str:
    # Compact and UTF-8, unless the caller's kwargs say otherwise.
    if not kwargs:
        return _encode_compact(body)
    kwargs.setdefault("separators", (",", ":"))
    kwargs.setdefault("ensure_ascii", False)
    return jsonlib.dumps(body, **kwargs)


class JSONResponse(HTTPResponse):
    """An `HTTPResponse` that keeps the Python value it serialised, to change it later.

    `json` returns one. ``raw_body`` is the value; `set_body`, `append`, `extend`, `update`
    and `pop` change it and serialise it again, so middleware can amend a JSON answer. Do not
    mutate ``raw_body`` in place: ``body`` would not follow.

    Args:
        body: Anything ``dumps`` can serialise.
        status: The HTTP status code.
        headers: Response headers.
        content_type: The ``Content-Type`` header.
        dumps: Replaces the default (``json.dumps``, compact, non-ASCII kept as UTF-8); it may
            return ``str`` or ``bytes``.
        **kwargs: Passed to ``dumps``.
    """

    __slots__ = ("_dumps", "_dumps_kwargs", "_encoded", "_raw_body")

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "application/json",
        dumps: Callable[..., str | bytes] | None = None,
        **kwargs: Any,
    ) -> None:
        self._dumps: Callable[..., str | bytes] = dumps or _default_dumps
        self._dumps_kwargs = kwargs
        self._raw_body = body
        encoded = (
            _encode_compact(body) if dumps is None and not kwargs else self._dumps(body, **kwargs)
        )
        super().__init__(encoded, status, headers, content_type)
        self._encoded = self.body

    @property
    def raw_body(self) -> Any:
        """The value ``body`` was serialised from; assigning serialises the new value.

        Raises:
            RuntimeError: ``body`` was assigned directly, so it no longer matches.
        """
        self._check_in_sync()
        return self._raw_body

    @raw_body.setter
    def raw_body(self, value: Any) -> None:
        self.set_body(value)

    def set_body(
        self, body: Any, dumps: Callable[..., str | bytes] | None = None, **dumps_kwargs: Any
    ) -> None:
        """Serialise ``body`` as the new body, with ``dumps`` and its kwargs if given.

        Raises:
            TypeError: ``dumps`` returned neither ``str`` nor ``bytes``.
        """
        if dumps is None:
            dumps, dumps_kwargs = self._dumps, self._dumps_kwargs
        self.body = _body_bytes(dumps(body, **dumps_kwargs))
        self._encoded = self.body
        self._raw_body = body

    def append(self, value: Any) -> None:
        """``raw_body.append(value)``, and serialise again.

        Raises:
            TypeError: ``raw_body`` is not a list.
        """
        self._as(list, "append to").append(value)
        self.set_body(self._raw_body)

    def extend(self, values: Iterable[Any]) -> None:
        """``raw_body.extend(values)``, and serialise again.

        Raises:
            TypeError: ``raw_body`` is not a list.
        """
        self._as(list, "extend").extend(values)
        self.set_body(self._raw_body)

    def update(self, *args: Any, **kwargs: Any) -> None:
        """``raw_body.update(...)``, and serialise again.

        Raises:
            TypeError: ``raw_body`` is not a dict.
        """
        self._as(dict, "update").update(*args, **kwargs)
        self.set_body(self._raw_body)

    def pop(self, key: Any = _UNSET, default: Any = _UNSET) -> Any:
        """``raw_body.pop(...)`` (a list's last item by default), and serialise again.

        Raises:
            TypeError: ``raw_body`` is neither a list nor a dict, or ``default`` is given
                for a list, or no ``key`` for a dict.
            IndexError, KeyError: as ``list.pop`` and ``dict.pop``.
        """
        self._check_in_sync()
        raw = self._raw_body
        if isinstance(raw, list):
            if default is not _UNSET:
                raise TypeError("pop() takes no default when the JSON body is a list")
            value = raw.pop(-1 if key is _UNSET else key)
        elif isinstance(raw, dict):
            if key is _UNSET:
                raise TypeError("pop() needs a key when the JSON body is a dict")
            value = raw.pop(key) if default is _UNSET else raw.pop(key, default)
        else:
            raise TypeError(f"cannot pop from a JSON body of type {type(raw).__name__}")
        self.set_body(raw)
        return value

    def _as(self, kind: type[Any], action: str) -> Any:
        self._check_in_sync()
        if not isinstance(self._raw_body, kind):
            raise TypeError(
                f"cannot {action} a JSON body of type {type(self._raw_body).__name__}"
                f" (needs a {kind.__name__})"
            )
        return self._raw_body

    def _check_in_sync(self) -> None:
        if self.body is not self._encoded:
            raise RuntimeError(
                "this JSONResponse's body was assigned directly, so raw_body no longer "
                "matches it; use set_body() instead"
            )


StreamingFunction = Callable[["StreamingHTTPResponse"], Awaitable[None]]


class StreamingHTTPResponse(BaseHTTPResponse):
    """A response written in pieces; chunked unless a ``Content-Length`` header is set.

    Returned by `stream` (a callback writes the body) and by ``await request.respond()`` (the
    handler writes it). Each `write`/`send` waits while the client is not reading, so a
    producer never runs ahead of a slow client.
    """

    __slots__ = ("_ended", "_writer", "streaming_fn")

    def __init__(
        self,
        streaming_fn: StreamingFunction | None = None,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content_type: str | None = "text/plain; charset=utf-8",
    ) -> None:
        super().__init__(status, headers, content_type)
        self.streaming_fn = streaming_fn
        self._writer: ResponseWriter | None = None
        self._ended = False

    def for_request(self, request: Request) -> BaseHTTPResponse:
        """For ``HEAD``, the head alone: the streaming function does not run.

        Its writes would go nowhere, and a stream with no end (events, a feed) would hold
        the connection for ever.
        """
        if request.method == "HEAD":
            self.streaming_fn = None
        return self

    async def write_to(self, writer: ResponseWriter) -> None:
        await self._start(writer)
        if self.streaming_fn is not None:
            await self.streaming_fn(self)
        await self.eof()

    async def _start(self, writer: ResponseWriter) -> None:
        self._writer = writer
        await writer.send_head(self.status, self.encoded_headers())

    def _closed_error(self) -> RuntimeError:
        if self._ended:
            return RuntimeError(
                "this response has ended (eof() or send(end_stream=True) was called); "
                "nothing more can be sent"
            )
        return RuntimeError(
            "this response has not started: return it from the handler, or write through "
            "the response `await request.respond()` returns"
        )

    async def write(self, data: str | bytes) -> None:
        """Send one piece of the body (``str`` as UTF-8); waits while the client is slow.

        Raises:
            RuntimeError: the response has not started or has already ended.
            trioweb.exceptions.ClientDisconnected: the client went away.
        """
        if self._writer is None:
            raise self._closed_error()
        if isinstance(data, str):
            data = data.encode("utf-8")
        if data:
            await self._writer.send_data(data)

    async def send(self, data: str | bytes | None = None, end_stream: bool | None = None) -> None:
        """Send ``data``, then end the response if ``end_stream`` (Sanic's call).

        ``send(data)`` sends a piece and leaves the response open, like `write`;
        ``send(data, end_stream=True)`` sends the last piece; ``send()`` with no data ends
        the response, like `eof`. Ending a response that has already ended does nothing.

        Raises:
            RuntimeError: the response has not started, or data is sent after it ended.
            trioweb.exceptions.ClientDisconnected: the client went away.
        """
        if data is None and end_stream is None:
            end_stream = True
        if self._writer is None:
            if self._ended and end_stream and not data:
                return
            raise self._closed_error()
        if data:
            await self.write(data)
        if end_stream:
            await self.eof()

    async def eof(self) -> None:
        """End the body. Called for you when the streaming function or handler returns."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            self._ended = True
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
    body: str | bytes | Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTTPResponse:
    """An HTML response (``text/html; charset=utf-8``).

    Args:
        body: ``str`` or ``bytes``, or an object with an ``__html__()`` method (markupsafe,
            template libraries) or ``_repr_html_()`` (pandas, IPython), whose result is sent.
        status: The HTTP status code.
        headers: Response headers.

    Raises:
        TypeError: ``body`` is none of these.
    """
    if not isinstance(body, str | bytes):
        if hasattr(body, "__html__"):
            body = body.__html__()
        elif hasattr(body, "_repr_html_"):
            body = body._repr_html_()
    return HTTPResponse(body, status, headers, "text/html; charset=utf-8")


def json(
    body: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
    dumps: Callable[..., str | bytes] | None = None,
    **kwargs: Any,
) -> JSONResponse:
    """A JSON response, compact (no spaces) and UTF-8 (non-ASCII is not escaped).

    Args:
        body: Anything ``dumps`` can serialise.
        status: The HTTP status code.
        headers: Response headers.
        content_type: The ``Content-Type`` header.
        dumps: Replaces ``json.dumps`` (``orjson.dumps``, say: ``bytes`` are fine).
        **kwargs: Passed to ``dumps``.

    Returns:
        A `JSONResponse`, whose ``raw_body`` can still be changed.
    """
    return JSONResponse(body, status, headers, content_type, dumps, **kwargs)


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
    headers: Mapping[str, str] | None = None,
    status: int = 302,
    content_type: str = "text/html; charset=utf-8",
) -> HTTPResponse:
    """A redirect to ``to``; characters not allowed in a URL are percent-encoded.

    Args:
        to: A path or an absolute URL, sent as ``Location``.
        headers: More headers; a ``Location`` among them is replaced by ``to``.
        status: 302 by default; 301, 303, 307 and 308 are the other redirects.
        content_type: The ``Content-Type`` header (the body is empty).

    Raises:
        TypeError: ``headers`` is a number: the status passed second, in the old order.
    """
    if isinstance(headers, int):
        raise TypeError(
            "redirect() takes headers second and status third, as Sanic does: "
            f"write redirect(to, status={headers})"
        )
    merged = MutableHeaders(headers)
    # Assigned, so it replaces a "location" in any case in ``headers``: one Location, ``to``.
    merged["Location"] = quote(to, safe=":/%#?&=@[]!$&'()*+,;")
    return HTTPResponse(None, status, merged, content_type)


def stream(
    streaming_fn: StreamingFunction,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "text/plain; charset=utf-8",
    chunked: bool | str = "deprecated",
) -> StreamingHTTPResponse:
    """A response whose body ``streaming_fn(response)`` writes with ``await response.write()``.

    The response ends when ``streaming_fn`` returns (or when it calls ``response.eof()``).

    Args:
        streaming_fn: ``async def fn(response)``; writes with ``write``/``send``.
        status: The HTTP status code.
        headers: Response headers; a ``Content-Length`` here makes the body unchunked.
        content_type: The ``Content-Type`` header.
        chunked: Accepted for Sanic code and ignored: the framing follows from the headers
            (``Content-Length`` given: exactly that many bytes; otherwise chunked).
    """
    del chunked  # Sanic deprecated it too; the server decides the framing.
    return StreamingHTTPResponse(streaming_fn, status, headers, content_type)


def _check_request_headers(request_headers: object) -> None:
    if request_headers is not None and not isinstance(request_headers, Mapping):
        raise TypeError(
            "file()'s third argument is request_headers, a mapping like request.headers, "
            f"not {type(request_headers).__name__}; pass mime_type= and the rest by keyword"
        )


async def file(
    location: str | os.PathLike[str],
    status: int = 200,
    request_headers: Mapping[str, str] | None = None,
    validate_when_requested: bool = True,
    mime_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
    last_modified: datetime | float | _Unset | None = _UNSET,
    max_age: float | None = None,
    no_store: bool | None = None,
    _range: ByteRange | None = None,
) -> FileResponse:
    """The file at ``location``, read in one go when it is sent (trio's async file API).

    The response answers conditional requests (304) and single byte ranges (206/416) by
    itself when the app sends it; see `trioweb.files.FileResponse`. Only the selected bytes
    are read, but they are held in memory at once: for large files use `file_stream`.

    Args:
        location: The file's path.
        status: The status when the whole file is sent; with anything but 200 the file is
            always sent whole, without 304/206 handling.
        request_headers: The request's headers (``request.headers``): the 304 decision is
            taken now, from them, rather than when the response is sent. Only needed for
            code that inspects the response before returning it.
        validate_when_requested: ``False`` never answers 304 (the validators are still sent).
        mime_type: The content type; guessed from ``filename``, else from ``location``,
            when ``None`` (``text/*`` types get ``; charset=utf-8``).
        headers: Extra headers; they override the computed ones except ``Content-Length``.
        filename: Make the client save the file under this name (``Content-Disposition``).
        last_modified: The ``Last-Modified`` date (a ``datetime``, naive meaning UTC, or
            seconds since the epoch); the file's modification time by default; ``None``
            sends none (and ``If-Modified-Since`` is then never answered with 304).
        max_age: Let caches keep it this many seconds (``Cache-Control: public, max-age=N``).
        no_store: Forbid caching (``Cache-Control: no-store``).
        _range: Send only bytes ``_range.start`` to ``_range.end`` (inclusive) with 206,
            whatever the request asked (an object with those two attributes).

    Raises:
        FileNotFoundError: nothing is at ``location`` (checked now, with ``stat``).
        IsADirectoryError: ``location`` is not a regular file.
        TypeError: ``request_headers`` is not a mapping (an argument passed in the wrong
            position, most likely).
        ValueError: ``max_age`` is negative or given together with ``no_store``, or
            ``_range`` is not inside the file.
    """
    from .files import FileResponse

    _check_request_headers(request_headers)
    response = await FileResponse.from_path(
        location,
        status=status,
        headers=headers,
        mime_type=mime_type,
        filename=filename,
        last_modified=last_modified,
        max_age=max_age,
        no_store=bool(no_store),
        conditional=validate_when_requested,
        byte_range=_range,
    )
    if request_headers is not None:
        return response.validated(request_headers)
    return response


async def file_stream(
    location: str | os.PathLike[str],
    status: int = 200,
    chunk_size: int = 64 * 1024,
    mime_type: str | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
    _range: ByteRange | None = None,
    *,
    max_age: float | None = None,
    no_store: bool = False,
) -> FileResponse:
    """The file at ``location``, sent in ``chunk_size`` pieces with its ``Content-Length``.

    Memory use stays at one chunk however large the file; each piece waits for the client.
    The default chunk is 64 KiB (Sanic's is 4 KiB): sixteen times fewer reads and writes for
    the same memory a socket buffer already takes.
    Sizes and validators come from the ``stat`` taken now. Conditional and range requests are
    answered as for `file`, whose arguments these are too.

    Raises:
        FileNotFoundError: nothing is at ``location`` (checked now, with ``stat``).
        IsADirectoryError: ``location`` is not a regular file.
        ValueError: ``chunk_size`` is not positive, or ``max_age`` or ``_range`` is invalid
            as for `file`.
    """
    from .files import FileResponse

    if not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size!r}")
    return await FileResponse.from_path(
        location,
        status=status,
        headers=headers,
        mime_type=mime_type,
        filename=filename,
        max_age=max_age,
        no_store=no_store,
        byte_range=_range,
        chunk_size=chunk_size,
    )
