"""The request a handler receives, and the channel its streamed body arrives on."""

from __future__ import annotations

import contextlib
import json as jsonlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import trio

from .cookies import CookieRequestParameters, parse_cookie_header
from .datastructures import Credentials, Headers, RequestParameters
from .exceptions import BadRequest, PayloadTooLarge
from .forms import File, Form, FormLimits, FormParser, MultipartReader, form_kind
from .logs import valid_request_id
from .proxy import TRUST_NOTHING, Forwarded, ProxyTrust
from .response import ResponseWriter, StreamingHTTPResponse

if TYPE_CHECKING:
    from .app import App
    from .router import Route

__all__ = ["ConnInfo", "Request", "RequestStream", "StreamingRequest"]

# Authorization schemes spelled as Sanic spells them, whatever case the client sent.
_AUTH_SCHEMES = {"basic": "Basic", "bearer": "Bearer", "token": "Token"}

# The schemes whose default port a URL leaves out.
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _split_host(host: str) -> tuple[str, int | None]:
    """``"Example.com:8080"`` -> ``("example.com", 8080)``; an IPv6 host keeps its brackets.

    A port that is not ASCII digits (``"x:²"``, which ``str.isdigit`` accepts and ``int``
    refuses) is no port; an empty one (``"x:"``) is dropped.
    """
    name, colon, port = host.rpartition(":")
    if colon and not port:
        return name.lower(), None
    if not colon or not (port.isascii() and port.isdigit()):  # no port, or a bare IPv6 address
        return host.lower(), None
    return name.lower(), int(port)


@dataclass(slots=True)
class ConnInfo:
    """Facts about one connection, shared by every request on it.

    ``ctx`` is a namespace for your own per-connection state; it lives across keep-alive.
    ``proxy`` says which proxy headers the server believes (from its config, checked once).
    """

    client_ip: str = ""
    client_port: int = 0
    server_ip: str = ""
    server_port: int = 0
    scheme: str = "http"
    proxy: ProxyTrust = TRUST_NOTHING
    _ctx: SimpleNamespace | None = field(default=None, init=False, repr=False)

    @property
    def ctx(self) -> SimpleNamespace:
        """A namespace for your own per-connection state; made on first use."""
        if self._ctx is None:
            self._ctx = SimpleNamespace()
        return self._ctx


class BodyStatus:
    """What a streamed body's channel cannot carry: why the body failed, and who asked for it.

    Shared by the server, which reads the body, and every `RequestStream` cloned from one.
    When the body fails, the server records the error here and then closes the channel's
    send side: a `RequestStream` that meets the end raises the error instead. A handler that
    took the raw channel (`RequestStream.channel`) would take that end for the body's, so
    the server cancels it instead (see ``raw``).
    """

    __slots__ = ("error", "raw", "wanted")

    def __init__(self) -> None:
        #: What made the body unreadable (413, 400, 408, the client gone), once it failed.
        self.error: BaseException | None = None
        #: Set when a handler first asks for the body (``Expect: 100-continue`` waits for it).
        self.wanted = trio.Event()
        #: Whether a handler took the raw channel (it is cancelled if the body fails).
        self.raw = False

    def fail(self, error: BaseException) -> None:
        """Record why the body failed (the first error stays); readers raise it from now on."""
        if self.error is None:
            self.error = error


