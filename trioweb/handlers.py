"""What a handler may be, and how a plain ``def`` handler runs without stalling the server.

Route handlers, view methods and exception handlers may be ``async def`` or plain ``def``, as
in Sanic. A plain one runs in a worker thread (`trio.to_thread.run_sync`), at most
``config.SYNC_HANDLER_THREADS`` at once per app, so a blocking call (a database driver, a
file read) holds one thread instead of every connection. A thread cannot be interrupted: a
sync handler whose client leaves runs to its end, and its result is dropped.
Middleware and listeners that are plain functions run on the event loop: they are meant to
be short, and a listener's objects often belong to the thread that made them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from .request import Request

__all__ = ["check_handler", "in_worker_thread", "is_async", "to_async"]


def _unwrap_partial(fn: Any) -> Any:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def is_async(fn: Any) -> bool:
    """Whether calling ``fn`` gives an awaitable: an ``async def`` function, method or object.

    ``functools.partial`` is seen through; an object counts when its ``__call__`` is async.
    """
    fn = _unwrap_partial(fn)
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn):
        return False
    return inspect.iscoroutinefunction(_unwrap_partial(getattr(fn, "__call__", None)))  # noqa: B004


def check_handler(fn: Any, what: str) -> None:
    """Refuse what cannot serve as a handler, at registration rather than per request.

    Raises:
        TypeError: ``fn`` is not callable, or is a (async) generator function, which would
            hand back a generator instead of a response.
    """
    if not callable(fn):
        raise TypeError(f"{what} must be a function (async def or def), not {fn!r}")
    target = _unwrap_partial(fn)
    if inspect.isasyncgenfunction(target) or inspect.isgeneratorfunction(target):
        name = getattr(target, "__name__", repr(target))
        raise TypeError(
            f"{what} {name!r} is a generator function; a handler returns a response "
            "(to send a body in pieces, return stream(fn) or use request.respond())"
        )


def in_worker_thread(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Wrap a plain handler ``fn(request, ...)`` to run in a worker thread of its app.

    The thread count is limited by the app's ``thread_limiter``. If ``fn`` returns an
    awaitable (a plain function wrapping an async one), it is awaited on the event loop.
    """

    def call(request: Request, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any]:
        # Boxed: trio refuses a thread's result that is a coroutine, and a plain function
        # wrapping an async one returns just that (it is awaited back on the event loop).
        return (fn(request, *args, **kwargs),)

    @functools.wraps(fn)
    async def run_in_thread(request: Request, *args: Any, **kwargs: Any) -> Any:
        (result,) = await trio.to_thread.run_sync(
            call, request, args, kwargs, limiter=request.app.thread_limiter
        )
        if inspect.isawaitable(result):
            result = await result
        return result

    return run_in_thread


def to_async(fn: Callable[..., Any], what: str) -> Callable[..., Awaitable[Any]]:
    """``fn`` itself when it is async, else ``fn`` wrapped by `in_worker_thread`.

    Raises:
        TypeError: as `check_handler`.
    """
    check_handler(fn, what)
    return fn if is_async(fn) else in_worker_thread(fn)
