"""Soak test: hundreds of concurrent clients against one trioweb server for a bounded time.

The server runs in a child process (``python -m trioweb bench.soak_app:app``); this process
drives a mix of well-behaved clients (keep-alive requests, streaming uploads and downloads)
and hostile ones (slowloris heads, uploads and downloads abandoned midway). It reports
requests served, failures, the server's peak RSS and its open file descriptors before and
after, and exits non-zero if a well-behaved request failed or descriptors leaked.

    python bench/soak.py --duration 30 --clients 300
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import h11
import trio

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Client:
    """One keep-alive HTTP/1.1 connection driven by h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    async def send(self, *events: h11.Event) -> None:
        for event in events:
            data = self.conn.send(event)
            if data:
                await self.stream.send_all(data)

    async def response(self) -> tuple[int, int, bytes]:
        """Status, body length, and the first bytes of the body."""
        status, size, head = 0, 0, b""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                self.conn.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if len(head) < 64:
                    head += event.data[:64]
            elif isinstance(event, h11.EndOfMessage):
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
                    self.conn.start_next_cycle()
                return status, size, head
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("closed mid-response")


def req(method: str, target: str, headers: list[tuple[str, str]] | None = None) -> h11.Request:
    return h11.Request(method=method, target=target, headers=[("Host", "soak"), *(headers or [])])


class Soak:
    def __init__(self, port: int, deadline: float) -> None:
        self.port = port
        self.deadline = deadline
        self.ok: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.hostile: Counter[str] = Counter()

    async def connect(self) -> Client:
        return Client(await trio.open_tcp_stream("127.0.0.1", self.port))

    async def well_behaved(self, kind: str) -> None:
        rng = random.Random()
        while trio.current_time() < self.deadline:
            try:
                with trio.fail_after(30):
                    client = await self.connect()
                    async with client.stream:
                        for _ in range(rng.randint(1, 20)):
                            await getattr(self, kind)(client, rng)
                            self.ok[kind] += 1
            except (
                OSError,
                trio.BrokenResourceError,
                ConnectionError,
                h11.ProtocolError,
                trio.TooSlowError,
                AssertionError,
            ) as exc:
                self.failures[f"{kind}: {type(exc).__name__}: {exc}"[:120]] += 1

    async def plain(self, client: Client, rng: random.Random) -> None:
        target = rng.choice(["/", "/slow"])
        await client.send(req("GET", target), h11.EndOfMessage())
        status, _, head = await client.response()
        assert status == 200, status
        assert head in (b"Hello, world", b"slow"), head

    async def upload(self, client: Client, rng: random.Random) -> None:
        size = rng.randint(1, 4) * MiB
        await client.send(req("POST", "/upload", [("Transfer-Encoding", "chunked")]))
        sent = 0
        while sent < size:
            piece = min(rng.randint(1, 256) * 1024, size - sent)
            await client.send(h11.Data(data=b"u" * piece))
            sent += piece
        await client.send(h11.EndOfMessage())
        status, _, head = await client.response()
        assert (status, head) == (200, str(size).encode()), (status, head)

    async def download(self, client: Client, rng: random.Random) -> None:
        mib = rng.randint(1, 4)
        await client.send(req("GET", f"/download/{mib}"), h11.EndOfMessage())
        status, size, _ = await client.response()
        assert (status, size) == (200, mib * MiB), (status, size)

    async def slowloris(self) -> None:
        head = b"GET / HTTP/1.1\r\nHost: soak\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n"
        while trio.current_time() < self.deadline:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", self.port)
                async with stream:
                    for byte in head:
                        await stream.send_all(bytes([byte]))
                        await trio.sleep(0.5)
                self.hostile["slowloris finished a request"] += 1
            except (OSError, trio.BrokenResourceError):
                self.hostile["slowloris cut off"] += 1

    async def aborter(self) -> None:
        rng = random.Random()
        while trio.current_time() < self.deadline:
            try:
                client = await self.connect()
                async with client.stream:
                    if rng.random() < 0.5:
                        await client.send(req("POST", "/upload", [("Content-Length", str(MiB))]))
                        await client.send(h11.Data(data=b"x" * rng.randint(1, 500_000)))
                        self.hostile["upload abandoned"] += 1
                    else:
                        await client.send(req("GET", "/download/4"), h11.EndOfMessage())
                        await client.stream.receive_some(rng.randint(1, 65536))
                        self.hostile["download abandoned"] += 1
            except (OSError, trio.BrokenResourceError):
                self.hostile["abort failed early"] += 1
            await trio.sleep(rng.random() * 0.05)


async def wait_for_port(port: int) -> None:
    with trio.fail_after(20):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await trio.sleep(0.1)
            else:
                await stream.aclose()
                return


async def main(duration: float, clients: int) -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "trioweb",
            "bench.soak_app:app",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for_port(port)
        await trio.sleep(1)
        fds_before = open_fds(server.pid)
        rss_before = proc_status(server.pid, "VmRSS")
        soak = Soak(port, trio.current_time() + duration)
        mix = {"plain": 0.5, "upload": 0.15, "download": 0.15}
        async with trio.open_nursery() as nursery:
            for i in range(clients):
                share = i / clients
                if share < mix["plain"]:
                    nursery.start_soon(soak.well_behaved, "plain")
                elif share < mix["plain"] + mix["upload"]:
                    nursery.start_soon(soak.well_behaved, "upload")
                elif share < 0.8:
                    nursery.start_soon(soak.well_behaved, "download")
                elif share < 0.9:
                    nursery.start_soon(soak.slowloris)
                else:
                    nursery.start_soon(soak.aborter)
        # Every client is gone; idle keep-alive and timeouts end what the server still holds.
        await trio.sleep(6)
        fds_after = open_fds(server.pid)
        rss_after = proc_status(server.pid, "VmRSS")
        peak = proc_status(server.pid, "VmHWM")
    finally:
        server.terminate()
        with trio.move_on_after(30):
            await server.wait()
        if server.returncode is None:
            server.kill()
            await server.wait()

    print(f"duration {duration:.0f} s, {clients} concurrent clients")
    for kind, count in sorted(soak.ok.items()):
        print(f"  served {kind:<9} {count:>8}")
    print(f"  served total     {sum(soak.ok.values()):>8}")
    for kind, count in sorted(soak.hostile.items()):
        print(f"  hostile: {kind:<28} {count:>6}")
    print(
        f"server RSS: {rss_before / MiB:.1f} MiB before, {rss_after / MiB:.1f} MiB after, "
        f"peak {peak / MiB:.1f} MiB"
    )
    print(f"server fds: {fds_before} before, {fds_after} after")
    failed = sum(soak.failures.values())
    for reason, count in soak.failures.most_common(10):
        print(f"  FAILED x{count}: {reason}")
    print(f"well-behaved failures: {failed}")
    leaked = fds_after > fds_before
    if leaked:
        print("LEAK: the server holds more file descriptors than before the soak")
    return 1 if failed or leaked else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    parser.add_argument("--clients", type=int, default=300, help="concurrent clients (300)")
    args = parser.parse_args()
    sys.exit(trio.run(main, args.duration, args.clients))