class RequestStream(trio.abc.ReceiveChannel[bytes]):
    """A streaming route's request body: the receive end of a trio memory channel of ``bytes``.

    The connection's reader task sends the body into the channel as it arrives. The channel
    is bounded (``config.REQUEST_STREAM_BUFFER`` bytes), so a handler that reads slowly stops
    the reader, and TCP stops the client. Use it the trio way (``async for chunk in
    request.stream``, ``await request.stream.receive()``, which raises `trio.EndOfChannel` at
    the end) or the Sanic way (``await request.stream.get()`` or ``.read()``, which return
    ``None`` at the end and keep doing so). It has the whole `trio.MemoryReceiveChannel`
    surface: `receive_nowait`, `clone` (each clone receives different chunks), `statistics`,
    `close` and `aclose`; `channel` is the memory channel itself.

    A body that fails is raised by `receive` as what went wrong, never shown as an early end:
    `PayloadTooLarge` past the route's limit, `BadRequest` for a malformed body,
    `RequestTimeout` when it stalls. A handler reading `channel` directly is cancelled
    instead. Unhandled, each error becomes its response. A client that leaves mid-body
    cancels the handler (code that reads on while shielded gets `ClientDisconnected`).
    """

    __slots__ = ("_channel", "_memory_limit", "_status")

    def __init__(
        self,
        channel: trio.MemoryReceiveChannel[bytes],
        status: BodyStatus | None = None,
        memory_limit: int | None = None,
    ) -> None:
        self._channel = channel
        self._status = status if status is not None else BodyStatus()
        self._memory_limit = memory_limit

    @property
    def channel(self) -> trio.MemoryReceiveChannel[bytes]:
        """The `trio.MemoryReceiveChannel` the body arrives on (this clone's).

        Reading it directly works, but a body that fails cancels the reader instead of
        raising (the channel itself could only show an end).

        Raises:
            HTTPException, ClientDisconnected: the body has failed already.
        """
        status = self._status
        if status.error is not None:
            raise status.error
        status.raw = True
        status.wanted.set()
        return self._channel

    @property
    def memory_limit(self) -> int | None:
        """The most bytes `trioweb.Request.receive_body` collects in memory (``None``: any)."""
        return self._memory_limit

    async def receive(self) -> bytes:
        """The next chunk of the body; raises `trio.EndOfChannel` once it has all arrived.

        Several tasks may wait at once (on this stream or its clones); each chunk goes to one.

        Raises:
            trio.EndOfChannel: the whole body was received.
            trio.ClosedResourceError: this stream was closed, or its exchange is over.
            HTTPException: the body failed (413, 400, 408); raised again on every call.
            ClientDisconnected: the client left mid-body.
        """
        status = self._status
        if status.error is not None:
            await trio.lowlevel.checkpoint()
            raise status.error
        status.wanted.set()  # (a no-op after the first time)
        try:
            return await self._channel.receive()
        except trio.EndOfChannel:
            if status.error is not None:
                raise status.error from None
            raise

    def receive_nowait(self) -> bytes:
        """The next chunk if one is waiting in the channel.

        Raises:
            trio.WouldBlock: no chunk is ready yet.
            trio.EndOfChannel, trio.ClosedResourceError, HTTPException, ClientDisconnected:
                as for `receive`.
        """
        status = self._status
        if status.error is not None:
            raise status.error
        status.wanted.set()
        try:
            return self._channel.receive_nowait()
        except trio.EndOfChannel:
            if status.error is not None:
                raise status.error from None
            raise

    async def __anext__(self) -> bytes:
        # `receive`, with StopAsyncIteration for the end: one frame less on every chunk of
        # ``async for chunk in request.stream``.
        status = self._status
        if status.error is not None:
            await trio.lowlevel.checkpoint()
            raise status.error
        status.wanted.set()  # (a no-op after the first time)
        try:
            return await self._channel.receive()
        except trio.EndOfChannel:
            if status.error is not None:
                raise status.error from None
            raise StopAsyncIteration from None

    async def get(self) -> bytes | None:
        """The next chunk of the body, or ``None`` at the end (Sanic's idiom)."""
        try:
            return await self.receive()
        except trio.EndOfChannel:
            return None

    read = get

    def clone(self) -> RequestStream:
        """Another receiver of the same body: chunks go to whichever receiver asks first.

        The body's channel stays open until every clone is closed (or the exchange ends).
        """
        return RequestStream(self._channel.clone(), self._status, self._memory_limit)

    def statistics(self) -> trio.MemoryChannelStatistics:
        """The channel's statistics (`trio.MemoryReceiveChannel.statistics`)."""
        return self._channel.statistics()

    def close(self) -> None:
        """Stop receiving through this stream (other clones go on).

        A body nobody reads to its end is not read further, and the connection closes after
        the response.
        """
        self._channel.close()

    async def aclose(self) -> None:
        """Asynchronous `close`."""
        await self._channel.aclose()


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
        self.route: Route | None = None
        self.match_info: dict[str, Any] = {}
        #: The response started by `respond`, if the handler used it.
        self.response: StreamingHTTPResponse | None = None
        self._writer: ResponseWriter | None = None
        self._route_error: Exception | None = None

    def __repr__(self) -> str:
        return f"<Request {self.method} {self._target.decode('latin-1')}>"

    @property
    def uri_template(self) -> str | None:
        """The pattern of the matched route (``"/user/<id:int>"``); ``None`` when unrouted."""
        route = self.route
        return None if route is None else route.uri

    @property
    def endpoint(self) -> str | None:
        """The name of the matched route (``"bp.handler"``, as `trioweb.App.url_for` takes it).

        ``None`` when the request matched no route.
        """
        route = self.route
        return None if route is None else route.name

    name = endpoint

    @property
    def ctx(self) -> SimpleNamespace:
        """A namespace for your own per-request state (middleware to handler, say)."""
        # Made on first use: most requests never touch it, and this is the hot path.
        ctx: SimpleNamespace | None = self.__dict__.get("ctx")
        if ctx is None:
            ctx = self.__dict__["ctx"] = SimpleNamespace()
        return ctx

    @ctx.setter
    def ctx(self, value: SimpleNamespace) -> None:
        self.__dict__["ctx"] = value

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

    def _parsed_query(self) -> dict[tuple[Any, ...], Any]:
        # The query parsed each way asked for, by (kind, options): made on first use.
        parsed: dict[tuple[Any, ...], Any] | None = self.__dict__.get("_query")
        if parsed is None:
            parsed = self.__dict__["_query"] = {}
        return parsed

    def get_query_args(
        self,
        keep_blank_values: bool = False,
        strict_parsing: bool = False,
        encoding: str = "utf-8",
        errors: str = "replace",
    ) -> list[tuple[str, str]]:
        """The query string as decoded ``(name, value)`` pairs, in order, repeats included.

        The arguments are those of `urllib.parse.parse_qsl`. Parsed once per combination.

        Args:
            keep_blank_values: Keep arguments with an empty value (``?a=&b=1``, ``?flag``);
                by default they are dropped, as Sanic does.
            strict_parsing: Answer a malformed query (a pair without ``=``) with 400.
            encoding: How percent-escapes decode (``bytes.decode``).
            errors: What an undecodable escape becomes (``bytes.decode``); by default U+FFFD.

        Raises:
            BadRequest: ``strict_parsing`` and the query is malformed.
        """
        parsed = self._parsed_query()
        key = ("pairs", keep_blank_values, strict_parsing, encoding, errors)
        cached: list[tuple[str, str]] | None = parsed.get(key)
        if cached is None:
            try:
                cached = parse_qsl(
                    self.query_string,
                    keep_blank_values=keep_blank_values,
                    strict_parsing=strict_parsing,
                    encoding=encoding,
                    errors=errors,
                )
            except ValueError as exc:
                raise BadRequest(f"malformed query string: {exc}") from None
            parsed[key] = cached
        return cached

    def get_args(
        self,
        keep_blank_values: bool = False,
        strict_parsing: bool = False,
        encoding: str = "utf-8",
        errors: str = "replace",
    ) -> RequestParameters[str]:
        """The query arguments by name, parsed with these options (see `get_query_args`).

        Returns:
            ``RequestParameters``: ``["k"]`` the list of values, ``.get("k")`` the first.

        Raises:
            BadRequest: ``strict_parsing`` and the query is malformed.
        """
        parsed = self._parsed_query()
        key = ("args", keep_blank_values, strict_parsing, encoding, errors)
        cached: RequestParameters[str] | None = parsed.get(key)
        if cached is None:
            pairs = self.get_query_args(keep_blank_values, strict_parsing, encoding, errors)
            cached = parsed[key] = RequestParameters.from_pairs(pairs)
        return cached

    @property
    def args(self) -> RequestParameters[str]:
        """Query arguments, as Sanic gives them: a dict of name -> list of values.

        ``args["k"]`` is the list, ``args.get("k")`` the first value, ``args.getlist("k")``
        the list (``[]`` when absent). Blank values (``?a=``) are dropped; use
        ``get_args(keep_blank_values=True)`` to keep them.
        """
        return self.get_args()

    @property
    def query_args(self) -> list[tuple[str, str]]:
        """Query arguments as ``(name, value)`` pairs in order; blank values are dropped."""
        return self.get_query_args()

    # -- headers and what derives from them ------------------------------------------------

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header, or ``application/octet-stream`` when absent."""
        return self.headers.get("content-type", "application/octet-stream")

    @property
    def host(self) -> str:
        """The host the request is for, with port if one was given (``example.com:8080``).

        ``config.SERVER_NAME``'s host when it is set (it overrides what clients send, as in
        Sanic), else a trusted proxy's ``X-Forwarded-Host`` or ``Forwarded: host=`` (see
        `client_ip`), else the ``Host`` header, else the server's own address.
        """
        server_name = self.app.config.SERVER_NAME
        if server_name:
            return server_name.split("://", 1)[-1].split("/", 1)[0]
        return (
            self.forwarded.host
            or self.headers.get("host")
            or f"{self.conn_info.server_ip}:{self.conn_info.server_port}"
        )

    @property
    def scheme(self) -> str:
        """``http``, ``https``, or ``ws``/``wss`` for a WebSocket upgrade request.

        The scheme of ``config.SERVER_NAME`` when it has one (``https://example.com``), else a
        trusted proxy's ``X-Forwarded-Proto`` or ``Forwarded: proto=`` (see `client_ip`),
        else whether this connection uses TLS. A request carrying ``Upgrade: websocket``
        turns ``http`` into ``ws`` and ``https`` into ``wss``, whichever of those decided.
        """
        server_name = self.app.config.SERVER_NAME
        if server_name and "://" in server_name:
            scheme = server_name.partition("://")[0].lower()
        else:
            scheme = self.forwarded.proto or self.conn_info.scheme
        if scheme in ("http", "https") and self._is_websocket():
            return "ws" + scheme[4:]
        return scheme

    def _is_websocket(self) -> bool:
        # The header a WebSocket handshake carries (RFC 6455 4.1); any route, as in Sanic.
        return "upgrade" in self.headers and any(
            token.strip().lower() == "websocket"
            for value in self.headers.getall("upgrade")
            for token in value.split(",")
        )

    @property
    def url(self) -> str:
        """The full URL as the client asked for it: `scheme`, `host`, then the target as sent."""
        return f"{self.scheme}://{self.host}{self._target.decode('latin-1')}"

    @property
    def server_name(self) -> str:
        """The host name the client reached, without port: `host`'s name, lower-cased.

        So ``config.SERVER_NAME`` when set, else a trusted proxy's host, else ``Host``. An IPv6
        address keeps its brackets (``[::1]``).
        """
        return _split_host(self.host)[0]

    @property
    def server_port(self) -> int:
        """The port the client reached.

        A trusted proxy's ``X-Forwarded-Port`` or ``Forwarded: port=`` (see `client_ip`), else
        `host`'s port, else the default of `scheme` (80, 443). With no ``Host`` header at all
        it is the port the server listens on.
        """
        port = self.forwarded.port or _split_host(self.host)[1]
        if port is not None:
            return port
        return 80 if self.scheme in ("http", "ws") else 443

    @property
    def server_path(self) -> str:
        """The path the client asked for: a trusted proxy's, else `path`.

        A proxy that serves the app under a prefix reports the client's path in
        ``X-Forwarded-Path`` or ``Forwarded: path=`` (percent-decoded here; see `client_ip`).
        """
        return self.forwarded.path or self.path

    def url_for(self, name: str, /, **params: Any) -> str:
        """The full URL of route ``name``, on the scheme, host and port of this request.

        As `trioweb.App.url_for` with ``_external=True``, ``_scheme=request.scheme`` and
        ``_server`` set to `server_name` plus `server_port` (left out when it is the
        scheme's default), so a link works from wherever the client stands (behind a
        trusted proxy, on another port). When ``config.SERVER_NAME`` includes a scheme
        (``https://example.com``), the app builds the URL from it alone. Pass
        ``_external``, ``_scheme`` or ``_server`` yourself to decide instead.

        Raises:
            URLBuildError: as for `trioweb.App.url_for`.
        """
        if "_external" in params:
            return self.app.url_for(name, **params)
        server_name = self.app.config.SERVER_NAME
        if server_name and "://" in server_name:
            return self.app.url_for(name, _external=True, **params)
        scheme = self.scheme
        port = self.server_port
        netloc = self.server_name
        if _DEFAULT_PORTS.get(scheme) != port:
            netloc = f"{netloc}:{port}"
        params.setdefault("_scheme", scheme)
        params.setdefault("_server", netloc)
        return self.app.url_for(name, _external=True, **params)

    @property
    def ip(self) -> str:
        """The peer's IP address (the socket's, not a proxy header's)."""
        return self.conn_info.client_ip

    @property
    def port(self) -> int:
        """The peer's TCP port."""
        return self.conn_info.client_port

    @property
    def forwarded(self) -> Forwarded:
        """What trusted proxy headers report (``Forwarded()`` when none is trusted).

        Which headers are trusted is decided by ``config.FORWARDED_SECRET``,
        ``REAL_IP_HEADER`` and ``PROXIES_COUNT``, read when the server starts (the server
        gives each connection its `trioweb.proxy.ProxyTrust`); see `trioweb.proxy`. Parsed
        once.
        """
        cached: Forwarded | None = self.__dict__.get("forwarded")
        if cached is None:
            cached = self.__dict__["forwarded"] = self.conn_info.proxy.resolve(self.headers)
        return cached

    @property
    def remote_addr(self) -> str:
        """The client address a trusted proxy reported, or ``""`` when none is trusted.

        An IP address (IPv6 without brackets, no port) or a proxy's obfuscated identifier
        (``_hidden``). ``""`` too when the trusted proxy said ``unknown``.
        """
        return self.forwarded.client

    @property
    def client_ip(self) -> str:
        """The client's address: `remote_addr` when a trusted proxy reported one, else `ip`.

        By default no proxy header is trusted and this is the socket's peer: a client cannot
        choose its own ``client_ip`` by sending ``X-Forwarded-For``. Configure
        ``PROXIES_COUNT``, ``REAL_IP_HEADER`` or ``FORWARDED_SECRET`` to match your proxies.
        """
        return self.forwarded.client or self.conn_info.client_ip

    @property
    def id(self) -> str:
        """The client's ``X-Request-ID`` if it is valid, else a fresh UUID4 string.

        The header is ``config.REQUEST_ID_HEADER`` (``None`` or ``""``: none is read). Valid
        means 1 to 200 visible ASCII characters (`trioweb.logs.valid_request_id`), so it can
        be logged and echoed safely. Made on first use, then the same for the whole request.
        """
        cached: str | None = self.__dict__.get("id")
        if cached is None:
            header = self.app.config.REQUEST_ID_HEADER
            sent = self.headers.get(header) if header else None
            if sent is None or not valid_request_id(sent):
                sent = str(uuid.uuid4())
            cached = self.__dict__["id"] = sent
        return cached

    @property
    def cookies(self) -> CookieRequestParameters:
        """Cookies sent in the ``Cookie`` header, as Sanic gives them: name -> list of values.

        ``cookies.get("k")`` is the first value, ``cookies.getlist("k")`` all of them,
        ``cookies["k"]`` the list; each finds ``__Host-k`` or ``__Secure-k`` first (see
        `trioweb.cookies.CookieRequestParameters`). A malformed pair is skipped alone
        (``http.cookies.SimpleCookie`` drops every cookie after one it cannot parse, and
        browsers do send bare names). Values decode as UTF-8; quoted ones are unquoted (see
        `trioweb.cookies.parse_cookie_header`). Parsed once.
        """
        cached: CookieRequestParameters | None = self.__dict__.get("cookies")
        if cached is None:
            parsed = parse_cookie_header(self.headers.getall("cookie"))
            cached = self.__dict__["cookies"] = CookieRequestParameters(parsed)
        return cached

    def _authorization(self) -> tuple[str | None, str] | None:
        """The ``Authorization`` header as (scheme, credential); ``None`` when absent or empty."""
        header = self.headers.get("authorization", "").strip()
        if not header:
            return None
        scheme, _, rest = header.partition(" ")
        if not rest and scheme.lower() not in _AUTH_SCHEMES:
            return None, header  # a bare credential with no scheme
        return _AUTH_SCHEMES.get(scheme.lower(), scheme), rest.strip()

    @property
    def token(self) -> str | None:
        """The credential of the ``Authorization`` header: what follows its scheme.

        ``Authorization: Bearer abc`` (or ``Token abc``, or any scheme) gives ``"abc"``; a
        header with no scheme gives the whole value; no header gives ``None``.
        """
        parts = self._authorization()
        return None if parts is None else parts[1]

    @property
    def credentials(self) -> Credentials | None:
        """The ``Authorization`` header as a `trioweb.datastructures.Credentials`, or ``None``.

        ``.auth_type`` is the scheme (``"Basic"``, ``"Bearer"``, ``"Token"``, another as
        sent, ``None`` without one) and ``.token`` the credential; for ``Basic``,
        ``.username`` and ``.password`` are decoded. ``Basic`` credentials that are not
        base64 of UTF-8 ``user:password`` give ``None``, as in Sanic, so an app that answers
        missing credentials with 401 answers malformed ones the same way. Parsed once.
        """
        if "credentials" in self.__dict__:
            known: Credentials | None = self.__dict__["credentials"]
            return known
        parts = self._authorization()
        credentials = None
        if parts is not None:
            with contextlib.suppress(ValueError):
                credentials = Credentials(*parts)
        self.__dict__["credentials"] = credentials
        return credentials

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

    def _parsed_form(self) -> Form:
        form: Form | None = self.__dict__.get("_form")
        if form is None:  # no form body, or not read yet
            form = self.__dict__["_form"] = Form.empty()
        return form

    def _form_parser(self) -> FormParser | None:
        """A parser for this request's body if it is a form, for the server to feed it.

        Raises:
            BadRequest: a form type the body cannot be parsed as (no boundary, a charset
                that is no text codec).
        """
        content_type = self.headers.get("content-type")
        if not content_type or form_kind(content_type) is None:
            return None
        return FormParser(content_type, FormLimits.from_config(self.app.config))

    def _set_form(self, form: Form) -> None:
        old: Form | None = self.__dict__.get("_form")
        if old is not None:
            old.close()
        self.__dict__["_form"] = form

    def _close_form(self) -> None:
        """Remove the uploads' temporary files: the exchange is over."""
        form: Form | None = self.__dict__.get("_form")
        if form is not None:
            form.close()

    def get_form(self, keep_blank_values: bool = False) -> RequestParameters[str]:
        """The form's text fields (as `form`), keeping blank urlencoded values if asked.

        Args:
            keep_blank_values: Keep urlencoded fields with an empty value (``a=&b=1``);
                `form` drops them, as Sanic does. Multipart fields are always kept.
        """
        form = self._parsed_form()
        return form.all_fields if keep_blank_values else form.fields

    @property
    def form(self) -> RequestParameters[str]:
        """Text fields of a urlencoded or multipart form body, as Sanic gives them.

        ``form.get("k")`` is the first value, ``form.getlist("k")`` all of them and
        ``form["k"]`` the list. Empty for other content types and for an empty body.
        Urlencoded fields with an empty value are dropped (`get_form` keeps them).

        On a non-streaming route the server parses a form as it reads the body, before the
        handler runs, so a malformed form (400) or one past a ``FORM_*`` limit (413) is
        answered without calling the handler. A multipart body is not kept in `body`
        (its files may be on disk); a urlencoded one is. On a streaming route the form is
        empty until ``await request.receive_body()``, which parses it as it arrives. Urlencoded
        values decode with the ``charset`` parameter, multipart ones as UTF-8; undecodable
        bytes become U+FFFD.
        """
        return self._parsed_form().fields

    @property
    def files(self) -> RequestParameters[File]:
        """Uploaded files of a ``multipart/form-data`` body, by field name.

        ``files.get("upload")`` is the first `trioweb.uploads.File` (``.name``, ``.type``,
        ``.body`` while small, ``await .read()``, ``await .save(path)``),
        ``files.getlist("upload")`` all of them, ``files["upload"]`` the list. Parsed
        together with `form`, with the same rules. Files past ``config.FORM_SPOOL_SIZE``
        wait in temporary files, removed when the exchange ends.
        """
        return self._parsed_form().files

    def multipart(self) -> MultipartReader:
        """The parts of a streaming route's multipart body, as they arrive.

        ``async for part in request.multipart():`` gives each `trioweb.forms.Part` (``name``,
        ``filename``, ``content_type``, ``headers``) once its headers are in; read its bytes
        with ``async for chunk in part``, ``await part.read()`` or ``await part.save(path)``
        before asking for the next part. Memory stays flat however large the upload; the
        ``FORM_*`` limits apply.

        Raises:
            RuntimeError: the route does not stream (its form is in `form` and `files`).
            BadRequest: the body is not multipart/form-data (also while iterating: malformed).
            PayloadTooLarge: while iterating, a ``FORM_*`` limit was passed.
        """
        stream = self.stream
        if stream is None:
            raise RuntimeError(
                "request.multipart() reads a streaming route's body: declare the route with "
                "stream=True, or use request.form and request.files"
            )
        return MultipartReader(
            self.headers.get("content-type", ""),
            stream.get,
            FormLimits.from_config(self.app.config),
        )

    async def receive_body(self) -> bytes:
        """Read the rest of a streamed body into `body` and return it.

        On a non-streaming route the body is already there and is returned at once. A form
        body is parsed as it arrives, for `form` and `files`.

        Raises:
            PayloadTooLarge: the body exceeds the route's ``max_body_size`` (by default
                ``config.REQUEST_MAX_SIZE``), the most a body may take in memory, or a form
                passes a ``FORM_*`` limit.
            BadRequest: a malformed form.
        """
        stream = self.stream
        if stream is None:
            return self.body
        limit = stream.memory_limit
        parts = [self.body] if self.body else []
        size = len(self.body)
        parser = self._form_parser()
        try:
            if parser is not None and self.body:
                await parser.feed(self.body)
            async for chunk in stream:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise PayloadTooLarge(f"the request body exceeds {limit} bytes")
                parts.append(chunk)
                if parser is not None:
                    await parser.feed(chunk)
            form = await parser.finish() if parser is not None else None
        except BaseException:
            if parser is not None:
                parser.discard()
            raise
        self.body = b"".join(parts)
        if form is not None:
            self._set_form(form)
        return self.body

    # -- responding ---------------------------------------------------------------------------

    async def respond(
        self,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> StreamingHTTPResponse:
        """Send the response head now and return a response to write the body through.

        Write with ``await response.send(data)`` and finish with ``await response.eof()``
        (done for you when the handler returns). No ``Content-Type`` is sent unless
        ``content_type`` (or ``headers``) gives one. The head goes out before the request body is
        read, so a handler can echo a streamed body as it arrives. The handler should then
        return ``None`` (or this same response).

        Args:
            status: The response status.
            headers: A mapping, or ``(name, value)`` pairs when a name repeats (``Set-Cookie``).
            content_type: The ``Content-Type`` to send, if any.

        Returns:
            The started response; its head has been sent.

        Raises:
            RuntimeError: a response was already started for this request.
        """
        if self._writer is None or self.response is not None or self._writer.started:
            raise RuntimeError("a response was already started for this request")
        response = StreamingHTTPResponse(None, status, headers, content_type)
        self.response = response
        await response._start(self._writer)
        return response


if TYPE_CHECKING:

    class StreamingRequest(Request):
        """A `Request` on a streaming route: its `stream` is a `RequestStream`, never ``None``.

        Only a type: annotate a streaming handler's ``request`` with it so a type checker
        knows ``request.stream`` is there. At run time it is `Request` itself.
        """

        stream: RequestStream

else:
    #: A `Request` on a streaming route, for type checkers (its ``stream`` is never ``None``);
    #: at run time it is `Request` itself.
    StreamingRequest = Request
