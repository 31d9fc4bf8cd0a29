"""`App`: routes, blueprints, middleware, error handlers, listeners, and the ways to serve it.

The app is a composition: a `Router` resolves paths, a list of middleware wraps handlers, a
table maps exception types to handlers, and `trioweb.server` runs it on sockets.

Servers (``trioweb.server``, the test client, later an ASGI adapter) drive the app through
one small protocol, and nothing else:

- `App.plan`: route a request from its head and say how to read its body (a `RequestPlan`);
- `App.dispatch`: run middleware and the handler, errors turned into responses;
- `App.handle_error`: the response for an error the server met itself (a bad head, a body
  that failed, a timeout);
- `App.before_upgrade`: run request middleware for a WebSocket upgrade, which may refuse it;
- `App.lifespan`: the listeners and ``add_task`` work around a server's life.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urlencode

import trio

from .blueprints import Blueprint, BlueprintGroup, join_paths
from .config import Config
from .errorpages import choose_format, render_error
from .exceptions import ClientDisconnected, HTTPException, NotFound, ServerError, URLBuildError
from .lifespan import Lifespan
from .middleware import ErrorHandlers, MiddlewareStack
from .registrar import MiddlewareSpec, RouteRegistrar, RouteSpec
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


def _route_named(router: Router, name: str) -> Route | None:
    try:
        return router.by_name(name)
    except URLBuildError:
        return None


def _sole_error(exc: BaseException) -> BaseException:
    """The one error inside (nested) exception groups, or ``exc`` itself.

    trio wraps what a nursery raises in a group; a handler that raised `NotFound` from a
    task must still get a 404.
    """
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """What the app decided about a request from its head, before any body is read.

    Attributes:
        streaming: The handler reads the body as it arrives (``request.stream``); else the
            server reads it whole first (``request.body``).
        body_limit: The most body bytes the server reads (413 past it); ``None``: no limit.
        memory_limit: The most bytes ``request.receive_body()`` gathers in memory.
        websocket: The subprotocols of a WebSocket route (maybe empty); ``None`` for HTTP.
        error: The routing error (404, 405) to answer instead of running a handler.
    """

    streaming: bool
    body_limit: int | None
    memory_limit: int | None
    websocket: tuple[str, ...] | None = None
    error: HTTPException | None = None


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """What the app knows of a route beyond its pattern and handler."""

    blueprint: str | None
    error_format: str | None
    #: Subprotocols for a websocket route (maybe empty); ``None`` for an HTTP route.
    websocket: tuple[str, ...] | None
    max_body_size: int | None = None


class App(RouteRegistrar):
    """A trioweb application.

    Declare routes with the decorators (``@app.get("/")``, ``@app.post("/up", stream=True)``),
    then serve it: ``app.run()`` from a script, ``await nursery.start(app.serve, host, port)``
    inside a trio program, or ``app.test_client()`` in tests.

    Args:
        name: A label for logs and the CLI; defaults to ``"trioweb"``.
        config: Settings; defaults to `Config` with its documented defaults.
        env_prefix: Environment variables with this prefix set config values at start-up
            (``TRIOWEB_REQUEST_MAX_SIZE=1000``); ``None`` reads none.
        strict_slashes: Default for routes: when true, ``/a`` and ``/a/`` differ.
    """

    def __init__(
        self,
        name: str = "trioweb",
        *,
        config: Config | None = None,
        env_prefix: str | None = "TRIOWEB_",
        strict_slashes: bool = False,
    ) -> None:
        self.name = name
        self.config = config if config is not None else Config()
        if env_prefix:
            self.config.load_environment(env_prefix)
        self.strict_slashes = strict_slashes
        self.router = Router()
        self.ctx = SimpleNamespace()
        self.middleware_stack = MiddlewareStack()
        self.error_handlers = ErrorHandlers()
        # Per route name: what the router does not keep (blueprint, error format, websocket).
        self._route_info: dict[str, RouteInfo] = {}
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
        # Plans by route name, (buffered, streaming), made on first use; settings are read
        # when serving starts, so `lifespan` clears it.
        self._plans: dict[str, tuple[RequestPlan, RequestPlan]] = {}

    def __repr__(self) -> str:
        return f"App({self.name!r})"

    # -- routes ---------------------------------------------------------------------------------

    def _register(self, spec: RouteSpec) -> None:
        route = self._build_route(spec, self.router)
        self.router.add(route)
        self._route_info[route.name] = RouteInfo(
            spec.blueprint, spec.error_format, spec.websocket, spec.max_body_size
        )

    def _build_route(self, spec: RouteSpec, router: Router) -> Route:
        name = spec.name
        if not spec.name_is_explicit:
            # The same function stacked under several paths keeps its name for the first and
            # gets a numbered one after; two different functions of one name still clash.
            existing = _route_named(router, name)
            number = 2
            while existing is not None and existing.handler is spec.handler:
                name = f"{spec.name}_{number}"
                existing, number = _route_named(router, name), number + 1
        uri = spec.uri
        if spec.version is not None:
            uri = join_paths(f"/v{spec.version}", uri)
        strict = spec.strict_slashes if spec.strict_slashes is not None else self.strict_slashes
        return Route(
            spec.handler,
            uri,
            spec.methods,
            name,
            stream_methods=spec.stream_methods,
            strict_slashes=strict,
            host=spec.host,
        )

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
        # Routes too: a clashing path or name raises from this trial, before anything changes.
        trial = Router()
        for route in self.router.routes:
            trial.add(route)
        for bp, prefix in entries:
            for spec in bp.route_specs(prefix):
                trial.add(self._build_route(spec, trial))
        for bp, prefix in entries:
            self.blueprints[bp.name] = bp
            bp.registered = True
            for spec in bp.route_specs(prefix):
                self._register(spec)
            for middleware in bp.middleware_specs:
                self.middleware_stack.add(middleware, bp.name)
            for exc_type, handler in bp.error_handler_specs:
                self.error_handlers.add(exc_type, handler, bp.name)

    def url_for(
        self,
        name: str,
        /,
        *,
        _anchor: str | None = None,
        _external: bool = False,
        _scheme: str = "http",
        _server: str | None = None,
        **params: Any,
    ) -> str:
        """The path of the route called ``name``; parameters it does not use form the query.

        Example: ``app.url_for("user", id=3, tab="posts")`` -> ``"/user/3?tab=posts"``.
        ``name`` is positional-only, so a route parameter may be called ``name`` too.
        ``_external=True`` gives a full URL on ``_server`` (default ``config.SERVER_NAME``)
        with ``_scheme``; ``_anchor`` adds a fragment.

        Raises:
            URLBuildError: no route has that name, a path parameter is missing or misfits, or
                an external URL has no server name.
        """
        route = self.router.by_name(name)
        path = route.url_path(params)
        query = [(k, v) for k, v in params.items() if k not in route.param_names]
        if query:
            path += "?" + urlencode(query, doseq=True)
        if _anchor:
            path += "#" + quote(_anchor, safe="")
        if _external:
            server = _server or self.config.SERVER_NAME
            if not server:
                raise URLBuildError("an external URL needs _server= or config.SERVER_NAME")
            path = f"{_scheme}://{server}{path}"
        return path

    # -- middleware, errors, listeners, tasks -----------------------------------------------------

    def _add_middleware(self, spec: MiddlewareSpec) -> None:
        self.middleware_stack.add(spec)

    def _add_error_handler(
        self, exc_type: type[BaseException], handler: Callable[..., Any]
    ) -> None:
        self.error_handlers.add(exc_type, handler)

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
        """Run ``await fn(app)`` when shutdown starts, as connections drain."""
        return self._listener("before_server_stop")(fn)

    def after_server_stop(self, fn: F) -> F:
        """Run ``await fn(app)`` after every connection has closed."""
        return self._listener("after_server_stop")(fn)

    def add_task(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run ``await async_fn(*args)`` in the server's nursery while it serves.

        Tasks start once ``before_server_start`` has run and are cancelled when the server
        stops.
        Added while the server is running, the task starts at once and belongs to that run
        only; added before, it starts with every run (each `serve` or test client).
        """
        if not callable(async_fn) or inspect.iscoroutine(async_fn):
            raise TypeError(f"add_task takes an async function and its arguments, not {async_fn!r}")
        if self._task_nursery is not None:
            self._task_nursery.start_soon(async_fn, *args)
        else:
            self.tasks.append((async_fn, args))

    # -- the interface the server uses ------------------------------------------------------------

    def plan(self, request: Request) -> RequestPlan:
        """Route ``request`` from its head; say how its body is to be read.

        Sets ``request.route`` and ``request.match_info``. A request that routes nowhere
        keeps ``route = None`` and gets a plan whose ``error`` is the 404 or 405 (with
        ``Allow``); `dispatch` answers it with that error.
        """
        try:
            # Only host-bound routes need the Host header (and looking it up indexes them all).
            host = request.headers.get("host") if self.router.uses_hosts else None
            match = self.router.resolve(request.method, request.raw_path, host)
        except HTTPException as exc:
            request._route_error = exc
            return RequestPlan(
                False, self.config.REQUEST_MAX_SIZE, self.config.REQUEST_MAX_SIZE, error=exc
            )
        route = request.route = match.route
        request.match_info = match.params
        plans = self._plans.get(route.name)
        if plans is None:
            info = self._route_info[route.name]
            in_memory = self.config.REQUEST_MAX_SIZE
            if info.max_body_size is not None:
                in_memory = info.max_body_size
            # A streamed body is unlimited unless the route says otherwise: it never has to
            # fit in memory.
            plans = self._plans[route.name] = (
                RequestPlan(False, in_memory, in_memory, info.websocket),
                RequestPlan(True, info.max_body_size, in_memory, info.websocket),
            )
        return plans[route.is_stream(request.method)]

    def lifespan(self) -> Lifespan:
        """The app's listeners and ``add_task`` work around one server's life (see `Lifespan`)."""
        self._plans.clear()
        return Lifespan(self)

    async def before_upgrade(self, request: Request) -> BaseHTTPResponse | None:
        """Run request middleware for a websocket upgrade; a response refuses the upgrade."""
        try:
            return await self.middleware_stack.run_request(request, self._scope(request))
        except ClientDisconnected:
            raise
        except Exception as exc:
            return await self.handle_error(request, exc)

    async def dispatch(self, request: Request) -> BaseHTTPResponse | None:
        """Run middleware and the handler for a matched request; turn errors into responses.

        Returns ``None`` when the handler answered through ``request.respond()``. Raises only
        what must not become a response: cancellation, a client that went away, and errors
        after the response started.
        """
        scope = self._scope(request)
        # Most routes have no middleware: skip the calls (coroutines cost even when empty).
        before, after = self.middleware_stack.chains(scope)
        try:
            response = await self.middleware_stack.run_request(request, scope) if before else None
            if response is None:
                response = await self._run_handler(request)
            response = response.for_request(request)
        except ClientDisconnected:
            raise
        except Exception as exc:
            if request.response is not None:
                raise  # bytes already went out: the connection aborts the message
            response = await self.handle_error(request, exc)
        if (request.response is not None and response is request.response) or not after:
            return response
        try:
            return await self.middleware_stack.run_response(request, response, scope)
        except ClientDisconnected:
            raise
        except Exception as exc:
            return await self.handle_error(request, exc)

    def _scope(self, request: Request) -> str | None:
        route = request.route
        return None if route is None else self._route_info[route.name].blueprint

    async def _run_handler(self, request: Request) -> BaseHTTPResponse:
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

    async def handle_error(self, request: Request | None, exc: BaseException) -> BaseHTTPResponse:
        """The response for ``exc``: from a registered handler, else a default error page.

        A handler that fails or returns something else gives a plain 500.
        """
        exc = _sole_error(exc)
        scope = None if request is None else self._scope(request)
        handler = self.error_handlers.lookup(exc, scope)
        if handler is not None and request is not None:
            try:
                response = await handler(request, exc)
            except Exception:
                logger.exception("error handler for %s failed", type(exc).__name__)
                return text("500 Internal Server Error\n", 500)
            if isinstance(response, BaseHTTPResponse):
                return response
            logger.error(
                "error handler for %s returned %s, not a response",
                type(exc).__name__,
                type(response).__name__,
            )
            return text("500 Internal Server Error\n", 500)
        return self.error_response(exc, request)

    def error_response(self, exc: BaseException, request: Request | None = None) -> HTTPResponse:
        """The default page for ``exc`` as text, JSON or HTML (see `trioweb.errorpages`).

        Logs it unless it is a quiet `HTTPException` (client errors are quiet by default).
        """
        if not isinstance(exc, HTTPException):
            logger.error("unhandled error in handler", exc_info=exc)
        elif not exc.quiet:
            logger.error("%s", exc.message, exc_info=exc)
        route_format = None
        if request is not None and request.route is not None:
            route_format = self._route_info[request.route.name].error_format
        fmt = choose_format(request, route_format, self.config.FALLBACK_ERROR_FORMAT)
        return render_error(exc, fmt, self.config.DEBUG)

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
        debug: bool | None = None,
        access_log: bool | None = None,
    ) -> None:
        """Serve until SIGINT/SIGTERM: the first stops gracefully, a second at once.

        ``workers > 1`` forks that many processes sharing the port (``SO_REUSEPORT``).
        """
        from .server.run import run_app

        if debug is not None:
            self.config.DEBUG = debug
        if access_log is not None:
            self.config.ACCESS_LOG = access_log
        run_app(self, host, port, workers=workers, ssl=ssl)

    def test_client(self, **client_kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` that talks to this app over in-memory streams.

        Requests go through the real connection code (h11, streaming, disconnects); use it
        as ``async with app.test_client() as client:``. Listeners and tasks run as in `serve`.
        """
        from .testing import TestClient

        return TestClient(self, **client_kwargs)
