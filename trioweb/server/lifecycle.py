"""The life of one HTTP/1.1 connection as data: its phases, the steps between them, its deadlines.

In the style of h11's state machine: no I/O and no trio. The connection reports what happened
(`Event`) and reads back where it stands (`Phase`), whether the connection may serve another
request (`Lifecycle.keep_alive`), and why it was cancelled (`Lifecycle.take_reason`)::

    IDLE --bytes--> HEAD --read body--> BODY --dispatch--> HANDLING --head sent--> SENDING
                      |                                       ^  |                  |
                      +----------------dispatch---------------+  +--upgrade--> UPGRADED
      ^                                                                             |
      +------------------------------------ next request ---------------------------+
    any phase --linger--> LINGERING --close--> CLOSED      any phase --close--> CLOSED

A streaming route dispatches straight from HEAD: its handler runs while the body is still
arriving, so the request body's progress is kept apart from the phase (`body_done`).

Deadlines are plain times that the server's timekeeper compares with the clock (`expired`);
the first one that passes becomes the connection's one cancel reason, which the connection
reads once, after the cancellation, to decide what to answer (408, 503, or nothing).
"""

from __future__ import annotations

import enum
import math

__all__ = [
    "TRANSITIONS",
    "CancelReason",
    "Deadline",
    "Event",
    "IllegalStep",
    "Lifecycle",
    "Phase",
]


class Phase(enum.Enum):
    """Where a connection stands."""

    # Members are singletons: hash by identity, in C (Enum's own __hash__ is Python code,
    # and the table is looked up several times a request).
    __hash__ = object.__hash__

    IDLE = "waiting for a request"
    HEAD = "reading a head"
    BODY = "reading a body"
    HANDLING = "handling"
    SENDING = "sending"
    LINGERING = "lingering"
    UPGRADED = "upgraded"
    CLOSED = "closed"


class Event(enum.Enum):
    """What can happen to a connection."""

    # Members are singletons: hash by identity, in C (Enum's own __hash__ is Python code,
    # and the table is looked up several times a request).
    __hash__ = object.__hash__

    BYTES = "the first bytes of a request arrived"
    READ_BODY = "the route wants its body read before the handler runs"
    DISPATCH = "the exchange started"
    HEAD_SENT = "the response head went out"
    NEXT = "the response is done and the connection serves another request"
    UPGRADE = "the connection was handed to a WebSocket"
    LINGER = "the connection closes while the client may still be sending"
    CLOSE = "the connection closed"


class Deadline(enum.Enum):
    """What a deadline limits; each kind has its own setting and its own answer."""

    IDLE = "REQUEST_TIMEOUT or KEEP_ALIVE_TIMEOUT before a request's first byte"
    HEAD = "REQUEST_TIMEOUT for the whole head"
    BODY = "REQUEST_BODY_IDLE_TIMEOUT between pieces of the body"
    RESPONSE = "RESPONSE_TIMEOUT from the end of the body to the response head"
    WRITE = "WRITE_IDLE_TIMEOUT for each write the client does not take"


class CancelReason(enum.Enum):
    """Why a connection's work was cancelled: decides what, if anything, is answered."""

    IDLE_TIMEOUT = "no request came in time"  # close quietly
    HEAD_TIMEOUT = "the request head did not arrive in time"  # 408
    BODY_STALLED = "the request body stalled"  # 408 unless a response started
    RESPONSE_TIMEOUT = "the handler did not respond in time"  # 503 unless one started
    WRITE_STALLED = "the client stopped reading"  # close
    DRAINING = "the server is shutting down"  # close (an idle connection)
    CLIENT_GONE = "the client went away"  # close
    SPOOL_FULL = "a request body's spill passed its limit"  # close (logged where it happens)


_REASON_FOR = {
    Deadline.IDLE: CancelReason.IDLE_TIMEOUT,
    Deadline.HEAD: CancelReason.HEAD_TIMEOUT,
    Deadline.BODY: CancelReason.BODY_STALLED,
    Deadline.RESPONSE: CancelReason.RESPONSE_TIMEOUT,
    Deadline.WRITE: CancelReason.WRITE_STALLED,
}

_ANY = (Phase.IDLE, Phase.HEAD, Phase.BODY, Phase.HANDLING, Phase.SENDING, Phase.UPGRADED)

