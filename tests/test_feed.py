"""The streaming body's feed (``trioweb.server.feed``): backpressure, the spill, its limits.

The feed learns whether response writes are blocked from a real `Transport` over a real
socket pair: "blocked" is a send into a peer that does not read. "Waiting" is observed with
``trio.testing.wait_all_tasks_blocked``, never with sleeps. A spill's file transfers run in
worker threads, which that function does not wait for: what they lead to is awaited on its
own event, or by leaving the nursery their task runs in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from trioweb.server.feed import BodyFeed, SpoolBudget, SpoolLimit
from trioweb.server.transport import Transport

CHUNK = b"c" * 1000


@asynccontextmanager
async def transport_pair() -> AsyncIterator[tuple[Transport, trio.SocketStream]]:
    """A server-side `Transport` and the client's end of the socket under it."""
    left, right = trio.socket.socketpair()
    server, client = trio.SocketStream(left), trio.SocketStream(right)
    async with server, client:
        yield Transport(server), client


async def block_writes(transport: Transport, task_status: trio.TaskStatus[None]) -> None:
    """Write into a peer that never reads, until the write blocks; then wait there."""
    task_status.started()
    while True:
        await transport.send_all(b"w" * 65536)


async def collect(receive: trio.MemoryReceiveChannel[bytes]) -> bytes:
    return b"".join([chunk async for chunk in receive])


async def test_a_busy_handler_stops_the_reader_and_nothing_spills() -> None:
    async with transport_pair() as (transport, _), trio.open_nursery() as nursery:
        budget = SpoolBudget(None)
        feed = BodyFeed(transport, nursery, max_chunk=4096, spool_limit=None, budget=budget)
        assert feed.offer(b"first")  # the channel holds one piece
        assert not feed.offer(CHUNK)
        put_done = trio.Event()

        async def put() -> None:
            await feed.put(CHUNK)
            put_done.set()

        nursery.start_soon(put)
        await trio.testing.wait_all_tasks_blocked()
        assert not put_done.is_set()  # the handler takes nothing: the reader waits
        assert not feed.spilling
        assert budget.used == 0
        assert await feed.receive.receive() == b"first"
        await put_done.wait()
        assert await feed.receive.receive() == CHUNK
        feed.close()


async def test_a_blocked_write_makes_the_waiting_reader_spill_and_order_is_kept() -> None:
    async with transport_pair() as (transport, _), trio.open_nursery() as nursery:
        budget = SpoolBudget(None)
        feed = BodyFeed(transport, nursery, max_chunk=4096, spool_limit=None, budget=budget)
        pieces = [bytes([65 + i]) * 1000 for i in range(20)]
        body = trio.Event()

        async def put_all() -> None:
            for piece in pieces:
                assert await feed.put(piece)
            feed.end()
            body.set()

        nursery.start_soon(put_all)
        await trio.testing.wait_all_tasks_blocked()
        assert not body.is_set()  # waiting for a receiver, no write blocked yet
        await nursery.start(block_writes, transport)
        # Blocked writes: the reader goes on, into the spill; nobody has received a byte.
        with trio.fail_after(5):
            await body.wait()
        assert feed.spilling
        # All but the first, which the channel holds; the one in hand went there too.
        assert budget.used == sum(len(p) for p in pieces[1:])
        assert await collect(feed.receive) == b"".join(pieces)
        assert budget.used == 0
        assert not feed.spilling
        nursery.cancel_scope.cancel()


async def test_once_writes_flow_again_the_reader_waits_for_the_handler() -> None:
    async with transport_pair() as (transport, _), trio.open_nursery() as nursery:
        feed = BodyFeed(
            transport, nursery, max_chunk=4096, spool_limit=None, budget=SpoolBudget(None)
        )
        writer: trio.CancelScope = await nursery.start(block_writes_until_cancelled, transport)
        assert feed.offer(b"0" * 10)  # the channel holds one piece
        assert await feed.put(b"1" * 10)  # spilled: the channel is full, the write blocked
        assert feed.spilling
        writer.cancel()
        await trio.testing.wait_all_tasks_blocked()
        # The write is over (cancelled here; a client that reads again ends it the same way).
        assert not transport.blocked()
        second = trio.Event()

        async def put_second() -> None:
            await feed.put(b"2" * 10)
            second.set()

        nursery.start_soon(put_second)
        await trio.testing.wait_all_tasks_blocked()
        assert not second.is_set()  # waits for the handler to take the spill first
        assert await feed.receive.receive() == b"0" * 10
        assert await feed.receive.receive() == b"1" * 10
        assert await feed.receive.receive() == b"2" * 10
        await second.wait()
        feed.close()


async def block_writes_until_cancelled(
    transport: Transport, task_status: trio.TaskStatus[trio.CancelScope]
) -> None:
    """`block_writes`, in a scope the caller gets to cancel; returns once it is blocked."""
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(block_writes, transport)
            while not transport.blocked():
                await trio.testing.wait_all_tasks_blocked()
            task_status.started(scope)


@pytest.mark.parametrize(
    ("spool_limit", "total", "setting"),
    [(2500, None, "REQUEST_STREAM_SPOOL"), (None, 2500, "REQUEST_STREAM_SPOOL_TOTAL")],
)
async def test_a_spill_past_a_limit_raises_spool_limit_naming_it(
    spool_limit: int | None, total: int | None, setting: str
) -> None:
    budget = SpoolBudget(total)
    async with transport_pair() as (transport, _), trio.open_nursery() as nursery:
        feed = BodyFeed(transport, nursery, max_chunk=4096, spool_limit=spool_limit, budget=budget)
        writer: trio.CancelScope = await nursery.start(block_writes_until_cancelled, transport)
        assert feed.offer(CHUNK)  # into the channel
        assert await feed.put(CHUNK)  # spilled
        assert await feed.put(CHUNK)  # spilled: 2,000 bytes held
        with pytest.raises(SpoolLimit) as caught:
            await feed.put(CHUNK)
        assert caught.value.setting == setting
        assert setting in str(caught.value)
        feed.close()
        writer.cancel()
    # The feeder has finished with the file (the nursery waited for it): all given back.
    assert budget.used == 0


async def test_put_says_false_once_every_receiver_is_closed() -> None:
    async with transport_pair() as (transport, _), trio.open_nursery() as nursery:
        feed = BodyFeed(
            transport, nursery, max_chunk=4096, spool_limit=None, budget=SpoolBudget(None)
        )
        clone = feed.receive.clone()
        feed.receive.close()
        assert feed.offer(CHUNK)  # the channel holds one piece
        result: list[bool] = []

        async def put() -> None:
            result.append(await feed.put(CHUNK))

        nursery.start_soon(put)
        await trio.testing.wait_all_tasks_blocked()
        assert result == []  # a clone is still open
        await clone.aclose()
        await trio.testing.wait_all_tasks_blocked()
        assert result == [False]


def test_the_budget_counts_what_is_held() -> None:
    budget = SpoolBudget(10)
    assert budget.take(6)
    assert not budget.take(5)
    assert budget.used == 6
    budget.release(6)
    assert budget.take(10)
