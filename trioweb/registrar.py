"""The route decorators that `App` and `Blueprint` share.

Both collect `RouteSpec` values; an app turns them into router entries at once, a blueprint
keeps them until it is registered on an app (which adds its prefix and name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from .views import as_route_target

__all__ = ["RouteRegistrar", "RouteSpec"]

H = TypeVar("H", bound=Callable[..., Any])


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


class RouteRegistrar:
    """Route decorators over one abstract `_register`; `App` and `Blueprint` implement it."""

    def _register(self, spec: RouteSpec) -> None:
        raise NotImplementedError

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

        Returns:
            ``handler`` unchanged, so this works as a decorator's body.

        Raises:
            TypeError: ``methods`` is a single string, or ``handler`` is not callable.
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
            RouteSpec(handler, uri, chosen, streamed, name, explicit, strict_slashes, host)
        )
        return handler

    def route(
        self,
        uri: str,
        methods: Iterable[str] | None = None,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate a handler to serve ``uri``; see `add_route` for the arguments."""

        def decorator(handler: H) -> H:
            self.add_route(
                handler,
                uri,
                methods,
                stream=stream,
                name=name,
                strict_slashes=strict_slashes,
                host=host,
            )
            return handler

        return decorator

    def _method(
        self,
        method: str,
        uri: str,
        stream: bool,
        name: str | None,
        strict_slashes: bool | None,
        host: str | None,
    ) -> Callable[[H], H]:
        return self.route(
            uri, [method], stream=stream, name=name, strict_slashes=strict_slashes, host=host
        )

    def get(
        self,
        uri: str,
        *,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate a GET handler (it also answers HEAD, without a body)."""
        return self._method("GET", uri, False, name, strict_slashes, host)

    def head(
        self,
        uri: str,
        *,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate a HEAD handler."""
        return self._method("HEAD", uri, False, name, strict_slashes, host)

    def options(
        self,
        uri: str,
        *,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate an OPTIONS handler."""
        return self._method("OPTIONS", uri, False, name, strict_slashes, host)

    def delete(
        self,
        uri: str,
        *,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate a DELETE handler."""
        return self._method("DELETE", uri, False, name, strict_slashes, host)

    def post(
        self,
        uri: str,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate a POST handler; ``stream=True`` streams the body through ``request.stream``."""
        return self._method("POST", uri, stream, name, strict_slashes, host)

    def put(
        self,
        uri: str,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate a PUT handler; ``stream=True`` streams the body through ``request.stream``."""
        return self._method("PUT", uri, stream, name, strict_slashes, host)

    def patch(
        self,
        uri: str,
        *,
        stream: bool = False,
        name: str | None = None,
        strict_slashes: bool | None = None,
        host: str | None = None,
    ) -> Callable[[H], H]:
        """Decorate a PATCH handler; ``stream=True`` streams the body through ``request.stream``."""
        return self._method("PATCH", uri, stream, name, strict_slashes, host)