#: ``TRANSITIONS[phase][event]`` is the phase after ``event``; a missing entry is illegal.
TRANSITIONS: dict[Phase, dict[Event, Phase]] = {
    Phase.IDLE: {Event.BYTES: Phase.HEAD},
    Phase.HEAD: {
        Event.READ_BODY: Phase.BODY,
        Event.DISPATCH: Phase.HANDLING,
        # An unreadable head (400, 431, 505) is answered without an exchange.
        Event.HEAD_SENT: Phase.SENDING,
    },
    Phase.BODY: {
        Event.DISPATCH: Phase.HANDLING,
        # A body that fails before the handler runs (413, 400, 408) is answered directly.
        Event.HEAD_SENT: Phase.SENDING,
    },
    Phase.HANDLING: {Event.HEAD_SENT: Phase.SENDING, Event.UPGRADE: Phase.UPGRADED},
    Phase.SENDING: {Event.NEXT: Phase.IDLE},
    Phase.LINGERING: {Event.CLOSE: Phase.CLOSED},
    Phase.UPGRADED: {},
    Phase.CLOSED: {},
}
for _phase in _ANY:
    TRANSITIONS[_phase][Event.LINGER] = Phase.LINGERING
    TRANSITIONS[_phase][Event.CLOSE] = Phase.CLOSED
del _phase


class IllegalStep(RuntimeError):
    """An event that cannot happen in the connection's phase: a bug in the server."""

    def __init__(self, phase: Phase, event: Event) -> None:
        super().__init__(f"{event.name} ({event.value}) is illegal in phase {phase.name}")
        self.phase = phase
        self.event = event


class Lifecycle:
    """One connection's phase, request progress, deadlines and cancel reason.

    Args:
        keep_alive: Whether connections may serve more than one request at all.
        max_requests: Requests served on one connection before it closes (``None``: no cap).
    """

    __slots__ = (
        "_keep_alive",
        "_max_requests",
        "body_done",
        "closing",
        "deadline",
        "deadline_kind",
        "phase",
        "reason",
        "served",
        "write_deadline",
    )

    def __init__(self, keep_alive: bool = True, max_requests: int | None = None) -> None:
        self.phase = Phase.IDLE
        #: Whether the current request has arrived whole, body included.
        self.body_done = False
        #: Whether the response being sent must be the last one (drain, error, timeout).
        self.closing = not keep_alive or (max_requests is not None and max_requests <= 1)
        #: Responses completed on this connection.
        self.served = 0
        #: The reader's (or the handler's) deadline: a time on trio's clock, and its kind.
        self.deadline = math.inf
        self.deadline_kind = Deadline.IDLE
        #: The writer's deadline: a full-duplex exchange writes while the reader waits for
        #: the body, so a write has a clock of its own.
        self.write_deadline = math.inf
        #: Why the connection's work was cancelled, once it was.
        self.reason: CancelReason | None = None
        self._keep_alive = keep_alive
        self._max_requests = max_requests

    def __repr__(self) -> str:
        return f"<Lifecycle {self.phase.name} served={self.served} reason={self.reason}>"

    def step(self, event: Event) -> Phase:
        """Move to the phase ``event`` leads to, and return it.

        Raises:
            IllegalStep: ``event`` cannot happen in the current phase.
        """
        try:
            phase = TRANSITIONS[self.phase][event]
        except KeyError:
            raise IllegalStep(self.phase, event) from None
        if event is Event.HEAD_SENT and self.deadline_kind is Deadline.RESPONSE:
            self.deadline = math.inf  # RESPONSE_TIMEOUT ends with the head
        elif event is Event.NEXT:
            self.served += 1
            self.body_done = False
            if self._max_requests is not None and self.served + 1 >= self._max_requests:
                self.closing = True  # the next response is the last
        self.phase = phase
        return phase

    def arm(self, kind: Deadline, at: float) -> None:
        """Set the deadline: at time ``at`` (``math.inf`` for none), the wait of ``kind`` ends."""
        self.deadline = at
        self.deadline_kind = kind

    def disarm(self) -> None:
        """Clear the deadline (the wait it limited is over)."""
        self.deadline = math.inf

    def expired(self, now: float) -> CancelReason | None:
        """The reason to cancel when a deadline has passed at ``now``, recorded once.

        The reader's deadline is checked before the writer's; each fires once.
        """
        if self.deadline <= now:
            self.deadline = math.inf
            return self.cancel(_REASON_FOR[self.deadline_kind])
        if self.write_deadline <= now:
            self.write_deadline = math.inf
            return self.cancel(CancelReason.WRITE_STALLED)
        return None

    def cancel(self, reason: CancelReason) -> CancelReason:
        """Record why the connection is being cancelled (the first reason stays) and return it.

        Every reason but a drain also makes the current response the last one.
        """
        if self.reason is None:
            self.reason = reason
        if reason is not CancelReason.DRAINING:
            self.closing = True
        return reason

    def take_reason(self) -> CancelReason | None:
        """The recorded cancel reason, cleared: whoever reads it acts on it."""
        reason, self.reason = self.reason, None
        return reason

    def drain(self) -> bool:
        """The server is shutting down: this response is the last. ``True`` if idle now."""
        self.closing = True
        return self.phase is Phase.IDLE

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may serve another request after the current response.

        Not when keep-alive is off, the request cap is reached, the server drains, an error
        or timeout made this response the last, or the request's body has not arrived whole
        (what remains of it cannot be told apart from the next request).
        """
        return not self.closing and self.body_done
