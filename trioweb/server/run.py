"""Serving an app as a program: `run_app`, behind ``app.run()`` and the command line.

Three ways to run, chosen by `RunOptions`; in each, the listening sockets are bound once,
before any serving starts, by the process that lives longest:

- **One process** (``workers=1``): this process binds and serves. The first SIGINT or
  SIGTERM drains (no new connections; requests in flight are answered for up to
  ``GRACEFUL_SHUTDOWN_TIMEOUT`` seconds; the stop listeners run); a second one stops at once.
- **Workers** (``workers > 1``, `trioweb.server.supervisor`): this process binds, forks the
  workers, serves nothing itself, and supervises them.
- **Auto-reload** (``reload=True``, `trioweb.server.reload`): this process binds and watches
  the source files; one serving process, started fresh (``spawn``), imports the app and is
  replaced when a file changes.

Signals go to the process `run_app` runs in; serving processes started by it get theirs from
it (they are in their own process group, so a terminal's Ctrl-C reaches only the parent).
Under systemd use ``KillMode=mixed``: with the default (``control-group``) every worker gets
systemd's SIGTERM as well as the parent's, and a second SIGTERM means "stop now".
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import socket
import ssl as _ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import trio

from .sockets import bind_sockets, close_sockets, describe, listeners_from_sockets

if TYPE_CHECKING:
    from ..app import App
    from .serve import Server

__all__ = ["RunOptions", "TLSFiles", "run_app"]

logger = logging.getLogger("trioweb.server")

#: The signals a serving process and its parent act on.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PARENT_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: What a serving child writes on its control socket once it accepts connections.
READY = b"R"


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """The files a serving process makes its TLS context from (picklable, unlike a context).

    Attributes:
        cert: The certificate chain (PEM, the server's certificate first).
        key: The private key (PEM).
        ca: CA certificates that client certificates must chain to; ``None``: no client
            certificates asked for.
        password: The private key's password, if it is encrypted.
    """

    cert: str
    key: str
    ca: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How `run_app` serves: where, in how many processes, with what settings.

    Picklable (a reloaded process receives it) unless ``ssl_context`` is set. Build it with
    `trioweb.server.options.run_options`, which checks every value and names the mistake.

    Attributes:
        host: The address to listen on (a name may give several: IPv4 and IPv6).
        port: The TCP port; 0 lets the kernel choose.
        unix: A Unix socket path to serve instead of TCP.
        unix_mode: The Unix socket file's mode (``0o660``).
        fd: An inherited listening socket's descriptor to serve instead.
        workers: Serving processes; above 1, this process supervises them and serves none.
        reuse_port: ``SO_REUSEPORT``: let other servers bind the same port.
        backlog: The kernel's accept queue length (``None``: the system's maximum).
        ssl_context: Serve https with this context (not with ``reload``).
        tls: Serve https with a context each serving process builds from these files.
        reload: Restart the serving process when a watched file changes.
        reload_dirs: The directories to watch (default: the current one).
        app_target: Where a fresh process finds the app: ``"pkg.mod:app"``,
            ``"path/file.py:app"``, or a factory's name with ``factory``.
        factory: ``app_target`` names a function that returns the app.
        simple_dir: Serve this directory's files (when no app is given).
        config: Settings every serving process sets on ``app.config`` before it starts
            (``{"DEBUG": True, "ACCESS_LOG": False}``); then ``app.config.validate()`` runs.
        log_config: A ``logging.config.dictConfig`` mapping or a file (see
            `trioweb.logs.setup_logging`).
        log_level: The ``trioweb`` loggers' level (``"info"``, ``"debug"``, ...).

    Raises:
        ValueError: ``workers`` below 1, or ``reload`` with workers or with an SSLContext.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    unix: str | None = None
    unix_mode: int | None = None
    fd: int | None = None
    workers: int = 1
    reuse_port: bool = False
    backlog: int | None = None
    ssl_context: _ssl.SSLContext | None = None
    tls: TLSFiles | None = None
    reload: bool = False
    reload_dirs: tuple[str, ...] = ()
    app_target: str | None = None
    factory: bool = False
    simple_dir: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    log_config: Mapping[str, Any] | str | None = None
    log_level: str | None = None

    def __post_init__(self) -> None:
        # Plain containers, so the options pickle whatever mapping or sequence was passed.
        object.__setattr__(self, "config", dict(self.config))
        object.__setattr__(self, "reload_dirs", tuple(self.reload_dirs))
        if isinstance(self.workers, bool) or not isinstance(self.workers, int):
            raise ValueError(f"workers must be an int of at least 1, got {self.workers!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be an int of at least 1, got {self.workers!r}")
        if self.reload and self.workers > 1:
            raise ValueError("auto-reload serves with one process: drop workers (or fast)")
        if self.reload and self.ssl_context is not None:
            raise ValueError(
                "auto-reload starts fresh processes, which cannot take an SSLContext: give "
                "the certificate and key files (tls=TLSFiles(cert, key))"
            )


def run_app(app: App | None, options: RunOptions) -> int:
    """Serve until told to stop; return the process exit status.

    Binds the sockets in this process first, so a busy port fails here, once, with one
    line. Each serving process sets ``options.config`` on ``app.config`` and validates it
    before it serves. See the module docstring (and `trioweb.server.supervisor`,
    `trioweb.server.reload`) for the signals and what each mode does.

    Args:
        app: The app to serve; ``None`` to import ``options.app_target`` (or serve
            ``options.simple_dir``). With ``reload`` it is not used: each serving process
            imports ``options.app_target`` afresh.
        options: Where and how to serve.

    Returns:
        0 after a requested shutdown (SIGINT/SIGTERM); 1 when workers keep failing to start
        (see `trioweb.server.supervisor`).

    Raises:
        RuntimeError: called inside a running trio program, or by a script that a worker
            process is importing (``app.run()`` outside ``if __name__ == "__main__":``).
        trioweb.server.sockets.BindError: the address cannot be bound (one line).
        trioweb.config.ConfigError: a setting is invalid (one line).
        ValueError: no app to serve, a bad ``app_target``, TLS files that cannot be used,
            or ``reload`` without an ``app_target``; ``reload`` without watchfiles.
        Exception: whatever the app raises while starting (``before_server_start``, ...) in
            a single process.
    """
    _refuse_inside_trio()
    _refuse_inside_bootstrap()
    access_log = options.config.get("ACCESS_LOG", True if app is None else app.config.ACCESS_LOG)
    setup_process_logging(options, access_log=bool(access_log))
    if options.reload:
        from .reload import run_reloader

        return run_reloader(options)
    if app is None:
        app = resolve_app(options)
    prepare_app(app, options)
    ssl_context = server_ssl_context(options)
    sockets = bind(options)
    settle_heap(collect=True)  # before workers fork: they share these pages, untouched
    try:
        if options.workers > 1:
            from .supervisor import supervise

            return supervise(app, options, sockets, ssl_context)
        run_trio(serve_until_signalled, app, sockets, ssl_context)
        return 0
    finally:
        close_sockets(sockets)


def bind(options: RunOptions) -> list[socket.socket]:
    """The listening sockets ``options`` asks for (see `bind_sockets`)."""
    return bind_sockets(
        options.host,
        options.port,
        unix=options.unix,
        unix_mode=options.unix_mode,
        fd=options.fd,
        reuse_port=options.reuse_port,
        backlog=options.backlog,
    )


def resolve_app(options: RunOptions) -> App:
    """The app ``options`` names: ``app_target`` imported, or ``simple_dir`` served.

    Raises:
        ValueError: neither is given, or the target is wrong (see `load_app`).
    """
    from .loader import load_app, simple_app

    if options.app_target is not None:
        return load_app(options.app_target, factory=options.factory)
    if options.simple_dir is not None:
        return simple_app(options.simple_dir)
    raise ValueError("no app to serve: give an app, app_target ('module:app') or simple_dir")


def prepare_app(app: App, options: RunOptions) -> None:
    """Set ``options.config`` on ``app.config`` and validate it (in every serving process).

    Raises:
        trioweb.config.ConfigError: a setting is invalid.
    """
    for name, value in options.config.items():
        setattr(app.config, name, value)
    app.config.validate()


def server_ssl_context(options: RunOptions) -> _ssl.SSLContext | None:
    """The TLS context to serve with: ``options.ssl_context``, or one built from ``tls``.

    Raises:
        trioweb.server.tls.TLSError: a file is missing or unusable (one line).
    """
    if options.ssl_context is not None:
        return options.ssl_context
    if options.tls is None:
        return None
    from .tls import make_ssl_context

    files = options.tls
    return make_ssl_context(cert=files.cert, key=files.key, ca=files.ca, password=files.password)


def setup_process_logging(options: RunOptions, *, access_log: bool) -> None:
    """Configure logging as ``options`` says (see `trioweb.logs.setup_logging`)."""
    from ..logs import setup_logging

    setup_logging(options.log_config, options.log_level, access_log=access_log)


def run_trio(async_fn: Callable[..., Awaitable[object]], *args: Any) -> None:
    """``trio.run(async_fn, *args)``, raising a lone error without its exception groups.

    trio wraps what a nursery raises in groups; an error raised by the app while it starts
    (``before_server_start``) is easier to read as itself.
    """
    try:
        trio.run(async_fn, *args)
    except BaseExceptionGroup as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]
        if error is group:
            raise
        raise error from None


async def serve_until_signalled(
    app: App,
    sockets: Sequence[socket.socket],
    ssl_context: _ssl.SSLContext | None,
    control: socket.socket | None = None,
    worker: bool = False,
) -> None:
    """Serve ``app`` on ``sockets`` until SIGINT/SIGTERM: the first drains, a second cancels.

    The serving process's side of the protocol with a parent, when ``control`` is given
    (one end of a socket pair): once the app accepts connections (its ``after_server_start``
    listeners have run) it writes `READY` on it; when the parent goes away (the socket
    reads end-of-file) it drains as on SIGTERM. Takes ownership of ``sockets``.

    Args:
        app: The app, its config already prepared.
        sockets: Listening sockets (closed when this returns).
        ssl_context: Serve https with it.
        control: The socket to the parent process, if there is one.
        worker: One of several workers: its log lines name its pid, and it does not log
            ``serving 'name' on http://host:port`` (its parent does, once for all).
    """
    from .serve import serve_listeners

    addresses = serving_addresses(sockets, ssl_context)
    with trio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async with trio.open_nursery() as nursery:
            listeners = listeners_from_sockets(sockets, ssl_context)
            server: Server = await nursery.start(partial(serve_listeners, app, listeners))
            settle_heap(collect=False)  # and what the startup listeners made
            stop = _Stop(server, nursery, f"worker {os.getpid()}: " if worker else "")
            if not worker:
                logger.info("serving %r on %s", app.name, addresses)
            if control is not None:
                nursery.start_soon(_talk_to_parent, control, stop)
            async for signum in signals:
                stop.request(signal.Signals(signum).name)


def settle_heap(*, collect: bool) -> None:
    """Keep what exists now (the app, its modules, its startup state) out of garbage collection.

    Python's full collections walk every tracked object; with a framework and an app
    loaded that took ~16 ms, often enough under load to set p99 latency (measured at 64
    connections: ~19 ms with them, ~11 ms without, the trio + h11 floor ~13 ms). Frozen
    objects (`gc.freeze`) are skipped, and worker processes forked after it do not copy the
    pages a collection would otherwise touch. ``collect`` first frees startup garbage, which
    freezing would otherwise keep for good; it is skipped in a worker (after a fork) for the
    same reason. Only for processes trioweb runs: `App.serve` in your own program leaves
    your heap alone.
    """
    if collect:
        gc.collect()
    gc.freeze()


def serving_addresses(sockets: Sequence[socket.socket], ssl_context: object) -> str:
    """``http://127.0.0.1:8000``, ``unix:/run/app.sock``, ..., joined with ``" and "``."""
    scheme = "https" if ssl_context is not None else "http"
    shown = [describe(sock) for sock in sockets]
    return " and ".join(s if s.startswith(("unix:", "fd ")) else f"{scheme}://{s}" for s in shown)


class _Stop:
    """The first stop request drains the server; the next one cancels everything."""

    def __init__(self, server: Server, nursery: trio.Nursery, who: str) -> None:
        self._server = server
        self._nursery = nursery
        self._requested = False
        self._who = who

    def request(self, reason: str) -> None:
        if self._requested:
            logger.info("%s%s again: stopping now", self._who, reason)
            self._nursery.cancel_scope.cancel()
            return
        self._requested = True
        logger.info("%s%s: shutting down gracefully", self._who, reason)
        self._nursery.start_soon(self._drain)

    async def _drain(self) -> None:
        await self._server.shutdown()
        self._nursery.cancel_scope.cancel()


async def _talk_to_parent(control: socket.socket, stop: _Stop) -> None:
    channel = trio.socket.from_stdlib_socket(control)
    with channel:
        await channel.send(READY)
        while True:
            try:
                data = await channel.recv(64)
            except OSError:
                data = b""
            if not data:
                stop.request("the parent process is gone")
                return


def enter_serving_child() -> None:
    """Make this (just started) process a serving child: the parent decides its signals.

    It leaves the parent's process group (a terminal's Ctrl-C goes to the parent, which
    forwards SIGTERM), drops the parent's signal handlers and wakeup descriptor, and unblocks
    the signals the parent blocked while starting it (`start_blocked`).
    """
    os.setpgrp()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, PARENT_SIGNALS)


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


def _refuse_inside_bootstrap() -> None:
    # A fresh (spawned) serving process imports the parent's script before it serves; a
    # script that calls app.run() at module level would start another server there.
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            "app.run() was called while a serving process imported your script; "
            'call it under `if __name__ == "__main__":`'
        )
