"""The connection lifecycle as data (``trioweb.server.lifecycle``): no I/O, no trio.

Table-driven, like h11's state machine tests: the expected table is written out here, not
derived from the module's own, so a change to either shows up.
"""

from __future__ import annotations

import math

import pytest

from trioweb.server.lifecycle import (
    TRANSITIONS,
    CancelReason,
    Deadline,
    Event,
    IllegalStep,
    Lifecycle,
    Phase,
)

P, E = Phase, Event
_OPEN = (P.IDLE, P.HEAD, P.BODY, P.HANDLING, P.SENDING, P.UPGRADED)

LEGAL: dict[tuple[Phase, Event], Phase] = {
    (P.IDLE, E.BYTES): P.HEAD,
    (P.HEAD, E.READ_BODY): P.BODY,
    (P.HEAD, E.DISPATCH): P.HANDLING,
    (P.HEAD, E.HEAD_SENT): P.SENDING,
    (P.BODY, E.DISPATCH): P.HANDLING,
    (P.BODY, E.HEAD_SENT): P.SENDING,
    (P.HANDLING, E.HEAD_SENT): P.SENDING,
    (P.HANDLING, E.UPGRADE): P.UPGRADED,
    (P.SENDING, E.NEXT): P.IDLE,
    (P.LINGERING, E.CLOSE): P.CLOSED,
    **{(phase, E.LINGER): P.LINGERING for phase in _OPEN},
    **{(phase, E.CLOSE): P.CLOSED for phase in _OPEN},
}
ILLEGAL = [(phase, event) for phase in Phase for event in Event if (phase, event) not in LEGAL]


def at(phase: Phase, **kwargs: object) -> Lifecycle:
    lifecycle = Lifecycle(**kwargs)  # type: ignore[arg-type]
    lifecycle.phase = phase
    return lifecycle


@pytest.mark.parametrize(("step", "after"), list(LEGAL.items()), ids=lambda v: str(v))
def test_each_legal_step_leads_where_the_table_says(
    step: tuple[Phase, Event], after: Phase
) -> None:
    phase, event = step
    lifecycle = at(phase)
    assert lifecycle.step(event) is after
    assert lifecycle.phase is after


@pytest.mark.parametrize(("phase", "event"), ILLEGAL, ids=lambda v: str(v))
def test_an_illegal_step_raises_an_error_naming_both(phase: Phase, event: Event) -> None:
    lifecycle = at(phase)
    with pytest.raises(IllegalStep) as caught:
        lifecycle.step(event)
    assert caught.value.phase is phase
    assert caught.value.event is event
    assert phase.name in str(caught.value)
    assert event.name in str(caught.value)
    assert lifecycle.phase is phase  # unchanged


def test_the_module_table_is_the_documented_one() -> None:
    table = {
        (phase, event): after
        for phase, steps in TRANSITIONS.items()
        for event, after in steps.items()
    }
    assert table == LEGAL


def test_a_keep_alive_cycle_counts_requests_and_forgets_the_body() -> None:
    lifecycle = Lifecycle()
    for event in (E.BYTES, E.READ_BODY, E.DISPATCH, E.HEAD_SENT):
        lifecycle.step(event)
    lifecycle.body_done = True
    assert lifecycle.keep_alive
    assert lifecycle.step(E.NEXT) is P.IDLE
    assert lifecycle.served == 1
    assert not lifecycle.body_done
    assert not lifecycle.keep_alive  # the next request's body has not arrived yet


@pytest.mark.parametrize(
    ("keep_alive", "max_requests", "served", "body_done", "closing", "expected"),
    [
        (True, None, 0, True, False, True),
        (True, None, 0, False, False, False),  # the rest of the body cannot be skipped
        (True, None, 0, True, True, False),  # a drain, an error or a timeout
        (False, None, 0, True, False, False),  # KEEP_ALIVE off
        (True, 1, 0, True, False, False),  # one request per connection
        (True, 2, 0, True, False, True),
        (True, 2, 1, True, False, False),  # the second is the last
        (True, 3, 1, True, False, True),
    ],
)
def test_the_keep_alive_decision(
    keep_alive: bool,
    max_requests: int | None,
    served: int,
    body_done: bool,
    closing: bool,
    expected: bool,
) -> None:
    lifecycle = Lifecycle(keep_alive=keep_alive, max_requests=max_requests)
    for _ in range(served):
        lifecycle.phase = P.SENDING
        lifecycle.step(E.NEXT)
    lifecycle.body_done = body_done
    if closing:
        lifecycle.closing = True
    assert lifecycle.keep_alive is expected


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (Deadline.IDLE, CancelReason.IDLE_TIMEOUT),
        (Deadline.HEAD, CancelReason.HEAD_TIMEOUT),
        (Deadline.BODY, CancelReason.BODY_STALLED),
        (Deadline.RESPONSE, CancelReason.RESPONSE_TIMEOUT),
    ],
)
def test_a_deadline_expires_once_into_its_reason(kind: Deadline, reason: CancelReason) -> None:
    lifecycle = Lifecycle()
    lifecycle.arm(kind, 10.0)
    assert lifecycle.expired(9.99) is None
    assert lifecycle.expired(10.0) is reason
    assert lifecycle.expired(11.0) is None  # fired once
    assert lifecycle.deadline == math.inf
    assert lifecycle.closing
    assert lifecycle.take_reason() is reason
    assert lifecycle.take_reason() is None  # read once


def test_a_disarmed_deadline_never_expires() -> None:
    lifecycle = Lifecycle()
    lifecycle.arm(Deadline.BODY, 1.0)
    lifecycle.disarm()
    assert lifecycle.expired(100.0) is None


def test_the_write_deadline_is_its_own_and_the_reader_s_comes_first() -> None:
    lifecycle = Lifecycle()
    lifecycle.write_deadline = 5.0
    lifecycle.arm(Deadline.BODY, 3.0)
    assert lifecycle.expired(6.0) is CancelReason.BODY_STALLED
    assert lifecycle.expired(6.0) is CancelReason.WRITE_STALLED
    assert lifecycle.reason is CancelReason.BODY_STALLED  # the first reason stays


def test_a_drain_marks_the_last_response_and_says_whether_idle() -> None:
    idle = Lifecycle()
    assert idle.drain()
    assert idle.closing
    busy = at(P.HANDLING)
    assert not busy.drain()
    assert busy.closing
    assert busy.reason is None  # a drain cancels nothing by itself


def test_every_reason_but_a_drain_makes_the_response_the_last() -> None:
    for reason in CancelReason:
        lifecycle = Lifecycle()
        lifecycle.cancel(reason)
        assert lifecycle.closing is (reason is not CancelReason.DRAINING), reason


def test_a_cancel_records_the_first_reason_and_a_drain_does_not_close_by_itself() -> None:
    lifecycle = Lifecycle()
    lifecycle.cancel(CancelReason.DRAINING)
    assert not lifecycle.closing  # the request that arrives with it is still answered
    lifecycle.cancel(CancelReason.CLIENT_GONE)
    assert lifecycle.reason is CancelReason.DRAINING
    assert lifecycle.closing
