"""Blueprints: groups of routes registered on an app together, under a prefix and a name.

A blueprint may be registered before or after its routes, middleware, error handlers and
listeners are declared: what is declared later reaches every app it is registered on.
Registration options (``url_prefix``, ``version``, ``strict_slashes``, ``version_prefix``,
``name_prefix``) follow Sanic: for one route the route's own setting wins, then the
blueprint's, then its group's, then those given to ``app.blueprint()``; prefixes of
nested groups are joined, outermost first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

from .registrar import ListenerEvent, MiddlewareKind, MiddlewareSpec, RouteRegistrar, RouteSpec

if TYPE_CHECKING:
    from .app import App

__all__ = ["Blueprint", "BlueprintGroup", "Mount", "join_paths"]

F = TypeVar("F", bound=Callable[..., Any])


def join_paths(prefix: str | None, uri: str) -> str:
    """Join ``prefix`` and ``uri`` with one slash.

    Under a prefix ``"/bp"``, the route ``""`` is ``/bp`` and the route ``"/"`` is ``/bp/``
    (they differ only with strict slashes). Without a prefix, ``""`` is ``/``.
    """
    prefix = "/" + prefix.strip("/") if prefix and prefix.strip("/") else ""
    if uri == "":
        return prefix or "/"
    if uri == "/":
        return prefix + "/"
    return prefix + "/" + uri.lstrip("/")


def _join_prefixes(*prefixes: str | None) -> str | None:
    parts = [p.strip("/") for p in prefixes if p and p.strip("/")]
    return "/" + "/".join(parts) if parts else None


@dataclass(frozen=True, slots=True)
class Mount:
    """How one blueprint is registered on an app: the options that reach its routes.

    ``None`` leaves the blueprint's own setting. ``url_prefix`` replaces the blueprint's
    prefix (groups hand down the joined prefix, the blueprint's own included).
    """

    url_prefix: str | None = None
    version: int | float | str | None = None
    strict_slashes: bool | None = None
    version_prefix: str | None = None
    name_prefix: str | None = None


class Blueprint(RouteRegistrar):
    """Routes, middleware, error handlers and listeners added with ``app.blueprint(bp)``.

    Route names become ``"<blueprint name>.<route name>"`` for `App.url_for`. Middleware
    and error handlers declared on a blueprint apply to its routes only; its listeners run
    with the app's.

    Args:
        name: Unique among an app's blueprints; letters, digits, ``_`` and ``-``.
        url_prefix: Put in front of every route's path.
        host: Default ``host`` (one name or a list) for the blueprint's routes.
        version: Default ``version`` for the blueprint's routes (``/v<version>/...``).
        strict_slashes: Default ``strict_slashes`` for the blueprint's routes.
        version_prefix: What goes in front of the version (default ``/v``).

    Raises:
        ValueError: ``name`` is empty or has other characters.
    """

    def __init__(
        self,
        name: str,
        url_prefix: str | None = None,
        host: str | list[str] | tuple[str, ...] | None = None,
        version: int | float | str | None = None,
        strict_slashes: bool | None = None,
        version_prefix: str = "/v",
    ) -> None:
        if not name or not all(c.isalnum() or c in "_-" for c in name):
            raise ValueError(f"blueprint name must be letters, digits, '_' or '-', got {name!r}")
        self.name = name
        self.url_prefix = url_prefix
        self.host: str | tuple[str, ...] | None = (
            host if host is None or isinstance(host, str) else tuple(host)
        )
        self.version = version
        self.strict_slashes = strict_slashes
        self.version_prefix = version_prefix
        #: Your own data about the blueprint.
        self.ctx = SimpleNamespace()
        self._specs: list[RouteSpec] = []
        #: Middleware and error handlers the app applies to this blueprint's routes only.
        self.middleware_specs: list[MiddlewareSpec] = []
        self.error_handler_specs: list[tuple[type[BaseException], Callable[..., Any]]] = []
        self.listener_specs: list[tuple[ListenerEvent, Callable[..., Any]]] = []
        # Where the blueprint is registered, so later declarations reach those apps too.
        self._mounts: list[tuple[App, Mount]] = []

    @property
    def registered(self) -> bool:
        """Whether some app has registered this blueprint."""
        return bool(self._mounts)

    @property
    def apps(self) -> tuple[App, ...]:
        """The apps this blueprint is registered on."""
        return tuple(dict.fromkeys(app for app, _ in self._mounts))

    # -- declarations: kept, and passed on to the apps already registered -------------------

    def _register(self, spec: RouteSpec) -> None:
        self._specs.append(spec)
        for app, mount in self._mounts:
            app._register(self.route_spec(spec, mount))

    def _add_middleware(self, spec: MiddlewareSpec) -> None:
        self.middleware_specs.append(spec)
        for app in self.apps:
            app.middleware_stack.add(spec, self.name)

    def _add_error_handler(
        self, exc_type: type[BaseException], handler: Callable[..., Any]
    ) -> None:
        self.error_handler_specs.append((exc_type, handler))
        for app in self.apps:
            app.error_handlers.add(exc_type, handler, self.name)

    def _add_listener(self, event: ListenerEvent, listener: Callable[..., Any]) -> None:
        self.listener_specs.append((event, listener))
        for app in self.apps:
            app._add_listener(event, listener)

    # -- registration ---------------------------------------------------------------------------

    def route_spec(self, spec: RouteSpec, mount: Mount) -> RouteSpec:
        """``spec`` as an app registers it under ``mount``: prefixed, named and defaulted."""
        prefix = mount.url_prefix if mount.url_prefix is not None else self.url_prefix
        name = f"{self.name}.{spec.name}"
        if mount.name_prefix:
            name = f"{mount.name_prefix}_{name}"
        # The first that is not the default: the route's, the blueprint's, the group's.
        prefixes = (spec.version_prefix, self.version_prefix, mount.version_prefix)
        version_prefix = next((p for p in prefixes if p and p != "/v"), "/v")
        return replace(
            spec,
            uri=join_paths(prefix, spec.uri),
            name=name,
            strict_slashes=_first(spec.strict_slashes, self.strict_slashes, mount.strict_slashes),
            host=spec.host or self.host,
            version=_first(spec.version, self.version, mount.version),
            version_prefix=version_prefix,
            blueprint=self.name,
        )

    def route_specs(self, mount: Mount | None = None) -> Iterator[RouteSpec]:
        """The blueprint's routes as an app registers them under ``mount``."""
        mount = mount or Mount()
        for spec in self._specs:
            yield self.route_spec(spec, mount)

    def mounted(self, app: App, mount: Mount) -> bool:
        """Record that ``app`` registered the blueprint; ``True`` the first time for ``app``.

        The app adds the blueprint's middleware, error handlers and listeners only then
        (registering one blueprint twice, under two prefixes, adds its routes twice).
        """
        first = app not in self.apps
        self._mounts.append((app, mount))
        return first

    @staticmethod
    def group(
        *blueprints: Blueprint | BlueprintGroup | Iterable[Blueprint | BlueprintGroup],
        url_prefix: str | None = None,
        version: int | float | str | None = None,
        strict_slashes: bool | None = None,
        version_prefix: str = "/v",
        name_prefix: str | None = "",
    ) -> BlueprintGroup:
        """Bundle blueprints (or groups, or lists of them) to register at once.

        See `BlueprintGroup` for the options.
        """
        return BlueprintGroup(
            *blueprints,
            url_prefix=url_prefix,
            version=version,
            strict_slashes=strict_slashes,
            version_prefix=version_prefix,
            name_prefix=name_prefix,
        )

    def __repr__(self) -> str:
        return f"Blueprint({self.name!r}, url_prefix={self.url_prefix!r})"


def _first(*values: Any) -> Any:
    """The first value that is not ``None``."""
    return next((v for v in values if v is not None), None)


class BlueprintGroup:
    """Blueprints registered together; groups may nest.

    Options apply to each blueprint that does not set its own: ``url_prefix`` goes in front
    of the blueprints' prefixes, ``version``, ``strict_slashes`` and ``version_prefix`` are
    defaults, and ``name_prefix`` makes route names ``"<name_prefix>_<bp>.<route>"`` (so one
    blueprint can be registered twice, under two prefixes). Middleware and error handlers
    declared on a group go to every blueprint in the group at that moment.

    Args:
        *blueprints: Blueprints, groups, or lists of them.
        url_prefix: Joined in front of every blueprint's own prefix.
        version: Default version of the blueprints' routes.
        strict_slashes: Default ``strict_slashes`` of the blueprints' routes.
        version_prefix: Default version prefix (``/v``).
        name_prefix: Put in front of route names.

    Raises:
        TypeError: an item is neither a blueprint nor a group (nor a list of them).
    """

    def __init__(
        self,
        *blueprints: Blueprint | BlueprintGroup | Iterable[Blueprint | BlueprintGroup],
        url_prefix: str | None = None,
        version: int | float | str | None = None,
        strict_slashes: bool | None = None,
        version_prefix: str = "/v",
        name_prefix: str | None = "",
    ) -> None:
        self.url_prefix = url_prefix
        self.version = version
        self.strict_slashes = strict_slashes
        self.version_prefix = version_prefix
        self.name_prefix = name_prefix
        self.blueprints: list[Blueprint | BlueprintGroup] = []
        for item in blueprints:
            if isinstance(item, Blueprint | BlueprintGroup):
                self.append(item)
            else:
                for member in item:
                    self.append(member)

    def append(self, blueprint: Blueprint | BlueprintGroup) -> None:
        """Add one more blueprint (or group) to the group.

        Raises:
            TypeError: ``blueprint`` is neither.
        """
        if not isinstance(blueprint, Blueprint | BlueprintGroup):
            raise TypeError(f"a blueprint group holds blueprints and groups, not {blueprint!r}")
        self.blueprints.append(blueprint)

    def mounts(self, outer: Mount | None = None) -> Iterator[tuple[Blueprint, Mount]]:
        """Every blueprint in the group with the options it is registered with."""
        outer = outer or Mount()
        prefix = _join_prefixes(outer.url_prefix, self.url_prefix)
        name_prefix = outer.name_prefix or self.name_prefix or None
        version_prefix = outer.version_prefix
        if self.version_prefix != "/v":
            version_prefix = self.version_prefix
        for item in self.blueprints:
            if isinstance(item, BlueprintGroup):
                inner = Mount(
                    prefix,
                    _first(self.version, outer.version),
                    _first(self.strict_slashes, outer.strict_slashes),
                    version_prefix,
                    name_prefix,
                )
                yield from item.mounts(inner)
                continue
            yield (
                item,
                Mount(
                    _join_prefixes(prefix, item.url_prefix) or "",
                    _first(self.version, outer.version),
                    _first(self.strict_slashes, outer.strict_slashes),
                    version_prefix,
                    name_prefix,
                ),
            )

    def __iter__(self) -> Iterator[Blueprint]:
        return (bp for bp, _ in self.mounts())

    def __len__(self) -> int:
        return sum(1 for _ in self)

    # -- declarations for every blueprint in the group ----------------------------------------

    def middleware(
        self, kind: MiddlewareKind | Callable[..., Any] = "request", *, priority: int = 0
    ) -> Any:
        """Middleware for every blueprint in the group (see `RouteRegistrar.middleware`)."""
        if callable(kind):
            return self.middleware("request", priority=priority)(kind)

        def decorator(fn: F) -> F:
            for bp in self:
                bp.middleware(kind, priority=priority)(fn)
            return fn

        return decorator

    def on_request(self, fn: F | None = None, *, priority: int = 0) -> Any:
        """Request middleware for every blueprint in the group."""
        decorator = self.middleware("request", priority=priority)
        return decorator if fn is None else decorator(fn)

    def on_response(self, fn: F | None = None, *, priority: int = 0) -> Any:
        """Response middleware for every blueprint in the group."""
        decorator = self.middleware("response", priority=priority)
        return decorator if fn is None else decorator(fn)

    def exception(
        self, *exceptions: type[BaseException] | Iterable[type[BaseException]]
    ) -> Callable[[F], F]:
        """An error handler for every blueprint in the group (see `RouteRegistrar.exception`)."""

        def decorator(fn: F) -> F:
            for bp in self:
                bp.exception(*exceptions)(fn)
            return fn

        return decorator
