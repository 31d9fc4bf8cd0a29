"""Blueprints: groups of routes registered on an app together, under a prefix and a name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from .registrar import MiddlewareSpec, RouteRegistrar, RouteSpec

__all__ = ["Blueprint", "BlueprintGroup", "join_paths"]


def join_paths(prefix: str | None, uri: str) -> str:
    """Join ``prefix`` and ``uri`` with one slash; ``"/"`` under a prefix is the prefix itself."""
    if not prefix:
        return uri
    prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
    if uri in ("", "/"):
        return prefix or "/"
    return prefix + "/" + uri.lstrip("/")


class Blueprint(RouteRegistrar):
    """Routes declared apart from an app and added with ``app.blueprint(bp)``.

    Route names become ``"<blueprint name>.<route name>"`` for `App.url_for`.

    Args:
        name: Unique among an app's blueprints; letters, digits, ``_`` and ``-``.
        url_prefix: Put in front of every route's path.
        host: Default ``host`` for the blueprint's routes.
        strict_slashes: Default ``strict_slashes`` for the blueprint's routes.
        version: Default ``version`` for the blueprint's routes (``/v<version>/...``).

    Raises:
        ValueError: ``name`` is empty or has other characters.
    """

    def __init__(
        self,
        name: str,
        url_prefix: str | None = None,
        host: str | None = None,
        strict_slashes: bool | None = None,
        version: int | str | None = None,
    ) -> None:
        if not name or not all(c.isalnum() or c in "_-" for c in name):
            raise ValueError(f"blueprint name must be letters, digits, '_' or '-', got {name!r}")
        self.name = name
        self.url_prefix = url_prefix
        self.host = host
        self.strict_slashes = strict_slashes
        self.version = version
        #: Set when an app registers the blueprint; it takes no more declarations after that.
        self.registered = False
        self._specs: list[RouteSpec] = []
        #: Middleware and error handlers the app applies to this blueprint's routes only.
        self.middleware_specs: list[MiddlewareSpec] = []
        self.error_handler_specs: list[tuple[type[BaseException], Callable[..., Any]]] = []

    def _register(self, spec: RouteSpec) -> None:
        self._check_open()
        self._specs.append(spec)

    def _add_middleware(self, spec: MiddlewareSpec) -> None:
        self._check_open()
        self.middleware_specs.append(spec)

    def _add_error_handler(
        self, exc_type: type[BaseException], handler: Callable[..., Any]
    ) -> None:
        self._check_open()
        self.error_handler_specs.append((exc_type, handler))

    def _check_open(self) -> None:
        # An app copies a blueprint when it registers it; a later addition would be lost.
        if self.registered:
            raise RuntimeError(
                f"blueprint {self.name!r} is already registered on an app; "
                "declare its routes, middleware and handlers before app.blueprint()"
            )

    def route_specs(self, outer_prefix: str | None = None) -> Iterator[RouteSpec]:
        """The blueprint's routes as an app registers them: prefixed, named and defaulted."""
        prefix = (
            join_paths(outer_prefix, self.url_prefix or "/") if outer_prefix else self.url_prefix
        )
        for spec in self._specs:
            yield replace(
                spec,
                uri=join_paths(prefix, spec.uri),
                name=f"{self.name}.{spec.name}",
                strict_slashes=(
                    spec.strict_slashes if spec.strict_slashes is not None else self.strict_slashes
                ),
                host=spec.host or self.host,
                version=spec.version if spec.version is not None else self.version,
                blueprint=self.name,
            )

    @staticmethod
    def group(
        *blueprints: Blueprint | BlueprintGroup, url_prefix: str | None = None
    ) -> BlueprintGroup:
        """Bundle blueprints (or groups) to register at once under a shared ``url_prefix``."""
        return BlueprintGroup(*blueprints, url_prefix=url_prefix)

    def __repr__(self) -> str:
        return f"Blueprint({self.name!r}, url_prefix={self.url_prefix!r})"


class BlueprintGroup:
    """Blueprints registered together under one prefix; groups may nest."""

    def __init__(
        self, *blueprints: Blueprint | BlueprintGroup, url_prefix: str | None = None
    ) -> None:
        self.url_prefix = url_prefix
        self.blueprints: list[Blueprint | BlueprintGroup] = list(blueprints)

    def append(self, blueprint: Blueprint | BlueprintGroup) -> None:
        """Add one more blueprint (or group) to the group."""
        self.blueprints.append(blueprint)

    def flatten(self, outer_prefix: str | None = None) -> Iterator[tuple[Blueprint, str | None]]:
        """Every blueprint in the group with the prefix the groups around it add."""
        prefix = (
            join_paths(outer_prefix, self.url_prefix or "/") if outer_prefix else self.url_prefix
        )
        for item in self.blueprints:
            if isinstance(item, BlueprintGroup):
                yield from item.flatten(prefix)
            else:
                yield item, prefix

    def __iter__(self) -> Iterator[Blueprint]:
        return (bp for bp, _ in self.flatten())

    def __len__(self) -> int:
        return sum(1 for _ in self)
