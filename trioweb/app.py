"""`App`: routes, blueprints, middleware, error handlers, listeners, and the ways to serve it.

The app is a composition: a `Router` resolves paths, a list of middleware wraps handlers, a
table maps exception types to handlers, and `trioweb.server` runs it on sockets. The server
talks to the app only through `match` and `dispatch`.
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlencode

import trio

from .blueprints import Blueprint, BlueprintGroup
from .config import Config
from .exceptions import ClientDisconnected, HTTPException, NotFound, ServerError, URLBuildError
from .registrar import RouteRegistrar, RouteSpec
from .request import Request
from .response import BaseHTTPResponse, HTTPResponse, text
from .router import Route, Router

if TYPE_CHECKING:
    import ssl as _ssl

    import httpx

    from .server.serve import Server

__all__ = ["App"]

logger = logging.getLogger("trioweb.error")

F = TypeVar("F", bound=Callable[..., Any])
Listener = Callable[["App"], Awaitable[None]]
ListenerEvent = Literal[
    "before_server_start", "after_server_start", "before_server_stop", "after_server_stop"
]
RequestMiddleware = Callable[[Request], Any]
ResponseMiddleware = Callable[[Request, BaseHTTPResponse], Any]
ErrorHandler = Callable[[Request, BaseException], Awaitable[BaseHTTPResponse]]


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class App(RouteRegistrar):
    """A trioweb application.

    Declare routes with the decorators (``@app.get("/")``, ``@app.post("/up", stream=True)``),
    then serve it: ``app.run()`` from a script, ``await nursery.start(app.serve, host, port)``
    inside a trio program, or ``app.test_client()`` in tests.

    Args:
        name: A label for logs and the CLI; defaults to ``"trioweb"``.
        config: Settings; defaults to `Config` with its documented defaults.
    """

    def __init__(self, name: str = "trioweb", *, config: Config | None = None) -> None:
        self.name = name
        self.config = config if config is not None else Config()
        self.router = Router()
        self.ctx = SimpleNamespace()
        self.request_middleware: list[RequestMiddleware] = []
        self.response_middleware: list[ResponseMiddleware] = []
        self.error_handlers: dict[type[BaseException], ErrorHandler] = {}
        self.listeners: dict[ListenerEvent, list[Listener]] = {
            "before_server_start": [],
            "after_server_start": [],
            "before_server_stop": [],
            "after_server_stop": [],
        }
        self.tasks: list[tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]] = []
        self.blueprints: dict[str, Blueprint] = {}
        # Set by the server while it runs, so `add_task` can start work at once.
        self._task_nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        return f"App({self.name!r})"

    # -- routes ---------------------------------------------------------------------------------

    def _register(self, spec: RouteSpec) -> None:
        name = spec.name
        if not spec.name_is_explicit:
            # The same function stacked under several paths keeps its name for the first and
            # gets a numbered one after; two different functions of one name still clash.
            existing = self._route_named(name)
            number = 2
            while existing is not None and existing.handler is spec.handler:
                name = f"{spec.name}_{number}"
                existing, number = self._route_named(name), number + 1
        self.router.add(
            Route(
                spec.handler,
                spec.uri,
                spec.methods,
                name,
                stream_methods=spec.stream_methods,
                strict_slashes=bool(spec.strict_slashes),
                host=spec.host,
            )
        )

    def _route_named(self, name: str) -> Route | None:
        try:
            return self.router.by_name(name)
        except URLBuildError:
            return None

    def blueprint(
        self, blueprint: Blueprint | BlueprintGroup, *, url_prefix: str | None = None
    ) -> None:
        """Register a blueprint's routes (or every blueprint of a group) on this app.

        Raises:
            ValueError: a blueprint with the same name is already registered.
        """
        if isinstance(blueprint, BlueprintGroup):
            entries = list(blueprint.flatten(url_prefix))
        else:
            entries = [(blueprint, url_prefix)]
        # Check every name first, so a clash leaves the app as it was.
        names = [bp.name for bp, _ in entries]
        for name in names:
            if name in self.blueprints or names.count(name) > 1:
                raise ValueError(f"a blueprint named {name!r} is already registered")
        for bp, prefix in entries:
            self.blueprints[bp.name] = bp
            for spec in bp.route_specs(prefix):
                self._register(spec)

    def url_for(self, name: str, /, *, _anchor: str | None = None, **params: Any) -> str:
        """The path of the route called ``name``; parameters it does not use form the query.

        Example: ``app.url_for("user", id=3, tab="posts")`` -> ``"/user/3?tab=posts"``.
        ``name`` is positional-only, so a route parameter may be called ``name`` too.

        Raises:
            URLBuildError: no route has that name, or a path parameter is missing or misfits.
        """
        route = self.router.by_name(name)
        path = route.url_path(params)
        query = [(k, v) for k, v in params.items() if k not in route.param_names]
        if query:
            path += "?" + urlencode(query, doseq=True)
        if _anchor:
            path += "#" + _anchor
        return path

    # -- middleware, errors, listeners, tasks -----------------------------------------------------

    def middleware(self, kind: Literal["request", "response"] = "request") -> Callable[[F], F]:
        """Decorate ``f(request)`` (``"request"``) or ``f(request, response)`` (``"response"``).

        Request middleware runs in registration order before the handler; returning a response
        skips the handler. Response middleware runs in reverse order after it; returning a
        response replaces it. Either may be sync or async.
        """
        if kind not in ("request", "response"):
            raise ValueError(f"middleware kind must be 'request' or 'response', not {kind!r}")

        def decorator(fn: F) -> F:
            if kind == "request":
                self.request_middleware.append(fn)
            else:
                self.response_middleware.insert(0, fn)
            return fn

        return decorator

    def on_request(self, fn: F) -> F:
        """Shorthand for ``@app.middleware("request")``."""
        return self.middleware("request")(fn)

    def on_response(self, fn: F) -> F:
        """Shorthand for ``@app.middleware("response")``."""
        return self.middleware("response")(fn)

    def exception(self, *exceptions: type[BaseException]) -> Callable[[F], F]:
        """Decorate ``async def handler(request, exc) -> response`` for these exception types.

        The handler for the nearest class in the raised exception's MRO is used.
        """
        if not exceptions:
            raise TypeError("exception() needs at least one exception type")

        def decorator(fn: F) -> F:
            for exc_type in exceptions:
                self.error_handlers[exc_type] = fn
            return fn

        return decorator

    def _listener(self, event: ListenerEvent) -> Callable[[F], F]:
        def decorator(fn: F) -> F:
            self.listeners[event].append(fn)
            return fn

        return decorator

    def before_server_start(self, fn: F) -> F:
        """Run ``await fn(app)`` before the server listens."""
        return self._listener("before_server_start")(fn)

    def after_server_start(self, fn: F) -> F:
        """Run ``await fn(app)`` once the server listens."""
        return self._listener("after_server_start")(fn)

    def before_server_stop(self, fn: F) -> F:
        """Run ``await fn(app)`` when shutdown starts, before connections drain."""
        return self._listener("before_server_stop")(fn)

    def after_server_stop(self, fn: F) -> F:
        """Run ``await fn(app)`` after every connection has closed."""
        return self._listener("after_server_stop")(fn)

    def add_task(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``await async_fn(*args)`` in the server's nursery while it serves.

        Tasks start after ``after_server_start`` and are cancelled when the server stops.
        Added while the server is running, the task starts at once.
        """
        self.tasks.append((async_fn, args))
        if self._task_nursery is not None:
            self._task_nursery.start_soon(async_fn, *args)

    # -- the interface the server uses ------------------------------------------------------------

    def match(self, request: Request) -> bool:
        """Route ``request``: set ``request.route`` and ``match_info``; say whether it streams.

        A request that routes nowhere is left with ``route = None``; `dispatch` answers it.
        """
        try:
            match = self.router.resolve(
                request.method, request.raw_path, request.headers.get("host")
            )
        except HTTPException as exc:
            request._route_error = exc
            return False
        request.route = match.route
        request.match_info = match.params
        return match.route.is_stream(request.method)

    async def dispatch(self, request: Request) -> BaseHTTPResponse | None:
        """Run middleware and the handler for a matched request; turn errors into responses.

        Returns ``None`` when the handler answered through ``request.respond()``. Raises only
        what must not become a response: cancellation, and errors after the response started.
        """
        try:
            response = (await self._run_handler(request)).for_request(request)
            for middleware in self.response_middleware:
                replaced = await _maybe_await(middleware(request, response))
                if isinstance(replaced, BaseHTTPResponse):
                    response = replaced
            return response
        except ClientDisconnected:
            raise
        except Exception as exc:
            if request.response is not None:
                raise  # bytes already went out: the connection aborts the message
            return await self.handle_error(request, exc)

    async def _run_handler(self, request: Request) -> BaseHTTPResponse:
        for middleware in self.request_middleware:
            early = await _maybe_await(middleware(request))
            if isinstance(early, BaseHTTPResponse):
                return early
        route = request.route
        if route is None:
            raise request._route_error or NotFound()
        response = await route.handler(request, **request.match_info)
        if request.response is not None:
            if response is None or response is request.response:
                await request.response.eof()
                return request.response
            raise ServerError("the handler returned a response after calling request.respond()")
        if not isinstance(response, BaseHTTPResponse):
            raise ServerError(
                f"handler {route.name!r} returned {type(response).__name__}, not a response"
            )
        return response

    async def handle_error(self, request: Request, exc: BaseException) -> BaseHTTPResponse:
        """The response for ``exc``: from a registered handler, else a default error page."""
        for exc_type in type(exc).__mro__:
            handler = self.error_handlers.get(exc_type)
            if handler is not None:
                try:
                    response = await handler(request, exc)
                except Exception:
                    logger.exception("error handler for %s failed", type(exc).__name__)
                    return text("500 Internal Server Error\n", 500)
                if isinstance(response, BaseHTTPResponse):
                    return response
                logger.error(
                    "error handler for %s returned %s, not a response",
                    type(exc).__name__, type(response).__name__,
                )
                return text("500 Internal Server Error\n", 500)
        return self.error_response(exc)

    def error_response(self, exc: BaseException) -> HTTPResponse:
        """The default page for ``exc``: its message for an `HTTPException`, else a plain 500."""
        if isinstance(exc, HTTPException):
            if not exc.quiet:
                logger.error("%s", exc.message, exc_info=exc)
            return text(f"{exc.status_code} {exc.message}\n", exc.status_code, exc.headers)
        logger.error("unhandled error in handler", exc_info=exc)
        body = "500 Internal Server Error\n"
        if self.config.DEBUG:
            body += "".join(traceback.format_exception(exc))
        return text(body, 500)

    # -- serving ------------------------------------------------------------------------------

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        ssl: _ssl.SSLContext | None = None,
        reuse_port: bool = False,
        task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve the app on ``host:port`` until cancelled or ``await server.shutdown()``.

        ``await nursery.start(app.serve, host, port)`` returns the running `Server` once it
        listens (``server.port`` is the real one when ``port=0``). Installs no signal
        handlers. Cancelling it stops everything at once; `Server.shutdown` stops gracefully.
        """
        from .server.serve import open_listeners, serve_listeners

        listeners = await open_listeners(
            host, port, ssl=ssl, reuse_port=reuse_port, backlog=self.config.BACKLOG
        )
        await serve_listeners(self, listeners, task_status=task_status)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        workers: int = 1,
        ssl: _ssl.SSLContext | None = None,
        debug: bool = False,
        access_log: bool = True,
    ) -> None:
        """Serve until SIGINT/SIGTERM: the first stops gracefully, a second at once.

        ``workers > 1`` forks that many processes sharing the port (``SO_REUSEPORT``).
        """
        from .server.run import run_app

        self.config.DEBUG = debug
        self.config.ACCESS_LOG = access_log
        run_app(self, host, port, workers=workers, ssl=ssl)

    def test_client(self, **client_kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` that talks to this app over in-memory streams.

        Requests go through the real connection code (h11, streaming, disconnects); use it
        as ``async with app.test_client() as client:``. Listeners and tasks run as in `serve`.
        """
        from .testing import TestClient

        return TestClient(self, **client_kwargs)
