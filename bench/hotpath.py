"""Per-request CPU cost of trioweb and the floor, without a kernel or a load generator.

Both servers answer ``N`` keep-alive requests arriving one at a time on an in-memory stream
that never blocks on the network: the next request "arrives" (after a trio wake-up, as a
socket would) only once the previous response went out. What remains is the Python work per
request: h11, the scheduler, and whatever the framework adds. Handy with a profiler:

    python bench/hotpath.py [--requests N] [--path /json] [--profile]

It prints microseconds per request for each server (the best of several interleaved rounds:
noise on a shared machine only ever adds time) and the ratio; unlike ``bench/run.py`` it is
stable enough to compare two versions of a change.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor
import trioweb_app

from trioweb.request import ConnInfo
from trioweb.server.feed import SpoolBudget
from trioweb.server.http11 import HTTP11Connection


class ReplayStream(trio.abc.HalfCloseableStream):
    """Hands out the same request ``count`` times, each once the previous answer was sent.

    A request is a list of pieces (head, then body pieces), one per read.
    """

    def __init__(self, pieces: list[bytes], count: int) -> None:
        self._pieces = pieces
        self._next = 0
        self._left = count
        self._answered = True
        self._wake: trio.Event | None = None
        self.received = 0

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await trio.lowlevel.checkpoint()
        while not self._answered:
            self._wake = trio.Event()
            await self._wake.wait()
        if self._left == 0:
            return b""
        piece = self._pieces[self._next]
        self._next += 1
        if self._next == len(self._pieces):
            self._next = 0
            self._left -= 1
            self._answered = False
        return piece

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.cancel_shielded_checkpoint()
        self.received += len(data)
        # Every benchmark response leaves in one write: it is answered.
        self._answered = True
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def send_eof(self) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class NotDraining:
    draining = False
    spool_budget = SpoolBudget(None)

    def closed(self, connection: HTTP11Connection) -> None:
        pass


async def serve_trioweb(stream: ReplayStream) -> None:
    info = ConnInfo("127.0.0.1", 1, "127.0.0.1", 2)
    await HTTP11Connection(trioweb_app.app, stream, info, NotDraining()).run()


async def serve_floor(stream: ReplayStream) -> None:
    await floor.handle(stream)  # type: ignore[arg-type]


def measure(server: str, request: list[bytes], count: int, connections: int = 1) -> float:
    """Microseconds per request for one run of ``count`` requests over ``connections``."""
    streams = [ReplayStream(request, count // connections) for _ in range(connections)]
    serve = serve_trioweb if server == "trioweb" else serve_floor

    async def serve_all() -> None:
        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(serve, stream)

    started = time.process_time()
    trio.run(serve_all)
    elapsed = time.process_time() - started
    if any(stream.received == 0 for stream in streams):
        raise RuntimeError(f"{server} sent nothing")
    return elapsed / (count // connections * connections) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--path", default="/")
    parser.add_argument(
        "--upload-mib",
        type=int,
        default=0,
        help="POST this many MiB to /echo in 64 KiB reads instead of a GET",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="connections served at once, each with its own stream (64)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile trioweb, print top 40")
    parser.add_argument(
        "--only",
        choices=("floor", "trioweb"),
        help="serve one round on one server and print nothing (for valgrind)",
    )
    opts = parser.parse_args()
    request = [f"GET {opts.path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench\r\n\r\n".encode()]
    what = f"GET {opts.path}"
    if opts.upload_mib:
        size = opts.upload_mib * 1024 * 1024
        head = f"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {size}\r\n\r\n"
        request = [head.encode(), *[b"x" * 65536] * (size // 65536)]
        what = f"POST {opts.upload_mib} MiB to /echo"
    trioweb_app.app.config.ACCESS_LOG = False
    if opts.only:
        measure(opts.only, request, opts.requests, opts.connections)
        return
    if opts.profile:
        profile = cProfile.Profile()
        profile.enable()
        measure("trioweb", request, opts.requests, opts.connections)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(40)
        return
    results: dict[str, list[float]] = {"floor": [], "trioweb": []}
    for _ in range(opts.rounds):
        for server, times in results.items():
            times.append(measure(server, request, opts.requests, opts.connections))
    floor_us = min(results["floor"])
    trioweb_us = min(results["trioweb"])
    print(
        f"{what}, {opts.connections} connections: floor {floor_us:.1f} us/request,"
        f" trioweb {trioweb_us:.1f} us/request;"
        f" trioweb throughput = {floor_us / trioweb_us:.2f}x the floor"
    )


if __name__ == "__main__":
    main()
