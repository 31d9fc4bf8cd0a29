"""Full duplex with ordinary clients: the seed's ``/stream`` echo through real sockets.

httpx (like requests and urllib3) sends the whole request body before it reads a byte of the
response. An echo that answers while it reads then fills every buffer between the two, and
without the spill (``trioweb.server.feed``) both sides would wait forever: in one process
from about 300 KB, between processes from about 30 MB.

Network rules: see ``tests/netutil.py``; the server process is started on port 0 and its
address read from its log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio

from examples import request_streaming
from trioweb import App, Request
from trioweb.response import StreamingHTTPResponse, stream

from .netutil import cli_process, running

SERVING = re.compile(rb"serving .* on (http://\S+)")
SIZES = [100_000, 1_000_000, 10_000_000, 64_000_000]
SLOW = 60  # seconds: a 64 MB echo takes about one here


def payload(size: int) -> tuple[bytes, bytes]:
    """A body for the seed's echo and what it answers (every "1" becomes "A")."""
    body = (b"0123456789" * (size // 10 + 1))[:size]
    return body, body.replace(b"1", b"A")


@pytest.mark.parametrize("size", SIZES, ids=[f"{s // 1000}KB" for s in SIZES])
async def test_the_seed_echo_answers_httpx_in_the_same_process(size: int) -> None:
    body, expected = payload(size)
    async with (
        running(request_streaming.app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=SLOW) as client,
    ):
        with trio.fail_after(SLOW):
            response = await client.post("/stream", content=body)
            assert response.status_code == 200
            assert response.content == expected
            # Keep-alive survived: the body was read whole.
            assert (await client.post("/stream", content=b"1")).content == b"A"
        assert server.spool_budget.used == 0  # every spill was handed over and given back


def rss(pid: int, field: str = "VmRSS") -> int:
    """A memory field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


@asynccontextmanager
async def server_process(target: str) -> AsyncIterator[tuple[str, int]]:
    """Serve ``target`` (module:app) in a process of its own; yields (base URL, pid)."""
    async with cli_process(
        [target, "--port", "0", "--no-access-log"], SERVING.search, patience=SLOW
    ) as (process, log):
        found = SERVING.search(log)
        assert found is not None
        yield found.group(1).decode(), process.pid


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
async def test_the_seed_echo_answers_httpx_from_another_process_with_flat_memory() -> None:
    async with (
        server_process("examples.request_streaming:app") as (url, pid),
        httpx.AsyncClient(base_url=url, timeout=SLOW) as client,
    ):
        with trio.fail_after(SLOW * 2):
            await client.post("/stream", content=b"warm up")
            before = rss(pid)
            # The peak since now (VmHWM reset; Linux, our own process or root) or since start.
            reset = True
            try:
                await trio.Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:  # pragma: no cover - not allowed here: the lifetime peak counts
                reset = False
            for size in SIZES:
                body, expected = payload(size)
                response = await client.post("/stream", content=body)
                assert response.content == expected, size
            peak = max(rss(pid, "VmHWM") if reset else 0, rss(pid))
    assert peak - before < 16 * 1024 * 1024, f"server RSS grew by {(peak - before) / 1e6:.1f} MB"


def spool_app(**limits: int) -> App:
    app = App("spool-limits")
    app.config.update(limits)

    @app.post("/echo", stream=True)
    async def echo(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            assert req.stream is not None
            async for chunk in req.stream:
                await response.write(chunk)

        return stream(body)

    return app


@pytest.mark.parametrize("setting", ["REQUEST_STREAM_SPOOL", "REQUEST_STREAM_SPOOL_TOTAL"])
async def test_a_spill_past_its_limit_ends_the_connection_with_one_log_line(
    setting: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="trioweb")
    app = spool_app(**{setting: 1024 * 1024})
    async with running(app) as server, httpx.AsyncClient(timeout=SLOW) as client:
        with trio.fail_after(SLOW):
            with pytest.raises(httpx.TransportError):
                await client.post(server.url + "/echo", content=b"x" * 32_000_000)
            assert server.spool_budget.used == 0
            # The server itself is fine: a body that needs no spill is echoed.
            response = await client.post(server.url + "/echo", content=b"small")
            assert response.content == b"small"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert f"{setting} (1048576 bytes)" in lines[0]
    assert "closing the connection" in lines[0]
