"""The route decorators that `App` and `Blueprint` share.

Both collect `RouteSpec` values; an app turns them into router entries at once, a blueprint
keeps them until it is registered on an app (which adds its prefix and name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .compression import ETAG_PRIORITY, route_etags
from .handlers import check_handler, is_async
from .static import DEFAULT_PATTERN, DirectoryHandler, static_routes
from .views import as_route_target

__all__ = [
    "LISTENER_EVENTS",
    "ListenerEvent",
    "MiddlewareSpec",
    "RouteRegistrar",
    "RouteSpec",
    "check_error_format",
]

H = TypeVar("H", bound=Callable[..., Any])
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A route as declared, before an app gives it its final path and name."""

    handler: Callable[..., Any]
    uri: str
    methods: frozenset[str]
    stream_methods: frozenset[str]
    name: str
    name_is_explicit: bool
    strict_slashes: bool | None = None
    #: One host or several; ``None`` serves every host.
    host: str | tuple[str, ...] | None = None
    version: int | float | str | None = None
    error_format: str | None = None
    #: The blueprint that declared it; set when the blueprint is registered on an app.
    blueprint: str | None = None
    #: For a websocket route, the subprotocols it speaks in preference order (maybe none).
    websocket: tuple[str, ...] | None = None
    #: The largest request body the route accepts (413 past it); None: the config's default.
    max_body_size: int | None = None
    #: What goes in front of the version: ``/v`` makes ``/v1/...``.
    version_prefix: str = "/v"
    #: The route's ``ctx_*`` keywords, without the prefix: ``route.ctx.<name>``.
    ctx: tuple[tuple[str, Any], ...] = ()


MiddlewareKind = Literal["request", "response"]
ListenerEvent = Literal[
    "before_server_start", "after_server_start", "before_server_stop", "after_server_stop"
]
LISTENER_EVENTS: tuple[ListenerEvent, ...] = (
    "before_server_start",
    "after_server_start",
    "before_server_stop",
    "after_server_stop",
)


def _check_event(event: object) -> ListenerEvent:
    for known in LISTENER_EVENTS:
        if event == known:
            return known
    raise ValueError(f"listener event must be one of {', '.join(LISTENER_EVENTS)}, not {event!r}")


@dataclass(frozen=True, slots=True)
class MiddlewareSpec:
    """A middleware function as declared: its kind, priority and registration order."""

    fn: Callable[..., Any]
    kind: MiddlewareKind
    priority: int
    order: int


_ERROR_FORMATS = ("auto", "text", "json", "html")


def check_error_format(error_format: str | None) -> str | None:
    """``error_format`` if it is one of auto/text/json/html (or ``None``), else `ValueError`."""
    if error_format is not None and error_format not in _ERROR_FORMATS:
        raise ValueError(
            f"error_format must be one of {', '.join(_ERROR_FORMATS)}, not {error_format!r}"
        )
    return error_format


def _check_size(size: int | None) -> int | None:
    if size is not None and (not isinstance(size, int) or size < 0):
        raise ValueError(f"max_body_size must be a byte count of 0 or more, not {size!r}")
    return size


#: The keyword options every method decorator takes (see `RouteRegistrar.add_route`), besides
#: ``ctx_*`` keywords.
_ROUTE_OPTIONS = frozenset(
    {"name", "strict_slashes", "host", "version", "version_prefix", "error_format", "etag"}
)
#: ``post``/``put``/``patch`` take these as well: their body may stream or be capped.
_BODY_ROUTE_OPTIONS = _ROUTE_OPTIONS | {"stream", "max_body_size"}

Host = str | Sequence[str] | None


def _hosts(host: Host) -> str | tuple[str, ...] | None:
    """A route's ``host`` argument as stored: one name, a tuple of several, or ``None``."""
    if host is None or isinstance(host, str):
        return host
    hosts = tuple(host)
    if not hosts or not all(isinstance(h, str) for h in hosts):
        raise TypeError(f"host must be a name or a non-empty list of names, not {host!r}")
    return hosts[0] if len(hosts) == 1 else hosts


def _check_uri(uri: object, what: str) -> str:
    if isinstance(uri, str):
        return uri
    if callable(uri):
        raise TypeError(
            f"{what}() takes the path first and is used with parentheses: "
            f'write @app.{what}("/path"), not @app.{what}'
        )
    raise TypeError(f"{what}() takes a path string, not {uri!r}")


