"""``app.run()``: serve under ``trio.run`` with signal handling, in one or more processes."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import ssl as _ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from ..app import App
    from .serve import Server

__all__ = ["run_app"]

logger = logging.getLogger("trioweb.server")


def run_app(
    app: App,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    workers: int = 1,
    ssl: _ssl.SSLContext | None = None,
    debug: bool | None = None,
    access_log: bool | None = None,
    backlog: int | None = None,
    fast: bool = False,
    single_process: bool = False,
    dev: bool = False,
    auto_reload: bool | None = None,
    reload_dir: str | Sequence[str] | None = None,
    unix: str | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``workers > 1`` forks processes sharing the port.

    The first signal shuts down gracefully; a second one stops at once. Every argument is
    checked before anything starts, and ``app.config`` is changed only once they all pass.
    See `App.run` for what each argument means.

    Raises:
        RuntimeError: called inside a running trio program (use ``app.serve`` there).
        NotImplementedError: a Sanic feature trioweb does not have yet (``dev``,
            ``auto_reload``, ``reload_dir``, ``unix``, ``sock``).
        TypeError: ``ssl`` is not an ``ssl.SSLContext``.
        ValueError: ``workers``, ``fast`` and ``single_process`` disagree, or ``workers`` or
            ``backlog`` is below 1.
    """
    _refuse_inside_trio()
    _refuse_missing_features(dev, auto_reload, reload_dir, unix, sock)
    if ssl is not None and not isinstance(ssl, _ssl.SSLContext):
        raise TypeError(
            f"ssl= takes an ssl.SSLContext, got {type(ssl).__name__}; make one with "
            "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) and its "
            "load_cert_chain(certfile, keyfile)"
        )
    workers = _count_workers(workers, fast, single_process)
    if backlog is not None and backlog < 1:
        raise ValueError(f"backlog must be at least 1, got {backlog}")
    if debug is not None:
        app.config.DEBUG = debug
    if access_log is not None:
        app.config.ACCESS_LOG = access_log
    if backlog is not None:
        app.config.BACKLOG = backlog
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if workers == 1:
        trio.run(_serve_until_signalled, app, host, port, ssl, False)
        return
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_worker, args=(app, host, port, ssl), daemon=False)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    logger.info(
        "started %d workers on %s:%d (pids %s)",
        workers,
        host,
        port,
        ", ".join(str(p.pid) for p in processes),
    )

    def forward(signum: int, frame: object) -> None:
        # Workers live in their own process groups, so a terminal's Ctrl-C reaches only this
        # process; each signal here becomes one SIGTERM per worker (graceful, then immediate).
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for process in processes:
            process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _refuse_inside_trio() -> None:
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return  # not inside trio.run: the normal case
    raise RuntimeError(
        "app.run() starts its own trio.run(), so it cannot be called inside a running trio "
        "program; there, serve the app in a nursery: "
        "server = await nursery.start(app.serve, host, port)"
    )


def _refuse_missing_features(
    dev: bool,
    auto_reload: bool | None,
    reload_dir: str | Sequence[str] | None,
    unix: str | None,
    sock: socket.socket | None,
) -> None:
    # Sanic options for features trioweb does not have yet: each error names the feature,
    # says when it comes, and what to do meanwhile.
    later = "is not in trioweb yet; it arrives with production serving"
    if dev:
        raise NotImplementedError(
            f"dev=True (debug mode plus auto-reload): auto-reload {later}. "
            "Use debug=True for debug mode without reloading"
        )
    if auto_reload or reload_dir:
        raise NotImplementedError(
            f"auto-reload (auto_reload=, reload_dir=) {later}. Restart the process instead"
        )
    if unix is not None:
        raise NotImplementedError(
            f"serving on a Unix socket (unix=) {later}. Serve on a host and port instead"
        )
    if sock is not None:
        raise NotImplementedError(
            f"serving on a socket you opened (sock=) {later}. Pass host and port instead"
        )


def _count_workers(workers: int, fast: bool, single_process: bool) -> int:
    if fast and single_process:
        raise ValueError("fast=True starts a worker per CPU; single_process=True asks for one")
    if workers != 1 and (fast or single_process):
        option = "fast=True" if fast else "single_process=True"
        raise ValueError(f"{option} decides the number of workers; do not pass workers={workers}")
    if fast:
        # The CPUs this process may run on (a container may allow fewer than the machine has).
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
            return os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return workers


def _worker(app: App, host: str, port: int, ssl: _ssl.SSLContext | None) -> None:
    os.setpgrp()
    trio.run(_serve_until_signalled, app, host, port, ssl, True)


async def _serve_until_signalled(
    app: App, host: str, port: int, ssl: _ssl.SSLContext | None, reuse_port: bool
) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                lambda task_status: app.serve(
                    host, port, ssl=ssl, reuse_port=reuse_port, task_status=task_status
                )
            )
            logger.info("serving %r on %s", app.name, server.url)
            shutting_down = False
            async for signum in signals:
                if shutting_down:
                    logger.info("second %s: stopping now", signal.Signals(signum).name)
                    nursery.cancel_scope.cancel()
                    return
                shutting_down = True
                logger.info("%s: shutting down gracefully", signal.Signals(signum).name)
                nursery.start_soon(_shutdown_then_stop, server, nursery)


async def _shutdown_then_stop(server: Server, nursery: trio.Nursery) -> None:
    await server.shutdown()
    nursery.cancel_scope.cancel()
