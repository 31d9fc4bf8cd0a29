"""Helpers for tests that go through real sockets.

Rules for every network test: servers bind 127.0.0.1 port 0 (the kernel picks a free port);
every wait on the network sits under ``trio.fail_after`` so a bug fails instead of hanging;
the test, not the server, closes its client connections first unless the test is about the
server closing them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import h11
import trio

from trioweb import App, Server

TIMEOUT = 10
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def running(app: App) -> AsyncIterator[Server]:
    """Serve ``app`` on 127.0.0.1 with a free port for the duration of the block."""
    async with trio.open_nursery() as nursery:
        server: Server = await nursery.start(app.serve, "127.0.0.1", 0)
        try:
            yield server
        finally:
            with trio.fail_after(TIMEOUT):
                await server.shutdown()


class RawClient:
    """An HTTP/1.1 client on a raw TCP stream, driven by h11, for what httpx cannot do
    (pipelining, full duplex, stopping mid-body, reading byte-exact replies)."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)

    @classmethod
    async def connect(cls, server: Server) -> RawClient:
        return cls(await trio.open_tcp_stream(server.host, server.port))

    async def send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.h11.send(event)
            if data:
                await self.stream.send_all(data)

    async def next_event(self) -> h11.Event:
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.stream.receive_some(65536))
                continue
            return event

    async def response(self) -> tuple[h11.Response, bytes]:
        """Read one whole response: its head and body."""
        head = await self.next_event()
        while isinstance(head, h11.InformationalResponse):
            head = await self.next_event()
        assert isinstance(head, h11.Response), head
        body = bytearray()
        while True:
            event = await self.next_event()
            if isinstance(event, h11.EndOfMessage):
                return head, bytes(body)
            assert isinstance(event, h11.Data), event
            body += event.data

    async def read_until_closed(self) -> bytes:
        """Everything the server sends until it closes the connection; then close ours."""
        return await read_all(self.stream)

    async def aclose(self) -> None:
        await self.stream.aclose()


def request(method: str, target: str, headers: list[tuple[str, str]] | None = None) -> h11.Request:
    """An h11 request with a Host header added."""
    return h11.Request(method=method, target=target, headers=[("Host", "test"), *(headers or [])])


async def read_all(stream: trio.abc.Stream) -> bytes:
    """Everything ``stream`` yields until the peer closes it; then close our end.

    A server that closes after an error lingers, reading what the client may still send,
    until the client closes too (as a real client does once it has the answer).
    """
    data = bytearray()
    while chunk := await stream.receive_some(65536):
        data += chunk
    await stream.aclose()
    return bytes(data)


@asynccontextmanager
async def cli_process(
    args: list[str], ready: Callable[[bytes], bool], patience: float = TIMEOUT
) -> AsyncIterator[tuple[trio.Process, bytes]]:
    """Run ``python -m trioweb *args`` until its log (stderr) is ``ready``; yield it and the log.

    ``patience`` bounds the start and the stop. The process is terminated on leaving the
    block if it still runs (killed if it will not stop), so a test that stops it itself can
    check its exit status.
    """
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trioweb", *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stderr is not None
    try:
        with trio.fail_after(patience):
            log = b""
            while not ready(log):
                chunk = await process.stderr.receive_some(4096)
                assert chunk, log
                log += chunk
        yield process, log
    finally:
        if process.returncode is None:
            process.terminate()
            with trio.move_on_after(patience):
                await process.wait()
        if process.returncode is None:  # pragma: no cover - a server that hangs on SIGTERM
            process.kill()
            await process.wait()
