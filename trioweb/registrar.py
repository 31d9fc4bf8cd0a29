"""The route decorators that `App` and `Blueprint` share.

Both collect `RouteSpec` values; an app turns them into router entries at once, a blueprint
keeps them until it is registered on an app (which adds its prefix and name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar, Unpack

from .files import FileResponse, guess_content_type, resolve_static_path
from .views import as_route_target

if TYPE_CHECKING:
    from .request import Request

__all__ = ["MiddlewareSpec", "RouteRegistrar", "RouteSpec", "check_error_format"]

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
    host: str | None = None
    version: int | str | None = None
    error_format: str | None = None
    #: The blueprint that declared it; set when the blueprint is registered on an app.
    blueprint: str | None = None
    #: For a websocket route, the subprotocols it speaks in preference order (maybe none).
    websocket: tuple[str, ...] | None = None
    #: The largest request body the route accepts (413 past it); None: the config's default.
    max_body_size: int | None = None


MiddlewareKind = Literal["request", "response"]


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


class RouteOptions(TypedDict, total=False):
    """The keyword options every method decorator takes (see `RouteRegistrar.add_route`)."""

    name: str | None
    strict_slashes: bool | None
    host: str | None
    version: int | str | None
    error_format: str | None


class BodyRouteOptions(RouteOptions, total=False):
    """What ``post``/``put``/``patch`` take besides: their body may stream or be capped."""

    stream: bool
    max_body_size: int | None


_ROUTE_OPTIONS = frozenset(RouteOptions.__annotations__)
_BODY_ROUTE_OPTIONS = frozenset(BodyRouteOptions.__annotations__) | _ROUTE_OPTIONS


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

    _middleware_count = 0
    # How many of this registrar's `static` calls took a default name; the first is "static".
    _static_count = 0

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

    def exception(self, *exceptions: type[BaseException]) -> Callable[[F], F]:
        """Decorate ``async def handler(request, exc) -> response`` for these exception types.

        The handler registered for the nearest class in the raised exception's MRO wins; on a
        blueprint it applies only to errors raised by that blueprint's routes, before the
        app's own handlers are consulted.

        Raises:
            TypeError: no exception types were given, or one is not an exception class.
        """
        if not exceptions:
            raise TypeError("exception() needs at least one exception type")
        for exc_type in exceptions:
            if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
                raise TypeError(f"exception() takes exception classes, not {exc_type!r}")

        def decorator(fn: F) -> F:
            for exc_type in exceptions:
                self._add_error_handler(exc_type, fn)
            return fn

        return decorator

    def add_route(
        self,
        handler: Callable[..., Any],
        uri: str,
        methods: Iterable[str] | None = None,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
        version: int | str | None = None,
        error_format: str | None = None,
        max_body_size: int | None = None,
    ) -> Callable[..., Any]:
        """Route ``uri`` to ``handler``: an async function, a view's ``as_view()`` or a view object.

        Args:
            handler: Called as ``await handler(request, **path_params)``.
            uri: The path pattern, e.g. ``"/user/<id:int>"``.
            methods: Defaults to the view's methods, or ``["GET"]`` for a function.
            stream: Stream the request body to the handler through ``request.stream``.
            name: The name `App.url_for` knows it by; defaults to the handler's name.
            strict_slashes: When true, ``/a`` and ``/a/`` are different paths.
            host: Match only requests whose ``Host`` header is this.
            version: Serve under ``/v<version>`` in front of the path (and any prefix).
            error_format: ``"text"``, ``"json"``, ``"html"`` or ``"auto"`` (from ``Accept``)
                for this route's error pages.
            max_body_size: The largest request body accepted, in bytes (413 beyond it).
                Defaults to ``config.REQUEST_MAX_SIZE`` for buffered bodies and to no limit
                for streamed ones.

        Returns:
            ``handler`` unchanged, so this works as a decorator's body.

        Raises:
            TypeError: ``methods`` is a single string, or ``handler`` is not callable.
            ValueError: ``error_format`` is not one of the four formats.
        """
        if isinstance(methods, str):
            raise TypeError(f"methods must be a list of names, not the string {methods!r}")
        target = as_route_target(handler)
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
                host,
                version,
                check_error_format(error_format),
                max_body_size=_check_size(max_body_size),
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
        host: str | None = None,
        version: int | str | None = None,
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

        Returns:
            ``handler`` unchanged.

        Raises:
            TypeError: ``subprotocols`` is a single string.
        """
        if isinstance(subprotocols, str):
            raise TypeError(f"subprotocols must be a list of names, not {subprotocols!r}")
        if not callable(handler):
            raise TypeError(f"websocket handler must be callable, got {handler!r}")
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
                host,
                version,
                None,
                None,
                tuple(subprotocols or ()),
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
        host: str | None = None,
        version: int | str | None = None,
    ) -> Callable[[H], H]:
        """Decorate ``async def handler(request, ws, **params)``; see `add_websocket_route`."""

        def decorator(handler: H) -> H:
            self.add_websocket_route(
                handler,
                uri,
                subprotocols=subprotocols,
                name=name,
                strict_slashes=strict_slashes,
                host=host,
                version=version,
            )
            return handler

        return decorator

    def static(
        self,
        uri: str,
        file_or_directory: str | os.PathLike[str],
        *,
        index: str | Sequence[str] | None = None,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
        max_age: int | None = None,
        chunk_size: int = 64 * 1024,
    ) -> None:
        """Serve a directory's files under ``uri``, or one file at ``uri`` (GET and HEAD).

        A directory is served as ``uri/<__file_uri__:path>``; with ``index``, ``uri`` itself
        and every sub-directory answer with their index file, else a directory is 404. Files
        are `~trioweb.files.FileResponse` responses: conditional and range requests work,
        and they are sent in ``chunk_size`` pieces. Nothing outside the directory is ever
        served: ``..`` (encoded or not), absolute paths, backslashes, NUL bytes and symlinks
        leading out all answer 404 (see `trioweb.files.resolve_static_path`). The directory
        (or file) is resolved once, here, with its symlinks.

        Args:
            uri: The URL prefix (or path, for a file), e.g. ``"/static"``.
            file_or_directory: What to serve.
            index: File name(s) tried in order for a directory, e.g. ``"index.html"``.
            name: The route name for ``url_for`` (``url_for(name, __file_uri__="a.css")``).
                Defaults to ``"static"`` for the first call, then ``"static_<uri slug>"``.
                A directory's index route is called ``"<name>_index"``.
            strict_slashes: As for `add_route`.
            host: As for `add_route`.
            max_age: Send ``Cache-Control: public, max-age=<max_age>``.
            chunk_size: The size of each piece sent.

        Raises:
            FileNotFoundError: ``file_or_directory`` is neither a directory nor a file.
            ValueError: ``chunk_size`` is not positive or ``max_age`` is negative.
            trioweb.exceptions.RouteExists: the name or path is already taken.
        """
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        if max_age is not None and max_age < 0:
            raise ValueError(f"max_age must not be negative, got {max_age}")
        indexes = (index,) if isinstance(index, str) else tuple(index or ())
        # Resolved once, at registration (a blocking call, but at startup): the fixed root
        # every request's path is checked against.
        root = os.path.realpath(file_or_directory)
        if not (os.path.isdir(root) or os.path.isfile(root)):
            raise FileNotFoundError(f"static() has nothing to serve at {file_or_directory!r}")
        if name is None:
            slug = re.sub(r"[^0-9A-Za-z]+", "_", uri).strip("_") or "root"
            name = "static" if self._static_count == 0 else f"static_{slug}"
            self._static_count += 1
        methods = ["GET", "HEAD"]

        if os.path.isdir(root):

            async def serve_directory(request: Request, __file_uri__: str = "") -> FileResponse:
                path, found = await resolve_static_path(root, __file_uri__, indexes)
                return FileResponse(path, found, max_age=max_age, chunk_size=chunk_size)

            pattern = uri.rstrip("/") + "/<__file_uri__:path>"
            options: dict[str, Any] = {"strict_slashes": strict_slashes, "host": host}
            self.add_route(serve_directory, pattern, methods, name=name, **options)
            if indexes:
                self.add_route(serve_directory, uri, methods, name=f"{name}_index", **options)
            return
        # The type comes from the name given, which a symlink's target may not share.
        mime_type = guess_content_type(file_or_directory)
        folder, file_name = os.path.split(root)

        async def serve_file(request: Request) -> FileResponse:
            # Checked per request: the file may have been replaced (by a symlink, even).
            path, found = await resolve_static_path(folder, file_name)
            return FileResponse(
                path, found, mime_type=mime_type, max_age=max_age, chunk_size=chunk_size
            )

        self.add_route(
            serve_file, uri, methods, name=name, strict_slashes=strict_slashes, host=host
        )

    def route(
        self,
        uri: str,
        methods: Iterable[str] | None = None,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
        version: int | str | None = None,
        error_format: str | None = None,
        max_body_size: int | None = None,
    ) -> Callable[[H], H]:
        """Decorate a handler to serve ``uri``; see `add_route` for the arguments."""
        # A mistake fails where it is written, not when the decorator is applied.
        check_error_format(error_format)
        _check_size(max_body_size)

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
            )
            return handler

        return decorator

    def _method(
        self, method: str, uri: str, options: Mapping[str, Any], allowed: frozenset[str]
    ) -> Callable[[H], H]:
        # Unpack[...] checks the keywords statically; this keeps `get(stream=True)` a
        # TypeError at run time too, as a written-out signature would.
        for key in options:
            if key not in allowed:
                raise TypeError(f"{method.lower()}() got an unexpected keyword argument {key!r}")
        return self.route(uri, [method], **options)

    def get(self, uri: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """Decorate a GET handler (it also answers HEAD, without a body); see `add_route`."""
        return self._method("GET", uri, options, _ROUTE_OPTIONS)

    def head(self, uri: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """Decorate a HEAD handler; see `add_route` for the options."""
        return self._method("HEAD", uri, options, _ROUTE_OPTIONS)

    def options(self, uri: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """Decorate an OPTIONS handler; see `add_route` for the options."""
        return self._method("OPTIONS", uri, options, _ROUTE_OPTIONS)

    def delete(self, uri: str, **options: Unpack[RouteOptions]) -> Callable[[H], H]:
        """Decorate a DELETE handler; see `add_route` for the options."""
        return self._method("DELETE", uri, options, _ROUTE_OPTIONS)

    def post(self, uri: str, **options: Unpack[BodyRouteOptions]) -> Callable[[H], H]:
        """Decorate a POST handler; ``stream=True`` streams the body through ``request.stream``.

        See `add_route` for the other options (``max_body_size`` among them).
        """
        return self._method("POST", uri, options, _BODY_ROUTE_OPTIONS)

    def put(self, uri: str, **options: Unpack[BodyRouteOptions]) -> Callable[[H], H]:
        """Decorate a PUT handler; ``stream=True`` streams the body through ``request.stream``."""
        return self._method("PUT", uri, options, _BODY_ROUTE_OPTIONS)

    def patch(self, uri: str, **options: Unpack[BodyRouteOptions]) -> Callable[[H], H]:
        """Decorate a PATCH handler; ``stream=True`` streams the body through ``request.stream``."""
        return self._method("PATCH", uri, options, _BODY_ROUTE_OPTIONS)
