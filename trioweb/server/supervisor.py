"""Worker processes under a supervisor: ``workers > 1``.

The process contract (the parent is the process `run_app` runs in; it serves nothing):

- **Sockets.** The parent binds the listening sockets once, before any worker exists, and
  keeps them open until it exits; workers are forked from it and serve those same sockets.
  Without ``reuse_port`` a second server on the same port fails to bind instead of taking a
  share of the connections.
- **Readiness.** A worker is *serving* once its app accepts connections (its
  ``after_server_start`` listeners have run); it tells the parent over a socket pair. A
  worker whose parent dies (even by SIGKILL) sees that socket close and drains as on SIGTERM.
- **SIGINT / SIGTERM** to the parent: it sends SIGTERM to every worker, which drains
  (finishes requests in flight for up to ``GRACEFUL_SHUTDOWN_TIMEOUT`` seconds, runs the stop
  listeners) and exits; the parent waits for all of them and exits with status 0. A worker
  still alive ``GRACEFUL_SHUTDOWN_TIMEOUT`` + 10 s later is killed (SIGKILL). A second
  SIGINT/SIGTERM to the parent sends a second SIGTERM to every worker: it stops at once (in
  flight requests are cancelled). A third one sends SIGKILL.
- **SIGHUP** to the parent: the workers are replaced one at a time: a new worker is started,
  and once it is serving one old worker gets SIGTERM (and drains). The listening sockets stay
  open throughout, so no connection is refused. The new workers are forked from the parent,
  so they run the code the parent imported: restart the parent to deploy new code. If a new
  worker fails before it serves, the replacing stops there and the old workers go on.
- **A worker that exits unasked** (a crash, ``kill -9``, an out-of-memory kill) is logged with
  its pid and exit status or signal, and replaced. The first replacement starts at once;
  while replacements keep exiting, the delay before the next doubles from 0.5 s up to 10 s,
  and it is back to "at once" for a worker that had lived 30 s.
- **Failing to start.** While the workers first start, one that exits before it serves (an
  error in ``before_server_start``, say) stops everything: the parent drains the others and
  exits with status 1. Later, replacements that exit before they serve 5 times in a row do
  the same.

Exit status of the parent (`supervise`'s return value): 0 after SIGINT/SIGTERM, 1 when the
workers failed to start as above.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import ssl as _ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from .run import (
    PARENT_SIGNALS,
    READY,
    RunOptions,
    enter_serving_child,
    run_trio,
    serve_until_signalled,
    serving_addresses,
)

if TYPE_CHECKING:
    from ..app import App

__all__ = ["RESTART_POLICY", "RestartPolicy", "supervise"]

logger = logging.getLogger("trioweb.server")


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When the supervisor replaces workers, and when it gives up.

    Attributes:
        first_delay: The delay before replacing a worker that exited soon after the
            previous replacement; it doubles for each one after.
        max_delay: The longest delay between replacements.
        reset_after: A worker that lived this long is replaced at once, and the delay
            starts over.
        max_start_failures: Replacements that exit before they serve, in a row, before the
            supervisor stops with status 1.
        stop_margin: How long past ``GRACEFUL_SHUTDOWN_TIMEOUT`` a stopping worker may take
            (its stop listeners) before it is killed.
    """

    first_delay: float = 0.5
    max_delay: float = 10.0
    reset_after: float = 30.0
    max_start_failures: int = 5
    stop_margin: float = 10.0


#: The policy `supervise` uses unless given one.
RESTART_POLICY = RestartPolicy()


def supervise(
    app: App,
    options: RunOptions,
    sockets: Sequence[socket.socket],
    ssl_context: _ssl.SSLContext | None,
    policy: RestartPolicy | None = None,
) -> int:
    """Fork ``options.workers`` workers serving ``sockets`` and supervise them until stopped.

    Call it in the main thread, with ``app.config`` prepared. The sockets stay open (the
    caller closes them after). See the module docstring for the signals and the policy.

    Returns:
        0 after SIGINT/SIGTERM; 1 when workers fail to start.
    """
    supervisor = _Supervisor(app, options, sockets, ssl_context, policy or RESTART_POLICY)
    return supervisor.run()


class SignalInbox:
    """Signals to this process as a socket to wait on, with the loop's other events.

    While it is open, the given signals do nothing but queue their numbers here (through
    ``signal.set_wakeup_fd``); on close the previous handlers come back.
    """

    def __init__(self, signums: Sequence[signal.Signals]) -> None:
        self._signums = signums
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous: dict[int, Any] = {}
        self._previous_fd = -1

    def __enter__(self) -> SignalInbox:
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for signum in self._signums:
            self._previous[signum] = signal.signal(signum, _noted)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()

    def fileno(self) -> int:
        return self._reader.fileno()

    @property
    def sockets(self) -> tuple[socket.socket, socket.socket]:
        """Both ends (a forked child closes them)."""
        return self._reader, self._writer

    def receive(self) -> list[signal.Signals]:
        """The signals received since the last call, in order."""
        try:
            data = self._reader.recv(1024)
        except BlockingIOError:
            return []
        return [signal.Signals(number) for number in data]


