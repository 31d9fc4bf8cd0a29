"""Auto-reload: serve from a fresh process, and replace it when a source file changes.

The process contract (the parent is the process `run_app` runs in; it serves nothing and
never imports the app):

- **Sockets.** The parent binds the listening sockets once and keeps them open; each serving
  process receives them, so connections wait in the kernel's queue while one process
  replaces another instead of being refused.
- **Fresh code.** Each serving process is started with ``multiprocessing``'s ``spawn``: a new
  interpreter that imports ``options.app_target`` (or serves ``options.simple_dir``), so the
  edited code is what runs. A script started as ``python script.py`` is imported again by
  that process, so it must call ``app.run()`` under ``if __name__ == "__main__":``.
- **Watching.** The parent watches the Python files (``*.py``, ``*.pyx``, ``*.pyd``; not
  ``__pycache__``, ``.git``, virtualenvs, ...) under ``options.reload_dirs`` (default: the
  current directory) with ``watchfiles``. On a change it sends the serving process SIGTERM
  (it drains: requests in flight are answered), then starts a new one once it has exited. A
  process still draining 5 s later gets a second SIGTERM (it stops at once), and SIGKILL
  5 s after that. SIGHUP to the parent reloads the same way.
- **Errors while editing.** A serving process that exits on its own (a ``SyntaxError`` or
  ``ImportError`` in the app, an error while it starts, a crash) is logged, its traceback
  on stderr, and the parent waits for the next change to try again. It does not exit.
- **SIGINT / SIGTERM** to the parent: the serving process gets SIGTERM and drains, and the
  parent exits with status 0 once it has. A second SIGINT/SIGTERM sends a second SIGTERM
  (stop at once), a third SIGKILL.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..config import Config
from .run import (
    PARENT_SIGNALS,
    RunOptions,
    bind,
    enter_serving_child,
    prepare_app,
    resolve_app,
    run_trio,
    serve_until_signalled,
    server_ssl_context,
    setup_process_logging,
)
from .sockets import close_sockets
from .supervisor import Child, SignalInbox, start_child, wait_for

__all__ = ["run_reloader"]

logger = logging.getLogger("trioweb.server")

#: After the SIGTERM that starts a reload: (seconds since, signal) while it has not exited.
RELOAD_ESCALATION = ((5.0, signal.SIGTERM), (10.0, signal.SIGKILL))

MISSING_WATCHFILES = "auto-reload needs watchfiles: pip install 'trioweb[reload]'"


def run_reloader(options: RunOptions) -> int:
    """Serve ``options.app_target`` from a fresh process, replaced whenever a file changes.

    Call it in the main thread. See the module docstring for the processes and signals.

    Returns:
        0 after SIGINT/SIGTERM.

    Raises:
        ValueError: watchfiles is not installed, there is no ``app_target`` (or
            ``simple_dir``), a directory to watch does not exist, or a setting in
            ``options.config`` or the TLS files cannot be used.
        trioweb.server.sockets.BindError: the address cannot be bound.
    """
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise ValueError(MISSING_WATCHFILES) from None
    if options.app_target is None and options.simple_dir is None:
        raise ValueError(
            "auto-reload imports the app afresh in each serving process: give it as "
            "'module:app' or 'path/to/file.py:app' (app_target)"
        )
    folders = _folders(options)
    # What can be checked without importing the app is checked here, once, so a mistake on
    # the command line is an error rather than a serving process that keeps failing.
    config = Config()
    for name, value in options.config.items():
        setattr(config, name, value)
    config.validate()
    server_ssl_context(options)
    sockets = bind(options)
    try:
        return _Reloader(options, sockets, folders).run()
    finally:
        close_sockets(sockets)


def _folders(options: RunOptions) -> list[str]:
    folders = list(options.reload_dirs) or [os.getcwd()]
    target = options.app_target or ""
    source = target.rpartition(":")[0] if ":" in target else target
    if not options.reload_dirs and source.endswith(".py"):
        # A script outside the current directory is watched too.
        script_folder = str(Path(source).resolve().parent)
        if not any(_inside(script_folder, folder) for folder in folders):
            folders.append(script_folder)
    for folder in folders:
        if not Path(folder).is_dir():
            raise ValueError(f"cannot watch {folder!r} for changes: not a directory")
    return [str(Path(folder).resolve()) for folder in folders]


def _inside(path: str, folder: str) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def _serve_fresh(
    options: RunOptions,
    sockets: Sequence[socket.socket],
    control: socket.socket,
    inherited: Sequence[socket.socket],
) -> None:
    """The spawned serving process: import the app afresh and serve until SIGTERM."""
    enter_serving_child()
    setup_process_logging(options, access_log=bool(options.config.get("ACCESS_LOG", True)))
    app = resolve_app(options)
    prepare_app(app, options)
    run_trio(serve_until_signalled, app, sockets, server_ssl_context(options), control)


class _Reloader:
    def __init__(self, options: RunOptions, sockets: Sequence[socket.socket], folders: list[str]):
        self.options = options
        self.sockets = list(sockets)
        self.folders = folders
        self.context = multiprocessing.get_context("spawn")
        self.child: Child | None = None
        self.restart_wanted = False
        self.stop_signals = 0
        self.changes: queue.SimpleQueue[set[tuple[Any, str]]] = queue.SimpleQueue()
        self.wake_reader, self.wake_writer = socket.socketpair()
        self.wake_reader.setblocking(False)
        self.wake_writer.setblocking(False)

    def run(self) -> int:
        stop_watching = threading.Event()
        watcher = threading.Thread(
            target=self._watch, args=(stop_watching,), name="trioweb reload", daemon=True
        )
        try:
            with SignalInbox(PARENT_SIGNALS) as inbox:
                watcher.start()
                logger.info("auto-reload: watching %s", ", ".join(self.folders))
                self._start()
                try:
                    while not (self.stop_signals and self.child is None):
                        self._step(inbox)
                finally:
                    if self.child is not None:  # only after an error in this loop
                        self.child.send(signal.SIGKILL)
                        self.child.reap()
        finally:
            stop_watching.set()
            watcher.join(timeout=2)
            self.wake_reader.close()
            self.wake_writer.close()
        return 0

    def _watch(self, stop: threading.Event) -> None:
        import watchfiles

        try:
            for changes in watchfiles.watch(
                *self.folders,
                watch_filter=watchfiles.PythonFilter(),
                stop_event=stop,
                raise_interrupt=False,
            ):
                self.changes.put(changes)
                # Full: the loop will look anyway; closed: it is stopping.
                with contextlib.suppress(OSError):
                    self.wake_writer.send(b"!")
        except Exception:
            logger.exception("auto-reload: watching files failed; no more reloads")

    def _step(self, inbox: SignalInbox) -> None:
        child = self.child
        waitables: list[Any] = [inbox, self.wake_reader]
        deadline = None
        if child is not None:
            waitables.append(child.sentinel)
            if not child.ready and child.control_open:
                waitables.append(child.control)
            if child.deadlines:
                deadline = child.deadlines[0][0]
        ready = wait_for(waitables, deadline)
        if inbox in ready:
            for signum in inbox.receive():
                self._on_signal(signum)
        if self.wake_reader in ready:
            self._on_changes()
        if child is not None and child.control in ready:
            child.read_control()
        if child is not None and child.sentinel in ready:
            self._on_exit(child)
        elif child is not None and child.deadlines and child.deadlines[0][0] <= time.monotonic():
            _, signum = child.deadlines.pop(0)
            logger.warning("auto-reload: process %d is still stopping: %s", child.pid, signum.name)
            child.send(signum)

    def _start(self) -> None:
        self.child = start_child(self.context, _serve_fresh, (self.options, self.sockets))
        logger.info("auto-reload: started process %d", self.child.pid)

    def _reload(self, why: str) -> None:
        if self.stop_signals:
            return
        logger.info("auto-reload: %s; reloading", why)
        if self.child is None:
            self._start()
        elif not self.child.stopping:
            self.child.stop(RELOAD_ESCALATION)
            self.restart_wanted = True

    def _on_signal(self, signum: signal.Signals) -> None:
        if signum == signal.SIGHUP:
            self._reload("SIGHUP")
            return
        self.stop_signals += 1
        child = self.child
        if self.stop_signals == 1:
            logger.info("%s: shutting down", signum.name)
            if child is not None:
                child.stop()
        elif child is not None and self.stop_signals == 2:
            logger.info("%s again: stopping now", signum.name)
            child.send(signal.SIGTERM)
        elif child is not None:
            logger.info("%s a third time: killing process %d", signum.name, child.pid)
            child.send(signal.SIGKILL)

    def _on_changes(self) -> None:
        try:
            while self.wake_reader.recv(4096):
                pass
        except BlockingIOError:
            pass
        paths: set[str] = set()
        while True:
            try:
                paths.update(path for _change, path in self.changes.get_nowait())
            except queue.Empty:
                break
        if paths:
            self._reload(f"{_show(paths)} changed")

    def _on_exit(self, child: Child) -> None:
        if not child.ready and child.control_open:
            child.read_control()
        how = child.reap()
        self.child = None
        if self.stop_signals or (child.stopping and not self.restart_wanted):
            logger.info("auto-reload: process %d %s", child.pid, how)
            return
        if self.restart_wanted:
            self.restart_wanted = False
            self._start()
            return
        logger.error(
            "auto-reload: process %d %s%s; waiting for a change to start it again",
            child.pid,
            how,
            "" if child.ready else " before it served",
        )


def _show(paths: Iterable[str]) -> str:
    cwd = Path.cwd()
    shown = []
    for path in sorted(paths):
        try:
            shown.append(str(Path(path).relative_to(cwd)))
        except ValueError:
            shown.append(path)
    if len(shown) > 3:
        return ", ".join(shown[:3]) + f" and {len(shown) - 3} more"
    return ", ".join(shown)
