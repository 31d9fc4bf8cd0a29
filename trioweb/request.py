"""The request a handler receives, and the channel its streamed body arrives on."""

from __future__ import annotations

import json as jsonlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import trio

from .datastructures import Headers, MultiDict
from .exceptions import BadRequest, PayloadTooLarge
from .response import ResponseWriter, StreamingHTTPResponse

if TYPE_CHECKING:
    from .app import App
    from .router import Route

__all__ = ["ConnInfo", "Request", "RequestStream"]


@dataclass(slots=True)
class ConnInfo:
    """Facts about one connection, shared by every request on it.

    ``ctx`` is a namespace for your own per-connection state; it lives across keep-alive.
    """

    client_ip: str = ""
    client_port: int = 0
    server_ip: str = ""
    server_port: int = 0
    scheme: str = "http"
    ctx: SimpleNamespace = field(default_factory=SimpleNamespace)


class RequestStream(trio.abc.ReceiveChannel[bytes]):
    """A streaming route's request body, as a trio receive channel of ``bytes`` chunks.

    It reads from a bounded ``trio`` memory channel that the connection's reader fills, so a
    handler that reads slowly slows the client down. Use it the trio way
    (``async for chunk in request.stream``, ``await request.stream.receive()``, which raises
    `trio.EndOfChannel` at the end) or the Sanic way (``await request.stream.get()`` or
    ``.read()``, which return ``None`` at the end and keep doing so).
    """

    __slots__ = ("_channel", "_on_first_receive")

    def __init__(
        self,
        channel: trio.MemoryReceiveChannel[bytes],
        on_first_receive: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._channel = channel
        self._on_first_receive = on_first_receive

    async def receive(self) -> bytes:
        """The next chunk of the body; raises `trio.EndOfChannel` once it has all arrived."""
        if self._on_first_receive is not None:
            # The client may be waiting for "100 Continue" before it sends the body.
            on_first_receive, self._on_first_receive = self._on_first_receive, None
            await on_first_receive()
        return await self._channel.receive()

    async def get(self) -> bytes | None:
        """The next chunk of the body, or ``None`` at the end (Sanic's idiom)."""
        try:
            return await self.receive()
        except trio.EndOfChannel:
            return None

    read = get

    async def aclose(self) -> None:
        """Stop reading the body; the rest of it is not read and the connection will close."""
        await self._channel.aclose()

    def close(self) -> None:
        """Synchronous `aclose`."""
        self._channel.close()


class Request:
    """One HTTP request, as its handler sees it.

    Most attributes are computed on first access. On a non-streaming route ``body`` holds the
    whole body and ``stream`` is ``None``; on a streaming route ``body`` is ``b""`` until
    `receive_body` is awaited and ``stream`` delivers the body in chunks.
    """

    __slots__ = (
        "__dict__",
        "_route_error",
        "_target",
        "_writer",
        "app",
        "body",
        "conn_info",
        "ctx",
        "headers",
        "http_version",
        "match_info",
        "method",
        "response",
        "route",
        "stream",
    )

    def __init__(
        self,
        method: str,
        target: bytes,
        headers: Headers,
        *,
        app: App,
        http_version: str = "1.1",
        conn_info: ConnInfo | None = None,
    ) -> None:
        self.method = method
        self._target = target
        self.headers = headers
        self.app = app
        self.http_version = http_version
        self.conn_info = conn_info if conn_info is not None else ConnInfo()
        self.body = b""
        self.stream: RequestStream | None = None
        self.ctx = SimpleNamespace()
        self.route: Route | None = None
        self.match_info: dict[str, Any] = {}
        #: The response started by `respond`, if the handler used it.
        self.response: StreamingHTTPResponse | None = None
        self._writer: ResponseWriter | None = None
        self._route_error: Exception | None = None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self._target.decode('latin-1')}>"

    # -- the target --------------------------------------------------------------------------

    @property
    def raw_path(self) -> str:
        """The path as sent, still percent-encoded, without the query string."""
        path, _, _ = self._target.partition(b"?")
        return path.decode("latin-1")

    @property
    def path(self) -> str:
        """The percent-decoded path, without the query string."""
        return unquote(self.raw_path)

    @property
    def query_string(self) -> str:
        """Everything after the ``?`` in the target, undecoded."""
        return self._target.partition(b"?")[2].decode("latin-1")

    @property
    def args(self) -> MultiDict:
        """Query arguments: ``args["k"]`` is the first value, ``args.getlist("k")`` all."""
        cached: MultiDict | None = self.__dict__.get("args")
        if cached is None:
            cached = self.__dict__["args"] = MultiDict(self.query_args)
        return cached

    @property
    def query_args(self) -> list[tuple[str, str]]:
        """Query arguments as ``(name, value)`` pairs in order; blank values are kept."""
        return parse_qsl(self.query_string, keep_blank_values=True)

    # -- headers and what derives from them ------------------------------------------------

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header, or ``application/octet-stream`` when absent."""
        return self.headers.get("content-type", "application/octet-stream")

    @property
    def host(self) -> str:
        """The ``Host`` header (with port, if sent), or the server's address."""
        return (
            self.headers.get("host") or f"{self.conn_info.server_ip}:{self.conn_info.server_port}"
        )

    @property
    def scheme(self) -> str:
        """``http`` or ``https``."""
        return self.conn_info.scheme

    @property
    def url(self) -> str:
        """The full URL as the client asked for it."""
        return f"{self.scheme}://{self.host}{self._target.decode('latin-1')}"

    @property
    def ip(self) -> str:
        """The peer's IP address (the socket's, not a proxy header's)."""
        return self.conn_info.client_ip

    @property
    def port(self) -> int:
        """The peer's TCP port."""
        return self.conn_info.client_port

    @property
    def id(self) -> str:
        """``X-Request-ID`` when the client sent one, else a fresh UUID4 string."""
        cached: str | None = self.__dict__.get("id")
        if cached is None:
            cached = self.headers.get("x-request-id") or str(uuid.uuid4())
            self.__dict__["id"] = cached
        return cached

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent in the ``Cookie`` header; the first of a repeated name wins.

        A malformed pair is skipped alone (``http.cookies.SimpleCookie`` drops every cookie
        after one it cannot parse, and browsers do send bare names).
        """
        cookies: dict[str, str] = {}
        for header in self.headers.getall("cookie"):
            for pair in header.split(";"):
                name, sep, value = pair.partition("=")
                name, value = name.strip(), value.strip()
                if not sep or not name:
                    continue
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                cookies.setdefault(name, value)
        return cookies

    # -- the body ------------------------------------------------------------------------------

    @property
    def json(self) -> Any:
        """The body parsed as JSON; ``None`` for an empty body.

        Raises:
            BadRequest: the body is not valid JSON.
        """
        if not self.body:
            return None
        try:
            return jsonlib.loads(self.body)
        except ValueError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}") from None

    @property
    def form(self) -> MultiDict:
        """Fields of an ``application/x-www-form-urlencoded`` body; empty for other types."""
        if not self.content_type.startswith("application/x-www-form-urlencoded"):
            return MultiDict()
        return MultiDict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    async def receive_body(self) -> bytes:
        """Read the rest of a streamed body into `body` and return it.

        On a non-streaming route the body is already there and is returned at once.

        Raises:
            PayloadTooLarge: the body exceeds ``config.REQUEST_MAX_SIZE``.
        """
        if self.stream is None:
            return self.body
        limit = self.app.config.REQUEST_MAX_SIZE
        parts = [self.body] if self.body else []
        size = len(self.body)
        async for chunk in self.stream:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
            parts.append(chunk)
        self.body = b"".join(parts)
        return self.body

    # -- responding ---------------------------------------------------------------------------

    async def respond(
        self,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = "text/plain; charset=utf-8",
    ) -> StreamingHTTPResponse:
        """Send the response head now and return a response to write the body through.

        Write with ``await response.send(data)`` and finish with ``await response.eof()``
        (done for you when the handler returns). The head goes out before the request body is
        read, so a handler can echo a streamed body as it arrives. The handler should then
        return ``None`` (or this same response).

        Raises:
            RuntimeError: a response was already started for this request.
        """
        if self._writer is None or self.response is not None or self._writer.started:
            raise RuntimeError("a response was already started for this request")
        response = StreamingHTTPResponse(None, status, headers, content_type)
        self.response = response
        await response._start(self._writer)
        return response
