"""Middleware chains and error-handler tables, each scoped to the app or to one blueprint.

A request's scope is the blueprint its route came from (``None`` for app routes and for
requests that matched no route). App-wide entries apply in every scope; a blueprint's apply
only in its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .registrar import MiddlewareSpec
from .response import BaseHTTPResponse

if TYPE_CHECKING:
    from .request import Request

__all__ = ["ErrorHandlers", "MiddlewareStack"]

Scope = str | None


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    return await result if inspect.isawaitable(result) else result


class MiddlewareStack:
    """Request and response middleware, ordered by priority then registration."""

    def __init__(self) -> None:
        self._entries: list[tuple[Scope, MiddlewareSpec]] = []
        self._chains: dict[Scope, tuple[tuple[Callable[..., Any], ...], ...]] = {}

    def add(self, spec: MiddlewareSpec, scope: Scope = None) -> None:
        """Register ``spec`` for ``scope`` (a blueprint name, or ``None`` for the whole app)."""
        self._entries.append((scope, spec))
        self._chains.clear()

    def chains(self, scope: Scope) -> tuple[tuple[Callable[..., Any], ...], ...]:
        """The request and the response middleware for ``scope``, in the order they run."""
        chain = self._chains.get(scope)
        if chain is None:
            specs = [spec for owner, spec in self._entries if owner is None or owner == scope]
            request = sorted(
                (s for s in specs if s.kind == "request"), key=lambda s: (-s.priority, s.order)
            )
            response = sorted(
                (s for s in specs if s.kind == "response"), key=lambda s: (-s.priority, -s.order)
            )
            chain = self._chains[scope] = (
                tuple(s.fn for s in request),
                tuple(s.fn for s in response),
            )
        return chain

    async def run_request(self, request: Request, scope: Scope) -> BaseHTTPResponse | None:
        """Run request middleware; the first response one returns ends the chain."""
        for fn in self.chains(scope)[0]:
            early = await _call(fn, request)
            if isinstance(early, BaseHTTPResponse):
                return early
        return None

    async def run_response(self, request: Request, response: Any, scope: Scope) -> Any:
        """Run response middleware; a response one returns replaces the current one.

        ``response`` may be what a handler returned instead of a response (a dict, say),
        for middleware to turn into one.
        """
        for fn in self.chains(scope)[1]:
            replaced = await _call(fn, request, response)
            if isinstance(replaced, BaseHTTPResponse):
                response = replaced
        return response


class ErrorHandlers:
    """Exception handlers by type, found along the exception's MRO, blueprint's first."""

    def __init__(self) -> None:
        self._tables: dict[Scope, dict[type[BaseException], Callable[..., Any]]] = {}

    def add(
        self, exc_type: type[BaseException], handler: Callable[..., Any], scope: Scope = None
    ) -> None:
        """Handle ``exc_type`` (and subclasses) with ``handler`` within ``scope``."""
        self._tables.setdefault(scope, {})[exc_type] = handler

    def lookup(self, exc: BaseException, scope: Scope) -> Callable[..., Any] | None:
        """The handler for ``exc`` in ``scope``, falling back to the app's own."""
        scopes = (scope, None) if scope is not None else (None,)
        for owner in scopes:
            table = self._tables.get(owner)
            if not table:
                continue
            for cls in type(exc).__mro__:
                handler = table.get(cls)
                if handler is not None:
                    return handler
        return None