def _noted(signum: int, frame: object) -> None:
    """The Python-level handler: the wakeup descriptor already noted the signal."""


class Child:
    """A serving process started by a parent, with the socket pair it reports on."""

    def __init__(self, process: BaseProcess, control: socket.socket) -> None:
        self.process = process
        self.pid = int(process.pid or 0)
        #: Readable once the process has exited.
        self.sentinel = process.sentinel
        self.control = control
        self.started = time.monotonic()
        self.ready = False
        self.stopping = False
        self.control_open = True
        #: (when, signal) to send while it has not exited: the escalation of a stop.
        self.deadlines: list[tuple[float, signal.Signals]] = []

    def send(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # exited: its sentinel will say so
            os.kill(self.pid, signum)

    def stop(self, escalation: Sequence[tuple[float, signal.Signals]] = ()) -> None:
        """SIGTERM (drain), then each ``(delay, signal)`` of ``escalation`` while alive."""
        now = time.monotonic()
        self.stopping = True
        self.send(signal.SIGTERM)
        self.deadlines = [(now + delay, signum) for delay, signum in escalation]

    def read_control(self) -> None:
        """Read what the child wrote: `READY`, or end-of-file (it is exiting)."""
        try:
            data = self.control.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if READY in data:
            self.ready = True
        if not data:
            self.control_open = False

    def reap(self) -> str:
        """Wait for the (exited) process; how it ended, for the log."""
        self.process.join()
        code = self.process.exitcode
        self.process.close()  # its sentinel descriptor
        self.control.close()
        if code is not None and code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"


def start_child(
    context: ForkContext | SpawnContext,
    target: Callable[..., object],
    args: tuple[Any, ...],
    inherited: Sequence[socket.socket] = (),
) -> Child:
    """Start ``target(*args, control, inherited)`` in a new process.

    ``control`` is the child's end of a new socket pair (the `Child` keeps the other);
    ``inherited`` lists the parent's sockets a forked child must close (for a spawned one it
    is empty: it inherits nothing). The parent's signals stay blocked while the process
    starts, so none reaches a child before it has dropped the parent's handlers
    (`enter_serving_child`).
    """
    parent_end, child_end = socket.socketpair()
    parent_end.setblocking(False)
    forked = context.get_start_method() == "fork"
    to_close = [*inherited, parent_end] if forked else []
    try:
        with _signals_blocked():
            process = context.Process(
                target=target, args=(*args, child_end, to_close), name="trioweb", daemon=False
            )
            process.start()
    except BaseException:
        parent_end.close()
        raise
    finally:
        child_end.close()
    return Child(process, parent_end)


@contextmanager
def _signals_blocked() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, PARENT_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def wait_for(waitables: Sequence[Any], deadline: float | None) -> list[Any]:
    """Block until one of ``waitables`` (sockets, descriptors) is readable or ``deadline``."""
    timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
    return multiprocessing.connection.wait(waitables, timeout)


def _worker_main(
    app: App,
    sockets: Sequence[socket.socket],
    ssl_context: _ssl.SSLContext | None,
    control: socket.socket,
    inherited: Sequence[socket.socket],
) -> None:
    """A forked worker: serve until SIGTERM (or until the parent is gone)."""
    enter_serving_child()
    for sock in inherited:
        sock.close()
    run_trio(serve_until_signalled, app, sockets, ssl_context, control, True)


class _Supervisor:
    def __init__(
        self,
        app: App,
        options: RunOptions,
        sockets: Sequence[socket.socket],
        ssl_context: _ssl.SSLContext | None,
        policy: RestartPolicy,
    ) -> None:
        self.app = app
        self.count = options.workers
        self.sockets = list(sockets)
        self.ssl_context = ssl_context
        self.policy = policy
        self.context = multiprocessing.get_context("fork")
        self.children: list[Child] = []
        self.restarts: list[float] = []  # when to start a replacement
        self.delay = 0.0
        self.start_failures = 0
        self.booted = False
        self.stop_signals = 0
        self.shutting_down = False
        self.status = 0
        self.replacing: list[Child] = []  # old workers a SIGHUP replaces, in order
        self.replacement: Child | None = None
        self.inbox: SignalInbox | None = None

    def run(self) -> int:
        with SignalInbox(PARENT_SIGNALS) as inbox:
            self.inbox = inbox
            try:
                for _ in range(self.count):
                    self._start_worker()
                while self.children or not self.shutting_down:
                    self._step(inbox)
            finally:
                for child in self.children:  # only after an error in this loop
                    child.send(signal.SIGKILL)
                    child.reap()
        return self.status

    # -- the loop -------------------------------------------------------------------------

    def _step(self, inbox: SignalInbox) -> None:
        due = list(self.restarts)
        due += [child.deadlines[0][0] for child in self.children if child.deadlines]
        waitables: list[Any] = [inbox]
        waitables += [child.sentinel for child in self.children]
        waitables += [c.control for c in self.children if not c.ready and c.control_open]
        ready = wait_for(waitables, min(due, default=None))
        if inbox in ready:
            for signum in inbox.receive():
                self._on_signal(signum)
        for child in list(self.children):
            if child.control in ready:
                was_ready = child.ready
                child.read_control()
                if child.ready and not was_ready:
                    self._on_ready(child)
        for child in list(self.children):
            if child.sentinel in ready:
                self._on_exit(child)
        self._on_time(time.monotonic())

    def _start_worker(self) -> Child:
        assert self.inbox is not None
        inherited = [*self.inbox.sockets, *(child.control for child in self.children)]
        child = start_child(
            self.context, _worker_main, (self.app, self.sockets, self.ssl_context), inherited
        )
        self.children.append(child)
        logger.info("started worker %d", child.pid)
        return child

    # -- events ---------------------------------------------------------------------------

    def _on_signal(self, signum: signal.Signals) -> None:
        if signum == signal.SIGHUP:
            self._replace_all()
            return
        self.stop_signals += 1
        if self.stop_signals == 1:
            logger.info("%s: stopping %d workers gracefully", signum.name, len(self.children))
            self._shut_down()
        elif self.stop_signals == 2:
            logger.info("%s again: stopping the workers now", signum.name)
            for child in self.children:
                child.send(signal.SIGTERM)
        else:
            logger.info("%s a third time: killing the workers", signum.name)
            for child in self.children:
                child.send(signal.SIGKILL)

    def _on_ready(self, child: Child) -> None:
        self.start_failures = 0
        if child is self.replacement:
            old = self.replacing.pop(0)
            logger.info("worker %d serving; stopping worker %d", child.pid, old.pid)
            old.stop(self._escalation())
            self.replacement = None
            self._replace_next()
            return
        if not self.booted and sum(c.ready and not c.stopping for c in self.children) >= self.count:
            self.booted = True
            logger.info(
                "serving %r on %s with %d workers (supervisor pid %d)",
                self.app.name,
                serving_addresses(self.sockets, self.ssl_context),
                self.count,
                os.getpid(),
            )
        elif self.booted:
            logger.info("worker %d serving", child.pid)

    def _on_exit(self, child: Child) -> None:
        if not child.ready and child.control_open:
            child.read_control()  # a READY sent just before it exited
        how = child.reap()
        self.children.remove(child)
        if child in self.replacing:
            self.replacing.remove(child)
        if self.shutting_down or child.stopping:
            logger.info("worker %d %s", child.pid, how)
            return
        if child is self.replacement:
            self.replacement = None
            self.replacing.clear()
            logger.error(
                "worker %d %s before it served; SIGHUP replacement stopped, the other "
                "workers go on",
                child.pid,
                how,
            )
            return
        if not child.ready:
            self.start_failures += 1
            if not self.booted:
                logger.error("worker %d %s before it served; stopping", child.pid, how)
                self._fail()
                return
            if self.start_failures >= self.policy.max_start_failures:
                logger.error(
                    "worker %d %s before it served, %d times in a row; stopping",
                    child.pid,
                    how,
                    self.start_failures,
                )
                self._fail()
                return
        delay = self._next_delay(child)
        logger.warning(
            "worker %d %s%s; starting another %s",
            child.pid,
            how,
            "" if child.ready else " before it served",
            f"in {delay:g} s" if delay else "now",
        )
        self.restarts.append(time.monotonic() + delay)

    def _on_time(self, now: float) -> None:
        due = [when for when in self.restarts if when <= now]
        self.restarts = [when for when in self.restarts if when > now]
        for _ in due:
            if not self.shutting_down:
                self._start_worker()
        for child in self.children:
            while child.deadlines and child.deadlines[0][0] <= now:
                _, signum = child.deadlines.pop(0)
                logger.warning("worker %d is still stopping: sending %s", child.pid, signum.name)
                child.send(signum)

    # -- decisions ------------------------------------------------------------------------

    def _replace_all(self) -> None:
        if self.shutting_down:
            return
        if self.replacement is not None or self.replacing:
            logger.info("SIGHUP: the workers are already being replaced")
            return
        self.replacing = [child for child in self.children if not child.stopping]
        logger.info("SIGHUP: replacing %d workers one by one", len(self.replacing))
        self._replace_next()

    def _replace_next(self) -> None:
        if self.replacing:
            self.replacement = self._start_worker()
        else:
            logger.info("SIGHUP: all workers replaced")

    def _shut_down(self) -> None:
        self.shutting_down = True
        self.restarts.clear()
        self.replacing.clear()
        self.replacement = None
        for child in self.children:
            if not child.stopping:
                child.stop(self._escalation())

    def _fail(self) -> None:
        self.status = 1
        self._shut_down()

    def _escalation(self) -> list[tuple[float, signal.Signals]]:
        grace = self.app.config.GRACEFUL_SHUTDOWN_TIMEOUT
        if grace is None:
            return []
        return [(grace + self.policy.stop_margin, signal.SIGKILL)]

    def _next_delay(self, child: Child) -> float:
        if time.monotonic() - child.started >= self.policy.reset_after:
            self.delay = 0.0
        delay = self.delay
        self.delay = min(max(self.delay * 2, self.policy.first_delay), self.policy.max_delay)
        return delay
