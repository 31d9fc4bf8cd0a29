"""``app.run()``: serve under ``trio.run`` with signal handling, in one or more processes."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import ssl as _ssl
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from ..app import App
    from .serve import Server

__all__ = ["run_app"]

logger = logging.getLogger("trioweb.server")


def run_app(
    app: App,
    host: str,
    port: int,
    *,
    workers: int = 1,
    ssl: _ssl.SSLContext | None = None,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``workers > 1`` forks processes sharing the port.

    The first signal shuts down gracefully; a second one stops at once.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
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
