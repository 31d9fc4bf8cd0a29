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

import functools
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import trio

from .blueprints import Blueprint, BlueprintGroup, Mount, join_paths
from .config import Config
from .errorpages import choose_format, render_error
from .exceptions import ClientDisconnected, HTTPException, NotFound, URLBuildError
from .handlers import in_worker_thread, is_async
from .lifespan import Lifespan
from .middleware import ErrorHandlers, MiddlewareStack
from .registrar import LISTENER_EVENTS, ListenerEvent, MiddlewareSpec, RouteRegistrar, RouteSpec
from .request import Request
from .response import BaseHTTPResponse, HTTPResponse, text
from .router import Route, Router
from .views import as_route_target

if TYPE_CHECKING:
    import socket
    import ssl as _ssl
    from collections.abc import Mapping, Sequence

    from .server.serve import Server
    from .testing import TestClient

__all__ = ["App"]

logger = logging.getLogger("trioweb.error")

Listener = Callable[["App"], Any]


def _route_named(router: Router, name: str) -> Route | None:
    try:
        return router.by_name(name)
    except URLBuildError:
        return None


def _original(handler: Callable[..., Any]) -> Any:
    """The function a route was declared with (a plain one is wrapped to run in a thread)."""
    return getattr(handler, "__wrapped__", handler)


def _version_prefix(prefix: str, version: int | float | str) -> str:
    """``/v1`` from ``("/v", 1)``; a leading ``v`` in the version is dropped (``"v1.1"``)."""
    text = str(version).strip().strip("/")
    if text[:1] in ("v", "V"):
        text = text[1:]
    if not text:
        raise ValueError(f"route version must not be empty: {version!r}")
    return prefix.rstrip("/") + text if prefix.endswith("v") else prefix.rstrip("/") + "/" + text


def _not_a_response(request: Request, value: object) -> TypeError:
    """The error for a handler result that is no response (its text reaches only the log)."""
    name = request.route.name if request.route is not None else "?"
    return TypeError(
        f"handler {name!r} returned {type(value).__name__}, not a response: return text(), "
        "json(), ... or add response middleware that turns it into one"
    )


