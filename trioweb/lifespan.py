"""An app's life under one server: its listeners, in order, and its ``add_task`` work.

A server drives it in this order::

    lifespan = app.lifespan()
    await lifespan.start(app_nursery)   before_server_start, then add_task work starts
    await lifespan.started()            after_server_start (the server accepts connections)
    ...                                 serving
    await lifespan.stopping()           before_server_stop (connections are draining)
    await lifespan.stopped()            after_server_stop (every connection has closed)

and then cancels ``app_nursery``, which ends the ``add_task`` work. A listener may be
``async def`` or plain ``def`` (run on the event loop, as middleware is).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from .app import App
    from .registrar import ListenerEvent

__all__ = ["Lifespan"]


class Lifespan:
    """Runs an app's listeners and background tasks for one server run.

    Tasks added before the server starts run with every run (each `trioweb.App.serve`, each
    test client); tasks added by a listener or while serving belong to this run only.
    """

    __slots__ = ("app",)

    def __init__(self, app: App) -> None:
        self.app = app

    async def start(self, nursery: trio.Nursery) -> None:
        """Run ``before_server_start``, then start the ``add_task`` work in ``nursery``.

        From here until `stopped`, `trioweb.App.add_task` starts its task at once.
        """
        app = self.app
        every_run = list(app.tasks)
        await self._run("before_server_start")
        this_run, app.tasks[:] = app.tasks[len(every_run) :], every_run
        app._task_nursery = nursery
        for async_fn, args in [*every_run, *this_run]:
            nursery.start_soon(async_fn, *args)

    async def started(self) -> None:
        """Run ``after_server_start``: the server accepts connections."""
        await self._run("after_server_start")

    async def stopping(self) -> None:
        """Run ``before_server_stop``: shutdown has begun and connections are draining."""
        await self._run("before_server_stop")

    async def stopped(self) -> None:
        """Run ``after_server_stop``, once every connection has closed.

        `trioweb.App.add_task` no longer starts tasks; the caller then cancels the nursery.
        """
        self.detach()
        await self._run("after_server_stop")

    def detach(self) -> None:
        """Forget the task nursery (also when the server stops abnormally)."""
        self.app._task_nursery = None

    async def _run(self, event: ListenerEvent) -> None:
        for listener in self.app.listeners[event]:
            result = listener(*_listener_args(listener, self.app))
            if inspect.isawaitable(result):
                await result


def _listener_args(listener: Callable[..., Any], app: App) -> tuple[Any, ...]:
    """``(app,)``, or ``(app, None)`` for a listener declared ``(app, loop)`` as in Sanic.

    trio has no asyncio loop to pass; code that only declares the parameter keeps working.
    """
    try:
        params = inspect.signature(listener).parameters.values()
    except (TypeError, ValueError):
        return (app,)
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return (app, None) if len(positional) == 2 else (app,)
