"""Class-based views: `HTTPMethodView`, `CompositionView` and the `stream` decorator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

from .exceptions import MethodNotAllowed
from .handlers import in_worker_thread, is_async, to_async

if TYPE_CHECKING:
    from .registrar import RouteRegistrar
    from .request import Request

__all__ = ["CompositionView", "HTTPMethodView", "RouteTarget", "as_route_target", "stream"]

F = TypeVar("F", bound=Callable[..., Any])

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_STREAM_MARK = "__trioweb_stream__"


def stream(method: F) -> F:
    """Mark a view method as streaming: its body arrives through ``request.stream``."""
    setattr(method, _STREAM_MARK, True)
    return method


@runtime_checkable
class RouteTarget(Protocol):
    """A callable that knows which methods it serves and which of them stream."""

    methods: frozenset[str]
    stream_methods: frozenset[str]

    def __call__(self, request: Request, **params: Any) -> Awaitable[Any]: ...


def _allowed(methods: Iterable[str]) -> frozenset[str]:
    """``methods`` plus HEAD when GET is among them, since GET also answers HEAD."""
    allowed = frozenset(methods)
    return allowed | {"HEAD"} if "GET" in allowed else allowed


def as_route_target(handler: object) -> RouteTarget | None:
    """``handler`` as a `RouteTarget` if it is one (a view), else ``None``."""
    return handler if isinstance(handler, RouteTarget) else None


class HTTPMethodView:
    """A view whose methods ``get``, ``post``, ... handle the HTTP method of the same name.

    A fresh instance serves each request. Mark streaming methods with `stream`; list
    decorators to wrap the whole view in ``decorators``. Register ``MyView.as_view()``.
    """

    decorators: ClassVar[list[Callable[..., Any]]] = []

    async def dispatch_request(self, request: Request, **params: Any) -> Any:
        """Call the method named after ``request.method`` (``get`` also answers HEAD).

        A plain ``def`` method runs in a worker thread, as a plain handler does.

        Raises:
            MethodNotAllowed: the view defines no such method.
        """
        handler = getattr(self, request.method.lower(), None)
        if handler is None and request.method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            raise MethodNotAllowed(allowed=_allowed(_MethodView.methods_of(type(self))))
        if not is_async(handler):
            handler = in_worker_thread(handler)
        return await handler(request, **params)

    @classmethod
    def as_view(cls, *class_args: Any, **class_kwargs: Any) -> _MethodView:
        """A route handler that builds ``cls(*class_args, **class_kwargs)`` per request."""
        return _MethodView(cls, class_args, class_kwargs)

    @classmethod
    def attach(
        cls,
        to: RouteRegistrar,
        uri: str,
        methods: Iterable[str] | None = None,
        host: str | Sequence[str] | None = None,
        strict_slashes: bool | None = None,
        version: int | float | str | None = None,
        name: str | None = None,
        stream: bool = False,
        version_prefix: str = "/v",
    ) -> None:
        """Route ``uri`` to this view on an app or blueprint, as Sanic's ``attach`` does.

        The same as ``to.add_route(cls.as_view(), uri, ...)``; ``methods`` defaults to the
        methods the view defines.
        """
        to.add_route(
            cls.as_view(),
            uri,
            methods,
            host=host,
            strict_slashes=strict_slashes,
            version=version,
            name=name,
            stream=stream,
            version_prefix=version_prefix,
        )


class _MethodView:
    """What `HTTPMethodView.as_view` returns: a `RouteTarget` for one view class."""

    def __init__(
        self, view_class: type[HTTPMethodView], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.view_class = view_class
        self.__name__ = view_class.__name__
        self.methods = self.methods_of(view_class)
        self.stream_methods = frozenset(
            method
            for method in self.methods
            if getattr(getattr(view_class, method.lower(), None), _STREAM_MARK, False)
        )

        async def view(request: Request, **params: Any) -> Any:
            return await view_class(*args, **kwargs).dispatch_request(request, **params)

        for decorator in view_class.decorators:
            view = decorator(view)
        self._view = view

    @staticmethod
    def methods_of(view_class: type[HTTPMethodView]) -> frozenset[str]:
        return frozenset(m for m in HTTP_METHODS if callable(getattr(view_class, m.lower(), None)))

    def __call__(self, request: Request, **params: Any) -> Awaitable[Any]:
        return self._view(request, **params)


class CompositionView:
    """A view assembled from plain handlers, one per method (Sanic's; its streaming docs use one).

    Example:

        view = CompositionView()
        view.add(["GET"], list_items)
        view.add(["POST"], upload, stream=True)
        app.add_route(view, "/items")
    """

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., Awaitable[Any]]] = {}
        self.stream_methods: frozenset[str] = frozenset()

    @property
    def methods(self) -> frozenset[str]:
        """The methods some handler was added for."""
        return frozenset(self.handlers)

    def add(
        self,
        methods: Iterable[str],
        handler: Callable[..., Any],
        stream: bool = False,
    ) -> None:
        """Serve ``methods`` with ``handler``; ``stream=True`` streams their request bodies.

        ``handler`` may be ``async def`` or plain ``def`` (run in a worker thread).

        Raises:
            ValueError: a method is unknown or already has a handler.
            TypeError: ``handler`` is not a function.
        """
        if isinstance(methods, str):
            raise TypeError(f"methods must be a list of names, not the string {methods!r}")
        handler = to_async(handler, "CompositionView handler")
        for method in (m.upper() for m in methods):
            if method not in HTTP_METHODS:
                raise ValueError(f"{method!r} is not an HTTP method CompositionView serves")
            if method in self.handlers:
                raise ValueError(f"method {method} is already registered in this view")
            self.handlers[method] = handler
            if stream:
                self.stream_methods |= {method}

    def __call__(self, request: Request, **params: Any) -> Awaitable[Any]:
        handler = self.handlers.get(request.method)
        if handler is None and request.method == "HEAD":
            handler = self.handlers.get("GET")
        if handler is None:
            raise MethodNotAllowed(allowed=_allowed(self.handlers))
        return handler(request, **params)