def _root_path(value: str | None) -> str:
    """``config.ROOT_PATH`` as a prefix: ``"/api"`` from ``"api/"``; ``""`` for none."""
    value = (value or "").strip("/")
    return "/" + value if value else ""


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
        self.listeners: dict[ListenerEvent, list[Listener]] = {e: [] for e in LISTENER_EVENTS}
        self.tasks: list[tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]] = []
        self.blueprints: dict[str, Blueprint] = {}
        # Set by the server while it runs, so `add_task` can start work at once.
        self._task_nursery: trio.Nursery | None = None
        # Plans by route name, (buffered, streaming), made on first use; settings are read
        # when serving starts, so `lifespan` clears it.
        self._plans: dict[str, tuple[RequestPlan, RequestPlan]] = {}
        self._thread_limiter: trio.CapacityLimiter | None = None
        # config.ROOT_PATH as requests are routed with it (read when serving starts).
        self._root_path = ""

    @property
    def thread_limiter(self) -> trio.CapacityLimiter:
        """Limits how many plain ``def`` handlers run in worker threads at once.

        Its size is ``config.SYNC_HANDLER_THREADS``, read when serving starts; a handler
        past it waits for a thread. Made on first use.
        """
        if self._thread_limiter is None:
            self._thread_limiter = trio.CapacityLimiter(self.config.SYNC_HANDLER_THREADS)
        return self._thread_limiter

    def __repr__(self) -> str:
        return f"App({self.name!r})"

    # -- routes ---------------------------------------------------------------------------------

    def _register(self, spec: RouteSpec) -> None:
        route = self._build_route(spec, self.router)
        self.router.add(route)
        self._plans.pop(route.name, None)
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
            while existing is not None and _original(existing.handler) is spec.handler:
                name = f"{spec.name}_{number}"
                existing, number = _route_named(router, name), number + 1
        uri = spec.uri
        if spec.version is not None:
            uri = join_paths(_version_prefix(spec.version_prefix, spec.version), uri)
        strict = spec.strict_slashes if spec.strict_slashes is not None else self.strict_slashes
        handler = spec.handler
        # Views and async functions are awaited as they are; a plain function runs in a
        # worker thread (the registrar has refused anything that is neither).
        if as_route_target(handler) is None and not is_async(handler):
            handler = in_worker_thread(handler)
        return Route(
            handler,
            uri,
            spec.methods,
            name,
            stream_methods=spec.stream_methods,
            strict_slashes=strict,
            host=spec.host,
            ctx=SimpleNamespace(**dict(spec.ctx)),
        )

    def blueprint(
        self,
        blueprint: Blueprint | BlueprintGroup | Iterable[Blueprint | BlueprintGroup],
        *,
        url_prefix: str | None = None,
        version: int | float | str | None = None,
        strict_slashes: bool | None = None,
        version_prefix: str | None = None,
        name_prefix: str | None = None,
    ) -> None:
        """Register a blueprint, a group, or a list of them, on this app.

        The options work as in Sanic: for one blueprint ``url_prefix`` replaces its own
        prefix, for a group it goes in front of the group's; the others are defaults that a
        route's or blueprint's own setting overrides; ``name_prefix`` makes route names
        ``"<name_prefix>_<bp>.<route>"``, so one blueprint can be registered twice. The
        blueprint may still gain routes after this; they reach the app at once.

        Raises:
            ValueError: another blueprint of the same name is registered.
            trioweb.exceptions.RouteExists: a route's path or name is taken; the app is
                left as it was.
        """
        mount = Mount(url_prefix, version, strict_slashes, version_prefix, name_prefix)
        entries: list[tuple[Blueprint, Mount]] = []
        items = [blueprint] if isinstance(blueprint, Blueprint | BlueprintGroup) else blueprint
        for item in items:
            if isinstance(item, BlueprintGroup):
                entries.extend(item.mounts(mount))
            elif isinstance(item, Blueprint):
                entries.append((item, mount))
            else:
                raise TypeError(f"app.blueprint() takes blueprints and groups, not {item!r}")
        # Check every name first, so a clash leaves the app as it was.
        for bp, _ in entries:
            known = self.blueprints.get(bp.name)
            if known is not None and known is not bp:
                raise ValueError(
                    f"a blueprint named {bp.name!r} is already registered; "
                    "blueprint names must be unique"
                )
            if sum(1 for other, _ in entries if other.name == bp.name and other is not bp):
                raise ValueError(f"a blueprint named {bp.name!r} is already registered with them")
        # Routes too: a clashing path or name raises from this trial, before anything changes.
        trial = Router()
        for route in self.router.routes:
            trial.add(route)
        for bp, bp_mount in entries:
            for spec in bp.route_specs(bp_mount):
                trial.add(self._build_route(spec, trial))
        for bp, bp_mount in entries:
            self.blueprints[bp.name] = bp
            first = bp.mounted(self, bp_mount)
            for spec in bp.route_specs(bp_mount):
                self._register(spec)
            if not first:
                continue
            for middleware in bp.middleware_specs:
                self.middleware_stack.add(middleware, bp.name)
            for exc_type, handler in bp.error_handler_specs:
                self.error_handlers.add(exc_type, handler, bp.name)
            for event, listener in bp.listener_specs:
                self._add_listener(event, listener)

    def url_for(
        self,
        name: str,
        /,
        *,
        _anchor: str | None = None,
        _external: bool = False,
        _scheme: str = "",
        _server: str | None = None,
        _host: str | None = None,
        **params: Any,
    ) -> str:
        """The URL of the route called ``name``; parameters it does not use form the query.

        Example: ``app.url_for("user", id=3, tab="posts")`` -> ``"/user/3?tab=posts"``.
        ``name`` is positional-only, so a route parameter may be called ``name`` too. A list
        value repeats a query parameter.

        Args:
            name: The route name (``"<blueprint>.<handler>"`` for a blueprint's routes).
            _anchor: Added as the ``#fragment``.
            _external: Build a full URL: ``<scheme>://<server><path>``.
            _scheme: The scheme of an external URL (needs ``_external``); default: the one
                ``_server`` or ``config.SERVER_NAME`` carries, else ``http``.
            _server: The host (and port) of an external URL, with or without a scheme;
                default ``config.SERVER_NAME``.
            _host: For a route bound to several hosts, which one; implies ``_external``.
            **params: Path parameters, then query parameters (``config.ROOT_PATH`` goes in
                front of the path). For static routes, Sanic's
                spellings work: ``url_for("static", filename="a.css")``, and
                ``url_for("static", name="uploads", filename="a.png")`` for a static route
                named ``"uploads"``.

        Raises:
            URLBuildError: no route has that name, a path parameter is missing or misfits,
                ``_scheme`` without ``_external``, an external URL with no server, or a
                ``_host`` the route does not serve (or none, for a route with several).
        """
        if name == "static" and "name" in params:
            name = params.pop("name")  # Sanic's spelling for a named static route
        route = self.router.by_name(name)
        if "filename" in params and "__file_uri__" in route.param_names:
            params.setdefault("__file_uri__", params.pop("filename"))
        path = _root_path(self.config.ROOT_PATH) + route.url_path(params)
        query = [(k, v) for k, v in params.items() if k not in route.param_names]
        if query:
            path += "?" + urlencode(query, doseq=True)
        if _anchor:
            path += "#" + quote(_anchor, safe="")
        hosts = route.hosts
        if _host is not None and hosts and _host not in hosts:
            raise URLBuildError(
                f"route {name!r} does not serve host {_host!r} (it serves {', '.join(hosts)})"
            )
        external = _external or _host is not None or bool(hosts)
        if _scheme and not external:
            raise URLBuildError("url_for(_scheme=...) needs _external=True")
        if not external:
            return path
        server = _server
        if server is None:
            if hosts and _host is None and len(hosts) > 1:
                raise URLBuildError(
                    f"route {name!r} serves several hosts ({', '.join(hosts)}); pass _host="
                )
            server = _host or (hosts[0] if hosts else self.config.SERVER_NAME)
        if not server:
            raise URLBuildError("an external URL needs _server= or config.SERVER_NAME")
        scheme, found, netloc = server.partition("://")
        if not found:
            scheme, netloc = "", server
        netloc = netloc.rstrip("/")
        return f"{_scheme or scheme or 'http'}://{netloc}{path}"

    # -- middleware, errors, listeners, tasks -----------------------------------------------------

    def _add_middleware(self, spec: MiddlewareSpec) -> None:
        self.middleware_stack.add(spec)

    def _add_error_handler(
        self, exc_type: type[BaseException], handler: Callable[..., Any]
    ) -> None:
        self.error_handlers.add(exc_type, handler)

    def _add_listener(self, event: ListenerEvent, listener: Callable[..., Any]) -> None:
        self.listeners[event].append(listener)

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
            path = request.raw_path
            root = self._root_path
            if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
                path = path[len(root) :] or "/"  # a proxy that passes its prefix on
            match = self.router.resolve(request.method, path, host)
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
        self._thread_limiter = None
        self._root_path = _root_path(self.config.ROOT_PATH)
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

        A handler may return something other than a response (a dict, say) when response
        middleware turns it into one. Returns ``None`` when the handler answered through
        ``request.respond()``. Raises only what must not become a response: cancellation, a
        client that went away, and errors after the response started.
        """
        scope = self._scope(request)
        # Most routes have no middleware: skip the calls (coroutines cost even when empty).
        before, after = self.middleware_stack.chains(scope)
        response: Any
        try:
            response = await self.middleware_stack.run_request(request, scope) if before else None
            if response is None:
                response = await self._run_handler(request)
            if isinstance(response, BaseHTTPResponse):
                response = response.for_request(request)
            elif not after:
                raise _not_a_response(request, response)
        except ClientDisconnected:
            raise
        except Exception as exc:
            if request.response is not None:
                raise  # bytes already went out: the connection aborts the message
            response = await self.handle_error(request, exc)
        if (request.response is not None and response is request.response) or not after:
            return response  # type: ignore[no-any-return]
        try:
            made_here = not isinstance(response, BaseHTTPResponse)
            response = await self.middleware_stack.run_response(request, response, scope)
            if not isinstance(response, BaseHTTPResponse):
                raise _not_a_response(request, response)
            return response.for_request(request) if made_here else response
        except ClientDisconnected:
            raise
        except Exception as exc:
            return await self.handle_error(request, exc)

    def _scope(self, request: Request) -> str | None:
        route = request.route
        return None if route is None else self._route_info[route.name].blueprint

    async def _run_handler(self, request: Request) -> Any:
        route = request.route
        if route is None:
            raise request._route_error or NotFound()
        response = await route.handler(request, **request.match_info)
        started = request.response
        if started is not None:
            if response is None or response is started:
                await started.eof()
                return started
            raise RuntimeError(
                f"handler {route.name!r} returned a response after calling request.respond()"
            )
        return response

    async def handle_error(self, request: Request | None, exc: BaseException) -> BaseHTTPResponse:
        """The response for ``exc``: from a registered handler, else a default error page.

        The handler may return a response or answer through ``request.respond()`` (the
        response it started is returned, ended). One that fails or returns something else
        gives a plain 500 (and is logged); one that fails after starting its response
        raises, so the server aborts the message.
        """
        exc = _sole_error(exc)
        scope = None if request is None else self._scope(request)
        handler = self.error_handlers.lookup(exc, scope)
        if handler is None or request is None:
            return self.error_response(exc, request)
        call = handler if is_async(handler) else in_worker_thread(handler)
        try:
            response = await call(request, exc)
        except ClientDisconnected:
            raise
        except Exception:
            if request.response is not None:
                raise
            logger.exception("error handler for %s failed", type(exc).__name__)
            return text("500 Internal Server Error\n", 500)
        started = request.response
        if started is not None:
            await started.eof()
            if response is not None and response is not started:
                logger.error(
                    "error handler for %s returned a response after calling request.respond()",
                    type(exc).__name__,
                )
            return started
        if isinstance(response, BaseHTTPResponse):
            return response
        logger.error(
            "error handler for %s returned %s, not a response",
            type(exc).__name__,
            type(response).__name__,
        )
        return text("500 Internal Server Error\n", 500)

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
        host: str | None = "127.0.0.1",
        port: int = 8000,
        *,
        ssl: _ssl.SSLContext | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        reuse_port: bool = False,
        unix: str | os.PathLike[str] | None = None,
        unix_mode: int | None = None,
        sock: socket.socket | None = None,
        backlog: int | None = None,
        task_status: trio.TaskStatus[Server] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve the app on ``host:port`` until cancelled or ``await server.shutdown()``.

        ``await nursery.start(app.serve, host, port)`` returns the running `Server` once it
        listens (``server.port`` is the real one when ``port=0``). Installs no signal
        handlers. Cancelling it stops everything at once; `Server.shutdown` stops gracefully.
        The sockets are closed when it returns, and a Unix socket file it created is removed.

        Args:
            host: The address to listen on; a name may give several (``"localhost"``:
                IPv4 and IPv6); ``None`` or ``""`` is every interface.
            port: The TCP port; 0 lets the kernel choose one.
            ssl: Serve https: an ``ssl.SSLContext``, a dict with ``cert``, ``key`` (and
                ``password``, ``ca``), or a folder holding ``fullchain.pem`` and
                ``privkey.pem`` (see `trioweb.server.tls.make_ssl_context`).
            reuse_port: Set ``SO_REUSEPORT``, so other processes may bind the same port.
            unix: Listen on this Unix socket path instead of TCP (a stale socket file is
                replaced; a live one is refused).
            unix_mode: The Unix socket file's permissions, such as ``0o660``.
            sock: Serve this socket you opened instead (bound; listened on if it is not
                yet). It is closed when serving ends.
            backlog: The accept queue length; ``config.BACKLOG`` when ``None``.

        Raises:
            trioweb.server.sockets.BindError: the address is in use or cannot be bound
                (one line, naming it).
            trioweb.server.tls.TLSError: the TLS files cannot be loaded (one line).
        """
        from .server.serve import serve_listeners
        from .server.sockets import (
            bind_sockets,
            close_sockets,
            ensure_listening,
            listeners_from_sockets,
        )
        from .server.tls import make_ssl_context

        context = make_ssl_context(ssl)
        if backlog is None:
            backlog = self.config.BACKLOG
        if sock is not None:
            sockets = [ensure_listening(sock, backlog)]
        else:
            sockets = await trio.to_thread.run_sync(
                functools.partial(
                    bind_sockets,
                    host,
                    port,
                    unix=None if unix is None else os.fspath(unix),
                    unix_mode=unix_mode,
                    reuse_port=reuse_port,
                    backlog=backlog,
                )
            )
        try:
            listeners = listeners_from_sockets(sockets, context)
            await serve_listeners(self, listeners, task_status=task_status)
        finally:
            close_sockets(sockets)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        workers: int = 1,
        ssl: _ssl.SSLContext | Mapping[str, Any] | str | os.PathLike[str] | None = None,
        debug: bool | None = None,
        access_log: bool | None = None,
        backlog: int | None = None,
        fast: bool = False,
        single_process: bool = False,
        motd: bool = True,
        dev: bool = False,
        auto_reload: bool | None = None,
        reload_dir: str | Sequence[str] | None = None,
        unix: str | None = None,
        unix_mode: int | None = None,
        sock: socket.socket | None = None,
        fd: int | None = None,
        reuse_port: bool = False,
        access_log_format: str | None = None,
        log_level: str | None = None,
        log_config: Mapping[str, Any] | str | None = None,
        proxies_count: int | None = None,
        forwarded_secret: str | None = None,
        forwarded_allow_ips: str | None = None,
        root_path: str | None = None,
    ) -> None:
        """Serve until SIGINT/SIGTERM: the first stops gracefully, a second at once.

        For scripts: it calls ``trio.run`` itself. Inside a trio program use
        ``await nursery.start(app.serve, host, port)`` instead. The keywords are Sanic's
        (and the command line's, see ``trioweb --help`` and docs/deployment.md).

        Args:
            host: The address to listen on.
            port: The TCP port to listen on.
            workers: Worker processes; the parent binds the socket once and supervises them
                (restarts a crashed one, drains all on SIGTERM, replaces them on SIGHUP).
            ssl: Serve https: an ``ssl.SSLContext``, a dict of ``cert``/``key``/
                ``password``/``ca`` files, or a directory holding ``fullchain.pem`` and
                ``privkey.pem``.
            debug: Sets ``config.DEBUG`` (tracebacks in error pages) when not ``None``.
            access_log: Sets ``config.ACCESS_LOG`` when not ``None``.
            backlog: The kernel's accept queue (``config.BACKLOG``).
            fast: One worker per CPU this process may use.
            single_process: Serve in this process (what ``workers=1`` does).
            motd: Accepted for Sanic code; trioweb prints no banner either way.
            dev: ``debug`` and ``auto_reload`` together.
            auto_reload: Restart the serving process when a source file changes (needs
                ``pip install 'trioweb[reload]'``); the app is imported afresh each time.
            reload_dir: Directories to watch (default: the current one).
            unix: Serve a Unix socket at this path instead of a TCP port.
            unix_mode: The socket file's mode (e.g. ``0o660``).
            sock: A listening socket you opened, to serve instead of binding one.
            fd: The file descriptor of an inherited listening socket.
            reuse_port: Set ``SO_REUSEPORT`` (share the port with other servers).
            access_log_format: ``config.ACCESS_LOG_FORMAT`` (see docs/logging.md).
            log_level: The trioweb loggers' level (``"debug"``, ``"info"``, ...).
            log_config: A ``logging.config.dictConfig`` dict, or a JSON/YAML/INI file.
            proxies_count: ``config.PROXIES_COUNT``.
            forwarded_secret: ``config.FORWARDED_SECRET``.
            forwarded_allow_ips: ``config.FORWARDED_ALLOW_IPS``.
            root_path: ``config.ROOT_PATH``.

        Raises:
            RuntimeError: called inside a running trio program.
            ValueError: settings that contradict each other or are out of range, or
                auto-reload of an app that is not a module-level name of a file.
            trioweb.server.sockets.BindError: the address cannot be bound (one line).
            trioweb.config.ConfigError: a setting is invalid (one line).
        """
        from .server.options import run_options
        from .server.run import run_app

        options = run_options(
            host=host,
            port=port,
            unix=unix,
            unix_mode=unix_mode,
            fd=fd,
            sock=sock,
            workers=workers,
            fast=fast,
            single_process=single_process,
            reuse_port=reuse_port,
            backlog=backlog,
            ssl=ssl,
            dev=dev,
            auto_reload=auto_reload,
            reload_dirs=[reload_dir] if isinstance(reload_dir, str) else list(reload_dir or ()),
            app_target=self._script_target() if (dev or auto_reload) else None,
            debug=debug,
            access_log=access_log,
            access_log_format=access_log_format,
            log_level=log_level,
            log_config=log_config,
            proxies_count=proxies_count,
            forwarded_secret=forwarded_secret,
            forwarded_allow_ips=forwarded_allow_ips,
            root_path=root_path,
        )
        status = run_app(self, options)
        if status:
            raise SystemExit(status)

    def _script_target(self) -> str:
        """``"path/to/script.py:name"`` for this app, so a reloaded process can import it.

        Raises:
            ValueError: the app is not a module-level name of the running script or of an
                imported module.
        """
        import sys

        for module in list(sys.modules.values()):
            for attribute, value in list(vars(module).items()):
                if value is self:
                    path = getattr(module, "__file__", None)
                    if module.__name__ == "__main__" and path:
                        return f"{path}:{attribute}"
                    return f"{module.__name__}:{attribute}"
        raise ValueError(
            "auto-reload imports the app afresh, so it must be a module-level name "
            "(app = App(...) at the top of a module)"
        )

    def test_client(self, **client_kwargs: Any) -> TestClient:
        """A `TestClient` (an ``httpx.AsyncClient``) that talks to this app in memory.

        Requests go through the real connection code (h11, streaming, disconnects); use it
        as ``async with app.test_client() as client:``. Listeners and tasks run as in `serve`.
        ``client.websocket(path)`` opens a WebSocket. Needs no pytest.

        Args:
            **client_kwargs: Passed to ``httpx.AsyncClient``; ``base_url`` defaults to
                ``http://testserver``, and ``https://testserver`` makes the app see https.

        Returns:
            The client; entering it starts the app, leaving it shuts the app down.
        """
        from .testing import TestClient

        return TestClient(self, **client_kwargs)