def _check_etag(etag: object, ctx: Mapping[str, Any]) -> None:
    if not isinstance(etag, bool):
        raise TypeError(f"etag must be True or False, not {etag!r}")
    if etag and ("ctx_etag" in ctx or "etag" in ctx):
        raise TypeError("etag=True sets route.ctx.etag; do not pass ctx_etag as well")


def _ctx_options(
    method: str, options: Mapping[str, Any], allowed: frozenset[str]
) -> tuple[tuple[str, Any], ...]:
    """The ``ctx_*`` keywords of ``options`` without their prefix; others must be allowed.

    Raises:
        TypeError: a keyword is neither ``ctx_*`` nor in ``allowed``.
    """
    ctx: list[tuple[str, Any]] = []
    for key, value in options.items():
        if key.startswith("ctx_") and len(key) > 4:
            ctx.append((key[4:], value))
        elif key not in allowed:
            hint = " (only post, put and patch stream)" if key == "stream" else ""
            raise TypeError(f"{method}() got an unexpected keyword argument {key!r}{hint}")
    return tuple(ctx)


class RouteRegistrar:
    """The decorators `App` and `Blueprint` share: routes, middleware and error handlers.

    Subclasses implement `_register`, `_add_middleware` and `_add_error_handler`.
    """

    def _register(self, spec: RouteSpec) -> None:
        raise NotImplementedError

    def _add_middleware(self, spec: MiddlewareSpec) -> None:
        raise NotImplementedError

    def _add_error_handler(
        self, exc_type: type[BaseException], handler: Callable[..., Any]
    ) -> None:
        raise NotImplementedError

    def _add_listener(self, event: ListenerEvent, listener: Callable[..., Any]) -> None:
        raise NotImplementedError

    _middleware_count = 0
    # How many of this registrar's `static` calls took a default name; the first is "static".
    _static_count = 0
    # Whether a route declared with etag=True has registered `route_etags` here.
    _route_etags = False

    def middleware(
        self, kind: MiddlewareKind | Callable[..., Any] = "request", *, priority: int = 0
    ) -> Any:
        """Decorate ``f(request)`` (``"request"``) or ``f(request, response)`` (``"response"``).

        Request middleware runs before the handler, higher ``priority`` first, then in
        registration order; returning a response skips the handler (response middleware still
        runs). Response middleware runs after it, higher ``priority`` first, then in reverse
        registration order; returning a response replaces it. Either may be sync or async. On
        a blueprint it applies only to that blueprint's routes. ``@app.middleware`` without
        arguments registers request middleware.

        Raises:
            ValueError: ``kind`` is neither ``"request"`` nor ``"response"``.
        """
        if callable(kind):
            return self.middleware("request", priority=priority)(kind)
        if kind not in ("request", "response"):
            raise ValueError(f"middleware kind must be 'request' or 'response', not {kind!r}")

        def decorator(fn: F) -> F:
            check_handler(fn, "middleware")
            RouteRegistrar._middleware_count += 1
            self._add_middleware(MiddlewareSpec(fn, kind, priority, self._middleware_count))
            return fn

        return decorator

    def on_request(self, fn: F | None = None, *, priority: int = 0) -> Any:
        """Shorthand for ``@middleware("request")``; usable bare or with ``priority=``."""
        decorator = self.middleware("request", priority=priority)
        return decorator if fn is None else decorator(fn)

    def on_response(self, fn: F | None = None, *, priority: int = 0) -> Any:
        """Shorthand for ``@middleware("response")``; usable bare or with ``priority=``."""
        decorator = self.middleware("response", priority=priority)
        return decorator if fn is None else decorator(fn)

    def exception(
        self, *exceptions: type[BaseException] | Iterable[type[BaseException]]
    ) -> Callable[[F], F]:
        """Decorate ``handler(request, exc) -> response`` for these exception types.

        Types may be given one by one or in lists: ``@app.exception(A, B)`` and
        ``@app.exception([A, B])`` are the same. The handler registered for the nearest class
        in the raised exception's MRO wins; on a blueprint it applies only to errors raised by
        that blueprint's routes, before the app's own handlers are consulted. A plain ``def``
        handler runs in a worker thread (see `trioweb.handlers`). It may answer by returning
        a response or through ``await request.respond()``.

        Raises:
            TypeError: no exception types were given, or one is not an exception class.
        """
        types: list[type[BaseException]] = []
        for item in exceptions:
            group = item if isinstance(item, list | tuple | set | frozenset) else (item,)
            for exc_type in group:
                if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
                    raise TypeError(f"exception() takes exception classes, not {exc_type!r}")
                types.append(exc_type)
        if not types:
            raise TypeError("exception() needs at least one exception type")

        def decorator(fn: F) -> F:
            check_handler(fn, "exception handler")
            for exc_type in types:
                self._add_error_handler(exc_type, fn)
            return fn

        return decorator

    # -- listeners -----------------------------------------------------------------------------

    def listener(
        self, event: ListenerEvent | Callable[..., Any], name: ListenerEvent | None = None
    ) -> Any:
        """Register ``fn(app)`` for a server event: ``@app.listener("before_server_start")``.

        Also ``app.listener(fn, "after_server_stop")``. The events are
        ``before_server_start``, ``after_server_start``, ``before_server_stop`` and
        ``after_server_stop``. A listener may be ``async def`` or plain ``def`` (run on the
        event loop); one declared ``(app, loop)`` as in Sanic gets ``loop=None``, since trio
        has no asyncio loop.

        Raises:
            ValueError: the event is not one of the four.
        """
        if callable(event):
            if name is None:
                raise TypeError("listener(fn, event) needs the event name")
            return self._listen(_check_event(name), event)
        chosen = _check_event(event)

        def decorator(fn: F) -> F:
            return self._listen(chosen, fn)

        return decorator

    def _listen(self, event: ListenerEvent, fn: F) -> F:
        check_handler(fn, "listener")
        self._add_listener(event, fn)
        return fn

    def before_server_start(self, fn: F) -> F:
        """Run ``fn(app)`` before the server listens."""
        return self._listen("before_server_start", fn)

    def after_server_start(self, fn: F) -> F:
        """Run ``fn(app)`` once the server listens."""
        return self._listen("after_server_start", fn)

    def before_server_stop(self, fn: F) -> F:
        """Run ``fn(app)`` when shutdown starts, as connections drain."""
        return self._listen("before_server_stop", fn)

    def after_server_stop(self, fn: F) -> F:
        """Run ``fn(app)`` after every connection has closed."""
        return self._listen("after_server_stop", fn)

    def add_route(
        self,
        handler: Callable[..., Any],
        uri: str,
        methods: Iterable[str] | None = None,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: Host = None,
        version: int | float | str | None = None,
        error_format: str | None = None,
        max_body_size: int | None = None,
        version_prefix: str = "/v",
        etag: bool = False,
        **ctx: Any,
    ) -> Callable[..., Any]:
        """Route ``uri`` to ``handler``: a function, a view's ``as_view()`` or a view object.

        Args:
            handler: Called as ``await handler(request, **path_params)``; a plain ``def``
                runs in a worker thread (see `trioweb.handlers`).
            uri: The path pattern, e.g. ``"/user/<id:int>"``.
            methods: Defaults to the view's methods, or ``["GET"]`` for a function.
            stream: Stream the request body to the handler through ``request.stream``.
            name: The name `App.url_for` knows it by; defaults to the handler's name.
            strict_slashes: When true, ``/a`` and ``/a/`` are different paths.
            host: Match only requests whose ``Host`` header is this (or one of these).
            version: Serve under ``/v<version>`` in front of the path (and any prefix); a
                leading ``v`` is dropped, so ``"v1.1"`` and ``1.1`` both give ``/v1.1``.
            error_format: ``"text"``, ``"json"``, ``"html"`` or ``"auto"`` (from ``Accept``)
                for this route's error pages.
            max_body_size: The largest request body accepted, in bytes (413 beyond it).
                Defaults to ``config.REQUEST_MAX_SIZE`` for buffered bodies and to no limit
                for streamed ones.
            version_prefix: What goes in front of the version (``"/api/v"`` gives
                ``/api/v1/...``).
            etag: Give the route's buffered ``200`` answers to GET and HEAD a strong
                ``ETag`` from a hash of the body, and answer a matching ``If-None-Match``
                with 304 (see `trioweb.compression.etag`); kept as ``route.ctx.etag``.
            **ctx: ``ctx_<name>=value`` keywords, kept as ``route.ctx.<name>`` (seen by
                middleware as ``request.route.ctx``).

        Returns:
            ``handler`` unchanged, so this works as a decorator's body.

        Raises:
            TypeError: ``methods`` is a single string, ``handler`` is not a function, a
                keyword is neither an option nor ``ctx_*``, ``etag`` is not a bool, or
                ``etag`` and ``ctx_etag`` are both given.
            ValueError: ``error_format`` is not one of the four formats.
        """
        uri = _check_uri(uri, "add_route")
        if isinstance(methods, str):
            raise TypeError(f"methods must be a list of names, not the string {methods!r}")
        ctx_items = _ctx_options("add_route", ctx, frozenset())
        if etag is not False:
            ctx_items = self._etag_option(etag, ctx_items)
        target = as_route_target(handler)
        if target is None:
            check_handler(handler, "route handler")
        if methods is None:
            chosen = target.methods if target is not None else frozenset({"GET"})
        else:
            chosen = frozenset(method.upper() for method in methods)
        streamed = chosen if stream else frozenset()
        if target is not None:
            streamed |= target.stream_methods & chosen
        explicit = name is not None
        if name is None:
            name = getattr(handler, "__name__", None) or type(handler).__name__
        self._register(
            RouteSpec(
                handler,
                uri,
                chosen,
                streamed,
                name,
                explicit,
                strict_slashes,
                _hosts(host),
                version,
                check_error_format(error_format),
                max_body_size=_check_size(max_body_size),
                version_prefix=version_prefix,
                ctx=ctx_items,
            )
        )
        return handler

    def add_websocket_route(
        self,
        handler: Callable[..., Any],
        uri: str,
        *,
        subprotocols: Iterable[str] | None = None,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: Host = None,
        version: int | float | str | None = None,
        version_prefix: str = "/v",
        **ctx: Any,
    ) -> Callable[..., Any]:
        """Serve WebSocket connections at ``uri`` with ``handler(request, ws, **params)``.

        ``ws`` is the accepted `trio_websocket.WebSocketConnection`. Request middleware runs
        before the upgrade and may refuse it by returning a response (sent instead of the
        ``101``). A plain GET without upgrade headers gets ``426 Upgrade Required``.

        Args:
            handler: ``async def handler(request, ws, **params)``; returning closes with 1000,
                raising closes with 1011.
            uri: The path pattern, as for `add_route`.
            subprotocols: The subprotocols served, in preference order: the first of them
                the client offers is chosen; with no overlap the connection has none.
            name: The route name for `App.url_for`; defaults to the handler's name.
            strict_slashes: As for `add_route`.
            host: As for `add_route`.
            version: As for `add_route`.
            version_prefix: As for `add_route`.
            **ctx: ``ctx_*`` keywords, as for `add_route`.

        Returns:
            ``handler`` unchanged.

        Raises:
            TypeError: ``subprotocols`` is a single string, or ``handler`` is not an
                ``async def`` function.
        """
        uri = _check_uri(uri, "websocket")
        if isinstance(subprotocols, str):
            raise TypeError(f"subprotocols must be a list of names, not {subprotocols!r}")
        check_handler(handler, "websocket handler")
        if not is_async(handler):
            raise TypeError(
                f"websocket handler {handler!r} must be an async def function: it talks "
                "to the client through the connection's trio streams"
            )
        ctx_items = _ctx_options("websocket", ctx, frozenset())
        explicit = name is not None
        if name is None:
            name = getattr(handler, "__name__", None) or type(handler).__name__
        self._register(
            RouteSpec(
                handler,
                uri,
                frozenset({"GET"}),
                frozenset(),
                name,
                explicit,
                strict_slashes,
                _hosts(host),
                version,
                None,
                None,
                tuple(subprotocols or ()),
                version_prefix=version_prefix,
                ctx=ctx_items,
            )
        )
        return handler

    def websocket(
        self,
        uri: str,
        *,
        subprotocols: Iterable[str] | None = None,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: Host = None,
        version: int | float | str | None = None,
        version_prefix: str = "/v",
        **ctx: Any,
    ) -> Callable[[H], H]:
        """Decorate ``async def handler(request, ws, **params)``; see `add_websocket_route`."""
        uri = _check_uri(uri, "websocket")
        _ctx_options("websocket", ctx, frozenset())

        def decorator(handler: H) -> H:
            self.add_websocket_route(
                handler,
                uri,
                subprotocols=subprotocols,
                name=name,
                strict_slashes=strict_slashes,
                host=host,
                version=version,
                version_prefix=version_prefix,
                **ctx,
            )
            return handler

        return decorator

    def static(
        self,
        uri: str,
        file_or_directory: str | os.PathLike[str],
        pattern: str = DEFAULT_PATTERN,
        use_modified_since: bool = True,
        use_content_range: bool = False,
        stream_large_files: bool | int = False,
        name: str | None = None,
        host: str | None = None,
        strict_slashes: bool | None = None,
        content_type: str | None = None,
        apply: bool = True,
        resource_type: str | None = None,
        index: str | Sequence[str] | None = None,
        directory_view: bool = False,
        directory_handler: DirectoryHandler | None = None,
        follow_external_symlink_files: bool = False,
        follow_external_symlink_dirs: bool = False,
        *,
        max_age: int | None = None,
        chunk_size: int = 64 * 1024,
        precompressed: bool = True,
    ) -> None:
        """Serve a directory's files under ``uri``, or one file at ``uri`` (GET and HEAD).

        Sanic's arguments, in Sanic's order, then ``max_age``, ``chunk_size`` and
        ``precompressed``. A directory
        is served as ``uri/<__file_uri__:path>``. Files are `~trioweb.files.FileResponse`
        responses. Nothing outside the directory is served unless a ``follow_external_*``
        option allows it: ``..`` (encoded or not), absolute paths, backslashes, NUL bytes and
        symlinks leading out answer 404 (the rules are in `trioweb.static`). The directory
        (or file) is resolved once, here, with its symlinks.

        Args:
            uri: The URL prefix (or path, for a file), e.g. ``"/static"``.
            file_or_directory: What to serve.
            pattern: A regular expression the path below ``uri`` (with a leading ``/``) must
                match in full, else 404; by default every path.
            use_modified_since: Send ``Last-Modified`` and ``ETag`` and answer conditional
                requests with 304.
            use_content_range: Answer ``Range`` requests with 206/416 (and send
                ``Accept-Ranges``); when ``False`` a ``Range`` gets the whole file.
            stream_large_files: ``True``: files of 1 MiB or more are read in ``chunk_size``
                pieces, smaller ones in one go; an int sets that size. ``False``: files larger
                than one chunk are read in pieces (never a whole large file in memory).
            name: The route name for ``url_for`` (``url_for(name, __file_uri__="a.css")``).
                Defaults to ``"static"`` for the first call, then ``"static_<uri slug>"``.
                A directory's own URI route is called ``"<name>_index"``.
            host: As for `add_route`.
            strict_slashes: As for `add_route`.
            content_type: Send every file with this ``Content-Type`` instead of a guess.
            apply: Must be ``True``: the routes are added at once.
            resource_type: ``"file"`` or ``"dir"``: what ``file_or_directory`` must be.
            index: File name(s) tried in order for a directory, e.g. ``"index.html"``.
            directory_view: Answer a directory without an index with an HTML listing.
            directory_handler: An object whose ``async handle(request, path)`` answers
                requests for directories (instead of ``index``/``directory_view``).
            follow_external_symlink_files: Serve symlinks to files outside the directory.
            follow_external_symlink_dirs: Serve files in symlinked directories outside it.
            max_age: Send ``Cache-Control: public, max-age=<max_age>``.
            chunk_size: The size of each piece read and sent.
            precompressed: Answer a request for a compressible file from a sibling
                compressed ahead of time (``app.js.br``, ``app.js.zst``, ``app.js.gz``) when
                there is one the client accepts (``Accept-Encoding``), with the original's
                type, ``Content-Encoding`` and ``Vary: Accept-Encoding``. Conditional and
                range requests are answered from the file sent (see docs/compression.md).

        Raises:
            FileNotFoundError: ``file_or_directory`` is neither a directory nor a file.
            TypeError: ``resource_type`` does not match, or an argument has the wrong type.
            ValueError: a value is out of range (``chunk_size``, ``max_age``, ``pattern``,
                ``resource_type``, ``stream_large_files``, ``apply=False``), or
                ``directory_handler`` comes with ``index`` or ``directory_view``.
            trioweb.exceptions.RouteExists: the name or path is already taken.
        """
        if not apply:
            raise ValueError("static(apply=False) is not supported: the routes are added at once")
        routes = static_routes(
            uri,
            file_or_directory,
            pattern=pattern,
            use_modified_since=use_modified_since,
            use_content_range=use_content_range,
            stream_large_files=stream_large_files,
            content_type=content_type,
            resource_type=resource_type,
            index=index,
            directory_view=directory_view,
            directory_handler=directory_handler,
            follow_external_symlink_files=follow_external_symlink_files,
            follow_external_symlink_dirs=follow_external_symlink_dirs,
            max_age=max_age,
            chunk_size=chunk_size,
            precompressed=precompressed,
        )
        if name is None:
            slug = re.sub(r"[^0-9A-Za-z]+", "_", uri).strip("_") or "root"
            name = "static" if self._static_count == 0 else f"static_{slug}"
            self._static_count += 1
        for route in routes:
            self.add_route(
                route.handler,
                route.uri,
                ["GET", "HEAD"],
                name=name + route.name_suffix,
                strict_slashes=strict_slashes,
                host=host,
            )

    def route(
        self,
        uri: str,
        methods: Iterable[str] | None = None,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: Host = None,
        version: int | float | str | None = None,
        error_format: str | None = None,
        max_body_size: int | None = None,
        version_prefix: str = "/v",
        etag: bool = False,
        **ctx: Any,
    ) -> Callable[[H], H]:
        """Decorate a handler to serve ``uri``; see `add_route` for the arguments.

        Raises:
            TypeError: used without parentheses (``@app.route``), or an unknown keyword.
        """
        # A mistake fails where it is written, not when the decorator is applied.
        uri = _check_uri(uri, "route")
        check_error_format(error_format)
        _check_size(max_body_size)
        _ctx_options("route", ctx, frozenset())
        _check_etag(etag, ctx)

        def decorator(handler: H) -> H:
            self.add_route(
                handler,
                uri,
                methods,
                stream=stream,
                name=name,
                strict_slashes=strict_slashes,
                host=host,
                version=version,
                error_format=error_format,
                max_body_size=max_body_size,
                version_prefix=version_prefix,
                etag=etag,
                **ctx,
            )
            return handler

        return decorator

    def _etag_option(
        self, etag: bool, ctx_items: tuple[tuple[str, Any], ...]
    ) -> tuple[tuple[str, Any], ...]:
        """``ctx_items`` with ``etag`` as ``route.ctx.etag``; `route_etags` registered once."""
        _check_etag(etag, dict(ctx_items))
        if not self._route_etags:
            self._route_etags = True
            self.on_response(route_etags, priority=ETAG_PRIORITY)
        return (*ctx_items, ("etag", True))

    def _method(
        self, method: str, uri: str, options: Mapping[str, Any], allowed: frozenset[str]
    ) -> Callable[[H], H]:
        name = method.lower()
        uri = _check_uri(uri, name)
        _ctx_options(name, options, allowed)
        return self.route(uri, [method], **options)

    # The verb decorators take the keywords of `add_route` (``name``, ``strict_slashes``,
    # ``host``, ``version``, ``version_prefix``, ``error_format``, ``etag``, ``ctx_*``);
    # ``post``, ``put`` and ``patch`` also take ``stream`` and ``max_body_size``. An unknown
    # keyword is a TypeError where the decorator is written.

    def get(self, uri: str, **options: Any) -> Callable[[H], H]:
        """Decorate a GET handler (it also answers HEAD, without a body); see `add_route`."""
        return self._method("GET", uri, options, _ROUTE_OPTIONS)

    def head(self, uri: str, **options: Any) -> Callable[[H], H]:
        """Decorate a HEAD handler; see `add_route` for the options."""
        return self._method("HEAD", uri, options, _ROUTE_OPTIONS)

    def options(self, uri: str, **options: Any) -> Callable[[H], H]:
        """Decorate an OPTIONS handler; see `add_route` for the options."""
        return self._method("OPTIONS", uri, options, _ROUTE_OPTIONS)

    def delete(self, uri: str, **options: Any) -> Callable[[H], H]:
        """Decorate a DELETE handler; see `add_route` for the options."""
        return self._method("DELETE", uri, options, _ROUTE_OPTIONS)

    def post(self, uri: str, **options: Any) -> Callable[[H], H]:
        """Decorate a POST handler; ``stream=True`` streams the body through ``request.stream``.

        See `add_route` for the other options (``max_body_size`` among them).
        """
        return self._method("POST", uri, options, _BODY_ROUTE_OPTIONS)

    def put(self, uri: str, **options: Any) -> Callable[[H], H]:
        """Decorate a PUT handler; ``stream=True`` streams the body through ``request.stream``."""
        return self._method("PUT", uri, options, _BODY_ROUTE_OPTIONS)

    def patch(self, uri: str, **options: Any) -> Callable[[H], H]:
        """Decorate a PATCH handler; ``stream=True`` streams the body through ``request.stream``."""
        return self._method("PATCH", uri, options, _BODY_ROUTE_OPTIONS)
